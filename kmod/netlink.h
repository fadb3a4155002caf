/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_NETLINK_H
#define _VMMIG_NETLINK_H

#include <uapi/linux/vmmig.h>

int vmmig_genl_init(void);
void vmmig_genl_uninit(void);
void vmmig_genl_notify_module(const char *name, enum vmmig_module_state state);

#endif /* _VMMIG_NETLINK_H */
