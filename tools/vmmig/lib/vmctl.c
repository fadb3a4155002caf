// SPDX-License-Identifier: GPL-2.0
/*
 * The VM lifecycle (vmctl.h). A VM's state is read from its folder and its
 * runtime files (vmmig_run_path(): /run/vmmig/vm/NAME for the default state
 * folder): a VMM that holds vmm.pid locked runs it (and answers on
 * control.sock); a vmm.pid nobody holds, or a "crashed" file, means it died;
 * a "saved" file names the state a save left. Starting a VMM, and a restore,
 * are in vmspawn.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "ctl.h"
#include "vmctl.h"
#include "vmctl_int.h"

const char *const vm_state_names[VM_NSTATES] = {
	"off", "running", "paused", "saved", "crashed", "starting",
};

/* How long the VMM may take: to answer, to power off, to end. */
#define STATUS_MS	10000
#define REQUEST_MS	120000
#define SAVE_MS		(3600 * 1000)
#define STOP_MS		60000
#define QUIT_MS		5000

int vmctl_fail(struct vmctl *c, int err, const char *fmt, ...)
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

bool vmctl_exists(const char *dir, const char *file)
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
int vmctl_find(struct vmctl *c, const char *name, char *dir)
{
	int err = vmctl_dir(c, name, dir, DIR_MAX);

	if (err)
		return err;
	if (!vmctl_exists(dir, "vm.json"))
		return vmctl_fail(c, -ENOENT, "%s: no such VM", name);
	return 0;
}

int vmctl_load(struct vmctl *c, const char *name, struct vmdef *d)
{
	char dir[DIR_MAX];
	int err = vmctl_find(c, name, dir);

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
	} else if (vmctl_exists(dir, "crashed")) {
		st->state = VM_CRASHED;
		read_marker(dir, "crashed", st->why, sizeof(st->why));
	} else if (vmctl_exists(dir, "saved")) {
		st->state = VM_SAVED;
		read_marker(dir, "saved", st->why, sizeof(st->why));
	}
}

/* The state alone; @why (if given, VMMIG_ERRLEN) gets the saved path or crash reason. */
enum vm_state vmctl_state_of(const char *dir, char *why)
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
	int err = vmctl_find(c, name, dir);

	if (!err)
		get_status(dir, st);
	return err;
}

uint64_t vmctl_data_pages(struct vmctl *c, const char *name)
{
	struct vm_status st;

	return !vmctl_status(c, name, &st) && st.has_vmm ? st.vmm.data_pages : 0;
}

int vmctl_list(struct vmctl *c, int (*fn)(struct vmctl *c, const char *name, void *arg),
	       void *arg)
{
	struct dirent **ents;
	char dir[DIR_MAX];
	int i, n, ret = 0;

	n = scandir(c->state_dir, &ents, NULL, alphasort);
	if (n < 0)
		return errno == ENOENT ? 0 : vmctl_fail(c, -errno, "%s: %s", c->state_dir, strerror(errno));
	for (i = 0; i < n; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", c->state_dir, ents[i]->d_name);
		if (!ret && ents[i]->d_name[0] != '.' && vmctl_exists(dir, "vm.json"))
			ret = fn(c, ents[i]->d_name, arg);
		free(ents[i]);
	}
	free(ents);
	return ret;
}

/* ---- create, delete ---- */

void vmctl_remove_dir(const char *dir)
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
int vmctl_write_new(struct vmctl *c, const struct vmdef *d, char *dir)
{
	int err = vmctl_dir(c, d->name, dir, DIR_MAX);

	if (err)
		return err;
	if (mkdir(c->state_dir, 0755) && errno != EEXIST)
		return vmctl_fail(c, -errno, "%s: %s", c->state_dir, strerror(errno));
	if (mkdir(dir, 0755)) {
		if (errno == EEXIST)
			return vmctl_fail(c, -EEXIST, "%s: a VM of that name already exists", d->name);
		return vmctl_fail(c, -errno, "%s: %s", dir, strerror(errno));
	}
	err = vmdef_save(d, dir, c->err);
	if (err)
		vmctl_remove_dir(dir);
	return err;
}

int vmctl_create(struct vmctl *c, struct vmdef *d)
{
	char dir[DIR_MAX];

	if (!vmdef_has_uuid(d))
		vmdef_new_uuid(d);
	return vmctl_write_new(c, d, dir);
}

