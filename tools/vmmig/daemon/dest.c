// SPDX-License-Identifier: GPL-2.0
/*
 * Taking a VM in. The VM's folder is made from the definition that came
 * with the request, marked incoming; the VMM reads the streams
 * (vmmig-vmm --incoming) and waits, paused. READY goes to the source; COMMIT
 * resumes the VM here, ABORT (or a failure before READY) removes it.
 *
 * The control connection lost after READY leaves the outcome open: the
 * source may have committed. The VM stays paused while this host asks the
 * source (OUTCOME); committed resumes it, aborted removes it, and no answer
 * leaves it paused and reported, never run twice.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "ctl.h"
#include "vmmigd.h"

#define STREAMS_MS	30000
#define COMMIT_MS	(10 * 60 * 1000)
#define OUTCOME_TRIES	30
/* How long a failed load keeps the streams open for the source to hear why. */
#define ABORT_HEARD_MS	5000

struct dest {
	struct migration *m;
	struct tls_conn *ctl;
	char source[300];		/* the source's listener, to ask the outcome */
	char dir[4096];
	bool created, started;
	struct storage_plan plan;	/* with storage: the images made here */
	char why[VMMIG_ERRLEN];
};

static void reply(struct tls_conn *c, enum frame_type type, const char *reason)
{
	struct json_object *o = json_object_new_object();

	if (reason)
		json_object_object_add(o, "reason", json_object_new_string(reason));
	peer_send(c, type, o);
	json_object_put(o);
}

static void ready_mark(struct dest *d)
{
	char path[4200], text[400];

	snprintf(path, sizeof(path), "%s/%s", d->dir, CTL_INCOMING_FILE);
	snprintf(text, sizeof(text), "%s\n%s\nready\n", d->source, d->m->token);
	write_file_atomic(path, text);
}

static void marker(struct dest *d, bool on)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", d->dir, CTL_INCOMING_FILE);
	if (on) {
		char text[400];

		snprintf(text, sizeof(text), "%s\n%s\n", d->source, d->m->token);
		write_file_atomic(path, text);
	}
	else
		unlink(path);
}

/* Where the disks go, as the source planned it, checked here as `vmmig check` does. */
static int storage_plan(struct dest *d, struct json_object *req, const struct vmdef *def)
{
	struct issues is = { 0 };
	struct json_object *v;
	int err = 0;

	if (!json_object_object_get_ex(req, "storage", &v) ||
	    storage_plan_from_json(v, def, &d->plan, d->why))
		return -EPROTO;
	storage_check(&d->plan, def->name, &is);
	if (is.errors) {
		issues_why(&is, d->why);
		err = -EPERM;
	}
	json_object_put(is.a);
	return err;
}

/*
 * The new images, sparse, each listed in the folder as soon as it exists:
 * a failed move, or a restart of vmmigd before the VM arrived, removes
 * them (drop()).
 */
static int list_made(void *arg)
{
	struct dest *d = arg;
	char path[4200], *list = calloc(d->plan.n, MIG_PATH_MAX + 1);
	size_t len = 0;
	unsigned int i;
	int err;

	for (i = 0; list && i < d->plan.n; i++)
		if (d->plan.d[i].created)
			len += sprintf(list + len, "%s\n", d->plan.d[i].dst);
	snprintf(path, sizeof(path), "%s/%s", d->dir, CTL_INCOMING_DISKS_FILE);
	err = !list || write_file_atomic(path, list);
	if (err)
		snprintf(d->why, sizeof(d->why), "cannot write %.200s", path);
	free(list);
	return err;
}

static int storage_make(struct dest *d)
{
	int err = storage_create(&d->plan, list_made, d, d->why);

	if (err)
		storage_remove_made(&d->plan);
	return err;
}

/* The images made here for an incoming VM that did not arrive. */
static void storage_drop(struct dest *d)
{
	char path[4200], *text = NULL, *line, *save;

	snprintf(path, sizeof(path), "%s/%s", d->dir, CTL_INCOMING_DISKS_FILE);
	if (read_file(path, &text))
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (unlink(line) && errno != ENOENT)
			event(EV_MIG_IN_FAILED, d->m, "%s: cannot remove %s: %s", d->m->vm, line,
			      strerror(errno));
	free(text);
	unlink(path);
}

