/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VMMIG_CPUID_H
#define _VMMIG_CPUID_H

#include <net/genetlink.h>
#include "uapi/linux/vmmig.h"

struct kvm;

/* The outcome of comparing the CPUID of a VM's vCPUs with a mask. */
struct vmmig_cpuid_report {
	enum vmmig_compliance compliance;
	u32 vcpus;			/* vCPUs audited */
	u32 excess[VMMIG_NR_WORDS];	/* features outside the mask, any vCPU */
};

extern const struct nla_policy vmmig_policy_get_policy[VMMIG_CPUID_A_MAX + 1];
extern const struct nla_policy vmmig_policy_set_policy[VMMIG_CPUID_A_MAX + 1];
extern const struct nla_policy vmmig_vm_audit_policy[VMMIG_CPUID_A_MAX + 1];

int vmmig_cpuid_features_doit(struct sk_buff *skb, struct genl_info *info);
int vmmig_policy_get_doit(struct sk_buff *skb, struct genl_info *info);
int vmmig_policy_set_doit(struct sk_buff *skb, struct genl_info *info);
int vmmig_vm_audit_doit(struct sk_buff *skb, struct genl_info *info);

void vmmig_cpuid_audit(struct net *net, struct kvm *kvm,
		       enum vmmig_cpu_mode mode, struct vmmig_cpuid_report *r);
void vmmig_cpuid_excess_str(char *buf, size_t size,
			    const struct vmmig_cpuid_report *r,
			    enum vmmig_cpu_mode mode);
void vmmig_cpuid_excess_msg(const struct vmmig_cpuid_report *r,
			    enum vmmig_cpu_mode mode,
			    struct netlink_ext_ack *extack);
struct kvm_cpuid_entry2;
bool vmmig_cpuid_audit_entries(const struct kvm_cpuid_entry2 *e, int nent,
			       const u32 *mask, u32 *excess);
struct vmmig_vm;
void vmmig_cpuid_notify(struct net *net, const struct vmmig_vm *vm, pid_t pid,
			enum vmmig_cpu_mode mode,
			const struct vmmig_cpuid_report *r);
void vmmig_cpuid_host_words(u32 *w);
int vmmig_cpuid_word(u32 leaf, u32 subleaf, u32 reg);
int vmmig_cpuid_put_words(struct sk_buff *skb, int attr, const u32 *w);
extern const u32 vmmig_cpuid_ignored[VMMIG_NR_WORDS];

/* policy.c: the namespace's masks */
void vmmig_policy_mask(struct net *net, enum vmmig_cpu_mode mode, u32 *mask);
enum vmmig_cpu_mode vmmig_policy_strict(struct net *net, u32 *mask);

/* strict.c: strict mode's probe */
bool vmmig_strict_supported(void);
int vmmig_strict_get(void);
void vmmig_strict_put(void);
int vmmig_strict_init(void);
void vmmig_strict_uninit(void);

int vmmig_cpuid_check_register(struct net *net, struct vmmig_vm *vm,
			       struct netlink_ext_ack *extack);

int vmmig_cpuid_init(void);
void vmmig_cpuid_uninit(void);

#endif /* _VMMIG_CPUID_H */
