// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig-vmm --dir STATE_DIR/NAME [--restore FILE | --incoming FD[,FD...]] [--paused]
 *           [--ready-fd FD] [--t0 NS] [--pid-fd FD --listen-fd FD [--console-fd FD]]
 *
 * --incoming: the streams of a live migration (migrate.c), inherited from
 * vmmigd; the VM is restored from them and waits, paused, for incoming-end.
 *
 * Runs the VM defined in DIR/vm.json until it powers off or is told to stop.
 * `vmmig vm start` starts it with a pipe as FD: the VMM writes "ok" there
 * once the guest runs, or "error: REASON" if it could not start. While the
 * VMM lives it holds DIR/vmm.pid locked; a vmm.pid nobody holds means the
 * VMM died (crashed). A guest crash writes the reason to DIR/crashed.
 *
 * When the guest resets, the VMM executes itself again with --pid-fd and
 * --listen-fd, the locked pid file and the control socket it held, and with
 * --console-fd an attached console client: a fresh boot of the same
 * definition in the same process, see restart().
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>

#include "ctl.h"
#include "vmlog.h"
#include "vmm.h"

struct opts {
	const char *dir, *restore;
	int incoming[CTL_MAX_FDS];
	unsigned int nincoming;
	bool paused;
	int ready_fd, pid_fd, listen_fd, console_fd;
	uint64_t t0;
};

static void dir_path(const struct vm *vm, const char *file, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", vm->dir, file);
}

/* A runtime file (vmmig_run_path()); @file NULL: their folder. */
static void run_path(const struct vm *vm, const char *file, char *buf, size_t len)
{
	if (vmmig_run_path(vm->dir, file, buf, len))
		snprintf(buf, len, "%s/%s", vm->dir, file ? file : "");
}

static void tell(int fd, const char *msg)
{
	if (fd >= 0 && (write(fd, msg, strlen(msg)) < 0 || write(fd, "\n", 1) < 0))
		vmlog(LOG_ERR, "ready fd: %m");
}

/*
 * The pid file is locked for the VMM's life; -EBUSY if another VMM holds it.
 * After a reset, @fd is the one the VMM held before, still locked.
 */
static int lock_pid(struct vm *vm, int fd, char *why)
{
	char path[4200], pid[32];

	run_path(vm, NULL, path, sizeof(path));
	if (fd < 0 && mkdir_p(path, 0755))
		return vmm_fail(why, -errno, "%s: %s", path, strerror(errno));
	run_path(vm, "vmm.pid", path, sizeof(path));
	if (fd < 0)
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	else if (fcntl(fd, F_SETFD, FD_CLOEXEC))
		fd = -1;
	if (fd < 0)
		return vmm_fail(why, -errno, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		close(fd);
		return vmm_fail(why, -EBUSY, "already running");
	}
	snprintf(pid, sizeof(pid), "%d\n", getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, strlen(pid), 0) < 0)
		vmlog(LOG_ERR, "vmm.pid: %m");
	return fd;
}

static int open_console(struct vm *vm, bool append, char *why)
{
	char path[4200];
	int fd;

	dir_path(vm, "console.log", path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_APPEND | (append ? 0 : O_TRUNC), 0644);
	if (fd < 0)
		return vmm_fail(why, -errno, "%s: %s", path, strerror(errno));
	if (uart_init(&vm->uart, fd))
		return vmm_fail(why, -errno, "eventfd: %s", strerror(errno));
	return 0;
}

static int restore_file(struct vm *vm, const char *file, char *why)
{
	char msg[VMMIG_ERRLEN];
	int fd = open(file, O_RDONLY | O_CLOEXEC), err;

	if (fd < 0)
		return vmm_fail(why, -errno, "%s: %s", file, strerror(errno));
	err = vm_restore(vm, fd, msg);
	close(fd);
	if (err)
		vmm_fail(why, err, "%s: %s", file, msg);
	return err;
}