/* The request's checks and the VM's folder; 0, or a refusal in d->why. */
static int prepare(struct dest *d, struct json_object *req, struct vmdef *def)
{
	struct migration *m = d->m;
	struct json_object *v;
	struct vmdef other;
	struct vmctl c;
	char why[VMMIG_ERRLEN];
	int err;

	vmctl_init(&c, vmmigd.state_dir);
	snprintf(d->m->token, sizeof(d->m->token), "%s", jstr(req, "token"));
	if (strlen(d->m->token) != 2 * MIG_TOKEN_LEN ||
	    !json_object_object_get_ex(req, "definition", &v) || vmdef_from_json(def, v, why) ||
	    !json_object_object_get_ex(req, "migration", &v) ||
	    mig_opts_from_json(v, &m->opts, why)) {
		snprintf(d->why, sizeof(d->why), "malformed request");
		return -EPROTO;
	}
	if (!json_object_object_get_ex(req, "state_version", &v) ||
	    json_object_get_int(v) > VMSTATE_VERSION) {
		snprintf(d->why, sizeof(d->why), "%s reads VM state up to version %d",
			 vmmigd.host, VMSTATE_VERSION);
		return -EPROTO;
	}
	snprintf(m->vm, sizeof(m->vm), "%s", def->name);
	memcpy(m->uuid, def->uuid, sizeof(m->uuid));
	if (!settings_migration_enabled(d->why))
		return -EPERM;
	if (!vmctl_load(&c, def->name, &other)) {
		vmdef_free(&other);
		snprintf(d->why, sizeof(d->why), "a VM named %s exists on %s", def->name,
			 vmmigd.host);
		return -EEXIST;
	}
	if (m->opts.storage) {
		err = storage_plan(d, req, def);
		if (err)
			return err;
		storage_apply(&d->plan, def);
	}
	err = vmctl_create(&c, def);
	if (err) {
		snprintf(d->why, sizeof(d->why), "%s", c.err);
		return err;
	}
	d->created = true;
	vmctl_dir(&c, def->name, d->dir, sizeof(d->dir));
	marker(d, true);
	return m->opts.storage ? storage_make(d) : 0;
}

/* The source spoke (ABORT: it was cancelled) or left before the streams. */
static bool source_left(struct dest *d)
{
	struct json_object *r = NULL;
	char why[VMMIG_ERRLEN];
	int type;

	if (peer_wait(d->ctl, 0))
		return false;
	type = peer_recv(d->ctl, &r, 1000, why);
	snprintf(d->why, sizeof(d->why), "%s", type == FRAME_ABORT ?
		 "the source aborted: " : "the source left before its streams");
	if (type == FRAME_ABORT)
		snprintf(d->why + strlen(d->why), sizeof(d->why) - strlen(d->why), "%.200s",
			 jstr(r, "reason"));
	json_object_put(r);
	return true;
}

/* Every stream attached (dest_stream), or none in time, or the source left. */
static int wait_streams(struct dest *d)
{
	struct migration *m = d->m;
	uint64_t end = now_ns() + STREAMS_MS * 1000000ULL;
	struct timespec t;
	bool all;

	for (;;) {
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_nsec += 200000000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&vmmigd.lock);
		if (m->nstreams < m->opts.streams && !m->cancel)
			pthread_cond_timedwait(&m->cond, &vmmigd.lock, &t);
		all = m->nstreams == m->opts.streams;
		pthread_mutex_unlock(&vmmigd.lock);
		if (all)
			return 0;
		if (source_left(d))
			return -ECONNABORTED;
		if (m->cancel || now_ns() > end)
			break;
	}
	snprintf(d->why, sizeof(d->why), "%u of %u streams arrived", m->nstreams,
		 m->opts.streams);
	return -ETIMEDOUT;
}

