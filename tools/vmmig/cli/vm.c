// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig vm { create | list | show | set | start | stop | pause | resume |
 *            delete | console | save | restore | log | audit | dirty-log |
 *            dirty-rate | predict }
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

#include "converge.h"
#include "output.h"
#include "parse.h"
#include "sample.h"
#include "vmdef.h"
#include "vmmig.h"
#include "vm.h"

struct vmctl vmctl;

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
 * Returns -EINVAL for a malformed command line (exit 2), -EBADRQC for one
 * already reported (exit 2), and another -errno when something named does
 * not exist (exit 1).
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
		{ "processor-compat", required_argument, NULL, 'p' },
		{}
	};
	uint64_t vcpus;
	int c, m, err = 0;

	d->vcpus = 1;
	while (!err && (c = cmd_getopt(argc, argv, lo)) != -1) {
		switch (c) {
		case 'm':
			err = parse_size("--memory", optarg, 1, UINT64_MAX, &d->memory, why);
			break;
		case 'c':
			err = parse_uint("--vcpus", optarg, 1, VMDEF_MAX_VCPUS, &vcpus, why);
			d->vcpus = vcpus;
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
		case 'p':
			m = vmdef_parse_compat(optarg, why);
			if (m < 0)
				return m;
			d->processor_compat = m;
			break;
		default:	/* reported */
			return -EBADRQC;
		}
	}
	if (err)
		return err == -ERANGE ? -EINVAL : err;
	if (cmd_args(argc, argv, "NAME"))
		return -EBADRQC;
	if (!d->memory)
		return snprintf(why, VMMIG_ERRLEN, "missing --memory SIZE"), -EINVAL;
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

	err = create_parse(argc, argv, &d, why);
	if (!err && vmdef_check_name(argv[optind], why))
		err = -EINVAL;
	if (err) {
		if (err != -EBADRQC)
			error_msg(what, "%s", why);
		vmdef_free(&d);
		return err == -EINVAL || err == -EBADRQC ? EXIT_USAGE : EXIT_FAIL;
	}
	snprintf(d.name, sizeof(d.name), "%s", argv[optind]);
	err = vmdef_validate(&d, why);
	if (!err)
		err = vmdef_cpuid_from_kvm(&d, NULL, why);
	if (err)
		error_msg(what, "%s", why);
	else if ((err = vmctl_create(&vmctl, &d)))
		vmctl_failed();
	vmdef_free(&d);
	return err ? EXIT_FAIL : EXIT_OK;
}

static const struct cmd vm_create_cmd = {
	.name = "create",
	.fn = vm_create,
	.args = "NAME --memory SIZE [ --vcpus N ] [ --hugepages ]\n"
		"[ --processor-compat { off | common-cluster | minimum } ]\n"
		"{ --workload dirty=RATE,wss=SIZE[,pattern=seq|random][,fill=on] |\n"
		"  --kernel BZIMAGE [ --initrd FILE ] [ --cmdline STR ] }\n"
		"[ --disk PATH[,readonly] ]... [ --nic tap=IFNAME[,mac=MAC] ]...\n",
	.help = "records a VM definition (JSON) under the state directory, with\n"
		"a new UUID, the VM's identity for good;\n"
		"N is 1..64, RATE is in 4 KiB pages per second (0..1000000000),\n"
		"SIZE is in bytes and takes K, M, G, T; fill=on: the guest writes\n"
		"every page of its working set once before it starts its rate;\n"
		"--processor-compat: the CPU features the VM gets at each start,\n"
		"all KVM offers here (off, the default), or only those of the\n"
		"cluster's common set or of the minimum set (needs vmmig.ko)\n",
};

/* ---- start, restore: by vmmigd when it runs ---- */

int vm_spawned(void)
{
	if (vmctl.warn[0])
		error_msg(what, "warning: %s", vmctl.warn);
	return EXIT_OK;
}

