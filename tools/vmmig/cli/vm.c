// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig vm { create | list | show | start | stop | pause | resume | delete |
 *            console | save | restore }
 *
 * The arguments are parsed and the results printed here; the VMs are
 * managed by the lifecycle library (lib/vmctl.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "output.h"
#include "vmdef.h"
#include "vmmig.h"
#include "vm.h"

struct vmctl vmctl;
char what[64];		/* "vm create", ... for error messages */

int check_name(const char *name)
{
	char why[VMMIG_ERRLEN];

	if (!vmdef_check_name(name, why))
		return EXIT_OK;
	error_msg(what, "%s", why);
	return EXIT_USAGE;
}

int vmctl_failed(void)
{
	error_msg(what, "%s", vmctl.err);
	return EXIT_FAIL;
}

/* ---- create ---- */

static int fail_errno(char *why, const char *what_file, const char *path)
{
	int err = -errno;

	snprintf(why, VMMIG_ERRLEN, "%s %s: %s", what_file, path, strerror(errno));
	return err;
}

/*
 * Returns -EINVAL for a malformed command line (exit 2) and another -errno
 * when something named does not exist (exit 1).
 */
static int create_parse(int argc, char **argv, struct vmdef *d, char *why)
{
	static const struct option lo[] = {
		{ "memory", required_argument, NULL, 'm' },
		{ "vcpus", required_argument, NULL, 'c' },
		{ "kernel", required_argument, NULL, 'k' },
		{ "initrd", required_argument, NULL, 'i' },
		{ "cmdline", required_argument, NULL, 'l' },
		{ "workload", required_argument, NULL, 'w' },
		{ "disk", required_argument, NULL, 'd' },
		{ "nic", required_argument, NULL, 'n' },
		{ "hugepages", no_argument, NULL, 'H' },
		{}
	};
	char *end;
	int c, err = 0;

	d->vcpus = 1;
	opterr = 0;
	optind = 0;	/* GNU: start afresh after main()'s own getopt */
	while (!err && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (vmdef_parse_size(optarg, &d->memory))
				err = snprintf(why, VMMIG_ERRLEN, "--memory %s is not a size", optarg);
			break;
		case 'c':
			d->vcpus = strtoul(optarg, &end, 10);
			if (*end || !*optarg)
				err = snprintf(why, VMMIG_ERRLEN, "--vcpus %s is not a number", optarg);
			break;
		case 'k':
			d->kernel = realpath(optarg, NULL);
			if (!d->kernel)
				err = fail_errno(why, "kernel", optarg);
			break;
		case 'i':
			d->initrd = realpath(optarg, NULL);
			if (!d->initrd)
				err = fail_errno(why, "initrd", optarg);
			break;
		case 'l':
			free(d->cmdline);
			d->cmdline = strdup(optarg);
			break;
		case 'w':
			err = vmdef_parse_workload(d, optarg, why);
			break;
		case 'd':
			err = vmdef_parse_disk(d, optarg, why);
			break;
		case 'n':
			err = vmdef_parse_nic(d, optarg, why);
			break;
		case 'H':
			d->hugepages = true;
			break;
		default:
			err = snprintf(why, VMMIG_ERRLEN, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (err)
		return err < 0 ? err : -EINVAL;
	if (optind != argc)
		return snprintf(why, VMMIG_ERRLEN, "unexpected argument '%s'", argv[optind]), -EINVAL;
	if (!d->memory)
		return snprintf(why, VMMIG_ERRLEN, "--memory is required"), -EINVAL;
	if (!d->kernel == !d->workload)
		return snprintf(why, VMMIG_ERRLEN, "give either --kernel or --workload"), -EINVAL;
	if (d->workload && (d->initrd || d->cmdline))
		return snprintf(why, VMMIG_ERRLEN, "--initrd and --cmdline go with --kernel"), -EINVAL;
	return 0;
}

static int vm_create(int argc, char **argv)
{
	struct vmdef d = {};
	char why[VMMIG_ERRLEN] = "";
	int err;

	if (argc < 2 || argv[1][0] == '-') {
		error_msg(what, "a NAME is required");
		return object_help("vm", true);
	}
	if (vmdef_check_name(argv[1], why)) {
		error_msg(what, "%s", why);
		return EXIT_USAGE;
	}
	snprintf(d.name, sizeof(d.name), "%s", argv[1]);
	err = create_parse(argc - 1, argv + 1, &d, why);
	if (err) {
		error_msg(what, "%s", why);
		vmdef_free(&d);
		return err == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	err = vmdef_validate(&d, why);
	if (!err)
		err = vmdef_cpuid_from_kvm(&d, why);
	if (err)
		error_msg(what, "%s", why);
	else if ((err = vmctl_create(&vmctl, &d)))
		vmctl_failed();
	vmdef_free(&d);
	return err ? EXIT_FAIL : EXIT_OK;
}

/* ---- start, stop, pause, resume, delete ---- */

static int vm_start(int argc, char **argv)
{
	bool paused = argc == 3 && !strcmp(argv[2], "--paused");

	if (argc < 2 || argc > 3 || (argc == 3 && !paused))
		return object_help("vm", true);
	if (check_name(argv[1]))
		return EXIT_USAGE;
	return vmctl_start(&vmctl, argv[1], paused) ? vmctl_failed() : EXIT_OK;
}

static int vm_stop(int argc, char **argv)
{
	bool force = argc == 3 && !strcmp(argv[2], "--force");

	if (argc < 2 || argc > 3 || (argc == 3 && !force))
		return object_help("vm", true);
	if (check_name(argv[1]))
		return EXIT_USAGE;
	return vmctl_stop(&vmctl, argv[1], force) ? vmctl_failed() : EXIT_OK;
}

/* "NAME": one lifecycle call and nothing to print. */
static int name_only(int argc, char **argv, int (*fn)(struct vmctl *c, const char *name))
{
	if (argc != 2)
		return object_help("vm", true);
	if (check_name(argv[1]))
		return EXIT_USAGE;
	return fn(&vmctl, argv[1]) ? vmctl_failed() : EXIT_OK;
}

static int vm_pause(int argc, char **argv)
{
	return name_only(argc, argv, vmctl_pause);
}

static int vm_resume(int argc, char **argv)
{
	return name_only(argc, argv, vmctl_resume);
}

static int vm_delete(int argc, char **argv)
{
	return name_only(argc, argv, vmctl_delete);
}

/* ---- dirty pages: through vmmig.ko, see kvm.c ---- */

/*
 * "NAME ARGS...": runs the kvm object's @verb as "@verb --pid PID ARGS...",
 * PID being the VM's running VMM.
 */
static int with_vmm_pid(int argc, char **argv, char *verb, int (*fn)(int, char **))
{
	char pidstr[16];
	char *args[argc + 2];
	pid_t pid = 0;
	int i;

	if (argc < 2 || argv[1][0] == '-') {
		error_msg(what, "expected a VM name");
		return object_help("vm", true);
	}
	if (check_name(argv[1]))
		return EXIT_USAGE;
	if (vmctl_vmm_pid(&vmctl, argv[1], &pid))
		return vmctl_failed();
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	args[0] = verb;
	args[1] = "--pid";
	args[2] = pidstr;
	for (i = 2; i < argc; i++)
		args[i + 1] = argv[i];
	args[argc + 1] = NULL;
	return fn(argc + 1, args);
}

/* "NAME [--seconds S] [--sample N]": samples the VM's running VMM. */
static int vm_dirty_rate(int argc, char **argv)
{
	return with_vmm_pid(argc, argv, "dirty-rate", dirty_rate_main);
}

/* "NAME [--mode MODE]": audits the CPUID of the VM's vCPUs. */
static int vm_audit(int argc, char **argv)
{
	return with_vmm_pid(argc, argv, "audit", kvm_audit_main);
}

/* ---- dispatch ---- */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "create", vm_create }, { "list", vm_list }, { "show", vm_show },
	{ "start", vm_start }, { "stop", vm_stop }, { "pause", vm_pause },
	{ "resume", vm_resume }, { "delete", vm_delete },
	{ "console", vm_console }, { "save", vm_save }, { "restore", vm_restore },
	{ "dirty-log", dirty_log_main }, { "dirty-rate", vm_dirty_rate },
	{ "audit", vm_audit },
};

/* Takes "--state-dir DIR" out of the arguments, wherever it is. */
static int take_state_dir(int *argc, char **argv, const char **state_dir)
{
	int i;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--state-dir"))
			continue;
		if (i + 1 >= *argc) {
			error_msg("vm", "--state-dir needs a DIR");
			return -EINVAL;
		}
		*state_dir = argv[i + 1];
		memmove(&argv[i], &argv[i + 2], (*argc - i - 1) * sizeof(*argv));
		*argc -= 2;
		i--;
	}
	return 0;
}

int vm_main(int argc, char **argv)
{
	const char *state_dir = NULL;
	size_t i;

	if (take_state_dir(&argc, argv, &state_dir))
		return EXIT_USAGE;
	vmctl_init(&vmctl, state_dir);
	if (argc < 2)
		return vm_list(1, argv);
	if (is_help(argv[1]))
		return object_help("vm", false);
	snprintf(what, sizeof(what), "vm %s", argv[1]);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	error_msg("vm", "unknown command '%s'", argv[1]);
	return object_help("vm", true);
}
