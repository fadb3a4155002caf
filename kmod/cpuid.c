// SPDX-License-Identifier: GPL-2.0
/*
 * CPU features: what KVM can give a guest here, the namespace's CPUID
 * policy (the common-cluster and minimum masks), and the audit of a VM's
 * vCPUs against the mask of its mode.
 */

#include <linux/delay.h>
#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <asm/cpufeature.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>
#include <net/genetlink.h>
#include <net/netns/generic.h>

#include "cpuid.h"
#include "host.h"
#include "netlink.h"
#include "vm.h"
#include "vmmig.h"

/*
 * kvm.ko exports kvm_cpu_caps but declares it in arch/x86/kvm/cpuid.h,
 * which is not part of the headers a module is built against. Its length
 * (NR_KVM_CPU_CAPS) differs between kernels because KVM appends its own
 * words after the kernel's; the kernel's words come first, indexed by enum
 * cpuid_leafs, and those are the only ones used here. It is the source of
 * every word KVM_GET_SUPPORTED_CPUID reports through cpuid_entry_override(),
 * and the only exported one: __do_cpuid_func() is static.
 */
extern u32 kvm_cpu_caps[];

/*
 * What KVM_SUPPORTED_XCR0 (arch/x86/kvm/x86.c) lets a guest enable: the
 * same on 6.1 and 6.12. KVM intersects it with the host's XCR0 and drops the
 * MPX components where it does not expose MPX; kvm_caps.supported_xcr0
 * itself is in a structure whose layout is private to KVM.
 */
#define VMMIG_KVM_XCR0	(XFEATURE_MASK_FP | XFEATURE_MASK_SSE |		\
			 XFEATURE_MASK_YMM | XFEATURE_MASK_BNDREGS |	\
			 XFEATURE_MASK_BNDCSR | XFEATURE_MASK_AVX512 |	\
			 XFEATURE_MASK_PKRU | XFEATURE_MASK_XTILE)

#define NO_CAP	(-1)

static const struct vmmig_word_desc {
	u32 leaf;
	u32 subleaf;
	u8 reg;		/* enum vmmig_cpuid_reg */
	s8 cap;		/* index in kvm_cpu_caps, or NO_CAP */
	const char *name;
} words[VMMIG_NR_WORDS] = {
	[VMMIG_WORD_1_ECX] = { 1, 0, VMMIG_CPUID_ECX, CPUID_1_ECX, "1.ecx" },
	[VMMIG_WORD_1_EDX] = { 1, 0, VMMIG_CPUID_EDX, CPUID_1_EDX, "1.edx" },
	[VMMIG_WORD_7_0_EBX] = { 7, 0, VMMIG_CPUID_EBX, CPUID_7_0_EBX, "7.0.ebx" },
	[VMMIG_WORD_7_0_ECX] = { 7, 0, VMMIG_CPUID_ECX, CPUID_7_ECX, "7.0.ecx" },
	[VMMIG_WORD_7_0_EDX] = { 7, 0, VMMIG_CPUID_EDX, CPUID_7_EDX, "7.0.edx" },
	[VMMIG_WORD_7_1_EAX] = { 7, 1, VMMIG_CPUID_EAX, CPUID_7_1_EAX, "7.1.eax" },
	[VMMIG_WORD_D_0_EAX] = { 0xd, 0, VMMIG_CPUID_EAX, NO_CAP, "0xd.0.eax" },
	[VMMIG_WORD_D_0_EDX] = { 0xd, 0, VMMIG_CPUID_EDX, NO_CAP, "0xd.0.edx" },
	[VMMIG_WORD_D_1_EAX] = { 0xd, 1, VMMIG_CPUID_EAX, CPUID_D_1_EAX, "0xd.1.eax" },
	[VMMIG_WORD_8000_0001_ECX] = { 0x80000001, 0, VMMIG_CPUID_ECX,
				       CPUID_8000_0001_ECX, "0x80000001.ecx" },
	[VMMIG_WORD_8000_0001_EDX] = { 0x80000001, 0, VMMIG_CPUID_EDX,
				       CPUID_8000_0001_EDX, "0x80000001.edx" },
	[VMMIG_WORD_8000_0008_EBX] = { 0x80000008, 0, VMMIG_CPUID_EBX,
				       CPUID_8000_0008_EBX, "0x80000008.ebx" },
	[VMMIG_WORD_8000_0021_EAX] = { 0x80000021, 0, VMMIG_CPUID_EAX,
				       CPUID_8000_0021_EAX, "0x80000021.eax" },
};

