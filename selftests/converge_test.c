// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side unit test of the pre-copy decisions (migrate/converge.c) over
 * synthetic round sequences, and of the prediction against closed-form
 * values of its model. Documentation/design/convergence.rst.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "converge.h"

#define MS	1000000ULL
#define S	1000000000ULL
/* 10,000 pages a second. */
#define BPS	(10000 * CONVERGE_PAGE)

static void init(struct converge *c, uint32_t limit, uint32_t timeout, enum mig_on_timeout on)
{
	struct mig_opts o;

	mig_opts_default(&o);
	o.downtime_limit_ms = limit;
	o.timeout_s = timeout;
	o.on_timeout = on;
	converge_init(c, &o, 1 << 20);
}

/* A round that sent @dirty pages in @round_ns, harvested over @span_ns. */
static enum converge_action feed(struct converge *c, uint64_t dirty, uint64_t round_ns,
				 uint64_t span_ns, uint64_t *elapsed)
{
	struct converge_round r = {
		.sent_pages = dirty, .round_ns = round_ns, .throughput = BPS,
		.dirty_pages = dirty, .dirty_ns = span_ns,
	};

	*elapsed += round_ns;
	r.elapsed_ns = *elapsed;
	return converge_round(c, &r);
}

/* Rounds of @dirty pages sent at BPS, each harvest covering the round before. */
static enum converge_action steady(struct converge *c, uint64_t dirty, uint64_t *elapsed)
{
	uint64_t t = dirty * S / 10000;

	return feed(c, dirty, t, t, elapsed);
}

TEST(converging)
{
	static const uint64_t dirty[] = { 4000, 1600, 640, 256 };
	struct converge c;
	uint64_t el = 0, span = S;
	unsigned int i;

	init(&c, 50, 0, MIG_TIMEOUT_CANCEL);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(CONVERGE_ROUND, feed(&c, dirty[i], dirty[i] * S / 10000, span, &el));
		span = dirty[i] * S / 10000;
	}
	/* 4000 pages in 0.4 s: 10,000 pages a second, 4000 left at most: 405 ms. */
	EXPECT_EQ(4000, c.dirty_rate);
	EXPECT_EQ(640, c.remaining_pages);
	EXPECT_EQ(69, c.expected_downtime_ms);
	ASSERT_EQ(CONVERGE_SWITCHOVER, feed(&c, dirty[3], dirty[3] * S / 10000, span, &el));
	EXPECT_EQ(31, c.expected_downtime_ms);	/* 25.6 ms, rounded up, and 5 */
	EXPECT_EQ(0, c.throttle_pct);
	EXPECT_FALSE(c.forced);
	EXPECT_EQ(4, c.round);
}

TEST(remaining_bound)
{
	struct converge c;
	uint64_t el = 0;

	init(&c, 50, 0, MIG_TIMEOUT_CANCEL);
	/* A round longer than the time its harvest covers: rate times the round. */
	EXPECT_EQ(CONVERGE_ROUND, feed(&c, 1000, 2 * S, S, &el));
	EXPECT_EQ(2000, c.remaining_pages);
	/* Shorter: the harvest itself bounds it. */
	EXPECT_EQ(CONVERGE_ROUND, feed(&c, 1000, S / 10, S, &el));
	EXPECT_EQ(1000, c.remaining_pages);
}

