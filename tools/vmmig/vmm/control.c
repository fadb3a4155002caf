// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket: one client at a time, one request per connection, one
 * reply; the protocol is lib/ctl_proto.h's. A migration's connection stays
 * open beside the others (migrate.c).
 */
#include <errno.h>
#include <fcntl.h>
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
#include "diskcopy.h"
#include "vmlog.h"
#include "vmm.h"

/* What serving a request asks of the main loop. */
enum { KEEP_GOING, END_VMM, ATTACH_CONSOLE, KEEP_CONNECTION };

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

static void vcpu_regs(struct vcpu *vc, uint64_t *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vc->fd, KVM_GET_REGS, &r) || ioctl(vc->fd, KVM_GET_SREGS, &s))
		return;
	v[CTL_REG_RIP] = r.rip;
	v[CTL_REG_RSP] = r.rsp;
	v[CTL_REG_RFLAGS] = r.rflags;
	v[CTL_REG_RAX] = r.rax;
	v[CTL_REG_RBX] = r.rbx;
	v[CTL_REG_RCX] = r.rcx;
	v[CTL_REG_RDX] = r.rdx;
	v[CTL_REG_RSI] = r.rsi;
	v[CTL_REG_RDI] = r.rdi;
	v[CTL_REG_RBP] = r.rbp;
	v[CTL_REG_R8] = r.r8;
	v[CTL_REG_R9] = r.r9;
	v[CTL_REG_R10] = r.r10;
	v[CTL_REG_R11] = r.r11;
	v[CTL_REG_R12] = r.r12;
	v[CTL_REG_R13] = r.r13;
	v[CTL_REG_R14] = r.r14;
	v[CTL_REG_R15] = r.r15;
	v[CTL_REG_CR0] = s.cr0;
	v[CTL_REG_CR3] = s.cr3;
	v[CTL_REG_CR4] = s.cr4;
	v[CTL_REG_EFER] = s.efer;
}

static int status(struct vm *vm, const struct ctl_request *req, struct json_object *rep)
{
	struct vmmig_guest_page *gp = vm_guest_page(vm);
	struct ctl_status *st = calloc(1, sizeof(*st));
	int i;

	if (!st)
		return -ENOMEM;
	snprintf(st->name, sizeof(st->name), "%s", vm->def.name);
	memcpy(st->uuid, vm->def.uuid, sizeof(st->uuid));
	st->state = vm_is_paused(vm) ? CTL_PAUSED : CTL_RUNNING;
	st->pid = getpid();
	st->uptime_ns = vm_uptime_ns(vm);
	st->data_pages = vm_data_pages(vm);
	st->start_ns = vm->ready_ns - vm->t0_ns;
	st->first_insn_ns = vm->first_insn_ns ? vm->first_insn_ns - vm->t0_ns : 0;
	st->console_attached = vm->uart.client_fd >= 0;
	st->registered = vm->registered;
	st->migration = vm->mig.role;
	if (gp) {
		st->has_workload = true;
		st->wl = (struct ctl_workload){
			.counter = gp->counter, .checksum = gp->checksum, .ticks = gp->ticks,
			.rate = gp->rate, .wss_pages = gp->wss_pages,
			.gap_max_us = gp->gap_max_us, .gap_at = gp->gap_at,
		};
	}
	/* Only a paused VM holds still long enough for these to mean anything. */
	if (st->state == CTL_PAUSED) {
		st->has_memory_hash = true;
		st->memory_hash = vm_memory_hash(vm);
		/* Asked (an incoming move's disks): what the source's were at its pause. */
		st->has_disk_hash = req->has_disk_hash && req->disk_hash && vm->def.ndisks;
		if (st->has_disk_hash)
			st->disk_hash = vm_disks_hash(vm);
		st->nvcpus = vm->nvcpus;
		for (i = 0; i < vm->nvcpus; i++)
			vcpu_regs(&vm->vcpus[i], st->regs[i]);
	}
	ctl_status_to_json(rep, st);
	free(st);
	return 0;
}