static const struct {
	u8 word;
	u8 bit;
	const char *name;
} feature_names[] = {
#define VMMIG_FEATURE(w, b, n) { w, b, n },
#include "cpuid_names.h"
#undef VMMIG_FEATURE
};

/*
 * Bits no audit looks at. KVM rewrites OSXSAVE, OSPKE and APIC from the
 * guest's CR4 and APIC base at run time, and MONITOR from its
 * MISC_ENABLE (kvm_update_cpuid_runtime()); HYPERVISOR, HTT and CmpLegacy
 * describe the virtual machine and its topology, which the VMM chooses and
 * carries with the VM; the TSC deadline timer is emulated by KVM's local
 * APIC on every host (KVM_CAP_TSC_DEADLINE_TIMER) and not part of
 * KVM_GET_SUPPORTED_CPUID.
 */
static const u32 ignored[VMMIG_NR_WORDS] = {
	[VMMIG_WORD_1_ECX] = BIT(3) /* monitor */ | BIT(24) /* tsc_deadline */ |
			     BIT(27) /* osxsave */ | BIT(31) /* hypervisor */,
	[VMMIG_WORD_1_EDX] = BIT(9) /* apic */ | BIT(28) /* ht */,
	[VMMIG_WORD_7_0_ECX] = BIT(4) /* ospke */,
	[VMMIG_WORD_8000_0001_ECX] = BIT(1) /* cmp_legacy */,
};

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
	[VMMIG_WORD_8000_0001_EDX] = BIT(11) /* syscall */ | BIT(20) /* nx */ |
				     BIT(29) /* lm */,
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

/* Safe in any context; callers that report to users check kvm_live(). */
static void host_words(u32 *w)
{
	u64 xcr0 = 0;
	int i;

	for (i = 0; i < VMMIG_NR_WORDS; i++)
		w[i] = words[i].cap == NO_CAP ? 0 : READ_ONCE(kvm_cpu_caps[words[i].cap]);
	if (boot_cpu_has(X86_FEATURE_XSAVE)) {
		xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK) & VMMIG_KVM_XCR0;
		if (!(w[VMMIG_WORD_7_0_EBX] & BIT(X86_FEATURE_MPX & 31)))
			xcr0 &= ~(XFEATURE_MASK_BNDREGS | XFEATURE_MASK_BNDCSR);
	}
	w[VMMIG_WORD_D_0_EAX] = lower_32_bits(xcr0);
	w[VMMIG_WORD_D_0_EDX] = upper_32_bits(xcr0);
}

/* kvm_cpu_caps is only meaningful while a vendor module is loaded. */
static int kvm_live(struct netlink_ext_ack *extack)
{
	if (vmmig_host_kvm() == VMMIG_KVM_NONE || !READ_ONCE(kvm_cpu_caps[CPUID_1_EDX])) {
		NL_SET_ERR_MSG_MOD(extack, "KVM vendor module not loaded (kvm_amd or kvm_intel)");
		return -ENODEV;
	}
	return 0;
}

static void policy_mask(const struct vmmig_cpuid_policy *p,
			enum vmmig_cpu_mode mode, u32 *mask)
{
	if (mode == VMMIG_CPU_MODE_MINIMUM)
		memcpy(mask, p->minimum, sizeof(p->minimum));
	else if (p->common_set)
		memcpy(mask, p->common, sizeof(p->common));
	else
		host_words(mask);
}

static const char *feature_name(int word, int bit)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(feature_names); i++)
		if (feature_names[i].word == word && feature_names[i].bit == bit)
			return feature_names[i].name;
	return NULL;
}

