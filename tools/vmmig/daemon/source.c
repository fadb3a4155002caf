// SPDX-License-Identifier: GPL-2.0
/*
 * Moving a VM out (Documentation/design/migration.rst, "Switchover"):
 *
 *   checks -> slot -> HELLO, REQUEST -> ACCEPT -> N streams -> the VMM
 *   live-saves into them -> READY -> [migrated marker] COMMIT -> RESUMED
 *   -> the VMM ends, the VM's folder goes.
 *
 * Until COMMIT is sent, every failure (and a cancel) resumes the VM here
 * and tells the destination to drop its copy. The marker file is written
 * before COMMIT leaves: from then on the VM never runs here again; without
 * RESUMED, it stays paused and the migration is reported as unknown.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "ctl.h"
#include "source.h"

#define READY_MS	(10 * 60 * 1000)	/* the destination loads the last state */
#define RESUMED_MS	30000

/* A JSON object of the REQUEST frame. */
static struct json_object *request(struct source *s, const struct vmdef *d)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "token", json_object_new_string(s->m->token));
	json_object_object_add(o, "vm", json_object_new_string(d->name));
	json_object_object_add(o, "definition", vmdef_to_json(d));
	json_object_object_add(o, "migration", mig_opts_to_json(&s->m->opts));
	json_object_object_add(o, "state_version", json_object_new_int(VMSTATE_VERSION));
	if (s->m->opts.storage)
		json_object_object_add(o, "storage", storage_plan_to_json(&s->m->storage));
	return o;
}

int source_fail(struct source *s, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	return err;
}

/* The connection and HELLO both ways. */
static int negotiate(struct source *s, const struct vmdef *d)
{
	struct migration *m = s->m;
	struct json_object *o = peer_hello(), *r = NULL, *v;
	char why[VMMIG_ERRLEN];
	uint64_t t = now_ns();
	struct issues is = { 0 };
	int type, err;

	s->ctl = peer_connect(m->to, &err, why);
	s->connect_ns = now_ns() - t;
	if (!s->ctl)
		return source_fail(s, err == -EACCES ? err : -ECONNREFUSED, "%s", why);
	type = peer_send(s->ctl, FRAME_HELLO, o);
	json_object_put(o);
	if (type)
		return source_fail(s, type, "%s: %s", m->to, strerror(-type));
	type = peer_recv(s->ctl, &r, VMMIG_TLS_TIMEOUT_MS, why);
	if (type != FRAME_HELLO) {
		json_object_put(r);
		return source_fail(s, -EPROTO, "%s: %s", m->to, type < 0 ? why : "no HELLO");
	}
	pthread_mutex_lock(&vmmigd.lock);
	snprintf(m->peer, sizeof(m->peer), "%s", tls_peer_name(s->ctl));
	pthread_mutex_unlock(&vmmigd.lock);
	err = network_plan(r, m->to, &s->plan, why);
	s->probe_unchecked = json_object_object_get_ex(r, "probe_crc", &v) &&
			     !json_object_get_boolean(v);
	json_object_put(r);
	if (!strcmp(m->peer, vmmigd.host))
		return source_fail(s, -EINVAL, "%s is this host (%s): a VM moves to another host",
			    m->to, vmmigd.host);
	if (err)
		return source_fail(s, err, "%s", why);
	/* The destination's pre-flight checks, as `vmmig check` shows them. */
	err = check_remote(s->ctl, d, m->opts.storage ? &m->storage : NULL, &is, why);
	if (err)
		source_fail(s, err, "%s", why);
	else if (is.errors) {
		issues_why(&is, s->why);
		err = -EPERM;
	}
	json_object_put(is.a);
	return err;
}

static bool cancelled(struct migration *m);

