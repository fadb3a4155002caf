// SPDX-License-Identifier: GPL-2.0
/*
 * The VM registry: KVM VMs of any VMM, registered by a process that holds
 * the VM's file descriptor, per network namespace.
 */

#include <linux/ctype.h>
#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/slab.h>
#include <net/sock.h>

#include "compat.h"
#include "cpuid.h"
#include "netlink.h"
#include "vm.h"
#include "vmmig.h"

/* How often the reaper looks for VMs whose owner closed them. */
#define VMMIG_REAP_INTERVAL	HZ

const struct nla_policy vmmig_handle_policy[VMMIG_HANDLE_A_MAX + 1] = {
	[VMMIG_HANDLE_A_NAME] = { .type = NLA_NUL_STRING, .len = VMMIG_NAME_MAX - 1 },
	[VMMIG_HANDLE_A_UUID] = NLA_POLICY_EXACT_LEN(VMMIG_UUID_LEN),
	[VMMIG_HANDLE_A_FD] = { .type = NLA_U32 },
};

const struct nla_policy vmmig_vm_policy[VMMIG_VM_A_MAX + 1] = {
	[VMMIG_VM_A_HANDLE] = NLA_POLICY_NESTED(vmmig_handle_policy),
	[VMMIG_VM_A_NAME] = { .type = NLA_NUL_STRING, .len = VMMIG_NAME_MAX - 1 },
	[VMMIG_VM_A_UUID] = NLA_POLICY_EXACT_LEN(VMMIG_UUID_LEN),
	[VMMIG_VM_A_PID] = { .type = NLA_REJECT },
	[VMMIG_VM_A_VCPUS] = { .type = NLA_REJECT },
	[VMMIG_VM_A_DIRTY] = { .type = NLA_REJECT },
	[VMMIG_VM_A_CPU_MODE] = NLA_POLICY_MAX(NLA_U32, VMMIG_CPU_MODE_MAX),
	[VMMIG_VM_A_COMPLIANCE] = { .type = NLA_REJECT },
	[VMMIG_VM_A_MEMSLOTS] = { .type = NLA_REJECT },
	[VMMIG_VM_A_MEMSLOT] = { .type = NLA_REJECT },
	[VMMIG_VM_A_EVENT] = { .type = NLA_REJECT },
};

/* Commands that only name a VM. */
const struct nla_policy vmmig_vm_id_policy[VMMIG_VM_A_MAX + 1] = {
	[VMMIG_VM_A_HANDLE] = NLA_POLICY_NESTED(vmmig_handle_policy),
};

static void vmmig_vm_release(struct kref *ref)
{
	struct vmmig_vm *vm = container_of(ref, struct vmmig_vm, ref);

	vmmig_dirty_stop(vm, NULL);
	fput(vm->file);
	kfree(vm);
}

/**
 * vmmig_vm_put() - drop a reference taken by vmmig_vm_lookup()
 * @vm: the VM
 */
void vmmig_vm_put(struct vmmig_vm *vm)
{
	kref_put(&vm->ref, vmmig_vm_release);
}

static struct vmmig_vm *vm_find_locked(struct vmmig_net *vn, const char *name,
				       const u8 *uuid)
{
	struct vmmig_vm *vm;

	list_for_each_entry(vm, &vn->vms, node) {
		if (name && !strcmp(vm->name, name))
			return vm;
		if (uuid && !memcmp(vm->uuid, uuid, VMMIG_UUID_LEN))
			return vm;
	}
	return NULL;
}

/*
 * The one form a request's VM handle (attribute @attr) gives: its NAME,
 * UUID or FD attribute, or an ERR_PTR.
 */
static struct nlattr *handle_parse(struct genl_info *info, int attr)
{
	struct nlattr *tb[VMMIG_HANDLE_A_MAX + 1], *key = NULL;
	int i, ret;