/* The folder of @m's VM. */
static int vm_dir(const struct migration *m, char *dir, size_t len)
{
	struct vmctl vc;

	vmctl_init(&vc, vmmigd.state_dir);
	return vmctl_dir(&vc, m->vm, dir, len);
}

/*
 * A record of a stream failed its check in vmmigd's relay (no kTLS): the
 * VMM, which saw only the stream end, fails the load at once with that
 * reason rather than wait for a replacement, as with kTLS.
 */
static void bad_record(void *ctx)
{
	struct migration *m = ctx;
	char dir[4096], why[VMMIG_ERRLEN];

	if (!vm_dir(m, dir, sizeof(dir)))
		ctl_swap_abort(dir, VMSTATE_CORRUPT_RECORD, why);
}

/* What the VMM reads of stream @c. */
static int stream_fd(struct migration *m, struct tls_conn *c, char *why)
{
	tls_on_bad_record(c, bad_record, m);
	return tls_plain_fd(c, why);
}

/* The VMM reads the streams; returns when the VM is in, paused. */
static int load(struct dest *d)
{
	struct migration *m = d->m;
	int fds[MIG_MAX_STREAMS], err = 0;
	unsigned int i, n = 0;
	struct vmctl c;

	/*
	 * From here a stream's replacement goes to the VMM (dest_stream()).
	 * Under the lock: a replacement frees the connection it replaces.
	 */
	pthread_mutex_lock(&vmmigd.lock);
	m->streams_taken = true;
	for (i = 0; i < m->opts.streams && !err; i++) {
		fds[i] = stream_fd(m, m->stream[i], d->why);
		if (fds[i] < 0)
			err = fds[i];
		else
			n++;
	}
	if (n)
		tls_describe(m->stream[0], m->transport, sizeof(m->transport));
	pthread_mutex_unlock(&vmmigd.lock);
	migration_set_phase(m, MIG_PRECOPY);
	vmctl_init(&c, vmmigd.state_dir);
	if (!err) {
		err = vmctl_start_incoming(&c, m->vm, fds, n);
		d->started = !err;
		if (err)
			snprintf(d->why, sizeof(d->why), "%s", c.err);
		else
			supervise_started(&c, m->vm, "arriving");
	}
	for (i = 0; i < n; i++)
		close(fds[i]);
	return err;
}

/*
 * The source speaks during the copy only to give up (ABORT), or goes away:
 * its VMM's streams then wait for no replacement (they would, for
 * MIG_SWAP_WAIT_S). The frame itself is read after load(). The watch ends
 * the moment load() returns (@stop): the VM's downtime waits for it.
 */
struct watch {
	struct dest *d;
	int stop;		/* eventfd, written when load() returned */
};

static void *watch_source(void *arg)
{
	struct watch *w = arg;
	struct pollfd p[2] = { { tls_fd(w->d->ctl), POLLIN, 0 }, { w->stop, POLLIN, 0 } };
	char why[VMMIG_ERRLEN];
	int r;

	do
		r = poll(p, 2, -1);
	while (r < 0 && errno == EINTR);
	if (r > 0 && !p[1].revents)
		ctl_swap_abort(w->d->dir, NULL, why);
	return NULL;
}

/*
 * The VMM has read the streams to their end (or failed): vmmigd's side of
 * each goes, its socket and, through the relay, its thread. Kept, a
 * handed-off socket held the connection open (CLOSE-WAIT) for ever, two
 * descriptors per stream and move. A replacement arriving later is refused.
 */
static void streams_close(struct migration *m)
{
	struct tls_conn *c[MIG_MAX_STREAMS];
	unsigned int i, n;

	pthread_mutex_lock(&vmmigd.lock);
	m->streams_closed = true;
	while (m->resuming)
		pthread_cond_wait(&m->cond, &vmmigd.lock);
	n = m->nstreams;
	for (i = 0; i < n; i++) {
		c[i] = m->stream[i];
		m->stream[i] = NULL;
	}
	pthread_mutex_unlock(&vmmigd.lock);
	for (i = 0; i < n; i++)
		tls_free(c[i]);
}