int vmctl_delete(struct vmctl *c, const char *name)
{
	char dir[DIR_MAX];
	enum vm_state s;
	int err = vmctl_find(c, name, dir);

	if (err)
		return err;
	s = vmctl_state_of(dir, NULL);
	if (vm_state_live(s))
		return vmctl_fail(c, -EBUSY, "%s is %s: stop it first", name, vm_state_names[s]);
	vmctl_remove_dir(dir);
	if (!access(dir, F_OK))
		return vmctl_fail(c, -ENOTEMPTY, "%s: could not remove everything in %s", name, dir);
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
	s = vmctl_state_of(a->dir, saved);
	if (vm_state_live(s))
		return vmctl_fail(a->c, -EBUSY, "%s is %s: shut it down to change %s", d->name,
			    vm_state_names[s], what);
	if (s == VM_SAVED)
		return vmctl_fail(a->c, -EBUSY, "%s has a saved state (%s): restore and shut it down, or discard it with 'vmmig vm stop %s', to change %s",
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
		return vmctl_fail(c, -EINVAL, "give KEY VALUE pairs");
	/* Bad input is refused before the VM is looked at. */
	err = set_all(&d, kv, n, &what, c->err);
	vmdef_free(&d);
	if (!err)
		err = vmctl_find(c, name, dir);
	if (err)
		return err;
	a.dir = dir;
	err = vmdef_update(&d, dir, apply_settings, &a, c->err);
	if (!err)
		vmdef_free(&d);
	return err;
}

/* An absolute path for @file, which need not exist yet; NULL and errno. */
char *vmctl_abs_path(const char *file)
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

/* ---- requests to a running VM ---- */

/* The folder of a VM that has a running VMM, and the VMM's pid. */
static int running(struct vmctl *c, const char *name, char *dir, pid_t *pid)
{
	int err = vmctl_find(c, name, dir);

	if (err)
		return err;
	if (!vmm_alive(dir, pid))
		return vmctl_fail(c, -ESRCH, "%s is not running", name);
	return 0;
}

static int request(struct vmctl *c, const char *name, enum ctl_req cmd,
		   struct json_object **rep, int ms)
{
	char dir[DIR_MAX], why[VMMIG_ERRLEN];
	int err = running(c, name, dir, NULL);

	if (!err && ctl_simple(dir, cmd, rep, ms, why))
		return vmctl_fail(c, -EIO, "%s: %s", name, why);
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
	int fd = vmctl_find(c, name, dir);

	if (fd)
		return fd;
	if (!vmm_alive(dir, NULL))
		return vmctl_fail(c, -ESRCH, "%s is not running: nothing to attach to", name);
	fd = ctl_connect(dir, &r, &rep, STATUS_MS, why);
	json_object_put(rep);
	if (fd < 0)
		return vmctl_fail(c, fd, "%s: %s", name, why);
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
	int err = vmctl_find(c, name, dir);

	if (!err && wait_gone(dir, timeout_ms))
		err = vmctl_fail(c, -ETIMEDOUT, "%s did not stop within %d s", name, timeout_ms / 1000);
	return err;
}

int vmctl_save(struct vmctl *c, const char *name, const char *path, bool live, bool hash,
	       const struct ctl_live_opts *lo, struct ctl_save_result *res)
{
	struct ctl_request *r = calloc(1, sizeof(*r));
	struct json_object *rep = NULL;
	char dir[DIR_MAX], why[VMMIG_ERRLEN], *file = NULL;
	int err = r ? running(c, name, dir, NULL) : vmctl_fail(c, -ENOMEM, "out of memory");

	if (!err) {
		file = vmctl_abs_path(path);
		if (!file)
			err = vmctl_fail(c, -(errno ? errno : EINVAL), "%s: %s", path,
				   strerror(errno ? errno : EINVAL));
	}
	if (!err && strlen(file) >= sizeof(r->path))
		err = vmctl_fail(c, -ENAMETOOLONG, "%s: %s", path, strerror(ENAMETOOLONG));
	if (!err) {
		*r = (struct ctl_request){ .cmd = CTL_REQ_SAVE, .live = live, .hash = hash };
		if (lo)
			r->lo = *lo;
		strcpy(r->path, file);
		if (ctl_call(dir, r, &rep, SAVE_MS, why))
			err = vmctl_fail(c, -EIO, "%s: %s", name, why);
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
	int err = vmctl_find(c, name, dir);

	if (err)
		return err;
	/* A crashed or saved VM becomes off; its definition stays. */
	if (!vm_state_live(vmctl_state_of(dir, NULL))) {
		clear_markers(dir);
		return 0;
	}
	if (force) {
		err = force_stop(dir);
	} else {
		err = ctl_simple(dir, CTL_REQ_STOP, &rep, STATUS_MS, why);
		json_object_put(rep);
		if (err)
			return vmctl_fail(c, err, "%s: %s", name, why);
		err = wait_gone(dir, STOP_MS);
	}
	if (err)
		return vmctl_fail(c, err, "%s did not stop within %d s%s", name,
			    force ? 2 * QUIT_MS / 1000 : STOP_MS / 1000, force ? "" : " (try --force)");
	clear_markers(dir);
	return 0;
}