	if (VMMIG_REQUIRE(info, attr, "VM handle (name, uuid or file descriptor)"))
		return ERR_PTR(-EINVAL);
	ret = nla_parse_nested(tb, VMMIG_HANDLE_A_MAX, info->attrs[attr],
			       vmmig_handle_policy, info->extack);
	if (ret)
		return ERR_PTR(ret);
	for (i = 1; i <= VMMIG_HANDLE_A_MAX; i++) {
		if (!tb[i])
			continue;
		if (key) {
			NL_SET_ERR_MSG_ATTR(info->extack, tb[i],
					    "VM handle names the VM more than one way: give one of name, uuid, file descriptor");
			return ERR_PTR(-EINVAL);
		}
		key = tb[i];
	}
	if (!key) {
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[attr],
				    "empty VM handle: give the VM's name, uuid or file descriptor");
		return ERR_PTR(-EINVAL);
	}
	return key;
}

/*
 * The KVM VM behind a descriptor of the sender: only a process that holds
 * the VM can name it so. Returns its file, referenced, or an ERR_PTR.
 */
static struct file *vm_fget(const struct nlattr *attr,
			    struct netlink_ext_ack *extack)
{
	struct file *file = fget(nla_get_u32(attr));

	if (!file) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "no such file descriptor in the sender");
		return ERR_PTR(-EBADF);
	}
	if (!file_is_kvm(file)) {
		NL_SET_ERR_MSG_ATTR(extack, attr, "file descriptor is not a KVM VM");
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	return file;
}

static bool vm_matches(const struct vmmig_vm *vm, const struct nlattr *key,
		       const struct kvm *kvm)
{
	switch (nla_type(key)) {
	case VMMIG_HANDLE_A_NAME:
		return !strcmp(vm->name, nla_data(key));
	case VMMIG_HANDLE_A_UUID:
		return !memcmp(vm->uuid, nla_data(key), VMMIG_UUID_LEN);
	default:
		return vm->kvm == kvm;
	}
}

/**
 * vmmig_handle_get() - the VM that a request's VM handle names
 * @info: the request
 * @attr: the handle's attribute in the command's set (VMMIG_*_A_HANDLE)
 * @unregistered: the command also takes a KVM VM of the sender that is not
 *	registered, named by file descriptor
 * @h: the VM, to release with vmmig_handle_put()
 *
 * Every refusal carries an extack message.
 *
 * Return: 0, -EINVAL (no handle, an empty one, two forms in one, not a KVM
 * VM), -EBADF (no such descriptor) or -ENOENT (not registered here).
 */
int vmmig_handle_get(struct genl_info *info, int attr, bool unregistered,
		     struct vmmig_handle *h)
{
	struct vmmig_net *vn = vmmig_net(genl_info_net(info));
	struct nlattr *key = handle_parse(info, attr);
	struct vmmig_vm *vm;

	memset(h, 0, sizeof(*h));
	if (IS_ERR(key))
		return PTR_ERR(key);
	if (nla_type(key) == VMMIG_HANDLE_A_FD) {
		h->file = vm_fget(key, info->extack);
		if (IS_ERR(h->file)) {
			int ret = PTR_ERR(h->file);

			h->file = NULL;
			return ret;
		}
		h->kvm = h->file->private_data;
	}

	mutex_lock(&vn->lock);
	list_for_each_entry(vm, &vn->vms, node) {
		if (vm_matches(vm, key, h->kvm)) {
			kref_get(&vm->ref);
			h->vm = vm;
			h->kvm = vm->kvm;
			break;
		}
	}
	mutex_unlock(&vn->lock);
	if (h->vm || (h->file && unregistered))
		return 0;

	if (nla_type(key) == VMMIG_HANDLE_A_NAME)
		NL_SET_ERR_MSG_ATTR(info->extack, key, "no VM of this name is registered here");
	else if (nla_type(key) == VMMIG_HANDLE_A_UUID)
		NL_SET_ERR_MSG_ATTR(info->extack, key, "no VM with this uuid is registered here");
	else
		NL_SET_ERR_MSG_ATTR(info->extack, key, "this VM is not registered here");
	vmmig_handle_put(h);
	return -ENOENT;
}

/**
 * vmmig_handle_put() - release what vmmig_handle_get() took
 * @h: the VM
 */
void vmmig_handle_put(struct vmmig_handle *h)
{
	if (h->vm)
		vmmig_vm_put(h->vm);
	if (h->file)
		fput(h->file);
	memset(h, 0, sizeof(*h));
}

