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
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <linux/sockios.h>

#include "converge.h"
#include "ctl.h"
#include "sample.h"
#include "stream.h"
#include "vmmigd.h"

#define READY_MS	(10 * 60 * 1000)	/* the destination loads the last state */
#define STREAM_STALL_S	MIG_ACK_TIMEOUT_S
#define RESUMED_MS	30000

struct source {
	struct migration *m;
	struct tls_conn *ctl;			/* control connection */
	struct tls_conn *streams[MIG_MAX_STREAMS];
	struct net_plan plan;			/* the networks the streams may take */
	struct {
		int fd;
		uint64_t since_ns;		/* holding unacknowledged bytes since */
	} watch[MIG_MAX_STREAMS];
	uint64_t watched_ns;
	int vmm;				/* connection to the VMM, or -1 */
	struct json_object *ready;		/* READY, when it came early */
	uint64_t stream_end_ns, ready_ns;	/* the VMM's reply, READY */
	uint64_t connect_ns;			/* the control connection's setup */
	bool has_hash, has_disk_hash;
	uint64_t disk_hash;
	uint64_t hash;				/* memory at the pause (--verify) */
	char dir[4096];
	char why[VMMIG_ERRLEN];
};

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

static int fail(struct source *s, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct source *s, int err, const char *fmt, ...)
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
	struct json_object *o = peer_hello(), *r = NULL;
	char why[VMMIG_ERRLEN];
	uint64_t t = now_ns();
	struct issues is = { 0 };
	int type, err;

	s->ctl = peer_connect(m->to, &err, why);
	s->connect_ns = now_ns() - t;
	if (!s->ctl)
		return fail(s, err == -EACCES ? err : -ECONNREFUSED, "%s", why);
	type = peer_send(s->ctl, FRAME_HELLO, o);
	json_object_put(o);
	if (type)
		return fail(s, type, "%s: %s", m->to, strerror(-type));
	type = peer_recv(s->ctl, &r, VMMIG_TLS_TIMEOUT_MS, why);
	if (type != FRAME_HELLO) {
		json_object_put(r);
		return fail(s, -EPROTO, "%s: %s", m->to, type < 0 ? why : "no HELLO");
	}
	pthread_mutex_lock(&vmmigd.lock);
	snprintf(m->peer, sizeof(m->peer), "%s", tls_peer_name(s->ctl));
	pthread_mutex_unlock(&vmmigd.lock);
	err = network_plan(r, m->to, &s->plan, why);
	json_object_put(r);
	if (!strcmp(m->peer, vmmigd.host))
		return fail(s, -EINVAL, "%s is this host (%s): a VM moves to another host",
			    m->to, vmmigd.host);
	if (err)
		return fail(s, err, "%s", why);
	/* The destination's pre-flight checks, as `vmmig check` shows them. */
	err = check_remote(s->ctl, d, m->opts.storage ? &m->storage : NULL, &is, why);
	if (err)
		fail(s, err, "%s", why);
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
		return fail(s, type, "%s: %s", m->peer, strerror(-type));
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
		fail(s, -EPERM, "%s refused: %s", m->peer, jstr(r, "reason"));
	else if (type < 0)
		fail(s, type, "%s: %s", m->peer, why);
	else if (type != FRAME_ACCEPT)
		fail(s, -EPROTO, "%s: %s instead of accept", m->peer, frame_type_name(type));
	json_object_put(r);
	if (type == FRAME_ACCEPT) {
		migration_set_phase(m, MIG_PREPARE);
		return 0;
	}
	return type < 0 ? type : -EPERM;
}

#define PROBE_CHUNK	(256U << 10)
#define PROBE_BYTES	(4U << 20)
#define SAMPLE_S	2

/* The destination's count in a PROBE_ACK: bytes since its first frame, in ns. */
static void probe_ack(struct json_object *r, uint64_t *bytes, uint64_t *ns)
{
	struct json_object *v;

	if (json_object_object_get_ex(r, "bytes", &v))
		*bytes = json_object_get_uint64(v);
	if (json_object_object_get_ex(r, "ns", &v))
		*ns = json_object_get_uint64(v);
}

/*
 * The path's throughput, over the control connection (the same TLS as the
 * streams): PROBE_BYTES in frames, each acknowledged. Bytes/s: the pace at
 * which the destination received all but the first frame (what a long
 * stream keeps up), or, from a destination that does not count, all of
 * them over the time to the last acknowledgement.
 */
