/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_VMMIG_H
#define _VMMIG_VMMIG_H

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

struct vmmig_cpuid_policy;

/*
 * Per network namespace, the module's only such state: each namespace is
 * one migration host.
 */
struct vmmig_net {
	struct mutex lock;	/* serialises changes to the fields below */
	bool migration_enabled;
	u32 max_migrations;
	u32 max_storage_migrations;
	u32 vm_count;
	struct list_head vms;	/* registered VMs, struct vmmig_vm */
	u32 vm_gen;		/* bumped on every registry change, for dumps */
	struct delayed_work reaper;	/* drops VMs their owner closed */
	struct net *net;

	struct mutex policy_lock;	/* serialises policy changes */
	struct vmmig_cpuid_policy __rcu *policy;	/* policy.c */
};

extern unsigned int vmmig_net_id;

static inline struct vmmig_net *vmmig_net(const struct net *net)
{
	return net_generic(net, vmmig_net_id);
}

#endif /* _VMMIG_VMMIG_H */