TEST(stalling_then_throttled)
{
	static const unsigned int steps[] = { 20, 40, 60, 80, 90, 95, 99 };
	struct converge c;
	uint64_t el = 0, d;
	unsigned int i;

	init(&c, 50, 0, MIG_TIMEOUT_CANCEL);
	EXPECT_EQ(CONVERGE_ROUND, steady(&c, 4000, &el));
	/* Two rounds without shrinking by 10 %: the throttle rises, step by step. */
	for (i = 0; i < 7; i++) {
		EXPECT_EQ(CONVERGE_ROUND, steady(&c, 3700, &el));
		ASSERT_EQ(CONVERGE_THROTTLE, steady(&c, 3800, &el));
		EXPECT_EQ(steps[i], c.throttle_pct);
	}
	/* At the top, still stuck and no timeout: the cancel policy gives up. */
	EXPECT_EQ(CONVERGE_ROUND, steady(&c, 3800, &el));
	ASSERT_EQ(CONVERGE_CANCEL, steady(&c, 3800, &el));
	EXPECT_NE(NULL, strstr(c.why, "does not converge, even with the vCPUs throttled 99 %"));

	/* Progress after a step holds the throttle where it is, and converges. */
	init(&c, 50, 0, MIG_TIMEOUT_CANCEL);
	el = 0;
	steady(&c, 4000, &el);
	steady(&c, 4000, &el);
	ASSERT_EQ(CONVERGE_THROTTLE, steady(&c, 4000, &el));
	EXPECT_EQ(20, c.throttle_pct);
	for (d = 3000; d > 400; d = d * 6 / 10)
		ASSERT_EQ(CONVERGE_ROUND, steady(&c, d, &el));
	ASSERT_EQ(CONVERGE_SWITCHOVER, steady(&c, d, &el));
	EXPECT_EQ(20, c.throttle_pct);
	EXPECT_FALSE(c.forced);
}

/*
 * The first copy still in this host's buffers, a destination that has
 * acknowledged nothing yet (its VMM starting), a guest writing nothing:
 * rounds find nothing to send and measure no throughput. The downtime is
 * unknown, not long: no throttle, no giving up, until the bytes move.
 */
TEST(nothing_acknowledged_yet)
{
	struct converge c;
	struct converge_round r = {
		.round_ns = 100 * MS, .dirty_ns = 100 * MS, .backlog_bytes = 2 << 20,
	};
	unsigned int i;

	init(&c, 300, 0, MIG_TIMEOUT_CANCEL);
	for (i = 0; i < 50; i++) {
		r.elapsed_ns += r.round_ns;
		ASSERT_EQ(CONVERGE_ROUND, converge_round(&c, &r));
	}
	EXPECT_EQ(0, c.throttle_pct);
	EXPECT_EQ(UINT64_MAX, c.expected_downtime_ms);
	/* The destination reads: 2 MiB left at 40 MiB/s, under the limit. */
	r.throughput = 40 << 20;
	r.elapsed_ns += r.round_ns;
	EXPECT_EQ(CONVERGE_SWITCHOVER, converge_round(&c, &r));

	/* A timeout still ends the wait, by its policy. */
	init(&c, 300, 2, MIG_TIMEOUT_CANCEL);
	r = (struct converge_round){ .round_ns = 100 * MS, .backlog_bytes = 2 << 20 };
	for (i = 0; i < 19; i++) {
		r.elapsed_ns += r.round_ns;
		ASSERT_EQ(CONVERGE_ROUND, converge_round(&c, &r));
	}
	r.elapsed_ns += r.round_ns;
	EXPECT_EQ(CONVERGE_CANCEL, converge_round(&c, &r));
	EXPECT_NE(NULL, strstr(c.why, "expected downtime unknown"));
}

/* Never converging: 4000 pages a round of 0.4 s, a timeout of 10 s. */
static enum converge_action until_timeout(struct converge *c, enum mig_on_timeout on)
{
	enum converge_action a;
	uint64_t el = 0;
	int i;

	init(c, 50, 10, on);
	for (i = 0; i < 100; i++) {
		a = steady(c, 4000, &el);
		if (el >= 10 * S || (a != CONVERGE_ROUND && a != CONVERGE_THROTTLE))
			return a;
	}
	return a;
}

TEST(timeout_cancel)
{
	struct converge c;

	ASSERT_EQ(CONVERGE_CANCEL, until_timeout(&c, MIG_TIMEOUT_CANCEL));
	EXPECT_NE(NULL, strstr(c.why, "did not converge in 10 s: expected downtime 405 ms, limit 50 ms"));
	/* Before the timeout, the throttle rose to the top and waited there. */
	EXPECT_EQ(99, c.throttle_pct);
}

TEST(timeout_pause)
{
	struct converge c;

	ASSERT_EQ(CONVERGE_SWITCHOVER, until_timeout(&c, MIG_TIMEOUT_PAUSE));
	EXPECT_TRUE(c.forced);
	EXPECT_EQ(405, c.expected_downtime_ms);
	EXPECT_NE(NULL, strstr(c.why, "did not converge in 10 s"));
}