static int boot(struct vm *vm, const struct opts *o, char *why)
{
	char path[4200];
	int err;

	/* After a guest reset (pid_fd), the run goes on with its CPUID. */
	if (o->restore || o->nincoming || o->pid_fd >= 0)
		err = vmdef_load(&vm->def, vm->dir, why);
	else
		err = vm_cpuid_at_start(vm, why);
	if (!err)
		vmlog_set_vm(vm->def.name, vm->def.uuid);
	/* A state that ran elsewhere (or long ago) needs this host's CPU to fit. */
	if (!err && (o->restore || o->nincoming))
		err = vm_cpuid_fits_host(vm, why);
	if (!err)
		err = open_console(vm, o->restore || o->nincoming || o->pid_fd >= 0, why);
	if (!err)
		err = vm_create(vm, why);
	if (!err)
		err = virtio_setup(vm, why);
	if (err)
		return err;
	if (o->nincoming) {
		err = vm_restore_streams(vm, o->incoming, o->nincoming, why);
		for (unsigned int i = 0; i < o->nincoming; i++)
			close(o->incoming[i]);
		vm->mig.role = err ? CTL_MIG_NONE : CTL_MIG_INCOMING;
	} else if (o->restore)
		err = restore_file(vm, o->restore, why);
	else
		err = vm->def.workload ? vm_setup_workload(vm, why) : vm_setup_linux(vm, why);
	if (err)
		return err;
	dir_path(vm, "crashed", path, sizeof(path));
	unlink(path);
	dir_path(vm, "saved", path, sizeof(path));
	unlink(path);
	return 0;
}

/* The files of a VMM that ends: why (if it crashed), no socket, no pid. */
static void leave(struct vm *vm)
{
	char path[4200];

	if (vm->exit_kind == VM_EXIT_CRASH) {
		dir_path(vm, "crashed", path, sizeof(path));
		write_file_atomic(path, vm->exit_reason);
	}
	if (vm->exit_kind != VM_EXIT_NONE)
		vmlog(vm->exit_kind == VM_EXIT_CRASH ? LOG_ERR : LOG_INFO, "%s", vm->exit_reason);
	else
		vmlog(LOG_INFO, "the VMM ends");
	run_path(vm, CTL_SOCKET, path, sizeof(path));
	unlink(path);
	run_path(vm, "vmm.pid", path, sizeof(path));
	unlink(path);
	run_path(vm, NULL, path, sizeof(path));
	if (strcmp(path, vm->dir))
		rmdir(path);
}

/* Before the VMM says why it failed: `vmmig vm start` kills it once told. */
static void teardown(struct vm *vm)
{
	vm_unregister(vm);
	vm_destroy(vm);
	leave(vm);
}

static void end(struct vm *vm, int status)
{
	teardown(vm);
	exit(status);
}

/*
 * The guest reset: the same definition boots afresh, as `vmmig vm start`
 * would boot it, in a new KVM VM. The VMM frees the old VM and executes
 * itself again, keeping its pid, vmm.log and the locked pid file and control
 * socket, so that the VM never looks dead and requests sent meanwhile wait
 * in the socket's backlog.
 */
static void restart(struct vm *vm, int pid_fd, int lfd)
{
	char pfd[16], lfds[16], cfd[16];
	int con = vm->uart.client_fd;
	char *args[] = { "vmmig-vmm", "--dir", (char *)vm->dir, "--pid-fd", pfd,
			 "--listen-fd", lfds, con >= 0 ? "--console-fd" : NULL, cfd, NULL };

	vmlog(LOG_NOTICE, "%s", vm->exit_reason);
	vm_unregister(vm);
	vm_destroy(vm);
	snprintf(pfd, sizeof(pfd), "%d", pid_fd);
	snprintf(lfds, sizeof(lfds), "%d", lfd);
	snprintf(cfd, sizeof(cfd), "%d", con);
	if (!fcntl(pid_fd, F_SETFD, 0) && !fcntl(lfd, F_SETFD, 0) &&
	    (con < 0 || !fcntl(con, F_SETFD, 0)))
		execv("/proc/self/exe", args);
	vm->exit_kind = VM_EXIT_CRASH;
	snprintf(vm->exit_reason, sizeof(vm->exit_reason),
		 "the guest reset, but the VMM could not start again: %s", strerror(errno));
	leave(vm);
	exit(1);
}

/*
 * The control socket: a new one, or after a reset the one the VMM had, and
 * the console client that was attached then.
 */
static int listen_fd(struct vm *vm, const struct opts *o, char *why)
{
	if (o->listen_fd < 0)
		return control_listen(vm, why);
	if (fcntl(o->listen_fd, F_SETFD, FD_CLOEXEC))
		return vmm_fail(why, -errno, "--listen-fd %d: %s", o->listen_fd, strerror(errno));
	if (o->console_fd >= 0 && !fcntl(o->console_fd, F_SETFD, FD_CLOEXEC))
		uart_attach(&vm->uart, o->console_fd);
	return o->listen_fd;
}