/* REQUEST until ACCEPT (QUEUED meanwhile) or REFUSE. */
static int ask(struct source *s, const struct vmdef *d)
{
	struct migration *m = s->m;
	struct json_object *o, *r = NULL;
	char why[VMMIG_ERRLEN];
	int type;

	o = request(s, d);
	type = peer_send(s->ctl, FRAME_REQUEST, o);
	json_object_put(o);
	if (type)
		return source_fail(s, type, "%s: %s", m->peer, strerror(-type));
	for (;;) {
		/* Queued there, it may wait long: a cancel here ends it. */
		type = peer_recv(s->ctl, &r, 500, why);
		if (type == -ETIMEDOUT) {
			if (!cancelled(m))
				continue;
			return -ECANCELED;	/* source_run tells the destination */
		}
		if (type == FRAME_QUEUED) {
			pthread_mutex_lock(&vmmigd.lock);
			m->progress.phase = MIG_QUEUED;
			pthread_mutex_unlock(&vmmigd.lock);
			event(EV_MIG_QUEUED, m, "%s: queued at %s (%s)", m->vm, m->peer,
			      jstr(r, "reason"));
			json_object_put(r);
			continue;
		}
		break;
	}
	if (type == FRAME_REFUSE)
		source_fail(s, -EPERM, "%s refused: %s", m->peer, jstr(r, "reason"));
	else if (type < 0)
		source_fail(s, type, "%s: %s", m->peer, why);
	else if (type != FRAME_ACCEPT)
		source_fail(s, -EPROTO, "%s: %s instead of accept", m->peer, frame_type_name(type));
	json_object_put(r);
	if (type == FRAME_ACCEPT) {
		migration_set_phase(m, MIG_PREPARE);
		return 0;
	}
	return type < 0 ? type : -EPERM;
}

/* Something from the destination during the copy: its failure, with @why. */
static bool peer_speaks(struct source *s, char *why)
{
	struct json_object *r = NULL;
	int type;

	if (peer_wait(s->ctl, 0))
		return false;
	type = peer_recv(s->ctl, &r, 1000, why);
	/* The destination may finish before the VMM's reply is read here. */
	if (type == FRAME_READY) {
		s->ready = r;
		s->ready_ns = now_ns();
		return false;
	}
	if (type == FRAME_ABORT)
		snprintf(why, VMMIG_ERRLEN, "%.60s: %.180s", s->m->peer, jstr(r, "reason"));
	else if (type >= 0)
		snprintf(why, VMMIG_ERRLEN, "%.60s sent %s during the copy", s->m->peer,
			 frame_type_name(type));
	else
		snprintf(why, VMMIG_ERRLEN, "lost %.60s during the copy", s->m->peer);
	json_object_put(r);
	return true;
}

/*
 * The VMM's progress lines, until its reply: 0 with the VM paused and held,
 * also when the destination failed meanwhile (s->peer_why): the VMM may
 * finish first, its bytes taken by the kernel there (or a proxy) but not by
 * the VMM that failed.
 */
