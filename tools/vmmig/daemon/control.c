// SPDX-License-Identifier: GPL-2.0
/*
 * The CLI's socket (root only): one JSON request per connection, as
 * lib/dctl.h defines them. move waits and streams progress unless detached;
 * monitor keeps the connection for events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "ctl.h"
#include "dctl.h"
#include "vmmigd.h"

int control_listen(const char *path, char *why)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char dir[sizeof(sun.sun_path)], *slash;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(why, VMMIG_ERRLEN, "%s: path too long for a socket", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || chmod(path, 0600) ||
	    listen(fd, 16)) {
		snprintf(why, VMMIG_ERRLEN, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	return fd;
}

static void send_obj(int fd, struct json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);

	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0 || send(fd, "\n", 1, MSG_NOSIGNAL) < 0)
		return;
}

static void send_reply(int fd, int err, const char *why, struct json_object *res)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, DCTL_KEY_OK, json_object_new_boolean(!err));
	json_object_object_add(o, DCTL_KEY_VERSION, json_object_new_int(DCTL_VERSION));
	if (err)
		json_object_object_add(o, DCTL_KEY_ERROR, json_object_new_string(why));
	if (res) {
		json_object_object_foreach(res, k, v)
			json_object_object_add(o, k, json_object_get(v));
	}
	send_obj(fd, o);
	json_object_put(o);
}

/* Waits for the migration to end, passing its progress on. */
static void watch(int fd, struct migration *m)
{
	struct json_object *o, *line;
	struct mig_progress last = { .phase = MIG_NPHASES };
	struct timespec t;
	int err;

	pthread_mutex_lock(&vmmigd.lock);
	for (;;) {
		if (memcmp(&last, &m->progress, sizeof(last))) {
			last = m->progress;
			line = json_object_new_object();
			json_object_object_add(line, DCTL_KEY_MIGRATION, migration_to_json(m));
			pthread_mutex_unlock(&vmmigd.lock);
			send_obj(fd, line);
			json_object_put(line);
			pthread_mutex_lock(&vmmigd.lock);
		}
		if (m->done)
			break;
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 250000000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&m->cond, &vmmigd.lock, &t);
	}
	o = json_object_new_object();
	json_object_object_add(o, DCTL_KEY_MIGRATION, migration_to_json(m));
	err = m->progress.phase == MIG_DONE ? 0 : m->progress.phase == MIG_CANCELLED ? -ECANCELED : -EIO;
	pthread_mutex_unlock(&vmmigd.lock);
	send_reply(fd, err, m->error, o);
	json_object_put(o);
}

/* A move, or a storage move: its thread runs @fn; the CLI watches it, or not (detach). */
static void start(int fd, const struct dctl_request *r, enum mig_dir dir, void *(*fn)(void *))
{
	struct migration *m;
	struct json_object *o;
	char why[VMMIG_ERRLEN];
	pthread_t t;

	if (vmdef_check_name(r->vm, why)) {
		send_reply(fd, -EINVAL, why, NULL);
		return;
	}
	pthread_mutex_lock(&vmmigd.lock);
	m = migration_find(r->vm, true);
	pthread_mutex_unlock(&vmmigd.lock);
	if (m) {
		snprintf(why, sizeof(why), "%s is already %s (migration %llu)", r->vm,
			 m->dir == MIG_OUT ? "moving out" :
			 m->dir == MIG_IN ? "moving in" : "moving its storage",
			 (unsigned long long)m->id);
		send_reply(fd, -EBUSY, why, NULL);
		return;
	}
	m = migration_new(dir, r->vm);
	m->storage_req = r->storage;
	if (dir == MIG_OUT) {
		snprintf(m->to, sizeof(m->to), "%s", r->to);
		m->opts = r->mig;
		m->opts.transport_auth = false;		/* vmmigd's to set, not the user's */
		m->opts.storage = r->storage.include;
		m->dry_run = r->dry_run;
	}
	pthread_mutex_lock(&vmmigd.lock);
	slot_join(m);
	pthread_mutex_unlock(&vmmigd.lock);
	if (pthread_create(&t, NULL, fn, m)) {
		migration_fail(m, MIG_FAILED, "cannot start a thread");
		send_reply(fd, -EAGAIN, m->error, NULL);
		return;
	}
	pthread_detach(t);
	if (!r->detach) {
		watch(fd, m);
		return;
	}
	o = json_object_new_object();
	pthread_mutex_lock(&vmmigd.lock);
	json_object_object_add(o, DCTL_KEY_MIGRATION, migration_to_json(m));
	pthread_mutex_unlock(&vmmigd.lock);
	send_reply(fd, 0, NULL, o);
	json_object_put(o);
}