static int load_watched(struct dest *d)
{
	struct watch w = { .d = d, .stop = eventfd(0, EFD_CLOEXEC) };
	pthread_t t;
	bool watched = w.stop >= 0 && !pthread_create(&t, NULL, watch_source, &w);
	int err = load(d);

	if (watched) {
		eventfd_write(w.stop, 1);
		pthread_join(t, NULL);
	}
	if (w.stop >= 0)
		close(w.stop);
	return err;
}

static void drop(struct dest *d)
{
	struct vmctl c;
	struct ctl_request r = { .cmd = CTL_REQ_INCOMING_END, .commit = false };
	struct json_object *rep = NULL;
	char why[VMMIG_ERRLEN];

	vmctl_init(&c, vmmigd.state_dir);
	if (d->started && !ctl_call(d->dir, &r, &rep, 5000, why))
		json_object_put(rep);
	if (d->created) {
		/* The VMM has ended: nothing holds the images any more. */
		vmctl_wait(&c, d->m->vm, 10000);
		storage_drop(d);
		vmctl_wait(&c, d->m->vm, 10000);
		if (vmctl_delete(&c, d->m->vm))
			event(EV_MIG_IN_FAILED, d->m, "%s: cannot remove its folder: %s", d->m->vm,
			      c.err);
	}
}

static int resume(struct dest *d)
{
	struct ctl_request r = { .cmd = CTL_REQ_INCOMING_END, .commit = true };
	struct json_object *rep = NULL;
	int err;

	err = ctl_call(d->dir, &r, &rep, 10000, d->why);
	json_object_put(rep);
	if (!err)
		marker(d, false);
	return err;
}

/* Asks the source how the switchover ended: 1 committed, 0 aborted, <0 unknown. */
static int ask_outcome(struct dest *d)
{
	struct json_object *o, *r = NULL;
	char why[VMMIG_ERRLEN];
	struct tls_conn *c;
	int type, i, err, ret = -EAGAIN;

	for (i = 0; i < OUTCOME_TRIES && ret == -EAGAIN; i++) {
		if (i)
			sleep(1);
		c = peer_connect(d->source, &err, why);
		if (!c)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "token", json_object_new_string(d->m->token));
		type = peer_send(c, FRAME_OUTCOME, o);
		json_object_put(o);
		if (!type)
			type = peer_recv(c, &r, VMMIG_TLS_TIMEOUT_MS, why);
		if (type == FRAME_OUTCOME_ACK) {
			const char *s = jstr(r, "outcome");

			ret = !strcmp(s, "committed") ? 1 : !strcmp(s, "aborted") ? 0 : -EAGAIN;
			if (!strcmp(s, "unknown"))
				ret = -ENOENT;
		}
		json_object_put(r);
		r = NULL;
		tls_free(c);
	}
	return ret;
}

static void finish(struct dest *d)
{
	struct migration *m = d->m;
	struct json_object *r = NULL;
	char why[VMMIG_ERRLEN], path[4200];
	int type, outcome;

	if (d->ctl) {
		type = peer_recv(d->ctl, &r, COMMIT_MS, why);
	} else {
		type = -ENOTCONN;
		snprintf(why, sizeof(why), "vmmigd restarted");
	}
	if (type == FRAME_COMMIT) {
		outcome = 1;
	} else if (type == FRAME_ABORT) {
		outcome = 0;
		snprintf(d->why, sizeof(d->why), "the source aborted: %s", jstr(r, "reason"));
	} else {
		event(EV_MIG_IN_UNKNOWN, m, "%s: lost %s before the decision (%s): asking it",
		      m->vm, m->peer, type < 0 ? why : frame_type_name(type));
		outcome = ask_outcome(d);
		snprintf(d->why, sizeof(d->why), "the connection to %s was lost before the commit",
			 m->peer);
	}
	json_object_put(r);
	if (outcome == 1) {
		migration_set_phase(m, MIG_COMMIT);
		if (resume(d)) {
			migration_fail(m, MIG_UNKNOWN, "committed, but the VM did not resume: %s",
				       d->why);
			event(EV_MIG_IN_UNKNOWN, m, "%s: %s", m->vm, m->error);
			return;
		}
		if (type == FRAME_COMMIT)
			reply(d->ctl, FRAME_RESUMED, NULL);
		/* The images are the VM's now. */
		snprintf(path, sizeof(path), "%s/%s", d->dir, CTL_INCOMING_DISKS_FILE);
		unlink(path);
		migration_set_phase(m, MIG_DONE);
		event(EV_MIG_IN_DONE, m, "%s: arrived from %s and runs here", m->vm, m->peer);
		return;
	}
	if (outcome == 0) {
		drop(d);
		migration_fail(m, MIG_FAILED, "%s", d->why);
		event(EV_MIG_IN_FAILED, m, "%s: %s; removed here", m->vm, d->why);
		return;
	}
	migration_fail(m, MIG_UNKNOWN, "%s did not say how the switchover ended: the VM stays paused here",
		       m->peer);
	event(EV_MIG_IN_UNKNOWN, m, "%s: %s", m->vm, m->error);
}

