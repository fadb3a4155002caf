// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig kvm { list | show | register | unregister | dirty-log | dirty-rate |
 *             audit | cpu-mode }: the KVM VMs registered with vmmig.ko, of
 * any VMM. A VM is named by its registered NAME or, where it need not be
 * registered, by --pid PID of the process that holds it.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/pidfd.h>
#include <sys/random.h>

#include "cpuid.h"
#include "output.h"
#include "parse.h"
#include "registry.h"
#include "vmdef.h"
#include "vmmig.h"

static const char *const cpu_modes[] = { "off", "common", "minimum" };
static const char *const compliance[] = { "unknown", "ok", "exceeds" };

static const char *enum_name(const char *const *names, size_t n, uint32_t v)
{
	return v < n ? names[v] : "unknown";
}

static void format_uuid(const uint8_t *u, char *out)
{
	sprintf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		"%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4], u[5],
		u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

static int parse_uuid(const char *s, uint8_t *u)
{
	int i, n = 0;

	for (i = 0; i < VMMIG_UUID_LEN; i++) {
		if (s[n] == '-')
			n++;
		if (sscanf(s + n, "%2hhx", &u[i]) != 1 || !s[n + 1])
			return -EINVAL;
		n += 2;
	}
	return s[n] ? -EINVAL : 0;
}

static uint64_t vm_pages(const struct vmmig_vm_info *vm)
{
	uint64_t pages = 0;
	int i;

	for (i = 0; i < vm->nslots; i++)
		pages += vm->slots[i].npages;
	return pages;
}

static int print_vm(const struct vmmig_vm_info *vm, void *detail)
{
	char uuid[40];
	int i;

	format_uuid(vm->uuid, uuid);
	print_string(PRINT_ANY, "name", "%s", vm->name);
	print_string(PRINT_ANY, "uuid", " uuid %s", uuid);
	print_uint(PRINT_ANY, "pid", " pid %" PRIu64, vm->pid);
	print_uint(PRINT_ANY, "vcpus", " vcpus %" PRIu64, vm->vcpus);
	print_uint(PRINT_ANY, "memory", " memory %" PRIu64 "MiB",
		   vm_pages(vm) * 4096 >> 20);
	print_bool(PRINT_ANY, "dirty_log", " dirty-log %s", vm->dirty);
	print_string(PRINT_ANY, "cpu_mode", " cpu-mode %s",
		     enum_name(cpu_modes, 3, vm->cpu_mode));
	print_string(PRINT_ANY, "compliance", " compliance %s",
		     enum_name(compliance, 3, vm->compliance));
	print_nl();
	if (detail) {
		open_array("memslots");
		for (i = 0; i < vm->nslots; i++) {
			open_object(NULL);
			print_uint(PRINT_ANY, "id", "  memslot %" PRIu64, vm->slots[i].id);
			print_uint(PRINT_ANY, "base_gfn", " gfn %#" PRIx64, vm->slots[i].base_gfn);
			print_uint(PRINT_ANY, "pages", " pages %" PRIu64, vm->slots[i].npages);
			print_uint(PRINT_ANY, "uaddr", " uaddr %#" PRIx64, vm->slots[i].uaddr);
			print_uint(PRINT_ANY, "flags", " flags %#" PRIx64, vm->slots[i].flags);
			print_nl();
			close_object();
		}
		close_array();
	}
	output_flush();
	return 0;
}

static int kvm_list(int argc, char **argv)
{
	struct vmmig_nl nl;
	int err;

	if (argc > 1)
		return usage_error("unexpected argument '%s'", argv[1]);
	if (cli_connect(&nl, what))
		return EXIT_FAIL;
	output_list_begin();
	err = vmmig_vm_dump(&nl, print_vm, NULL);
	output_list_end();
	return cli_close(&nl, err);
}

static const struct cmd kvm_list_cmd = {
	.name = "list",
	.fn = kvm_list,
	.args = "",
	.help = "every KVM VM registered in this network namespace: name, UUID,\n"
		"owner pid, vCPUs, memory, dirty logging, cpu-mode and compliance\n"
		"(also plain 'vmmig kvm')\n",
};

static int kvm_show(int argc, char **argv)
{
	struct vmmig_vm_info *vm;
	struct vmmig_nl nl;
	const char *name;
	int err;

	if (cmd_no_options(argc, argv, "NAME"))
		return EXIT_USAGE;
	name = argv[optind];
	vm = malloc(sizeof(*vm));
	if (!vm)
		return EXIT_FAIL;
	err = cli_connect(&nl, what);
	if (!err) {
		err = cli_close(&nl, vmmig_vm_get(&nl, VMMIG_BY_NAME(name), vm));
		if (!err)
			print_vm(vm, vm);
	}
	free(vm);
	return err;
}

static const struct cmd kvm_show_cmd = {
	.name = "show",
	.fn = kvm_show,
	.args = "NAME",
	.help = "one registered VM, with its memslots\n",
};

/* The first KVM VM descriptor of @pid, copied into this process. */
static int grab_vm_fd(pid_t pid)
{
	char dir[64], path[320], target[64];
	struct dirent *d;
	int pidfd, fd = -ENOENT;
	DIR *fds;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", pid);
	fds = opendir(dir);
	if (!fds)
		return -errno;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0) {
		fd = -errno;
		goto out;
	}
	while ((d = readdir(fds))) {
		ssize_t n;

		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:kvm-vm"))
			continue;
		fd = pidfd_getfd(pidfd, atoi(d->d_name), 0);
		if (fd < 0)
			fd = -errno;
		break;
	}
	close(pidfd);
out:
	closedir(fds);
	return fd;
}

