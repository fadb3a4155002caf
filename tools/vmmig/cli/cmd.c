// SPDX-License-Identifier: GPL-2.0
/*
 * The command tables of every object and their one dispatcher.
 *
 * `vmmig OBJECT VERB ARGS` is looked up table by table: a word names the
 * entry it spells, or whose name it begins when no other entry at that level
 * begins with it (`vmmig host sh`). An ambiguous prefix is refused with the
 * candidates rather than resolved to the first of them. Each entry carries
 * its synopsis and help beside its handler, so that usage, `help` and
 * `--help` are printed from the same table that dispatches.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmmig.h"

char what[64];

static void verror(const char *context, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "vmmig: %s: ", context);
	vfprintf(stderr, fmt, ap);
}

void error_msg(const char *context, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(context, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(what, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'vmmig %s --help')\n", what);
	return EXIT_USAGE;
}

int cli_close(struct vmmig_nl *nl, int err)
{
	if (err < 0)
		error_msg(what, "%s", vmmig_nl_strerror(nl, err));
	vmmig_nl_close(nl);
	return err ? EXIT_FAIL : EXIT_OK;
}

int cli_connect(struct vmmig_nl *nl, const char *context)
{
	int err = vmmig_nl_open(nl);

	if (err == -ENOENT) {
		error_msg(context, "vmmig.ko is not loaded (modprobe vmmig)");
		return EXIT_FAIL;
	}
	if (err) {
		error_msg(context, "cannot open a generic netlink socket: %s",
			  strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int cmd_getopt(int argc, char **argv, const struct option *lo)
{
	int c = getopt_long(argc, argv, ":", lo, NULL);

	if (c == '?') {
		usage_error("unknown option '%s'", argv[optind - 1]);
		return '?';
	}
	if (c == ':') {
		usage_error("%s needs a value", argv[optind - 1]);
		return '?';
	}
	return c;
}

int cmd_args(int argc, char **argv, const char *names)
{
	int i = optind;
	size_t len;

	for (; *names; names += len + !!names[len]) {
		len = strcspn(names, " ");
		if (i >= argc)
			return usage_error("missing %.*s", (int)len, names);
		i++;
	}
	if (i < argc)
		return usage_error("unexpected argument '%s'", argv[i]);
	return 0;
}

int cmd_no_options(int argc, char **argv, const char *names)
{
	static const struct option none[] = { {} };

	if (cmd_getopt(argc, argv, none) != -1)
		return EXIT_USAGE;
	return cmd_args(argc, argv, names);
}

/* "help" is a word of every table but the top one, where it is an object. */
static bool is_help_word(const struct cmd_table *t, const char *arg)
{
	return (*t->name && !strcmp(arg, "help")) || !strcmp(arg, "-h") ||
	       !strcmp(arg, "--help");
}

/* "-h" or "--help" among a verb's arguments (up to "--"). */
static bool wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

/* Prints @text, its lines after the first indented by @indent. */
static void print_indented(FILE *f, const char *text, int indent)
{
	const char *nl;

	while ((nl = strchr(text, '\n')) && nl[1]) {
		fprintf(f, "%.*s\n%*s", (int)(nl - text), text, indent, "");
		text = nl + 1;
	}
	fprintf(f, "%s%s", text, nl ? "" : "\n");
}

/* "vmmig host set ARGS", continuation lines aligned under ARGS. */
static void print_synopsis(FILE *f, const char *lead, const char *object,
			   const struct cmd *c)
{
	int n;

	n = fprintf(f, "%s%s%s%s", lead, object, *object ? " " : "", c->name);
	if (c->args && *c->args) {
		fputc(' ', f);
		print_indented(f, c->args, n + 1);
	} else {
		fputc('\n', f);
	}
}

static void print_synopses(FILE *f, const struct cmd_table *t, bool *first)
{
	char object[64];
	size_t i;

	snprintf(object, sizeof(object), "vmmig %s", t->name);
	for (i = 0; i < t->n; i++) {
		const struct cmd *c = t->cmds[i];

		if (c->sub) {
			print_synopses(f, c->sub, first);
			continue;
		}
		print_synopsis(f, *first ? "Usage: " : "       ", object, c);
		*first = false;
	}
}

