// SPDX-License-Identifier: GPL-2.0
/*
 * The VM registry: KVM VMs of any VMM, registered by a process that holds
 * the VM's file descriptor, per network namespace. The netlink commands
 * that fill and read it are in netlink.c.
 */

#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/slab.h>

#include "compat.h"
#include "dirty.h"
#include "netlink.h"
#include "registry.h"
#include "vmmig.h"

/* How often the reaper looks for VMs whose owner closed them. */
#define VMMIG_REAP_INTERVAL	HZ

static void vmmig_vm_release(struct kref *ref)
{
	struct vmmig_vm *vm = container_of(ref, struct vmmig_vm, ref);

	vmmig_dirty_stop(vm, NULL);
	fput(vm->file);
	kfree(vm);
}

/**
 * vmmig_vm_put() - drop a reference to a VM
 * @vm: the VM
 */
void vmmig_vm_put(struct vmmig_vm *vm)
{
	kref_put(&vm->ref, vmmig_vm_release);
}

/**
 * vmmig_vm_new() - a VM entry, not yet in the registry
 * @vn: the namespace whose registry it is for
 * @file: the KVM VM's file; the entry takes over this reference on success
 * @name: its name
 * @uuid: its UUID, VMMIG_UUID_LEN bytes
 * @mode: its processor compatibility mode
 *
 * Return: the entry (one reference, the caller's), or NULL without memory.
 */
struct vmmig_vm *vmmig_vm_new(struct vmmig_net *vn, struct file *file,
			      const char *name, const u8 *uuid,
			      enum vmmig_cpu_mode mode)
{
	struct vmmig_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);

	if (!vm)
		return NULL;
	kref_init(&vm->ref);
	mutex_init(&vm->dirty_lock);
	vm->file = file;
	vm->kvm = file->private_data;
	vm->vn = vn;
	strscpy(vm->name, name, sizeof(vm->name));
	memcpy(vm->uuid, uuid, sizeof(vm->uuid));
	vm->cpu_mode = mode;
	return vm;
}

static bool vm_matches(const struct vmmig_vm *vm, int type, const void *key)
{
	switch (type) {
	case VMMIG_HANDLE_A_NAME:
		return !strcmp(vm->name, key);
	case VMMIG_HANDLE_A_UUID:
		return !memcmp(vm->uuid, key, VMMIG_UUID_LEN);
	default:
		return vm->kvm == key;
	}
}

static struct vmmig_vm *vm_find_locked(struct vmmig_net *vn, int type,
				       const void *key)
{
	struct vmmig_vm *vm;

	list_for_each_entry(vm, &vn->vms, node)
		if (vm_matches(vm, type, key))
			return vm;
	return NULL;
}

/**
 * vmmig_vm_find() - a registered VM
 * @vn: the namespace's state
 * @type: what @key is: VMMIG_HANDLE_A_NAME (a string), VMMIG_HANDLE_A_UUID
 *	(VMMIG_UUID_LEN bytes) or VMMIG_HANDLE_A_FD (the struct kvm)
 * @key: the name, UUID or VM
 *
 * Return: the VM with a reference held, or NULL.
 */
struct vmmig_vm *vmmig_vm_find(struct vmmig_net *vn, int type, const void *key)
{
	struct vmmig_vm *vm;

	mutex_lock(&vn->lock);
	vm = vm_find_locked(vn, type, key);
	if (vm)
		kref_get(&vm->ref);
	mutex_unlock(&vn->lock);
	return vm;
}

/**
 * vmmig_vm_add() - put a new entry into its namespace's registry
 * @vm: from vmmig_vm_new(); the registry takes a reference of its own
 * @extack: why a duplicate is refused
 *
 * Return: 0, or -EEXIST when the VM, its name or its UUID is registered.
 */
