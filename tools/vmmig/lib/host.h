/* SPDX-License-Identifier: GPL-2.0 */
#ifndef VMMIG_LIB_HOST_H
#define VMMIG_LIB_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/vmmig.h>

#include "nl.h"

struct vmmig_host {
	char module_version[32];
	char kernel_release[65];
	char cpu_vendor[16];
	uint32_t cpu_family, cpu_model, cpu_stepping;
	char cpu_model_name[64];
	uint32_t kvm;
	uint32_t vm_count;
	bool migration;
	uint32_t max_migrations;
	uint32_t max_storage_migrations;
	bool cpuid_strict;	/* strict mode supported */
};

/* Settings for HOST_SET: a field is sent when its has_ flag is set. */
struct vmmig_host_settings {
	bool has_migration, migration;
	bool has_max_migrations;
	uint32_t max_migrations;
	bool has_max_storage_migrations;
	uint32_t max_storage_migrations;
};

extern struct nla_policy vmmig_host_policy[VMMIG_HOST_A_MAX + 1];

int vmmig_host_parse(struct nlattr **attrs, struct vmmig_host *host);
int vmmig_host_get(struct vmmig_nl *nl, struct vmmig_host *host);
int vmmig_host_set(struct vmmig_nl *nl, const struct vmmig_host_settings *s);

const char *vmmig_kvm_name(uint32_t kvm);
const char *vmmig_module_state_name(uint32_t state);

#endif
