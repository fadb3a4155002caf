/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_SAMPLE_H
#define _VMMIG_SAMPLE_H

#include <linux/types.h>
#include <net/netlink.h>

struct kvm;

#define VMMIG_SAMPLE_DEFAULT_PAGES	4096

struct vmmig_sample_result {
	u32 pages;		/* sampled */
	u64 changed;		/* sampled pages whose content changed */
	u64 zero;		/* sampled pages holding only zeros at the end */
	u64 total;		/* guest pages */
	u64 interval_ns;	/* between the two samples */
	u64 rate;		/* estimated pages dirtied per second */
};

int vmmig_sample_rate(struct kvm *kvm, u32 seconds, u32 pages,
		      struct vmmig_sample_result *res,
		      struct netlink_ext_ack *extack);

#endif /* _VMMIG_SAMPLE_H */
