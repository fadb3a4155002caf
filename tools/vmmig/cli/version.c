// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig version: the versions of the CLI and of the loaded vmmig.ko.
 */
#include <stdio.h>

#include "output.h"
#include "vmmig.h"

static int version_main(int argc, char **argv)
{
	struct vmmig_host host;
	struct vmmig_nl nl;
	bool loaded = false;

	if (argc > 1)
		return usage_error("unexpected argument '%s'", argv[1]);
	if (!vmmig_nl_open(&nl)) {
		loaded = !vmmig_host_get(&nl, &host);
		vmmig_nl_close(&nl);
	}
	print_string(PRINT_ANY, "version", "vmmig %s\n", VMMIG_VERSION);
	if (loaded)
		print_string(PRINT_ANY, "module_version", "vmmig.ko %s\n",
			     host.module_version);
	else {
		print_string(PRINT_JSON, "module_version", NULL, NULL);
		print_text("vmmig.ko not loaded\n");
	}
	output_flush();
	return EXIT_OK;
}

const struct cmd version_cmd = {
	.name = "version",
	.fn = version_main,
	.args = "",
	.help = "Prints the versions of vmmig and of vmmig.ko\n"
		"(vmmig.ko: 'not loaded', in JSON null, when it is not)\n",
};