static const struct kvm_cpuid_entry2 *find_entry(const struct kvm_cpuid_entry2 *e,
						 int nent, u32 leaf, u32 subleaf)
{
	int i;

	for (i = 0; i < nent; i++)
		if (e[i].function == leaf &&
		    (e[i].index == subleaf ||
		     !(e[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)))
			return &e[i];
	return NULL;
}

static u32 entry_reg(const struct kvm_cpuid_entry2 *e, u8 reg)
{
	switch (reg) {
	case VMMIG_CPUID_EAX:
		return e->eax;
	case VMMIG_CPUID_EBX:
		return e->ebx;
	case VMMIG_CPUID_ECX:
		return e->ecx;
	default:
		return e->edx;
	}
}

/*
 * ORs into @excess the features of one vCPU's CPUID that @mask lacks. The
 * caller makes sure the entries cannot be replaced meanwhile.
 */
static bool audit_entries(const struct kvm_cpuid_entry2 *e, int nent,
			  const u32 *mask, u32 *excess)
{
	const struct kvm_cpuid_entry2 *ent;
	bool over = false;
	int i;

	for (i = 0; i < VMMIG_NR_WORDS; i++) {
		u32 v;

		ent = find_entry(e, nent, words[i].leaf, words[i].subleaf);
		if (!ent)
			continue;
		v = entry_reg(ent, words[i].reg) & ~mask[i] & ~ignored[i];
		excess[i] |= v;
		over |= v != 0;
	}
	return over;
}

/*
 * Once a vCPU has entered the guest, KVM only accepts a KVM_SET_CPUID2 that
 * is identical to its CPUID and keeps the old entries, so they can be read
 * without its mutex. Before that, the mutex keeps KVM_SET_CPUID2 out; a vCPU
 * inside its first KVM_RUN that has not entered the guest (an AP waiting
 * for its SIPI) holds the mutex for as long as it waits: such a vCPU is not
 * audited, and the report says UNKNOWN unless another vCPU exceeds.
 */
static bool audit_vcpu(struct kvm_vcpu *vcpu, const u32 *mask, u32 *excess,
		       bool *busy)
{
	bool over;
	int tries;

	if (READ_ONCE(vcpu->arch.last_vmentry_cpu) != -1)
		return audit_entries(vcpu->arch.cpuid_entries,
				     vcpu->arch.cpuid_nent, mask, excess);
	for (tries = 0; !mutex_trylock(&vcpu->mutex); tries++) {
		if (tries == 5) {
			*busy = true;
			return false;
		}
		msleep(20);
	}
	over = audit_entries(vcpu->arch.cpuid_entries, vcpu->arch.cpuid_nent,
			     mask, excess);
	mutex_unlock(&vcpu->mutex);
	return over;
}

/**
 * vmmig_cpuid_audit() - compare every vCPU's CPUID of a VM with a mask
 * @net: namespace whose policy gives the mask
 * @kvm: the VM; the caller holds a reference to it
 * @mode: which mask; VMMIG_CPU_MODE_OFF audits nothing
 * @r: the result
 *
 * May sleep.
 */
void vmmig_cpuid_audit(struct net *net, struct kvm *kvm,
		       enum vmmig_cpu_mode mode, struct vmmig_cpuid_report *r)
{
	struct vmmig_cpuid_policy *p;
	u32 mask[VMMIG_NR_WORDS];
	struct kvm_vcpu *vcpu;
	bool over = false, busy = false;
	unsigned long i;

	memset(r, 0, sizeof(*r));
	r->compliance = VMMIG_COMPLIANCE_OK;
	if (mode == VMMIG_CPU_MODE_OFF)
		return;

	rcu_read_lock();
	p = rcu_dereference(cpuid_net(net)->policy);
	policy_mask(p, mode, mask);
	rcu_read_unlock();

	kvm_for_each_vcpu(i, vcpu, kvm) {
		bool was_busy = busy;

		over |= audit_vcpu(vcpu, mask, r->excess, &busy);
		if (busy == was_busy)
			r->vcpus++;
	}
	if (over)
		r->compliance = VMMIG_COMPLIANCE_EXCEEDS;
	else if (busy || !r->vcpus)
		r->compliance = VMMIG_COMPLIANCE_UNKNOWN;
}

static const char *mode_name(enum vmmig_cpu_mode mode)
{
	return mode == VMMIG_CPU_MODE_MINIMUM ? "minimum" : "common";
}

/*
 * The message must outlive the handler until netlink builds the ACK, and
 * the 6.2+ formatted extack holds 80 bytes, too few for a list of features:
 * the messages live in a ring, and a slot is only reused after
 * ARRAY_SIZE(msg_ring) - 1 later refusals.
 */
static char msg_ring[16][256];
static atomic_t msg_next = ATOMIC_INIT(0);

/**
 * vmmig_cpuid_excess_msg() - name the features of a failed audit in an
 * extended ACK
 * @r: the failed audit
 * @mode: the mode whose mask the VM exceeds
 * @extack: where the message goes; may be NULL
 */
void vmmig_cpuid_excess_msg(const struct vmmig_cpuid_report *r,
			    enum vmmig_cpu_mode mode,
			    struct netlink_ext_ack *extack)
{
	char *buf = msg_ring[(unsigned int)atomic_inc_return(&msg_next) %
			     ARRAY_SIZE(msg_ring)];
	size_t size = sizeof(msg_ring[0]), n;
	int w, b;

	if (!extack)
		return;
	n = scnprintf(buf, size, KBUILD_MODNAME ": CPU features outside the %s mask:",
		      mode_name(mode));
	for (w = 0; w < VMMIG_NR_WORDS; w++) {
		for (b = 0; b < 32; b++) {
			const char *name;

			if (!(r->excess[w] & BIT(b)))
				continue;
			name = feature_name(w, b);
			if (name)
				n += scnprintf(buf + n, size - n, " %s", name);
			else
				n += scnprintf(buf + n, size - n, " %s[%d]",
					       words[w].name, b);
		}
	}
	if (n >= size - 1)
		memcpy(buf + size - 5, " ...", 5);
	extack->_msg = buf;
}

static void audit_notify(struct net *net, const char *name, pid_t pid,
			 enum vmmig_cpu_mode mode,
			 const struct vmmig_cpuid_report *r);

static int put_word(struct sk_buff *skb, int attr, int w, u32 value)
{
	struct nlattr *nest = nla_nest_start(skb, attr);

	if (!nest ||
	    nla_put_u32(skb, VMMIG_WORD_A_LEAF, words[w].leaf) ||
	    nla_put_u32(skb, VMMIG_WORD_A_SUBLEAF, words[w].subleaf) ||
	    nla_put_u32(skb, VMMIG_WORD_A_REG, words[w].reg) ||
	    nla_put_u32(skb, VMMIG_WORD_A_VALUE, value))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int put_words(struct sk_buff *skb, int attr, const u32 *w)
{
	struct nlattr *nest = nla_nest_start(skb, attr);
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < VMMIG_NR_WORDS; i++)
		if (put_word(skb, VMMIG_CPUID_A_WORD, i, w[i]))
			return -EMSGSIZE;
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
			name = feature_name(w, b);
			f = nla_nest_start(skb, VMMIG_CPUID_A_FEATURE);
			if (!f ||
			    nla_put_u32(skb, VMMIG_WORD_A_LEAF, words[w].leaf) ||
			    nla_put_u32(skb, VMMIG_WORD_A_SUBLEAF, words[w].subleaf) ||
			    nla_put_u32(skb, VMMIG_WORD_A_REG, words[w].reg) ||
			    nla_put_u32(skb, VMMIG_WORD_A_BIT, b) ||
			    (name && nla_put_string(skb, VMMIG_WORD_A_NAME, name)))
				return -EMSGSIZE;
			nla_nest_end(skb, f);
		}
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* The VM_AUDIT reply and the AUDIT_NTF event. */
static struct sk_buff *audit_msg(u32 portid,
				 u32 seq, u8 cmd, const char *name, pid_t pid,
				 enum vmmig_cpu_mode mode,
				 const struct vmmig_cpuid_report *r)
{
	struct sk_buff *skb;
	void *hdr;

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return ERR_PTR(-ENOMEM);
	hdr = genlmsg_put(skb, portid, seq, &vmmig_genl_family, 0, cmd);
	if (!hdr ||
	    (name && nla_put_string(skb, VMMIG_CPUID_A_VM_NAME, name)) ||
	    nla_put_u32(skb, VMMIG_CPUID_A_PID, pid) ||
	    nla_put_u32(skb, VMMIG_CPUID_A_VM_MODE, mode) ||
	    nla_put_u32(skb, VMMIG_CPUID_A_COMPLIANCE, r->compliance) ||
	    nla_put_u32(skb, VMMIG_CPUID_A_VCPUS, r->vcpus) ||
	    put_excess(skb, r->excess)) {
		nlmsg_free(skb);
		return ERR_PTR(-EMSGSIZE);
	}
	genlmsg_end(skb, hdr);
	return skb;
}

/**
 * vmmig_cpuid_features_doit() - VMMIG_CMD_HOST_FEATURES: the feature words KVM supports here
 * @skb: the request
 * @info: its attributes and sender
 *
 * Return: 0 or a negative errno, with an extack message.
 */
int vmmig_cpuid_features_doit(struct sk_buff *skb, struct genl_info *info)
{
	u32 w[VMMIG_NR_WORDS];
	struct sk_buff *msg;
	void *hdr;
	int ret;

	ret = kvm_live(info->extack);
	if (ret)
		return ret;
	host_words(w);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vmmig_genl_family, 0,
				VMMIG_CMD_HOST_FEATURES);
	if (!hdr || put_words(msg, VMMIG_CPUID_A_WORDS, w)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

const struct nla_policy vmmig_policy_get_policy[VMMIG_CPUID_A_MAX + 1] = {
	[VMMIG_CPUID_A_VM_NAME] = { .type = NLA_NUL_STRING, .len = VMMIG_NAME_MAX - 1 },
};

static int policy_get_vm(struct genl_info *info)
{
	struct vmmig_net *vn = vmmig_net(genl_info_net(info));
	struct sk_buff *msg;
	struct vmmig_vm *vm;
	void *hdr;
	int ret = -EMSGSIZE;

	vm = vmmig_vm_lookup(vn, info->attrs[VMMIG_CPUID_A_VM_NAME], NULL,
			     info->extack);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg) {
		vmmig_vm_put(vm);
		return -ENOMEM;
	}
	hdr = genlmsg_put_reply(msg, info, &vmmig_genl_family, 0, VMMIG_CMD_POLICY_GET);
	if (hdr &&
	    !nla_put_string(msg, VMMIG_CPUID_A_VM_NAME, vm->name) &&
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

	if (info->attrs[VMMIG_CPUID_A_VM_NAME])
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
	    put_words(msg, VMMIG_CPUID_A_COMMON, common) ||
	    nla_put_u8(msg, VMMIG_CPUID_A_COMMON_SET, common_set) ||
	    put_words(msg, VMMIG_CPUID_A_MINIMUM, minimum) ||
	    put_words(msg, VMMIG_CPUID_A_IGNORED, ignored) ||
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
	[VMMIG_CPUID_A_VM_NAME] = { .type = NLA_NUL_STRING, .len = VMMIG_NAME_MAX - 1 },
	[VMMIG_CPUID_A_VM_MODE] = NLA_POLICY_MAX(NLA_U32, VMMIG_CPU_MODE_MAX),
	[VMMIG_CPUID_A_COMPLIANCE] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_PID] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_VCPUS] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_EXCESS] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_FEATURE] = { .type = NLA_REJECT },
	[VMMIG_CPUID_A_FD] = { .type = NLA_REJECT },
};

