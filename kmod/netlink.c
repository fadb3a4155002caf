// SPDX-License-Identifier: GPL-2.0
/*
 * The "vmmig" generic netlink family, all of it: every policy, every
 * command's handler and every message the module sends, replies and events
 * alike. The subsystems (registry.c, dirty.c, sample.c, cpuid.c, policy.c,
 * host.c) know nothing of netlink beyond an extack for their refusals;
 * they call the vmmig_nl_*_event() functions below to announce changes.
 * Every message is built by vmmig_msg() from a fill function. That is the
 * rule (WireGuard's): a new command, policy or event goes here as well.
 */

#include <linux/ctype.h>
#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/utsname.h>
#include <asm/processor.h>
#include <net/genetlink.h>
#include <net/sock.h>

#include "cpuid.h"
#include "dirty.h"
#include "host.h"
#include "netlink.h"
#include "policy.h"
#include "registry.h"
#include "sample.h"
#include "strict.h"
#include "version.h"
#include "vmmig.h"

/* Without a buffer, harvested ranges travel in the reply: at most this many. */
#define VMMIG_REPLY_RANGES	4096

enum vmmig_mcgrp {
	VMMIG_MCGRP_EVENTS_ID,
};

static const struct genl_multicast_group vmmig_mcgrps[] = {
	[VMMIG_MCGRP_EVENTS_ID] = { .name = VMMIG_MCGRP_EVENTS },
};

static struct genl_family vmmig_genl_family;

/* Late events (the reaper, strict mode) must not go out on a recycled group. */
static bool vmmig_genl_live;

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

/* Puts a message's attributes; 0 or -EMSGSIZE. */
typedef int (*vmmig_fill_t)(struct sk_buff *skb, const void *arg);

/* One whole message: genlmsg_new(), genlmsg_put(), @fill, genlmsg_end(). */
static struct sk_buff *vmmig_msg(size_t size, u32 portid, u32 seq, u8 cmd,
				 vmmig_fill_t fill, const void *arg)
{
	struct sk_buff *skb;
	void *hdr;

	skb = genlmsg_new(size, GFP_KERNEL);
	if (!skb)
		return ERR_PTR(-ENOMEM);
	hdr = genlmsg_put(skb, portid, seq, &vmmig_genl_family, 0, cmd);
	if (!hdr || fill(skb, arg)) {
		nlmsg_free(skb);
		return ERR_PTR(-EMSGSIZE);
	}
	genlmsg_end(skb, hdr);
	return skb;
}

static int vmmig_reply(struct genl_info *info, u8 cmd, vmmig_fill_t fill,
		       const void *arg)
{
	struct sk_buff *skb = vmmig_msg(NLMSG_GOODSIZE, info->snd_portid,
					info->snd_seq, cmd, fill, arg);

	if (IS_ERR(skb))
		return PTR_ERR(skb);
	return genlmsg_reply(skb, info);
}

/*
 * An event for the listeners of @net, or of every namespace when @net is
 * NULL. Best effort: an event that cannot be allocated is dropped, as
 * netlink notifications are everywhere else.
 */
static void vmmig_event(struct net *net, u8 cmd, vmmig_fill_t fill,
			const void *arg)
{
	struct sk_buff *skb;

	if (!READ_ONCE(vmmig_genl_live))
		return;
	skb = vmmig_msg(NLMSG_GOODSIZE, 0, 0, cmd, fill, arg);
	if (IS_ERR(skb))
		return;
	if (net)
		genlmsg_multicast_netns(&vmmig_genl_family, net, skb, 0,
					VMMIG_MCGRP_EVENTS_ID, GFP_KERNEL);
	else
		genlmsg_multicast_allns(&vmmig_genl_family, skb, 0,
					VMMIG_MCGRP_EVENTS_ID);
}

/* The host: HOST_GET, HOST_SET, HOST_NTF, MODULE_NTF. */

/*
 * HOST_SET shares the host attribute set with the HOST_GET reply, but only
 * the settings are writable: the read-only facts are NLA_REJECT so that a
 * client trying to change them learns so instead of being silently ignored.
 */
static const struct nla_policy host_set_policy[VMMIG_HOST_A_MAX + 1] = {
	[VMMIG_HOST_A_MODULE_VERSION] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_KERNEL_RELEASE] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_CPU_VENDOR] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_CPU_FAMILY] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_CPU_MODEL] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_CPU_STEPPING] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_CPU_MODEL_NAME] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_KVM] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_VM_COUNT] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_MIGRATION] = NLA_POLICY_MAX(NLA_U8, 1),
	[VMMIG_HOST_A_MAX_MIGRATIONS] =
		NLA_POLICY_RANGE(NLA_U32, 1, VMMIG_MAX_MIGRATIONS_LIMIT),
	[VMMIG_HOST_A_MAX_STORAGE_MIGRATIONS] =
		NLA_POLICY_RANGE(NLA_U32, 1, VMMIG_MAX_MIGRATIONS_LIMIT),
	[VMMIG_HOST_A_CPUID_STRICT] = { .type = NLA_REJECT },
};

