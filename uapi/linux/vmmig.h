/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * vmmig: live migration for KVM hosts - generic netlink uAPI.
 *
 * Family "vmmig" (VMMIG_GENL_NAME), version VMMIG_GENL_VERSION. The family is
 * network-namespace aware: every namespace has its own host settings, so each
 * namespace behaves as a separate migration host. Multicast group "events"
 * (VMMIG_MCGRP_EVENTS) carries the *_NTF messages below.
 *
 * Commands start at 1; 0 is never a valid command. Each command has its own
 * attribute set, validated strictly: unknown attributes, wrong types or
 * lengths, values out of range and a non-zero genlmsghdr.reserved are
 * refused with an extended-ACK message. Commands marked [admin] need
 * CAP_NET_ADMIN in the initial user namespace and fail with -EPERM without.
 *
 * VMMIG_CMD_HOST_GET: returns the host object of the sender's namespace.
 *   Request: no attributes.
 *   Reply (VMMIG_CMD_HOST_GET), attribute set vmmig_host_attrs:
 *     VMMIG_HOST_A_MODULE_VERSION     NUL-terminated string, e.g. "0.1.0"
 *     VMMIG_HOST_A_KERNEL_RELEASE     NUL-terminated string (uname -r)
 *     VMMIG_HOST_A_CPU_VENDOR         NUL-terminated string, "AuthenticAMD"
 *     VMMIG_HOST_A_CPU_FAMILY         u32
 *     VMMIG_HOST_A_CPU_MODEL          u32
 *     VMMIG_HOST_A_CPU_STEPPING       u32
 *     VMMIG_HOST_A_CPU_MODEL_NAME     NUL-terminated string (may be absent)
 *     VMMIG_HOST_A_KVM                u32, enum vmmig_kvm
 *     VMMIG_HOST_A_VM_COUNT           u32, VMs registered in this namespace
 *     VMMIG_HOST_A_MIGRATION          u8, 1 if live migration is enabled
 *     VMMIG_HOST_A_MAX_MIGRATIONS     u32, simultaneous migrations allowed
 *
 * VMMIG_CMD_HOST_SET [admin]: changes the host settings of the sender's
 *   namespace and emits VMMIG_CMD_HOST_NTF there when something changed.
 *   Request, attribute set vmmig_host_attrs, at least one of:
 *     VMMIG_HOST_A_MIGRATION          u8, 0 or 1
 *     VMMIG_HOST_A_MAX_MIGRATIONS     u32, 1 .. VMMIG_MAX_MIGRATIONS_LIMIT
 *   Every other host attribute is read-only and refused here.
 *
 * VMMIG_CMD_HOST_NTF (event): the host settings of a namespace changed.
 *   Attributes: the same host object as the HOST_GET reply.
 *
 * VMMIG_CMD_MODULE_NTF (event): a module that vmmig depends on changed
 *   state; sent to every namespace. "vmmig" itself reports
 *   VMMIG_MODULE_GOING just before it unloads (its arrival is visible to
 *   listeners as the generic netlink controller's CTRL_CMD_NEWFAMILY); the
 *   KVM vendor modules ("kvm_amd", "kvm_intel") report both directions.
 *   Attribute set vmmig_module_attrs:
 *     VMMIG_MODULE_A_NAME             NUL-terminated string
 *     VMMIG_MODULE_A_STATE            u32, enum vmmig_module_state
 *     VMMIG_MODULE_A_VERSION          NUL-terminated string (vmmig only)
 *
 * VMMIG_CMD_VM_REGISTER [admin]: adds a KVM VM to this namespace's registry.
 *   The file descriptor is resolved in the sender's file table, so only a
 *   process holding the VM's descriptor can register it.
 *   Request, attribute set vmmig_vm_attrs:
 *     VMMIG_VM_A_FD                   u32, a KVM VM file descriptor (required)
 *     VMMIG_VM_A_NAME                 string, 1..VMMIG_NAME_MAX-1 bytes,
 *                                     unique per namespace (required)
 *     VMMIG_VM_A_UUID                 binary, 16 bytes (required)
 *   Reply (VMMIG_CMD_VM_GET): the VM object below.
 *
 * VMMIG_CMD_VM_UNREGISTER [admin]: removes a VM from the registry.
 *   Request: VMMIG_VM_A_NAME or VMMIG_VM_A_UUID.
 *
 * VMMIG_CMD_VM_GET: one VM (by VMMIG_VM_A_NAME or VMMIG_VM_A_UUID) or, as a
 *   dump, every VM registered in the namespace. Reply, the VM object:
 *     VMMIG_VM_A_NAME                 string
 *     VMMIG_VM_A_UUID                 binary, 16 bytes
 *     VMMIG_VM_A_PID                  u32, thread group of the VM's owner
 *     VMMIG_VM_A_VCPUS                u32, vCPUs created
 *     VMMIG_VM_A_DIRTY                u8, 1 while vmmig tracks dirty pages
 *     VMMIG_VM_A_CPU_MODE             u32, enum vmmig_cpu_mode
 *     VMMIG_VM_A_COMPLIANCE           u32, enum vmmig_compliance
 *     VMMIG_VM_A_MEMSLOTS             nest, one VMMIG_VM_A_MEMSLOT per slot:
 *       VMMIG_VM_A_MEMSLOT            nest, attribute set vmmig_memslot_attrs
 *         VMMIG_MEMSLOT_A_ID          u32, address space << 16 | slot id
 *         VMMIG_MEMSLOT_A_BASE_GFN    u64
 *         VMMIG_MEMSLOT_A_NPAGES      u64
 *         VMMIG_MEMSLOT_A_UADDR       u64, address in the owner's memory
 *         VMMIG_MEMSLOT_A_FLAGS       u32, KVM_MEM_* flags
 *
 * VMMIG_CMD_VM_NTF (event): a VM was registered or left the registry.
 *   The VM object plus VMMIG_VM_A_EVENT (u32, enum vmmig_vm_event).
 *
 * VMMIG_CMD_DIRTY_START / _STOP [admin]: turn KVM dirty logging on or off
 *   for every memslot of a VM, with KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2.
 *   Must be sent by the VM's owner (KVM refuses VM ioctls from any other
 *   process). Request, attribute set vmmig_dirty_attrs:
 *     VMMIG_DIRTY_A_NAME              string (required)
 *
 * VMMIG_CMD_DIRTY_HARVEST [admin]: gets and clears (and re-protects, through
 *   KVM's own dirty-log path) the dirty pages of every memslot of a VM and
 *   returns them as ranges of guest frames. Sent by the VM's owner.
 *   Request:
 *     VMMIG_DIRTY_A_NAME              string (required)
 *     VMMIG_DIRTY_A_BUF_ADDR          u64, optional: the ranges are written
 *                                     there, in the sender's memory, as an
 *     VMMIG_DIRTY_A_BUF_SIZE          u32  array of struct vmmig_dirty_range
 *   When the ranges do not fit (in the buffer, or in the reply without one)
 *   the request fails with -ENOSPC before any bit is cleared: nothing is lost.
 *   Reply (VMMIG_CMD_DIRTY_HARVEST), the round's statistics:
 *     VMMIG_DIRTY_A_ROUND             u64, 1 for the first harvest
 *     VMMIG_DIRTY_A_PAGES             u64, dirty pages in this round
 *     VMMIG_DIRTY_A_BYTES             u64
 *     VMMIG_DIRTY_A_TIME_NS           u64, time this harvest took
 *     VMMIG_DIRTY_A_INTERVAL_NS       u64, time since the previous harvest
 *     VMMIG_DIRTY_A_RATE              u64, pages per second over the interval
 *     VMMIG_DIRTY_A_NR_RANGES         u32
 *     VMMIG_DIRTY_A_RANGES            binary, struct vmmig_dirty_range[]
 *                                     (only without BUF_ADDR)
 *     VMMIG_DIRTY_A_SLOTS             nest of VMMIG_DIRTY_A_SLOT nests:
 *       VMMIG_MEMSLOT_A_ID, VMMIG_MEMSLOT_A_DIRTY_PAGES (u64),
 *       VMMIG_MEMSLOT_A_RATE (u64, pages per second)
 *
 * VMMIG_CMD_DIRTY_STATS: the last round's statistics of a VM (same
 *   attributes as the HARVEST reply, without ranges), plus
 *   VMMIG_DIRTY_A_TOTAL_PAGES (u64, all rounds). Request: VMMIG_DIRTY_A_NAME.
 *
 * VMMIG_CMD_DIRTY_NTF (event): one per harvest: VMMIG_DIRTY_A_NAME and the
 *   round's statistics.
 *
 * VMMIG_CMD_DIRTY_RATE [admin]: estimates how fast any KVM VM (of any VMM)
 *   dirties its memory, without dirty logging and without disturbing it:
 *   hashes a random sample of guest pages through the owner's address space
 *   at two instants, SECONDS apart. Blocks for that long.
 *   Request, attribute set vmmig_dirty_attrs, one of:
 *     VMMIG_DIRTY_A_FD                u32, a KVM VM descriptor of the sender
 *     VMMIG_DIRTY_A_NAME              string, a registered VM
 *   and optionally:
 *     VMMIG_DIRTY_A_SECONDS           u32, 1..60 (default 1)
 *     VMMIG_DIRTY_A_SAMPLE_PAGES      u32, 1..32767 (default 4096)
 *   Reply (VMMIG_CMD_DIRTY_RATE):
 *     VMMIG_DIRTY_A_SAMPLE_PAGES      u32, pages sampled
 *     VMMIG_DIRTY_A_CHANGED_PAGES     u64, sampled pages whose content changed
 *     VMMIG_DIRTY_A_TOTAL_PAGES       u64, guest pages
 *     VMMIG_DIRTY_A_INTERVAL_NS       u64, time between the two samples
 *     VMMIG_DIRTY_A_RATE              u64, estimated pages dirtied per second
 *                                     (distinct pages: a page written twice
 *                                     counts once)
 */
