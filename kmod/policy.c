// SPDX-License-Identifier: GPL-2.0
/*
 * The CPUID policy of a network namespace: the common-cluster and minimum
 * masks, strict mode, and each registered VM's mode (VMMIG_CMD_POLICY_GET
 * and VMMIG_CMD_POLICY_SET).
 */

#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <asm/fpu/types.h>
#include <net/genetlink.h>
#include <net/netns/generic.h>

#include "cpuid.h"
#include "netlink.h"
#include "vm.h"
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

struct vmmig_cpuid_net {
	struct mutex lock;	/* serialises policy changes */
	struct vmmig_cpuid_policy __rcu *policy;
};

static unsigned int vmmig_cpuid_net_id __read_mostly;

static struct vmmig_cpuid_net *cpuid_net(const struct net *net)
{
	return net_generic(net, vmmig_cpuid_net_id);
}

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
	policy_mask(rcu_dereference(cpuid_net(net)->policy), mode, mask);
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
	p = rcu_dereference(cpuid_net(net)->policy);
	mode = p->strict;
	if (mode != VMMIG_CPU_MODE_OFF)
		policy_mask(p, mode, mask);
	rcu_read_unlock();
	return mode;
}

const struct nla_policy vmmig_policy_get_policy[VMMIG_CPUID_A_MAX + 1] = {
	[VMMIG_CPUID_A_HANDLE] = NLA_POLICY_NESTED(vmmig_handle_policy),
};

static int policy_get_vm(struct genl_info *info)
{
	struct sk_buff *msg;
	struct vmmig_vm *vm;
	void *hdr;
	int ret = -EMSGSIZE;

	vm = vmmig_vm_lookup(info, VMMIG_CPUID_A_HANDLE);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		vmmig_vm_put(vm);
		return -ENOMEM;
	}
	hdr = genlmsg_put_reply(msg, info, &vmmig_genl_family, 0, VMMIG_CMD_POLICY_GET);
	if (hdr &&
	    !vmmig_handle_fill(msg, VMMIG_CPUID_A_HANDLE, vm) &&
	    !nla_put_u32(msg, VMMIG_CPUID_A_VM_MODE, READ_ONCE(vm->cpu_mode)) &&
	    !nla_put_u32(msg, VMMIG_CPUID_A_COMPLIANCE, READ_ONCE(vm->compliance))) {
		genlmsg_end(msg, hdr);
		ret = genlmsg_reply(msg, info);
		msg = NULL;
	}
	nlmsg_free(msg);
	vmmig_vm_put(vm);
	return ret;
}

/**
 * vmmig_policy_get_doit() - VMMIG_CMD_POLICY_GET: the namespace's CPUID policy
 * @skb: the request
 * @info: its attributes and sender
 *
 * Return: 0 or a negative errno, with an extack message.
 */
int vmmig_policy_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmmig_cpuid_net *cn = cpuid_net(genl_info_net(info));
	struct vmmig_cpuid_policy *p;
	u32 common[VMMIG_NR_WORDS], minimum[VMMIG_NR_WORDS];
	enum vmmig_cpu_mode strict;
	struct sk_buff *msg;
	bool common_set;
	void *hdr;

	if (info->attrs[VMMIG_CPUID_A_HANDLE])
		return policy_get_vm(info);

	rcu_read_lock();
	p = rcu_dereference(cn->policy);
	policy_mask(p, VMMIG_CPU_MODE_COMMON, common);
	policy_mask(p, VMMIG_CPU_MODE_MINIMUM, minimum);
	common_set = p->common_set;
	strict = p->strict;
	rcu_read_unlock();

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vmmig_genl_family, 0, VMMIG_CMD_POLICY_GET);
	if (!hdr ||
	    vmmig_cpuid_put_words(msg, VMMIG_CPUID_A_COMMON, common) ||
	    nla_put_u8(msg, VMMIG_CPUID_A_COMMON_SET, common_set) ||
	    vmmig_cpuid_put_words(msg, VMMIG_CPUID_A_MINIMUM, minimum) ||
	    vmmig_cpuid_put_words(msg, VMMIG_CPUID_A_IGNORED, vmmig_cpuid_ignored) ||
	    nla_put_u32(msg, VMMIG_CPUID_A_STRICT, strict)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

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

const struct nla_policy vmmig_policy_set_policy[VMMIG_CPUID_A_MAX + 1] = {
	[VMMIG_CPUID_A_WORDS] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_WORD] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_COMMON] = NLA_POLICY_NESTED(words_policy),
	[VMMIG_CPUID_A_COMMON_SET] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_MINIMUM] = NLA_POLICY_NESTED(words_policy),
	[VMMIG_CPUID_A_IGNORED] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_RESET] = NLA_POLICY_RANGE(NLA_U32, VMMIG_CPU_MODE_COMMON,
						 VMMIG_CPU_MODE_MINIMUM),
	[VMMIG_CPUID_A_STRICT] = NLA_POLICY_MAX(NLA_U32, VMMIG_CPU_MODE_MAX),
	[VMMIG_CPUID_A_HANDLE] = NLA_POLICY_NESTED(vmmig_handle_policy),
	[VMMIG_CPUID_A_VM_MODE] = NLA_POLICY_MAX(NLA_U32, VMMIG_CPU_MODE_MAX),
	[VMMIG_CPUID_A_COMPLIANCE] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_PID] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_VCPUS] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_EXCESS] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_FEATURE] = { .type = NLA_REJECT },
};