static int host_fill(struct sk_buff *skb, const void *arg)
{
	struct vmmig_net *vn = vmmig_net(arg);
	const struct cpuinfo_x86 *c = &boot_cpu_data;
	bool migration;
	u32 max, max_storage, vms;

	mutex_lock(&vn->lock);
	migration = vn->migration_enabled;
	max = vn->max_migrations;
	max_storage = vn->max_storage_migrations;
	vms = vn->vm_count;
	mutex_unlock(&vn->lock);

	if (nla_put_string(skb, VMMIG_HOST_A_MODULE_VERSION, VMMIG_VERSION) ||
	    nla_put_string(skb, VMMIG_HOST_A_KERNEL_RELEASE,
			   init_utsname()->release) ||
	    nla_put_string(skb, VMMIG_HOST_A_CPU_VENDOR, c->x86_vendor_id) ||
	    nla_put_u32(skb, VMMIG_HOST_A_CPU_FAMILY, c->x86) ||
	    nla_put_u32(skb, VMMIG_HOST_A_CPU_MODEL, c->x86_model) ||
	    nla_put_u32(skb, VMMIG_HOST_A_CPU_STEPPING, c->x86_stepping) ||
	    (c->x86_model_id[0] &&
	     nla_put_string(skb, VMMIG_HOST_A_CPU_MODEL_NAME, c->x86_model_id)) ||
	    nla_put_u32(skb, VMMIG_HOST_A_KVM, vmmig_host_kvm()) ||
	    nla_put_u32(skb, VMMIG_HOST_A_VM_COUNT, vms) ||
	    nla_put_u8(skb, VMMIG_HOST_A_MIGRATION, migration) ||
	    nla_put_u32(skb, VMMIG_HOST_A_MAX_MIGRATIONS, max) ||
	    nla_put_u32(skb, VMMIG_HOST_A_MAX_STORAGE_MIGRATIONS, max_storage) ||
	    nla_put_u8(skb, VMMIG_HOST_A_CPUID_STRICT, vmmig_strict_supported()))
		return -EMSGSIZE;
	return 0;
}

static int host_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	return vmmig_reply(info, VMMIG_CMD_HOST_GET, host_fill, genl_info_net(info));
}

static int host_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct vmmig_net *vn = vmmig_net(net);
	struct nlattr **attrs = info->attrs;
	bool changed = false;

	if (!attrs[VMMIG_HOST_A_MIGRATION] &&
	    !attrs[VMMIG_HOST_A_MAX_MIGRATIONS] &&
	    !attrs[VMMIG_HOST_A_MAX_STORAGE_MIGRATIONS]) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "no host setting given (migration, max-migrations, max-storage-migrations)");
		return -EINVAL;
	}

	mutex_lock(&vn->lock);
	if (attrs[VMMIG_HOST_A_MIGRATION]) {
		bool on = nla_get_u8(attrs[VMMIG_HOST_A_MIGRATION]);

		changed |= vn->migration_enabled != on;
		vn->migration_enabled = on;
	}
	if (attrs[VMMIG_HOST_A_MAX_MIGRATIONS]) {
		u32 max = nla_get_u32(attrs[VMMIG_HOST_A_MAX_MIGRATIONS]);

		changed |= vn->max_migrations != max;
		vn->max_migrations = max;
	}
	if (attrs[VMMIG_HOST_A_MAX_STORAGE_MIGRATIONS]) {
		u32 max = nla_get_u32(attrs[VMMIG_HOST_A_MAX_STORAGE_MIGRATIONS]);

		changed |= vn->max_storage_migrations != max;
		vn->max_storage_migrations = max;
	}
	mutex_unlock(&vn->lock);

	if (changed)
		vmmig_event(net, VMMIG_CMD_HOST_NTF, host_fill, net);
	return 0;
}

struct module_event {
	const char *name;
	enum vmmig_module_state state;
};

static int module_fill(struct sk_buff *skb, const void *arg)
{
	const struct module_event *e = arg;

	if (nla_put_string(skb, VMMIG_MODULE_A_NAME, e->name) ||
	    nla_put_u32(skb, VMMIG_MODULE_A_STATE, e->state) ||
	    (!strcmp(e->name, KBUILD_MODNAME) &&
	     nla_put_string(skb, VMMIG_MODULE_A_VERSION, VMMIG_VERSION)))
		return -EMSGSIZE;
	return 0;
}

/**
 * vmmig_nl_module_event() - tell listeners in every namespace that a module
 * changed state
 * @name: module name
 * @state: its new state
 */
void vmmig_nl_module_event(const char *name, enum vmmig_module_state state)
{
	struct module_event e = { .name = name, .state = state };

	vmmig_event(NULL, VMMIG_CMD_MODULE_NTF, module_fill, &e);
}

/* The VM handle, and the registry: VM_REGISTER, _UNREGISTER, _GET, VM_NTF. */

static const struct nla_policy handle_policy[VMMIG_HANDLE_A_MAX + 1] = {
	[VMMIG_HANDLE_A_NAME] = { .type = NLA_NUL_STRING, .len = VMMIG_NAME_MAX - 1 },
	[VMMIG_HANDLE_A_UUID] = NLA_POLICY_EXACT_LEN(VMMIG_UUID_LEN),
	[VMMIG_HANDLE_A_FD] = { .type = NLA_U32 },
};

static const struct nla_policy vm_register_policy[VMMIG_VM_A_MAX + 1] = {
	[VMMIG_VM_A_HANDLE] = NLA_POLICY_NESTED(handle_policy),
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
static const struct nla_policy vm_handle_policy[VMMIG_VM_A_MAX + 1] = {
	[VMMIG_VM_A_HANDLE] = NLA_POLICY_NESTED(handle_policy),
};

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
			       handle_policy, info->extack);
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

/*
 * The VM a request's handle names: a registered VM, or, where the command
 * takes any KVM VM of the sender, only its file.
 */
struct vm_ref {
	struct vmmig_vm *vm;	/* referenced; NULL if not registered */
	struct file *file;	/* the FD form's file, referenced, or NULL */
	struct kvm *kvm;	/* the VM either way */
};

static void vm_ref_put(struct vm_ref *r)
{
	if (r->vm)
		vmmig_vm_put(r->vm);
	if (r->file)
		fput(r->file);
	memset(r, 0, sizeof(*r));
}