TEST(timeout_throttle)
{
	struct converge c;
	uint64_t el = 0;
	int i;

	/* A slow, steady descent that never stalls, so only the timeout throttles. */
	init(&c, 50, 2, MIG_TIMEOUT_THROTTLE);
	for (i = 0; el + S / 2 < 2 * S; i++)
		ASSERT_EQ(CONVERGE_ROUND, feed(&c, 40000 - i * 4001, S / 2, S / 2, &el));
	EXPECT_EQ(0, c.throttle_pct);
	/* At the timeout, and at each round after it, one step up. */
	ASSERT_EQ(CONVERGE_THROTTLE, feed(&c, 20000, S / 2, S / 2, &el));
	EXPECT_EQ(20, c.throttle_pct);
	EXPECT_TRUE(c.timed_out);
	ASSERT_EQ(CONVERGE_THROTTLE, feed(&c, 20000, S / 2, S / 2, &el));
	EXPECT_EQ(40, c.throttle_pct);
	for (i = 0; i < 5; i++)
		ASSERT_EQ(CONVERGE_THROTTLE, feed(&c, 20000, S / 2, S / 2, &el));
	EXPECT_EQ(99, c.throttle_pct);
	/* At the top, stuck for two rounds: it switches over as pause would. */
	EXPECT_EQ(CONVERGE_ROUND, feed(&c, 20000, S / 2, S / 2, &el));
	ASSERT_EQ(CONVERGE_SWITCHOVER, feed(&c, 20000, S / 2, S / 2, &el));
	EXPECT_TRUE(c.forced);
	EXPECT_NE(NULL, strstr(c.why, "throttled to 99 %"));
}

TEST(eta_never_grows)
{
	/* Ups and downs, a throttle step, then convergence. */
	static const uint64_t dirty[] = {
		5000, 3000, 6000, 2000, 4000, 4100, 4200, 3000, 1500, 2500, 800, 300,
	};
	struct converge c;
	uint64_t el = 0, span = S, last = 0;
	unsigned int i;
	int known = 0;

	init(&c, 50, 0, MIG_TIMEOUT_CANCEL);
	for (i = 0; i < sizeof(dirty) / sizeof(dirty[0]); i++) {
		enum converge_action a = feed(&c, dirty[i], dirty[i] * S / 10000, span, &el);

		span = dirty[i] * S / 10000;
		if (c.eta_ns) {
			if (known)
				EXPECT_LE(c.eta_ns, last);
			known = 1;
			last = c.eta_ns;
		}
		if (a == CONVERGE_SWITCHOVER)
			break;
	}
	EXPECT_TRUE(known);
	EXPECT_EQ(CONVERGE_SWITCHOVER, feed(&c, 100, 10 * MS, 30 * MS, &el));
	EXPECT_LE(c.eta_ns, last);
	EXPECT_EQ(c.expected_downtime_ms * MS, c.eta_ns);
}

TEST(throttle_ladder)
{
	EXPECT_EQ(20, converge_next_throttle(0));
	EXPECT_EQ(40, converge_next_throttle(20));
	EXPECT_EQ(80, converge_next_throttle(60));
	EXPECT_EQ(90, converge_next_throttle(80));
	EXPECT_EQ(95, converge_next_throttle(90));
	EXPECT_EQ(99, converge_next_throttle(95));
	EXPECT_EQ(99, converge_next_throttle(99));
}

/*
 * The model in closed form, no throttling: the first copy of M pages, then
 * rounds D_1 = qM, D_k = q^(k-1) D_1 (q = rate / pages per second, below
 * the working set), until the engine's bound D_k is sent within the limit;
 * the switchover then sends q D_n.
 */
static double up(double x)
{
	double i = (double)(uint64_t)x;

	return i < x ? i + 1 : i;
}

static double dist(double a, double b)
{
	return a > b ? a - b : b - a;
}

