// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "registry.h"
#include "sample.h"
#include "vmdef.h"

/* The kernel's sample size: enough for a few percent on any guest. */
#define SAMPLE_PAGES	4096

struct sampler {
	struct vmmig_handle vm;
	uint32_t seconds;
	struct vmmig_nl nl;
	struct vmmig_dirty_rate r;
	int err;
	char why[VMMIG_ERRLEN];
};

static void *sample_one(void *arg)
{
	struct sampler *s = arg;

	s->err = vmmig_nl_open(&s->nl);
	if (s->err) {
		snprintf(s->why, sizeof(s->why), "vmmig.ko: %s",
			 s->err == -ENOENT ? "not loaded (modprobe vmmig)" : strerror(-s->err));
		return NULL;
	}
	s->err = vmmig_dirty_sample(&s->nl, s->vm, s->seconds, SAMPLE_PAGES, &s->r);
	if (s->err)
		snprintf(s->why, sizeof(s->why), "sampling the dirty rate: %s",
			 vmmig_nl_strerror(&s->nl, s->err));
	vmmig_nl_close(&s->nl);
	return NULL;
}

/* Pages of the whole guest that @r saw change. */
static uint64_t changed(const struct vmmig_dirty_rate *r)
{
	return r->sample_pages ? r->changed_pages * r->total_pages / r->sample_pages : 0;
}

int mig_sample_dirty(struct vmmig_handle vm, uint32_t seconds, struct mig_dirty_sample *s,
		     char *why)
{
	struct sampler one = { .vm = vm, .seconds = 1 }, all = { .vm = vm, .seconds = seconds };
	pthread_t t;
	int err;

	memset(s, 0, sizeof(*s));
	if (seconds < 1 || seconds > 60) {
		snprintf(why, VMMIG_ERRLEN, "the sampling interval must be 1 to 60 s, not %u", seconds);
		return -EINVAL;
	}
	err = seconds > 1 ? pthread_create(&t, NULL, sample_one, &all) : 0;
	if (err) {
		snprintf(why, VMMIG_ERRLEN, "pthread_create: %s", strerror(err));
		return -err;
	}
	/* The rate over 1 s, while the long sample runs. */
	sample_one(&one);
	if (seconds > 1)
		pthread_join(t, NULL);
	else
		all = one;
	if (one.err || all.err) {
		snprintf(why, VMMIG_ERRLEN, "%s", one.err ? one.why : all.why);
		return one.err ? one.err : all.err;
	}
	s->rate = one.r.rate;
	s->total_pages = all.r.total_pages;
	s->data_pages = all.r.sample_pages ? s->total_pages - all.r.zero_pages *
					     s->total_pages / all.r.sample_pages : s->total_pages;
	s->interval_ns = all.r.interval_ns;
	/* Below 90 % of what the rate would write in the interval: saturated. */
	if (seconds > 1 && changed(&all.r) * 10 < s->rate * seconds * 9)
		s->wss_pages = changed(&all.r);
	return 0;
}

uint64_t mig_copy_pages(const struct mig_dirty_sample *s, uint64_t vmm_pages)
{
	uint64_t n = s->data_pages > s->wss_pages ? s->data_pages : s->wss_pages;

	return vmm_pages && vmm_pages < n ? vmm_pages : n;
}