static uint64_t probe(struct source *s)
{
	char *buf = calloc(1, PROBE_CHUNK), why[VMMIG_ERRLEN];
	struct json_object *r = NULL;
	uint64_t t = now_ns(), sent = 0, bytes = 0, ns = 0;
	int type = 0;

	if (!buf)
		return 0;
	/* Bytes that do not compress: TLS does not care, a future link might. */
	for (unsigned int i = 0; i < PROBE_CHUNK; i++)
		buf[i] = (char)(i * 2654435761U >> 13);
	while (sent < PROBE_BYTES && !type) {
		type = peer_send_raw(s->ctl, FRAME_PROBE, buf, PROBE_CHUNK);
		sent += PROBE_CHUNK;
	}
	free(buf);
	if (!type)
		type = peer_recv(s->ctl, &r, VMMIG_TLS_TIMEOUT_MS * 3, why);
	probe_ack(r, &bytes, &ns);
	json_object_put(r);
	r = NULL;
	/* One ACK per frame: the last one says all arrived. */
	for (unsigned int i = 1; i < PROBE_BYTES / PROBE_CHUNK && type == FRAME_PROBE_ACK; i++) {
		type = peer_recv(s->ctl, &r, VMMIG_TLS_TIMEOUT_MS * 3, why);
		probe_ack(r, &bytes, &ns);
		json_object_put(r);
		r = NULL;
	}
	if (type != FRAME_PROBE_ACK)
		return 0;
	if (bytes && ns)
		return bytes * 1000000000ULL / ns;
	t = now_ns() - t;
	return t ? sent * 1000000000ULL / t : 0;
}

/*
 * Before the move (and alone with --dry-run): the VM's dirty rate, sampled
 * by vmmig.ko without dirty logging, and the path's throughput, into the
 * engine's model (converge.h). The migration keeps it, to set beside what
 * happens.
 */
struct dirty_sampler {
	const char *vm;
	struct mig_dirty_sample ds;
	int err;
	char why[VMMIG_ERRLEN];
};

static void *sample_thread(void *arg)
{
	struct dirty_sampler *d = arg;

	d->err = mig_sample_dirty(VMMIG_BY_NAME(d->vm), SAMPLE_S, &d->ds, d->why);
	return NULL;
}

static int predict(struct source *s)
{
	struct migration *m = s->m;
	struct dirty_sampler d = { .vm = m->vm };
	struct mig_dirty_sample ds;
	struct vm_status st;
	struct vmctl c;
	struct mig_prediction p;
	struct json_object *o;
	pthread_t t;
	uint64_t bps;

	/* The guest's sample and the path's probe at once: neither waits. */
	if (pthread_create(&t, NULL, sample_thread, &d))
		return fail(s, -EAGAIN, "cannot start the dirty-rate sample");
	bps = probe(s);
	pthread_join(t, NULL);
	if (d.err)
		return fail(s, d.err, "sampling the dirty rate of %s: %s", m->vm, d.why);
	ds = d.ds;
	if (!bps)
		return fail(s, -EIO, "measuring the path to %s failed", m->peer);
	if (m->opts.bandwidth && m->opts.bandwidth < bps)
		bps = m->opts.bandwidth;
	/* Pages never touched are not sent: the first copy is of the rest. */
	vmctl_init(&c, vmmigd.state_dir);
	if (!vmctl_status(&c, m->vm, &st) && st.has_vmm && st.vmm.data_pages &&
	    st.vmm.data_pages < ds.total_pages)
		ds.total_pages = st.vmm.data_pages;
	mig_predict(ds.total_pages, ds.rate, ds.wss_pages, bps, m->opts.downtime_limit_ms, &p);
	/* The move's whole time: so far, and a connection per stream to come. */
	if (p.verdict != MIG_NEVER)
		p.total_ms += (now_ns() - m->start_ns + m->opts.streams * s->connect_ns) / 1000000;
	o = json_object_new_object();
	json_object_object_add(o, "verdict", json_object_new_string(mig_verdict_names[p.verdict]));
	json_object_object_add(o, "total_ms", json_object_new_uint64(p.total_ms));
	json_object_object_add(o, "downtime_ms", json_object_new_uint64(p.downtime_ms));
	json_object_object_add(o, "rounds", json_object_new_uint64(p.rounds));
	json_object_object_add(o, "throttle_pct", json_object_new_uint64(p.throttle_pct));
	json_object_object_add(o, "dirty_rate", json_object_new_uint64(ds.rate));
	json_object_object_add(o, "wss_pages", json_object_new_uint64(ds.wss_pages));
	json_object_object_add(o, "throughput", json_object_new_uint64(bps));
	json_object_object_add(o, "connect_ms", json_object_new_uint64(s->connect_ns / 1000000));
	json_object_object_add(o, "spent_ms",
			       json_object_new_uint64((now_ns() - m->start_ns) / 1000000));
	pthread_mutex_lock(&vmmigd.lock);
	json_object_put(m->prediction);
	m->prediction = o;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&vmmigd.lock);
	return 0;
}

