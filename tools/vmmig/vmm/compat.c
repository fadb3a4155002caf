// SPDX-License-Identifier: GPL-2.0
/*
 * Processor compatibility at a cold start: the VM gets what KVM supports on
 * this host now, narrowed by the mask of its mode, which vmmig.ko holds per
 * network namespace (Documentation/admin-guide/cpu-compat.rst). The table
 * is written into the definition: a save, a restore and a move keep it, and
 * only the next cold start computes it again.
 *
 * The VMM computes it, not the lifecycle library that spawns the VMM: the
 * VMM alone knows which boot is cold (a start, not a restore, an incoming
 * move or a guest reset, which execs the VMM again), and it reads the mask,
 * gives the vCPUs the table and registers the VM in that mode over one
 * netlink socket within milliseconds, so every caller (CLI, vmmigd) gets the
 * same and a mask changed in between makes the registration refuse the VM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cpuid.h"
#include "features.h"
#include "vmm.h"

/* The mask of @mode, with the bits no audit checks as KVM gives them. */
static int mode_mask(struct vm *vm, uint32_t mode, uint32_t *mask, char *why)
{
	const uint32_t *src;
	struct vmmig_policy p;
	int err, i;

	err = vm_nl_open(vm, why);
	if (err == -ENOENT)
		return vmm_fail(why, err, "processor-compat %s needs vmmig.ko, which holds its mask, and it is not loaded",
				vmdef_compat_names[mode]);
	if (err)
		return err;
	err = vmmig_policy_get(&vm->nl, &p);
	if (err)
		return vmm_fail(why, err, "vmmig.ko: the CPUID policy: %s",
				vmmig_nl_strerror(&vm->nl, err));
	src = mode == VMMIG_CPU_MODE_COMMON ? p.common : p.minimum;
	for (i = 0; i < VMMIG_NR_WORDS; i++)
		mask[i] = src[i] | p.ignored[i];
	return 0;
}

/* 1 when the table is the one the definition had: nothing to write. */
static int narrow(struct vmdef *d, void *arg, char *why)
{
	struct vmdef_cpuid *old = d->cpuid;
	uint32_t mask[VMMIG_NR_WORDS];
	int nold = d->ncpuid, err = 0;
	bool same;

	d->cpuid = NULL;
	d->ncpuid = 0;
	if (d->processor_compat != VMMIG_CPU_MODE_OFF)
		err = mode_mask(arg, d->processor_compat, mask, why);
	if (!err)
		err = vmdef_cpuid_from_kvm(d, d->processor_compat ? mask : NULL, why);
	same = !err && nold && nold == d->ncpuid && !memcmp(old, d->cpuid, nold * sizeof(*old));
	free(old);
	return err ? err : same;
}

int vm_cpuid_at_start(struct vm *vm, char *why)
{
	return vmdef_update(&vm->def, vm->dir, narrow, vm, why);
}

/*
 * A restore or an incoming move brings the CPUID the VM has run with: this
 * host must be of its vendor and offer every feature of it (what KVM would
 * give a VM of this kind here, the bits KVM rewrites at run time aside), or
 * the guest finds an instruction missing after it resumes. KVM itself does
 * not check KVM_SET_CPUID2 against what it supports.
 */
int vm_cpuid_fits_host(struct vm *vm, char *why)
{
	struct vmdef here = { .workload = vm->def.workload };
	struct cpu_features saw, has, lack;
	struct vmmig_policy p;
	char names[1024];
	int err, i;

	err = vmdef_cpuid_from_kvm(&here, NULL, why);
	if (err)
		return err;
	features_from_cpuid(&saw, vm->def.cpuid, vm->def.ncpuid);
	features_from_cpuid(&has, here.cpuid, here.ncpuid);
	vmdef_free(&here);
	if (!features_same_vendor(&saw, &has))
		return vmm_fail(why, -ENODEV,
				"%s ran on a %s CPU and this host's is %s: a VM does not move between CPU vendors; shut it down and start it here",
				vm->def.name, saw.vendor[0] ? saw.vendor : "unknown",
				has.vendor[0] ? has.vendor : "unknown");
	if (!vm_nl_open(vm, why) && !vmmig_policy_get(&vm->nl, &p))
		for (i = 0; i < VMMIG_NR_WORDS; i++)
			saw.w[i] &= ~p.ignored[i];
	features_lacking(&lack, &saw, &has);
	if (features_empty(&lack))
		return 0;
	return vmm_fail(why, -ENODEV,
			"this host lacks %u CPU feature%s %s runs with: %s; restore it on a host that has them, or discard its state and start it here",
			features_count(&lack), features_count(&lack) == 1 ? "" : "s", vm->def.name,
			features_names(&lack, names, sizeof(names)));
}
