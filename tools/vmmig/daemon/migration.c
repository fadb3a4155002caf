// SPDX-License-Identifier: GPL-2.0
/*
 * The migrations this host takes part in, either way, and the queue under
 * max-migrations: incoming and outgoing moves share the host's slots, and
 * take them in the order they asked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmmigd.h"

/* Finished migrations kept for `vmmig migration list`. */
#define KEEP_DONE	32

uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ULL + t.tv_nsec;
}

static void forget_old(void)
{
	struct migration **p = &vmmigd.migrations, *m;
	unsigned int kept = 0;

	while ((m = *p)) {
		/* Unknown fates stay: someone must look at them. */
		if (m->done && m->progress.phase != MIG_UNKNOWN && ++kept > KEEP_DONE) {
			*p = m->next;
			json_object_put(m->prediction);
			json_object_put(m->fallbacks);
			pthread_cond_destroy(&m->cond);
			free(m);
			continue;
		}
		p = &m->next;
	}
}

struct migration *migration_new(enum mig_dir dir, const char *vm)
{
	struct migration *m = calloc(1, sizeof(*m));

	if (!m)
		abort();
	m->dir = dir;
	m->vmm_fd = -1;
	snprintf(m->vm, sizeof(m->vm), "%s", vm);
	mig_opts_default(&m->opts);
	m->progress.phase = MIG_PREPARE;
	m->start_ns = now_ns();
	pthread_cond_init(&m->cond, NULL);
	pthread_mutex_lock(&vmmigd.lock);
	m->id = ++vmmigd.next_id;
	m->next = vmmigd.migrations;
	vmmigd.migrations = m;
	forget_old();
	pthread_mutex_unlock(&vmmigd.lock);
	return m;
}

/* Under vmmigd.lock: m leaves the line (slot taken, cancelled or failed). */
static void leave_line(struct migration *m)
{
	if (m->in_line) {
		m->in_line = false;
		pthread_cond_broadcast(&vmmigd.cond);
	}
}

void migration_set_phase(struct migration *m, enum mig_phase phase)
{
	/* Its streams are done: their counts are kept, their slots freed. */
	if (phase >= MIG_DONE)
		netbpf_forget(m);
	pthread_mutex_lock(&vmmigd.lock);
	m->progress.phase = phase;
	m->done = phase >= MIG_DONE;
	if (m->done)
		leave_line(m);
	if (m->done && !m->end_ns)
		m->end_ns = now_ns();
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&vmmigd.lock);
}

bool migration_progress(struct migration *m, struct json_object *line)
{
	char why[VMMIG_ERRLEN];
	struct mig_progress p;
	struct json_object *v;

	if (!line || !json_object_object_get_ex(line, CTL_KEY_PROGRESS, &v))
		return false;
	if (mig_progress_from_json(v, &p, why))
		return true;
	pthread_mutex_lock(&vmmigd.lock);
	p.elapsed_ns = now_ns() - m->start_ns;
	if (p.phase == MIG_STOPCOPY && m->progress.phase != MIG_STOPCOPY)
		m->pause_ns = now_ns();
	m->progress = p;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&vmmigd.lock);
	return true;
}

void migration_fail(struct migration *m, enum mig_phase phase, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vmmigd.lock);
	va_start(ap, fmt);
	vsnprintf(m->error, sizeof(m->error), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&vmmigd.lock);
	migration_set_phase(m, phase);
}

/* Under vmmigd.lock. */
struct migration *migration_find(const char *vm, bool live_only)
{
	struct migration *m;

	for (m = vmmigd.migrations; m; m = m->next)
		if (!strcmp(m->vm, vm) && (!live_only || !m->done))
			return m;
	return NULL;
}

struct migration *migration_by_token(enum mig_dir dir, const char *token)
{
	struct migration *m;

	if (!*token)
		return NULL;
	for (m = vmmigd.migrations; m; m = m->next)
		if (m->dir == dir && !strcmp(m->token, token))
			return m;
	return NULL;
}

/* Under vmmigd.lock. */
struct json_object *migration_to_json(const struct migration *m)
{
	struct json_object *o = json_object_new_object();
	char uuid[40];