/* The words of @t's name after the object's: "policy" of "host policy". */
static const char *subname(const struct cmd_table *t, size_t skip)
{
	return strlen(t->name) > skip ? t->name + skip : "";
}

static size_t name_width(const struct cmd_table *t, size_t skip)
{
	size_t i, w = 0, n;

	for (i = 0; i < t->n; i++) {
		n = t->cmds[i]->sub ? name_width(t->cmds[i]->sub, skip) :
		    strlen(subname(t, skip)) + !!*subname(t, skip) + strlen(t->cmds[i]->name);
		w = n > w ? n : w;
	}
	return w;
}

static void print_helps(FILE *f, const struct cmd_table *t, size_t skip, size_t width)
{
	const char *prefix = subname(t, skip);
	char name[64];
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct cmd *c = t->cmds[i];

		if (c->sub) {
			print_helps(f, c->sub, skip, width);
			continue;
		}
		snprintf(name, sizeof(name), "%s%s%s", prefix, *prefix ? " " : "", c->name);
		fprintf(f, "%-*s  ", (int)width, name);
		print_indented(f, c->help, width + 2);
	}
}

void cmd_table_usage(const struct cmd_table *t, FILE *f)
{
	size_t skip = strlen(t->name) + 1;
	bool first = true;

	if (t->usage) {
		t->usage(f);
		return;
	}
	print_synopses(f, t, &first);
	fputc('\n', f);
	print_helps(f, t, skip, name_width(t, skip));
	if (t->footer)
		fprintf(f, "\n%s", t->footer);
}

static void cmd_usage(const struct cmd_table *t, const struct cmd *c, FILE *f)
{
	if (c->sub) {
		cmd_table_usage(c->sub, f);
		return;
	}
	print_synopsis(f, "Usage: vmmig ", t->name, c);
	fprintf(f, "\n%s", c->help);
	if (t->footer)
		fprintf(f, "\n%s", t->footer);
}

/* Synopsis words: a lone bracket, brace or bar is grammar, not a word. */
static bool is_grammar(const char *w)
{
	return strlen(w) == 1 && strchr("[]{}|", *w);
}

/*
 * The value after the option or keyword at @w[*i]: a metavariable, or the
 * first word of each alternative of a { a | b } group, joined by '|'; ""
 * for a flag. *@i moves past what was taken.
 */
static void syn_value(char **w, int n, int *i, char *val, size_t len)
{
	int j = *i + 1, depth = 0;
	size_t at = 0;
	bool first = true;

	*val = '\0';
	if (j >= n || (is_grammar(w[j]) && strcmp(w[j], "{")) || w[j][0] == '-')
		return;
	if (strcmp(w[j], "{")) {
		snprintf(val, len, "%s", w[j]);
		*i = j;
		return;
	}
	for (; j < n; j++) {
		if (!strcmp(w[j], "{") || !strcmp(w[j], "[")) {
			first = !depth++;
			continue;
		}
		if (!strcmp(w[j], "}") || !strcmp(w[j], "]")) {
			if (!--depth)
				break;
			continue;
		}
		if (!strcmp(w[j], "|")) {
			first = depth == 1;
			continue;
		}
		if (first && at < len)
			at += snprintf(val + at, len - at, "%s%s", at ? "|" : "", w[j]);
		first = false;
	}
	*i = j;
}

void cmd_print_args(FILE *f, const char *args)
{
	char *copy = strdup(args ? args : ""), *save = NULL, *t, *w[128];
	char val[256];
	int n = 0, i;

	if (!copy)
		return;
	/* Words, with the brackets glued to them ("[--priority", "N]") apart. */
	for (t = strtok_r(copy, " \t\n", &save); t && n < 126; t = strtok_r(NULL, " \t\n", &save)) {
		size_t len = strlen(t), open = 0, close = 0, k;

		if (len > 1 && (*t == '[' || *t == '{') && t[1] == '-') {
			w[n++] = *t == '[' ? "[" : "{";
			t++;
			len--;
		}
		if (len > 3 && !strcmp(t + len - 3, "..."))
			t[len -= 3] = '\0';
		for (k = 0; k < len; k++) {
			open += t[k] == '[';
			close += t[k] == ']';
		}
		if (len > 1 && t[len - 1] == ']' && close > open) {
			t[len - 1] = '\0';
			w[n++] = t;
			w[n++] = "]";
			continue;
		}
		w[n++] = t;
	}
	for (i = 0; i < n; i++) {
		const char *word = w[i];

		if (is_grammar(word))
			continue;
		/* Options, and the keywords of iproute2-style verbs (host set). */
		if (word[0] == '-' || (word[0] >= 'a' && word[0] <= 'z')) {
			syn_value(w, n, &i, val, sizeof(val));
			fprintf(f, " %s%s%s", word, *val ? "=" : "", val);
			continue;
		}
		fprintf(f, " %s", word);
	}
	free(copy);
}

