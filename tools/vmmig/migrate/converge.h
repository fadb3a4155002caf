/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pre-copy engine's decisions: after every round, from what the round
 * measured, whether to copy another round, throttle the vCPUs more, switch
 * over, or give up; and, before a move, a prediction of how it will go.
 * Pure functions, no I/O: precopy.c feeds them, converge_test.c checks
 * them. Documentation/design/convergence.rst writes the algorithm down.
 */
#ifndef VMMIG_CONVERGE_H
#define VMMIG_CONVERGE_H

#include <stdbool.h>
#include <stdint.h>

#include "mig.h"
#include "vmdef.h"

#define CONVERGE_PAGE		4096ULL
/* What the device state (vCPUs, irqchip, clock, devices) adds to a switchover. */
#define CONVERGE_DEVICE_MS	5
/* A round makes progress when its dirty set is this much below the best. */
#define CONVERGE_MARGIN_PCT	10
/* Rounds without progress before the throttle rises (or, at its top, gives up). */
#define CONVERGE_STALL_ROUNDS	2
#define CONVERGE_MAX_THROTTLE	99
/* Rounds the model runs at most (prediction, ETA). */
#define CONVERGE_MODEL_ROUNDS	1000

enum converge_action {
	CONVERGE_ROUND,		/* copy another round */
	CONVERGE_THROTTLE,	/* set the vCPU throttle to .throttle_pct, then another round */
	CONVERGE_SWITCHOVER,	/* pause and send the rest (.forced: above the limit) */
	CONVERGE_CANCEL,	/* fail with .why; the VM runs on at the source */
};

/* What one round measured. */
struct converge_round {
	uint64_t sent_pages;	/* pages the round sent */
	uint64_t round_ns;	/* how long the round took */
	uint64_t throughput;	/* bytes per second on the wire during the round */
	uint64_t dirty_pages;	/* the round's harvest: pages written since the last one */
	uint64_t dirty_ns;	/* the time they were written in: since the last harvest */
	uint64_t elapsed_ns;	/* since the move began */
	uint64_t backlog_bytes;	/* written, not yet at the destination */
};

struct converge {
	/* The options and the limits; converge_init() sets them, a caller may adjust. */
	uint32_t downtime_limit_ms;
	uint32_t timeout_s;
	enum mig_on_timeout on_timeout;
	uint32_t device_ms;
	uint64_t wss_pages;		/* the model's bound on a dirty set: guest memory */

	/* Estimates, for the progress (valid after the first round). */
	unsigned int round;
	uint64_t dirty_rate;		/* pages per second, over the last harvest */
	uint64_t throughput;		/* bytes per second, the last measured */
	uint64_t remaining_pages;	/* what a switchover now would send, at most */
	uint64_t backlog_bytes;		/* and what the path still carries */
	uint64_t expected_downtime_ms;
	uint64_t eta_ns;		/* time left; 0: unknown; never grows */
	unsigned int throttle_pct;	/* the vCPU throttle the caller should apply */

	/* The decision's state. */
	uint64_t best;			/* smallest dirty set since the throttle last changed */
	unsigned int stalled;		/* rounds since then without progress */
	unsigned int round_throttle;	/* throttle in force during the last round */
	bool timed_out;
	bool forced;			/* a switchover above the limit */
	char why[VMMIG_ERRLEN];		/* a cancel's reason, or a forced switchover's */
};

void converge_init(struct converge *c, const struct mig_opts *o, uint64_t mem_pages);
/* The decision after round @r; updates the estimates in @c. */
enum converge_action converge_round(struct converge *c, const struct converge_round *r);
/* The throttle step after @pct: 20, 40, 60, 80, 90, 95, 99, 99. */
unsigned int converge_next_throttle(unsigned int pct);

enum mig_verdict {
	MIG_CONVERGES,			/* without throttling */
	MIG_CONVERGES_THROTTLED,	/* once the vCPUs are throttled */
	MIG_NEVER,			/* not even at the top throttle */
	MIG_NVERDICTS
};
extern const char *const mig_verdict_names[MIG_NVERDICTS];	/* "converges", ... */

struct mig_prediction {
	enum mig_verdict verdict;
	unsigned int rounds;		/* pre-copy rounds after the first copy */
	unsigned int throttle_pct;	/* the throttle it ends with */
	uint64_t total_ms;		/* start to resumed at the destination */
	uint64_t downtime_ms;
};

/*
 * How a move of @mem_pages (the pages with data: zero pages go as markers)
 * will go, for a guest that writes @dirty_rate distinct pages per second
 * within a working set of @wss_pages (0: all of memory), over a path of
 * @throughput bytes per second, under @downtime_limit_ms: the engine
 * above, run on that model.
 */
void mig_predict(uint64_t mem_pages, uint64_t dirty_rate, uint64_t wss_pages,
		 uint64_t throughput, uint32_t downtime_limit_ms, struct mig_prediction *p);

#endif
