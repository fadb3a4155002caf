/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_VM_H
#define _VMMIG_VM_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <net/genetlink.h>
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

/*
 * The VM a request's handle names: a registered VM, or, where the command
 * takes any KVM VM of the sender, only its file.
 */
struct vmmig_handle {
	struct vmmig_vm *vm;	/* referenced; NULL if not registered */
	struct file *file;	/* the FD form's file, referenced, or NULL */
	struct kvm *kvm;	/* the VM either way */
};

extern const struct nla_policy vmmig_handle_policy[VMMIG_HANDLE_A_MAX + 1];

int vmmig_handle_get(struct genl_info *info, int attr, bool unregistered,
		     struct vmmig_handle *h);
void vmmig_handle_put(struct vmmig_handle *h);
struct vmmig_vm *vmmig_vm_lookup(struct genl_info *info, int attr);
int vmmig_handle_fill(struct sk_buff *skb, int attr, const struct vmmig_vm *vm);
void vmmig_vm_put(struct vmmig_vm *vm);
int vmmig_vm_fill(struct sk_buff *skb, struct vmmig_vm *vm);

int vmmig_vm_register_doit(struct sk_buff *skb, struct genl_info *info);
int vmmig_vm_unregister_doit(struct sk_buff *skb, struct genl_info *info);
int vmmig_vm_get_doit(struct sk_buff *skb, struct genl_info *info);
int vmmig_vm_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);

extern const struct nla_policy vmmig_vm_policy[VMMIG_VM_A_MAX + 1];
extern const struct nla_policy vmmig_vm_id_policy[VMMIG_VM_A_MAX + 1];

void vmmig_vm_net_init(struct vmmig_net *vn);
void vmmig_vm_net_exit(struct vmmig_net *vn);

#endif /* _VMMIG_VM_H */
