// SPDX-License-Identifier: GPL-2.0
/*
 * Convergence: the decision after each pre-copy round, the estimates the
 * progress shows, and the prediction before a move, which runs the same
 * decision on a model of the guest. Documentation/design/convergence.rst.
 */
#include <stdio.h>
#include <string.h>

#include "converge.h"

#define NS		1000000000ULL

const char *const mig_verdict_names[MIG_NVERDICTS] = {
	"converges", "converges-throttled", "never",
};

void converge_init(struct converge *c, const struct mig_opts *o, uint64_t mem_pages)
{
	*c = (struct converge){
		.downtime_limit_ms = o->downtime_limit_ms,
		.timeout_s = o->timeout_s,
		.on_timeout = o->on_timeout,
		.device_ms = CONVERGE_DEVICE_MS,
		.wss_pages = mem_pages,
		.best = UINT64_MAX,
	};
}

unsigned int converge_next_throttle(unsigned int pct)
{
	if (pct < 80)
		return pct + 20 - pct % 20;
	if (pct < 90)
		return 90;
	if (pct < 95)
		return 95;
	return CONVERGE_MAX_THROTTLE;
}

/*
 * Sending @pages at the measured throughput, behind what the path still
 * carries, then the device state.
 */
static uint64_t downtime_ms(const struct converge *c, uint64_t pages)
{
	uint64_t bytes = pages * CONVERGE_PAGE + c->backlog_bytes;

	if (!bytes)
		return c->device_ms;
	if (!c->throughput)
		return UINT64_MAX;
	return (bytes * 1000 + c->throughput - 1) / c->throughput + c->device_ms;
}

static void describe(struct converge *c, const char *what)
{
	char down[32];

	snprintf(c->why, sizeof(c->why),
		 "%s: expected downtime %s, limit %u ms (dirty rate %llu pages/s, throughput %llu KiB/s, vCPU throttle %u %%)",
		 what, mig_downtime_str(c->expected_downtime_ms, down, sizeof(down)), c->downtime_limit_ms, (unsigned long long)c->dirty_rate,
		 (unsigned long long)(c->throughput / 1024), c->throttle_pct);
}

static enum converge_action raise_throttle(struct converge *c, uint64_t dirty)
{
	c->throttle_pct = converge_next_throttle(c->throttle_pct);
	c->best = dirty;
	c->stalled = 0;
	return CONVERGE_THROTTLE;
}

/* The move cannot meet the limit: the timeout policy decides. */
static enum converge_action give_up(struct converge *c, const char *what)
{
	describe(c, what);
	if (c->on_timeout == MIG_TIMEOUT_CANCEL)
		return CONVERGE_CANCEL;
	c->forced = true;
	return CONVERGE_SWITCHOVER;
}

/* The decision alone: the estimates and the state of @c, without the ETA. */
static enum converge_action step(struct converge *c, const struct converge_round *r)
{
	uint64_t rem = r->dirty_pages, prop;
	char what[64];

	c->round++;
	c->round_throttle = c->throttle_pct;
	if (r->throughput)
		c->throughput = r->throughput;
	c->backlog_bytes = r->backlog_bytes;
	if (r->dirty_ns)
		c->dirty_rate = (unsigned __int128)r->dirty_pages * NS / r->dirty_ns;
	/*
	 * What the guest wrote during this round, which a switchover now would
	 * send: at most the last harvest when the round was shorter than the
	 * time that harvest covers, else at most the rate times the round.
	 */
	prop = (unsigned __int128)c->dirty_rate * r->round_ns / NS;
	if (prop > rem)
		rem = prop;
	if (rem > c->wss_pages)
		rem = c->wss_pages;
	c->remaining_pages = rem;
	c->expected_downtime_ms = downtime_ms(c, rem);

	if (c->expected_downtime_ms <= c->downtime_limit_ms)
		return CONVERGE_SWITCHOVER;

	/*
	 * Nothing acknowledged yet (a destination VMM still starting, its
	 * window shut): the downtime is unknown, not long, and a round tells
	 * nothing of convergence. Only a timeout ends that wait.
	 */
	if (!c->throughput) {
		/* neither shrinking nor stalling */
	} else if (c->best == UINT64_MAX ||
		   r->dirty_pages * 100 < c->best * (100 - CONVERGE_MARGIN_PCT)) {
		c->best = r->dirty_pages;
		c->stalled = 0;
	} else {
		c->stalled++;
	}

	if (c->timeout_s && !c->timed_out && r->elapsed_ns >= c->timeout_s * NS) {
		c->timed_out = true;
		snprintf(what, sizeof(what), "did not converge in %u s", c->timeout_s);
		if (c->on_timeout != MIG_TIMEOUT_THROTTLE)
			return give_up(c, what);
	}
	if (c->timed_out) {
		/* on_timeout throttle: one step a round, then as pause. */
		if (c->throttle_pct < CONVERGE_MAX_THROTTLE)
			return raise_throttle(c, r->dirty_pages);
		if (c->stalled >= CONVERGE_STALL_ROUNDS) {
			snprintf(what, sizeof(what), "did not converge in %u s, throttled to %u %%",
				 c->timeout_s, c->throttle_pct);
			return give_up(c, what);
		}
		return CONVERGE_ROUND;
	}
	if (c->stalled < CONVERGE_STALL_ROUNDS)
		return CONVERGE_ROUND;
	if (c->throttle_pct < CONVERGE_MAX_THROTTLE)
		return raise_throttle(c, r->dirty_pages);
	/* At the top throttle and still not shrinking: a timeout, if any, waits. */
	if (c->timeout_s)
		return CONVERGE_ROUND;
	snprintf(what, sizeof(what), "does not converge, even with the vCPUs throttled %u %%",
		 c->throttle_pct);
	return give_up(c, what);
}

