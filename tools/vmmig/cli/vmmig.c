// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig: command line for live migration of KVM virtual machines.
 *
 *   vmmig [OPTIONS] OBJECT { COMMAND | help }
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "vmmig.h"

static int version_main(int argc, char **argv);
static int help_main(int argc, char **argv);

static const struct {
	const char *object;
	int (*main)(int argc, char **argv);
	const char *description;
	const char *usage;
} objects[] = {
	{ "host", host_main, "Shows this host and changes its migration settings",
	  "vmmig host show\n"
	  "vmmig host set [ migration { on | off } ] [ max-migrations N ]\n"
	  "vmmig host features\n"
	  "vmmig host policy [ show ]\n"
	  "vmmig host policy set [ strict { off | common | minimum } ]\n"
	  "                      [ common { default | WORD VALUE... } ]\n"
	  "                      [ minimum { default | WORD VALUE... } ]\n"
	  "\n"
	  "show  the kernel, CPU and KVM of this host, how many VMs vmmig.ko\n"
	  "      knows, and the migration settings of this network namespace\n"
	  "set   [admin] enable or disable live migration into and out of this\n"
	  "      host, and how many migrations may run at once (1..64)\n"
	  "features  the CPU features KVM can give a guest here, by name\n"
	  "policy    the CPUID policy: the common-cluster and minimum masks,\n"
	  "          the bits no audit checks, and strict mode; set [admin]\n"
	  "          replaces the given words (1.ecx 1.edx 7.0.ebx 7.0.ecx\n"
	  "          7.0.edx 7.1.eax 0xd.0.eax 0xd.0.edx 0xd.1.eax\n"
	  "          0x80000001.ecx 0x80000001.edx 0x80000008.ebx\n"
	  "          0x80000021.eax) of a mask, or puts it back to its default;\n"
	  "          strict refuses, before its first run, any VM whose CPUID\n"
	  "          exceeds that mask\n" },
	{ "monitor", monitor_main, "Prints events from vmmig.ko as they happen",
	  "vmmig monitor\n"
	  "\n"
	  "Prints one line per event (with -j, one JSON object per line) until\n"
	  "interrupted: host setting changes in this network namespace, KVM\n"
	  "modules loading and unloading, and vmmig.ko itself going away and\n"
	  "coming back (monitor keeps running across a module reload).\n" },
	{ "vm", vm_main, "Creates, runs, saves and restores VMs",
	  "vmmig vm [ --state-dir DIR ] COMMAND\n"
	  "vmmig vm create NAME --memory SIZE [ --vcpus N ] [ --hugepages ]\n"
	  "         { --workload dirty=RATE,wss=SIZE[,pattern=seq|random] |\n"
	  "           --kernel BZIMAGE [ --initrd FILE ] [ --cmdline STR ] }\n"
	  "         [ --disk PATH[,readonly] ]... [ --nic tap=IFNAME[,mac=MAC] ]...\n"
	  "vmmig vm list\n"
	  "vmmig vm show NAME [ --verify ]\n"
	  "vmmig vm start NAME [ --paused ]\n"
	  "vmmig vm stop NAME [ --force ]\n"
	  "vmmig vm { pause | resume | delete } NAME\n"
	  "vmmig vm console NAME [ --force | --log [ --follow ] ]\n"
	  "vmmig vm save NAME FILE [ --live ] [ --hash ]\n"
	  "vmmig vm restore FILE [ --name NAME ] [ --paused ]\n"
	  "vmmig vm audit NAME [ --mode { common | minimum } ]\n"
	  "\n"
	  "create   records a VM definition (JSON) under the state directory\n"
	  "         (--state-dir, $VMMIG_STATE_DIR, default /var/lib/vmmig), with\n"
	  "         a new UUID, the VM's identity for good;\n"
	  "         RATE is in 4 KiB pages per second, SIZE takes K, M, G\n"
	  "list     every VM: state (off, running, paused, saved, crashed),\n"
	  "         memory, vCPUs, uptime; with -j one JSON array\n"
	  "show     one VM: its UUID, whether vmmig.ko has it registered (while\n"
	  "         it runs), a workload guest's progress counter and checksum;\n"
	  "         when paused, the memory hash and vCPU 0 registers; --verify\n"
	  "         has the guest recheck its checksum against its memory\n"
	  "start    runs the VM in its own vmmig-vmm process (a saved VM\n"
	  "         continues from its saved state)\n"
	  "stop     asks the guest to power off (a Linux guest: the ACPI power\n"
	  "         button) and waits 60 s; --force ends the VMM now\n"
	  "console  attaches to the running VM's serial console: what you type\n"
	  "         goes to the guest, Ctrl-] detaches; input from a pipe is sent\n"
	  "         whole, then it detaches; --force takes the console from\n"
	  "         another client; --log prints what the guest wrote (all of\n"
	  "         it is kept in console.log), --follow goes on printing\n"
	  "save     writes the complete VM state to FILE; the VM is then saved;\n"
	  "         --live copies memory while the guest runs (pre-copy with\n"
	  "         vmmig.ko's dirty harvest) and pauses it only for the rest;\n"
	  "         --hash prints a hash of guest memory as saved\n"
	  "restore  runs a VM from FILE, as NAME (default: the saved name), with\n"
	  "         its UUID: refused while another VM here has that UUID\n"
	  "audit    [admin] compares the CPUID of the running VM's vCPUs with the\n"
	  "         host's common (default) or minimum mask; names what exceeds\n"
	  "dirty-log NAME\n"
	  "         the last dirty-page harvest of a VM whose pages vmmig.ko\n"
	  "         tracks (as 'vmmig kvm dirty-log')\n"
	  "dirty-rate NAME [ --seconds S ] [ --sample N ]\n"
	  "         [admin] estimate how fast the running VM dirties its memory,\n"
	  "         by sampling, without dirty logging (as 'vmmig kvm dirty-rate')\n" },
	{ "kvm", kvm_main, "Lists the KVM VMs registered with vmmig.ko, of any VMM",
	  "vmmig kvm [ list ]\n"
	  "vmmig kvm show NAME\n"
	  "vmmig kvm register PID NAME [ uuid UUID ]\n"
	  "vmmig kvm unregister NAME\n"
	  "vmmig kvm dirty-log NAME\n"
	  "vmmig kvm dirty-rate { NAME | --pid PID } [ --seconds S ] [ --sample N ]\n"
	  "vmmig kvm audit { NAME | --pid PID [ --mode { common | minimum } ] }\n"
	  "vmmig kvm cpu-mode NAME { off | common | minimum }\n"
	  "\n"
	  "list        every KVM VM registered in this network namespace\n"
	  "show        one, with its memslots\n"
	  "register    [admin] register the KVM VM of process PID (a VMM such as\n"
	  "            QEMU) under NAME; its VM descriptor is taken with\n"
	  "            pidfd_getfd, which needs the right to ptrace PID\n"
	  "unregister  [admin] forget it (VMs also leave when their VMM closes them)\n"
	  "dirty-log   the last dirty-page harvest of a VM: pages, bytes, time,\n"
	  "            rate in total and per memslot\n"
	  "dirty-rate  [admin] estimate how fast a VM (registered, or the KVM VM\n"
	  "            of process PID, e.g. a QEMU) dirties its memory, without\n"
	  "            dirty logging: hashes N random pages (default 4096) twice,\n"
	  "            S seconds apart (default 1)\n"
	  "audit       compare every vCPU's CPUID with the mask of the VM's\n"
	  "            cpu-mode and name each feature outside it; --pid: the VM\n"
	  "            of any process (any VMM), against --mode (default common)\n"
	  "cpu-mode    [admin] which mask the VM must fit: off, common (the\n"
	  "            cluster's features) or minimum; audited again at once\n" },
	{ "version", version_main, "Prints the versions of vmmig and of vmmig.ko",
	  "vmmig version\n" },
	{ "help", help_main, "Shows this help, or the help of an object",
	  "vmmig help [ OBJECT ]\n" },
};

