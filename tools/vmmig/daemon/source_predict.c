// SPDX-License-Identifier: GPL-2.0
/*
 * Before a move (and alone with --dry-run): the VM's dirty rate, sampled by
 * vmmig.ko, and the path's throughput, probed over the control connection,
 * at once; from them the prediction (migrate/converge.c) the move shows.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "converge.h"
#include "sample.h"
#include "source.h"

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
		type = peer_send_probe(s->ctl, buf, PROBE_CHUNK, s->probe_unchecked);
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
struct source_sample {
	char vm[VMDEF_NAME_MAX + 1];
	struct mig_dirty_sample ds;
	int err;
	char why[VMMIG_ERRLEN];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int refs;		/* the thread's and the move's */
};

static void sample_put(struct source_sample *d)
{
	bool last;

	pthread_mutex_lock(&d->lock);
	last = !--d->refs;
	pthread_mutex_unlock(&d->lock);
	if (!last)
		return;
	pthread_mutex_destroy(&d->lock);
	pthread_cond_destroy(&d->cond);
	free(d);
}

static void *sample_thread(void *arg)
{
	struct source_sample *d = arg;

	d->err = mig_sample_dirty(VMMIG_BY_NAME(d->vm), SAMPLE_S, &d->ds, d->why);
	pthread_mutex_lock(&d->lock);
	d->done = true;
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	sample_put(d);
	return NULL;
}

int source_sample_start(struct source *s)
{
	struct source_sample *d = calloc(1, sizeof(*d));
	pthread_t t;

	if (!d)
		return -ENOMEM;
	snprintf(d->vm, sizeof(d->vm), "%s", s->m->vm);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->refs = 2;
	if (pthread_create(&t, NULL, sample_thread, d)) {
		d->refs = 1;
		sample_put(d);
		return -EAGAIN;
	}
	pthread_detach(t);
	s->sample = d;
	return 0;
}

void source_sample_drop(struct source *s)
{
	if (s->sample)
		sample_put(s->sample);
	s->sample = NULL;
}

int source_predict(struct source *s)
{
	struct migration *m = s->m;
	struct source_sample *d;
	struct mig_dirty_sample ds;
	struct vmctl c;
	struct mig_prediction p;
	struct json_object *o;
	uint64_t bps;
	int err;

	/* The guest's sample runs since the move got its slot; the probe meanwhile. */
	if (!s->sample && source_sample_start(s))
		return source_fail(s, -EAGAIN, "cannot start the dirty-rate sample");
	bps = probe(s);
	d = s->sample;
	pthread_mutex_lock(&d->lock);
	while (!d->done)
		pthread_cond_wait(&d->cond, &d->lock);
	pthread_mutex_unlock(&d->lock);
	err = d->err;
	ds = d->ds;
	if (err)
		source_fail(s, err, "sampling the dirty rate of %s: %s", m->vm, d->why);
	source_sample_drop(s);
	if (err)
		return err;
	if (!bps)
		return source_fail(s, -EIO, "measuring the path to %s failed", m->peer);
	if (m->opts.bandwidth && m->opts.bandwidth < bps)
		bps = m->opts.bandwidth;
	vmctl_init(&c, vmmigd.state_dir);
	ds.data_pages = mig_copy_pages(&ds, vmctl_data_pages(&c, m->vm));
	mig_predict(ds.data_pages, ds.rate, ds.wss_pages, bps, m->opts.downtime_limit_ms, &p);
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
	json_object_object_add(o, "data_pages", json_object_new_uint64(ds.data_pages));
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
