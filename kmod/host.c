// SPDX-License-Identifier: GPL-2.0
/*
 * Facts about this host: module and kernel versions, the CPU, which KVM
 * vendor module is loaded, and events when a KVM vendor module comes or goes.
 */

#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/utsname.h>
#include <asm/processor.h>
#include <net/netlink.h>

#include "cpuid.h"
#include "host.h"
#include "netlink.h"
#include "version.h"
#include "vmmig.h"

static const char * const kvm_vendor_modules[] = {
	[VMMIG_KVM_AMD] = "kvm_amd",
	[VMMIG_KVM_INTEL] = "kvm_intel",
};

/*
 * find_module() is not exported, but every module's kobject lives in the
 * same kset as ours, and kset_find_obj() takes a reference that keeps the
 * struct module alive: module unload waits for the last kobject reference
 * before it frees the module.
 */
static bool module_live(const char *name)
{
	const struct module *mod;
	struct kobject *kobj;
	bool live;

	kobj = kset_find_obj(THIS_MODULE->mkobj.kobj.kset, name);
	if (!kobj)
		return false;
	mod = container_of(kobj, struct module_kobject, kobj)->mod;
	live = mod && READ_ONCE(mod->state) == MODULE_STATE_LIVE;
	kobject_put(kobj);
	return live;
}

/**
 * vmmig_host_kvm() - which KVM vendor module is loaded and live
 *
 * Return: VMMIG_KVM_AMD, VMMIG_KVM_INTEL or VMMIG_KVM_NONE.
 */
enum vmmig_kvm vmmig_host_kvm(void)
{
	enum vmmig_kvm kvm;

	for (kvm = VMMIG_KVM_AMD; kvm <= VMMIG_KVM_MAX; kvm++)
		if (module_live(kvm_vendor_modules[kvm]))
			return kvm;
	return VMMIG_KVM_NONE;
}

/**
 * vmmig_host_fill() - put the host object of @net into @skb
 * @skb: message being built
 * @net: namespace whose settings are reported
 *
 * Return: 0, or -EMSGSIZE when @skb is too small.
 */
int vmmig_host_fill(struct sk_buff *skb, const struct net *net)
{
	const struct cpuinfo_x86 *c = &boot_cpu_data;
	struct vmmig_net *vn = vmmig_net(net);
	bool migration;
	u32 max, vms;

	mutex_lock(&vn->lock);
	migration = vn->migration_enabled;
	max = vn->max_migrations;
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
	    nla_put_u8(skb, VMMIG_HOST_A_CPUID_STRICT,
		       vmmig_strict_supported()))
		return -EMSGSIZE;
	return 0;
}

static int vmmig_module_event(struct notifier_block *nb, unsigned long action,
			      void *data)
{
	const struct module *mod = data;
	enum vmmig_kvm kvm;

	if (action != MODULE_STATE_LIVE && action != MODULE_STATE_GOING)
		return NOTIFY_DONE;

	for (kvm = VMMIG_KVM_AMD; kvm <= VMMIG_KVM_MAX; kvm++)
		if (!strcmp(mod->name, kvm_vendor_modules[kvm]))
			vmmig_genl_notify_module(mod->name,
						 action == MODULE_STATE_LIVE ?
						 VMMIG_MODULE_LIVE :
						 VMMIG_MODULE_GOING);
	return NOTIFY_DONE;
}

static struct notifier_block vmmig_module_nb = {
	.notifier_call = vmmig_module_event,
};

/**
 * vmmig_host_init() - start watching KVM vendor modules
 *
 * Return: 0 or a negative errno.
 */
int vmmig_host_init(void)
{
	return register_module_notifier(&vmmig_module_nb);
}

/**
 * vmmig_host_uninit() - stop watching KVM vendor modules
 */
void vmmig_host_uninit(void)
{
	unregister_module_notifier(&vmmig_module_nb);
}