static int precopy(struct source *s, const int *fds)
{
	struct migration *m = s->m;
	struct ctl_request *req = calloc(1, sizeof(*req));
	struct json_object *o, *v;
	char *line = malloc(CTL_LINE_MAX), why[VMMIG_ERRLEN];
	struct ctl_save_result res;
	int err;

	if (!req || !line) {
		free(req);
		free(line);
		return source_fail(s, -ENOMEM, "out of memory");
	}
	req->cmd = CTL_REQ_MIGRATE;
	req->streams = m->opts.streams;
	req->mig = m->opts;
	/* TLS authenticates every byte: memory sections go without their CRC. */
	req->mig.transport_auth = true;
	s->vmm = ctl_open(s->dir, req, fds, m->opts.streams, why);
	free(req);
	if (s->vmm < 0) {
		free(line);
		return source_fail(s, s->vmm, "the VMM of %s: %s", m->vm, why);
	}
	pthread_mutex_lock(&vmmigd.lock);
	m->vmm_fd = s->vmm;
	m->progress.phase = MIG_PRECOPY;
	m->copy_start_ns = now_ns();
	/* Cancelled while the streams opened: the VMM stops at once. */
	if (m->cancel)
		shutdown(s->vmm, SHUT_WR);
	pthread_mutex_unlock(&vmmigd.lock);
	for (;;) {
		/*
		 * The destination speaks during the copy only when it fails
		 * (ABORT) or dies: the VMM is stopped at once, as by a cancel.
		 */
		if (!s->peer_why[0] && !s->ready && peer_speaks(s, why)) {
			snprintf(s->peer_why, sizeof(s->peer_why), "%s", why);
			shutdown(s->vmm, SHUT_WR);
		}
		source_watch_streams(s);
		err = ctl_read_line(s->vmm, line, CTL_LINE_MAX, s->peer_why[0] ? -1 : 200);
		if (err == -ETIMEDOUT)
			continue;
		if (err) {
			source_fail(s, err, "the VMM of %s stopped answering: %s", m->vm,
			     err == -EPIPE ? "it closed the connection" : strerror(-err));
			break;
		}
		o = json_tokener_parse(line);
		if (o && json_object_object_get_ex(o, CTL_KEY_REPLACE_STREAM, &v)) {
			source_replace_stream(s, json_object_get_int(v), jstr(o, CTL_KEY_ERROR));
			json_object_put(o);
			continue;
		}
		if (migration_progress(m, o)) {
			json_object_put(o);
			continue;
		}
		json_object_put(o);
		err = ctl_parse_reply(line, &o, why);
		if (err) {
			source_fail(s, err, "%s", s->peer_why[0] ? s->peer_why : why);
			break;
		}
		if (!ctl_save_from_json(o, &res, why)) {
			s->has_hash = res.has_memory_hash;
			s->hash = res.memory_hash;
			s->has_disk_hash = res.has_disk_hash;
			s->disk_hash = res.disk_hash;
			s->stream_end_ns = now_ns();
			pthread_mutex_lock(&vmmigd.lock);
			m->progress.round = res.rounds;
			/* The VMM paused the VM res.downtime_ns before its reply. */
			m->stopcopy_ns = res.downtime_ns;
			m->copy_ns = s->stream_end_ns - m->copy_start_ns;
			if (!m->pause_ns || s->stream_end_ns - res.downtime_ns < m->pause_ns)
				m->pause_ns = s->stream_end_ns - res.downtime_ns;
			pthread_mutex_unlock(&vmmigd.lock);
		} else {
			/* Without its figures nothing can be judged: the VM resumes. */
			err = source_fail(s, -EPROTO, "the VMM of %s answered: %s", m->vm, why);
		}
		json_object_put(o);
		break;
	}
	free(line);
	return err;
}

/* Tells the VMM the decision; commit: it ends, the VM runs elsewhere. */
static int decide(struct source *s, bool commit)
{
	char line[256];
	const char *msg = commit ? "{\"commit\":true}\n" : "{\"commit\":false}\n";
	int err = 0;

	if (s->vmm < 0)
		return -ENOTCONN;
	pthread_mutex_lock(&vmmigd.lock);
	s->m->vmm_fd = -1;
	pthread_mutex_unlock(&vmmigd.lock);
	/* After a cancel the VMM saw the end of the connection: it resumed. */
	if (send(s->vmm, msg, strlen(msg), MSG_NOSIGNAL) != (ssize_t)strlen(msg))
		err = !commit && errno == EPIPE ? 0 : -errno;
	else
		err = ctl_read_line(s->vmm, line, sizeof(line), 10000);
	close(s->vmm);
	s->vmm = -1;
	return err;
}

static bool cancelled(struct migration *m)
{
	bool c;

	pthread_mutex_lock(&vmmigd.lock);
	c = m->cancel;
	pthread_mutex_unlock(&vmmigd.lock);
	return c;
}