static void move(int fd, const struct dctl_request *r)
{
	const struct mig_storage *st = &r->storage;

	if (!r->to[0]) {
		send_reply(fd, -EINVAL, "move needs --to HOST", NULL);
		return;
	}
	if (!st->include && (st->path[0] || st->nmaps || st->keep_source)) {
		send_reply(fd, -EINVAL,
			   "--storage-path, --disk and --keep-source go with --include-storage", NULL);
		return;
	}
	start(fd, r, MIG_OUT, source_run);
}

static void storage_move(int fd, const struct dctl_request *r)
{
	start(fd, r, MIG_STORAGE, storage_run);
}

static void list(int fd, const struct dctl_request *r)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	struct migration *m;
	char why[VMMIG_ERRLEN];
	int err = 0;

	pthread_mutex_lock(&vmmigd.lock);
	for (m = vmmigd.migrations; m; m = m->next)
		if (!r->vm[0] || !strcmp(r->vm, m->vm))
			json_object_array_add(a, migration_to_json(m));
	pthread_mutex_unlock(&vmmigd.lock);
	if (r->cmd == DCTL_SHOW && !json_object_array_length(a)) {
		snprintf(why, sizeof(why), "no migration of %s on %s", r->vm, vmmigd.host);
		err = -ENOENT;
	}
	json_object_object_add(o, DCTL_KEY_MIGRATIONS, a);
	send_reply(fd, err, why, o);
	json_object_put(o);
}

static void cancel(int fd, const struct dctl_request *r)
{
	char why[VMMIG_ERRLEN];
	struct migration *m;
	unsigned int i;
	int err = 0;

	pthread_mutex_lock(&vmmigd.lock);
	m = migration_find(r->vm, true);
	if (!m) {
		snprintf(why, sizeof(why), "%s is not migrating on %s", r->vm, vmmigd.host);
		err = -ENOENT;
	} else if (m->dir == MIG_IN) {
		snprintf(why, sizeof(why), "%s is arriving from %s: cancel it there", r->vm, m->peer);
		err = -EINVAL;
	} else if (m->progress.phase >= MIG_COMMIT) {
		snprintf(why, sizeof(why), "%s: the switchover is committed, too late to cancel",
			 r->vm);
		err = -EBUSY;
	} else {
		m->cancel = true;
		/*
		 * The VMM takes the end of its connection as a cancel: its
		 * streams fail at once and it resumes the VM.
		 */
		if (m->vmm_fd >= 0)
			shutdown(m->vmm_fd, SHUT_WR);
		for (i = 0; i < m->nsock; i++)
			shutdown(m->sock[i], SHUT_RDWR);
		pthread_cond_broadcast(&vmmigd.cond);
	}
	pthread_mutex_unlock(&vmmigd.lock);
	send_reply(fd, err, why, NULL);
}

