// SPDX-License-Identifier: GPL-2.0
/*
 * The VM lifecycle (vmctl.h). A VM's state is read from its folder and its
 * runtime files (vmmig_run_path(): /run/vmmig/vm/NAME for the default state
 * folder): a VMM that holds vmm.pid locked runs it (and answers on
 * control.sock); a vmm.pid nobody holds, or a "crashed" file, means it died;
 * a "saved" file names the state a save left.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "ctl.h"
#include "vmctl.h"
#include "vmscope.h"
#include "vmstate.h"

const char *const vm_state_names[VM_NSTATES] = {
	"off", "running", "paused", "saved", "crashed", "starting",
};

/* Leaves room for a file name after a VM folder, within PATH_MAX. */
#define DIR_MAX		(PATH_MAX / 2)

/* How long the VMM may take: to start, to answer, to power off, to end. */
#define START_MS	120000
#define STATUS_MS	10000
#define REQUEST_MS	120000
#define SAVE_MS		(3600 * 1000)
#define STOP_MS		60000
#define QUIT_MS		5000

static int fail(struct vmctl *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct vmctl *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

bool vm_state_live(enum vm_state s)
{
	return s == VM_RUNNING || s == VM_PAUSED || s == VM_STARTING;
}

void vmctl_init(struct vmctl *c, const char *state_dir)
{
	memset(c, 0, sizeof(*c));
	c->state_dir = vmmig_state_dir(state_dir);
	c->t0_ns = mono_ns();
}

int vmctl_dir(struct vmctl *c, const char *name, char *buf, size_t len)
{
	if (vmdef_check_name(name, c->err))
		return -EINVAL;
	snprintf(buf, len, "%s/%s", c->state_dir, name);
	return 0;
}

static bool exists(const char *dir, const char *file)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return !access(path, F_OK);
}

/* A runtime file of the VM of @dir (vmmig_run_path()). */
static bool run_exists(const char *dir, const char *file)
{
	char path[PATH_MAX];

	return !vmmig_run_path(dir, file, path, sizeof(path)) && !access(path, F_OK);
}

/* Removes the VM's runtime files and their folder when it is its own. */
static void remove_run_files(const char *dir)
{
	static const char *const files[] = { "vmm.pid", CTL_SOCKET, CTL_SWAP_SOCKET };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!vmmig_run_path(dir, files[i], path, sizeof(path)))
			unlink(path);
	if (!vmmig_run_path(dir, NULL, path, sizeof(path)) && strcmp(path, dir))
		rmdir(path);
}

/* The folder of a VM that has a definition. */
static int find(struct vmctl *c, const char *name, char *dir)
{
	int err = vmctl_dir(c, name, dir, DIR_MAX);

	if (err)
		return err;
	if (!exists(dir, "vm.json"))
		return fail(c, -ENOENT, "%s: no such VM", name);
	return 0;
}

int vmctl_load(struct vmctl *c, const char *name, struct vmdef *d)
{
	char dir[DIR_MAX];
	int err = find(c, name, dir);

	return err ? err : vmdef_load(d, dir, c->err);
}

/* true: a VMM holds DIR/vmm.pid, and @pid (if given) is its pid. */
static bool vmm_alive(const char *dir, pid_t *pid)
{
	char path[PATH_MAX], buf[32] = "";
	bool alive = false;
	int fd;

	if (vmmig_run_path(dir, "vmm.pid", path, sizeof(path)))
		return false;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK)
		alive = true;
	if (pid && pread(fd, buf, sizeof(buf) - 1, 0) > 0)
		*pid = atoi(buf);
	close(fd);
	return alive;
}

static void read_marker(const char *dir, const char *file, char *out, size_t len)
{
	char path[PATH_MAX], *s;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (read_file(path, &s)) {
		*out = '\0';
		return;
	}
	s[strcspn(s, "\n")] = '\0';
	snprintf(out, len, "%s", s);
	free(s);
}

static void get_status(const char *dir, struct vm_status *st)
{
	struct json_object *rep = NULL;

	memset(st, 0, sizeof(*st));
	if (vmm_alive(dir, NULL)) {
		st->state = VM_STARTING;
		if (ctl_simple(dir, CTL_REQ_STATUS, &rep, STATUS_MS, st->why))
			return;
		st->has_vmm = !ctl_status_from_json(rep, &st->vmm, st->why);
		json_object_put(rep);
		if (st->has_vmm)
			st->state = st->vmm.state == CTL_PAUSED ? VM_PAUSED : VM_RUNNING;
	} else if (run_exists(dir, "vmm.pid")) {
		st->state = VM_CRASHED;
		snprintf(st->why, sizeof(st->why), "the VMM died (see vmm.log)");
	} else if (exists(dir, "crashed")) {
		st->state = VM_CRASHED;
		read_marker(dir, "crashed", st->why, sizeof(st->why));
	} else if (exists(dir, "saved")) {
		st->state = VM_SAVED;
		read_marker(dir, "saved", st->why, sizeof(st->why));
	}
}