int vm_spawn_by_daemon(struct dctl_request *r)
{
	struct json_object *rep = NULL, *v;
	char why[VMMIG_ERRLEN], *dir;
	int fd, err;

	/* vmmigd serves root only; others start their VMMs themselves. */
	if (geteuid())
		return -1;
	dir = realpath(vmctl.state_dir, NULL);
	snprintf(r->state_dir, sizeof(r->state_dir), "%s", dir ? dir : vmctl.state_dir);
	free(dir);
	fd = dctl_open(r, why);
	if (fd < 0)
		return -1;	/* vmmigd does not run (or cannot be reached) */
	err = dctl_next(fd, &rep, why);
	close(fd);
	if (err) {
		json_object_put(rep);
		/* A vmmigd from before supervision: the CLI starts the VMM. */
		if (err < 0 && strstr(why, "unknown request"))
			return -1;
		error_msg(what, "%s", err > 0 ? "vmmigd sent no reply" : why);
		return EXIT_FAIL;
	}
	if (!json_object_object_get_ex(rep, DCTL_KEY_SUPERVISED, &v) ||
	    !json_object_get_boolean(v)) {
		json_object_put(rep);
		return -1;	/* another state directory than vmmigd's */
	}
	if (json_object_object_get_ex(rep, DCTL_KEY_WARNING, &v))
		error_msg(what, "warning: %s", json_object_get_string(v));
	json_object_put(rep);
	return EXIT_OK;
}

/* ---- set ---- */

static int vm_set(int argc, char **argv)
{
	static const struct option none[] = { {} };
	const char *name;
	int err;

	if (cmd_getopt(argc, argv, none) != -1)
		return EXIT_USAGE;
	if (argc - optind < 2)
		return usage_error("missing %s", optind < argc ? "KEY" : "NAME");
	if ((argc - optind) % 2 == 0)
		return usage_error("missing the VALUE of %s", argv[argc - 1]);
	name = argv[optind];
	if (check_name(name))
		return EXIT_USAGE;
	err = vmctl_set(&vmctl, name, argv + optind + 1, argc - optind - 1);
	if (!err)
		return EXIT_OK;
	vmctl_failed();
	return err == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
}

static const struct cmd vm_set_cmd = {
	.name = "set",
	.fn = vm_set,
	.args = "NAME KEY VALUE [ KEY VALUE ]...",
	.help = "changes settings of the VM's definition, all or none:\n"
		"processor-compat { off | common-cluster | minimum }: the CPU\n"
		"features of its next start (see 'vm create'); only while the\n"
		"VM is off, not running, paused or saved;\n"
		"autostart { on | off }: vmmigd starts the VM at its first start\n"
		"after the host booted\n",
};

/* ---- start, stop, pause, resume, delete ---- */

/* "NAME" and the flags of @lo, which set the bools of @flags in turn. */
static int name_and_flags(int argc, char **argv, const struct option *lo, bool **flags)
{
	int c;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		*flags[c] = true;
	}
	if (cmd_args(argc, argv, "NAME"))
		return EXIT_USAGE;
	return check_name(argv[optind]);
}

static int vm_start(int argc, char **argv)
{
	static const struct option lo[] = { { "paused", no_argument, NULL, 0 }, {} };
	bool paused = false, *flags[] = { &paused };

	struct dctl_request r = { .cmd = DCTL_VM_START };
	int rc;

	if (name_and_flags(argc, argv, lo, flags))
		return EXIT_USAGE;
	snprintf(r.vm, sizeof(r.vm), "%s", argv[optind]);
	r.paused = paused;
	rc = vm_spawn_by_daemon(&r);
	if (rc >= 0)
		return rc;
	return vmctl_start(&vmctl, argv[optind], paused) ? vmctl_failed() : vm_spawned();
}

static const struct cmd vm_start_cmd = {
	.name = "start",
	.fn = vm_start,
	.args = "NAME [ --paused ]",
	.help = "runs the VM in its own vmmig-vmm process (a saved VM continues\n"
		"from its saved state); when vmmigd runs, it starts the VMM and\n"
		"supervises it; under systemd the VMM runs in a scope of its own,\n"
		"vmmig-vm-NAME.scope\n",
};

static int vm_stop(int argc, char **argv)
{
	static const struct option lo[] = { { "force", no_argument, NULL, 0 }, {} };
	bool force = false, *flags[] = { &force };

	if (name_and_flags(argc, argv, lo, flags))
		return EXIT_USAGE;
	return vmctl_stop(&vmctl, argv[optind], force) ? vmctl_failed() : EXIT_OK;
}

