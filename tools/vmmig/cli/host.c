// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig host { show | set ... }
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "vmmig.h"

void print_host_settings(const struct vmmig_host *h)
{
	print_bool(PRINT_ANY, "migration", "migration %s", h->migration);
	print_uint(PRINT_ANY, "max_migrations", " max-migrations %" PRIu64,
		   h->max_migrations);
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

	if (argc > 1) {
		error_msg("host show", "unexpected argument '%s'", argv[1]);
		return object_help("host", true);
	}
	if (cli_connect(&nl, "host show"))
		return EXIT_FAIL;
	err = vmmig_host_get(&nl, &host);
	if (err) {
		err = cli_nl_error(&nl, "host show", err);
		vmmig_nl_close(&nl);
		return err;
	}
	vmmig_nl_close(&nl);
	print_host(&host);
	output_flush();
	return EXIT_OK;
}

static int parse_u32(const char *what, const char *s, uint32_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (!*s || *end || errno || s[0] == '-' || v > UINT32_MAX) {
		error_msg("host set", "%s: '%s' is not a number", what, s);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_onoff(const char *what, const char *s, bool *out)
{
	if (!strcmp(s, "on")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "off")) {
		*out = false;
		return 0;
	}
	error_msg("host set", "%s: expected 'on' or 'off', not '%s'", what, s);
	return -EINVAL;
}

static int host_set(int argc, char **argv)
{
	struct vmmig_host_settings s = {};
	struct vmmig_nl nl;
	int i, err;

	for (i = 1; i < argc; i += 2) {
		if (i + 1 >= argc) {
			error_msg("host set", "'%s' needs a value", argv[i]);
			return object_help("host", true);
		}
		if (!strcmp(argv[i], "migration")) {
			if (parse_onoff(argv[i], argv[i + 1], &s.migration))
				return EXIT_USAGE;
			s.has_migration = true;
		} else if (!strcmp(argv[i], "max-migrations")) {
			if (parse_u32(argv[i], argv[i + 1], &s.max_migrations))
				return EXIT_USAGE;
			s.has_max_migrations = true;
		} else {
			error_msg("host set", "unknown setting '%s'", argv[i]);
			return object_help("host", true);
		}
	}
	if (!s.has_migration && !s.has_max_migrations) {
		error_msg("host set", "nothing to set");
		return object_help("host", true);
	}
	if (cli_connect(&nl, "host set"))
		return EXIT_FAIL;
	err = vmmig_host_set(&nl, &s);
	if (err)
		err = cli_nl_error(&nl, "host set", err);
	vmmig_nl_close(&nl);
	return err ? EXIT_FAIL : EXIT_OK;
}

int host_main(int argc, char **argv)
{
	if (argc < 2)
		return host_show(argc, argv);
	if (is_help(argv[1]))
		return object_help("host", false);
	if (!strcmp(argv[1], "show"))
		return host_show(argc - 1, argv + 1);
	if (!strcmp(argv[1], "set"))
		return host_set(argc - 1, argv + 1);
	if (!strcmp(argv[1], "features"))
		return host_features_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "policy"))
		return host_policy_main(argc - 1, argv + 1);
	error_msg("host", "unknown command '%s'", argv[1]);
	return object_help("host", true);
}
