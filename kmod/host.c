// SPDX-License-Identifier: GPL-2.0
/*
 * Which KVM vendor module this host has loaded, and events when one comes or
 * goes. (The host object that HOST_GET reports is built in netlink.c.)
 */

#include <linux/kobject.h>
#include <linux/module.h>

#include "host.h"
#include "netlink.h"

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

static int vmmig_module_event(struct notifier_block *nb, unsigned long action,
			      void *data)
{
	const struct module *mod = data;
	enum vmmig_kvm kvm;

	if (action != MODULE_STATE_LIVE && action != MODULE_STATE_GOING)
		return NOTIFY_DONE;

	for (kvm = VMMIG_KVM_AMD; kvm <= VMMIG_KVM_MAX; kvm++)
		if (!strcmp(mod->name, kvm_vendor_modules[kvm]))
			vmmig_nl_module_event(mod->name,
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