/*
 * The model: a guest that writes @rate distinct pages a second when not
 * throttled (in proportion to the time its vCPUs run), within @wss pages,
 * over a path of @bps bytes a second.
 */
struct model {
	double rate, wss, bps;
};

static uint64_t model_dirty(const struct model *m, double secs, unsigned int throttle)
{
	double d = m->rate * (100 - throttle) / 100 * secs;

	return d < m->wss ? (uint64_t)(d + 0.5) : (uint64_t)m->wss;
}

struct model_end {
	enum converge_action act;	/* SWITCHOVER or CANCEL */
	double secs;			/* from the start of the run to the end of the move */
	double downtime;
};

/*
 * Runs @c on the model from a round that will send @dirty pages, written in
 * the @span seconds before it, @elapsed seconds into the move.
 */
static void model_run(struct converge *c, const struct model *m, uint64_t dirty, double span,
		      double elapsed, struct model_end *e)
{
	unsigned int i, thr;
	double t;

	memset(e, 0, sizeof(*e));
	e->act = CONVERGE_CANCEL;
	for (i = 0; i < CONVERGE_MODEL_ROUNDS; i++) {
		struct converge_round r = {
			.sent_pages = dirty, .dirty_pages = dirty,
			.throughput = m->bps, .dirty_ns = span * NS,
		};

		thr = c->throttle_pct;
		t = dirty * CONVERGE_PAGE / m->bps;
		elapsed += t;
		e->secs += t;
		r.round_ns = t * NS;
		r.elapsed_ns = elapsed * NS;
		e->act = step(c, &r);
		if (e->act == CONVERGE_CANCEL)
			return;
		if (e->act == CONVERGE_SWITCHOVER) {
			e->downtime = model_dirty(m, t, thr) * CONVERGE_PAGE / m->bps +
				      c->device_ms / 1000.0;
			e->secs += e->downtime;
			return;
		}
		span = t;
		dirty = model_dirty(m, t, thr);
	}
	e->act = CONVERGE_CANCEL;
}

/* Time left, on the model from where @c stands after a ROUND or THROTTLE. */
static uint64_t eta_estimate(const struct converge *c, const struct converge_round *r,
			     unsigned int span_throttle)
{
	struct converge copy = *c;
	struct model m = {
		.rate = c->dirty_rate * 100.0 / (100 - span_throttle),
		.wss = c->wss_pages,
		.bps = c->throughput,
	};
	struct model_end e;
	uint64_t est = 0, left;

	if (c->throughput) {
		model_run(&copy, &m, c->remaining_pages, r->round_ns / (double)NS,
			  r->elapsed_ns / (double)NS, &e);
		if (e.act == CONVERGE_SWITCHOVER)
			est = e.secs * NS;
	}
	if (c->timeout_s && c->on_timeout != MIG_TIMEOUT_THROTTLE) {
		left = c->timeout_s * NS > r->elapsed_ns ? c->timeout_s * NS - r->elapsed_ns : 0;
		left += c->expected_downtime_ms * 1000000;
		if (!est || left < est)
			est = left;
	}
	return est;
}

enum converge_action converge_round(struct converge *c, const struct converge_round *r)
{
	unsigned int span_throttle = c->round_throttle;
	enum converge_action act = step(c, r);
	uint64_t est;

	if (act == CONVERGE_SWITCHOVER)
		est = c->expected_downtime_ms * 1000000;
	else if (act == CONVERGE_CANCEL)
		est = 0;
	else
		est = eta_estimate(c, r, span_throttle);
	/* It follows the estimate down, never up; 0 is unknown. */
	if (est && (!c->eta_ns || est < c->eta_ns))
		c->eta_ns = est;
	return act;
}

void mig_predict(uint64_t mem_pages, uint64_t dirty_rate, uint64_t wss_pages,
		 uint64_t throughput, uint32_t downtime_limit_ms, struct mig_prediction *p)
{
	struct mig_opts o;
	struct converge c;
	struct model m = {
		.rate = dirty_rate,
		.wss = wss_pages && wss_pages < mem_pages ? wss_pages : mem_pages,
		.bps = throughput,
	};
	struct model_end e;
	double first;

	memset(p, 0, sizeof(*p));
	p->verdict = MIG_NEVER;
	if (!throughput)
		return;
	/* A guest of zeros still sends its markers: as one page. */
	if (!mem_pages)
		mem_pages = m.wss = 1;
	mig_opts_default(&o);
	o.downtime_limit_ms = downtime_limit_ms;
	converge_init(&c, &o, mem_pages);
	/* The first copy of all memory, then the rounds. */
	first = mem_pages * CONVERGE_PAGE / m.bps;
	model_run(&c, &m, model_dirty(&m, first, 0), first, first, &e);
	p->rounds = c.round;
	p->throttle_pct = c.throttle_pct;
	if (e.act != CONVERGE_SWITCHOVER || c.forced)
		return;
	p->verdict = c.throttle_pct ? MIG_CONVERGES_THROTTLED : MIG_CONVERGES;
	p->total_ms = (first + e.secs) * 1000 + 0.5;
	p->downtime_ms = e.downtime * 1000 + 0.5;
}
