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

#include "output.h"
#include "vm.h"

int vm_save(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "live", no_argument, NULL, 'l' },
		{ "hash", no_argument, NULL, 'h' },
		{}
	};
	struct ctl_save_result res;
	bool live = false, hash = false;
	char h[24];
	int c;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'l') {
			live = true;
		} else if (c == 'h') {
			hash = true;
		} else {
			error_msg(what, "unknown option '%s'", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	argv += optind - 1;
	argc -= optind - 1;
	if (argc != 3)
		return object_help("vm", true);
	if (check_name(argv[1]))
		return EXIT_USAGE;
	if (vmctl_save(&vmctl, argv[1], argv[2], live, hash, &res))
		return vmctl_failed();
	print_string(PRINT_ANY, "file", "saved to %s", argv[2]);
	print_uint(PRINT_ANY, "save_us", " in %" PRIu64 " us", res.save_ns / 1000);
	if (res.live) {
		print_uint(PRINT_ANY, "rounds", " live: %" PRIu64 " rounds", res.rounds);
		print_uint(PRINT_ANY, "resent_pages", " resent %" PRIu64 " pages", res.resent_pages);
		print_uint(PRINT_ANY, "final_pages", " final %" PRIu64 " pages", res.final_pages);
		print_uint(PRINT_ANY, "downtime_us", " downtime %" PRIu64 " us",
			   res.downtime_ns / 1000);
	}
	if (res.has_memory_hash) {
		snprintf(h, sizeof(h), "0x%" PRIx64, res.memory_hash);
		print_string(PRINT_ANY, "memory_hash", " memory-hash %s", h);
	}
	print_nl();
	output_flush();
	return EXIT_OK;
}

static int restore_parse(int argc, char **argv, const char **name, bool *paused)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "paused", no_argument, NULL, 'p' },
		{}
	};
	int c;

	opterr = 0;
	optind = 0;	/* GNU: start afresh after main()'s own getopt */
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'n')
			*name = optarg;
		else if (c == 'p')
			*paused = true;
		else {
			error_msg(what, "unknown option '%s'", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		error_msg(what, "expected one FILE");
		return -EINVAL;
	}
	return 0;
}

int vm_restore(int argc, char **argv)
{
	const char *name = NULL;
	bool paused = false;

	if (restore_parse(argc, argv, &name, &paused))
		return object_help("vm", true);
	return vmctl_restore(&vmctl, argv[argc - 1], name, paused, NULL) ? vmctl_failed() : EXIT_OK;
}