static const struct cmd vm_stop_cmd = {
	.name = "stop",
	.fn = vm_stop,
	.args = "NAME [ --force ]",
	.help = "asks the guest to power off (a Linux guest: the ACPI power\n"
		"button) and waits 60 s; --force ends the VMM now\n",
};

/* "NAME": one lifecycle call and nothing to print. */
static int name_only(int argc, char **argv, int (*fn)(struct vmctl *c, const char *name))
{
	if (cmd_no_options(argc, argv, "NAME") || check_name(argv[optind]))
		return EXIT_USAGE;
	return fn(&vmctl, argv[optind]) ? vmctl_failed() : EXIT_OK;
}

static int vm_pause(int argc, char **argv)
{
	return name_only(argc, argv, vmctl_pause);
}

static const struct cmd vm_pause_cmd = {
	.name = "pause",
	.fn = vm_pause,
	.args = "NAME",
	.help = "stops the guest's vCPUs; its VMM and memory stay\n",
};

static int vm_resume(int argc, char **argv)
{
	return name_only(argc, argv, vmctl_resume);
}

static const struct cmd vm_resume_cmd = {
	.name = "resume",
	.fn = vm_resume,
	.args = "NAME",
	.help = "lets a paused guest run again\n",
};

static int vm_delete(int argc, char **argv)
{
	return name_only(argc, argv, vmctl_delete);
}

static const struct cmd vm_delete_cmd = {
	.name = "delete",
	.fn = vm_delete,
	.args = "NAME",
	.help = "removes the definition and the folder of a VM that does not run\n",
};

/* ---- dirty pages and CPUID: through vmmig.ko, see kvm.c ---- */

/* The pid of the running VMM of VM @name. */
static int vmm_pid(const char *name, pid_t *pid)
{
	if (check_name(name))
		return EXIT_USAGE;
	return vmctl_vmm_pid(&vmctl, name, pid) ? vmctl_failed() : 0;
}

static int vm_dirty_log(int argc, char **argv)
{
	return kvm_dirty_log(argc, argv);
}

static const struct cmd vm_dirty_log_cmd = {
	.name = "dirty-log",
	.fn = vm_dirty_log,
	.args = "NAME",
	.help = "the last dirty-page harvest of a VM whose pages vmmig.ko tracks\n"
		"(as 'vmmig kvm dirty-log')\n",
};

static int vm_dirty_rate(int argc, char **argv)
{
	return kvm_dirty_rate(argc, argv, vmm_pid);
}

static const struct cmd vm_dirty_rate_cmd = {
	.name = "dirty-rate",
	.fn = vm_dirty_rate,
	.args = "NAME [ --seconds S ] [ --sample N ]",
	.help = "[admin] estimate how fast the running VM dirties its memory, by\n"
		"sampling, without dirty logging (as 'vmmig kvm dirty-rate')\n",
};

static int vm_predict(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "throughput", required_argument, NULL, 'b' },
		{ "downtime-limit", required_argument, NULL, 'd' },
		{}
	};
	uint32_t seconds = 3, limit = MIG_DEFAULT_DOWNTIME_MS;
	struct mig_dirty_sample s;
	struct mig_prediction p;
	char why[VMMIG_ERRLEN];
	const char *name;
	uint64_t bps = 0;
	int c, err;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if ((c == 's' && parse_u32("--seconds", optarg, 1, 60, &seconds, why)) ||
		    (c == 'b' && parse_size("--throughput", optarg, 1, UINT64_MAX, &bps, why)) ||
		    (c == 'd' && parse_u32("--downtime-limit", optarg, 1, 3600000, &limit, why))) {
			error_msg(what, "%s", why);
			return EXIT_USAGE;
		}
	}
	if (cmd_args(argc, argv, "NAME"))
		return EXIT_USAGE;
	name = argv[optind];
	if (check_name(name))
		return EXIT_USAGE;
	if (!bps)
		return usage_error("--throughput RATE is needed (bytes per second)");
	err = mig_sample_dirty(VMMIG_BY_NAME(name), seconds, &s, why);
	if (err) {
		error_msg(what, "%s: %s", name, why);
		return EXIT_FAIL;
	}
	s.data_pages = mig_copy_pages(&s, vmctl_data_pages(&vmctl, name));
	mig_predict(s.data_pages, s.rate, s.wss_pages, bps, limit, &p);
	print_string(PRINT_ANY, "verdict", "%s", mig_verdict_names[p.verdict]);
	print_uint(PRINT_ANY, "rounds", " rounds %" PRIu64, p.rounds);
	print_uint(PRINT_ANY, "throttle_pct", " throttle %" PRIu64 " %%", p.throttle_pct);
	print_uint(PRINT_ANY, "total_ms", " total %" PRIu64 " ms", p.total_ms);
	print_uint(PRINT_ANY, "downtime_ms", " downtime %" PRIu64 " ms", p.downtime_ms);
	print_uint(PRINT_ANY, "dirty_rate", " (dirty rate %" PRIu64 " pages/s", s.rate);
	print_uint(PRINT_ANY, "wss_pages", " working set %" PRIu64,
		   s.wss_pages ? s.wss_pages : s.total_pages);
	print_uint(PRINT_ANY, "total_pages", " of %" PRIu64 " pages", s.total_pages);
	print_uint(PRINT_ANY, "data_pages", ", %" PRIu64 " with data)", s.data_pages);
	print_nl();
	output_flush();
	return EXIT_OK;
}