/*
 * A registered VM's mode: the VM is audited against its new mask at once,
 * and its compliance updated; a VM that exceeds the new mask keeps it, and
 * is reported (the audit's answer tells what to fix).
 */
static int set_vm_mode(struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	enum vmmig_cpu_mode mode = nla_get_u32(info->attrs[VMMIG_CPUID_A_VM_MODE]);
	struct vmmig_cpuid_report r;
	struct vmmig_vm *vm;

	vm = vmmig_vm_lookup(vmmig_net(net), info->attrs[VMMIG_CPUID_A_VM_NAME],
			     NULL, info->extack);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	vmmig_cpuid_audit(net, vm->kvm, mode, &r);
	WRITE_ONCE(vm->cpu_mode, mode);
	WRITE_ONCE(vm->compliance, r.compliance);
	if (r.compliance == VMMIG_COMPLIANCE_EXCEEDS)
		audit_notify(net, vm->name, vm->kvm->userspace_pid, mode, &r);
	vmmig_vm_put(vm);
	return 0;
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
		for (i = 0; i < VMMIG_NR_WORDS; i++)
			if (words[i].leaf == nla_get_u32(tb[VMMIG_WORD_A_LEAF]) &&
			    words[i].subleaf == nla_get_u32(tb[VMMIG_WORD_A_SUBLEAF]) &&
			    words[i].reg == nla_get_u32(tb[VMMIG_WORD_A_REG]))
				break;
		if (i == VMMIG_NR_WORDS) {
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
	int ret = 0;

	if (!attrs[VMMIG_CPUID_A_RESET] && !attrs[VMMIG_CPUID_A_COMMON] &&
	    !attrs[VMMIG_CPUID_A_MINIMUM] && !attrs[VMMIG_CPUID_A_STRICT] &&
	    !attrs[VMMIG_CPUID_A_VM_NAME]) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "nothing to set (reset, common, minimum, strict, VM mode)");
		return -EINVAL;
	}
	if (!!attrs[VMMIG_CPUID_A_VM_NAME] != !!attrs[VMMIG_CPUID_A_VM_MODE]) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "a VM's mode needs both the VM name and the mode");
		return -EINVAL;
	}
	if (attrs[VMMIG_CPUID_A_STRICT] &&
	    nla_get_u32(attrs[VMMIG_CPUID_A_STRICT]) != VMMIG_CPU_MODE_OFF &&
	    !vmmig_cpuid_strict_supported()) {
		NL_SET_ERR_MSG_ATTR(info->extack, attrs[VMMIG_CPUID_A_STRICT],
				    "strict mode is not supported by this kernel");
		return -EOPNOTSUPP;
	}

	p = kmalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
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
			host_words(p->common);
		ret = apply_words(attrs[VMMIG_CPUID_A_COMMON], p->common,
				  info->extack);
		p->common_set = true;
	}
	if (!ret && attrs[VMMIG_CPUID_A_MINIMUM])
		ret = apply_words(attrs[VMMIG_CPUID_A_MINIMUM], p->minimum,
				  info->extack);
	if (!ret && attrs[VMMIG_CPUID_A_STRICT])
		p->strict = nla_get_u32(attrs[VMMIG_CPUID_A_STRICT]);
	if (ret) {
		mutex_unlock(&cn->lock);
		kfree(p);
		return ret;
	}
	rcu_assign_pointer(cn->policy, p);
	mutex_unlock(&cn->lock);
	kfree_rcu(old, rcu);
	if (attrs[VMMIG_CPUID_A_VM_NAME])
		return set_vm_mode(info);
	return 0;
}