/*
 * Resolves the handle @attr of a request; @unregistered: the command also
 * takes a KVM VM of the sender that is not registered, by descriptor.
 * Every refusal carries an extack message.
 */
static int vm_ref_get(struct genl_info *info, int attr, bool unregistered,
		      struct vm_ref *r)
{
	struct vmmig_net *vn = vmmig_net(genl_info_net(info));
	struct nlattr *key = handle_parse(info, attr);
	const void *what;

	memset(r, 0, sizeof(*r));
	if (IS_ERR(key))
		return PTR_ERR(key);
	what = nla_data(key);
	if (nla_type(key) == VMMIG_HANDLE_A_FD) {
		r->file = vm_fget(key, info->extack);
		if (IS_ERR(r->file)) {
			int ret = PTR_ERR(r->file);

			r->file = NULL;
			return ret;
		}
		r->kvm = r->file->private_data;
		what = r->kvm;
	}
	r->vm = vmmig_vm_find(vn, nla_type(key), what);
	if (r->vm) {
		r->kvm = r->vm->kvm;
		return 0;
	}
	if (r->file && unregistered)
		return 0;

	if (nla_type(key) == VMMIG_HANDLE_A_NAME)
		NL_SET_ERR_MSG_ATTR(info->extack, key, "no VM of this name is registered here");
	else if (nla_type(key) == VMMIG_HANDLE_A_UUID)
		NL_SET_ERR_MSG_ATTR(info->extack, key, "no VM with this uuid is registered here");
	else
		NL_SET_ERR_MSG_ATTR(info->extack, key, "this VM is not registered here");
	vm_ref_put(r);
	return -ENOENT;
}

/* The registered VM that a request's handle @attr names, or an ERR_PTR. */
static struct vmmig_vm *vm_lookup(struct genl_info *info, int attr)
{
	struct vm_ref r;
	int ret = vm_ref_get(info, attr, false, &r);

	if (ret)
		return ERR_PTR(ret);
	if (r.file)
		fput(r.file);
	return r.vm;
}

/* Names a registered VM in a reply or an event: its NAME and UUID. */
static int put_handle(struct sk_buff *skb, int attr, const struct vmmig_vm *vm)
{
	struct nlattr *nest = nla_nest_start(skb, attr);

	if (!nest ||
	    nla_put_string(skb, VMMIG_HANDLE_A_NAME, vm->name) ||
	    nla_put(skb, VMMIG_HANDLE_A_UUID, VMMIG_UUID_LEN, vm->uuid))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int put_memslots(struct sk_buff *skb, struct kvm *kvm)
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

/* The VM object. */
static int vm_fill(struct sk_buff *skb, const void *arg)
{
	const struct vmmig_vm *vm = arg;

	if (nla_put_string(skb, VMMIG_VM_A_NAME, vm->name) ||
	    nla_put(skb, VMMIG_VM_A_UUID, VMMIG_UUID_LEN, vm->uuid) ||
	    nla_put_u32(skb, VMMIG_VM_A_PID, vm->kvm->userspace_pid) ||
	    nla_put_u32(skb, VMMIG_VM_A_VCPUS,
			atomic_read(&vm->kvm->online_vcpus)) ||
	    nla_put_u8(skb, VMMIG_VM_A_DIRTY, READ_ONCE(vm->dirty.active)) ||
	    nla_put_u32(skb, VMMIG_VM_A_CPU_MODE, vm->cpu_mode) ||
	    nla_put_u32(skb, VMMIG_VM_A_COMPLIANCE, vm->compliance))
		return -EMSGSIZE;
	return put_memslots(skb, vm->kvm);
}

struct vm_event {
	const struct vmmig_vm *vm;
	enum vmmig_vm_event event;
};

static int vm_event_fill(struct sk_buff *skb, const void *arg)
{
	const struct vm_event *e = arg;

	if (vm_fill(skb, e->vm) || nla_put_u32(skb, VMMIG_VM_A_EVENT, e->event))
		return -EMSGSIZE;
	return 0;
}

/**
 * vmmig_nl_vm_event() - tell the VM's namespace that it came or went
 * @vm: the VM
 * @event: what happened
 */
void vmmig_nl_vm_event(struct vmmig_vm *vm, enum vmmig_vm_event event)
{
	struct vm_event e = { .vm = vm, .event = event };

	vmmig_event(vm->vn->net, VMMIG_CMD_VM_NTF, vm_event_fill, &e);
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

static int vm_register_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmmig_net *vn = vmmig_net(genl_info_net(info));
	struct nlattr **attrs = info->attrs;
	enum vmmig_cpu_mode mode = VMMIG_CPU_MODE_OFF;
	struct nlattr *key;
	struct vmmig_vm *vm;
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
	if (attrs[VMMIG_VM_A_CPU_MODE])
		mode = nla_get_u32(attrs[VMMIG_VM_A_CPU_MODE]);

	file = vm_fget(key, info->extack);
	if (IS_ERR(file))
		return PTR_ERR(file);
	vm = vmmig_vm_new(vn, file, nla_data(attrs[VMMIG_VM_A_NAME]),
			  nla_data(attrs[VMMIG_VM_A_UUID]), mode);
	if (!vm) {
		fput(file);
		return -ENOMEM;
	}
	ret = vmmig_cpuid_check_register(genl_info_net(info), vm, info->extack);
	if (!ret)
		ret = vmmig_vm_add(vm, info->extack);
	if (!ret) {
		vmmig_nl_vm_event(vm, VMMIG_VM_REGISTERED);
		ret = vmmig_reply(info, VMMIG_CMD_VM_GET, vm_fill, vm);
	}
	vmmig_vm_put(vm);
	return ret;
}

static int vm_unregister_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmmig_vm *vm = vm_lookup(info, VMMIG_VM_A_HANDLE);

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
	/* Someone else may have removed it since the lookup. */
	if (vmmig_vm_remove(vm))
		vmmig_nl_vm_event(vm, VMMIG_VM_UNREGISTERED);
	vmmig_vm_put(vm);
	return 0;
}