static const struct cmd vm_predict_cmd = {
	.name = "predict",
	.fn = vm_predict,
	.args = "NAME --throughput RATE [ --downtime-limit MS ] [ --seconds S ]",
	.help = "[admin] how a live save or move of the running VM over a path of\n"
		"RATE bytes/s (K, M, G) would go: samples its dirty rate (1 s)\n"
		"and working set (S s, default 3) through vmmig.ko without dirty\n"
		"logging and runs the engine's model: converges, converges-\n"
		"throttled or never, rounds, throttle, total time, downtime;\n"
		"the pages with data, estimated from the zero pages sampled\n",
};

static int vm_audit(int argc, char **argv)
{
	return kvm_audit(argc, argv, vmm_pid);
}

static const struct cmd vm_audit_cmd = {
	.name = "audit",
	.fn = vm_audit,
	.args = "NAME [ --mode { common | minimum } ]",
	.help = "[admin] compares the CPUID of the running VM's vCPUs with the\n"
		"host's common (default) or minimum mask; names what exceeds it\n",
};

static const struct cmd *const vm_cmds[] = {
	&vm_create_cmd, &vm_list_cmd, &vm_show_cmd, &vm_set_cmd, &vm_start_cmd, &vm_stop_cmd,
	&vm_pause_cmd, &vm_resume_cmd, &vm_delete_cmd, &vm_console_cmd, &vm_save_cmd,
	&vm_restore_cmd, &vm_log_cmd, &vm_audit_cmd, &vm_dirty_log_cmd, &vm_dirty_rate_cmd, &vm_predict_cmd,
};
static const struct cmd_table vm_table = {
	.name = "vm", .cmds = vm_cmds, .n = sizeof(vm_cmds) / sizeof(vm_cmds[0]), .dflt = "list",
	.footer = "Every command takes --state-dir DIR, the folder of VM folders\n"
		  "(default: $VMMIG_STATE_DIR, else /var/lib/vmmig).\n",
	.opts = "[ --state-dir DIR ]",
};

/* Takes "--state-dir DIR" out of the arguments, wherever it is. */
static int take_state_dir(int *argc, char **argv, const char **state_dir)
{
	int i;

	for (i = 1; i < *argc && strcmp(argv[i], "--"); i++) {
		if (!strncmp(argv[i], "--state-dir=", 12)) {
			*state_dir = argv[i] + 12;
			memmove(&argv[i], &argv[i + 1], (*argc - i) * sizeof(*argv));
			*argc -= 1;
			i--;
			continue;
		}
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

static int vm_main(int argc, char **argv)
{
	const char *state_dir = NULL;

	if (take_state_dir(&argc, argv, &state_dir))
		return EXIT_USAGE;
	vmctl_init(&vmctl, state_dir);
	return cmd_run(&vm_table, argc, argv);
}

const struct cmd vm_cmd = {
	.name = "vm",
	.fn = vm_main,
	.help = "Creates, runs, saves and restores VMs\n",
	.sub = &vm_table,
};
