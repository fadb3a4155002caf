// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig kvm { list | show | register | unregister | dirty-log }: the KVM
 * VMs registered with vmmig.ko, of any VMM.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/pidfd.h>
#include <sys/random.h>

#include "output.h"
#include "registry.h"
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

static int kvm_list(struct vmmig_nl *nl, int argc, char **argv)
{
	int err;

	if (argc > 1) {
		error_msg("kvm list", "unexpected argument '%s'", argv[1]);
		return object_help("kvm", true);
	}
	output_list_begin();
	err = vmmig_vm_dump(nl, print_vm, NULL);
	output_list_end();
	return err ? cli_nl_error(nl, "kvm list", err) : EXIT_OK;
}

static int kvm_show(struct vmmig_nl *nl, int argc, char **argv)
{
	struct vmmig_vm_info *vm;
	int err;

	if (argc != 2) {
		error_msg("kvm show", "expected one VM name");
		return object_help("kvm", true);
	}
	vm = malloc(sizeof(*vm));
	if (!vm)
		return EXIT_FAIL;
	err = vmmig_vm_get(nl, VMMIG_BY_NAME(argv[1]), vm);
	if (!err)
		print_vm(vm, vm);
	free(vm);
	return err ? cli_nl_error(nl, "kvm show", err) : EXIT_OK;
}

/* The first KVM VM descriptor of @pid, copied into this process. */
int grab_vm_fd(pid_t pid)
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

static int kvm_register(struct vmmig_nl *nl, int argc, char **argv)
{
	uint8_t uuid[VMMIG_UUID_LEN];
	char *end;
	long pid;
	int fd, err;

	if (argc != 3 && !(argc == 5 && !strcmp(argv[3], "uuid"))) {
		error_msg("kvm register", "expected PID NAME [ uuid UUID ]");
		return object_help("kvm", true);
	}
	pid = strtol(argv[1], &end, 10);
	if (*end || pid <= 0) {
		error_msg("kvm register", "'%s' is not a process id", argv[1]);
		return EXIT_USAGE;
	}
	if (argc == 5 && parse_uuid(argv[4], uuid)) {
		error_msg("kvm register", "'%s' is not a UUID", argv[4]);
		return EXIT_USAGE;
	}
	if (argc == 3 && getrandom(uuid, sizeof(uuid), 0) != sizeof(uuid))
		return EXIT_FAIL;
	fd = grab_vm_fd(pid);
	if (fd == -ENOENT) {
		error_msg("kvm register", "process %ld has no KVM VM", pid);
		return EXIT_FAIL;
	}
	if (fd < 0) {
		error_msg("kvm register", "cannot take the VM of process %ld: %s",
			  pid, strerror(-fd));
		return EXIT_FAIL;
	}
	err = vmmig_vm_register(nl, fd, argv[2], uuid);
	close(fd);
	return err ? cli_nl_error(nl, "kvm register", err) : EXIT_OK;
}

static int kvm_unregister(struct vmmig_nl *nl, int argc, char **argv)
{
	int err;

	if (argc != 2) {
		error_msg("kvm unregister", "expected one VM name");
		return object_help("kvm", true);
	}
	err = vmmig_vm_unregister(nl, VMMIG_BY_NAME(argv[1]));
	return err ? cli_nl_error(nl, "kvm unregister", err) : EXIT_OK;
}

/**
 * dirty_log_main() - "NAME": the dirty-page statistics of a registered VM.
 * Also serves `vmmig vm dirty-log`.
 */
