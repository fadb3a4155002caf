/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_NETLINK_H
#define _VMMIG_NETLINK_H

#include <net/genetlink.h>
#include "uapi/linux/vmmig.h"

extern struct genl_family vmmig_genl_family;

/*
 * GENL_REQ_ATTR_CHECK() marks the missing attribute for the client but
 * leaves no text: say it in words too.
 */
#define VMMIG_REQUIRE(info, attr, what) ({				\
	struct genl_info *__req = (info);				\
	bool __missing = GENL_REQ_ATTR_CHECK(__req, attr);		\
									\
	if (__missing)							\
		NL_SET_ERR_MSG_MOD(__req->extack, "missing " what);	\
	__missing;							\
})

int vmmig_genl_init(void);
void vmmig_genl_uninit(void);
void vmmig_genl_notify_module(const char *name, enum vmmig_module_state state);
void vmmig_genl_notify(struct net *net, struct sk_buff *skb);

#endif /* _VMMIG_NETLINK_H */