const struct nla_policy vmmig_vm_audit_policy[VMMIG_CPUID_A_MAX + 1] = {
	[VMMIG_CPUID_A_VM_NAME] = { .type = NLA_NUL_STRING, .len = VMMIG_NAME_MAX - 1 },
	[VMMIG_CPUID_A_FD] = { .type = NLA_U32 },
	[VMMIG_CPUID_A_VM_MODE] = NLA_POLICY_MAX(NLA_U32, VMMIG_CPU_MODE_MAX),
};

static void audit_notify(struct net *net,
			 const char *name, pid_t pid, enum vmmig_cpu_mode mode,
			 const struct vmmig_cpuid_report *r)
{
	struct sk_buff *msg;

	msg = audit_msg(0, 0, VMMIG_CMD_AUDIT_NTF, name, pid, mode, r);
	if (!IS_ERR(msg))
		vmmig_genl_notify(net, msg);
}

static int audit_vm(struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct vmmig_cpuid_report r;
	enum vmmig_cpu_mode mode;
	struct vmmig_vm *vm;
	struct sk_buff *msg;
	pid_t pid;

	vm = vmmig_vm_lookup(vmmig_net(net), info->attrs[VMMIG_CPUID_A_VM_NAME],
			     NULL, info->extack);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	mode = READ_ONCE(vm->cpu_mode);
	vmmig_cpuid_audit(net, vm->kvm, mode, &r);
	WRITE_ONCE(vm->compliance, r.compliance);
	pid = vm->kvm->userspace_pid;
	if (r.compliance == VMMIG_COMPLIANCE_EXCEEDS)
		audit_notify(net, vm->name, pid, mode, &r);
	msg = audit_msg(info->snd_portid, info->snd_seq, VMMIG_CMD_VM_AUDIT,
			vm->name, pid, mode, &r);
	vmmig_vm_put(vm);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	return genlmsg_reply(msg, info);
}