static int vm_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmmig_vm *vm = vm_lookup(info, VMMIG_VM_A_HANDLE);
	int ret;

	if (IS_ERR(vm))
		return PTR_ERR(vm);
	ret = vmmig_reply(info, VMMIG_CMD_VM_GET, vm_fill, vm);
	vmmig_vm_put(vm);
	return ret;
}

static int vm_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
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
		if (vm_fill(skb, vm)) {
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

/* Dirty pages: DIRTY_START, _STOP, _HARVEST, _STATS, _NTF, DIRTY_RATE. */

static const struct nla_policy dirty_policy[VMMIG_DIRTY_A_MAX + 1] = {
	[VMMIG_DIRTY_A_HANDLE] = NLA_POLICY_NESTED(handle_policy),
	[VMMIG_DIRTY_A_BUF_ADDR] = { .type = NLA_U64 },
	[VMMIG_DIRTY_A_BUF_SIZE] = { .type = NLA_U32 },
	[VMMIG_DIRTY_A_SECONDS] = NLA_POLICY_RANGE(NLA_U32, 1, 60),
	[VMMIG_DIRTY_A_SAMPLE_PAGES] = NLA_POLICY_RANGE(NLA_U32, 1, 32767),
};

/* A round's statistics; ranges only in a HARVEST reply without a buffer. */
struct dirty_stats {
	const struct vmmig_vm *vm;
	bool total;
	const struct vmmig_dirty_ranges *r;
};

static int dirty_stats_fill(struct sk_buff *skb, const void *arg)
{
	const struct dirty_stats *st = arg;
	const struct vmmig_dirty *d = &st->vm->dirty;
	struct nlattr *slots, *one;
	int i;

	if (put_handle(skb, VMMIG_DIRTY_A_HANDLE, st->vm) ||
	    nla_put_u64_64bit(skb, VMMIG_DIRTY_A_ROUND, d->round, VMMIG_DIRTY_A_PAD) ||
	    nla_put_u64_64bit(skb, VMMIG_DIRTY_A_PAGES, d->pages, VMMIG_DIRTY_A_PAD) ||
	    nla_put_u64_64bit(skb, VMMIG_DIRTY_A_BYTES, d->pages << PAGE_SHIFT,
			      VMMIG_DIRTY_A_PAD) ||
	    nla_put_u64_64bit(skb, VMMIG_DIRTY_A_TIME_NS, d->time_ns, VMMIG_DIRTY_A_PAD) ||
	    nla_put_u64_64bit(skb, VMMIG_DIRTY_A_INTERVAL_NS, d->interval_ns,
			      VMMIG_DIRTY_A_PAD) ||
	    nla_put_u64_64bit(skb, VMMIG_DIRTY_A_RATE, d->rate, VMMIG_DIRTY_A_PAD) ||
	    nla_put_u32(skb, VMMIG_DIRTY_A_NR_RANGES, d->nr_ranges) ||
	    (st->total && nla_put_u64_64bit(skb, VMMIG_DIRTY_A_TOTAL_PAGES,
					    d->total_pages, VMMIG_DIRTY_A_PAD)) ||
	    (st->r && nla_put(skb, VMMIG_DIRTY_A_RANGES,
			      st->r->n * sizeof(*st->r->kbuf), st->r->kbuf)))
		return -EMSGSIZE;
	slots = nla_nest_start(skb, VMMIG_DIRTY_A_SLOTS);
	if (!slots)
		return -EMSGSIZE;
	for (i = 0; i < d->nslots; i++) {
		one = nla_nest_start(skb, VMMIG_DIRTY_A_SLOT);
		if (!one ||
		    nla_put_u32(skb, VMMIG_MEMSLOT_A_ID, d->slots[i].id) ||
		    nla_put_u64_64bit(skb, VMMIG_MEMSLOT_A_NPAGES, d->slots[i].npages,
				      VMMIG_MEMSLOT_A_PAD) ||
		    nla_put_u64_64bit(skb, VMMIG_MEMSLOT_A_DIRTY_PAGES,
				      d->slots[i].pages, VMMIG_MEMSLOT_A_PAD) ||
		    nla_put_u64_64bit(skb, VMMIG_MEMSLOT_A_RATE, d->slots[i].rate,
				      VMMIG_MEMSLOT_A_PAD))
			return -EMSGSIZE;
		nla_nest_end(skb, one);
	}
	nla_nest_end(skb, slots);
	return 0;
}

/* DIRTY_START and DIRTY_STOP: the same checks, one switch. */
static int dirty_switch_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmmig_vm *vm = vm_lookup(info, VMMIG_DIRTY_A_HANDLE);
	int ret = -EACCES;

	if (IS_ERR(vm))
		return PTR_ERR(vm);
	if (vmmig_dirty_owner(vm, info->extack)) {
		if (info->genlhdr->cmd == VMMIG_CMD_DIRTY_START)
			ret = vmmig_dirty_start(vm, info->extack);
		else
			ret = vmmig_dirty_stop(vm, info->extack);
	}
	vmmig_vm_put(vm);
	return ret;
}

