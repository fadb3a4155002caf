/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_NETLINK_H
#define _VMMIG_NETLINK_H

#include <linux/types.h>
#include "uapi/linux/vmmig.h"

struct net;
struct vmmig_cpuid_report;
struct vmmig_vm;

int vmmig_genl_init(void);
void vmmig_genl_uninit(void);

void vmmig_nl_module_event(const char *name, enum vmmig_module_state state);
void vmmig_nl_vm_event(struct vmmig_vm *vm, enum vmmig_vm_event event);
void vmmig_nl_audit_event(struct net *net, const struct vmmig_vm *vm, pid_t pid,
			  enum vmmig_cpu_mode mode,
			  const struct vmmig_cpuid_report *r);

#endif /* _VMMIG_NETLINK_H */