/* READY from the destination, watching for a cancel meanwhile. */
static int wait_ready(struct source *s)
{
	struct migration *m = s->m;
	struct json_object *r = NULL;
	char why[VMMIG_ERRLEN];
	int waited = 0, type;

	for (;;) {
		if (cancelled(m))
			return source_fail(s, -ECANCELED, "cancelled");
		if (s->ready) {
			r = s->ready;
			s->ready = NULL;
			type = FRAME_READY;
			break;
		}
		type = peer_recv(s->ctl, &r, 500, why);
		s->ready_ns = now_ns();
		if (type != -ETIMEDOUT)
			break;
		waited += 500;
		if (waited >= READY_MS)
			return source_fail(s, -ETIMEDOUT, "%s did not load the VM in time", m->peer);
	}
	if (type == FRAME_READY) {
		const char *h = jstr(r, "memory_hash");

		if (m->opts.verify && (!s->has_hash || strtoull(h, NULL, 16) != s->hash)) {
			source_fail(s, -EIO, "the memory at %s differs from the memory here (%s, here 0x%llx)",
			     m->peer, h[0] ? h : "no hash", (unsigned long long)s->hash);
			json_object_put(r);
			return -EIO;
		}
		h = jstr(r, "disk_hash");
		if (m->opts.verify && m->opts.storage &&
		    (!s->has_disk_hash || strtoull(h, NULL, 16) != s->disk_hash)) {
			source_fail(s, -EIO, "the disks at %s differ from the disks here (%s, here 0x%llx)",
			     m->peer, h[0] ? h : "no hash", (unsigned long long)s->disk_hash);
			json_object_put(r);
			return -EIO;
		}
		json_object_put(r);
		return 0;
	}
	if (type == FRAME_ABORT)
		source_fail(s, -EIO, "%s: %s", m->peer, jstr(r, "reason"));
	else
		source_fail(s, type < 0 ? type : -EPROTO, "%s: %s", m->peer,
		     type < 0 ? why : frame_type_name(type));
	json_object_put(r);
	return type < 0 ? type : -EIO;
}

static void send_abort(struct source *s, const char *reason)
{
	struct json_object *o = json_object_new_object();

	if (!s->ctl)
		return;
	json_object_object_add(o, "reason", json_object_new_string(reason));
	peer_send(s->ctl, FRAME_ABORT, o);
	json_object_put(o);
}