/**
 * vmmig_vm_audit_doit() - VMMIG_CMD_VM_AUDIT: audit a VM's CPUID against its mask
 * @skb: the request
 * @info: its attributes and sender
 *
 * Return: 0 or a negative errno, with an extack message.
 */
int vmmig_vm_audit_doit(struct sk_buff *skb, struct genl_info *info)
{
	enum vmmig_cpu_mode mode = VMMIG_CPU_MODE_COMMON;
	struct nlattr **attrs = info->attrs;
	struct vmmig_cpuid_report r;
	struct sk_buff *msg;
	struct file *file;

	if (attrs[VMMIG_CPUID_A_VM_NAME])
		return audit_vm(info);
	if (!attrs[VMMIG_CPUID_A_FD]) {
		NL_SET_ERR_MSG_MOD(info->extack, "which VM? (VM name or file descriptor)");
		return -EINVAL;
	}
	if (attrs[VMMIG_CPUID_A_VM_MODE])
		mode = nla_get_u32(attrs[VMMIG_CPUID_A_VM_MODE]);

	file = vmmig_vm_fget(attrs[VMMIG_CPUID_A_FD], info->extack);
	if (IS_ERR(file))
		return PTR_ERR(file);
	/* The file's reference keeps the VM and its vCPUs alive. */
	vmmig_cpuid_audit(genl_info_net(info), file->private_data, mode, &r);
	fput(file);

	if (r.compliance == VMMIG_COMPLIANCE_EXCEEDS)
		audit_notify(genl_info_net(info), NULL,
			     task_tgid_nr(current), mode, &r);
	msg = audit_msg(info->snd_portid, info->snd_seq,
			VMMIG_CMD_VM_AUDIT, NULL, task_tgid_nr(current), mode, &r);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	return genlmsg_reply(msg, info);
}