/**
 * vmmig_vm_lookup() - the registered VM that a request's VM handle names
 * @info: the request
 * @attr: the handle's attribute in the command's set (VMMIG_*_A_HANDLE)
 *
 * Return: the VM with a reference held (vmmig_vm_put()), or an ERR_PTR
 * with an extack message.
 */
struct vmmig_vm *vmmig_vm_lookup(struct genl_info *info, int attr)
{
	struct vmmig_handle h;
	int ret = vmmig_handle_get(info, attr, false, &h);

	if (ret)
		return ERR_PTR(ret);
	if (h.file)
		fput(h.file);
	return h.vm;
}

/**
 * vmmig_handle_fill() - name a registered VM in a reply or an event
 * @skb: message being built
 * @attr: the handle's attribute in the message's set
 * @vm: the VM
 *
 * Return: 0, or -EMSGSIZE.
 */
int vmmig_handle_fill(struct sk_buff *skb, int attr, const struct vmmig_vm *vm)
{
	struct nlattr *nest = nla_nest_start(skb, attr);

	if (!nest ||
	    nla_put_string(skb, VMMIG_HANDLE_A_NAME, vm->name) ||
	    nla_put(skb, VMMIG_HANDLE_A_UUID, VMMIG_UUID_LEN, vm->uuid))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int vm_fill_memslots(struct sk_buff *skb, struct kvm *kvm)
{
	struct kvm_memory_slot *slot;
	struct nlattr *slots, *one;
	int bkt, ret = 0;

	slots = nla_nest_start(skb, VMMIG_VM_A_MEMSLOTS);
	if (!slots)
		return -EMSGSIZE;
	mutex_lock(&kvm->slots_lock);
	kvm_for_each_memslot(slot, bkt, kvm_memslots(kvm)) {
		one = nla_nest_start(skb, VMMIG_VM_A_MEMSLOT);
		if (!one ||
		    nla_put_u32(skb, VMMIG_MEMSLOT_A_ID, slot->id) ||
		    nla_put_u64_64bit(skb, VMMIG_MEMSLOT_A_BASE_GFN,
				      slot->base_gfn, VMMIG_MEMSLOT_A_PAD) ||
		    nla_put_u64_64bit(skb, VMMIG_MEMSLOT_A_NPAGES, slot->npages,
				      VMMIG_MEMSLOT_A_PAD) ||
		    nla_put_u64_64bit(skb, VMMIG_MEMSLOT_A_UADDR,
				      slot->userspace_addr, VMMIG_MEMSLOT_A_PAD) ||
		    nla_put_u32(skb, VMMIG_MEMSLOT_A_FLAGS, slot->flags)) {
			ret = -EMSGSIZE;
			break;
		}
		nla_nest_end(skb, one);
	}
	mutex_unlock(&kvm->slots_lock);
	if (ret)
		return ret;
	nla_nest_end(skb, slots);
	return 0;
}

/**
 * vmmig_vm_fill() - put the VM object into @skb
 * @skb: message being built
 * @vm: the VM
 *
 * Return: 0, or -EMSGSIZE.
 */
int vmmig_vm_fill(struct sk_buff *skb, struct vmmig_vm *vm)
{
	if (nla_put_string(skb, VMMIG_VM_A_NAME, vm->name) ||
	    nla_put(skb, VMMIG_VM_A_UUID, VMMIG_UUID_LEN, vm->uuid) ||
	    nla_put_u32(skb, VMMIG_VM_A_PID, vm->kvm->userspace_pid) ||
	    nla_put_u32(skb, VMMIG_VM_A_VCPUS,
			atomic_read(&vm->kvm->online_vcpus)) ||
	    nla_put_u8(skb, VMMIG_VM_A_DIRTY, READ_ONCE(vm->dirty.active)) ||
	    nla_put_u32(skb, VMMIG_VM_A_CPU_MODE, vm->cpu_mode) ||
	    nla_put_u32(skb, VMMIG_VM_A_COMPLIANCE, vm->compliance))
		return -EMSGSIZE;
	return vm_fill_memslots(skb, vm->kvm);
}

static struct sk_buff *vm_msg(struct vmmig_vm *vm, u32 portid, u32 seq,
			      u32 flags, u8 cmd, int event)
{
	struct sk_buff *skb;
	void *hdr;

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return ERR_PTR(-ENOMEM);
	hdr = genlmsg_put(skb, portid, seq, &vmmig_genl_family, flags, cmd);
	if (!hdr || vmmig_vm_fill(skb, vm) ||
	    (event >= 0 && nla_put_u32(skb, VMMIG_VM_A_EVENT, event))) {
		nlmsg_free(skb);
		return ERR_PTR(-EMSGSIZE);
	}
	genlmsg_end(skb, hdr);
	return skb;
}

static void vm_notify(struct vmmig_vm *vm, enum vmmig_vm_event event)
{
	struct sk_buff *skb = vm_msg(vm, 0, 0, 0, VMMIG_CMD_VM_NTF, event);

	if (!IS_ERR(skb))
		vmmig_genl_notify(vm->vn->net, skb);
}

static bool vm_name_valid(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (!isgraph(*name) || *name == '/')
			return false;
	return true;
}

/* Takes the VM out of the registry; the caller holds vn->lock. */
static void vm_unlink(struct vmmig_vm *vm)
{
	list_del(&vm->node);
	vm->vn->vm_count--;
	vm->vn->vm_gen++;
}

int vmmig_vm_register_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmmig_net *vn = vmmig_net(genl_info_net(info));
	struct nlattr **attrs = info->attrs;
	struct vmmig_vm *vm, *other;
	struct sk_buff *reply;
	struct nlattr *key;
	struct file *file;
	int ret;

	key = handle_parse(info, VMMIG_VM_A_HANDLE);
	if (IS_ERR(key))
		return PTR_ERR(key);
	if (nla_type(key) != VMMIG_HANDLE_A_FD) {
		NL_SET_ERR_MSG_ATTR(info->extack, key,
				    "a VM is registered by its file descriptor");
		return -EINVAL;
	}
	if (VMMIG_REQUIRE(info, VMMIG_VM_A_NAME, "VM name") ||
	    VMMIG_REQUIRE(info, VMMIG_VM_A_UUID, "VM uuid"))
		return -EINVAL;
	if (!vm_name_valid(nla_data(attrs[VMMIG_VM_A_NAME]))) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[VMMIG_VM_A_NAME],
				    "VM name must be printable, without spaces or '/'");
		return -EINVAL;
	}

	file = vm_fget(key, info->extack);
	if (IS_ERR(file))
		return PTR_ERR(file);

	vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm) {
		fput(file);
		return -ENOMEM;
	}
	kref_init(&vm->ref);
	mutex_init(&vm->dirty_lock);
	vm->file = file;
	vm->kvm = file->private_data;
	vm->vn = vn;
	nla_strscpy(vm->name, attrs[VMMIG_VM_A_NAME], sizeof(vm->name));
	nla_memcpy(vm->uuid, attrs[VMMIG_VM_A_UUID], sizeof(vm->uuid));
	if (attrs[VMMIG_VM_A_CPU_MODE])
		vm->cpu_mode = nla_get_u32(attrs[VMMIG_VM_A_CPU_MODE]);
	ret = vmmig_cpuid_check_register(genl_info_net(info), vm, info->extack);
	if (ret) {
		vmmig_vm_put(vm);
		return ret;
	}

	mutex_lock(&vn->lock);
	other = vm_find_locked(vn, vm->name, vm->uuid);
	if (!other) {
		list_for_each_entry(other, &vn->vms, node)
			if (other->kvm == vm->kvm)
				break;
		if (list_entry_is_head(other, &vn->vms, node))
			other = NULL;
	}
	if (other) {
		mutex_unlock(&vn->lock);
		if (other->kvm == vm->kvm)
			NL_SET_ERR_MSG_FMT_MOD(info->extack,
					       "this VM is already registered as '%s'",
					       other->name);
		else
			NL_SET_ERR_MSG_MOD(info->extack,
					   "a VM with this name or uuid is already registered");
		vmmig_vm_put(vm);
		return -EEXIST;
	}
	list_add_tail(&vm->node, &vn->vms);
	vn->vm_count++;
	vn->vm_gen++;
	kref_get(&vm->ref);
	mutex_unlock(&vn->lock);
	schedule_delayed_work(&vn->reaper, VMMIG_REAP_INTERVAL);

	vm_notify(vm, VMMIG_VM_REGISTERED);
	reply = vm_msg(vm, info->snd_portid, info->snd_seq, 0, VMMIG_CMD_VM_GET, -1);
	vmmig_vm_put(vm);
	if (IS_ERR(reply))
		return PTR_ERR(reply);
	ret = genlmsg_reply(reply, info);
	return ret;
}

