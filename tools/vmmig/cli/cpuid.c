// SPDX-License-Identifier: GPL-2.0
/*
 * CPU features and processor compatibility:
 *   vmmig host features
 *   vmmig host policy { show | set ... }
 *   vmmig kvm audit NAME
 *   vmmig kvm cpu-mode NAME { off | common | minimum }
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpuid.h"
#include "output.h"
#include "vmmig.h"

/* One word: its value and the names of its bits, as text or JSON. */
static void print_word(int w, uint32_t value)
{
	char unnamed[16];
	const char *name;
	int b;

	open_object(NULL);
	print_string(PRINT_ANY, "word", "%-16s", vmmig_word_name(w));
	print_uint(PRINT_JSON, "leaf", NULL, vmmig_word_leaf(w));
	print_uint(PRINT_JSON, "subleaf", NULL, vmmig_word_subleaf(w));
	print_string(PRINT_JSON, "register", NULL, vmmig_word_reg(w));
	print_uint(PRINT_ANY, "value", "0x%08" PRIx64, value);
	open_array("features");
	for (b = 0; b < 32; b++) {
		if (!(value & (1u << b)))
			continue;
		name = vmmig_feature_name(w, b);
		if (!name) {
			snprintf(unnamed, sizeof(unnamed), "bit%d", b);
			name = unnamed;
		}
		print_string(PRINT_ANY, NULL, " %s", name);
	}
	close_array();
	close_object();
	print_nl();
}

static void print_words(const char *key, const uint32_t *w)
{
	int i;

	open_array(key);
	for (i = 0; i < VMMIG_NR_WORDS; i++) {
		print_text("  ");
		print_word(i, w[i]);
	}
	close_array();
}

static int features_show(int argc, char **argv)
{
	uint32_t w[VMMIG_NR_WORDS];
	struct vmmig_nl nl;
	int err, i;

	if (argc > 1) {
		error_msg("host features", "unexpected argument '%s'", argv[1]);
		return object_help("host", true);
	}
	if (cli_connect(&nl, "host features"))
		return EXIT_FAIL;
	err = vmmig_host_features(&nl, w);
	if (err)
		err = cli_nl_error(&nl, "host features", err);
	vmmig_nl_close(&nl);
	if (err)
		return err;
	open_array("words");
	for (i = 0; i < VMMIG_NR_WORDS; i++)
		print_word(i, w[i]);
	close_array();
	output_flush();
	return EXIT_OK;
}

static int policy_show(int argc, char **argv)
{
	struct vmmig_policy p;
	struct vmmig_nl nl;
	int err;

	if (argc > 1) {
		error_msg("host policy show", "unexpected argument '%s'", argv[1]);
		return object_help("host", true);
	}
	if (cli_connect(&nl, "host policy show"))
		return EXIT_FAIL;
	err = vmmig_policy_get(&nl, &p);
	if (err)
		err = cli_nl_error(&nl, "host policy show", err);
	vmmig_nl_close(&nl);
	if (err)
		return err;
	print_string(PRINT_ANY, "strict", "strict %s\n", vmmig_cpu_mode_name(p.strict));
	print_string(PRINT_ANY, "common_source", "common (%s)\n",
		     p.common_set ? "set" : "host");
	print_words("common", p.common);
	print_text("minimum\n");
	print_words("minimum", p.minimum);
	print_text("ignored\n");
	print_words("ignored", p.ignored);
	output_flush();
	return EXIT_OK;
}

static int parse_value(const char *what, const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (!*s || *end || errno || s[0] == '-' || v > UINT32_MAX) {
		error_msg("host policy set", "%s: '%s' is not a 32-bit value", what, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* "default" or WORD VALUE pairs, up to the next keyword; returns args used. */
static int parse_mask(int argc, char **argv, bool *reset, uint32_t *given,
		      uint32_t *mask)
{
	int i = 0, w;

	if (argc > 0 && !strcmp(argv[0], "default")) {
		*reset = true;
		return 1;
	}
	while (i < argc && (w = vmmig_word_index(argv[i])) >= 0) {
		if (i + 1 >= argc) {
			error_msg("host policy set", "'%s' needs a value", argv[i]);
			return -EINVAL;
		}
		if (parse_value(argv[i], argv[i + 1], &mask[w]))
			return -EINVAL;
		*given |= 1u << w;
		i += 2;
	}
	if (!i) {
		error_msg("host policy set", "expected 'default' or WORD VALUE (WORD: 1.ecx, 7.0.ebx, ...)%s%s",
			  argc ? ", not " : "", argc ? argv[0] : "");
		return -EINVAL;
	}
	return i;
}

static int policy_set(int argc, char **argv)
{
	struct vmmig_policy_change c = {};
	struct vmmig_nl nl;
	int i, n, mode, err;

	for (i = 1; i < argc; i += n) {
		n = 0;
		if (!strcmp(argv[i], "strict")) {
			if (i + 1 >= argc || (mode = vmmig_cpu_mode_parse(argv[i + 1])) < 0) {
				error_msg("host policy set", "strict: expected off, common or minimum");
				return object_help("host", true);
			}
			c.has_strict = true;
			c.strict = mode;
			n = 2;
		} else if (!strcmp(argv[i], "common")) {
			n = parse_mask(argc - i - 1, argv + i + 1, &c.reset_common,
				       &c.common_given, c.common);
			if (n < 0)
				return object_help("host", true);
			n++;
		} else if (!strcmp(argv[i], "minimum")) {
			n = parse_mask(argc - i - 1, argv + i + 1, &c.reset_minimum,
				       &c.minimum_given, c.minimum);
			if (n < 0)
				return object_help("host", true);
			n++;
		} else {
			error_msg("host policy set", "unknown setting '%s'", argv[i]);
			return object_help("host", true);
		}
	}
	if (argc < 2) {
		error_msg("host policy set", "nothing to set");
		return object_help("host", true);
	}
	if (cli_connect(&nl, "host policy set"))
		return EXIT_FAIL;
	err = vmmig_policy_set(&nl, &c);
	if (err)
		err = cli_nl_error(&nl, "host policy set", err);
	vmmig_nl_close(&nl);
	return err ? EXIT_FAIL : EXIT_OK;
}

int host_features_main(int argc, char **argv)
{
	return features_show(argc, argv);
}

int host_policy_main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "show"))
		return policy_show(argc < 2 ? argc : argc - 1, argv + (argc > 1));
	if (is_help(argv[1]))
		return object_help("host", false);
	if (!strcmp(argv[1], "set"))
		return policy_set(argc - 1, argv + 1);
	error_msg("host policy", "unknown command '%s'", argv[1]);
	return object_help("host", true);
}