#ifndef _UAPI_LINUX_VMMIG_H
#define _UAPI_LINUX_VMMIG_H

#include <linux/types.h>

#define VMMIG_GENL_NAME		"vmmig"
#define VMMIG_GENL_VERSION	1
#define VMMIG_MCGRP_EVENTS	"events"

#define VMMIG_MAX_MIGRATIONS_LIMIT	64

enum vmmig_cmd {
	VMMIG_CMD_UNSPEC,
	VMMIG_CMD_HOST_GET,
	VMMIG_CMD_HOST_SET,
	VMMIG_CMD_HOST_NTF,
	VMMIG_CMD_MODULE_NTF,
	VMMIG_CMD_VM_REGISTER,
	VMMIG_CMD_VM_UNREGISTER,
	VMMIG_CMD_VM_GET,
	VMMIG_CMD_VM_NTF,
	VMMIG_CMD_DIRTY_START,
	VMMIG_CMD_DIRTY_HARVEST,
	VMMIG_CMD_DIRTY_STOP,
	VMMIG_CMD_DIRTY_STATS,
	VMMIG_CMD_DIRTY_NTF,
	VMMIG_CMD_DIRTY_RATE,
	VMMIG_CMD_HOST_FEATURES,
	VMMIG_CMD_POLICY_SET,
	VMMIG_CMD_POLICY_GET,
	VMMIG_CMD_VM_AUDIT,
	VMMIG_CMD_AUDIT_NTF,