static void cluster(int fd, const struct dctl_request *r)
{
	struct json_object *o = NULL;
	char why[VMMIG_ERRLEN] = "";
	int err = 0;

	switch (r->cmd) {
	case DCTL_CLUSTER_ADD:
		err = r->to[0] ? cluster_add(r->to, why) : -EINVAL;
		if (!r->to[0])
			snprintf(why, sizeof(why), "cluster add needs a HOST");
		break;
	case DCTL_CLUSTER_REMOVE:
		err = r->to[0] ? cluster_remove(r->to, why) : -EINVAL;
		if (!r->to[0])
			snprintf(why, sizeof(why), "cluster remove needs a HOST");
		break;
	case DCTL_CLUSTER_FEATURES:
		o = json_object_new_object();
		json_object_object_add(o, DCTL_KEY_FEATURES, cluster_features_json());
		break;
	default:
		break;
	}
	if (!o && !err) {
		o = json_object_new_object();
		json_object_object_add(o, DCTL_KEY_MEMBERS, cluster_list_json());
	}
	send_reply(fd, err, why, o);
	json_object_put(o);
}

static void network(int fd, const struct dctl_request *r)
{
	struct json_object *o = NULL;
	char why[VMMIG_ERRLEN] = "";
	int err = 0;

	if (r->cmd != DCTL_NETWORK_LIST && r->cmd != DCTL_NETWORK_ANY && !r->network[0]) {
		send_reply(fd, -EINVAL, "which network? ADDR/PREFIX", NULL);
		return;
	}
	if ((r->cmd == DCTL_NETWORK_SET || r->priority) &&
	    (r->priority < 1 || r->priority > NETWORK_PRIORITY_MAX)) {
		snprintf(why, sizeof(why), "priority %u is out of range (1..%u)", r->priority,
			 NETWORK_PRIORITY_MAX);
		send_reply(fd, -ERANGE, why, NULL);
		return;
	}
	switch (r->cmd) {
	case DCTL_NETWORK_ADD:
		err = network_add(r->network, r->priority, why);
		break;
	case DCTL_NETWORK_DEL:
		err = network_del(r->network, why);
		break;
	case DCTL_NETWORK_SET:
		err = network_set_priority(r->network, r->priority, why);
		break;
	case DCTL_NETWORK_ANY:
		err = network_use_any(r->on, why);
		break;
	default:
		break;
	}
	if (!err) {
		o = json_object_new_object();
		json_object_object_add(o, DCTL_KEY_NETWORKS, networks_json());
	}
	send_reply(fd, err, why, o);
	json_object_put(o);
}

static void stats(int fd)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, DCTL_KEY_STATS, netbpf_stats_json());
	send_reply(fd, 0, NULL, o);
	json_object_put(o);
}

static void check(int fd, const struct dctl_request *r)
{
	struct json_object *o;
	char why[VMMIG_ERRLEN];

	if (vmdef_check_name(r->vm, why) || !r->to[0]) {
		send_reply(fd, -EINVAL, r->to[0] ? why : "check needs --to HOST", NULL);
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, DCTL_KEY_CHECK, check_run(r->vm, r->to, &r->storage));
	send_reply(fd, 0, NULL, o);
	json_object_put(o);
}

/* @dir names the folder vmmigd serves (both made absolute). */
static bool own_state_dir(const char *dir)
{
	char *a = realpath(dir, NULL), *b = realpath(vmmigd.state_dir, NULL);
	bool same = a && b ? !strcmp(a, b) : !strcmp(dir, vmmigd.state_dir);

	free(a);
	free(b);
	return same;
}