	json_object_object_add(o, "id", json_object_new_uint64(m->id));
	json_object_object_add(o, "vm", json_object_new_string(m->vm));
	json_object_object_add(o, "uuid", json_object_new_string(vmdef_uuid_str(m->uuid, uuid)));
	json_object_object_add(o, "direction",
			       json_object_new_string(m->dir == MIG_OUT ? "outgoing" :
						      m->dir == MIG_IN ? "incoming" : "storage"));
	json_object_object_add(o, "peer", json_object_new_string(m->peer[0] ? m->peer : m->to));
	if (m->transport[0])
		json_object_object_add(o, "transport", json_object_new_string(m->transport));
	json_object_object_add(o, "progress", mig_progress_to_json(&m->progress));
	json_object_object_add(o, "migration", mig_opts_to_json(&m->opts));
	json_object_object_add(o, "elapsed_ns",
			       json_object_new_uint64((m->end_ns ? m->end_ns : now_ns()) - m->start_ns));
	if (m->downtime_ns && m->done) {
		struct json_object *sw = json_object_new_object();

		json_object_object_add(o, "downtime_ns", json_object_new_uint64(m->downtime_ns));
		if (m->copy_ns)
			json_object_object_add(o, "copy_ns", json_object_new_uint64(m->copy_ns));
		json_object_object_add(sw, "stopcopy_ns", json_object_new_uint64(m->stopcopy_ns));
		json_object_object_add(sw, "load_ns", json_object_new_uint64(m->load_ns));
		json_object_object_add(sw, "commit_ns", json_object_new_uint64(m->commit_ns));
		json_object_object_add(o, "switchover", sw);
	}
	if (m->progress.phase == MIG_QUEUED)
		json_object_object_add(o, "queued_ahead", json_object_new_uint64(m->queued_ahead));
	if (m->error[0])
		json_object_object_add(o, "error", json_object_new_string(m->error));
	if (m->prediction)
		json_object_object_add(o, "prediction", json_object_get(m->prediction));
	if (m->nnet) {
		struct json_object *a = json_object_new_array(), *c;
		unsigned int i;

		for (i = 0; i < m->nnet; i++) {
			struct json_object *e = json_object_new_object();

			json_object_object_add(e, "index", json_object_new_int(i));
			json_object_object_add(e, "network", json_object_new_string(m->net[i].network));
			json_object_object_add(e, "local", json_object_new_string(m->net[i].local));
			json_object_object_add(e, "remote", json_object_new_string(m->net[i].remote));
			c = netbpf_stream_json(&m->net[i]);
			if (c)
				json_object_object_add(e, "bpf", c);
			json_object_array_add(a, e);
		}
		json_object_object_add(o, "streams", a);
	}
	if (m->fallbacks)
		json_object_object_add(o, "fallbacks", json_object_get(m->fallbacks));
	return o;
}

/*
 * A move takes its place in line when it is asked for (control.c), before
 * its checks, so that moves asked in order start in order however long each
 * one's checks take. Under vmmigd.lock.
 */
void slot_join(struct migration *m)
{
	m->in_line = true;
}

/*
 * A live move takes a slot under max-migrations; one with its disks, or a
 * storage move, one under max-storage-migrations.
 */
static bool needs_live(const struct migration *m)
{
	return m->dir != MIG_STORAGE;
}

static bool needs_storage(const struct migration *m)
{
	return m->dir == MIG_STORAGE || m->opts.storage;
}

/*
 * Under vmmigd.lock: those in line before m that want the same kind of
 * slot (@storage), whose claim on one comes first.
 */
static unsigned int ahead_of(const struct migration *m, bool storage)
{
	bool storage_full = vmmigd.storage_active >= settings_max_storage_migrations();
	const struct migration *x;
	unsigned int n = 0;

	for (x = vmmigd.migrations; x; x = x->next) {
		if (!x->in_line || x->id >= m->id)
			continue;
		/* One that waits for a storage slot claims no live one meanwhile. */
		if (storage ? needs_storage(x) : (needs_live(x) && !(needs_storage(x) && storage_full)))
			n++;
	}
	return n;
}

bool slot_get(struct migration *m)
{
	bool live = needs_live(m), storage = needs_storage(m), ok, live_ok, storage_ok;
	unsigned int max, smax, ahead, sahead;
	struct timespec t;

	pthread_mutex_lock(&vmmigd.lock);
	m->in_line = true;
	for (;;) {
		max = settings_max_migrations();
		smax = settings_max_storage_migrations();
		/* Those ahead, even while still checking, get the free slots first. */
		ahead = live ? ahead_of(m, false) : 0;
		sahead = storage ? ahead_of(m, true) : 0;
		live_ok = !live || vmmigd.active + ahead < max;
		storage_ok = !storage || vmmigd.storage_active + sahead < smax;
		if ((live_ok && storage_ok) || m->cancel)
			break;
		m->queued_ahead = live_ok ? sahead : ahead;
		if (m->progress.phase != MIG_QUEUED) {
			m->progress.phase = MIG_QUEUED;
			pthread_mutex_unlock(&vmmigd.lock);
			event(EV_MIG_QUEUED, m, "%s: queued on %s: %s %u reached", m->vm,
			      vmmigd.host, live_ok ? "max-storage-migrations" : "max-migrations",
			      live_ok ? smax : max);
			pthread_mutex_lock(&vmmigd.lock);
		}
		pthread_cond_broadcast(&m->cond);
		/* The limit may change under us: look again now and then. */
		clock_gettime(CLOCK_REALTIME, &t);
		t.tv_sec += 1;
		pthread_cond_timedwait(&vmmigd.cond, &vmmigd.lock, &t);
	}
	leave_line(m);
	ok = !m->cancel;
	if (ok) {
		vmmigd.active += live;
		vmmigd.storage_active += storage;
		m->slot = live;
		m->storage_slot = storage;
		m->progress.phase = MIG_PREPARE;
	}
	pthread_mutex_unlock(&vmmigd.lock);
	return ok;
}

void slot_put(struct migration *m)
{
	pthread_mutex_lock(&vmmigd.lock);
	if (m->slot) {
		vmmigd.active--;
		m->slot = false;
	}
	if (m->storage_slot) {
		vmmigd.storage_active--;
		m->storage_slot = false;
	}
	pthread_cond_broadcast(&vmmigd.cond);
	pthread_mutex_unlock(&vmmigd.lock);
}