	__VMMIG_CMD_MAX
};

#define VMMIG_CMD_MAX (__VMMIG_CMD_MAX - 1)

/* Which KVM vendor module is loaded. */
enum vmmig_kvm {
	VMMIG_KVM_NONE,
	VMMIG_KVM_AMD,
	VMMIG_KVM_INTEL,

	__VMMIG_KVM_MAX
};

#define VMMIG_KVM_MAX (__VMMIG_KVM_MAX - 1)

enum vmmig_module_state {
	VMMIG_MODULE_LIVE,	/* finished loading */
	VMMIG_MODULE_GOING,	/* about to unload */

	__VMMIG_MODULE_STATE_MAX
};

#define VMMIG_MODULE_STATE_MAX (__VMMIG_MODULE_STATE_MAX - 1)

enum vmmig_host_attrs {
	VMMIG_HOST_A_UNSPEC,
	VMMIG_HOST_A_MODULE_VERSION,
	VMMIG_HOST_A_KERNEL_RELEASE,
	VMMIG_HOST_A_CPU_VENDOR,
	VMMIG_HOST_A_CPU_FAMILY,
	VMMIG_HOST_A_CPU_MODEL,
	VMMIG_HOST_A_CPU_STEPPING,
	VMMIG_HOST_A_CPU_MODEL_NAME,
	VMMIG_HOST_A_KVM,
	VMMIG_HOST_A_VM_COUNT,
	VMMIG_HOST_A_MIGRATION,
	VMMIG_HOST_A_MAX_MIGRATIONS,

	__VMMIG_HOST_A_MAX
};

#define VMMIG_HOST_A_MAX (__VMMIG_HOST_A_MAX - 1)

enum vmmig_module_attrs {
	VMMIG_MODULE_A_UNSPEC,
	VMMIG_MODULE_A_NAME,
	VMMIG_MODULE_A_STATE,
	VMMIG_MODULE_A_VERSION,

	__VMMIG_MODULE_A_MAX
};

#define VMMIG_MODULE_A_MAX (__VMMIG_MODULE_A_MAX - 1)