/* The state alone; @why (if given, VMMIG_ERRLEN) gets the saved path or crash reason. */
static enum vm_state state_of(const char *dir, char *why)
{
	struct vm_status *st = malloc(sizeof(*st));
	enum vm_state s;

	/* Not knowing, take it as live: nothing then removes or restarts it. */
	if (!st)
		return VM_STARTING;
	get_status(dir, st);
	s = st->state;
	if (why)
		snprintf(why, VMMIG_ERRLEN, "%s", st->why);
	free(st);
	return s;
}

int vmctl_status(struct vmctl *c, const char *name, struct vm_status *st)
{
	char dir[DIR_MAX];
	int err = find(c, name, dir);

	if (!err)
		get_status(dir, st);
	return err;
}

int vmctl_list(struct vmctl *c, int (*fn)(struct vmctl *c, const char *name, void *arg),
	       void *arg)
{
	struct dirent **ents;
	char dir[DIR_MAX];
	int i, n, ret = 0;

	n = scandir(c->state_dir, &ents, NULL, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : fail(c, -errno, "%s: %s", c->state_dir, strerror(errno));
	for (i = 0; i < n; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", c->state_dir, ents[i]->d_name);
		if (!ret && ents[i]->d_name[0] != '.' && exists(dir, "vm.json"))
			ret = fn(c, ents[i]->d_name, arg);
		free(ents[i]);
	}
	free(ents);
	return ret;
}

/* ---- create, delete ---- */

static void remove_vm_dir(const char *dir)
{
	static const char *const files[] = {
		"vm.json", "vm.json.tmp", "console.log", "vmm.log", "saved",
		"saved.tmp", "crashed", "crashed.tmp", CTL_MIGRATED_FILE,
		CTL_INCOMING_FILE, CTL_INCOMING_FILE ".tmp", CTL_INCOMING_DISKS_FILE,
		CTL_INCOMING_DISKS_FILE ".tmp",
	};
	char path[PATH_MAX];
	size_t i;

	remove_run_files(dir);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* Makes STATE_DIR/NAME with vm.json; nothing is left behind on failure. */
static int write_new_vm(struct vmctl *c, const struct vmdef *d, char *dir)
{
	int err = vmctl_dir(c, d->name, dir, DIR_MAX);

	if (err)
		return err;
	if (mkdir(c->state_dir, 0755) && errno != EEXIST)
		return fail(c, -errno, "%s: %s", c->state_dir, strerror(errno));
	if (mkdir(dir, 0755)) {
		if (errno == EEXIST)
			return fail(c, -EEXIST, "%s: a VM of that name already exists", d->name);
		return fail(c, -errno, "%s: %s", dir, strerror(errno));
	}
	err = vmdef_save(d, dir, c->err);
	if (err)
		remove_vm_dir(dir);
	return err;
}

int vmctl_create(struct vmctl *c, struct vmdef *d)
{
	char dir[DIR_MAX];

	if (!vmdef_has_uuid(d))
		vmdef_new_uuid(d);
	return write_new_vm(c, d, dir);
}

int vmctl_delete(struct vmctl *c, const char *name)
{
	char dir[DIR_MAX];
	enum vm_state s;
	int err = find(c, name, dir);

	if (err)
		return err;
	s = state_of(dir, NULL);
	if (vm_state_live(s))
		return fail(c, -EBUSY, "%s is %s: stop it first", name, vm_state_names[s]);
	remove_vm_dir(dir);
	if (!access(dir, F_OK))
		return fail(c, -ENOTEMPTY, "%s: could not remove everything in %s", name, dir);
	return 0;
}

/* ---- set ---- */

struct set_args {
	struct vmctl *c;	/* c->err is the @why of vmdef_update() */
	const char *dir;
	char *const *kv;
	int n;
};

/* Applies @n KEY VALUE pairs; @what: the first that needs the VM off. */
static int set_all(struct vmdef *d, char *const *kv, int n, const char **what, char *why)
{
	const struct vmdef_setting *st;
	int i, err;

	*what = NULL;
	for (i = 0; i + 1 < n; i += 2) {
		st = vmdef_setting(kv[i], why);
		if (!st)
			return -EINVAL;
		err = st->set(d, kv[i + 1], why);
		if (err)
			return err;
		if (!st->live && !*what)
			*what = st->what;
	}
	return 0;
}

/* Under the folder's lock, which a VMM that starts takes to read it. */
static int apply_settings(struct vmdef *d, void *arg, char *why)
{
	const struct set_args *a = arg;
	char saved[VMMIG_ERRLEN];
	const char *what;
	enum vm_state s;
	int err;

	err = set_all(d, a->kv, a->n, &what, why);
	if (err || !what)
		return err;
	s = state_of(a->dir, saved);
	if (vm_state_live(s))
		return fail(a->c, -EBUSY, "%s is %s: shut it down to change %s", d->name,
			    vm_state_names[s], what);
	if (s == VM_SAVED)
		return fail(a->c, -EBUSY, "%s has a saved state (%s): restore and shut it down, or discard it with 'vmmig vm stop %s', to change %s",
			    d->name, saved, d->name, what);
	return 0;
}

int vmctl_set(struct vmctl *c, const char *name, char *const *kv, int n)
{
	struct set_args a = { .c = c, .kv = kv, .n = n };
	char dir[DIR_MAX];
	struct vmdef d = {};
	const char *what;
	int err;

	if (n <= 0 || n % 2)
		return fail(c, -EINVAL, "give KEY VALUE pairs");
	/* Bad input is refused before the VM is looked at. */
	err = set_all(&d, kv, n, &what, c->err);
	vmdef_free(&d);
	if (!err)
		err = find(c, name, dir);
	if (err)
		return err;
	a.dir = dir;
	err = vmdef_update(&d, dir, apply_settings, &a, c->err);
	if (!err)
		vmdef_free(&d);
	return err;
}

/* ---- start, restore: spawning the VMM ---- */

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
		return fail(c, -ENOENT, "%s: %s", vmm, strerror(errno));
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
		return fail(c, -errno, "pipe: %s", strerror(errno));
	if (pipe2(go, O_CLOEXEC)) {
		err = fail(c, -errno, "pipe: %s", strerror(errno));
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
		err = fail(c, -errno, "fork: %s", strerror(errno));
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
		fail(c, -EIO, "%s", line + 7);
	else
		fail(c, -EIO, "the VMM exited while starting (see %s/vmm.log)", dir);
	if (waitpid(pid, &status, WNOHANG) == 0)
		kill(pid, SIGKILL), waitpid(pid, &status, 0);
	return -EIO;
}

int vmctl_start(struct vmctl *c, const char *name, bool paused)
{
	char dir[DIR_MAX], saved[VMMIG_ERRLEN];
	enum vm_state s;
	int err = find(c, name, dir);
	struct vmdef d;

	if (err)
		return err;
	/* An old definition gets its UUID before the VMM registers it. */
	err = vmdef_load(&d, dir, c->err);
	if (err)
		return err;
	vmdef_free(&d);
	s = state_of(dir, saved);
	if (vm_state_live(s))
		return fail(c, -EBUSY, "%s is already %s", name, vm_state_names[s]);
	/* Arriving, its move undecided (vmmigd's recovery decides): the source may run it. */
	if (exists(dir, CTL_INCOMING_FILE))
		return fail(c, -EBUSY, "%s is arriving from another host and its move is not decided yet (%s/%s): vmmigd finishes or removes it",
			    name, dir, CTL_INCOMING_FILE);
	/* Committed to another host: it may run there; never twice. */
	if (exists(dir, CTL_MIGRATED_FILE))
		return fail(c, -EBUSY, "%s was moved to another host, which may run it (%s/%s): start it here only if it runs nowhere else, after removing that file",
			    name, dir, CTL_MIGRATED_FILE);
	/* A saved VM starts from its saved state, as it was. */
	if (s == VM_SAVED && access(saved, R_OK))
		return fail(c, -errno, "%s: saved state %s: %s", name, saved, strerror(errno));
	return spawn_vmm(c, dir, s == VM_SAVED ? saved : NULL, paused, NULL, 0);
}

int vmctl_start_incoming(struct vmctl *c, const char *name, const int *fds, unsigned int nfds)
{
	char dir[DIR_MAX];
	int err = find(c, name, dir);

	if (err)
		return err;
	if (vm_state_live(state_of(dir, NULL)))
		return fail(c, -EBUSY, "%s is already running", name);
	return spawn_vmm(c, dir, NULL, true, fds, nfds);
}

/* An absolute path for @file, which need not exist yet; NULL and errno. */
static char *abs_path(const char *file)
{
	char *copy = strdup(file), *slash, *dir, *out = NULL;
	const char *base;

	if (!copy)
		return NULL;
	slash = strrchr(copy, '/');
	base = slash ? slash + 1 : copy;
	if (slash)
		*slash = '\0';
	dir = realpath(slash ? (*copy ? copy : "/") : ".", NULL);
	if (dir && !*base)
		errno = EISDIR;
	if (dir && *base && asprintf(&out, "%s/%s", strcmp(dir, "/") ? dir : "", base) < 0)
		out = NULL;
	free(dir);
	free(copy);
	return out;
}

/* The definition a state file holds. */
static int state_def(struct vmctl *c, const char *file, struct vmdef *d)
{
	struct json_object *o;
	char why[VMMIG_ERRLEN], *text;
	int err;

	err = vmstate_check_file(file, &text, why);
	if (err)
		return fail(c, err, "%s: %s", file, why);
	o = json_tokener_parse(text);
	free(text);
	err = o ? vmdef_from_json(d, o, why) : (snprintf(why, sizeof(why), "bad definition"), -EINVAL);
	json_object_put(o);
	if (err) {
		vmdef_free(d);
		return fail(c, err, "%s: %s", file, why);
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
	if (exists(dir, "vm.json")) {
		err = vmdef_load(&cur, dir, c->err);
		if (err)
			return err;
		if (vmdef_has_uuid(d) && memcmp(d->uuid, cur.uuid, VMDEF_UUID_LEN))
			err = fail(c, -EEXIST, "%s: a VM of that name already exists, with uuid %s: the state is of uuid %s",
				   d->name, vmdef_uuid_str(cur.uuid, a), vmdef_uuid_str(d->uuid, b));
		vmdef_free(&cur);
		if (err)
			return err;
		s = state_of(dir, NULL);
		if (vm_state_live(s))
			return fail(c, -EBUSY, "%s is already %s", d->name, vm_state_names[s]);
		return 0;
	}
	/* A state file from before VMs had UUIDs: a new VM. */
	if (!vmdef_has_uuid(d))
		vmdef_new_uuid(d);
	err = vmctl_list(c, has_uuid, &owner);
	if (err < 0)
		return err;
	if (owner.name[0])
		return fail(c, -EEXIST, "%s: the state is of VM %s (uuid %s), which is still defined: a VM keeps its uuid under a new name, delete %s first",
			    d->name, owner.name, vmdef_uuid_str(d->uuid, a), owner.name);
	err = write_new_vm(c, d, dir);
	*created = !err;
	return err;
}

int vmctl_restore(struct vmctl *c, const char *path, const char *name, bool paused,
		  char *restored)
{
	char dir[DIR_MAX], *file = abs_path(path);
	bool created = false;
	struct vmdef d;
	int err;

	if (!file)
		return fail(c, -(errno ? errno : EINVAL), "%s: %s", path,
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
		remove_vm_dir(dir);
	if (!err && restored)
		snprintf(restored, VMDEF_NAME_MAX + 1, "%s", d.name);
out_def:
	vmdef_free(&d);
out:
	free(file);
	return err;
}

/* ---- requests to a running VM ---- */

/* The folder of a VM that has a running VMM, and the VMM's pid. */
static int running(struct vmctl *c, const char *name, char *dir, pid_t *pid)
{
	int err = find(c, name, dir);

	if (err)
		return err;
	if (!vmm_alive(dir, pid))
		return fail(c, -ESRCH, "%s is not running", name);
	return 0;
}

static int request(struct vmctl *c, const char *name, enum ctl_req cmd,
		   struct json_object **rep, int ms)
{
	char dir[DIR_MAX], why[VMMIG_ERRLEN];
	int err = running(c, name, dir, NULL);

	if (!err && ctl_simple(dir, cmd, rep, ms, why))
		return fail(c, -EIO, "%s: %s", name, why);
	return err;
}

static int simple(struct vmctl *c, const char *name, enum ctl_req cmd)
{
	struct json_object *rep = NULL;
	int err = request(c, name, cmd, &rep, REQUEST_MS);

	json_object_put(rep);
	return err;
}

int vmctl_pause(struct vmctl *c, const char *name)
{
	return simple(c, name, CTL_REQ_PAUSE);
}

int vmctl_resume(struct vmctl *c, const char *name)
{
	return simple(c, name, CTL_REQ_RESUME);
}

int vmctl_verify(struct vmctl *c, const char *name, struct ctl_verify_result *res)
{
	struct json_object *rep = NULL;
	int err = request(c, name, CTL_REQ_VERIFY, &rep, REQUEST_MS);

	if (!err && ctl_verify_from_json(rep, res, c->err))
		err = -EPROTO;
	json_object_put(rep);
	return err;
}

int vmctl_vmm_pid(struct vmctl *c, const char *name, pid_t *pid)
{
	char dir[DIR_MAX];

	return running(c, name, dir, pid);
}

int vmctl_console(struct vmctl *c, const char *name, bool force)
{
	struct ctl_request r = { .cmd = CTL_REQ_CONSOLE, .force = force };
	struct json_object *rep = NULL;
	char dir[DIR_MAX], why[VMMIG_ERRLEN];
	int fd = find(c, name, dir);

	if (fd)
		return fd;
	if (!vmm_alive(dir, NULL))
		return fail(c, -ESRCH, "%s is not running: nothing to attach to", name);
	fd = ctl_connect(dir, &r, &rep, STATUS_MS, why);
	json_object_put(rep);
	if (fd < 0)
		return fail(c, fd, "%s: %s", name, why);
	return fd;
}

static int wait_gone(const char *dir, int ms)
{
	for (; ms > 0; ms -= 20) {
		if (!vmm_alive(dir, NULL))
			return 0;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

int vmctl_wait(struct vmctl *c, const char *name, int timeout_ms)
{
	char dir[DIR_MAX];
	int err = find(c, name, dir);

	if (!err && wait_gone(dir, timeout_ms))
		err = fail(c, -ETIMEDOUT, "%s did not stop within %d s", name, timeout_ms / 1000);
	return err;
}

int vmctl_save(struct vmctl *c, const char *name, const char *path, bool live, bool hash,
	       const struct ctl_live_opts *lo, struct ctl_save_result *res)
{
	struct ctl_request *r = calloc(1, sizeof(*r));
	struct json_object *rep = NULL;
	char dir[DIR_MAX], why[VMMIG_ERRLEN], *file = NULL;
	int err = r ? running(c, name, dir, NULL) : fail(c, -ENOMEM, "out of memory");

	if (!err) {
		file = abs_path(path);
		if (!file)
			err = fail(c, -(errno ? errno : EINVAL), "%s: %s", path,
				   strerror(errno ? errno : EINVAL));
	}
	if (!err && strlen(file) >= sizeof(r->path))
		err = fail(c, -ENAMETOOLONG, "%s: %s", path, strerror(ENAMETOOLONG));
	if (!err) {
		*r = (struct ctl_request){ .cmd = CTL_REQ_SAVE, .live = live, .hash = hash };
		if (lo)
			r->lo = *lo;
		strcpy(r->path, file);
		if (ctl_call(dir, r, &rep, SAVE_MS, why))
			err = fail(c, -EIO, "%s: %s", name, why);
	}
	if (!err && ctl_save_from_json(rep, res, c->err))
		err = -EPROTO;
	/* The VMM ends once the state is safe. */
	if (!err)
		wait_gone(dir, 10000);
	json_object_put(rep);
	free(file);
	free(r);
	return err;
}

/* ---- stop ---- */

static void clear_markers(const char *dir)
{
	static const char *const files[] = { "crashed", "saved" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	remove_run_files(dir);
}

static int force_stop(const char *dir)
{
	struct json_object *rep = NULL;
	char why[VMMIG_ERRLEN];
	pid_t pid = 0;

	if (!ctl_simple(dir, CTL_REQ_QUIT, &rep, QUIT_MS, why))
		json_object_put(rep);
	if (!wait_gone(dir, QUIT_MS))
		return 0;
	if (vmm_alive(dir, &pid) && pid > 0)
		kill(pid, SIGKILL);
	return wait_gone(dir, QUIT_MS);
}

int vmctl_stop(struct vmctl *c, const char *name, bool force)
{
	struct json_object *rep = NULL;
	char dir[DIR_MAX], why[VMMIG_ERRLEN];
	int err = find(c, name, dir);

	if (err)
		return err;
	/* A crashed or saved VM becomes off; its definition stays. */
	if (!vm_state_live(state_of(dir, NULL))) {
		clear_markers(dir);
		return 0;
	}
	if (force) {
		err = force_stop(dir);
	} else {
		err = ctl_simple(dir, CTL_REQ_STOP, &rep, STATUS_MS, why);
		json_object_put(rep);
		if (err)
			return fail(c, err, "%s: %s", name, why);
		err = wait_gone(dir, STOP_MS);
	}
	if (err)
		return fail(c, err, "%s did not stop within %d s%s", name,
			    force ? 2 * QUIT_MS / 1000 : STOP_MS / 1000, force ? "" : " (try --force)");
	clear_markers(dir);
	return 0;
}
