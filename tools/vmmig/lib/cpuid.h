/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CPU features and the CPUID policy: HOST_FEATURES, POLICY_GET/SET and
 * VM_AUDIT, and the names of the feature words and of their bits.
 */
#ifndef VMMIG_LIB_CPUID_H
#define VMMIG_LIB_CPUID_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/vmmig.h>

#include "nl.h"

struct vmmig_policy {
	uint32_t common[VMMIG_NR_WORDS];
	uint32_t minimum[VMMIG_NR_WORDS];
	uint32_t ignored[VMMIG_NR_WORDS];
	bool common_set;
	uint32_t strict;		/* enum vmmig_cpu_mode */
};

/* POLICY_SET: each part is sent when its has_ flag is set. */
struct vmmig_policy_change {
	bool reset_common, reset_minimum;
	bool has_strict;
	uint32_t strict;
	uint32_t common_given, minimum_given;	/* bit per word */
	uint32_t common[VMMIG_NR_WORDS];
	uint32_t minimum[VMMIG_NR_WORDS];
	const char *vm_name;		/* with vm_mode */
	uint32_t vm_mode;
};

struct vmmig_audit {
	char name[VMMIG_NAME_MAX];	/* "" for a VM that is not registered */
	uint8_t uuid[VMMIG_UUID_LEN];
	uint32_t pid, mode, compliance, vcpus;
	uint32_t excess[VMMIG_NR_WORDS];
};

int vmmig_host_features(struct vmmig_nl *nl, uint32_t *words);
int vmmig_policy_get(struct vmmig_nl *nl, struct vmmig_policy *p);
int vmmig_policy_set(struct vmmig_nl *nl, const struct vmmig_policy_change *c);
/*
 * Audits @vm (by descriptor, it need not be registered) against the mask of
 * @mode, or, with @mode -1, of a registered VM's own mode (common for
 * another).
 */
int vmmig_vm_audit(struct vmmig_nl *nl, struct vmmig_handle vm, int mode,
		   struct vmmig_audit *a);
/* Parses an AUDIT_NTF or VM_AUDIT message's attributes. */
int vmmig_audit_parse(struct nlattr **attrs, struct vmmig_audit *a);
extern struct nla_policy vmmig_cpuid_policy[VMMIG_CPUID_A_MAX + 1];

/* "1.ecx", "7.0.ebx", "0xd.0.eax", ...; index from such a name or -1. */
const char *vmmig_word_name(int word);
int vmmig_word_index(const char *name);
/* "ecx"; the CPUID leaf and subleaf of a word. */
const char *vmmig_word_reg(int word);
uint32_t vmmig_word_leaf(int word);
uint32_t vmmig_word_subleaf(int word);
/* /proc/cpuinfo's name of a feature bit, or NULL. */
const char *vmmig_feature_name(int word, int bit);

const char *vmmig_cpu_mode_name(uint32_t mode);
int vmmig_cpu_mode_parse(const char *s);	/* -1 if unknown */
const char *vmmig_compliance_name(uint32_t c);

#endif