/*
 * A registered VM's mode: the VM is audited against its new mask at once,
 * and its compliance updated; a VM that exceeds the new mask keeps it, and
 * is reported (the audit's answer tells what to fix).
 */
static void set_vm_mode(struct net *net, struct vmmig_vm *vm,
			enum vmmig_cpu_mode mode)
{
	struct vmmig_cpuid_report r;

	vmmig_cpuid_audit(net, vm->kvm, mode, &r);
	WRITE_ONCE(vm->cpu_mode, mode);
	WRITE_ONCE(vm->compliance, r.compliance);
	if (r.compliance == VMMIG_COMPLIANCE_EXCEEDS)
		vmmig_cpuid_notify(net, vm, vm->kvm->userspace_pid, mode, &r);
}

/* Applies a nest of words to @mask; all or nothing. */
static int apply_words(const struct nlattr *nest, u32 *mask,
		       struct netlink_ext_ack *extack)
{
	struct nlattr *tb[VMMIG_WORD_A_MAX + 1];
	u32 new[VMMIG_NR_WORDS], seen = 0;
	const struct nlattr *a;
	int rem, i, ret;

	memcpy(new, mask, sizeof(new));
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
		if (seen & BIT(i)) {
			NL_SET_ERR_MSG_ATTR(extack, a, "feature word given twice");
			return -EINVAL;
		}
		seen |= BIT(i);
		new[i] = nla_get_u32(tb[VMMIG_WORD_A_VALUE]);
	}
	memcpy(mask, new, sizeof(new));
	return 0;
}

/**
 * vmmig_policy_set_doit() - VMMIG_CMD_POLICY_SET: change the namespace's CPUID policy
 * @skb: the request
 * @info: its attributes and sender
 *
 * Return: 0 or a negative errno, with an extack message.
 */
