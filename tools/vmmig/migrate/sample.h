/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A running VM's dirty rate and working set, sampled by vmmig.ko without
 * dirty logging (VMMIG_CMD_DIRTY_RATE), for mig_predict() before a move and
 * for `vmmig move --dry-run`.
 */
#ifndef VMMIG_MIG_SAMPLE_H
#define VMMIG_MIG_SAMPLE_H

#include <stdint.h>

#include "nl.h"

struct mig_dirty_sample {
	uint64_t rate;		/* distinct pages written per second (over 1 s) */
	uint64_t wss_pages;	/* pages written over the interval; 0: not saturated */
	uint64_t total_pages;	/* guest memory */
	uint64_t data_pages;	/* of them, holding data (not only zeros): estimated */
	uint64_t interval_ns;	/* the long sample's */
};

/*
 * Samples @vm (registered: by name or UUID) over @seconds (1..60): one
 * sample of 1 s for the rate and, alongside, one of @seconds for the
 * working set (when the pages written over it fall short of the rate times
 * the interval, the guest keeps writing the same pages). Blocks for
 * @seconds. 0, or -errno with @why (-ENOENT: vmmig.ko is not loaded).
 */
int mig_sample_dirty(struct vmmig_handle vm, uint32_t seconds, struct mig_dirty_sample *s,
		     char *why);

/*
 * The pages a move's first copy sends as data (zero pages go as markers):
 * those @s found with data, never fewer than its working set (pages being
 * rewritten hold data), never more than @vmm_pages, what the VMM's memory
 * file holds (its status' data_pages; 0: unknown).
 */
uint64_t mig_copy_pages(const struct mig_dirty_sample *s, uint64_t vmm_pages);

#endif
