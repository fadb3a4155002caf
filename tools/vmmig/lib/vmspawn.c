// SPDX-License-Identifier: GPL-2.0
/*
 * The VM lifecycle (vmctl.h): starting a VMM, for a start, an incoming
 * move or a restore. The VMM is detached from the caller (its own session,
 * the signals of a dying terminal blocked, only its own descriptors kept),
 * put in a transient systemd scope when systemd runs (vmscope.h), and the
 * caller waits for its "ready" byte or the reason it could not start.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include "ctl.h"
#include "vmctl.h"
#include "vmctl_int.h"
#include "vmscope.h"
#include "vmstate.h"

#define START_MS	120000	/* how long the VMM may take to start */

/*
 * $VMMIG_VMM, else vmmig-vmm beside this program (the build tree), else in
 * ../libexec/vmmig from it (installed: /usr/bin/vmmig, /usr/sbin/vmmigd and
 * /usr/libexec/vmmig/vmmig-vmm, whatever the prefix).
 */
static int vmm_path(char *buf, size_t len)
{
	const char *env = getenv("VMMIG_VMM");
	char exe[PATH_MAX - 32], *slash;
	ssize_t n;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, len, "%s/vmmig-vmm", exe);
	if (access(buf, X_OK))
		snprintf(buf, len, "%s/../libexec/vmmig/vmmig-vmm", exe);
	return 0;
}

/*
 * What a VMM must not share with the CLI that starts it, which may be
 * killed at any moment (Ctrl-C, a terminal that goes away, SIGKILL): its
 * session and process group (signals to the group, SIGHUP from the
 * terminal), the signals sent to the group before it left (blocked across
 * fork, then discarded), the caller's other fds (pipes a shell waits on),
 * and, under systemd, the caller's cgroup (a login session's scope is
 * stopped when the session ends): see vmscope.h. A VMM writing to the
 * ready pipe of a dead CLI gets EPIPE, not SIGPIPE (vmm/main.c).
 */
static const int detach_sigs[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP, SIGTTIN, SIGTTOU, SIGPIPE, SIGUSR1, SIGUSR2,
};

static void block_detach_sigs(sigset_t *old)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof(detach_sigs) / sizeof(detach_sigs[0]); i++)
		sigaddset(&set, detach_sigs[i]);
	sigprocmask(SIG_BLOCK, &set, old);
}

/* The child's fds: @ready as 3, the streams as 4, 5..., nothing else but 0-2. */
static int child_fds(int ready, const int *fds, unsigned int nfds)
{
	int tmp[CTL_MAX_FDS + 1], i, n = nfds;

	/* Above every target first, so that no dup2 overwrites a source. */
	for (i = 0; i <= n; i++) {
		tmp[i] = fcntl(i ? fds[i - 1] : ready, F_DUPFD, 5 + CTL_MAX_FDS);
		if (tmp[i] < 0)
			return -1;
	}
	for (i = 0; i <= n; i++)
		if (dup2(tmp[i], 3 + i) < 0)
			return -1;
	if (close_range(4 + n, ~0U, 0))
		for (i = 4 + n; i < 1024; i++)
			close(i);
	return 0;
}

/* "error: WHAT: errno N" on the ready pipe, with async-signal-safe calls only. */
static void exec_failed(int fd, const char *what, int err)
{
	char num[16];
	int i = sizeof(num);

	do
		num[--i] = '0' + err % 10;
	while ((err /= 10) && i > 0);
	if (write(fd, "error: cannot run the VMM: ", 27) < 0 ||
	    write(fd, what, strlen(what)) < 0 || write(fd, ": errno ", 8) < 0 ||
	    write(fd, num + i, sizeof(num) - i) < 0 || write(fd, "\n", 1) < 0)
		return;
}