int vmmig_policy_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct vmmig_cpuid_net *cn = cpuid_net(genl_info_net(info));
	struct vmmig_cpuid_policy *old, *p;
	struct nlattr **attrs = info->attrs;
	struct vmmig_vm *vm = NULL;
	int ret = 0;

	if (!attrs[VMMIG_CPUID_A_RESET] && !attrs[VMMIG_CPUID_A_COMMON] &&
	    !attrs[VMMIG_CPUID_A_MINIMUM] && !attrs[VMMIG_CPUID_A_STRICT] &&
	    !attrs[VMMIG_CPUID_A_HANDLE]) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "nothing to set (reset, common, minimum, strict, VM mode)");
		return -EINVAL;
	}
	if (!!attrs[VMMIG_CPUID_A_HANDLE] != !!attrs[VMMIG_CPUID_A_VM_MODE]) {
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
	/* An unknown VM changes nothing, the masks included. */
	if (attrs[VMMIG_CPUID_A_HANDLE]) {
		vm = vmmig_vm_lookup(info, VMMIG_CPUID_A_HANDLE);
		if (IS_ERR(vm))
			return PTR_ERR(vm);
	}

	p = kmalloc(sizeof(*p), GFP_KERNEL);
	ret = -ENOMEM;
	if (!p)
		goto out;
	ret = 0;
	mutex_lock(&cn->lock);
	old = rcu_dereference_protected(cn->policy, lockdep_is_held(&cn->lock));
	memcpy(p, old, sizeof(*p));
	if (attrs[VMMIG_CPUID_A_RESET]) {
		if (nla_get_u32(attrs[VMMIG_CPUID_A_RESET]) == VMMIG_CPU_MODE_COMMON)
			p->common_set = false;
		else
			memcpy(p->minimum, minimum_default, sizeof(p->minimum));
	}
	if (attrs[VMMIG_CPUID_A_COMMON]) {
		if (!p->common_set)
			vmmig_cpuid_host_words(p->common);
		ret = apply_words(attrs[VMMIG_CPUID_A_COMMON], p->common,
				  info->extack);
		p->common_set = true;
	}
	if (!ret && attrs[VMMIG_CPUID_A_MINIMUM])
		ret = apply_words(attrs[VMMIG_CPUID_A_MINIMUM], p->minimum,
				  info->extack);
	if (!ret && attrs[VMMIG_CPUID_A_STRICT])
		p->strict = nla_get_u32(attrs[VMMIG_CPUID_A_STRICT]);
	/* The probe is on before a namespace asks for strict mode. */
	if (!ret && p->strict != VMMIG_CPU_MODE_OFF &&
	    old->strict == VMMIG_CPU_MODE_OFF) {
		ret = vmmig_strict_get();
		if (ret)
			NL_SET_ERR_MSG_MOD(info->extack, "cannot enable the strict mode probe");
	}
	if (ret) {
		mutex_unlock(&cn->lock);
		kfree(p);
		goto out;
	}
	rcu_assign_pointer(cn->policy, p);
	if (p->strict == VMMIG_CPU_MODE_OFF && old->strict != VMMIG_CPU_MODE_OFF)
		vmmig_strict_put();
	mutex_unlock(&cn->lock);
	kfree_rcu(old, rcu);
	if (vm)
		set_vm_mode(genl_info_net(info), vm,
			    nla_get_u32(attrs[VMMIG_CPUID_A_VM_MODE]));
out:
	if (vm)
		vmmig_vm_put(vm);
	return ret;
}

static int __net_init cpuid_net_init(struct net *net)
{
	struct vmmig_cpuid_net *cn = cpuid_net(net);
	struct vmmig_cpuid_policy *p;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	memcpy(p->minimum, minimum_default, sizeof(p->minimum));
	p->strict = VMMIG_CPU_MODE_OFF;
	mutex_init(&cn->lock);
	RCU_INIT_POINTER(cn->policy, p);
	return 0;
}

static void __net_exit cpuid_net_exit(struct net *net)
{
	/* No reader is left: the namespace's sockets and tasks are gone. */
	struct vmmig_cpuid_policy *p = rcu_dereference_protected(cpuid_net(net)->policy, true);

	if (p->strict != VMMIG_CPU_MODE_OFF)
		vmmig_strict_put();
	kfree(p);
}

static struct pernet_operations cpuid_net_ops = {
	.init = cpuid_net_init,
	.exit = cpuid_net_exit,
	.id = &vmmig_cpuid_net_id,
	.size = sizeof(struct vmmig_cpuid_net),
};

/**
 * vmmig_cpuid_init() - set up the CPUID policy of every namespace
 *
 * Return: 0 or a negative errno.
 */
int vmmig_cpuid_init(void)
{
	int ret = vmmig_strict_init();

	if (ret)
		return ret;
	ret = register_pernet_subsys(&cpuid_net_ops);
	if (ret)
		vmmig_strict_uninit();
	return ret;
}

/**
 * vmmig_cpuid_uninit() - undo vmmig_cpuid_init()
 */
void vmmig_cpuid_uninit(void)
{
	unregister_pernet_subsys(&cpuid_net_ops);
	vmmig_strict_uninit();
	/* Policies replaced just before are freed after a grace period. */
	rcu_barrier();
}
