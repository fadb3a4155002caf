// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig host { show | set | features | policy { show | set } | cert ... }: this
 * host, its migration settings (per network namespace), its CPUID policy and
 * (host_cert.c) its TLS certificate.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpuid.h"
#include "output.h"
#include "parse.h"
#include "vmdef.h"
#include "vmmig.h"

void print_host_settings(const struct vmmig_host *h)
{
	print_bool(PRINT_ANY, "migration", "migration %s", h->migration);
	print_uint(PRINT_ANY, "max_migrations", " max-migrations %" PRIu64,
		   h->max_migrations);
	print_uint(PRINT_ANY, "max_storage_migrations", " max-storage-migrations %" PRIu64,
		   h->max_storage_migrations);
	print_uint(PRINT_ANY, "vms", " vms %" PRIu64, h->vm_count);
}

void print_host(const struct vmmig_host *h)
{
	print_string(PRINT_ANY, "module_version", "vmmig.ko %s",
		     h->module_version);
	print_string(PRINT_ANY, "kernel", " kernel %s", h->kernel_release);
	print_string(PRINT_ANY, "kvm", " kvm %s", vmmig_kvm_name(h->kvm));
	print_bool(PRINT_ANY, "cpuid_strict", " cpuid-strict %s", h->cpuid_strict);
	print_nl();
	open_object("cpu");
	print_string(PRINT_ANY, "vendor", "cpu %s", h->cpu_vendor);
	print_uint(PRINT_ANY, "family", " family %" PRIu64, h->cpu_family);
	print_uint(PRINT_ANY, "model", " model %" PRIu64, h->cpu_model);
	print_uint(PRINT_ANY, "stepping", " stepping %" PRIu64, h->cpu_stepping);
	print_string(PRINT_ANY, "model_name", " \"%s\"", h->cpu_model_name);
	close_object();
	print_nl();
	print_host_settings(h);
	print_nl();
}

static int host_show(int argc, char **argv)
{
	struct vmmig_host host;
	struct vmmig_nl nl;
	int err;

	if (argc > 1)
		return usage_error("unexpected argument '%s'", argv[1]);
	if (cli_connect(&nl, what))
		return EXIT_FAIL;
	err = cli_close(&nl, vmmig_host_get(&nl, &host));
	if (err)
		return err;
	print_host(&host);
	output_flush();
	return EXIT_OK;
}

static const struct cmd host_show_cmd = {
	.name = "show",
	.fn = host_show,
	.args = "",
	.help = "the kernel, CPU and KVM of this host, how many VMs vmmig.ko\n"
		"knows, and the migration settings of this network namespace\n"
		"(also plain 'vmmig host')\n",
};

static int parse_onoff(const char *key, const char *s, bool *out)
{
	if (!strcmp(s, "on")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "off")) {
		*out = false;
		return 0;
	}
	error_msg(what, "%s: expected 'on' or 'off', not '%s'", key, s);
	return -EINVAL;
}

static int host_set(int argc, char **argv)
{
	struct vmmig_host_settings s = {};
	bool any, has_any = false;
	char why[VMMIG_ERRLEN];
	struct vmmig_nl nl;
	int i, err;

	if (argc < 2)
		return usage_error("nothing to set");
	for (i = 1; i < argc; i += 2) {
		uint32_t *max = !strcmp(argv[i], "max-storage-migrations") ?
				&s.max_storage_migrations : &s.max_migrations;

		if (strcmp(argv[i], "migration") && strcmp(argv[i], "max-migrations") &&
		    strcmp(argv[i], "max-storage-migrations") && strcmp(argv[i], "use-any-network"))
			return usage_error("unknown setting '%s'", argv[i]);
		if (i + 1 >= argc)
			return usage_error("'%s' needs a value", argv[i]);
		if (!strcmp(argv[i], "use-any-network")) {
			if (parse_onoff(argv[i], argv[i + 1], &any))
				return EXIT_USAGE;
			has_any = true;
		} else if (!strcmp(argv[i], "migration")) {
			if (parse_onoff(argv[i], argv[i + 1], &s.migration))
				return EXIT_USAGE;
			s.has_migration = true;
		} else {
			/* Its range is vmmig.ko's, which names it when it refuses. */
			if (parse_u32(argv[i], argv[i + 1], 0, UINT32_MAX, max, why)) {
				error_msg(what, "%s", why);
				return EXIT_USAGE;
			}
			if (max == &s.max_migrations)
				s.has_max_migrations = true;
			else
				s.has_max_storage_migrations = true;
		}
	}
	/* use-any-network is vmmigd's; the rest vmmig.ko's. */
	if (has_any) {
		err = network_use_any(any);
		if (err || (!s.has_migration && !s.has_max_migrations &&
			    !s.has_max_storage_migrations))
			return err;
	}
	if (cli_connect(&nl, what))
		return EXIT_FAIL;
	return cli_close(&nl, vmmig_host_set(&nl, &s));
}

static const struct cmd host_set_cmd = {
	.name = "set",
	.fn = host_set,
	.args = "[ migration { on | off } ] [ max-migrations N ] [ max-storage-migrations N ]"
		" [ use-any-network { on | off } ]",
	.help = "[admin] enable or disable live migration into and out of this\n"
		"host, and how many migrations and storage migrations may run at\n"
		"once (1..64 each); vmmigd keeps them across restarts.\n"
		"use-any-network (vmmigd's): whether a move may take a network that\n"
		"is no migration network of both hosts (on by default)\n",
};

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