/*
 * Stream @i's connection over the best network of the plan that answers;
 * a network that does not is marked failed, with an event, and the next is
 * tried. NULL with @why when none answers.
 */
static struct tls_conn *connect_stream(struct source *s, unsigned int i, struct net_path **pp,
				       int *err, char *why)
{
	struct migration *m = s->m;
	char err_why[VMMIG_ERRLEN] = "";
	struct tls_conn *c;
	int k;

	while ((k = network_stream_path(&s->plan, i)) >= 0) {
		struct net_path *p = &s->plan.path[k];
		int next;

		c = peer_connect_from(p->remote, p->local[0] ? p->local : NULL, err, err_why);
		if (c && !strcmp(tls_peer_name(c), m->peer)) {
			*pp = p;
			return c;
		}
		if (c) {
			snprintf(err_why, sizeof(err_why), "%s answers as %s, not %s", p->remote,
				 tls_peer_name(c), m->peer);
			tls_free(c);
		} else if (*err == -EACCES) {
			/* Refused by TLS: another network would not change it. */
			snprintf(why, VMMIG_ERRLEN, "%s", err_why);
			return NULL;
		}
		p->failed = true;
		next = network_stream_path(&s->plan, i);
		pthread_mutex_lock(&vmmigd.lock);
		if (!m->fallbacks)
			m->fallbacks = json_object_new_array();
		json_object_array_add(m->fallbacks, json_object_new_string(p->network));
		pthread_mutex_unlock(&vmmigd.lock);
		event(EV_MIG_FALLBACK, m, "%s: stream %u: network %s failed (%s); %s%s", m->vm, i,
		      p->network, err_why, next < 0 ? "no other network" : "falling back to ",
		      next < 0 ? "" : s->plan.path[next].network);
	}
	snprintf(why, VMMIG_ERRLEN, "no migration network reaches %s%s%s", m->peer,
		 err_why[0] ? ": " : "", err_why);
	*err = -ENETUNREACH;
	return NULL;
}

/*
 * Stream @i's connection (@resume: in place of one that failed mid-copy),
 * announced and acknowledged, as a plaintext fd for the VMM in *@fd; the
 * migration knows its socket and network. 0, or -errno with @why.
 */
static int open_stream(struct source *s, unsigned int i, bool resume, int *fd, char *why)
{
	struct migration *m = s->m;
	struct json_object *o, *r = NULL;
	struct tls_conn *c;
	struct net_path *p;
	int type, err;

	c = connect_stream(s, i, &p, &err, why);
	if (!c)
		return err;
	o = json_object_new_object();
	json_object_object_add(o, "token", json_object_new_string(m->token));
	json_object_object_add(o, "index", json_object_new_int(i));
	if (resume)
		json_object_object_add(o, "resume", json_object_new_boolean(true));
	type = peer_send(c, FRAME_STREAM, o);
	json_object_put(o);
	if (!type)
		type = peer_recv(c, &r, VMMIG_TLS_TIMEOUT_MS, why);
	json_object_put(r);
	if (type != FRAME_STREAM_ACK) {
		if (type >= 0)
			snprintf(why, VMMIG_ERRLEN, "not acknowledged");
		tls_free(c);
		return type < 0 ? type : -EPROTO;
	}
	*fd = tls_plain_fd(c, why);
	if (*fd < 0) {
		tls_free(c);
		return *fd;
	}
	pthread_mutex_lock(&vmmigd.lock);
	if (!i)
		tls_describe(c, m->transport, sizeof(m->transport));
	/* The old one's socket goes when its connection is freed, below. */
	m->sock[i] = tls_fd(c);
	if (m->nsock <= i)
		m->nsock = i + 1;
	stream_net_fill(&m->net[i], tls_fd(c), p->network);
	if (m->nnet <= i)
		m->nnet = i + 1;
	pthread_mutex_unlock(&vmmigd.lock);
	if (s->streams[i])
		tls_free(s->streams[i]);
	s->streams[i] = c;
	netbpf_stream(m, i, tls_fd(c), p->priority);
	return 0;
}

/* N more connections, each a stream, as plaintext fds for the VMM. */
static int open_streams(struct source *s, int *fds)
{
	char why[VMMIG_ERRLEN];
	unsigned int i;
	int err;

	for (i = 0; i < s->m->opts.streams; i++) {
		err = open_stream(s, i, false, &fds[i], why);
		if (err)
			return fail(s, err, "stream %u: %s", i, why);
	}
	return 0;
}