/* Only async-signal-safe calls: the caller (vmmigd) may have threads. */
static void vmm_child(const char *log, const char *vmm, char **args, int ready, const int *go,
		      const int *fds, unsigned int nfds, const sigset_t *mask)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, dfl = { .sa_handler = SIG_DFL };
	char c;
	size_t i;
	int fd;

	setsid();
	for (i = 0; i < sizeof(detach_sigs) / sizeof(detach_sigs[0]); i++) {
		sigaction(detach_sigs[i], &ign, NULL);
		sigaction(detach_sigs[i], &dfl, NULL);
	}
	sigprocmask(SIG_SETMASK, mask, NULL);
	/*
	 * Its parent writes a byte once the child is in its scope, or dies
	 * (EOF). Not EOF alone: a child that another thread of the parent
	 * forks meanwhile holds our go[1] until it closes its stray fds.
	 */
	close(go[1]);
	while (read(go[0], &c, 1) < 0 && errno == EINTR)
		;
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_NOCTTY | O_CLOEXEC, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	fd = open("/dev/null", O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0)
		dup2(fd, 0);
	if (child_fds(ready, fds, nfds)) {
		exec_failed(ready, "moving its files into place", errno);
		_exit(127);
	}
	execv(vmm, args);
	exec_failed(3, vmm, errno);
	_exit(127);
}

/* The VMM's scope (vmscope.h); a failure is a warning: the VM runs all the same. */
static void vmm_scope(struct vmctl *c, const char *dir, pid_t pid)
{
	const char *name = strrchr(dir, '/');
	char why[VMMIG_ERRLEN];

	if (!vmscope_wanted())
		return;
	if (vmscope_start(name ? name + 1 : dir, pid, why))
		snprintf(c->warn, sizeof(c->warn), "the VMM runs outside a scope of its own: %.200s",
			 why);
}

/*
 * Starts the VMM for DIR and waits until it runs the guest or gives up.
 * The VMM is a session of its own and outlives the caller, but is its
 * child: a caller that lives on reaps it (c->vmm_pid).
 */
