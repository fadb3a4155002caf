// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket: one client at a time, one JSON request per line, one
 * reply. Requests: status, pause, resume, stop (ask the guest to power off),
 * quit (end now), save {"path", "live", "hash"}, verify (workload: recheck the
 * checksum), console {"force"} (the connection then carries the console).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ctl.h"
#include "vmm.h"

/* What serving a request asks of the main loop. */
enum { KEEP_GOING, END_VMM, ATTACH_CONSOLE };

int control_listen(struct vm *vm, char *why)
{
	struct sockaddr_un sun;
	unsigned int len;
	int fd;

	if (ctl_sockaddr(vm->dir, &sun, &len))
		return vmm_fail(why, -ENAMETOOLONG, "%s/%s: path too long for a socket",
				vm->dir, CTL_SOCKET);
	unlink(sun.sun_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, len) || listen(fd, 8)) {
		vmm_fail(why, -errno, "%s: %s", sun.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	return fd;
}

static void add_hex(struct json_object *o, const char *k, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
	json_object_object_add(o, k, json_object_new_string(buf));
}

static void add_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static struct json_object *vcpu_regs(struct vcpu *vc)
{
	struct json_object *o = json_object_new_object();
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vc->fd, KVM_GET_REGS, &r) || ioctl(vc->fd, KVM_GET_SREGS, &s))
		return o;
	add_hex(o, "rip", r.rip);
	add_hex(o, "rsp", r.rsp);
	add_hex(o, "rflags", r.rflags);
	add_hex(o, "rax", r.rax);
	add_hex(o, "rbx", r.rbx);
	add_hex(o, "rcx", r.rcx);
	add_hex(o, "rdx", r.rdx);
	add_hex(o, "rsi", r.rsi);
	add_hex(o, "rdi", r.rdi);
	add_hex(o, "rbp", r.rbp);
	add_hex(o, "r8", r.r8);
	add_hex(o, "r9", r.r9);
	add_hex(o, "r10", r.r10);
	add_hex(o, "r11", r.r11);
	add_hex(o, "r12", r.r12);
	add_hex(o, "r13", r.r13);
	add_hex(o, "r14", r.r14);
	add_hex(o, "r15", r.r15);
	add_hex(o, "cr0", s.cr0);
	add_hex(o, "cr3", s.cr3);
	add_hex(o, "cr4", s.cr4);
	add_hex(o, "efer", s.efer);
	return o;
}

static void status(struct vm *vm, struct json_object *rep)
{
	struct vmmig_guest_page *gp = vm_guest_page(vm);
	bool paused = vm_is_paused(vm);
	struct json_object *o, *a;
	int i;

	json_object_object_add(rep, "state", json_object_new_string(paused ? "paused" : "running"));
	json_object_object_add(rep, "pid", json_object_new_int(getpid()));
	add_u64(rep, "uptime_ns", vm_uptime_ns(vm));
	add_u64(rep, "start_ns", vm->ready_ns - vm->t0_ns);
	/* Zero after a restore: the guest did not start from its first instruction. */
	add_u64(rep, "first_insn_ns", vm->first_insn_ns ? vm->first_insn_ns - vm->t0_ns : 0);
	add_u64(rep, "console_attached", vm->uart.client_fd >= 0);
	if (gp) {
		o = json_object_new_object();
		add_u64(o, "counter", gp->counter);
		add_hex(o, "checksum", gp->checksum);
		add_u64(o, "ticks", gp->ticks);
		add_u64(o, "rate", gp->rate);
		add_u64(o, "wss_pages", gp->wss_pages);
		json_object_object_add(rep, "workload", o);
	}
	if (!paused)
		return;
	/* Only a paused VM holds still long enough for these to mean anything. */
	add_hex(rep, "memory_hash", vm_memory_hash(vm));
	a = json_object_new_array();
	for (i = 0; i < vm->nvcpus; i++)
		json_object_array_add(a, vcpu_regs(&vm->vcpus[i]));
	json_object_object_add(rep, "registers", a);
}