static int parse_pid(const char *s, pid_t *pid)
{
	char why[VMMIG_ERRLEN];
	uint32_t v;

	if (parse_u32("--pid", s, 1, INT32_MAX, &v, why)) {
		error_msg(what, "%s", why);
		return EXIT_USAGE;
	}
	*pid = v;
	return 0;
}

/* The VM descriptor of process @pid, or -1 (reported). */
static int take_vm_fd(pid_t pid)
{
	int fd = grab_vm_fd(pid);

	if (fd == -ENOENT)
		error_msg(what, "process %d has no KVM VM", pid);
	else if (fd < 0)
		error_msg(what, "cannot take the VM of process %d: %s", pid, strerror(-fd));
	return fd < 0 ? -1 : fd;
}

static int kvm_register(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "uuid", required_argument, NULL, 'u' },
		{}
	};
	uint8_t uuid[VMMIG_UUID_LEN];
	bool has_uuid = false;
	struct vmmig_nl nl;
	pid_t pid = 0;
	int c, fd, err;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'p' && parse_pid(optarg, &pid))
			return EXIT_USAGE;
		if (c == 'u') {
			if (parse_uuid(optarg, uuid)) {
				error_msg(what, "--uuid: '%s' is not a UUID", optarg);
				return EXIT_USAGE;
			}
			has_uuid = true;
		}
	}
	if (optind >= argc)
		return usage_error("missing NAME");
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (!pid)
		return usage_error("missing --pid PID");
	if (!has_uuid && getrandom(uuid, sizeof(uuid), 0) != sizeof(uuid)) {
		error_msg(what, "getrandom: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if (cli_connect(&nl, what))
		return EXIT_FAIL;
	fd = take_vm_fd(pid);
	err = fd < 0 ? EXIT_FAIL : vmmig_vm_register(&nl, fd, argv[optind], uuid);
	if (fd >= 0)
		close(fd);
	return cli_close(&nl, err);
}

static const struct cmd kvm_register_cmd = {
	.name = "register",
	.fn = kvm_register,
	.args = "NAME --pid PID [ --uuid UUID ]",
	.help = "[admin] register the KVM VM of process PID (a VMM such as QEMU)\n"
		"under NAME, with a random UUID unless one is given; its VM\n"
		"descriptor is taken with pidfd_getfd, which needs the right to\n"
		"ptrace PID\n",
};

static int kvm_unregister(int argc, char **argv)
{
	struct vmmig_nl nl;

	if (cmd_no_options(argc, argv, "NAME"))
		return EXIT_USAGE;
	if (cli_connect(&nl, what))
		return EXIT_FAIL;
	return cli_close(&nl, vmmig_vm_unregister(&nl, VMMIG_BY_NAME(argv[optind])));
}

static const struct cmd kvm_unregister_cmd = {
	.name = "unregister",
	.fn = kvm_unregister,
	.args = "NAME",
	.help = "[admin] forget it (VMs also leave when their VMM closes them)\n",
};

/* Also `vmmig vm dirty-log NAME`. */
int kvm_dirty_log(int argc, char **argv)
{
	struct vmmig_dirty_stats *st;
	struct vmmig_nl nl;
	int i, err;

	if (cmd_no_options(argc, argv, "NAME"))
		return EXIT_USAGE;
	st = calloc(1, sizeof(*st));
	if (!st)
		return EXIT_FAIL;
	err = cli_connect(&nl, what);
	if (!err)
		err = cli_close(&nl, vmmig_dirty_get_stats(&nl, VMMIG_BY_NAME(argv[optind]), st));
	if (err) {
		free(st);
		return err;
	}
	print_string(PRINT_ANY, "name", "%s", st->name);
	print_uint(PRINT_ANY, "round", " round %" PRIu64, st->round);
	print_uint(PRINT_ANY, "pages", " pages %" PRIu64, st->pages);
	print_uint(PRINT_ANY, "bytes", " bytes %" PRIu64, st->bytes);
	print_uint(PRINT_ANY, "ranges", " ranges %" PRIu64, st->nr_ranges);
	print_uint(PRINT_ANY, "harvest_ns", " harvest %" PRIu64 "ns", st->time_ns);
	print_uint(PRINT_ANY, "interval_ns", " interval %" PRIu64 "ns", st->interval_ns);
	print_uint(PRINT_ANY, "rate", " rate %" PRIu64 " pages/s", st->rate);
	print_uint(PRINT_ANY, "total_pages", " total %" PRIu64 " pages", st->total_pages);
	print_nl();
	open_array("memslots");
	for (i = 0; i < st->nslots; i++) {
		open_object(NULL);
		print_uint(PRINT_ANY, "id", "  memslot %" PRIu64, st->slots[i].id);
		print_uint(PRINT_ANY, "npages", " pages %" PRIu64, st->slots[i].npages);
		print_uint(PRINT_ANY, "dirty", " dirty %" PRIu64, st->slots[i].dirty_pages);
		print_uint(PRINT_ANY, "rate", " rate %" PRIu64 " pages/s", st->slots[i].rate);
		print_nl();
		close_object();
	}
	close_array();
	output_flush();
	free(st);
	return EXIT_OK;
}

static const struct cmd kvm_dirty_log_cmd = {
	.name = "dirty-log",
	.fn = kvm_dirty_log,
	.args = "NAME",
	.help = "the last dirty-page harvest of a VM: pages, bytes, time, rate in\n"
		"total and per memslot\n",
};

/*
 * "NAME or --pid PID": with @vmm_pid (`vmmig vm`), NAME is a managed VM,
 * which stands for the pid of its running VMM. Then connects, and takes the
 * VM descriptor of PID into @fd (else -1). 0 or an exit code (reported).
 */
static int open_vm(const char **name, pid_t pid, int (*vmm_pid)(const char *, pid_t *),
		   struct vmmig_nl *nl, int *fd)
{
	int err;

	*fd = -1;
	if (vmm_pid && pid)
		return usage_error("--pid is for 'vmmig kvm %s'", strrchr(what, ' ') + 1);
	if (!*name == !pid)
		return usage_error(pid ? "NAME or --pid PID, not both" :
				   vmm_pid ? "missing NAME" : "missing NAME or --pid PID");
	if (vmm_pid) {
		err = vmm_pid(*name, &pid);
		if (err)
			return err;
		*name = NULL;
	}
	if (cli_connect(nl, what))
		return EXIT_FAIL;
	if (pid) {
		*fd = take_vm_fd(pid);
		if (*fd < 0) {
			vmmig_nl_close(nl);
			return EXIT_FAIL;
		}
	}
	return 0;
}

/* Ends what open_vm() began, after a request that returned @err. */
static int close_vm(struct vmmig_nl *nl, int fd, int err)
{
	if (fd >= 0)
		close(fd);
	return cli_close(nl, err);
}

int kvm_dirty_rate(int argc, char **argv, int (*vmm_pid)(const char *name, pid_t *pid))
{
	static const struct option lo[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "seconds", required_argument, NULL, 's' },
		{ "sample", required_argument, NULL, 'n' },
		{}
	};
	uint32_t seconds = 0, sample = 0;
	char why[VMMIG_ERRLEN];
	const char *name = NULL;
	struct vmmig_dirty_rate r;
	struct vmmig_nl nl;
	int c, fd, err;
	pid_t pid = 0;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'p' && parse_pid(optarg, &pid))
			return EXIT_USAGE;
		/* Their ranges are vmmig.ko's, which names them when it refuses. */
		if ((c == 's' && parse_u32("--seconds", optarg, 1, UINT32_MAX, &seconds, why)) ||
		    (c == 'n' && parse_u32("--sample", optarg, 1, UINT32_MAX, &sample, why))) {
			error_msg(what, "%s", why);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		name = argv[optind];
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	err = open_vm(&name, pid, vmm_pid, &nl, &fd);
	if (err)
		return err;
	err = close_vm(&nl, fd, vmmig_dirty_sample(&nl, fd >= 0 ? VMMIG_BY_FD(fd) : VMMIG_BY_NAME(name),
						    seconds, sample, &r));
	if (err)
		return err;
	print_uint(PRINT_ANY, "rate", "rate %" PRIu64 " pages/s", r.rate);
	print_uint(PRINT_JSON, "bytes_per_second", NULL, r.rate * 4096);
	print_uint(PRINT_FP, NULL, " (%" PRIu64 " KiB/s)", r.rate * 4);
	print_uint(PRINT_ANY, "sampled", " sampled %" PRIu64, r.sample_pages);
	print_uint(PRINT_ANY, "changed", " changed %" PRIu64, r.changed_pages);
	print_uint(PRINT_ANY, "pages", " of %" PRIu64 " pages", r.total_pages);
	print_uint(PRINT_ANY, "interval_ns", " over %" PRIu64 " ns", r.interval_ns);
	print_uint(PRINT_ANY, "zero", ", %" PRIu64 " sampled pages only zeros", r.zero_pages);
	print_nl();
	output_flush();
	return EXIT_OK;
}