static int dirty_harvest_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct vmmig_dirty_ranges r = {};
	struct dirty_stats st = {};
	struct sk_buff *reply;
	struct vmmig_vm *vm;
	size_t size;
	int ret;

	if (!attrs[VMMIG_DIRTY_A_BUF_ADDR] != !attrs[VMMIG_DIRTY_A_BUF_SIZE]) {
		NL_SET_ERR_MSG_MOD(info->extack, "BUF_ADDR and BUF_SIZE go together");
		return -EINVAL;
	}
	vm = vm_lookup(info, VMMIG_DIRTY_A_HANDLE);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	ret = -EACCES;
	if (!vmmig_dirty_owner(vm, info->extack))
		goto out;

	if (attrs[VMMIG_DIRTY_A_BUF_ADDR]) {
		r.ubuf = u64_to_user_ptr(nla_get_u64(attrs[VMMIG_DIRTY_A_BUF_ADDR]));
		r.max = nla_get_u32(attrs[VMMIG_DIRTY_A_BUF_SIZE]) / sizeof(*r.ubuf);
	} else {
		r.max = VMMIG_REPLY_RANGES;
		r.kbuf = kvmalloc_array(r.max, sizeof(*r.kbuf), GFP_KERNEL);
		ret = -ENOMEM;
		if (!r.kbuf)
			goto out;
	}

	st.vm = vm;
	mutex_lock(&vm->dirty_lock);
	ret = vmmig_dirty_harvest(vm, &r, info->extack);
	if (!ret) {
		vmmig_event(genl_info_net(info), VMMIG_CMD_DIRTY_NTF,
			    dirty_stats_fill, &st);
		size = NLMSG_GOODSIZE;
		if (r.kbuf) {
			st.r = &r;
			size += nla_total_size(r.n * sizeof(*r.kbuf));
		}
		reply = vmmig_msg(size, info->snd_portid, info->snd_seq,
				  VMMIG_CMD_DIRTY_HARVEST, dirty_stats_fill, &st);
		ret = IS_ERR(reply) ? PTR_ERR(reply) : genlmsg_reply(reply, info);
	}
	mutex_unlock(&vm->dirty_lock);
out:
	kvfree(r.kbuf);
	vmmig_vm_put(vm);
	return ret;
}

static int dirty_stats_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmmig_vm *vm = vm_lookup(info, VMMIG_DIRTY_A_HANDLE);
	struct dirty_stats st = { .total = true };
	int ret;

	if (IS_ERR(vm))
		return PTR_ERR(vm);
	st.vm = vm;
	mutex_lock(&vm->dirty_lock);
	ret = vmmig_reply(info, VMMIG_CMD_DIRTY_STATS, dirty_stats_fill, &st);
	mutex_unlock(&vm->dirty_lock);
	vmmig_vm_put(vm);
	return ret;
}

static int dirty_rate_fill(struct sk_buff *skb, const void *arg)
{
	const struct vmmig_sample_result *res = arg;

	if (nla_put_u32(skb, VMMIG_DIRTY_A_SAMPLE_PAGES, res->pages) ||
	    nla_put_u64_64bit(skb, VMMIG_DIRTY_A_CHANGED_PAGES, res->changed,
			      VMMIG_DIRTY_A_PAD) ||
	    nla_put_u64_64bit(skb, VMMIG_DIRTY_A_ZERO_PAGES, res->zero,
			      VMMIG_DIRTY_A_PAD) ||
	    nla_put_u64_64bit(skb, VMMIG_DIRTY_A_TOTAL_PAGES, res->total,
			      VMMIG_DIRTY_A_PAD) ||
	    nla_put_u64_64bit(skb, VMMIG_DIRTY_A_INTERVAL_NS, res->interval_ns,
			      VMMIG_DIRTY_A_PAD) ||
	    nla_put_u64_64bit(skb, VMMIG_DIRTY_A_RATE, res->rate, VMMIG_DIRTY_A_PAD))
		return -EMSGSIZE;
	return 0;
}

static int dirty_rate_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	u32 pages = VMMIG_SAMPLE_DEFAULT_PAGES, seconds = 1;
	struct vmmig_sample_result res;
	struct vm_ref r;
	int ret;

	if (attrs[VMMIG_DIRTY_A_SECONDS])
		seconds = nla_get_u32(attrs[VMMIG_DIRTY_A_SECONDS]);
	if (attrs[VMMIG_DIRTY_A_SAMPLE_PAGES])
		pages = nla_get_u32(attrs[VMMIG_DIRTY_A_SAMPLE_PAGES]);
	ret = vm_ref_get(info, VMMIG_DIRTY_A_HANDLE, true, &r);
	if (ret)
		return ret;
	ret = vmmig_sample_rate(r.kvm, seconds, pages, &res, info->extack);
	vm_ref_put(&r);
	if (ret)
		return ret;
	return vmmig_reply(info, VMMIG_CMD_DIRTY_RATE, dirty_rate_fill, &res);
}

/* CPU features: HOST_FEATURES, POLICY_GET, _SET, VM_AUDIT, AUDIT_NTF. */

static const struct nla_policy word_policy[VMMIG_WORD_A_MAX + 1] = {
	[VMMIG_WORD_A_LEAF] = { .type = NLA_U32 },
	[VMMIG_WORD_A_SUBLEAF] = { .type = NLA_U32 },
	[VMMIG_WORD_A_REG] = NLA_POLICY_MAX(NLA_U32, VMMIG_CPUID_EDX),
	[VMMIG_WORD_A_VALUE] = { .type = NLA_U32 },
	[VMMIG_WORD_A_BIT] = { .type = NLA_REJECT },
	[VMMIG_WORD_A_NAME] = { .type = NLA_REJECT },
};

static const struct nla_policy words_policy[VMMIG_CPUID_A_WORD + 1] = {
	[VMMIG_CPUID_A_WORD] = NLA_POLICY_NESTED(word_policy),
};