static int save(struct vm *vm, const struct ctl_request *req, struct json_object *rep, char *why)
{
	bool was_paused = vm_is_paused(vm);
	struct ctl_save_result res = { .live = req->live };
	struct precopy_stats pc;
	char tmp[4200], saved[4200];
	const char *path = req->path;
	uint64_t t = now_ns();
	int fd, err;

	if (path[0] != '/')
		return vmm_fail(why, -EINVAL, "save needs an absolute path");
	if (req->live && was_paused)
		return vmm_fail(why, -EINVAL, "a live save needs a running VM (resume it, or save without --live)");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return vmm_fail(why, -errno, "%s: %s", tmp, strerror(errno));
	if (req->live) {
		struct mig_opts o;

		ctl_live_opts_apply(&req->lo, &o);
		err = vm_save_live(vm, &fd, 1, &o, &pc, NULL, NULL, why);
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
		vmlog(LOG_ERR, "%s: %s", saved, strerror(errno));
	res.save_ns = now_ns() - t;
	if (req->live) {
		res.rounds = pc.rounds;
		res.resent_pages = pc.resent_pages;
		res.final_pages = pc.final_pages;
		res.downtime_ns = pc.downtime_ns;
		res.throttle_pct = pc.throttle_pct;
		res.expected_downtime_ms = pc.expected_downtime_ms;
	}
	/* What restore must reproduce: one more pass over memory, on request. */
	if (req->hash) {
		res.has_memory_hash = true;
		res.memory_hash = vm_memory_hash(vm);
	}
	ctl_save_to_json(rep, &res);
	return 0;
}

static int verify(struct vm *vm, struct json_object *rep, char *why)
{
	struct vmmig_guest_page *gp = vm_guest_page(vm);
	uint64_t req, deadline = now_ns() + 60000000000ULL;
	struct ctl_verify_result res;

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
	res.verified = gp->verify_ok;
	res.checksum = gp->checksum;
	ctl_verify_to_json(rep, &res);
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
static int console(struct vm *vm, const struct ctl_request *req, char *why, int *next)
{
	struct pollfd p = { vm->uart.client_fd, 0, 0 };

	/* A client that hung up but is still attached (see control_loop) is gone. */
	if (p.fd >= 0 && !req->force && !(poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR))))
		return vmm_fail(why, -EBUSY, "another client is attached to the console (--force takes it over)");
	*next = ATTACH_CONSOLE;
	return 0;
}

static int serve(struct vm *vm, const struct ctl_request *req, struct json_object *rep,
		 char *why, int *next, int fd, const int *fds, unsigned int nfds)
{
	bool end = false;
	int err = 0;

	if (migrate_holds(vm, req->cmd, why))
		return -EBUSY;
	switch (req->cmd) {
	case CTL_REQ_MIGRATE:
		err = migrate_out_start(vm, req, fd, fds, nfds, why);
		if (!err)
			*next = KEEP_CONNECTION;
		return err;
	case CTL_REQ_STORAGE_MOVE:
		err = storage_move_start(vm, req, fd, why);
		if (!err)
			*next = KEEP_CONNECTION;
		return err;
	case CTL_REQ_INCOMING_END:
		err = migrate_incoming_end(vm, req->commit, why, &end);
		if (!err && end)
			*next = END_VMM;
		return err;
	case CTL_REQ_CONSOLE:
		return console(vm, req, why, next);
	case CTL_REQ_STATUS:
		err = status(vm, req, rep);
		return err ? vmm_fail(why, err, "out of memory") : 0;
	case CTL_REQ_PAUSE:
		vm_pause(vm);
		return 0;
	case CTL_REQ_RESUME:
		vm_resume(vm);
		return 0;
	case CTL_REQ_STOP:
		return stop(vm, why);
	case CTL_REQ_VERIFY:
		return verify(vm, rep, why);
	case CTL_REQ_SAVE:
		err = save(vm, req, rep, why);
		/* fall through */
	case CTL_REQ_QUIT:
		if (!err)
			*next = END_VMM;
		return err;
	case CTL_NREQS:
		break;
	}
	return vmm_fail(why, -EINVAL, "unknown request");
}