int dirty_log_main(int argc, char **argv)
{
	struct vmmig_dirty_stats *st;
	struct vmmig_nl nl;
	int i, err;

	if (argc != 2) {
		error_msg("dirty-log", "expected one VM name");
		return EXIT_USAGE;
	}
	if (cli_connect(&nl, "dirty-log"))
		return EXIT_FAIL;
	st = calloc(1, sizeof(*st));
	err = st ? vmmig_dirty_get_stats(&nl, VMMIG_BY_NAME(argv[1]), st) : -ENOMEM;
	if (err) {
		err = cli_nl_error(&nl, "dirty-log", err);
		goto out;
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
	err = EXIT_OK;
out:
	free(st);
	vmmig_nl_close(&nl);
	return err;
}

/**
 * dirty_rate_main() - "(NAME | --pid PID) [--seconds S] [--sample N]":
 * estimates a VM's dirty rate by sampling. Also serves `vmmig vm dirty-rate`.
 */
int dirty_rate_main(int argc, char **argv)
{
	const char *name = NULL, *what = "dirty-rate";
	unsigned long seconds = 0, sample = 0;
	struct vmmig_dirty_rate r;
	struct vmmig_nl nl;
	int i, fd = -1, err;
	long pid = 0;
	char *end;

	for (i = 1; i < argc; i++) {
		unsigned long *num = NULL;

		if (!strcmp(argv[i], "--pid") && i + 1 < argc) {
			pid = strtol(argv[++i], &end, 10);
			if (*end || pid <= 0) {
				error_msg(what, "'%s' is not a process id", argv[i]);
				return EXIT_USAGE;
			}
			continue;
		}
		if (!strcmp(argv[i], "--seconds"))
			num = &seconds;
		else if (!strcmp(argv[i], "--sample"))
			num = &sample;
		if (num && i + 1 < argc) {
			*num = strtoul(argv[++i], &end, 10);
			if (*end || !*num || *num > UINT32_MAX) {
				error_msg(what, "%s: '%s' is not a positive number",
					  argv[i - 1], argv[i]);
				return EXIT_USAGE;
			}
			continue;
		}
		if (argv[i][0] == '-' || name) {
			error_msg(what, "unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
		name = argv[i];
	}
	if (!name == !pid) {
		error_msg(what, "expected a VM name or --pid PID");
		return EXIT_USAGE;
	}
	if (cli_connect(&nl, what))
		return EXIT_FAIL;
	if (pid) {
		fd = grab_vm_fd(pid);
		if (fd < 0) {
			error_msg(what, fd == -ENOENT ? "process %ld has no KVM VM%s" :
				  "cannot take the VM of process %ld: %s", pid,
				  fd == -ENOENT ? "" : strerror(-fd));
			vmmig_nl_close(&nl);
			return EXIT_FAIL;
		}
	}
	err = vmmig_dirty_sample(&nl, fd >= 0 ? VMMIG_BY_FD(fd) : VMMIG_BY_NAME(name),
				 seconds, sample, &r);
	if (fd >= 0)
		close(fd);
	if (err) {
		err = cli_nl_error(&nl, what, err);
		vmmig_nl_close(&nl);
		return err;
	}
	vmmig_nl_close(&nl);
	print_uint(PRINT_ANY, "rate", "rate %" PRIu64 " pages/s", r.rate);
	print_uint(PRINT_JSON, "bytes_per_second", NULL, r.rate * 4096);
	print_uint(PRINT_FP, NULL, " (%" PRIu64 " KiB/s)", r.rate * 4);
	print_uint(PRINT_ANY, "sampled", " sampled %" PRIu64, r.sample_pages);
	print_uint(PRINT_ANY, "changed", " changed %" PRIu64, r.changed_pages);
	print_uint(PRINT_ANY, "pages", " of %" PRIu64 " pages", r.total_pages);
	print_uint(PRINT_ANY, "interval_ns", " over %" PRIu64 " ns", r.interval_ns);
	print_nl();
	output_flush();
	return EXIT_OK;
}

int kvm_main(int argc, char **argv)
{
	static const struct {
		const char *verb;
		int (*fn)(struct vmmig_nl *nl, int argc, char **argv);
	} verbs[] = {
		{ "list", kvm_list },
		{ "show", kvm_show },
		{ "register", kvm_register },
		{ "unregister", kvm_unregister },
	};
	const char *verb = argc < 2 ? "list" : argv[1];
	struct vmmig_nl nl;
	size_t i;
	int ret;

	if (is_help(verb))
		return object_help("kvm", false);
	if (!strcmp(verb, "dirty-log"))
		return dirty_log_main(argc - 1, argv + 1);
	if (!strcmp(verb, "dirty-rate"))
		return dirty_rate_main(argc - 1, argv + 1);
	if (!strcmp(verb, "audit"))
		return kvm_audit_main(argc - 1, argv + 1);
	if (!strcmp(verb, "cpu-mode"))
		return kvm_cpu_mode_main(argc - 1, argv + 1);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		if (strcmp(verb, verbs[i].verb))
			continue;
		if (cli_connect(&nl, "kvm"))
			return EXIT_FAIL;
		ret = verbs[i].fn(&nl, argc < 2 ? 1 : argc - 1, argv + 1);
		vmmig_nl_close(&nl);
		return ret;
	}
	error_msg("kvm", "unknown command '%s'", verb);
	return object_help("kvm", true);
}
