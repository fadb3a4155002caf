/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_REGISTRY_H
#define _VMMIG_REGISTRY_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <net/netlink.h>
#include "uapi/linux/vmmig.h"

#include "dirty.h"

struct file;
struct kvm;
struct vmmig_net;

/*
 * A registered KVM VM. The registry holds a reference to the VM's file, so
 * the struct kvm cannot go away under us; when that reference is the last
 * one left, the owner has closed the VM and the reaper drops it.
 */
struct vmmig_vm {
	struct list_head node;		/* in vmmig_net.vms, under its lock */
	struct kref ref;
	struct file *file;
	struct kvm *kvm;
	struct vmmig_net *vn;
	char name[VMMIG_NAME_MAX];
	u8 uuid[VMMIG_UUID_LEN];
	enum vmmig_cpu_mode cpu_mode;
	enum vmmig_compliance compliance;
	struct mutex dirty_lock;	/* serialises the dirty-log commands */
	struct vmmig_dirty dirty;
};

struct vmmig_vm *vmmig_vm_new(struct vmmig_net *vn, struct file *file,
			      const char *name, const u8 *uuid,
			      enum vmmig_cpu_mode mode);
int vmmig_vm_add(struct vmmig_vm *vm, struct netlink_ext_ack *extack);
struct vmmig_vm *vmmig_vm_find(struct vmmig_net *vn, int type, const void *key);
bool vmmig_vm_remove(struct vmmig_vm *vm);
void vmmig_vm_put(struct vmmig_vm *vm);

void vmmig_registry_net_init(struct vmmig_net *vn);
void vmmig_registry_net_exit(struct vmmig_net *vn);

#endif /* _VMMIG_REGISTRY_H */