static void closed_form(double m, double rate, double pps, double limit_ms, unsigned int *rounds,
			double *total_ms, double *down_ms)
{
	double q = rate / pps, d = q * m, sum = m;
	unsigned int n = 1;

	while (up(d / pps * 1000) + CONVERGE_DEVICE_MS > limit_ms) {
		sum += d;
		d *= q;
		n++;
	}
	sum += d;
	*rounds = n;
	*down_ms = q * d / pps * 1000 + CONVERGE_DEVICE_MS;
	*total_ms = sum / pps * 1000 + *down_ms;
}

TEST(predict_closed_form)
{
	static const struct { double rate; uint32_t limit; } cases[] = {
		{ 2000, 50 }, { 5000, 50 }, { 8000, 300 }, { 7000, 20 }, { 100, 10 },
	};
	struct mig_prediction p;
	double total, down;
	unsigned int i, n;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mig_predict(4096, cases[i].rate, 0, BPS, cases[i].limit, &p);
		closed_form(4096, cases[i].rate, 10000, cases[i].limit, &n, &total, &down);
		TH_LOG("rate %.0f limit %u: %s in %u rounds, %llu ms, downtime %llu ms (closed form %u, %.1f, %.1f)",
		       cases[i].rate, cases[i].limit, mig_verdict_names[p.verdict], p.rounds,
		       (unsigned long long)p.total_ms, (unsigned long long)p.downtime_ms, n, total,
		       down);
		EXPECT_EQ(MIG_CONVERGES, p.verdict);
		EXPECT_EQ(n, p.rounds);
		/* Pages are whole in the model: a page of rounding per round. */
		EXPECT_LE(dist(p.total_ms, total), 1.0 + p.rounds * 0.1);
		EXPECT_LE(dist(p.downtime_ms, down), 1.0);
		EXPECT_LE(p.downtime_ms, cases[i].limit);
	}
}

TEST(predict_saturated)
{
	struct mig_prediction p;

	/* A working set that fits the limit: one round, whatever the rate. */
	mig_predict(4096, 1000000, 100, BPS, 50, &p);
	EXPECT_EQ(MIG_CONVERGES, p.verdict);
	EXPECT_EQ(1, p.rounds);
	EXPECT_EQ(15, p.downtime_ms);		/* 100 pages: 10 ms, and 5 */
	EXPECT_EQ(435, p.total_ms);		/* 409.6 + 10 + 15 */

	/* An idle guest: the first copy and the device state. */
	mig_predict(4096, 0, 0, BPS, 300, &p);
	EXPECT_EQ(MIG_CONVERGES, p.verdict);
	EXPECT_EQ(1, p.rounds);
	EXPECT_EQ(5, p.downtime_ms);
	EXPECT_EQ(415, p.total_ms);
}

TEST(predict_throttled_and_never)
{
	struct mig_prediction p;

	/* Twice the path's speed over 4 MiB: only throttling brings it down. */
	mig_predict(4096, 20000, 1024, BPS, 50, &p);
	TH_LOG("%s: %u rounds, throttle %u %%, %llu ms, downtime %llu ms",
	       mig_verdict_names[p.verdict], p.rounds, p.throttle_pct,
	       (unsigned long long)p.total_ms, (unsigned long long)p.downtime_ms);
	EXPECT_EQ(MIG_CONVERGES_THROTTLED, p.verdict);
	EXPECT_GE(p.throttle_pct, 20);
	EXPECT_LE(p.throttle_pct, 99);
	EXPECT_LE(p.downtime_ms, 50);
	/* Its rate throttled to what converges: 20000 * (1 - t) below 10000. */
	EXPECT_GE(p.throttle_pct, 60);

	/* A limit below the device state's own cost is never met. */
	mig_predict(4096, 100, 0, BPS, CONVERGE_DEVICE_MS - 1, &p);
	EXPECT_EQ(MIG_NEVER, p.verdict);
	EXPECT_EQ(99, p.throttle_pct);

	/* No path: never. */
	mig_predict(4096, 100, 0, 0, 300, &p);
	EXPECT_EQ(MIG_NEVER, p.verdict);

	/* A guest of zeros: its markers, then the switchover. */
	mig_predict(0, 0, 0, BPS, 300, &p);
	EXPECT_EQ(MIG_CONVERGES, p.verdict);
	EXPECT_LE(p.downtime_ms, 300);
}

TEST_HARNESS_MAIN