static void source_addr(struct dest *d, int fd, int port)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);
	char ip[INET6_ADDRSTRLEN] = "";

	if (getpeername(fd, (struct sockaddr *)&a, &len))
		return;
	if (a.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)&a;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			snprintf(d->source, sizeof(d->source), "%s:%d", ip + 7, port);
		else
			snprintf(d->source, sizeof(d->source), "[%s]:%d", ip, port);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&a)->sin_addr, ip, sizeof(ip));
		snprintf(d->source, sizeof(d->source), "%s:%d", ip, port);
	}
}

void dest_session(struct tls_conn *c, struct json_object *hello)
{
	struct dest d = { .ctl = c };
	struct json_object *o, *req = NULL, *v;
	struct vmdef def = { 0 };
	char why[VMMIG_ERRLEN];
	uint64_t probe_first = 0, probe_bytes = 0;
	struct migration *m;
	int type, err;

	o = peer_hello();
	err = peer_send(c, FRAME_HELLO, o);
	json_object_put(o);
	type = err ? err : peer_recv(c, &req, VMMIG_TLS_TIMEOUT_MS, why);
	/*
	 * The source measures the path first: PROBE frames, each acknowledged
	 * with what arrived since the first and in how long. That is the
	 * path's steady pace, without the first frame's connection warming up.
	 */
	while (type == FRAME_PROBE || type == FRAME_CHECK) {
		if (type == FRAME_CHECK) {
			check_serve(c, req);
			json_object_put(req);
			req = NULL;
			type = peer_recv(c, &req, VMMIG_TLS_TIMEOUT_MS, why);
			continue;
		}
		uint64_t t = now_ns();

		if (!probe_first)
			probe_first = t;
		else if (json_object_object_get_ex(req, "bytes", &v))
			probe_bytes += json_object_get_uint64(v);
		json_object_put(req);
		req = NULL;
		o = json_object_new_object();
		json_object_object_add(o, "ok", json_object_new_boolean(true));
		json_object_object_add(o, "bytes", json_object_new_uint64(probe_bytes));
		json_object_object_add(o, "ns", json_object_new_uint64(t - probe_first));
		err = peer_send(c, FRAME_PROBE_ACK, o);
		json_object_put(o);
		type = err ? err : peer_recv(c, &req, VMMIG_TLS_TIMEOUT_MS, why);
	}
	if (type != FRAME_REQUEST) {
		json_object_put(req);
		return;
	}
	m = migration_new(MIG_IN, "");
	d.m = m;
	snprintf(m->peer, sizeof(m->peer), "%s", tls_peer_name(c));
	source_addr(&d, tls_fd(c), json_object_object_get_ex(hello, "port", &v) ?
		    json_object_get_int(v) : MIG_DEFAULT_PORT);
	err = prepare(&d, req, &def);
	json_object_put(req);
	vmdef_free(&def);
	if (err) {
		reply(c, FRAME_REFUSE, d.why);
		drop(&d);
		migration_fail(m, MIG_FAILED, "refused: %s", d.why);
		event(EV_MIG_IN_FAILED, m, "%s: refused %s from %s: %s", m->vm[0] ? m->vm : "a VM",
		      m->vm, m->peer, d.why);
		return;
	}
	/* Over the limit: the source waits in line, told so. */
	if (settings_max_migrations() <= vmmigd.active)
		reply(c, FRAME_QUEUED, "max-migrations reached");
	else if (m->opts.storage && settings_max_storage_migrations() <= vmmigd.storage_active)
		reply(c, FRAME_QUEUED, "max-storage-migrations reached");
	if (!slot_get(m)) {
		reply(c, FRAME_REFUSE, "cancelled");
		drop(&d);
		migration_fail(m, MIG_CANCELLED, "cancelled while queued");
		return;
	}
	event(EV_MIG_IN_START, m, "%s: arriving from %s", m->vm, m->peer);
	reply(c, FRAME_ACCEPT, NULL);
	err = wait_streams(&d);
	if (!err)
		err = load_watched(&d);
	if (err) {
		reply(c, FRAME_ABORT, d.why);
		drop(&d);
		/*
		 * The source hears why before its streams end under its
		 * writes (which would fail the move with a reason of its own):
		 * it speaks or hangs up once it has given up.
		 */
		poll(&(struct pollfd){ .fd = tls_fd(c), .events = POLLIN }, 1, ABORT_HEARD_MS);
		streams_close(m);
		migration_fail(m, MIG_FAILED, "%s", d.why);
		event(EV_MIG_IN_FAILED, m, "%s: %s; removed here", m->vm, d.why);
		slot_put(m);
		return;
	}
	streams_close(m);
	migration_set_phase(m, MIG_STOPCOPY);
	/* From now on the source may commit: a restart asks it (dest_recover). */
	ready_mark(&d);
	o = json_object_new_object();
	if (m->opts.verify) {
		/* The disks' hash too when they came with it. */
		struct ctl_request sreq = { .cmd = CTL_REQ_STATUS, .disk_hash = m->opts.storage,
					    .has_disk_hash = m->opts.storage };
		struct ctl_status *st = calloc(1, sizeof(*st));
		struct json_object *rep = NULL;
		char h[24];

		/* Hashing large disks takes long: the VMM answers when done. */
		if (st && !ctl_call(d.dir, &sreq, &rep, m->opts.storage ? 600000 : 60000, why) &&
		    !ctl_status_from_json(rep, st, why) && st->has_memory_hash) {
			snprintf(h, sizeof(h), "0x%llx", (unsigned long long)st->memory_hash);
			json_object_object_add(o, "memory_hash", json_object_new_string(h));
			if (st->has_disk_hash) {
				snprintf(h, sizeof(h), "0x%llx", (unsigned long long)st->disk_hash);
				json_object_object_add(o, "disk_hash", json_object_new_string(h));
			}
		}
		json_object_put(rep);
		free(st);
	}
	peer_send(c, FRAME_READY, o);
	json_object_put(o);
	finish(&d);
	slot_put(m);
}

