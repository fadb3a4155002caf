// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig vm save, restore: the VMM writes the state (plain, or live with
 * pre-copy); restore checks the whole file, then starts a VMM from it
 * (lib/vmctl.c).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mig.h"
#include "output.h"
#include "parse.h"
#include "vm.h"

/* --downtime-limit, --timeout, --on-timeout: as `vmmig move`'s. */
static int live_opt(int c, const char *arg, struct ctl_live_opts *lo)
{
	char why[VMMIG_ERRLEN];
	unsigned int i;

	if (c == 'd' && !parse_u32("--downtime-limit", arg, 1, 3600000, &lo->downtime_limit_ms, why))
		return lo->has_downtime_limit = true, 0;
	if (c == 't' && !parse_u32("--timeout", arg, 1, 86400, &lo->timeout_s, why))
		return lo->has_timeout = true, 0;
	if (c == 'o') {
		for (i = 0; i < MIG_NTIMEOUT && strcmp(arg, mig_on_timeout_names[i]); i++)
			;
		if (i < MIG_NTIMEOUT) {
			lo->on_timeout = i;
			lo->has_on_timeout = true;
			return 0;
		}
		snprintf(why, sizeof(why), "--on-timeout: '%s' is not cancel, throttle or pause", arg);
	}
	error_msg(what, "%s", why);
	return -EINVAL;
}

static int vm_save(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "live", no_argument, NULL, 'l' },
		{ "hash", no_argument, NULL, 'H' },
		{ "downtime-limit", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "on-timeout", required_argument, NULL, 'o' },
		{}
	};
	struct ctl_live_opts opts = {};
	struct ctl_save_result res;
	bool live = false, hash = false;
	char h[24], d[32];
	int c;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == 'l')
			live = true;
		else if (c == 'H')
			hash = true;
		else if (c == '?' || live_opt(c, optarg, &opts))
			return EXIT_USAGE;
	}
	if (cmd_args(argc, argv, "NAME FILE"))
		return EXIT_USAGE;
	if (!live && (opts.has_downtime_limit || opts.has_timeout || opts.has_on_timeout))
		return usage_error("--downtime-limit, --timeout and --on-timeout need --live");
	argv += optind - 1;
	if (check_name(argv[1]))
		return EXIT_USAGE;
	if (vmctl_save(&vmctl, argv[1], argv[2], live, hash, &opts, &res))
		return vmctl_failed();
	print_string(PRINT_ANY, "file", "saved to %s", argv[2]);
	print_uint(PRINT_ANY, "save_us", " in %" PRIu64 " us", res.save_ns / 1000);
	if (res.live) {
		print_uint(PRINT_ANY, "rounds", " live: %" PRIu64 " rounds", res.rounds);
		print_uint(PRINT_ANY, "resent_pages", " resent %" PRIu64 " pages", res.resent_pages);
		print_uint(PRINT_ANY, "final_pages", " final %" PRIu64 " pages", res.final_pages);
		print_uint(PRINT_ANY, "downtime_us", " downtime %" PRIu64 " us",
			   res.downtime_ns / 1000);
		/* Unknown (nothing measured before the switchover): null. */
		if (res.expected_downtime_ms == UINT64_MAX)
			print_string(PRINT_JSON, "expected_downtime_ms", NULL, NULL);
		else
			print_uint(PRINT_JSON, "expected_downtime_ms", NULL, res.expected_downtime_ms);
		print_string(PRINT_FP, NULL, " (expected %s)",
			     mig_downtime_str(res.expected_downtime_ms, d, sizeof(d)));
		print_uint(PRINT_ANY, "throttle_pct", " throttle %" PRIu64 " %%", res.throttle_pct);
	}
	if (res.has_memory_hash) {
		snprintf(h, sizeof(h), "0x%" PRIx64, res.memory_hash);
		print_string(PRINT_ANY, "memory_hash", " memory-hash %s", h);
	}
	print_nl();
	output_flush();
	return EXIT_OK;
}

const struct cmd vm_save_cmd = {
	.name = "save",
	.fn = vm_save,
	.args = "NAME FILE [ --live [ --downtime-limit MS ] [ --timeout S ]\n"
		"  [ --on-timeout cancel|throttle|pause ] ] [ --hash ]",
	.help = "writes the complete VM state to FILE; the VM is then saved;\n"
		"--live copies memory while the guest runs (pre-copy with\n"
		"vmmig.ko's dirty harvest) and pauses it only for the rest, once\n"
		"that is expected to take at most --downtime-limit (default 300\n"
		"ms), throttling the vCPUs when rounds stop shrinking; after\n"
		"--timeout S (default none): cancel (the save fails, the VM runs\n"
		"on; the default), throttle (more, each round) or pause (now);\n"
		"--hash prints a hash of guest memory as saved\n",
};

static int restore_parse(int argc, char **argv, const char **name, bool *paused)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "paused", no_argument, NULL, 'p' },
		{}
	};
	int c;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == 'n')
			*name = optarg;
		else if (c == 'p')
			*paused = true;
		else
			return -EINVAL;
	}
	return cmd_args(argc, argv, "FILE") ? -EINVAL : 0;
}

static int vm_restore(int argc, char **argv)
{
	struct dctl_request r = { .cmd = DCTL_VM_RESTORE };
	const char *name = NULL;
	bool paused = false;
	char *file;
	int rc;

	if (restore_parse(argc, argv, &name, &paused))
		return EXIT_USAGE;
	if (name && check_name(name))
		return EXIT_USAGE;
	/* vmmigd reads the file where it is: an absolute path. */
	file = realpath(argv[optind], NULL);
	if (file && strlen(file) < sizeof(r.path)) {
		snprintf(r.path, sizeof(r.path), "%s", file);
		snprintf(r.vm, sizeof(r.vm), "%s", name ? name : "");
		r.paused = paused;
		rc = vm_spawn_by_daemon(&r);
		if (rc >= 0) {
			free(file);
			return rc;
		}
	}
	free(file);
	return vmctl_restore(&vmctl, argv[optind], name, paused, NULL) ? vmctl_failed() :
	       vm_spawned();
}

const struct cmd vm_restore_cmd = {
	.name = "restore",
	.fn = vm_restore,
	.args = "FILE [ --name NAME ] [ --paused ]",
	.help = "runs a VM from FILE, as NAME (default: the saved name), with\n"
		"its UUID: refused while another VM here has that UUID; when\n"
		"vmmigd runs, it starts the VMM and supervises it\n",
};