/* vm-start, vm-restore: the VMM as vmmigd's child, supervised (supervise.c). */
static void vm_spawn(int fd, const struct dctl_request *r)
{
	struct json_object *o = json_object_new_object();
	char name[VMDEF_NAME_MAX + 1] = "";
	struct vmctl c;
	int err = 0;

	if (!own_state_dir(r->state_dir)) {
		json_object_object_add(o, DCTL_KEY_SUPERVISED, json_object_new_boolean(false));
		send_reply(fd, 0, NULL, o);
		json_object_put(o);
		return;
	}
	vmctl_init(&c, vmmigd.state_dir);
	if (r->cmd == DCTL_VM_START) {
		err = vmctl_start(&c, r->vm, r->paused);
		snprintf(name, sizeof(name), "%s", r->vm);
	} else if (r->path[0] != '/') {
		err = -EINVAL;
		snprintf(c.err, sizeof(c.err), "vm-restore needs an absolute path");
	} else {
		err = vmctl_restore(&c, r->path, r->vm[0] ? r->vm : NULL, r->paused, name);
	}
	if (!err) {
		supervise_started(&c, name, r->cmd == DCTL_VM_START ? "started" : "restored");
		json_object_object_add(o, DCTL_KEY_SUPERVISED, json_object_new_boolean(true));
		json_object_object_add(o, DCTL_KEY_VM, json_object_new_string(name));
		json_object_object_add(o, DCTL_KEY_PID, json_object_new_int(c.vmm_pid));
		if (c.warn[0])
			json_object_object_add(o, DCTL_KEY_WARNING, json_object_new_string(c.warn));
	}
	send_reply(fd, err, c.err, o);
	json_object_put(o);
}

static void status(int fd)
{
	struct json_object *o = json_object_new_object();
	unsigned int active;

	pthread_mutex_lock(&vmmigd.lock);
	active = vmmigd.active;
	pthread_mutex_unlock(&vmmigd.lock);
	json_object_object_add(o, "host", json_object_new_string(vmmigd.host));
	json_object_object_add(o, "port", json_object_new_int(vmmigd.port));
	json_object_object_add(o, "active", json_object_new_int(active));
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	send_reply(fd, 0, NULL, o);
	json_object_put(o);
}

void *control_client(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct dctl_request *r = calloc(1, sizeof(*r));
	char why[VMMIG_ERRLEN] = "", *line = malloc(DCTL_LINE_MAX);
	struct json_object *o = NULL;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int err;

	if (!r || !line)
		goto out;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.uid != 0) {
		send_reply(fd, -EPERM, "vmmigd serves root only", NULL);
		goto out;
	}
	err = ctl_read_line(fd, line, DCTL_LINE_MAX, 5000);
	if (err)
		goto out;
	o = json_tokener_parse(line);
	err = dctl_request_from_json(o, r, why);
	if (err) {
		send_reply(fd, err, why, NULL);
		goto out;
	}
	switch (r->cmd) {
	case DCTL_STATUS:
		status(fd);
		break;
	case DCTL_MOVE:
		move(fd, r);
		break;
	case DCTL_LIST:
	case DCTL_SHOW:
		list(fd, r);
		break;
	case DCTL_CANCEL:
		cancel(fd, r);
		break;
	case DCTL_MONITOR:
		send_reply(fd, 0, NULL, NULL);
		event_watch(fd);
		fd = -1;
		break;
	case DCTL_CLUSTER_ADD:
	case DCTL_CLUSTER_REMOVE:
	case DCTL_CLUSTER_LIST:
	case DCTL_CLUSTER_FEATURES:
		cluster(fd, r);
		break;
	case DCTL_CHECK:
		check(fd, r);
		break;
	case DCTL_STATS:
		stats(fd);
		break;
	case DCTL_NETWORK_ADD:
	case DCTL_NETWORK_DEL:
	case DCTL_NETWORK_SET:
	case DCTL_NETWORK_LIST:
	case DCTL_NETWORK_ANY:
		network(fd, r);
		break;
	case DCTL_STORAGE_MOVE:
		storage_move(fd, r);
		break;
	case DCTL_VM_START:
	case DCTL_VM_RESTORE:
		vm_spawn(fd, r);
		break;
	case DCTL_NCMDS:
		break;
	}
out:
	json_object_put(o);
	free(line);
	free(r);
	if (fd >= 0)
		close(fd);
	return NULL;
}