/* A stream of an incoming migration: kept until its migration takes it. */
/*
 * A stream's new connection, in place of one that failed mid-copy (another
 * migration network): the VMM, once it reads the streams, takes it over its
 * CTL_SWAP_SOCKET; before, it simply takes the new one.
 */
static void resume_stream(struct migration *m, struct tls_conn *c, unsigned int index)
{
	char dir[4096], why[VMMIG_ERRLEN];
	struct tls_conn *old;
	bool taken;
	int fd, err;

	old = m->stream[index];
	m->stream[index] = c;
	taken = m->streams_taken;
	m->resuming++;
	stream_net_fill(&m->net[index], tls_fd(c), NULL);
	pthread_mutex_unlock(&vmmigd.lock);
	netbpf_stream(m, index, tls_fd(c), network_priority(m->net[index].network));
	reply(c, FRAME_STREAM_ACK, NULL);
	event(EV_MIG_IN_STREAM, m, "%s: stream %u comes again, over network %s", m->vm, index,
	      m->net[index].network);
	if (taken) {
		vm_dir(m, dir, sizeof(dir));
		fd = stream_fd(m, c, why);
		err = fd < 0 ? fd : ctl_swap_give(dir, index, fd, 10000, why);
		if (fd >= 0)
			close(fd);
		if (err)
			event(EV_MIG_IN_STREAM, m, "%s: stream %u: the VMM did not take it: %s", m->vm,
			      index, why);
	}
	if (old)
		tls_free(old);
	/* streams_close() may free @c now. */
	pthread_mutex_lock(&vmmigd.lock);
	m->resuming--;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&vmmigd.lock);
}

