/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_VMMIG_H
#define _VMMIG_VMMIG_H

#include <linux/mutex.h>
#include <linux/types.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

/* Per network namespace: each namespace is one migration host. */
struct vmmig_net {
	struct mutex lock;	/* serialises changes to the fields below */
	bool migration_enabled;
	u32 max_migrations;
	u32 vm_count;
};

extern unsigned int vmmig_net_id;

static inline struct vmmig_net *vmmig_net(const struct net *net)
{
	return net_generic(net, vmmig_net_id);
}

#endif /* _VMMIG_VMMIG_H */