void print_audit(const struct vmmig_audit *a)
{
	const char *name;
	int w, b;

	print_string(a->name[0] ? PRINT_ANY : PRINT_JSON, "name", "%s: ",
		     a->name[0] ? a->name : NULL);
	print_uint(PRINT_ANY, "pid", "pid %" PRIu64, a->pid);
	print_string(PRINT_ANY, "cpu_mode", " cpu-mode %s", vmmig_cpu_mode_name(a->mode));
	print_uint(PRINT_ANY, "vcpus", " vcpus %" PRIu64, a->vcpus);
	print_string(PRINT_ANY, "compliance", " compliance %s",
		     vmmig_compliance_name(a->compliance));
	open_array("excess");
	for (w = 0; w < VMMIG_NR_WORDS; w++) {
		for (b = 0; b < 32; b++) {
			if (!(a->excess[w] & (1u << b)))
				continue;
			name = vmmig_feature_name(w, b);
			open_object(NULL);
			print_string(PRINT_ANY, "feature", " %s", name);
			print_string(name ? PRINT_JSON : PRINT_ANY, "word",
				     "(%s", vmmig_word_name(w));
			print_uint(name ? PRINT_JSON : PRINT_ANY, "bit", " bit %" PRIu64 ")", b);
			close_object();
		}
	}
	close_array();
	print_nl();
}

/**
 * kvm_audit_main() - "NAME | --pid PID [--mode MODE]": audit a VM's CPUID
 * @argc: arguments after "audit"
 * @argv: the arguments
 *
 * A registered VM is audited against its own mode; the VM of process PID
 * (any VMM, taken with pidfd_getfd) against MODE, common by default.
 *
 * Return: the exit status.
 */
int kvm_audit_main(int argc, char **argv)
{
	const char *name = NULL;
	int mode = VMMIG_CPU_MODE_COMMON, fd = -1, i;
	struct vmmig_audit a;
	struct vmmig_nl nl;
	long pid = 0;
	char *end;
	int err;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
			pid = strtol(argv[++i], &end, 10);
			if (*end || pid <= 0) {
				error_msg("kvm audit", "'%s' is not a process id", argv[i]);
				return EXIT_USAGE;
			}
		} else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
			mode = vmmig_cpu_mode_parse(argv[++i]);
			if (mode < 0) {
				error_msg("kvm audit", "--mode: expected off, common or minimum");
				return EXIT_USAGE;
			}
		} else if (argv[i][0] != '-' && !name) {
			name = argv[i];
		} else {
			error_msg("kvm audit", "unexpected argument '%s'", argv[i]);
			return object_help("kvm", true);
		}
	}
	if (!name == !pid) {
		error_msg("kvm audit", "which VM? (NAME or --pid PID)");
		return object_help("kvm", true);
	}
	if (pid) {
		fd = grab_vm_fd(pid);
		if (fd < 0) {
			error_msg("kvm audit", fd == -ENOENT ? "process %ld has no KVM VM" :
				  "cannot take the VM of process %ld: %s", pid, strerror(-fd));
			return EXIT_FAIL;
		}
	}
	if (cli_connect(&nl, "kvm audit")) {
		if (fd >= 0)
			close(fd);
		return EXIT_FAIL;
	}
	err = vmmig_vm_audit(&nl, name ? VMMIG_BY_NAME(name) : VMMIG_BY_FD(fd),
			     name ? -1 : mode, &a);
	if (err)
		err = cli_nl_error(&nl, "kvm audit", err);
	vmmig_nl_close(&nl);
	if (fd >= 0)
		close(fd);
	if (err)
		return err;
	print_audit(&a);
	output_flush();
	return EXIT_OK;
}

int kvm_cpu_mode_main(int argc, char **argv)
{
	struct vmmig_policy_change c = {};
	struct vmmig_nl nl;
	int mode, err;

	if (argc != 3 || (mode = vmmig_cpu_mode_parse(argv[2])) < 0) {
		error_msg("kvm cpu-mode", "expected NAME { off | common | minimum }");
		return object_help("kvm", true);
	}
	c.vm_name = argv[1];
	c.vm_mode = mode;
	if (cli_connect(&nl, "kvm cpu-mode"))
		return EXIT_FAIL;
	err = vmmig_policy_set(&nl, &c);
	if (err)
		err = cli_nl_error(&nl, "kvm cpu-mode", err);
	vmmig_nl_close(&nl);
	return err ? EXIT_FAIL : EXIT_OK;
}
