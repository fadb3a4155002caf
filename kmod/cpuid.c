// SPDX-License-Identifier: GPL-2.0
/*
 * CPU features: what KVM can give a guest here, their names, and the audit
 * of a VM's vCPUs against the mask of a mode (the masks are in policy.c).
 */

#include <linux/delay.h>
#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/module.h>
#include <asm/cpufeature.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>
#include <net/netlink.h>

#include "cpuid.h"
#include "host.h"
#include "netlink.h"
#include "policy.h"
#include "registry.h"

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

static const struct vmmig_word_desc {
	u32 leaf;
	u32 subleaf;
	u8 reg;		/* enum vmmig_cpuid_reg */
	s8 cap;		/* index in kvm_cpu_caps, or -1 */
	const char *name;
} words[VMMIG_NR_WORDS] = {
#define VMMIG_WORD(w, l, s, r, c, n)	\
	[w] = { l, s, r, c, n },
#include "vmmig/cpuid_table.h"
};

static const struct {
	u8 word;
	u8 bit;
	const char *name;
} feature_names[] = {
#define VMMIG_FEATURE(w, b, n) { w, b, n },
#include "vmmig/cpuid_table.h"
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
const u32 vmmig_cpuid_ignored[VMMIG_NR_WORDS] = {
	[VMMIG_WORD_1_ECX] = BIT(3) /* monitor */ | BIT(24) /* tsc_deadline */ |
			     BIT(27) /* osxsave */ | BIT(31) /* hypervisor */,
	[VMMIG_WORD_1_EDX] = BIT(9) /* apic */ | BIT(28) /* ht */,
	[VMMIG_WORD_7_0_ECX] = BIT(4) /* ospke */,
	[VMMIG_WORD_8000_0001_ECX] = BIT(1) /* cmp_legacy */,
};

/**
 * vmmig_cpuid_host_words() - the feature words KVM supports on this host
 * @w: VMMIG_NR_WORDS words
 *
 * Safe in any context; callers that report to users check vmmig_cpuid_kvm_live().
 */
void vmmig_cpuid_host_words(u32 *w)
{
	u64 xcr0 = 0;
	int i;

	for (i = 0; i < VMMIG_NR_WORDS; i++)
		w[i] = words[i].cap < 0 ? 0 : READ_ONCE(kvm_cpu_caps[words[i].cap]);
	if (boot_cpu_has(X86_FEATURE_XSAVE)) {
		xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK) & VMMIG_KVM_XCR0;
		if (!(w[VMMIG_WORD_7_0_EBX] & BIT(X86_FEATURE_MPX & 31)))
			xcr0 &= ~(XFEATURE_MASK_BNDREGS | XFEATURE_MASK_BNDCSR);
	}
	w[VMMIG_WORD_D_0_EAX] = lower_32_bits(xcr0);
	w[VMMIG_WORD_D_0_EDX] = upper_32_bits(xcr0);
}

/**
 * vmmig_cpuid_word() - the index of a feature word
 * @leaf: its CPUID leaf
 * @subleaf: its subleaf
 * @reg: its register, enum vmmig_cpuid_reg
 *
 * Return: the index (enum vmmig_word), or -1 if the policy has no such word.
 */
int vmmig_cpuid_word(u32 leaf, u32 subleaf, u32 reg)
{
	int i;

	for (i = 0; i < VMMIG_NR_WORDS; i++)
		if (words[i].leaf == leaf && words[i].subleaf == subleaf &&
		    words[i].reg == reg)
			return i;
	return -1;
}

/**
 * vmmig_cpuid_word_id() - where a feature word is in CPUID
 * @w: the word, enum vmmig_word
 * @leaf: its leaf
 * @subleaf: its subleaf
 * @reg: its register, enum vmmig_cpuid_reg
 */
void vmmig_cpuid_word_id(int w, u32 *leaf, u32 *subleaf, u32 *reg)
{
	*leaf = words[w].leaf;
	*subleaf = words[w].subleaf;
	*reg = words[w].reg;
}

