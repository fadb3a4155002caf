// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig: command line for live migration of KVM virtual machines.
 *
 *   vmmig [ OPTIONS ] OBJECT { COMMAND | help } [ ARGS ]
 *
 * The global options, the objects, and `help`; each object's verbs are in
 * its own file (host.c, kvm.c, monitor.c, vm*.c, version.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "vmmig.h"

#define NETNS_RUN_DIR "/var/run/netns"

static int help_main(int argc, char **argv);

static const struct cmd help_cmd = {
	.name = "help",
	.fn = help_main,
	.args = "[ OBJECT [ COMMAND ] ]",
	.help = "Shows this help, or the help of an object or of one of its commands\n",
};

static const struct cmd *const objects[] = {
	&host_cmd, &monitor_cmd, &kvm_cmd, &vm_cmd, &move_cmd, &migration_cmd, &storage_cmd,
	&cluster_cmd, &network_cmd, &stats_cmd, &check_cmd, &version_cmd,
	&help_cmd,
};

static void usage(FILE *f);

static const struct cmd_table top = {
	.name = "", .cmds = objects, .n = sizeof(objects) / sizeof(objects[0]),
	.usage = usage,
};

/* The global options, as usage() and `help --commands` show them. */
static const struct global_opt {
	char flag;
	const char *name, *arg, *help;
} global_opts[] = {
	{ 'j', "json", NULL, "JSON output" },
	{ 'p', "pretty", NULL, "indented JSON (implies -j)" },
	{ 'n', "netns", "NETNS", "run in network namespace NETNS (as ip -n)" },
	{ 'V', "version", NULL, "same as 'vmmig version'" },
};

static void usage(FILE *f)
{
	char opt[32];
	size_t i;

	fprintf(f, "Usage: vmmig [ OPTIONS ] OBJECT { COMMAND | help } [ ARGS ]\n"
		   "OPTIONS (also after OBJECT and COMMAND):\n");
	for (i = 0; i < sizeof(global_opts) / sizeof(global_opts[0]); i++) {
		const struct global_opt *g = &global_opts[i];

		snprintf(opt, sizeof(opt), "--%s%s%s", g->name, g->arg ? " " : "",
			 g->arg ? g->arg : "");
		fprintf(f, "  -%c, %-16s%s\n", g->flag, opt, g->help);
	}
	fprintf(f, "OBJECTS:\n");
	for (i = 0; i < top.n; i++)
		fprintf(f, "  %-8s %.*s\n", objects[i]->name,
			(int)strcspn(objects[i]->help, "\n"), objects[i]->help);
	fprintf(f, "'vmmig help OBJECT' shows the commands of an object; words may be\n"
		   "shortened to any prefix that is unique among them ('vmmig host sh').\n");
}

/*
 * `help --commands` (left out of the usage: it is for completion writers,
 * see Documentation/admin-guide/cli.rst): a first line " : GLOBAL-OPTIONS",
 * then one line per command from the tables that dispatch.
 */
static void list_commands(FILE *f)
{
	size_t i;

	fputs(" :", f);
	for (i = 0; i < sizeof(global_opts) / sizeof(global_opts[0]); i++) {
		const struct global_opt *g = &global_opts[i];
		const char *arg = g->arg ? g->arg : "";

		fprintf(f, " -%c%s%s --%s%s%s", g->flag, *arg ? "=" : "", arg, g->name,
			*arg ? "=" : "", arg);
	}
	fputc('\n', f);
	cmd_table_list(&top, NULL, f);
}

/* "help [ OBJECT [ COMMAND ] ]" is "OBJECT [ COMMAND ] --help". */
static int help_main(int argc, char **argv)
{
	char *args[argc + 2];
	int i;

	if (argc == 1) {
		usage(stdout);
		return EXIT_OK;
	}
	if (argc == 2 && !strcmp(argv[1], "--commands")) {
		list_commands(stdout);
		return EXIT_OK;
	}
	args[0] = "vmmig";
	for (i = 1; i < argc; i++)
		args[i] = argv[i];
	args[argc] = "--help";
	args[argc + 1] = NULL;
	return cmd_run(&top, argc + 1, args);
}

/* As ip -n: the rest runs in /var/run/netns/NETNS. */
static int enter_netns(const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		error_msg("-n", "'%s' is not a network namespace name", name);
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s/%s", NETNS_RUN_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		error_msg("-n", "network namespace %s: %s", name,
			  errno == ENOENT ? "no such namespace (see 'ip netns list')" :
			  strerror(errno));
		return EXIT_FAIL;
	}
	if (setns(fd, CLONE_NEWNET)) {
		error_msg("-n", "cannot enter network namespace %s: %s", name, strerror(errno));
		close(fd);
		return EXIT_FAIL;
	}
	close(fd);
	return EXIT_OK;
}

struct globals {
	bool json, pretty, version, help;
	const char *netns;
};

/*
 * One global option at argv[i]: 0 if it is none, else how many arguments
 * it took; -1 after a reported misuse. @front: before the object, where
 * -V and -h are global too.
 */
static int global_option(int argc, char **argv, int i, bool front, struct globals *g)
{
	const char *a = argv[i], *p;

	if (!strcmp(a, "--json"))
		return g->json = true, 1;
	if (!strcmp(a, "--pretty"))
		return g->json = g->pretty = true, 1;
	if (front && !strcmp(a, "--version"))
		return g->version = true, 1;
	if (front && !strcmp(a, "--help"))
		return g->help = true, 1;
	if (!strncmp(a, "--netns=", 8)) {
		g->netns = a + 8;
		return 1;
	}
	if (!strcmp(a, "-n") || !strcmp(a, "--netns")) {
		if (i + 1 >= argc) {
			fprintf(stderr, "vmmig: %s needs a NETNS (try 'vmmig help')\n", a);
			return -1;
		}
		g->netns = argv[i + 1];
		return 2;
	}
	if (a[0] != '-' || a[1] == '-' || !a[1])
		return 0;
	/* Bundled short flags, "-jp". */
	for (p = a + 1; *p; p++)
		if (!strchr(front ? "jpVh" : "jp", *p))
			return 0;
	for (p = a + 1; *p; p++) {
		g->json |= *p == 'j' || *p == 'p';
		g->pretty |= *p == 'p';
		g->version |= *p == 'V';
		g->help |= *p == 'h';
	}
	return 1;
}

int main(int argc, char **argv)
{
	struct globals g = {};
	int i, n, out;

	/* Before the object: only global options. */
	for (i = 1; i < argc && argv[i][0] == '-'; i += n) {
		n = global_option(argc, argv, i, true, &g);
		if (n < 0)
			return EXIT_USAGE;
		if (!n) {
			fprintf(stderr, "vmmig: unknown option '%s' (try 'vmmig help')\n", argv[i]);
			return EXIT_USAGE;
		}
	}
	/* After it, global options are taken out, up to a "--". */
	for (out = 1; i < argc && strcmp(argv[i], "--"); i += n) {
		n = global_option(argc, argv, i, false, &g);
		if (n < 0)
			return EXIT_USAGE;
		if (!n) {
			argv[out++] = argv[i];
			n = 1;
		}
	}
	while (i < argc)
		argv[out++] = argv[i++];
	argv[out] = NULL;
	argc = out;

	output_init(g.json, g.pretty);
	if (g.help) {
		usage(stdout);
		return EXIT_OK;
	}
	if (g.netns) {
		int rc = enter_netns(g.netns);

		if (rc)
			return rc;
	}
	if (g.version) {
		char *args[] = { "version", NULL };

		return version_cmd.fn(1, args);
	}
	return cmd_run(&top, argc, argv);
}