static const struct nla_policy policy_get_policy[VMMIG_CPUID_A_MAX + 1] = {
	[VMMIG_CPUID_A_HANDLE] = NLA_POLICY_NESTED(handle_policy),
};

static const struct nla_policy policy_set_policy[VMMIG_CPUID_A_MAX + 1] = {
	[VMMIG_CPUID_A_WORDS] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_WORD] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_COMMON] = NLA_POLICY_NESTED(words_policy),
	[VMMIG_CPUID_A_COMMON_SET] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_MINIMUM] = NLA_POLICY_NESTED(words_policy),
	[VMMIG_CPUID_A_IGNORED] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_RESET] = NLA_POLICY_RANGE(NLA_U32, VMMIG_CPU_MODE_COMMON,
						 VMMIG_CPU_MODE_MINIMUM),
	[VMMIG_CPUID_A_STRICT] = NLA_POLICY_MAX(NLA_U32, VMMIG_CPU_MODE_MAX),
	[VMMIG_CPUID_A_HANDLE] = NLA_POLICY_NESTED(handle_policy),
	[VMMIG_CPUID_A_VM_MODE] = NLA_POLICY_MAX(NLA_U32, VMMIG_CPU_MODE_MAX),
	[VMMIG_CPUID_A_COMPLIANCE] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_PID] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_VCPUS] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_EXCESS] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_FEATURE] = { .type = NLA_REJECT },
};

static const struct nla_policy vm_audit_policy[VMMIG_CPUID_A_MAX + 1] = {
	[VMMIG_CPUID_A_HANDLE] = NLA_POLICY_NESTED(handle_policy),
	[VMMIG_CPUID_A_VM_MODE] = NLA_POLICY_MAX(NLA_U32, VMMIG_CPU_MODE_MAX),
};

/* The LEAF, SUBLEAF and REG of word @w, inside a nest being built. */
static int put_word_id(struct sk_buff *skb, int w)
{
	u32 leaf, subleaf, reg;

	vmmig_cpuid_word_id(w, &leaf, &subleaf, &reg);
	if (nla_put_u32(skb, VMMIG_WORD_A_LEAF, leaf) ||
	    nla_put_u32(skb, VMMIG_WORD_A_SUBLEAF, subleaf) ||
	    nla_put_u32(skb, VMMIG_WORD_A_REG, reg))
		return -EMSGSIZE;
	return 0;
}