static int handle_client(struct vm *vm, int fd)
{
	struct json_object *req = NULL, *rep, *res = json_object_new_object();
	struct ctl_request *r = malloc(sizeof(*r));
	char why[VMMIG_ERRLEN] = "", *line = malloc(CTL_LINE_MAX);
	int next = KEEP_GOING, err, fds[CTL_MAX_FDS];
	unsigned int nfds = CTL_MAX_FDS, i;
	const char *s;

	err = r && line ? ctl_recv_line(fd, line, CTL_LINE_MAX, 5000, fds, &nfds) : -ENOMEM;
	if (err)
		goto out;
	req = json_tokener_parse(line);
	err = ctl_request_from_json(req, r, why);
	if (!err)
		err = serve(vm, r, res, why, &next, fd, fds, nfds);
	/* The migration thread owns the streams now, and replies itself. */
	if (next == KEEP_CONNECTION)
		goto out;
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	rep = ctl_reply_new(err, why);
	if (!err) {
		json_object_object_foreach(res, k, v)
			json_object_object_add(rep, k, json_object_get(v));
	}
	s = json_object_to_json_string_ext(rep, JSON_C_TO_STRING_PLAIN);
	if (write(fd, s, strlen(s)) < 0 || write(fd, "\n", 1) < 0)
		vmlog(LOG_ERR, "reply: %m");
	json_object_put(rep);
out:
	json_object_put(res);
	json_object_put(req);
	free(line);
	free(r);
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

enum { P_LISTEN, P_EVENT, P_SIGNAL, P_CONSOLE, P_WAKE, P_MIG_DONE, P_MIG, NPOLL };

int control_loop(struct vm *vm, int listen_fd)
{
	struct pollfd pfd[NPOLL] = {
		[P_LISTEN] = { listen_fd, POLLIN, 0 },
		[P_EVENT] = { vm->event_fd, POLLIN, 0 },
		[P_SIGNAL] = { signal_fd(), POLLIN, 0 },
		[P_CONSOLE] = { -1, POLLIN, 0 },
		[P_WAKE] = { vm->uart.wake_fd, POLLIN, 0 },
		[P_MIG_DONE] = { -1, POLLIN, 0 },
		[P_MIG] = { -1, POLLIN | POLLRDHUP, 0 },
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
			vmlog(LOG_ERR, "poll: %m");
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
			vmlog(LOG_ERR, "uart wake: %m");
		if (pfd[P_CONSOLE].fd >= 0 && pfd[P_CONSOLE].revents)
			console_event(vm, pfd[P_CONSOLE].revents, &stalled);
		if (pfd[P_MIG_DONE].fd >= 0 && pfd[P_MIG_DONE].revents) {
			pfd[P_MIG].fd = migrate_out_done(vm);
			pfd[P_MIG_DONE].fd = -1;
		} else if (pfd[P_MIG_DONE].fd >= 0 && pfd[P_MIG].fd >= 0 && pfd[P_MIG].revents) {
			/*
			 * Mid-copy: a stream's replacement, or anything else (its
			 * end) a cancel; the connection is looked at again after.
			 */
			if (migrate_out_message(vm)) {
				migrate_out_cancel(vm);
				pfd[P_MIG].fd = -1;
			}
			continue;
		}
		if (pfd[P_MIG_DONE].fd < 0 && pfd[P_MIG].fd >= 0 && pfd[P_MIG].revents) {
			pfd[P_MIG].fd = -1;
			if (migrate_out_decide(vm))
				break;
		}
		if (!pfd[P_LISTEN].revents)
			continue;
		fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		next = handle_client(vm, fd);
		if (next == KEEP_CONNECTION) {
			pfd[P_MIG_DONE].fd = vm->mig.done_fd;
			pfd[P_MIG].fd = vm->mig.fd;
			next = KEEP_GOING;
			continue;
		}
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