void dest_stream(struct tls_conn *c, struct json_object *frame)
{
	const char *token = jstr(frame, "token");
	struct json_object *v;
	struct migration *m;
	int index = json_object_object_get_ex(frame, "index", &v) ? json_object_get_int(v) : -1;
	bool resume = json_object_object_get_ex(frame, "resume", &v) && json_object_get_boolean(v);

	pthread_mutex_lock(&vmmigd.lock);
	m = migration_by_token(MIG_IN, token);
	if (m && m->done)
		m = NULL;
	if (resume && m && !m->streams_closed && index >= 0 && index < (int)m->nstreams &&
	    !strcmp(tls_peer_name(c), m->peer)) {
		resume_stream(m, c, index);	/* unlocks */
		return;
	}
	/* Streams come in order, each from the migration's source. */
	if (!m || m->streams_closed || index != (int)m->nstreams || index >= (int)m->opts.streams ||
	    strcmp(tls_peer_name(c), m->peer)) {
		pthread_mutex_unlock(&vmmigd.lock);
		reply(c, FRAME_ABORT, "no such migration stream");
		tls_free(c);
		return;
	}
	m->stream[m->nstreams++] = c;
	stream_net_fill(&m->net[index], tls_fd(c), NULL);
	m->nnet = m->nstreams;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&vmmigd.lock);
	netbpf_stream(m, index, tls_fd(c), network_priority(m->net[index].network));
	reply(c, FRAME_STREAM_ACK, NULL);
}

/*
 * Incoming VMs a dead daemon left. Before READY the source cannot have
 * committed: the VMM (if any) is ended and the folder removed. After READY
 * the source decides: it is asked, as when the connection is lost.
 */
static void *recover_ready(void *arg)
{
	struct dest *d = arg;

	finish(d);
	free(d);
	return NULL;
}

static int recover_one(struct vmctl *c, const char *name, void *arg)
{
	char dir[4096], path[4200], *text = NULL, *tok, *save;
	struct migration *m;
	struct dest *d;
	pthread_t t;

	if (vmctl_dir(c, name, dir, sizeof(dir)))
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, CTL_INCOMING_FILE);
	if (read_file(path, &text))
		return 0;
	m = migration_new(MIG_IN, name);
	d = calloc(1, sizeof(*d));
	d->m = m;
	d->created = d->started = true;
	snprintf(d->dir, sizeof(d->dir), "%s", dir);
	tok = strtok_r(text, "\n", &save);
	snprintf(d->source, sizeof(d->source), "%s", tok ? tok : "");
	tok = strtok_r(NULL, "\n", &save);
	snprintf(d->m->token, sizeof(d->m->token), "%s", tok ? tok : "");
	snprintf(m->peer, sizeof(m->peer), "%.60s", d->source);
	tok = strtok_r(NULL, "\n", &save);
	if (!tok || strcmp(tok, "ready")) {
		vmctl_stop(c, name, true);
		drop(d);
		migration_fail(m, MIG_FAILED, "vmmigd restarted before the VM had arrived");
		event(EV_MIG_IN_FAILED, m, "%s: removed the remains of an incoming migration", name);
		free(d);
	} else if (pthread_create(&t, NULL, recover_ready, d)) {
		free(d);
	} else {
		pthread_detach(t);
	}
	free(text);
	return 0;
}

void dest_recover(void)
{
	vmctl_list(&vmmigd.vmctl, recover_one, NULL);
}