/*
 * The VMM's stream @k failed mid-copy (@vmm_why): its network counts as
 * failed for this move, and a connection over the next one goes to the
 * VMM, which sends again what the old one may have lost. Event 1108.
 */
static void replace_stream(struct source *s, unsigned int k, const char *vmm_why)
{
	struct migration *m = s->m;
	struct json_object *o = json_object_new_object();
	char why[VMMIG_ERRLEN] = "", failed[64];
	unsigned int i;
	int fd = -1, err = -EINVAL, next;

	if (k < m->opts.streams) {
		pthread_mutex_lock(&vmmigd.lock);
		snprintf(failed, sizeof(failed), "%s", m->net[k].network);
		pthread_mutex_unlock(&vmmigd.lock);
		for (i = 0; i < s->plan.n; i++)
			if (!strcmp(s->plan.path[i].network, failed))
				s->plan.path[i].failed = true;
		pthread_mutex_lock(&vmmigd.lock);
		if (!m->fallbacks)
			m->fallbacks = json_object_new_array();
		json_object_array_add(m->fallbacks, json_object_new_string(failed));
		pthread_mutex_unlock(&vmmigd.lock);
		next = network_stream_path(&s->plan, k);
		event(EV_MIG_FALLBACK, m, "%s: stream %u: network %s failed mid-move (%s); %s%s", m->vm,
		      k, failed, vmm_why, next < 0 ? "no other network" : "moving it to ",
		      next < 0 ? "" : s->plan.path[next].network);
		/*
		 * The other streams over that network go now, unasked, rather
		 * than each when it next writes (perhaps with the VM paused,
		 * when a failure fails the move).
		 */
		for (i = 0; next >= 0 && i < m->opts.streams; i++) {
			struct json_object *g;
			bool same;
			int gfd;

			pthread_mutex_lock(&vmmigd.lock);
			same = i != k && !strcmp(m->net[i].network, failed);
			pthread_mutex_unlock(&vmmigd.lock);
			if (!same || !s->streams[i])
				continue;
			event(EV_MIG_FALLBACK, m, "%s: stream %u: network %s failed mid-move; moving it to %s",
			      m->vm, i, failed, s->plan.path[next].network);
			if (open_stream(s, i, true, &gfd, why))
				continue;	/* it asks when it fails */
			pthread_mutex_lock(&vmmigd.lock);
			json_object_array_add(m->fallbacks, json_object_new_string(failed));
			pthread_mutex_unlock(&vmmigd.lock);
			g = json_object_new_object();
			json_object_object_add(g, CTL_KEY_STREAM, json_object_new_int(i));
			ctl_send_line(s->vmm, g, &gfd, 1);
			json_object_put(g);
			close(gfd);
		}
		err = next < 0 ? -ENETUNREACH : open_stream(s, k, true, &fd, why);
		if (next < 0)
			snprintf(why, sizeof(why), "no other migration network reaches %s", m->peer);
	}
	json_object_object_add(o, CTL_KEY_STREAM, json_object_new_int(k));
	if (err)
		json_object_object_add(o, CTL_KEY_ERROR, json_object_new_string(why));
	ctl_send_line(s->vmm, o, &fd, err ? 0 : 1);
	json_object_put(o);
	if (fd >= 0)
		close(fd);
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
 * A stream whose socket holds bytes the destination has not acknowledged
 * for STREAM_STALL_S is dead, however TCP sees it (this host's own device
 * down: no route, nothing sent, nothing for TCP to time out): it is shut
 * down, so that the VMM's write fails and the stream is replaced.
 */
static void watch_streams(struct source *s)
{
	struct migration *m = s->m;
	uint64_t now = now_ns();
	unsigned int i;

	if (now - s->watched_ns < 1000000000ULL)
		return;
	s->watched_ns = now;
	for (i = 0; i < m->opts.streams && s->streams[i]; i++) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);
		int fd = tls_fd(s->streams[i]), held = 0;

		if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) || ioctl(fd, SIOCOUTQ, &held))
			continue;
		/* Holding bytes since since_ns, and no acknowledgement for as long. */
		if (fd != s->watch[i].fd || held <= 0) {
			s->watch[i].fd = fd;
			s->watch[i].since_ns = now;
			continue;
		}
		if (now - s->watch[i].since_ns < STREAM_STALL_S * 1000000000ULL ||
		    ti.tcpi_last_ack_recv < STREAM_STALL_S * 1000U)
			continue;
		event(EV_MIG_STALL, m, "%s: stream %u: %d bytes unacknowledged for %u s: its connection is given up",
		      m->vm, i, held, STREAM_STALL_S);
		shutdown(fd, SHUT_RDWR);
		s->watch[i].since_ns = now;
	}
}