static int kvm_dirty_rate_main(int argc, char **argv)
{
	return kvm_dirty_rate(argc, argv, NULL);
}

static const struct cmd kvm_dirty_rate_cmd = {
	.name = "dirty-rate",
	.fn = kvm_dirty_rate_main,
	.args = "{ NAME | --pid PID } [ --seconds S ] [ --sample N ]",
	.help = "[admin] estimate how fast a VM (registered, or the KVM VM of\n"
		"process PID, e.g. a QEMU) dirties its memory, without dirty\n"
		"logging: hashes N random pages (default 4096) twice, S seconds\n"
		"apart (default 1); counts those that hold only zeros\n",
};

static void print_audit(const struct vmmig_audit *a)
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

/*
 * A registered VM is audited against its own mode; the VM of process PID
 * (any VMM, taken with pidfd_getfd) against --mode, common by default.
 * `vmmig vm audit NAME` audits the VM of NAME's VMM the same way.
 */
int kvm_audit(int argc, char **argv, int (*vmm_pid)(const char *name, pid_t *pid))
{
	static const struct option lo[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "mode", required_argument, NULL, 'm' },
		{}
	};
	int mode = -1, fd, c, err;
	const char *name = NULL;
	struct vmmig_audit a;
	struct vmmig_nl nl;
	pid_t pid = 0;

	while ((c = cmd_getopt(argc, argv, lo)) != -1) {
		if (c == '?')
			return EXIT_USAGE;
		if (c == 'p' && parse_pid(optarg, &pid))
			return EXIT_USAGE;
		if (c == 'm' && (mode = vmmig_cpu_mode_parse(optarg)) < 0) {
			error_msg(what, "--mode: expected off, common or minimum, not '%s'", optarg);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		name = argv[optind];
	if (optind + 1 < argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (name && !vmm_pid && mode >= 0)
		return usage_error("--mode goes with --pid: a registered VM is audited against its cpu-mode");
	err = open_vm(&name, pid, vmm_pid, &nl, &fd);
	if (err)
		return err;
	err = close_vm(&nl, fd, vmmig_vm_audit(&nl, name ? VMMIG_BY_NAME(name) : VMMIG_BY_FD(fd),
					       name ? -1 : mode < 0 ? VMMIG_CPU_MODE_COMMON : mode, &a));
	if (err)
		return err;
	print_audit(&a);
	output_flush();
	return EXIT_OK;
}

static int kvm_audit_main(int argc, char **argv)
{
	return kvm_audit(argc, argv, NULL);
}

static const struct cmd kvm_audit_cmd = {
	.name = "audit",
	.fn = kvm_audit_main,
	.args = "{ NAME | --pid PID [ --mode { common | minimum } ] }",
	.help = "compare every vCPU's CPUID with the mask of the VM's cpu-mode and\n"
		"name each feature outside it; --pid: the VM of any process (any\n"
		"VMM), against --mode (default common)\n",
};

static int kvm_cpu_mode(int argc, char **argv)
{
	struct vmmig_policy_change c = {};
	struct vmmig_nl nl;
	int mode;

	if (cmd_no_options(argc, argv, "NAME MODE"))
		return EXIT_USAGE;
	mode = vmmig_cpu_mode_parse(argv[optind + 1]);
	if (mode < 0) {
		error_msg(what, "MODE: expected off, common or minimum, not '%s'", argv[optind + 1]);
		return EXIT_USAGE;
	}
	c.vm_name = argv[optind];
	c.vm_mode = mode;
	if (cli_connect(&nl, what))
		return EXIT_FAIL;
	return cli_close(&nl, vmmig_policy_set(&nl, &c));
}

static const struct cmd kvm_cpu_mode_cmd = {
	.name = "cpu-mode",
	.fn = kvm_cpu_mode,
	.args = "NAME MODE",
	.help = "[admin] which mask the VM must fit, MODE: off, common (the\n"
		"cluster's features) or minimum; audited again at once\n",
};

static const struct cmd *const kvm_cmds[] = {
	&kvm_list_cmd, &kvm_show_cmd, &kvm_register_cmd, &kvm_unregister_cmd,
	&kvm_dirty_log_cmd, &kvm_dirty_rate_cmd, &kvm_audit_cmd, &kvm_cpu_mode_cmd,
};
static const struct cmd_table kvm_table = CMD_TABLE("kvm", kvm_cmds, "list", NULL);

const struct cmd kvm_cmd = {
	.name = "kvm",
	.help = "Lists the KVM VMs registered with vmmig.ko, of any VMM\n",
	.sub = &kvm_table,
};