/**
 * vmmig_cpuid_check_register() - audit a VM that is being registered
 * @net: namespace of the registry
 * @vm: the VM, not yet in the registry; its cpu_mode is set
 * @extack: where a refusal names the features
 *
 * Records the result in @vm->compliance; a VM that exceeds the mask of its
 * mode is reported with VMMIG_CMD_AUDIT_NTF.
 *
 * Return: 0, or -EPERM when the VM exceeds its mask.
 */
int vmmig_cpuid_check_register(struct net *net, struct vmmig_vm *vm,
			       struct netlink_ext_ack *extack)
{
	struct vmmig_cpuid_report r;

	vmmig_cpuid_audit(net, vm->kvm, vm->cpu_mode, &r);
	vm->compliance = r.compliance;
	if (r.compliance != VMMIG_COMPLIANCE_EXCEEDS)
		return 0;
	vmmig_cpuid_excess_msg(&r, vm->cpu_mode, extack);
	audit_notify(net, vm->name, vm->kvm->userspace_pid, vm->cpu_mode, &r);
	return -EPERM;
}

/**
 * vmmig_cpuid_strict_supported() - whether strict mode can be enforced here
 *
 * Return: true if it can.
 */
bool vmmig_cpuid_strict_supported(void)
{
	return false;
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
	/* No reader is left: the namespace's sockets are gone. */
	kfree(rcu_dereference_protected(cpuid_net(net)->policy, true));
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
	return register_pernet_subsys(&cpuid_net_ops);
}

/**
 * vmmig_cpuid_uninit() - undo vmmig_cpuid_init()
 */
void vmmig_cpuid_uninit(void)
{
	unregister_pernet_subsys(&cpuid_net_ops);
	/* Policies replaced just before are freed after a grace period. */
	rcu_barrier();
}
