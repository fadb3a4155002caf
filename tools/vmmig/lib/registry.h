/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client side of vmmig.ko's VM registry and dirty-page harvesting.
 */
#ifndef VMMIG_LIB_REGISTRY_H
#define VMMIG_LIB_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/vmmig.h>

#include "nl.h"

#define VMMIG_INFO_MAX_SLOTS 32

struct vmmig_memslot_info {
	uint32_t id, flags;
	uint64_t base_gfn, npages, uaddr;
	uint64_t dirty_pages, rate;
};

struct vmmig_vm_info {
	char name[VMMIG_NAME_MAX];
	uint8_t uuid[VMMIG_UUID_LEN];
	uint32_t pid, vcpus, cpu_mode, compliance, event;
	bool dirty;
	int nslots;
	struct vmmig_memslot_info slots[VMMIG_INFO_MAX_SLOTS];
};

struct vmmig_dirty_stats {
	char name[VMMIG_NAME_MAX];
	uint8_t uuid[VMMIG_UUID_LEN];
	uint64_t round, pages, bytes, time_ns, interval_ns, rate, total_pages;
	uint32_t nr_ranges;
	int nslots;
	struct vmmig_memslot_info slots[VMMIG_INFO_MAX_SLOTS];
	/* Ranges from the reply (no buffer given): points into *ranges_buf. */
	struct vmmig_dirty_range *ranges;
};

extern struct nla_policy vmmig_vm_attr_policy[VMMIG_VM_A_MAX + 1];
extern struct nla_policy vmmig_dirty_attr_policy[VMMIG_DIRTY_A_MAX + 1];

/*
 * Registers the KVM VM of descriptor @fd as @name with @uuid, in CPU mode
 * off, or @cpu_mode (enum vmmig_cpu_mode: vmmig.ko refuses a VM that
 * exceeds that mask).
 */
int vmmig_vm_register(struct vmmig_nl *nl, int fd, const char *name,
		      const uint8_t uuid[VMMIG_UUID_LEN]);
int vmmig_vm_register_mode(struct vmmig_nl *nl, int fd, const char *name,
			   const uint8_t uuid[VMMIG_UUID_LEN], uint32_t cpu_mode);
int vmmig_vm_unregister(struct vmmig_nl *nl, struct vmmig_handle vm);
int vmmig_vm_get(struct vmmig_nl *nl, struct vmmig_handle vm,
		 struct vmmig_vm_info *info);
/* Calls @fn for each registered VM. */
int vmmig_vm_dump(struct vmmig_nl *nl,
		  int (*fn)(const struct vmmig_vm_info *vm, void *arg), void *arg);
int vmmig_vm_parse(struct nlattr **attrs, struct vmmig_vm_info *vm);

int vmmig_dirty_start(struct vmmig_nl *nl, struct vmmig_handle vm);
int vmmig_dirty_stop(struct vmmig_nl *nl, struct vmmig_handle vm);
/*
 * One harvest. With @buf, the kernel writes the ranges there (up to @size
 * bytes); without, they come in the reply and are copied to a malloc'ed
 * array at st->ranges (free it). st->nr_ranges says how many.
 */
int vmmig_dirty_harvest(struct vmmig_nl *nl, struct vmmig_handle vm,
			struct vmmig_dirty_range *buf, uint32_t size,
			struct vmmig_dirty_stats *st);
int vmmig_dirty_get_stats(struct vmmig_nl *nl, struct vmmig_handle vm,
			  struct vmmig_dirty_stats *st);
int vmmig_dirty_parse(struct nlattr **attrs, struct vmmig_dirty_stats *st);

struct vmmig_dirty_rate {
	uint32_t sample_pages;
	uint64_t changed_pages, total_pages, interval_ns, rate;
	uint64_t zero_pages;	/* sampled pages holding only zeros at the end */
};

/* Samples @vm; by descriptor, it need not be registered. */
int vmmig_dirty_sample(struct vmmig_nl *nl, struct vmmig_handle vm,
		       uint32_t seconds, uint32_t sample_pages,
		       struct vmmig_dirty_rate *out);

#endif