void cmd_table_list(const struct cmd_table *t, const char *opts, FILE *f)
{
	size_t i;

	if (t->opts)
		opts = t->opts;
	for (i = 0; i < t->n; i++) {
		const struct cmd *c = t->cmds[i];

		if (c->sub) {
			cmd_table_list(c->sub, opts, f);
			continue;
		}
		fprintf(f, "%s%s%s :", t->name, *t->name ? " " : "", c->name);
		cmd_print_args(f, c->args);
		if (opts)
			cmd_print_args(f, opts);
		fputc('\n', f);
	}
}

/* The entry @word names, exactly or as a unique prefix; NULL (reported) if none. */
static const struct cmd *cmd_find(const struct cmd_table *t, const char *word)
{
	const struct cmd *found = NULL;
	size_t i, n = 0, len = strlen(word);

	for (i = 0; i < t->n; i++) {
		if (!strcmp(t->cmds[i]->name, word))
			return t->cmds[i];
		if (len && !strncmp(t->cmds[i]->name, word, len)) {
			found = t->cmds[i];
			n++;
		}
	}
	if (n == 1)
		return found;
	fflush(stdout);
	if (!n) {
		if (*t->name)
			fprintf(stderr, "vmmig: %s: unknown command '%s' (see 'vmmig %s help')\n",
				t->name, word, t->name);
		else
			fprintf(stderr, "vmmig: unknown object '%s' (try 'vmmig help')\n", word);
		return NULL;
	}
	fprintf(stderr, "vmmig: 'vmmig%s%s %s' is ambiguous:", *t->name ? " " : "",
		t->name, word);
	for (i = 0, n = 0; i < t->n; i++)
		if (!strncmp(t->cmds[i]->name, word, len))
			fprintf(stderr, "%s %s", n++ ? "," : "", t->cmds[i]->name);
	fputc('\n', stderr);
	return NULL;
}

int cmd_run(const struct cmd_table *t, int argc, char **argv)
{
	char *dflt[] = { (char *)t->dflt, NULL };
	const struct cmd *c;

	snprintf(what, sizeof(what), "%s", *t->name ? t->name : "vmmig");
	if (argc < 2 && t->dflt) {
		argv = dflt;
		argc = 1;
	} else if (argc < 2) {
		if (t->usage) {
			t->usage(stderr);
			return EXIT_USAGE;
		}
		error_msg(what, "missing COMMAND (see 'vmmig %s help')", t->name);
		return EXIT_USAGE;
	} else {
		argc--;
		argv++;
	}
	if (is_help_word(t, argv[0])) {
		if (argc > 2)
			return usage_error("expected at most one COMMAND");
		if (argc == 1) {
			cmd_table_usage(t, stdout);
			return EXIT_OK;
		}
		c = cmd_find(t, argv[1]);
		if (!c)
			return EXIT_USAGE;
		cmd_usage(t, c, stdout);
		return EXIT_OK;
	}
	c = cmd_find(t, argv[0]);
	if (!c)
		return EXIT_USAGE;
	snprintf(what, sizeof(what), "%s%s%s", t->name, *t->name ? " " : "", c->name);
	/* The verb's own spelling, for nested tables' messages and getopt. */
	argv[0] = (char *)c->name;
	if (c->fn && !c->sub && wants_help(argc, argv)) {
		cmd_usage(t, c, stdout);
		return EXIT_OK;
	}
	optind = 0;	/* GNU: a fresh getopt for the verb, see cmd_getopt() */
	opterr = 0;
	return c->fn ? c->fn(argc, argv) : cmd_run(c->sub, argc, argv);
}
