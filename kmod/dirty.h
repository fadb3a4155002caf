/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_DIRTY_H
#define _VMMIG_DIRTY_H

#include <linux/types.h>
#include <net/genetlink.h>
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

int vmmig_dirty_start_doit(struct sk_buff *skb, struct genl_info *info);
int vmmig_dirty_stop_doit(struct sk_buff *skb, struct genl_info *info);
int vmmig_dirty_harvest_doit(struct sk_buff *skb, struct genl_info *info);
int vmmig_dirty_stats_doit(struct sk_buff *skb, struct genl_info *info);
void vmmig_dirty_stop(struct vmmig_vm *vm, struct netlink_ext_ack *extack);

extern const struct nla_policy vmmig_dirty_policy[VMMIG_DIRTY_A_MAX + 1];

#endif /* _VMMIG_DIRTY_H */