static int save(struct vm *vm, struct json_object *req, struct json_object *rep, char *why)
{
	struct json_object *v;
	bool was_paused = vm_is_paused(vm), live = false;
	struct precopy_stats pc;
	char tmp[4200], saved[4200];
	const char *path;
	uint64_t t = now_ns();
	int fd, err;

	if (!json_object_object_get_ex(req, "path", &v) || !(path = json_object_get_string(v)) ||
	    path[0] != '/')
		return vmm_fail(why, -EINVAL, "save needs an absolute path");
	if (json_object_object_get_ex(req, "live", &v))
		live = json_object_get_boolean(v);
	if (live && was_paused)
		return vmm_fail(why, -EINVAL, "a live save needs a running VM (resume it, or save without --live)");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return vmm_fail(why, -errno, "%s: %s", tmp, strerror(errno));
	if (live) {
		err = vm_save_live(vm, fd, &pc, why);
	} else {
		vm_pause(vm);
		err = vm_save(vm, fd, why);
	}
	if (!err && fsync(fd))
		err = vmm_fail(why, -errno, "%s: %s", tmp, strerror(errno));
	close(fd);
	if (!err && rename(tmp, path))
		err = vmm_fail(why, -errno, "%s: %s", path, strerror(errno));
	if (err) {
		unlink(tmp);
		if (!was_paused)
			vm_resume(vm);
		return err;
	}
	snprintf(saved, sizeof(saved), "%s/saved", vm->dir);
	if (write_file_atomic(saved, path))
		fprintf(stderr, "vmmig-vmm: %s: %s\n", saved, strerror(errno));
	add_u64(rep, "save_ns", now_ns() - t);
	if (live) {
		add_u64(rep, "rounds", pc.rounds);
		add_u64(rep, "resent_pages", pc.resent_pages);
		add_u64(rep, "final_pages", pc.final_pages);
		add_u64(rep, "downtime_ns", pc.downtime_ns);
	}
	/* What restore must reproduce: one more pass over memory, on request. */
	if (json_object_object_get_ex(req, "hash", &v) && json_object_get_boolean(v))
		add_hex(rep, "memory_hash", vm_memory_hash(vm));
	return 0;
}

static int verify(struct vm *vm, struct json_object *rep, char *why)
{
	struct vmmig_guest_page *gp = vm_guest_page(vm);
	uint64_t req, deadline = now_ns() + 60000000000ULL;

	if (!gp)
		return vmm_fail(why, -EOPNOTSUPP, "not a workload guest");
	if (vm_is_paused(vm))
		return vmm_fail(why, -EAGAIN, "the VM is paused");
	req = __atomic_add_fetch(&gp->verify_req, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&gp->verify_done, __ATOMIC_SEQ_CST) != req) {
		if (now_ns() > deadline)
			return vmm_fail(why, -ETIMEDOUT, "the guest did not answer");
		usleep(5000);
	}
	json_object_object_add(rep, "verified", json_object_new_boolean(gp->verify_ok));
	add_hex(rep, "checksum", gp->checksum);
	return 0;
}

static int stop(struct vm *vm, char *why)
{
	struct vmmig_guest_page *gp = vm_guest_page(vm);

	if (!gp) {
		if (vm_is_paused(vm))
			return vmm_fail(why, -EAGAIN, "the VM is paused: resume it, or stop --force");
		if (acpi_power_button(vm))
			return vmm_fail(why, -EOPNOTSUPP, "the guest does not listen to the ACPI power button (try --force)");
		return 0;
	}
	gp->stop_req = 1;
	vm_resume(vm);
	return 0;
}

/*
 * After its reply, the connection carries the console: the guest's output
 * one way, input for its UART the other. One client at a time; "force"
 * disconnects the one before.
 */
static int console(struct vm *vm, struct json_object *req, char *why, int *next)
{
	struct json_object *v;
	bool force = json_object_object_get_ex(req, "force", &v) && json_object_get_boolean(v);
	struct pollfd p = { vm->uart.client_fd, 0, 0 };

	/* A client that hung up but is still attached (see control_loop) is gone. */
	if (p.fd >= 0 && !force && !(poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR))))
		return vmm_fail(why, -EBUSY, "another client is attached to the console (--force takes it over)");
	*next = ATTACH_CONSOLE;
	return 0;
}

static int serve(struct vm *vm, const char *cmd, struct json_object *req,
		 struct json_object *rep, char *why, int *next)
{
	if (!strcmp(cmd, "console"))
		return console(vm, req, why, next);
	if (!strcmp(cmd, "status")) {
		status(vm, rep);
		return 0;
	}
	if (!strcmp(cmd, "pause")) {
		vm_pause(vm);
		return 0;
	}
	if (!strcmp(cmd, "resume")) {
		vm_resume(vm);
		return 0;
	}
	if (!strcmp(cmd, "stop"))
		return stop(vm, why);
	if (!strcmp(cmd, "verify"))
		return verify(vm, rep, why);
	if (!strcmp(cmd, "quit") || !strcmp(cmd, "save")) {
		int err = strcmp(cmd, "save") ? 0 : save(vm, req, rep, why);

		if (!err)
			*next = END_VMM;
		return err;
	}
	return vmm_fail(why, -EINVAL, "unknown request '%s'", cmd);
}

static int handle_client(struct vm *vm, int fd)
{
	static char line[1 << 16];
	struct json_object *req, *rep = json_object_new_object(), *v;
	char why[VMMIG_ERRLEN] = "";
	int next = KEEP_GOING, err;
	const char *s;

	err = ctl_read_line(fd, line, sizeof(line), 5000);
	if (err) {
		json_object_put(rep);
		return KEEP_GOING;
	}
	req = json_tokener_parse(line);
	if (!req || !json_object_object_get_ex(req, "cmd", &v))
		err = vmm_fail(why, -EINVAL, "bad request");
	else
		err = serve(vm, json_object_get_string(v), req, rep, why, &next);
	json_object_object_add(rep, "ok", json_object_new_boolean(!err));
	if (err)
		json_object_object_add(rep, "error", json_object_new_string(why));
	s = json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PLAIN);
	if (write(fd, s, strlen(s)) < 0 || write(fd, "\n", 1) < 0)
		perror("vmmig-vmm: reply");
	json_object_put(rep);
	json_object_put(req);
	return next;
}