static int marker(struct source *s)
{
	char path[4200];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", s->dir, CTL_MIGRATED_FILE);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (dprintf(fd, "%s\n", s->m->peer) < 0 || fsync(fd)) {
		close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/* The switchover after READY: COMMIT, then RESUMED; 0, or the fate is unknown. */
static int commit(struct source *s)
{
	struct migration *m = s->m;
	struct json_object *o = json_object_new_object(), *r = NULL;
	char why[VMMIG_ERRLEN];
	int type;

	type = peer_send(s->ctl, FRAME_COMMIT, o);
	json_object_put(o);
	if (!type)
		type = peer_recv(s->ctl, &r, RESUMED_MS, why);
	if (type == FRAME_RESUMED) {
		/* The VM runs there: the downtime ends. */
		pthread_mutex_lock(&vmmigd.lock);
		m->downtime_ns = now_ns() - m->pause_ns;
		m->load_ns = s->ready_ns > s->stream_end_ns ? s->ready_ns - s->stream_end_ns : 0;
		m->commit_ns = m->pause_ns + m->downtime_ns -
			       (s->ready_ns > s->stream_end_ns ? s->ready_ns : s->stream_end_ns);
		pthread_mutex_unlock(&vmmigd.lock);
		json_object_put(r);
		return 0;
	}
	source_fail(s, -EIO, "no confirmation from %s after the commit (%s): the VM stays paused here; check it there",
	     m->peer, type < 0 ? why : frame_type_name(type));
	json_object_put(r);
	return -EIO;
}

static void cleanup(struct source *s)
{
	unsigned int i;

	pthread_mutex_lock(&vmmigd.lock);
	s->m->vmm_fd = -1;
	pthread_mutex_unlock(&vmmigd.lock);
	if (s->vmm >= 0)
		close(s->vmm);
	source_sample_drop(s);
	json_object_put(s->ready);
	for (i = 0; i < MIG_MAX_STREAMS; i++)
		if (s->streams[i])
			tls_free(s->streams[i]);
	pthread_mutex_lock(&vmmigd.lock);
	s->m->nsock = 0;
	pthread_mutex_unlock(&vmmigd.lock);
	if (s->ctl)
		tls_free(s->ctl);
}

static int checks(struct source *s, struct vmdef *d)
{
	struct migration *m = s->m;
	struct issues is = { 0 };
	int err;

	err = check_local(m->vm, d, s->dir, sizeof(s->dir), &is);
	if (!err)
		memcpy(m->uuid, d->uuid, sizeof(m->uuid));
	if (err || is.errors) {
		issues_why(&is, s->why);
		err = err ? err : -EINVAL;
	}
	json_object_put(is.a);
	if (!err && m->opts.storage)
		err = storage_plan_make(&m->storage_req, d, &m->storage, s->why);
	return err;
}

static void new_token(struct migration *m)
{
	uint8_t b[MIG_TOKEN_LEN];
	unsigned int i;

	if (getrandom(b, sizeof(b), 0) != sizeof(b))
		abort();	/* the kernel's CSPRNG does not fail once seeded */
	for (i = 0; i < MIG_TOKEN_LEN; i++)
		sprintf(m->token + 2 * i, "%02x", b[i]);
}

/*
 * After the commit: what is left here, before the move is done (so that the
 * VM can move back at once: its name is free here again). The VMM frees the
 * VM's memory under SCHED_IDLE (vmm/migrate.c), which takes long on a host
 * whose CPUs are busy: the folder goes once it has ended. Then the disk
 * images, unless kept. The move's time (end_ns) does not count this.
 */
#define VMM_END_MS	(2 * 60 * 1000)

static void remove_here(struct migration *m, struct vmctl *c)
{
	if (vmctl_wait(c, m->vm, VMM_END_MS) || vmctl_delete(c, m->vm))
		event(EV_MIG_DONE, m, "%s: its folder here stays: %s", m->vm, c->err);
	if (m->opts.storage && !m->storage_req.keep_source)
		storage_remove_sources(m);
}

void *source_run(void *arg)
{
	struct source s = { .m = arg, .vmm = -1 };
	struct migration *m = s.m;
	int fds[MIG_MAX_STREAMS], err, i;
	bool held = false;
	struct vmdef d = { 0 };
	struct vmctl c;

	vmctl_init(&c, vmmigd.state_dir);
	new_token(m);
	err = checks(&s, &d);
	if (err) {
		/* No VM of that name runs here: nothing to say where it runs. */
		migration_fail(m, MIG_FAILED, "%s", s.why);
		event(EV_MIG_FAILED, m, "%s: %s", m->vm, s.why);
		goto unknown;
	}
	if (!slot_get(m)) {
		err = source_fail(&s, -ECANCELED, "cancelled");
		goto out;
	}
	event(EV_MIG_START, m, "%s: moving to %s", m->vm, m->to);
	/* The dirty-rate sample's 2 s go by while it connects. */
	source_sample_start(&s);
	/* A cancel while it prepares ends it at the next step. */
	err = negotiate(&s, &d);
	if (!err && cancelled(m))
		err = -ECANCELED;
	if (!err)
		err = source_predict(&s);
	if (!err && m->dry_run) {
		migration_set_phase(m, MIG_DONE);
		event(EV_MIG_DONE, m, "%s: a dry run to %s: %s", m->vm, m->peer,
		      json_object_to_json_string(m->prediction));
		goto unknown;
	}
	if (!err && cancelled(m))
		err = -ECANCELED;
	if (!err)
		err = ask(&s, &d);
	if (!err && cancelled(m))
		err = -ECANCELED;
	if (!err)
		err = source_open_streams(&s, fds);
	if (!err) {
		err = precopy(&s, fds);
		for (i = 0; i < (int)m->opts.streams; i++)
			close(fds[i]);
		held = !err;
	}
	/* Its ABORT was read during the copy: the reason, not the closed connection. */
	if (!err && s.peer_why[0])
		err = source_fail(&s, -ECONNABORTED, "%s", s.peer_why);
	if (err && cancelled(m))
		err = source_fail(&s, -ECANCELED, "cancelled");
	if (!err)
		err = wait_ready(&s);
	if (!err && !settings_migration_enabled(s.why))
		err = -EPERM;
	/* The cancel check and the commit phase, at once: no cancel after. */
	if (!err) {
		pthread_mutex_lock(&vmmigd.lock);
		if (m->cancel)
			err = source_fail(&s, -ECANCELED, "cancelled");
		else
			m->progress.phase = MIG_COMMIT;
		pthread_cond_broadcast(&m->cond);
		pthread_mutex_unlock(&vmmigd.lock);
	}
	if (err) {
		/* Before the commit: the VM resumes here, the destination drops it. */
		send_abort(&s, s.why);
		if (held && decide(&s, false))
			snprintf(s.why + strlen(s.why), sizeof(s.why) - strlen(s.why),
				 "; resuming the VM failed");
		goto out;
	}
	if (marker(&s)) {
		err = source_fail(&s, -EIO, "cannot record the commit in %s: not committed", s.dir);
		send_abort(&s, s.why);
		decide(&s, false);
		goto out;
	}
	event(EV_MIG_SWITCHOVER, m, "%s: committed the switchover to %s", m->vm, m->peer);
	err = commit(&s);
	if (err) {
		/* The VMM keeps the VM paused: the marker says it committed. */
		migration_fail(m, MIG_UNKNOWN, "%s", s.why);
		event(EV_MIG_UNKNOWN, m, "%s: %s", m->vm, s.why);
		goto unknown;
	}
	if (decide(&s, true))
		event(EV_MIG_DONE, m, "%s: the VMM here did not confirm its end", m->vm);
	pthread_mutex_lock(&vmmigd.lock);
	m->end_ns = now_ns();
	pthread_mutex_unlock(&vmmigd.lock);
	/* The VM runs there: the next move in line need not wait for the cleanup. */
	slot_put(m);
	remove_here(m, &c);
	migration_set_phase(m, MIG_DONE);
	event(EV_MIG_DONE, m, "%s: moved to %s in %.1f s, downtime %.0f ms (stop-and-copy %.0f, load %.0f, commit %.0f), %llu bytes, %u rounds",
	      m->vm, m->peer, (m->end_ns - m->start_ns) / 1e9, m->downtime_ns / 1e6,
	      m->stopcopy_ns / 1e6, m->load_ns / 1e6, m->commit_ns / 1e6,
	      (unsigned long long)m->progress.sent_bytes, m->progress.round);
	goto unknown;
out:
	migration_fail(m, err == -ECANCELED ? MIG_CANCELLED : MIG_FAILED, "%s", s.why);
	event(err == -ECANCELED ? EV_MIG_CANCELLED : EV_MIG_FAILED, m, "%s: %s; it runs on %s",
	      m->vm, s.why, vmmigd.host);
unknown:
	cleanup(&s);
	vmdef_free(&d);
	slot_put(m);
	return NULL;
}

/* The destination asks how a switchover it lost track of ended. */
void source_outcome_reply(struct tls_conn *c, struct json_object *frame)
{
	const char *token = jstr(frame, "token"), *outcome = "aborted";
	struct json_object *o = json_object_new_object();
	struct migration *m;

	pthread_mutex_lock(&vmmigd.lock);
	m = migration_by_token(MIG_OUT, token);
	if (m && (m->progress.phase == MIG_COMMIT || m->progress.phase == MIG_DONE ||
		  m->progress.phase == MIG_UNKNOWN))
		outcome = "committed";
	else if (m && !m->done)
		outcome = "pending";
	else if (!m)
		outcome = "unknown";
	pthread_mutex_unlock(&vmmigd.lock);
	json_object_object_add(o, "outcome", json_object_new_string(outcome));
	peer_send(c, FRAME_OUTCOME_ACK, o);
	json_object_put(o);
}
