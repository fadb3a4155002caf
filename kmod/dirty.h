/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_DIRTY_H
#define _VMMIG_DIRTY_H

#include <linux/types.h>
#include <net/netlink.h>
#include "uapi/linux/vmmig.h"

struct vmmig_vm;

struct vmmig_dirty_slot {
	u32 id;
	u32 flags;		/* KVM_MEM_* before dirty logging was added */
	u64 base_gfn;
	u64 npages;
	u64 uaddr;
	unsigned long *bitmap;	/* the bits of the current harvest */
	unsigned long scratch;	/* its copy in the owner's memory */
	u64 pages;		/* dirty in the last round */
	u64 rate;		/* pages per second in the last round */
};

/* Dirty tracking of one VM; under vmmig_vm.dirty_lock. */
struct vmmig_dirty {
	bool active;
	bool enabled_manual;	/* we turned on manual protect, undo it */
	u64 memslots_gen;	/* KVM's memslot generation at start */
	int nslots;
	struct vmmig_dirty_slot *slots;
	unsigned long scratch;	/* mapping in the owner's memory */
	size_t scratch_len;
	u64 round;
	u64 pages, time_ns, interval_ns, rate, nr_ranges;
	u64 total_pages;
	u64 last_ns;		/* when the last round (or start) began */
};

/* Where a harvest puts its ranges: a kernel array, or the owner's memory. */
struct vmmig_dirty_ranges {
	struct vmmig_dirty_range *kbuf;
	struct vmmig_dirty_range __user *ubuf;
	u64 n, max;
};

bool vmmig_dirty_owner(struct vmmig_vm *vm, struct netlink_ext_ack *extack);
int vmmig_dirty_start(struct vmmig_vm *vm, struct netlink_ext_ack *extack);
int vmmig_dirty_stop(struct vmmig_vm *vm, struct netlink_ext_ack *extack);
int vmmig_dirty_harvest(struct vmmig_vm *vm, struct vmmig_dirty_ranges *r,
			struct netlink_ext_ack *extack);

#endif /* _VMMIG_DIRTY_H */