/* The VMM's progress lines, until its reply: 0 with the VM paused and held. */
static int precopy(struct source *s, const int *fds)
{
	struct migration *m = s->m;
	struct ctl_request *req = calloc(1, sizeof(*req));
	struct json_object *o, *v;
	char *line = malloc(CTL_LINE_MAX), why[VMMIG_ERRLEN], peer_why[VMMIG_ERRLEN] = "";
	struct ctl_save_result res;
	bool peer_failed = false;
	int err;

	if (!req || !line) {
		free(req);
		free(line);
		return fail(s, -ENOMEM, "out of memory");
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
		return fail(s, s->vmm, "the VMM of %s: %s", m->vm, why);
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
		if (!peer_failed && !s->ready && peer_speaks(s, why)) {
			peer_failed = true;
			snprintf(peer_why, sizeof(peer_why), "%s", why);
			shutdown(s->vmm, SHUT_WR);
		}
		watch_streams(s);
		err = ctl_read_line(s->vmm, line, CTL_LINE_MAX, peer_failed ? -1 : 200);
		if (err == -ETIMEDOUT)
			continue;
		if (err) {
			fail(s, err, "the VMM of %s stopped answering: %s", m->vm,
			     err == -EPIPE ? "it closed the connection" : strerror(-err));
			break;
		}
		o = json_tokener_parse(line);
		if (o && json_object_object_get_ex(o, CTL_KEY_REPLACE_STREAM, &v)) {
			replace_stream(s, json_object_get_int(v), jstr(o, CTL_KEY_ERROR));
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
			fail(s, err, "%s", peer_failed ? peer_why : why);
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
			err = fail(s, -EPROTO, "the VMM of %s answered: %s", m->vm, why);
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
			return fail(s, -ECANCELED, "cancelled");
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
			return fail(s, -ETIMEDOUT, "%s did not load the VM in time", m->peer);
	}
	if (type == FRAME_READY) {
		const char *h = jstr(r, "memory_hash");

		if (m->opts.verify && (!s->has_hash || strtoull(h, NULL, 16) != s->hash)) {
			fail(s, -EIO, "the memory at %s differs from the memory here (%s, here 0x%llx)",
			     m->peer, h[0] ? h : "no hash", (unsigned long long)s->hash);
			json_object_put(r);
			return -EIO;
		}
		h = jstr(r, "disk_hash");
		if (m->opts.verify && m->opts.storage &&
		    (!s->has_disk_hash || strtoull(h, NULL, 16) != s->disk_hash)) {
			fail(s, -EIO, "the disks at %s differ from the disks here (%s, here 0x%llx)",
			     m->peer, h[0] ? h : "no hash", (unsigned long long)s->disk_hash);
			json_object_put(r);
			return -EIO;
		}
		json_object_put(r);
		return 0;
	}
	if (type == FRAME_ABORT)
		fail(s, -EIO, "%s: %s", m->peer, jstr(r, "reason"));
	else
		fail(s, type < 0 ? type : -EPROTO, "%s: %s", m->peer,
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
	fail(s, -EIO, "no confirmation from %s after the commit (%s): the VM stays paused here; check it there",
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
		err = fail(&s, -ECANCELED, "cancelled");
		goto out;
	}
	event(EV_MIG_START, m, "%s: moving to %s", m->vm, m->to);
	/* A cancel while it prepares ends it at the next step. */
	err = negotiate(&s, &d);
	if (!err && cancelled(m))
		err = -ECANCELED;
	if (!err)
		err = predict(&s);
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
		err = open_streams(&s, fds);
	if (!err) {
		err = precopy(&s, fds);
		for (i = 0; i < (int)m->opts.streams; i++)
			close(fds[i]);
		held = !err;
	}
	if (err && cancelled(m))
		err = fail(&s, -ECANCELED, "cancelled");
	if (!err)
		err = wait_ready(&s);
	if (!err && !settings_migration_enabled(s.why))
		err = -EPERM;
	/* The cancel check and the commit phase, at once: no cancel after. */
	if (!err) {
		pthread_mutex_lock(&vmmigd.lock);
		if (m->cancel)
			err = fail(&s, -ECANCELED, "cancelled");
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
		err = fail(&s, -EIO, "cannot record the commit in %s: not committed", s.dir);
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
