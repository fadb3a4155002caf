// SPDX-License-Identifier: GPL-2.0
/*
 * The VMMs of this host's state directory, supervised: the ones vmmigd
 * starts (vmmig vm start and restore ask it, autostart, incoming
 * migrations) are its children, which it reaps; the ones it finds running
 * at its start (after a restart of vmmigd, or started by a CLI while it
 * was not there) it watches through a pidfd. When a VMM ends, event 1501
 * says how: its exit status or signal (known for a child only) and the
 * state it left its VM in (crashed, and why, as vmctl records it).
 * A VMM is a session of its own and outlives vmmigd.
 *
 * Autostart: at its first start after the host booted, vmmigd starts the
 * VMs whose definition has autostart on (vmmig vm set NAME autostart on).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/pidfd.h>
#include <sys/wait.h>

#include "vmmigd.h"

#define MAX_WATCHED	256

struct watched {
	char vm[VMDEF_NAME_MAX + 1];
	uint8_t uuid[VMDEF_UUID_LEN];
	pid_t pid;
	int pidfd;
	bool child;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct watched watched[MAX_WATCHED];
static unsigned int nwatched;
static int wake_fd = -1;
static bool running;	/* supervise_run() polls the table */

static void *reap(void *arg)
{
	pid_t pid = (pid_t)(intptr_t)arg;

	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	return NULL;
}

/* A child the table cannot hold is still reaped, by a thread of its own. */
static void reap_later(const char *vm, pid_t pid)
{
	pthread_t t;
	int err = pthread_create(&t, NULL, reap, (void *)(intptr_t)pid);

	if (err)
		vmlog_about(LOG_ERR, NULL, "vm %s: its VMM (pid %d) will not be reaped: %s", vm,
			    pid, strerror(err));
	else
		pthread_detach(t);
}

static void wake(void)
{
	uint64_t one = 1;

	if (wake_fd >= 0 && write(wake_fd, &one, sizeof(one)) < 0)
		return;
}

static void uuid_of(const char *vm, uint8_t *uuid)
{
	struct vmctl c;
	struct vmdef d;

	memset(uuid, 0, VMDEF_UUID_LEN);
	vmctl_init(&c, vmmigd.state_dir);
	if (vmctl_load(&c, vm, &d))
		return;
	memcpy(uuid, d.uuid, VMDEF_UUID_LEN);
	vmdef_free(&d);
}

void supervise_add(const char *vm, pid_t pid, bool child)
{
	struct watched w = { .pid = pid, .child = child };
	unsigned int i;

	if (pid <= 0)
		return;
	snprintf(w.vm, sizeof(w.vm), "%s", vm);
	uuid_of(vm, w.uuid);
	w.pidfd = running ? pidfd_open(pid, 0) : -1;
	if (w.pidfd < 0) {
		vmlog_about(LOG_ERR, NULL, "vm %s: cannot watch its VMM (pid %d): %s", vm, pid,
			    running ? strerror(errno) : "no supervision");
		if (child)
			reap_later(vm, pid);
		return;
	}
	pthread_mutex_lock(&lock);
	for (i = 0; i < nwatched && watched[i].pid != pid; i++)
		;
	if (i < nwatched || nwatched == MAX_WATCHED) {
		/* Watched already (a reset keeps the pid), or no room: said at the end. */
		close(w.pidfd);
		w.pidfd = -1;
	} else {
		watched[nwatched++] = w;
	}
	pthread_mutex_unlock(&lock);
	if (w.pidfd < 0 && i == nwatched) {
		vmlog_about(LOG_ERR, NULL, "vm %s: %u VMMs watched already: not its (pid %d)",
			    vm, MAX_WATCHED, pid);
		if (child)
			reap_later(vm, pid);
	}
	wake();
}

/* "exited with status 0", "was killed by signal 9 (Killed)", or for another's child, "ended". */
static void how(struct watched *w, char *buf, size_t len)
{
	siginfo_t si = {};

	if (!w->child || waitid(P_PIDFD, w->pidfd, &si, WEXITED) || !si.si_pid) {
		snprintf(buf, len, "ended (not vmmigd's child: its exit status is unknown)");
		return;
	}
	if (si.si_code == CLD_EXITED)
		snprintf(buf, len, "exited with status %d", si.si_status);
	else
		snprintf(buf, len, "was killed by signal %d (%s)%s", si.si_status,
			 strsignal(si.si_status), si.si_code == CLD_DUMPED ? ", core dumped" : "");
}

static void ended(struct watched *w)
{
	char h[128], why[VMMIG_ERRLEN + 4] = "";
	struct vm_status *st = calloc(1, sizeof(*st));
	struct vmctl c;
	const char *state = "gone from the state directory (moved away or deleted)";

	how(w, h, sizeof(h));
	vmctl_init(&c, vmmigd.state_dir);
	if (st && !vmctl_status(&c, w->vm, st)) {
		state = vm_state_names[st->state];
		if (st->why[0])
			snprintf(why, sizeof(why), " (%s)", st->why);
	}
	event_vm(EV_VM_END, w->vm, w->uuid, "%s: its VMM (pid %d) %s; the VM is %s%s", w->vm,
		 w->pid, h, state, why);
	free(st);
	close(w->pidfd);
}

