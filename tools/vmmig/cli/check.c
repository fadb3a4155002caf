// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig check NAME --to HOST: whether VM NAME can move live to HOST, and
 * what stops it (Hyper-V's Compare-VM). This host's vmmigd checks the VM and
 * itself, and asks the destination's vmmigd; the same checks open every
 * `vmmig move`.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dctl.h"
#include "output.h"
#include "vmmig.h"

static int check_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "include-storage", no_argument, NULL, OPT_INCLUDE_STORAGE },
		{ "storage-path", required_argument, NULL, OPT_STORAGE_PATH },
		{ "disk", required_argument, NULL, OPT_DISK },
		{}
	};
	struct dctl_request r = { .cmd = DCTL_CHECK };
	struct json_object *o, *c, *a, *e, *v;
	bool ok;
	size_t i;
	int opt, err;

	while ((opt = cmd_getopt(argc, argv, lo)) != -1) {
		err = storage_option(opt, optarg, &r.storage);
		if (err >= 0) {
			if (err)
				return err;
			continue;
		}
		if (opt != 't')
			return EXIT_USAGE;
		if (strlen(optarg) >= sizeof(r.to))
			return usage_error("--to: name too long");
		strcpy(r.to, optarg);
	}
	err = vm_and_to(argc, argv, &r);
	if (err)
		return err;
	if (!r.storage.include && (r.storage.path[0] || r.storage.nmaps))
		return usage_error("--storage-path and --disk go with --include-storage");
	if (vmmigd_call(&r, &o))
		return EXIT_FAIL;
	if (!json_object_object_get_ex(o, DCTL_KEY_CHECK, &c)) {
		json_object_put(o);
		error_msg(what, "vmmigd sent no result");
		return EXIT_FAIL;
	}
	ok = json_object_object_get_ex(c, "compatible", &v) && json_object_get_boolean(v);
	if (output_is_json()) {
		print_json_line(c);
	} else {
		printf("%s to %s%s%s%s: %s\n", r.vm, r.to, *jget_str(c, "peer") ? " (" : "",
		       jget_str(c, "peer"), *jget_str(c, "peer") ? ")" : "",
		       ok ? "compatible" : "not compatible");
		json_object_object_get_ex(c, "issues", &a);
		for (i = 0; a && i < json_object_array_length(a); i++) {
			e = json_object_array_get_idx(a, i);
			printf("  %s %" PRIu64 ": %s\n", jget_str(e, "severity"), jget_u64(e, "id"),
			       jget_str(e, "message"));
			if (*jget_str(e, "fix"))
				printf("    fix: %s\n", jget_str(e, "fix"));
		}
	}
	json_object_put(o);
	return ok ? EXIT_OK : EXIT_FAIL;
}

const struct cmd check_cmd = {
	.name = "check",
	.fn = check_main,
	.args = "NAME --to HOST[:PORT] [ --include-storage [ --storage-path DIR ] [ --disk SRC=DST ]... ]",
	.help = "Checks whether a VM can move live to a host, and what stops it:\n"
		"every reason, each with a stable ID and how to fix it: the VM's state, migration\n"
		"on both hosts, reachability and authentication, the CPU vendor and\n"
		"the CPU features the VM sees that HOST lacks, the state format and\n"
		"definition, its NICs' taps and bridges and its disks there, a VM of\n"
		"that name there; warnings for a full queue and for memory. With\n"
		"--include-storage, where the disks would go instead: no file there\n"
		"already, the directory, and free space for their data. Exit 0 when\n"
		"compatible, 1 when not. vmmig move runs the same checks first\n",
};