int vmmig_vm_add(struct vmmig_vm *vm, struct netlink_ext_ack *extack)
{
	struct vmmig_net *vn = vm->vn;
	struct vmmig_vm *other;

	mutex_lock(&vn->lock);
	other = vm_find_locked(vn, VMMIG_HANDLE_A_FD, vm->kvm);
	if (other) {
		NL_SET_ERR_MSG_FMT_MOD(extack, "this VM is already registered as '%s'",
				       other->name);
	} else if (vm_find_locked(vn, VMMIG_HANDLE_A_NAME, vm->name) ||
		   vm_find_locked(vn, VMMIG_HANDLE_A_UUID, vm->uuid)) {
		NL_SET_ERR_MSG_MOD(extack, "a VM with this name or uuid is already registered");
		other = vm;
	}
	if (other) {
		mutex_unlock(&vn->lock);
		return -EEXIST;
	}
	list_add_tail(&vm->node, &vn->vms);
	vn->vm_count++;
	vn->vm_gen++;
	kref_get(&vm->ref);
	mutex_unlock(&vn->lock);
	schedule_delayed_work(&vn->reaper, VMMIG_REAP_INTERVAL);
	return 0;
}

/* Takes the VM out of the registry; the caller holds vn->lock. */
static void vm_unlink(struct vmmig_vm *vm)
{
	list_del(&vm->node);
	vm->vn->vm_count--;
	vm->vn->vm_gen++;
}

/**
 * vmmig_vm_remove() - take a VM out of its namespace's registry
 * @vm: the VM; the caller's reference stays
 *
 * Return: true if this call removed it (and dropped the registry's
 * reference), false if someone else did first.
 */
bool vmmig_vm_remove(struct vmmig_vm *vm)
{
	struct vmmig_net *vn = vm->vn;
	bool linked;

	mutex_lock(&vn->lock);
	linked = vm_find_locked(vn, VMMIG_HANDLE_A_FD, vm->kvm) == vm;
	if (linked)
		vm_unlink(vm);
	mutex_unlock(&vn->lock);
	if (linked)
		vmmig_vm_put(vm);
	return linked;
}

/*
 * The registry's reference to the file is the last one: the owner closed
 * the VM (or exited). Drop it so that KVM can destroy the VM.
 */
static void vmmig_vm_reap(struct work_struct *work)
{
	struct vmmig_net *vn = container_of(to_delayed_work(work),
					    struct vmmig_net, reaper);
	struct vmmig_vm *vm, *tmp;
	LIST_HEAD(gone);
	bool again;

	mutex_lock(&vn->lock);
	list_for_each_entry_safe(vm, tmp, &vn->vms, node) {
		if (file_count(vm->file) > 1)
			continue;
		vm_unlink(vm);
		list_add(&vm->node, &gone);
	}
	again = !list_empty(&vn->vms);
	mutex_unlock(&vn->lock);

	list_for_each_entry_safe(vm, tmp, &gone, node) {
		list_del(&vm->node);
		vmmig_nl_vm_event(vm, VMMIG_VM_GONE);
		vmmig_vm_put(vm);
	}
	if (again)
		schedule_delayed_work(&vn->reaper, VMMIG_REAP_INTERVAL);
}

/**
 * vmmig_registry_net_init() - set up a namespace's registry
 * @vn: the namespace's state
 */
void vmmig_registry_net_init(struct vmmig_net *vn)
{
	INIT_LIST_HEAD(&vn->vms);
	INIT_DELAYED_WORK(&vn->reaper, vmmig_vm_reap);
}

/**
 * vmmig_registry_net_exit() - drop every VM of a namespace that goes away,
 * or of every namespace when the module unloads
 * @vn: the namespace's state
 */
void vmmig_registry_net_exit(struct vmmig_net *vn)
{
	struct vmmig_vm *vm, *tmp;

	cancel_delayed_work_sync(&vn->reaper);
	list_for_each_entry_safe(vm, tmp, &vn->vms, node) {
		list_del(&vm->node);
		vmmig_vm_put(vm);
	}
	vn->vm_count = 0;
}