/* --incoming FD[,FD...]: the streams of a migration, inherited. */
static int parse_fds(const char *s, struct opts *o)
{
	char *end;
	long fd;

	do {
		fd = strtol(s, &end, 10);
		if (end == s || fd < 3 || fd > 1023 || o->nincoming == CTL_MAX_FDS ||
		    (*end && *end != ','))
			return -EINVAL;
		if (fcntl(fd, F_SETFD, FD_CLOEXEC))
			return -EBADF;
		o->incoming[o->nincoming++] = fd;
		s = end + 1;
	} while (*end);
	return 0;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "restore", required_argument, NULL, 'r' },
		{ "paused", no_argument, NULL, 'p' },
		{ "ready-fd", required_argument, NULL, 'f' },
		{ "t0", required_argument, NULL, 't' },
		{ "pid-fd", required_argument, NULL, 'P' },
		{ "listen-fd", required_argument, NULL, 'L' },
		{ "console-fd", required_argument, NULL, 'C' },
		{ "incoming", required_argument, NULL, 'i' },
		{}
	};
	int c;

	*o = (struct opts){ .ready_fd = -1, .pid_fd = -1, .listen_fd = -1, .console_fd = -1 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'd': o->dir = optarg; break;
		case 'r': o->restore = optarg; break;
		case 'p': o->paused = true; break;
		case 'f': o->ready_fd = atoi(optarg); break;
		case 't': o->t0 = strtoull(optarg, NULL, 10); break;
		case 'P': o->pid_fd = atoi(optarg); break;
		case 'L': o->listen_fd = atoi(optarg); break;
		case 'C': o->console_fd = atoi(optarg); break;
		case 'i':
			if (parse_fds(optarg, o))
				return -EINVAL;
			o->paused = true;
			break;
		default: return -EINVAL;
		}
	}
	if ((o->pid_fd < 0) != (o->listen_fd < 0) || (o->nincoming && o->restore))
		return -EINVAL;
	return o->dir && optind == argc ? 0 : -EINVAL;
}

int main(int argc, char **argv)
{
	static struct vm vm = { .kvm_fd = -1, .vm_fd = -1, .mem_fd = -1, .event_fd = -1,
				.mig = { .fd = -1, .done_fd = -1, .tx_lock = PTHREAD_MUTEX_INITIALIZER,
					 .swap_cond = PTHREAD_COND_INITIALIZER,
					 .send_lock = PTHREAD_MUTEX_INITIALIZER } };
	char why[VMMIG_ERRLEN] = "", msg[VMMIG_ERRLEN + 8];
	struct opts o;
	sigset_t set;
	int pid_fd, lfd, status;

	if (parse(argc, argv, &o)) {
		fprintf(stderr, "usage: vmmig-vmm --dir DIR [--restore FILE | --incoming FD[,FD...]] [--paused] [--ready-fd FD] [--t0 NS]\n");
		return 2;
	}
	vm.dir = o.dir;
	vm.t0_ns = o.t0 ? o.t0 : now_ns();
	vmlog_init("vmmig-vmm");
	vmlog_set_vm(strrchr(o.dir, '/') ? strrchr(o.dir, '/') + 1 : o.dir, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pid_fd = lock_pid(&vm, o.pid_fd, why);
	if (pid_fd < 0 || boot(&vm, &o, why) || vm_register_at_start(&vm, why) ||
	    (lfd = listen_fd(&vm, &o, why)) < 0 || vm_start_vcpus(&vm, o.paused, why)) {
		/* After a reset nobody waits for the answer: the VM is marked crashed. */
		if (o.pid_fd >= 0) {
			vm.exit_kind = VM_EXIT_CRASH;
			snprintf(vm.exit_reason, sizeof(vm.exit_reason),
				 "the guest reset, but its VM could not boot again: %s", why);
		}
		snprintf(msg, sizeof(msg), "error: %s", why);
		if (strcmp(why, "already running"))
			teardown(&vm);
		tell(o.ready_fd, msg);
		vmlog(LOG_ERR, "%s", why);
		return 1;
	}
	vm.ready_ns = now_ns();
	vmlog(LOG_INFO, "%s%s, pid %d, guest memory in %s", o.nincoming ? "incoming migration loaded" :
	      o.restore ? "restored from " : o.pid_fd >= 0 ? "booted again after a reset" : "started",
	      o.restore ? o.restore : "", getpid(), vm.def.hugepages ? "hugetlb pages" :
	      vm.mem_thp ? "transparent huge pages" : "4 KiB pages");
	tell(o.ready_fd, "ok");
	if (o.ready_fd >= 0)
		close(o.ready_fd);
	status = control_loop(&vm, lfd);
	/* A storage move copies from the devices: it ends first (cancelled). */
	storage_move_end(&vm);
	if (status == VMM_RESTART)
		restart(&vm, pid_fd, lfd);
	close(lfd);
	end(&vm, status);
	return status;
}