int vmmig_vm_unregister_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmmig_net *vn = vmmig_net(genl_info_net(info));
	struct vmmig_vm *vm;
	bool linked = false;

	vm = vmmig_vm_lookup(info, VMMIG_VM_A_HANDLE);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	/* Only the owner can turn KVM's logging off again. */
	if (READ_ONCE(vm->dirty.active) && current->mm != vm->kvm->mm) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "dirty logging is on: its owner must stop it first");
		vmmig_vm_put(vm);
		return -EBUSY;
	}
	vmmig_dirty_stop(vm, NULL);
	mutex_lock(&vn->lock);
	/* Someone else may have removed it since the lookup. */
	if (vm_find_locked(vn, vm->name, NULL) == vm) {
		vm_unlink(vm);
		linked = true;
	}
	mutex_unlock(&vn->lock);
	if (linked) {
		vm_notify(vm, VMMIG_VM_UNREGISTERED);
		vmmig_vm_put(vm);	/* the registry's reference */
	}
	vmmig_vm_put(vm);
	return 0;
}

int vmmig_vm_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *reply;
	struct vmmig_vm *vm;

	vm = vmmig_vm_lookup(info, VMMIG_VM_A_HANDLE);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	reply = vm_msg(vm, info->snd_portid, info->snd_seq, 0, VMMIG_CMD_VM_GET, -1);
	vmmig_vm_put(vm);
	if (IS_ERR(reply))
		return PTR_ERR(reply);
	return genlmsg_reply(reply, info);
}

