// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig vm { create | list | show | start | stop | pause | resume | delete |
 *            console | save | restore }
 *
 * Definitions live in STATE_DIR/NAME/vm.json; a running VM is a vmmig-vmm
 * process reached through STATE_DIR/NAME/control.sock.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "ctl.h"
#include "output.h"
#include "vmdef.h"
#include "vmmig.h"
#include "vmstate.h"
#include "vm.h"

const char *const state_names[] = {
	"off", "running", "paused", "saved", "migrating", "crashed", "starting",
};

const char *state_dir;	/* the folder of VM folders */
char what[64];		/* "vm create", ... for error messages */

int vm_dir(const char *name, char *buf, size_t len)
{
	char why[VMMIG_ERRLEN];

	if (vmdef_check_name(name, why)) {
		error_msg(what, "%s", why);
		return -EINVAL;
	}
	snprintf(buf, len, "%s/%s", state_dir, name);
	return 0;
}

bool exists(const char *dir, const char *file)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return !access(path, F_OK);
}

/* Fills @dir for a VM that has a definition; 0 or an exit status. */
int find_vm(const char *name, char *dir, size_t len)
{
	if (vm_dir(name, dir, len))
		return EXIT_USAGE;
	if (!exists(dir, "vm.json")) {
		error_msg(what, "%s: no such VM", name);
		return EXIT_FAIL;
	}
	return 0;
}