#define N_OBJECTS (sizeof(objects) / sizeof(objects[0]))

void error_msg(const char *what, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "vmmig: %s: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

bool is_help(const char *arg)
{
	return !strcmp(arg, "help") || !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

int cli_nl_error(const struct vmmig_nl *nl, const char *what, int err)
{
	error_msg(what, "%s", vmmig_nl_strerror(nl, err));
	return EXIT_FAIL;
}

int cli_connect(struct vmmig_nl *nl, const char *what)
{
	int err = vmmig_nl_open(nl);

	if (err == -ENOENT) {
		error_msg(what, "vmmig.ko is not loaded (modprobe vmmig)");
		return EXIT_FAIL;
	}
	if (err) {
		error_msg(what, "cannot open a generic netlink socket: %s",
			  strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: vmmig [ OPTIONS ] OBJECT { COMMAND | help }\n"
		   "OPTIONS: -j, --json    JSON output\n"
		   "         -p, --pretty  indented JSON (implies -j)\n"
		   "         -V, --version same as 'vmmig version'\n"
		   "OBJECTS:\n");
	for (i = 0; i < N_OBJECTS; i++)
		fprintf(f, "  %-8s %s\n", objects[i].object, objects[i].description);
	fprintf(f, "'vmmig help OBJECT' shows the commands of an object.\n");
}

static int object_usage(const char *object, FILE *f)
{
	size_t i;

	for (i = 0; i < N_OBJECTS; i++) {
		if (!strcmp(objects[i].object, object)) {
			fprintf(f, "Usage: %s", objects[i].usage);
			return EXIT_OK;
		}
	}
	error_msg("help", "unknown object '%s' (try 'vmmig help')", object);
	return EXIT_USAGE;
}

int object_help(const char *object, bool misuse)
{
	object_usage(object, misuse ? stderr : stdout);
	return misuse ? EXIT_USAGE : EXIT_OK;
}

static int help_main(int argc, char **argv)
{
	if (argc > 2) {
		error_msg("help", "too many arguments");
		return EXIT_USAGE;
	}
	if (argc == 2)
		return object_usage(argv[1], stdout);
	usage(stdout);
	return EXIT_OK;
}

static int version_main(int argc, char **argv)
{
	struct vmmig_host host;
	struct vmmig_nl nl;
	bool loaded = false;

	if (argc > 1) {
		if (is_help(argv[1]))
			return object_help("version", false);
		error_msg("version", "unexpected argument '%s'", argv[1]);
		return EXIT_USAGE;
	}
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool json = false, pretty = false;
	size_t i;
	int c;

	/* '+': options end at the object, as in ip(8). */
	while ((c = getopt_long(argc, argv, "+jpVh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'p':
			json = pretty = true;
			break;
		case 'V':
			output_init(json, pretty);
			return version_main(1, argv);
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	output_init(json, pretty);
	argc -= optind;
	argv += optind;
	if (!argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < N_OBJECTS; i++)
		if (!strcmp(argv[0], objects[i].object))
			return objects[i].main(argc, argv);
	fprintf(stderr, "vmmig: unknown object '%s' (try 'vmmig help')\n", argv[0]);
	return EXIT_USAGE;
}