static void *supervise_run(void *arg)
{
	struct pollfd pfd[MAX_WATCHED + 1];
	struct watched gone;
	unsigned int i, n;
	uint64_t v;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&lock);
		n = nwatched;
		pfd[0] = (struct pollfd){ .fd = wake_fd, .events = POLLIN };
		for (i = 0; i < n; i++)
			pfd[i + 1] = (struct pollfd){ .fd = watched[i].pidfd, .events = POLLIN };
		pthread_mutex_unlock(&lock);
		if (poll(pfd, n + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			vmlog_about(LOG_ERR, NULL, "supervision: poll: %s", strerror(errno));
			return NULL;
		}
		if (pfd[0].revents && read(wake_fd, &v, sizeof(v)) < 0)
			v = 0;
		/* Only this thread removes: the first n are the ones polled. */
		for (i = n; i > 0; i--) {
			if (!pfd[i].revents)
				continue;
			pthread_mutex_lock(&lock);
			gone = watched[i - 1];
			watched[i - 1] = watched[--nwatched];
			pthread_mutex_unlock(&lock);
			ended(&gone);
		}
	}
	return NULL;
}

/* A running VMM found at the start: watched, not vmmigd's child. */
static int found(struct vmctl *c, const char *name, void *arg)
{
	pid_t pid = 0;

	(void)arg;
	if (!vmctl_vmm_pid(c, name, &pid) && pid > 0)
		supervise_add(name, pid, false);
	return 0;
}

void supervise_start(void)
{
	struct vmctl c;
	pthread_t t;
	int err;

	wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	err = wake_fd < 0 ? errno : pthread_create(&t, NULL, supervise_run, NULL);
	if (err) {
		vmlog_about(LOG_ERR, NULL, "cannot supervise VMMs: %s", strerror(err));
		return;
	}
	running = true;
	pthread_detach(t);
	vmctl_init(&c, vmmigd.state_dir);
	vmctl_list(&c, found, NULL);
	pthread_mutex_lock(&lock);
	if (nwatched)
		vmlog_about(LOG_INFO, NULL, "watching %u running VMMs", nwatched);
	pthread_mutex_unlock(&lock);
}

void supervise_started(struct vmctl *c, const char *vm, const char *how_started)
{
	uint8_t uuid[VMDEF_UUID_LEN];

	uuid_of(vm, uuid);
	event_vm(EV_VM_START, vm, uuid, "%s %s: VMM pid %d", vm, how_started, c->vmm_pid);
	if (c->warn[0])
		event_vm(EV_VM_SCOPE_FAILED, vm, uuid, "%s: %s", vm, c->warn);
	supervise_add(vm, c->vmm_pid, true);
}

/* ---- autostart ---- */

static int autostart_one(struct vmctl *c, const char *name, void *arg)
{
	struct vm_status *st = calloc(1, sizeof(*st));
	uint8_t uuid[VMDEF_UUID_LEN];
	struct vmctl sc;
	struct vmdef d;
	bool on;

	(void)arg;
	if (!st || vmctl_load(c, name, &d)) {
		free(st);
		return 0;
	}
	on = d.autostart;
	memcpy(uuid, d.uuid, sizeof(uuid));
	vmdef_free(&d);
	if (on && !vmctl_status(c, name, st) && !vm_state_live(st->state)) {
		vmctl_init(&sc, vmmigd.state_dir);
		if (vmctl_start(&sc, name, false))
			event_vm(EV_VM_AUTOSTART_FAILED, name, uuid, "%s: autostart failed: %s", name,
				 sc.err);
		else
			supervise_started(&sc, name, "autostarted");
	}
	free(st);
	return 0;
}

static void *autostart_thread(void *arg)
{
	struct vmctl c;

	(void)arg;
	vmctl_init(&c, vmmigd.state_dir);
	vmctl_list(&c, autostart_one, NULL);
	return NULL;
}

/*
 * Once per boot: the marker lives beside vmmigd's socket, in /run/vmmig
 * (tmpfs) by default, so that a restart of vmmigd starts nothing again.
 */
void autostart_run(void)
{
	char marker[4200], *slash;
	pthread_t t;
	int fd;

	snprintf(marker, sizeof(marker), "%s", vmmigd.socket_path);
	slash = strrchr(marker, '/');
	snprintf(slash ? slash + 1 : marker, sizeof(marker) - (slash ? slash + 1 - marker : 0),
		 "autostarted");
	fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			vmlog_about(LOG_INFO, NULL, "autostart: done already since the host booted (%s)",
				    marker);
		else
			vmlog_about(LOG_ERR, NULL, "autostart: %s: %s", marker, strerror(errno));
		return;
	}
	close(fd);
	if (pthread_create(&t, NULL, autostart_thread, NULL)) {
		vmlog_about(LOG_ERR, NULL, "autostart: cannot start a thread");
		return;
	}
	pthread_detach(t);
}