static int host_features(int argc, char **argv)
{
	uint32_t w[VMMIG_NR_WORDS];
	struct vmmig_nl nl;
	int err, i;

	if (argc > 1)
		return usage_error("unexpected argument '%s'", argv[1]);
	if (cli_connect(&nl, what))
		return EXIT_FAIL;
	err = cli_close(&nl, vmmig_host_features(&nl, w));
	if (err)
		return err;
	open_array("words");
	for (i = 0; i < VMMIG_NR_WORDS; i++)
		print_word(i, w[i]);
	close_array();
	output_flush();
	return EXIT_OK;
}

static const struct cmd host_features_cmd = {
	.name = "features",
	.fn = host_features,
	.args = "",
	.help = "the CPU features KVM can give a guest here, by name\n",
};

static int policy_show(int argc, char **argv)
{
	struct vmmig_policy p;
	struct vmmig_nl nl;
	int err;

	if (argc > 1)
		return usage_error("unexpected argument '%s'", argv[1]);
	if (cli_connect(&nl, what))
		return EXIT_FAIL;
	err = cli_close(&nl, vmmig_policy_get(&nl, &p));
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

static const struct cmd policy_show_cmd = {
	.name = "show",
	.fn = policy_show,
	.args = "",
	.help = "the CPUID policy: the common-cluster and minimum masks, the bits\n"
		"no audit checks, and strict mode (also plain 'vmmig host policy')\n",
};

/* "default" or WORD VALUE pairs, up to the next keyword; returns args used. */
static int parse_mask(int argc, char **argv, bool *reset, uint32_t *given,
		      uint32_t *mask)
{
	char why[VMMIG_ERRLEN];
	int i = 0, w;

	if (argc > 0 && !strcmp(argv[0], "default")) {
		*reset = true;
		return 1;
	}
	while (i < argc && (w = vmmig_word_index(argv[i])) >= 0) {
		if (i + 1 >= argc)
			return usage_error("'%s' needs a value", argv[i]);
		if (parse_u32(argv[i], argv[i + 1], 0, UINT32_MAX, &mask[w], why)) {
			error_msg(what, "%s", why);
			return -EINVAL;
		}
		*given |= 1u << w;
		i += 2;
	}
	if (!i) {
		usage_error("expected 'default' or WORD VALUE (WORD: 1.ecx, 7.0.ebx, ...)%s%s",
			    argc ? ", not " : "", argc ? argv[0] : "");
		return -EINVAL;
	}
	return i;
}

static int policy_set(int argc, char **argv)
{
	struct vmmig_policy_change c = {};
	struct vmmig_nl nl;
	int i, n, mode;

	if (argc < 2)
		return usage_error("nothing to set");
	for (i = 1; i < argc; i += n) {
		n = 0;
		if (!strcmp(argv[i], "strict")) {
			if (i + 1 >= argc || (mode = vmmig_cpu_mode_parse(argv[i + 1])) < 0)
				return usage_error("strict: expected off, common or minimum");
			c.has_strict = true;
			c.strict = mode;
			n = 2;
		} else if (!strcmp(argv[i], "common")) {
			n = parse_mask(argc - i - 1, argv + i + 1, &c.reset_common,
				       &c.common_given, c.common);
			if (n < 0)
				return EXIT_USAGE;
			n++;
		} else if (!strcmp(argv[i], "minimum")) {
			n = parse_mask(argc - i - 1, argv + i + 1, &c.reset_minimum,
				       &c.minimum_given, c.minimum);
			if (n < 0)
				return EXIT_USAGE;
			n++;
		} else {
			return usage_error("unknown setting '%s'", argv[i]);
		}
	}
	if (cli_connect(&nl, what))
		return EXIT_FAIL;
	return cli_close(&nl, vmmig_policy_set(&nl, &c));
}

static const struct cmd policy_set_cmd = {
	.name = "set",
	.fn = policy_set,
	.args = "[ strict { off | common | minimum } ]\n"
		"[ common { default | WORD VALUE... } ]\n"
		"[ minimum { default | WORD VALUE... } ]\n",
	.help = "[admin] replaces the given words (1.ecx 1.edx 7.0.ebx 7.0.ecx\n"
		"7.0.edx 7.1.eax 0xd.0.eax 0xd.0.edx 0xd.1.eax 0x80000001.ecx\n"
		"0x80000001.edx 0x80000008.ebx 0x80000021.eax) of a mask, or puts\n"
		"it back to its default; strict refuses, before its first run, any\n"
		"VM whose CPUID exceeds that mask\n",
};

static const struct cmd *const policy_cmds[] = { &policy_show_cmd, &policy_set_cmd };
static const struct cmd_table policy_table = CMD_TABLE("host policy", policy_cmds, "show", NULL);

static const struct cmd host_policy_cmd = {
	.name = "policy",
	.sub = &policy_table,
};

static const struct cmd *const host_cmds[] = {
	&host_show_cmd, &host_set_cmd, &host_features_cmd, &host_policy_cmd, &host_cert_cmd,
};
static const struct cmd_table host_table = CMD_TABLE("host", host_cmds, "show", NULL);

const struct cmd host_cmd = {
	.name = "host",
	.help = "Shows this host and changes its migration settings, CPUID policy\n"
		"and TLS certificate\n",
	.sub = &host_table,
};