/* 1: a VMM holds DIR/vmm.pid; 0: nobody does (or there is none). */
int vmm_alive(const char *dir, pid_t *pid)
{
	char path[PATH_MAX], buf[32] = "";
	int fd, alive = 0;

	snprintf(path, sizeof(path), "%s/vmm.pid", dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK)
		alive = 1;
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

void get_status(const char *dir, struct vm_status *st)
{
	const char *s;
	struct json_object *v;

	memset(st, 0, sizeof(*st));
	if (vmm_alive(dir, NULL)) {
		st->state = VM_STARTING;
		if (ctl_simple(dir, "status", &st->reply, 10000, st->why))
			return;
		json_object_object_get_ex(st->reply, "state", &v);
		s = json_object_get_string(v);
		st->state = !strcmp(s, "paused") ? VM_PAUSED :
			    !strcmp(s, "migrating") ? VM_MIGRATING : VM_RUNNING;
	} else if (exists(dir, "vmm.pid")) {
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

/* The state alone; @why (if given) gets the saved path or crash reason. */
enum vm_state state_of(const char *dir, char *why, size_t len)
{
	struct vm_status st;

	get_status(dir, &st);
	json_object_put(st.reply);
	if (why)
		snprintf(why, len, "%s", st.why);
	return st.state;
}

bool is_live(enum vm_state s)
{
	return s == VM_RUNNING || s == VM_PAUSED || s == VM_MIGRATING || s == VM_STARTING;
}

uint64_t reply_u64(struct json_object *o, const char *path1, const char *key)
{
	struct json_object *v;

	if (path1 && (!o || !json_object_object_get_ex(o, path1, &o)))
		return 0;
	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

const char *reply_str(struct json_object *o, const char *path1, const char *key)
{
	struct json_object *v;

	if (path1 && (!o || !json_object_object_get_ex(o, path1, &o)))
		return NULL;
	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : NULL;
}

const char *fmt_uptime(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ULL;

	if (s >= 3600)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	return buf;
}

/* ---- create ---- */

static int fail_errno(char *why, const char *what_file, const char *path)
{
	int err = -errno;

	snprintf(why, VMMIG_ERRLEN, "%s %s: %s", what_file, path, strerror(errno));
	return err;
}

/*
 * Returns -EINVAL for a malformed command line (exit 2) and another -errno
 * when something named does not exist (exit 1).
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
		{}
	};
	char *end;
	int c, err = 0;

	d->vcpus = 1;
	opterr = 0;
	optind = 0;	/* GNU: start afresh after main()'s own getopt */
	while (!err && (c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (vmdef_parse_size(optarg, &d->memory))
				err = snprintf(why, VMMIG_ERRLEN, "--memory %s is not a size", optarg);
			break;
		case 'c':
			d->vcpus = strtoul(optarg, &end, 10);
			if (*end || !*optarg)
				err = snprintf(why, VMMIG_ERRLEN, "--vcpus %s is not a number", optarg);
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
		default:
			err = snprintf(why, VMMIG_ERRLEN, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (err)
		return err < 0 ? err : -EINVAL;
	if (optind != argc)
		return snprintf(why, VMMIG_ERRLEN, "unexpected argument '%s'", argv[optind]), -EINVAL;
	if (!d->memory)
		return snprintf(why, VMMIG_ERRLEN, "--memory is required"), -EINVAL;
	if (!d->kernel == !d->workload)
		return snprintf(why, VMMIG_ERRLEN, "give either --kernel or --workload"), -EINVAL;
	if (d->workload && (d->initrd || d->cmdline))
		return snprintf(why, VMMIG_ERRLEN, "--initrd and --cmdline go with --kernel"), -EINVAL;
	return 0;
}

void remove_vm_dir(const char *dir)
{
	static const char *const files[] = {
		"vm.json", "vm.json.tmp", "console.log", "vmm.log", "vmm.pid", "saved",
		"saved.tmp", "crashed", "crashed.tmp", CTL_SOCKET,
	};
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* Makes STATE_DIR/NAME with vm.json; nothing is left behind on failure. */
int write_new_vm(const struct vmdef *d, char *dir, size_t len)
{
	char why[VMMIG_ERRLEN];
	int err;

	if (vm_dir(d->name, dir, len))
		return -EINVAL;
	if (mkdir(state_dir, 0755) && errno != EEXIST) {
		error_msg(what, "%s: %s", state_dir, strerror(errno));
		return -errno;
	}
	if (mkdir(dir, 0755)) {
		err = -errno;
		if (err == -EEXIST)
			error_msg(what, "%s: a VM of that name already exists", d->name);
		else
			error_msg(what, "%s: %s", dir, strerror(-err));
		return err;
	}
	err = vmdef_save(d, dir, why);
	if (err) {
		error_msg(what, "%s", why);
		remove_vm_dir(dir);
	}
	return err;
}

static int vm_create(int argc, char **argv)
{
	struct vmdef d = {};
	char why[VMMIG_ERRLEN] = "", dir[PATH_MAX];
	int err;

	if (argc < 2 || argv[1][0] == '-') {
		error_msg(what, "a NAME is required");
		return object_help("vm", true);
	}
	if (vmdef_check_name(argv[1], why)) {
		error_msg(what, "%s", why);
		return EXIT_USAGE;
	}
	snprintf(d.name, sizeof(d.name), "%s", argv[1]);
	err = create_parse(argc - 1, argv + 1, &d, why);
	if (err) {
		error_msg(what, "%s", why);
		vmdef_free(&d);
		return err == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	err = vmdef_validate(&d, why);
	if (!err)
		err = vmdef_cpuid_from_kvm(&d, why);
	if (err)
		error_msg(what, "%s", why);
	else
		err = write_new_vm(&d, dir, sizeof(dir));
	vmdef_free(&d);
	return err ? EXIT_FAIL : EXIT_OK;
}

/* ---- start, restore: spawning the VMM ---- */

static int vmm_path(char *buf, size_t len)
{
	const char *env = getenv("VMMIG_VMM");
	ssize_t n;
	char *slash;

	if (env && *env) {
		snprintf(buf, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", buf, len - 16);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	strcpy(slash ? slash + 1 : buf, "vmmig-vmm");
	return 0;
}

static void vmm_child(const char *dir, const char *vmm, char **args, int ready)
{
	char log[PATH_MAX];
	int fd;

	setsid();
	snprintf(log, sizeof(log), "%s/vmm.log", dir);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		dup2(fd, 0);
	dup2(ready, 3);
	execv(vmm, args);
	dprintf(3, "error: %s: %s\n", vmm, strerror(errno));
	_exit(127);
}

static struct timespec t_start;

static uint64_t mono_ns(const struct timespec *t)
{
	return t->tv_sec * 1000000000ULL + t->tv_nsec;
}

/* Starts the VMM for DIR and waits until it runs the guest or gives up. */
int spawn_vmm(const char *dir, const char *restore, bool paused)
{
	char vmm[PATH_MAX], t0[32], line[VMMIG_ERRLEN + 16];
	char *args[12] = { vmm, "--dir", (char *)dir, "--ready-fd", "3", "--t0", t0 };
	int n = 7, p[2], err, status;
	pid_t pid;

	if (vmm_path(vmm, sizeof(vmm)) || access(vmm, X_OK)) {
		error_msg(what, "%s: %s", vmm, strerror(errno));
		return -ENOENT;
	}
	snprintf(t0, sizeof(t0), "%" PRIu64, mono_ns(&t_start));
	if (restore) {
		args[n++] = "--restore";
		args[n++] = (char *)restore;
	}
	if (paused)
		args[n++] = "--paused";
	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid)
		vmm_child(dir, vmm, args, p[1]);
	close(p[1]);
	err = ctl_read_line(p[0], line, sizeof(line), 120000);
	close(p[0]);
	if (!err && !strcmp(line, "ok"))
		return 0;
	if (!err && !strncmp(line, "error: ", 7))
		error_msg(what, "%s", line + 7);
	else
		error_msg(what, "the VMM exited while starting (see %s/vmm.log)", dir);
	if (waitpid(pid, &status, WNOHANG) == 0)
		kill(pid, SIGKILL), waitpid(pid, &status, 0);
	return -EIO;
}

static int vm_start(int argc, char **argv)
{
	char dir[DIR_MAX], saved[VMMIG_ERRLEN];
	bool paused = argc == 3 && !strcmp(argv[2], "--paused");
	enum vm_state state;
	int rc;

	if (argc < 2 || argc > 3 || (argc == 3 && !paused))
		return object_help("vm", true);
	rc = find_vm(argv[1], dir, sizeof(dir));
	if (rc)
		return rc;
	state = state_of(dir, saved, sizeof(saved));
	if (is_live(state)) {
		error_msg(what, "%s is already %s", argv[1], state_names[state]);
		return EXIT_FAIL;
	}
	/* A saved VM starts from its saved state, as it was. */
	if (state == VM_SAVED) {
		if (access(saved, R_OK)) {
			error_msg(what, "%s: saved state %s: %s", argv[1], saved, strerror(errno));
			return EXIT_FAIL;
		}
	}
	return spawn_vmm(dir, state == VM_SAVED ? saved : NULL, paused) ?
		EXIT_FAIL : EXIT_OK;
}

/* ---- stop, pause, resume, delete ---- */

int wait_gone(const char *dir, int ms)
{
	for (; ms > 0; ms -= 20) {
		if (!vmm_alive(dir, NULL))
			return 0;
		usleep(20000);
	}
	return -ETIMEDOUT;
}

static void clear_markers(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/crashed", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/vmm.pid", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/saved", dir);
	unlink(path);
}

static int force_stop(const char *dir)
{
	struct json_object *rep = NULL;
	char why[VMMIG_ERRLEN];
	pid_t pid = 0;

	if (!ctl_simple(dir, "quit", &rep, 5000, why))
		json_object_put(rep);
	if (!wait_gone(dir, 5000))
		return 0;
	if (vmm_alive(dir, &pid) && pid > 0)
		kill(pid, SIGKILL);
	return wait_gone(dir, 5000);
}

static int vm_stop(int argc, char **argv)
{
	bool force = argc == 3 && !strcmp(argv[2], "--force");
	struct json_object *rep = NULL;
	char dir[DIR_MAX], why[VMMIG_ERRLEN];
	int err, rc;

	if (argc < 2 || argc > 3 || (argc == 3 && !force))
		return object_help("vm", true);
	rc = find_vm(argv[1], dir, sizeof(dir));
	if (rc)
		return rc;
	if (!is_live(state_of(dir, NULL, 0))) {
		/* A crashed or saved VM becomes off; its definition stays. */
		clear_markers(dir);
		return EXIT_OK;
	}
	if (force) {
		err = force_stop(dir);
	} else {
		err = ctl_simple(dir, "stop", &rep, 10000, why);
		json_object_put(rep);
		if (err) {
			error_msg(what, "%s: %s", argv[1], why);
			return EXIT_FAIL;
		}
		err = wait_gone(dir, 60000);
	}
	if (err) {
		error_msg(what, "%s did not stop within %d s%s", argv[1], force ? 10 : 60,
			  force ? "" : " (try --force)");
		return EXIT_FAIL;
	}
	clear_markers(dir);
	return EXIT_OK;
}

/* Sends a command that needs a live VMM. */
/* "NAME" of a running VM: fills @dir and @pid; 0 or an exit status. */
static int running_vm(const char *name, char *dir, pid_t *pid)
{
	int rc = find_vm(name, dir, DIR_MAX);

	if (rc)
		return rc;
	if (!vmm_alive(dir, pid)) {
		error_msg(what, "%s is not running", name);
		return EXIT_FAIL;
	}
	return 0;
}

static int simple_cmd(int argc, char **argv, const char *cmd)
{
	char dir[DIR_MAX], why[VMMIG_ERRLEN];
	struct json_object *r = NULL;
	int rc;

	if (argc != 2)
		return object_help("vm", true);
	rc = running_vm(argv[1], dir, NULL);
	if (rc)
		return rc;
	if (ctl_simple(dir, cmd, &r, 120000, why)) {
		error_msg(what, "%s: %s", argv[1], why);
		return EXIT_FAIL;
	}
	json_object_put(r);
	return EXIT_OK;
}

static int vm_delete(int argc, char **argv)
{
	char dir[DIR_MAX];
	enum vm_state state;
	int rc;

	if (argc != 2)
		return object_help("vm", true);
	rc = find_vm(argv[1], dir, sizeof(dir));
	if (rc)
		return rc;
	state = state_of(dir, NULL, 0);
	if (is_live(state)) {
		error_msg(what, "%s is %s: stop it first", argv[1], state_names[state]);
		return EXIT_FAIL;
	}
	remove_vm_dir(dir);
	if (!access(dir, F_OK)) {
		error_msg(what, "%s: could not remove everything in %s", argv[1], dir);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* ---- dirty pages: through vmmig.ko, see kvm.c ---- */

/*
 * "NAME ARGS...": runs the kvm object's @verb as "@verb --pid PID ARGS...",
 * PID being the VM's running VMM.
 */
static int with_vmm_pid(int argc, char **argv, char *verb, int (*fn)(int, char **))
{
	char dir[DIR_MAX], pidstr[16];
	char *args[argc + 2];
	pid_t pid = 0;
	int ret, i;

	if (argc < 2 || argv[1][0] == '-') {
		error_msg(what, "expected a VM name");
		return object_help("vm", true);
	}
	ret = running_vm(argv[1], dir, &pid);
	if (ret)
		return ret;
	snprintf(pidstr, sizeof(pidstr), "%d", pid);
	args[0] = verb;
	args[1] = "--pid";
	args[2] = pidstr;
	for (i = 2; i < argc; i++)
		args[i + 1] = argv[i];
	args[argc + 1] = NULL;
	return fn(argc + 1, args);
}

/* "NAME [--seconds S] [--sample N]": samples the VM's running VMM. */
static int vm_dirty_rate(int argc, char **argv)
{
	return with_vmm_pid(argc, argv, "dirty-rate", dirty_rate_main);
}

/* "NAME [--mode MODE]": audits the CPUID of the VM's vCPUs. */
static int vm_audit(int argc, char **argv)
{
	return with_vmm_pid(argc, argv, "audit", kvm_audit_main);
}

/* ---- dispatch ---- */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} cmds[] = {
	{ "create", vm_create }, { "list", vm_list }, { "show", vm_show },
	{ "start", vm_start }, { "stop", vm_stop }, { "delete", vm_delete },
	{ "console", vm_console }, { "save", vm_save }, { "restore", vm_restore },
	{ "dirty-log", dirty_log_main }, { "dirty-rate", vm_dirty_rate },
	{ "audit", vm_audit },
};

/* Takes "--state-dir DIR" out of the arguments, wherever it is. */
static int take_state_dir(int *argc, char **argv)
{
	int i;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--state-dir"))
			continue;
		if (i + 1 >= *argc) {
			error_msg("vm", "--state-dir needs a DIR");
			return -EINVAL;
		}
		state_dir = argv[i + 1];
		memmove(&argv[i], &argv[i + 2], (*argc - i - 1) * sizeof(*argv));
		*argc -= 2;
		i--;
	}
	return 0;
}

int vm_main(int argc, char **argv)
{
	size_t i;

	clock_gettime(CLOCK_MONOTONIC, &t_start);
	if (take_state_dir(&argc, argv))
		return EXIT_USAGE;
	state_dir = vmmig_state_dir(state_dir);
	if (argc < 2)
		return vm_list(1, argv);
	if (is_help(argv[1]))
		return object_help("vm", false);
	snprintf(what, sizeof(what), "vm %s", argv[1]);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	if (!strcmp(argv[1], "pause") || !strcmp(argv[1], "resume"))
		return simple_cmd(argc - 1, argv + 1, argv[1]);
	error_msg("vm", "unknown command '%s'", argv[1]);
	return object_help("vm", true);
}