#define VMMIG_NAME_MAX		64	/* with the terminating NUL */
#define VMMIG_UUID_LEN		16

/* One run of dirty guest frames, as DIRTY_HARVEST returns them. */
struct vmmig_dirty_range {
	__u64 gfn;
	__u64 npages;
};

enum vmmig_vm_event {
	VMMIG_VM_REGISTERED,
	VMMIG_VM_UNREGISTERED,	/* by request */
	VMMIG_VM_GONE,		/* its owner closed the last VM descriptor */

	__VMMIG_VM_EVENT_MAX
};

#define VMMIG_VM_EVENT_MAX (__VMMIG_VM_EVENT_MAX - 1)

/* Processor compatibility mode of a VM (see the CPUID policy commands). */
enum vmmig_cpu_mode {
	VMMIG_CPU_MODE_OFF,
	VMMIG_CPU_MODE_COMMON,	/* the cluster's common feature set */
	VMMIG_CPU_MODE_MINIMUM,	/* the minimum feature set */

	__VMMIG_CPU_MODE_MAX
};

#define VMMIG_CPU_MODE_MAX (__VMMIG_CPU_MODE_MAX - 1)

enum vmmig_compliance {
	VMMIG_COMPLIANCE_UNKNOWN,	/* not audited (e.g. no vCPU yet) */
	VMMIG_COMPLIANCE_OK,
	VMMIG_COMPLIANCE_EXCEEDS,	/* has features outside its mask */

	__VMMIG_COMPLIANCE_MAX
};

#define VMMIG_COMPLIANCE_MAX (__VMMIG_COMPLIANCE_MAX - 1)

enum vmmig_vm_attrs {
	VMMIG_VM_A_UNSPEC,
	VMMIG_VM_A_FD,
	VMMIG_VM_A_NAME,
	VMMIG_VM_A_UUID,
	VMMIG_VM_A_PID,
	VMMIG_VM_A_VCPUS,
	VMMIG_VM_A_DIRTY,
	VMMIG_VM_A_CPU_MODE,
	VMMIG_VM_A_COMPLIANCE,
	VMMIG_VM_A_MEMSLOTS,
	VMMIG_VM_A_MEMSLOT,
	VMMIG_VM_A_EVENT,
	VMMIG_VM_A_PAD,

	__VMMIG_VM_A_MAX
};

#define VMMIG_VM_A_MAX (__VMMIG_VM_A_MAX - 1)

enum vmmig_memslot_attrs {
	VMMIG_MEMSLOT_A_UNSPEC,
	VMMIG_MEMSLOT_A_ID,
	VMMIG_MEMSLOT_A_BASE_GFN,
	VMMIG_MEMSLOT_A_NPAGES,
	VMMIG_MEMSLOT_A_UADDR,
	VMMIG_MEMSLOT_A_FLAGS,
	VMMIG_MEMSLOT_A_DIRTY_PAGES,
	VMMIG_MEMSLOT_A_RATE,
	VMMIG_MEMSLOT_A_PAD,

	__VMMIG_MEMSLOT_A_MAX
};

#define VMMIG_MEMSLOT_A_MAX (__VMMIG_MEMSLOT_A_MAX - 1)

enum vmmig_dirty_attrs {
	VMMIG_DIRTY_A_UNSPEC,
	VMMIG_DIRTY_A_NAME,
	VMMIG_DIRTY_A_BUF_ADDR,
	VMMIG_DIRTY_A_BUF_SIZE,
	VMMIG_DIRTY_A_ROUND,
	VMMIG_DIRTY_A_PAGES,
	VMMIG_DIRTY_A_BYTES,
	VMMIG_DIRTY_A_TIME_NS,
	VMMIG_DIRTY_A_INTERVAL_NS,
	VMMIG_DIRTY_A_RATE,
	VMMIG_DIRTY_A_NR_RANGES,
	VMMIG_DIRTY_A_RANGES,
	VMMIG_DIRTY_A_SLOTS,
	VMMIG_DIRTY_A_SLOT,
	VMMIG_DIRTY_A_TOTAL_PAGES,
	VMMIG_DIRTY_A_PAD,
	VMMIG_DIRTY_A_FD,
	VMMIG_DIRTY_A_SECONDS,
	VMMIG_DIRTY_A_SAMPLE_PAGES,
	VMMIG_DIRTY_A_CHANGED_PAGES,

	__VMMIG_DIRTY_A_MAX
};

#define VMMIG_DIRTY_A_MAX (__VMMIG_DIRTY_A_MAX - 1)

#endif /* _UAPI_LINUX_VMMIG_H */