static int spawn_vmm(struct vmctl *c, const char *dir, const char *restore, bool paused,
		     const int *fds, unsigned int nfds)
{
	char vmm[PATH_MAX], t0[32], line[VMMIG_ERRLEN + 16], fd_arg[256], log[PATH_MAX];
	char *args[12] = { vmm, "--dir", (char *)dir, "--ready-fd", "3", "--t0", t0 };
	int n = 7, p[2], go[2], err, status;
	unsigned int i;
	sigset_t mask;
	pid_t pid;

	c->vmm_pid = 0;
	c->warn[0] = '\0';
	if (vmm_path(vmm, sizeof(vmm)) || access(vmm, X_OK))
		return vmctl_fail(c, -ENOENT, "%s: %s", vmm, strerror(errno));
	snprintf(t0, sizeof(t0), "%" PRIu64, c->t0_ns);
	snprintf(log, sizeof(log), "%s/vmm.log", dir);
	if (restore) {
		args[n++] = "--restore";
		args[n++] = (char *)restore;
	}
	if (paused)
		args[n++] = "--paused";
	if (nfds) {
		/* The streams become fds 4, 5... of the VMM (child_fds()). */
		for (i = 0, err = 0; i < nfds; i++)
			err += snprintf(fd_arg + err, sizeof(fd_arg) - err, "%s%u", i ? "," : "", 4 + i);
		args[n++] = "--incoming";
		args[n++] = fd_arg;
	}
	if (pipe2(p, O_CLOEXEC))
		return vmctl_fail(c, -errno, "pipe: %s", strerror(errno));
	if (pipe2(go, O_CLOEXEC)) {
		err = vmctl_fail(c, -errno, "pipe: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return err;
	}
	block_detach_sigs(&mask);
	pid = fork();
	if (!pid)
		vmm_child(log, vmm, args, p[1], go, fds, nfds, &mask);
	close(p[1]);
	close(go[0]);
	if (pid < 0) {
		err = vmctl_fail(c, -errno, "fork: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &mask, NULL);
		close(p[0]);
		close(go[1]);
		return err;
	}
	vmm_scope(c, dir, pid);
	/*
	 * Still with SIGPIPE blocked: a child that died meanwhile fails this
	 * write with EPIPE (its ready pipe says why), and the SIGPIPE it
	 * raised is taken back before the mask returns.
	 */
	if (write(go[1], "g", 1) < 0 && errno == EPIPE) {
		static const struct timespec now;
		sigset_t pipe_set;

		sigemptyset(&pipe_set);
		sigaddset(&pipe_set, SIGPIPE);
		sigtimedwait(&pipe_set, NULL, &now);
	}
	close(go[1]);
	sigprocmask(SIG_SETMASK, &mask, NULL);
	/* An incoming VM is ready when the whole migration stream is in. */
	err = ctl_read_line(p[0], line, sizeof(line), nfds ? -1 : START_MS);
	close(p[0]);
	if (!err && !strcmp(line, "ok")) {
		c->vmm_pid = pid;
		return 0;
	}
	if (!err && !strncmp(line, "error: ", 7))
		vmctl_fail(c, -EIO, "%s", line + 7);
	else
		vmctl_fail(c, -EIO, "the VMM exited while starting (see %s/vmm.log)", dir);
	if (waitpid(pid, &status, WNOHANG) == 0)
		kill(pid, SIGKILL), waitpid(pid, &status, 0);
	return -EIO;
}

int vmctl_start(struct vmctl *c, const char *name, bool paused)
{
	char dir[DIR_MAX], saved[VMMIG_ERRLEN];
	enum vm_state s;
	int err = vmctl_find(c, name, dir);
	struct vmdef d;

	if (err)
		return err;
	/* An old definition gets its UUID before the VMM registers it. */
	err = vmdef_load(&d, dir, c->err);
	if (err)
		return err;
	vmdef_free(&d);
	s = vmctl_state_of(dir, saved);
	if (vm_state_live(s))
		return vmctl_fail(c, -EBUSY, "%s is already %s", name, vm_state_names[s]);
	/* Arriving, its move undecided (vmmigd's recovery decides): the source may run it. */
	if (vmctl_exists(dir, CTL_INCOMING_FILE))
		return vmctl_fail(c, -EBUSY, "%s is arriving from another host and its move is not decided yet (%s/%s): vmmigd finishes or removes it",
			    name, dir, CTL_INCOMING_FILE);
	/* Committed to another host: it may run there; never twice. */
	if (vmctl_exists(dir, CTL_MIGRATED_FILE))
		return vmctl_fail(c, -EBUSY, "%s was moved to another host, which may run it (%s/%s): start it here only if it runs nowhere else, after removing that file",
			    name, dir, CTL_MIGRATED_FILE);
	/* A saved VM starts from its saved state, as it was. */
	if (s == VM_SAVED && access(saved, R_OK))
		return vmctl_fail(c, -errno, "%s: saved state %s: %s", name, saved, strerror(errno));
	return spawn_vmm(c, dir, s == VM_SAVED ? saved : NULL, paused, NULL, 0);
}

int vmctl_start_incoming(struct vmctl *c, const char *name, const int *fds, unsigned int nfds)
{
	char dir[DIR_MAX];
	int err = vmctl_find(c, name, dir);

	if (err)
		return err;
	if (vm_state_live(vmctl_state_of(dir, NULL)))
		return vmctl_fail(c, -EBUSY, "%s is already running", name);
	return spawn_vmm(c, dir, NULL, true, fds, nfds);
}

/* The definition a state file holds. */
static int state_def(struct vmctl *c, const char *file, struct vmdef *d)
{
	struct json_object *o;
	char why[VMMIG_ERRLEN], *text;
	int err;

	err = vmstate_check_file(file, &text, why);
	if (err)
		return vmctl_fail(c, err, "%s: %s", file, why);
	o = json_tokener_parse(text);
	free(text);
	err = o ? vmdef_from_json(d, o, why) : (snprintf(why, sizeof(why), "bad definition"), -EINVAL);
	json_object_put(o);
	if (err) {
		vmdef_free(d);
		return vmctl_fail(c, err, "%s: %s", file, why);
	}
	return 0;
}

struct uuid_owner {
	const uint8_t *uuid;
	char name[VMDEF_NAME_MAX + 1];
};

static int has_uuid(struct vmctl *c, const char *name, void *arg)
{
	struct uuid_owner *o = arg;
	char why[VMMIG_ERRLEN], dir[DIR_MAX];
	struct vmdef d;

	snprintf(dir, sizeof(dir), "%s/%s", c->state_dir, name);
	if (vmdef_load(&d, dir, why))
		return 0;
	if (!memcmp(d.uuid, o->uuid, VMDEF_UUID_LEN))
		snprintf(o->name, sizeof(o->name), "%s", name);
	vmdef_free(&d);
	return !!o->name[0];
}

/*
 * The folder to restore @d into: its own if the state directory has it
 * (made by the same VM), else a new one.
 */
static int restore_target(struct vmctl *c, struct vmdef *d, char *dir, bool *created)
{
	struct uuid_owner owner = { .uuid = d->uuid };
	char a[VMDEF_UUID_STRLEN], b[VMDEF_UUID_STRLEN];
	struct vmdef cur;
	enum vm_state s;
	int err;

	err = vmctl_dir(c, d->name, dir, DIR_MAX);
	if (err)
		return err;
	if (vmctl_exists(dir, "vm.json")) {
		err = vmdef_load(&cur, dir, c->err);
		if (err)
			return err;
		if (vmdef_has_uuid(d) && memcmp(d->uuid, cur.uuid, VMDEF_UUID_LEN))
			err = vmctl_fail(c, -EEXIST, "%s: a VM of that name already exists, with uuid %s: the state is of uuid %s",
				   d->name, vmdef_uuid_str(cur.uuid, a), vmdef_uuid_str(d->uuid, b));
		vmdef_free(&cur);
		if (err)
			return err;
		s = vmctl_state_of(dir, NULL);
		if (vm_state_live(s))
			return vmctl_fail(c, -EBUSY, "%s is already %s", d->name, vm_state_names[s]);
		return 0;
	}
	/* A state file from before VMs had UUIDs: a new VM. */
	if (!vmdef_has_uuid(d))
		vmdef_new_uuid(d);
	err = vmctl_list(c, has_uuid, &owner);
	if (err < 0)
		return err;
	if (owner.name[0])
		return vmctl_fail(c, -EEXIST, "%s: the state is of VM %s (uuid %s), which is still defined: a VM keeps its uuid under a new name, delete %s first",
			    d->name, owner.name, vmdef_uuid_str(d->uuid, a), owner.name);
	err = vmctl_write_new(c, d, dir);
	*created = !err;
	return err;
}

int vmctl_restore(struct vmctl *c, const char *path, const char *name, bool paused,
		  char *restored)
{
	char dir[DIR_MAX], *file = vmctl_abs_path(path);
	bool created = false;
	struct vmdef d;
	int err;

	if (!file)
		return vmctl_fail(c, -(errno ? errno : EINVAL), "%s: %s", path,
			    strerror(errno ? errno : EINVAL));
	err = state_def(c, file, &d);
	if (err)
		goto out;
	if (name) {
		err = vmdef_check_name(name, c->err);
		if (err)
			goto out_def;
		snprintf(d.name, sizeof(d.name), "%s", name);
	}
	err = restore_target(c, &d, dir, &created);
	if (!err)
		err = spawn_vmm(c, dir, file, paused, NULL, 0);
	if (err && created)
		vmctl_remove_dir(dir);
	if (!err && restored)
		snprintf(restored, VMDEF_NAME_MAX + 1, "%s", d.name);
out_def:
	vmdef_free(&d);
out:
	free(file);
	return err;
}