/* A nest @attr of VMMIG_NR_WORDS feature words. */
static int put_words(struct sk_buff *skb, int attr, const u32 *words)
{
	struct nlattr *nest = nla_nest_start(skb, attr), *one;
	int w;

	if (!nest)
		return -EMSGSIZE;
	for (w = 0; w < VMMIG_NR_WORDS; w++) {
		one = nla_nest_start(skb, VMMIG_CPUID_A_WORD);
		if (!one || put_word_id(skb, w) ||
		    nla_put_u32(skb, VMMIG_WORD_A_VALUE, words[w]))
			return -EMSGSIZE;
		nla_nest_end(skb, one);
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int put_excess(struct sk_buff *skb, const u32 *excess)
{
	struct nlattr *nest = nla_nest_start(skb, VMMIG_CPUID_A_EXCESS), *f;
	const char *name;
	int w, b;

	if (!nest)
		return -EMSGSIZE;
	for (w = 0; w < VMMIG_NR_WORDS; w++) {
		for (b = 0; b < 32; b++) {
			if (!(excess[w] & BIT(b)))
				continue;
			name = vmmig_cpuid_feature_name(w, b);
			f = nla_nest_start(skb, VMMIG_CPUID_A_FEATURE);
			if (!f || put_word_id(skb, w) ||
			    nla_put_u32(skb, VMMIG_WORD_A_BIT, b) ||
			    (name && nla_put_string(skb, VMMIG_WORD_A_NAME, name)))
				return -EMSGSIZE;
			nla_nest_end(skb, f);
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int features_fill(struct sk_buff *skb, const void *arg)
{
	return put_words(skb, VMMIG_CPUID_A_WORDS, arg);
}

static int host_features_doit(struct sk_buff *skb, struct genl_info *info)
{
	u32 w[VMMIG_NR_WORDS];
	int ret;

	ret = vmmig_cpuid_kvm_live(info->extack);
	if (ret)
		return ret;
	vmmig_cpuid_host_words(w);
	return vmmig_reply(info, VMMIG_CMD_HOST_FEATURES, features_fill, w);
}

static int policy_fill(struct sk_buff *skb, const void *arg)
{
	const struct vmmig_policy_view *v = arg;

	if (put_words(skb, VMMIG_CPUID_A_COMMON, v->common) ||
	    nla_put_u8(skb, VMMIG_CPUID_A_COMMON_SET, v->common_set) ||
	    put_words(skb, VMMIG_CPUID_A_MINIMUM, v->minimum) ||
	    put_words(skb, VMMIG_CPUID_A_IGNORED, vmmig_cpuid_ignored) ||
	    nla_put_u32(skb, VMMIG_CPUID_A_STRICT, v->strict))
		return -EMSGSIZE;
	return 0;
}

static int policy_vm_fill(struct sk_buff *skb, const void *arg)
{
	const struct vmmig_vm *vm = arg;

	if (put_handle(skb, VMMIG_CPUID_A_HANDLE, vm) ||
	    nla_put_u32(skb, VMMIG_CPUID_A_VM_MODE, READ_ONCE(vm->cpu_mode)) ||
	    nla_put_u32(skb, VMMIG_CPUID_A_COMPLIANCE, READ_ONCE(vm->compliance)))
		return -EMSGSIZE;
	return 0;
}

static int policy_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmmig_policy_view v;
	struct vmmig_vm *vm;
	int ret;

	if (!info->attrs[VMMIG_CPUID_A_HANDLE]) {
		vmmig_policy_read(genl_info_net(info), &v);
		return vmmig_reply(info, VMMIG_CMD_POLICY_GET, policy_fill, &v);
	}
	vm = vm_lookup(info, VMMIG_CPUID_A_HANDLE);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	ret = vmmig_reply(info, VMMIG_CMD_POLICY_GET, policy_vm_fill, vm);
	vmmig_vm_put(vm);
	return ret;
}

/* A nest of words: each once, each known; into @words, bits in @given. */
static int parse_words(const struct nlattr *nest, u32 *words, u32 *given,
		       struct netlink_ext_ack *extack)
{
	struct nlattr *tb[VMMIG_WORD_A_MAX + 1];
	const struct nlattr *a;
	int rem, i, ret;

	*given = 0;
	nla_for_each_nested(a, nest, rem) {
		ret = nla_parse_nested(tb, VMMIG_WORD_A_MAX, a, word_policy, extack);
		if (ret)
			return ret;
		if (!tb[VMMIG_WORD_A_LEAF] || !tb[VMMIG_WORD_A_SUBLEAF] ||
		    !tb[VMMIG_WORD_A_REG] || !tb[VMMIG_WORD_A_VALUE]) {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "a feature word needs leaf, subleaf, register and value");
			return -EINVAL;
		}
		i = vmmig_cpuid_word(nla_get_u32(tb[VMMIG_WORD_A_LEAF]),
				     nla_get_u32(tb[VMMIG_WORD_A_SUBLEAF]),
				     nla_get_u32(tb[VMMIG_WORD_A_REG]));
		if (i < 0) {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "not a feature word of the policy (see VMMIG_CMD_HOST_FEATURES)");
			return -EINVAL;
		}
		if (*given & BIT(i)) {
			NL_SET_ERR_MSG_ATTR(extack, a, "feature word given twice");
			return -EINVAL;
		}
		*given |= BIT(i);
		words[i] = nla_get_u32(tb[VMMIG_WORD_A_VALUE]);
	}
	return 0;
}

static int policy_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct nlattr **attrs = info->attrs;
	struct vmmig_policy_update *u;
	struct vmmig_vm *vm = NULL;
	int ret;

	if (!attrs[VMMIG_CPUID_A_RESET] && !attrs[VMMIG_CPUID_A_COMMON] &&
	    !attrs[VMMIG_CPUID_A_MINIMUM] && !attrs[VMMIG_CPUID_A_STRICT] &&
	    !attrs[VMMIG_CPUID_A_HANDLE]) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "nothing to set (reset, common, minimum, strict, VM mode)");
		return -EINVAL;
	}
	if (!attrs[VMMIG_CPUID_A_HANDLE] != !attrs[VMMIG_CPUID_A_VM_MODE]) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "a VM's mode needs both the VM handle and the mode");
		return -EINVAL;
	}
	if (attrs[VMMIG_CPUID_A_STRICT] &&
	    nla_get_u32(attrs[VMMIG_CPUID_A_STRICT]) != VMMIG_CPU_MODE_OFF &&
	    !vmmig_strict_supported()) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[VMMIG_CPUID_A_STRICT],
				    "strict mode is not supported by this kernel");
		return -EOPNOTSUPP;
	}

	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	if (attrs[VMMIG_CPUID_A_RESET])
		u->reset = nla_get_u32(attrs[VMMIG_CPUID_A_RESET]);
	u->has_common = attrs[VMMIG_CPUID_A_COMMON];
	u->has_minimum = attrs[VMMIG_CPUID_A_MINIMUM];
	u->has_strict = attrs[VMMIG_CPUID_A_STRICT];
	if (u->has_strict)
		u->strict = nla_get_u32(attrs[VMMIG_CPUID_A_STRICT]);
	ret = 0;
	if (u->has_common)
		ret = parse_words(attrs[VMMIG_CPUID_A_COMMON], u->common,
				  &u->common_given, info->extack);
	if (!ret && u->has_minimum)
		ret = parse_words(attrs[VMMIG_CPUID_A_MINIMUM], u->minimum,
				  &u->minimum_given, info->extack);
	/* An unknown VM changes nothing, the masks included. */
	if (!ret && attrs[VMMIG_CPUID_A_HANDLE]) {
		vm = vm_lookup(info, VMMIG_CPUID_A_HANDLE);
		ret = PTR_ERR_OR_ZERO(vm);
		if (ret)
			vm = NULL;
	}
	if (!ret)
		ret = vmmig_policy_update(net, u, info->extack);
	if (!ret && vm)
		vmmig_policy_set_vm_mode(net, vm,
					 nla_get_u32(attrs[VMMIG_CPUID_A_VM_MODE]));
	if (vm)
		vmmig_vm_put(vm);
	kfree(u);
	return ret;
}

/* An audit's report: the VM_AUDIT reply and the AUDIT_NTF event. */
struct audit {
	const struct vmmig_vm *vm;	/* NULL: not registered */
	pid_t pid;
	enum vmmig_cpu_mode mode;
	const struct vmmig_cpuid_report *r;
};

static int audit_fill(struct sk_buff *skb, const void *arg)
{
	const struct audit *a = arg;

	if ((a->vm && put_handle(skb, VMMIG_CPUID_A_HANDLE, a->vm)) ||
	    nla_put_u32(skb, VMMIG_CPUID_A_PID, a->pid) ||
	    nla_put_u32(skb, VMMIG_CPUID_A_VM_MODE, a->mode) ||
	    nla_put_u32(skb, VMMIG_CPUID_A_COMPLIANCE, a->r->compliance) ||
	    nla_put_u32(skb, VMMIG_CPUID_A_VCPUS, a->r->vcpus) ||
	    put_excess(skb, a->r->excess))
		return -EMSGSIZE;
	return 0;
}

