// SPDX-License-Identifier: GPL-2.0
/*
 * The VM in vmmig.ko's registry, under its definition's name and UUID, for
 * as long as the VMM runs it: what vmmig.ko reports, audits and harvests is
 * then the VM that vmmig manages, by the same identity. Without vmmig.ko
 * (or the right to use it) the VM runs unregistered, and live save, which
 * needs the registration, tries again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"
#include "vmlog.h"
#include "vmm.h"

/* A VM whose VMM died stays registered until vmmig.ko's reaper sees it: 1 s. */
#define STALE_WAIT_MS	2000

/*
 * 1: vmmig.ko has this VM, under its name and UUID; 0: it does not (someone
 * unregistered it: `vmmig kvm unregister`); -EEXIST: under another name or
 * UUID (registered again by hand); other -errno.
 */
static int registered_as_itself(struct vm *vm)
{
	struct vmmig_vm_info *info = calloc(1, sizeof(*info));
	int err;

	if (!info)
		return -ENOMEM;
	err = vmmig_vm_get(&vm->nl, VMMIG_BY_FD(vm->vm_fd), info);
	if (!err)
		err = !strcmp(info->name, vm->def.name) &&
		      !memcmp(info->uuid, vm->def.uuid, sizeof(info->uuid)) ? 1 : -EEXIST;
	free(info);
	return err == -ENOENT ? 0 : err;
}

int vm_nl_open(struct vm *vm, char *why)
{
	int err;

	if (vm->nl.sk)
		return 0;
	err = vmmig_nl_open(&vm->nl);
	if (err) {
		vm->nl.sk = NULL;
		return vmm_fail(why, err, err == -ENOENT ? "vmmig.ko is not loaded" :
				"vmmig.ko: %s", strerror(-err));
	}
	return 0;
}

int vm_register(struct vm *vm, char *why)
{
	int err, waited;

	if (vm->registered) {
		err = registered_as_itself(vm);
		if (err == 1)
			return 0;
		if (err == -EEXIST)
			return vmm_fail(why, err, "vmmig.ko has this VM registered under another name or uuid");
		if (err)
			return vmm_fail(why, err, "vmmig.ko: %s", vmmig_nl_strerror(&vm->nl, err));
		vm->registered = false;
	}
	err = vm_nl_open(vm, why);
	if (err)
		return err;
	for (waited = 0; ; waited += 100) {
		err = vmmig_vm_register_mode(&vm->nl, vm->vm_fd, vm->def.name, vm->def.uuid,
					     vm->def.processor_compat);
		if (err != -EEXIST || waited >= STALE_WAIT_MS)
			break;
		usleep(100000);
	}
	/* Without CAP_NET_ADMIN, the kernel's refusal says nothing more. */
	if (err == -EPERM && !vm->nl.err.msg[0])
		return vmm_fail(why, -EACCES, "vmmig.ko: registering needs CAP_NET_ADMIN");
	if (err)
		return vmm_fail(why, err, "vmmig.ko refused to register the VM: %s",
				vmmig_nl_strerror(&vm->nl, err));
	vm->registered = true;
	return 0;
}

int vm_register_at_start(struct vm *vm, char *why)
{
	int err = vm_register(vm, why);

	if (err != -ENOENT && err != -EACCES)
		return err;
	vmlog(LOG_ERR, "%s: the VM runs unregistered (live save needs it)", why);
	return 0;
}

void vm_unregister(struct vm *vm)
{
	int err;

	/* By its descriptor: never another VM that took the name since. */
	if (vm->registered) {
		err = vmmig_vm_unregister(&vm->nl, VMMIG_BY_FD(vm->vm_fd));
		if (err && err != -ENOENT)
			vmlog(LOG_ERR, "unregistering: %s", vmmig_nl_strerror(&vm->nl, err));
		vm->registered = false;
	}
	if (vm->nl.sk)
		vmmig_nl_close(&vm->nl);
	vm->nl.sk = NULL;
}
