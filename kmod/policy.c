// SPDX-License-Identifier: GPL-2.0
/*
 * The CPUID policy of a network namespace: the common-cluster and minimum
 * masks, strict mode, and each registered VM's mode. The commands that read
 * and change it (VMMIG_CMD_POLICY_GET and _SET) are in netlink.c.
 */

#include <linux/kvm_host.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <asm/fpu/types.h>

#include "cpuid.h"
#include "netlink.h"
#include "policy.h"
#include "registry.h"
#include "strict.h"
#include "vmmig.h"

/*
 * The default minimum: x86-64-v2 (cx16, lahf_lm, popcnt, sse3 to sse4_2
 * on top of x86-64's fpu, cmov, cx8, fxsr, mmx, syscall, sse, sse2), the
 * classic features every x86-64 processor has, and x2apic, which KVM
 * emulates everywhere.
 */
static const u32 minimum_default[VMMIG_NR_WORDS] = {
	[VMMIG_WORD_1_ECX] = BIT(0) /* pni */ | BIT(9) /* ssse3 */ |
			     BIT(13) /* cx16 */ | BIT(19) /* sse4_1 */ |
			     BIT(20) /* sse4_2 */ | BIT(21) /* x2apic */ |
			     BIT(23) /* popcnt */,
	/* fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat
	 * pse36 clflush mmx fxsr sse sse2
	 */
	[VMMIG_WORD_1_EDX] = GENMASK(9, 0) | GENMASK(17, 11) | BIT(19) |
			     GENMASK(26, 23),
	[VMMIG_WORD_D_0_EAX] = XFEATURE_MASK_FP | XFEATURE_MASK_SSE,
	[VMMIG_WORD_8000_0001_ECX] = BIT(0) /* lahf_lm */,
	/* syscall nx lm, and AMD's copies of leaf 1's fpu to apic, mtrr to
	 * pse36, mmx and fxsr (reserved, hence 0, on Intel)
	 */
	[VMMIG_WORD_8000_0001_EDX] = BIT(11) | BIT(20) | BIT(29) |
				     GENMASK(9, 0) | GENMASK(17, 12) | BIT(23) | BIT(24),
};

struct vmmig_cpuid_policy {
	u32 common[VMMIG_NR_WORDS];
	u32 minimum[VMMIG_NR_WORDS];
	bool common_set;	/* false: common follows the host's features */
	enum vmmig_cpu_mode strict;
	struct rcu_head rcu;
};

static void policy_mask(const struct vmmig_cpuid_policy *p,
			enum vmmig_cpu_mode mode, u32 *mask)
{
	if (mode == VMMIG_CPU_MODE_MINIMUM)
		memcpy(mask, p->minimum, sizeof(p->minimum));
	else if (p->common_set)
		memcpy(mask, p->common, sizeof(p->common));
	else
		vmmig_cpuid_host_words(mask);
}

/**
 * vmmig_policy_mask() - the mask of a mode in a namespace
 * @net: the namespace
 * @mode: common or minimum
 * @mask: VMMIG_NR_WORDS words
 *
 * Any context.
 */
void vmmig_policy_mask(struct net *net, enum vmmig_cpu_mode mode, u32 *mask)
{
	rcu_read_lock();
	policy_mask(rcu_dereference(vmmig_net(net)->policy), mode, mask);
	rcu_read_unlock();
}

/**
 * vmmig_policy_strict() - the namespace's strict mode and its mask
 * @net: the namespace
 * @mask: VMMIG_NR_WORDS words, set unless strict mode is off
 *
 * Any context.
 *
 * Return: the mode strict mode enforces, or VMMIG_CPU_MODE_OFF.
 */
enum vmmig_cpu_mode vmmig_policy_strict(struct net *net, u32 *mask)
{
	const struct vmmig_cpuid_policy *p;
	enum vmmig_cpu_mode mode;

	rcu_read_lock();
	p = rcu_dereference(vmmig_net(net)->policy);
	mode = p->strict;
	if (mode != VMMIG_CPU_MODE_OFF)
		policy_mask(p, mode, mask);
	rcu_read_unlock();
	return mode;
}

/**
 * vmmig_policy_read() - the namespace's whole policy
 * @net: the namespace
 * @v: the policy, as it is now
 *
 * Any context.
 */
