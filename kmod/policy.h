/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_POLICY_H
#define _VMMIG_POLICY_H

#include <net/netlink.h>
#include "uapi/linux/vmmig.h"

struct net;
struct vmmig_net;
struct vmmig_vm;

/* A namespace's policy as POLICY_GET reports it. */
struct vmmig_policy_view {
	u32 common[VMMIG_NR_WORDS];
	u32 minimum[VMMIG_NR_WORDS];
	bool common_set;
	enum vmmig_cpu_mode strict;
};

/* A POLICY_SET: each part applies when its has_ flag is set. */
struct vmmig_policy_update {
	enum vmmig_cpu_mode reset;	/* OFF: none; else that mask's default */
	bool has_common, has_minimum, has_strict;
	u32 common_given, minimum_given;	/* bit per word */
	u32 common[VMMIG_NR_WORDS];
	u32 minimum[VMMIG_NR_WORDS];
	enum vmmig_cpu_mode strict;
};

void vmmig_policy_mask(struct net *net, enum vmmig_cpu_mode mode, u32 *mask);
enum vmmig_cpu_mode vmmig_policy_strict(struct net *net, u32 *mask);
void vmmig_policy_read(struct net *net, struct vmmig_policy_view *v);
int vmmig_policy_update(struct net *net, const struct vmmig_policy_update *u,
			struct netlink_ext_ack *extack);
void vmmig_policy_set_vm_mode(struct net *net, struct vmmig_vm *vm,
			      enum vmmig_cpu_mode mode);
int vmmig_policy_net_init(struct vmmig_net *vn);
void vmmig_policy_net_exit(struct vmmig_net *vn);

#endif /* _VMMIG_POLICY_H */