/**
 * vmmig_cpuid_kvm_live() - whether KVM's supported features can be read
 * @extack: says why not
 *
 * kvm_cpu_caps is only meaningful while a vendor module is loaded.
 *
 * Return: 0, or -ENODEV.
 */
int vmmig_cpuid_kvm_live(struct netlink_ext_ack *extack)
{
	if (vmmig_host_kvm() == VMMIG_KVM_NONE || !READ_ONCE(kvm_cpu_caps[CPUID_1_EDX])) {
		NL_SET_ERR_MSG_MOD(extack, "KVM vendor module not loaded (kvm_amd or kvm_intel)");
		return -ENODEV;
	}
	return 0;
}

/**
 * vmmig_cpuid_feature_name() - /proc/cpuinfo's name of a feature bit
 * @word: its word, enum vmmig_word
 * @bit: its bit
 *
 * Return: the name, or NULL.
 */
const char *vmmig_cpuid_feature_name(int word, int bit)
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

/**
 * vmmig_cpuid_audit_entries() - the features of one vCPU's CPUID outside a mask
 * @e: the vCPU's entries; the caller makes sure they are not replaced meanwhile
 * @nent: how many
 * @mask: the allowed features, VMMIG_NR_WORDS words
 * @excess: ORed with the features outside @mask
 *
 * Any context.
 *
 * Return: true if there are any.
 */
bool vmmig_cpuid_audit_entries(const struct kvm_cpuid_entry2 *e, int nent,
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
		v = entry_reg(ent, words[i].reg) & ~mask[i] & ~vmmig_cpuid_ignored[i];
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
		return vmmig_cpuid_audit_entries(vcpu->arch.cpuid_entries,
				     vcpu->arch.cpuid_nent, mask, excess);
	for (tries = 0; !mutex_trylock(&vcpu->mutex); tries++) {
		if (tries == 5) {
			*busy = true;
			return false;
		}
		msleep(20);
	}
	over = vmmig_cpuid_audit_entries(vcpu->arch.cpuid_entries,
					 vcpu->arch.cpuid_nent, mask, excess);
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
	u32 mask[VMMIG_NR_WORDS];
	struct kvm_vcpu *vcpu;
	bool over = false, busy = false;
	unsigned long i;

	memset(r, 0, sizeof(*r));
	r->compliance = VMMIG_COMPLIANCE_OK;
	if (mode == VMMIG_CPU_MODE_OFF)
		return;

	vmmig_policy_mask(net, mode, mask);

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
 * vmmig_cpuid_excess_str() - name the features of a failed audit
 * @buf: where the text goes
 * @size: its size; a list that does not fit ends with "..."
 * @r: the failed audit
 * @mode: the mode whose mask the VM exceeds
 */
void vmmig_cpuid_excess_str(char *buf, size_t size,
			    const struct vmmig_cpuid_report *r,
			    enum vmmig_cpu_mode mode)
{
	size_t n;
	int w, b;

	n = scnprintf(buf, size, "CPU features outside the %s mask:", mode_name(mode));
	for (w = 0; w < VMMIG_NR_WORDS; w++) {
		for (b = 0; b < 32; b++) {
			const char *name;

			if (!(r->excess[w] & BIT(b)))
				continue;
			name = vmmig_cpuid_feature_name(w, b);
			if (name)
				n += scnprintf(buf + n, size - n, " %s", name);
			else
				n += scnprintf(buf + n, size - n, " %s[%d]",
					       words[w].name, b);
		}
	}
	if (n >= size - 1 && size > 5)
		memcpy(buf + size - 5, " ...", 5);
}

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
	static const char prefix[] = KBUILD_MODNAME ": ";
	char *buf = msg_ring[(unsigned int)atomic_inc_return(&msg_next) %
			     ARRAY_SIZE(msg_ring)];

	if (!extack)
		return;
	memcpy(buf, prefix, sizeof(prefix) - 1);
	vmmig_cpuid_excess_str(buf + sizeof(prefix) - 1,
			       sizeof(msg_ring[0]) - (sizeof(prefix) - 1), r, mode);
	extack->_msg = buf;
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
	vmmig_nl_audit_event(net, vm, vm->kvm->userspace_pid, vm->cpu_mode, &r);
	return -EPERM;
}