int vmmig_vm_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct vmmig_net *vn = vmmig_net(sock_net(skb->sk));
	long idx = 0, start = cb->args[0];
	struct vmmig_vm *vm;
	void *hdr;
	int ret = 0;

	mutex_lock(&vn->lock);
	cb->seq = vn->vm_gen;
	list_for_each_entry(vm, &vn->vms, node) {
		if (idx++ < start)
			continue;
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &vmmig_genl_family,
				  NLM_F_MULTI, VMMIG_CMD_VM_GET);
		if (!hdr) {
			idx--;
			break;
		}
		genl_dump_check_consistent(cb, hdr);
		if (vmmig_vm_fill(skb, vm)) {
			genlmsg_cancel(skb, hdr);
			idx--;
			break;
		}
		genlmsg_end(skb, hdr);
	}
	mutex_unlock(&vn->lock);
	cb->args[0] = idx;
	if (idx == start && idx < vn->vm_count && !skb->len)
		ret = -EMSGSIZE;	/* one VM larger than a whole message */
	return ret ?: skb->len;
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
		vm_notify(vm, VMMIG_VM_GONE);
		vmmig_vm_put(vm);
	}
	if (again)
		schedule_delayed_work(&vn->reaper, VMMIG_REAP_INTERVAL);
}

/**
 * vmmig_vm_net_init() - set up a namespace's registry
 * @vn: the namespace's state
 */
void vmmig_vm_net_init(struct vmmig_net *vn)
{
	INIT_LIST_HEAD(&vn->vms);
	INIT_DELAYED_WORK(&vn->reaper, vmmig_vm_reap);
}

/**
 * vmmig_vm_net_exit() - drop every VM of a namespace that goes away, or of
 * every namespace when the module unloads
 * @vn: the namespace's state
 */
void vmmig_vm_net_exit(struct vmmig_net *vn)
{
	struct vmmig_vm *vm, *tmp;

	cancel_delayed_work_sync(&vn->reaper);
	list_for_each_entry_safe(vm, tmp, &vn->vms, node) {
		list_del(&vm->node);
		vmmig_vm_put(vm);
	}
	vn->vm_count = 0;
}