/**
 * vmmig_nl_audit_event() - tell a namespace that a VM exceeds its mask
 * @net: the namespace
 * @vm: the registered VM (or the one being registered), or NULL
 * @pid: the process that created the VM
 * @mode: the mode whose mask it exceeds
 * @r: the audit
 *
 * May sleep.
 */
void vmmig_nl_audit_event(struct net *net, const struct vmmig_vm *vm, pid_t pid,
			  enum vmmig_cpu_mode mode,
			  const struct vmmig_cpuid_report *r)
{
	struct audit a = { .vm = vm, .pid = pid, .mode = mode, .r = r };

	vmmig_event(net, VMMIG_CMD_AUDIT_NTF, audit_fill, &a);
}

static int vm_audit_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr *mode_attr = info->attrs[VMMIG_CPUID_A_VM_MODE];
	struct net *net = genl_info_net(info);
	struct vmmig_cpuid_report r;
	struct audit a = { .r = &r };
	struct vm_ref ref;
	int ret;

	ret = vm_ref_get(info, VMMIG_CPUID_A_HANDLE, true, &ref);
	if (ret)
		return ret;
	if (mode_attr)
		a.mode = nla_get_u32(mode_attr);
	else
		a.mode = ref.vm ? READ_ONCE(ref.vm->cpu_mode) : VMMIG_CPU_MODE_COMMON;
	/* The reference keeps the VM and its vCPUs alive. */
	vmmig_cpuid_audit(net, ref.kvm, a.mode, &r);
	if (ref.vm && a.mode == READ_ONCE(ref.vm->cpu_mode))
		WRITE_ONCE(ref.vm->compliance, r.compliance);
	a.vm = ref.vm;
	a.pid = ref.kvm->userspace_pid;
	if (r.compliance == VMMIG_COMPLIANCE_EXCEEDS)
		vmmig_event(net, VMMIG_CMD_AUDIT_NTF, audit_fill, &a);
	ret = vmmig_reply(info, VMMIG_CMD_VM_AUDIT, audit_fill, &a);
	vm_ref_put(&ref);
	return ret;
}

static const struct genl_ops vmmig_genl_ops[] = {
	{
		.cmd = VMMIG_CMD_HOST_GET,
		.doit = host_get_doit,
	},
	{
		.cmd = VMMIG_CMD_HOST_SET,
		.doit = host_set_doit,
		.policy = host_set_policy,
		.maxattr = VMMIG_HOST_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_VM_REGISTER,
		.doit = vm_register_doit,
		.policy = vm_register_policy,
		.maxattr = VMMIG_VM_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_VM_UNREGISTER,
		.doit = vm_unregister_doit,
		.policy = vm_handle_policy,
		.maxattr = VMMIG_VM_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_VM_GET,
		.doit = vm_get_doit,
		.dumpit = vm_get_dumpit,
		.policy = vm_handle_policy,
		.maxattr = VMMIG_VM_A_MAX,
	},
	{
		.cmd = VMMIG_CMD_DIRTY_START,
		.doit = dirty_switch_doit,
		.policy = dirty_policy,
		.maxattr = VMMIG_DIRTY_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_DIRTY_HARVEST,
		.doit = dirty_harvest_doit,
		.policy = dirty_policy,
		.maxattr = VMMIG_DIRTY_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_DIRTY_STOP,
		.doit = dirty_switch_doit,
		.policy = dirty_policy,
		.maxattr = VMMIG_DIRTY_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_DIRTY_STATS,
		.doit = dirty_stats_doit,
		.policy = dirty_policy,
		.maxattr = VMMIG_DIRTY_A_MAX,
	},
	{
		.cmd = VMMIG_CMD_DIRTY_RATE,
		.doit = dirty_rate_doit,
		.policy = dirty_policy,
		.maxattr = VMMIG_DIRTY_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_HOST_FEATURES,
		.doit = host_features_doit,
	},
	{
		.cmd = VMMIG_CMD_POLICY_GET,
		.doit = policy_get_doit,
		.policy = policy_get_policy,
		.maxattr = VMMIG_CPUID_A_MAX,
	},
	{
		.cmd = VMMIG_CMD_POLICY_SET,
		.doit = policy_set_doit,
		.policy = policy_set_policy,
		.maxattr = VMMIG_CPUID_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_VM_AUDIT,
		.doit = vm_audit_doit,
		.policy = vm_audit_policy,
		.maxattr = VMMIG_CPUID_A_MAX,
	},
};

static struct genl_family vmmig_genl_family __ro_after_init = {
	.name = VMMIG_GENL_NAME,
	.version = VMMIG_GENL_VERSION,
	.netnsok = true,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.ops = vmmig_genl_ops,
	.n_ops = ARRAY_SIZE(vmmig_genl_ops),
	.mcgrps = vmmig_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vmmig_mcgrps),
};

/**
 * vmmig_genl_init() - register the generic netlink family
 *
 * Return: 0 or a negative errno.
 */
int __init vmmig_genl_init(void)
{
	int ret = genl_register_family(&vmmig_genl_family);

	WRITE_ONCE(vmmig_genl_live, !ret);
	return ret;
}

/**
 * vmmig_genl_uninit() - announce the unload and unregister the family
 */
void vmmig_genl_uninit(void)
{
	vmmig_nl_module_event(KBUILD_MODNAME, VMMIG_MODULE_GOING);
	WRITE_ONCE(vmmig_genl_live, false);
	genl_unregister_family(&vmmig_genl_family);
}
