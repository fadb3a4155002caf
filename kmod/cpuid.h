/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_CPUID_H
#define _VMMIG_CPUID_H

#include <net/netlink.h>
#include "uapi/linux/vmmig.h"

struct kvm;
struct kvm_cpuid_entry2;
struct vmmig_vm;

/* The outcome of comparing the CPUID of a VM's vCPUs with a mask. */
struct vmmig_cpuid_report {
	enum vmmig_compliance compliance;
	u32 vcpus;			/* vCPUs audited */
	u32 excess[VMMIG_NR_WORDS];	/* features outside the mask, any vCPU */
};

extern const u32 vmmig_cpuid_ignored[VMMIG_NR_WORDS];

void vmmig_cpuid_host_words(u32 *w);
int vmmig_cpuid_kvm_live(struct netlink_ext_ack *extack);
int vmmig_cpuid_word(u32 leaf, u32 subleaf, u32 reg);
void vmmig_cpuid_word_id(int w, u32 *leaf, u32 *subleaf, u32 *reg);
const char *vmmig_cpuid_feature_name(int word, int bit);

void vmmig_cpuid_audit(struct net *net, struct kvm *kvm,
		       enum vmmig_cpu_mode mode, struct vmmig_cpuid_report *r);
bool vmmig_cpuid_audit_entries(const struct kvm_cpuid_entry2 *e, int nent,
			       const u32 *mask, u32 *excess);
int vmmig_cpuid_check_register(struct net *net, struct vmmig_vm *vm,
			       struct netlink_ext_ack *extack);
void vmmig_cpuid_excess_str(char *buf, size_t size,
			    const struct vmmig_cpuid_report *r,
			    enum vmmig_cpu_mode mode);
void vmmig_cpuid_excess_msg(const struct vmmig_cpuid_report *r,
			    enum vmmig_cpu_mode mode,
			    struct netlink_ext_ack *extack);

#endif /* _VMMIG_CPUID_H */