static int signal_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static void console_detach(struct vm *vm)
{
	int fd = uart_attach(&vm->uart, -1);

	if (fd >= 0)
		close(fd);
}

/*
 * The client typed something: as much as the receive FIFO takes now. With
 * the FIFO full, only the end of the client's input wakes the loop: once
 * the FIFO holds all of it, the client is done; while some still waits in
 * the socket, the loop leaves the socket alone until the FIFO has room.
 */
static void console_input(struct vm *vm, bool *stalled)
{
	uint8_t buf[VMSTATE_UART_FIFO];
	unsigned int room = uart_rx_room(&vm->uart);
	int fd = vm->uart.client_fd, queued;
	ssize_t n;

	if (!room) {
		if (ioctl(fd, FIONREAD, &queued) || !queued)
			console_detach(vm);
		else
			*stalled = true;
		return;
	}
	/* Only what the FIFO took leaves the socket: the guest may shrink it. */
	n = recv(fd, buf, room, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0) {
		n = uart_receive(vm, buf, n);
		if (n && recv(fd, buf, n, MSG_DONTWAIT) != n)
			console_detach(vm);
	} else if (!n || (errno != EAGAIN && errno != EINTR)) {
		console_detach(vm);	/* all delivered, or the client is gone */
	}
}

/* The attached client's socket: what the loop waits for on it. */
static short console_events(struct vm *vm, bool *stalled)
{
	unsigned int room = uart_rx_room(&vm->uart);
	short ev = 0;

	*stalled = *stalled && !room;
	if (!*stalled)
		ev = room ? POLLIN : POLLRDHUP;
	if (uart_client_blocked(&vm->uart))
		ev |= POLLOUT;
	return ev;
}

/*
 * A client that hung up is detached at once, and what it typed that the
 * guest has not taken goes with it, as on a serial line.
 */
static void console_event(struct vm *vm, short revents, bool *stalled)
{
	if (revents & (POLLHUP | POLLERR)) {
		console_detach(vm);
		return;
	}
	if (revents & POLLOUT)
		uart_client_flush(&vm->uart);
	if (revents & (POLLIN | POLLRDHUP))
		console_input(vm, stalled);
}

enum { P_LISTEN, P_EVENT, P_SIGNAL, P_CONSOLE, P_WAKE, NPOLL };

int control_loop(struct vm *vm, int listen_fd)
{
	struct pollfd pfd[NPOLL] = {
		[P_LISTEN] = { listen_fd, POLLIN, 0 },
		[P_EVENT] = { vm->event_fd, POLLIN, 0 },
		[P_SIGNAL] = { signal_fd(), POLLIN, 0 },
		[P_CONSOLE] = { -1, POLLIN, 0 },
		[P_WAKE] = { vm->uart.wake_fd, POLLIN, 0 },
	};
	int fd, next = KEEP_GOING;
	bool reset = false, stalled = false;
	uint64_t n;

	while (next == KEEP_GOING) {
		fd = vm->uart.client_fd;
		/* With no events, poll still reports the client hanging up. */
		pfd[P_CONSOLE].events = fd >= 0 ? console_events(vm, &stalled) : 0;
		pfd[P_CONSOLE].fd = fd;
		if (poll(pfd, NPOLL, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("vmmig-vmm: poll");
			break;
		}
		/* A signal ends the VMM even if the guest reset at the same time. */
		if (pfd[P_EVENT].revents || pfd[P_SIGNAL].revents) {
			reset = !pfd[P_SIGNAL].revents && vm->exit_kind == VM_EXIT_RESET;
			if (pfd[P_SIGNAL].revents && vm->exit_kind == VM_EXIT_RESET)
				snprintf(vm->exit_reason, sizeof(vm->exit_reason),
					 "the guest reset as a signal ended the VMM: no restart");
			break;
		}
		if (pfd[P_WAKE].revents && read(pfd[P_WAKE].fd, &n, sizeof(n)) < 0)
			perror("vmmig-vmm: uart wake");
		if (pfd[P_CONSOLE].fd >= 0 && pfd[P_CONSOLE].revents)
			console_event(vm, pfd[P_CONSOLE].revents, &stalled);
		if (!pfd[P_LISTEN].revents)
			continue;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		next = handle_client(vm, fd);
		if (next == ATTACH_CONSOLE) {
			console_detach(vm);
			uart_attach(&vm->uart, fd);
			stalled = false;
			next = KEEP_GOING;
			continue;
		}
		close(fd);
	}
	close(pfd[P_SIGNAL].fd);
	if (reset)
		return VMM_RESTART;
	return vm->exit_kind == VM_EXIT_CRASH ? 1 : 0;
}