void vmmig_policy_read(struct net *net, struct vmmig_policy_view *v)
{
	const struct vmmig_cpuid_policy *p;

	rcu_read_lock();
	p = rcu_dereference(vmmig_net(net)->policy);
	policy_mask(p, VMMIG_CPU_MODE_COMMON, v->common);
	policy_mask(p, VMMIG_CPU_MODE_MINIMUM, v->minimum);
	v->common_set = p->common_set;
	v->strict = p->strict;
	rcu_read_unlock();
}

static void apply_words(u32 *mask, const u32 *words, u32 given)
{
	int i;

	for (i = 0; i < VMMIG_NR_WORDS; i++)
		if (given & BIT(i))
			mask[i] = words[i];
}

/**
 * vmmig_policy_update() - change the namespace's policy, all or nothing
 * @net: the namespace
 * @u: the change
 * @extack: why it failed
 *
 * Return: 0 or a negative errno.
 */
int vmmig_policy_update(struct net *net, const struct vmmig_policy_update *u,
			struct netlink_ext_ack *extack)
{
	struct vmmig_net *vn = vmmig_net(net);
	struct vmmig_cpuid_policy *old, *p;
	int ret;

	p = kmalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	mutex_lock(&vn->policy_lock);
	old = rcu_dereference_protected(vn->policy, lockdep_is_held(&vn->policy_lock));
	memcpy(p, old, sizeof(*p));
	if (u->reset == VMMIG_CPU_MODE_COMMON)
		p->common_set = false;
	else if (u->reset == VMMIG_CPU_MODE_MINIMUM)
		memcpy(p->minimum, minimum_default, sizeof(p->minimum));
	if (u->has_common) {
		if (!p->common_set)
			vmmig_cpuid_host_words(p->common);
		apply_words(p->common, u->common, u->common_given);
		p->common_set = true;
	}
	if (u->has_minimum)
		apply_words(p->minimum, u->minimum, u->minimum_given);
	if (u->has_strict)
		p->strict = u->strict;
	/* The probe is on before a namespace asks for strict mode. */
	if (p->strict != VMMIG_CPU_MODE_OFF && old->strict == VMMIG_CPU_MODE_OFF) {
		ret = vmmig_strict_get();
		if (ret) {
			NL_SET_ERR_MSG_MOD(extack, "cannot enable the strict mode probe");
			mutex_unlock(&vn->policy_lock);
			kfree(p);
			return ret;
		}
	}
	rcu_assign_pointer(vn->policy, p);
	if (p->strict == VMMIG_CPU_MODE_OFF && old->strict != VMMIG_CPU_MODE_OFF)
		vmmig_strict_put();
	mutex_unlock(&vn->policy_lock);
	kfree_rcu(old, rcu);
	return 0;
}

/**
 * vmmig_policy_set_vm_mode() - change a registered VM's mode
 * @net: the VM's namespace
 * @vm: the VM
 * @mode: its new mode
 *
 * The VM is audited against its new mask at once and its compliance
 * updated; a VM that exceeds the new mask keeps it, and is reported (the
 * audit's answer tells what to fix).
 */
void vmmig_policy_set_vm_mode(struct net *net, struct vmmig_vm *vm,
			      enum vmmig_cpu_mode mode)
{
	struct vmmig_cpuid_report r;

	vmmig_cpuid_audit(net, vm->kvm, mode, &r);
	WRITE_ONCE(vm->cpu_mode, mode);
	WRITE_ONCE(vm->compliance, r.compliance);
	if (r.compliance == VMMIG_COMPLIANCE_EXCEEDS)
		vmmig_nl_audit_event(net, vm, vm->kvm->userspace_pid, mode, &r);
}

/**
 * vmmig_policy_net_init() - a new namespace's default policy
 * @vn: the namespace's state
 *
 * Return: 0 or -ENOMEM.
 */
int vmmig_policy_net_init(struct vmmig_net *vn)
{
	struct vmmig_cpuid_policy *p;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	memcpy(p->minimum, minimum_default, sizeof(p->minimum));
	p->strict = VMMIG_CPU_MODE_OFF;
	mutex_init(&vn->policy_lock);
	RCU_INIT_POINTER(vn->policy, p);
	return 0;
}

/**
 * vmmig_policy_net_exit() - free a namespace's policy
 * @vn: the namespace's state
 */
void vmmig_policy_net_exit(struct vmmig_net *vn)
{
	/* No reader is left: the namespace's sockets and tasks are gone. */
	struct vmmig_cpuid_policy *p = rcu_dereference_protected(vn->policy, true);

	if (p->strict != VMMIG_CPU_MODE_OFF)
		vmmig_strict_put();
	kfree(p);
}
