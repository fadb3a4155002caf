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
 * A request names a VM with one nested attribute, the VM handle (the
 * HANDLE attribute of the command's set), attribute set vmmig_handle_attrs,
 * holding exactly one of:
 *     VMMIG_HANDLE_A_NAME             string, the name it is registered under
 *     VMMIG_HANDLE_A_UUID             binary, 16 bytes, its registered UUID
 *     VMMIG_HANDLE_A_FD               u32, a KVM VM file descriptor of the
 *                                     sender (resolved in its file table)
 * By FD, a command finds the registered VM of that KVM VM; only DIRTY_RATE
 * and VM_AUDIT also take a VM that is not registered. A missing or empty
 * handle, two forms in one handle, an unknown name or UUID, a descriptor
 * the sender does not have or that is not a KVM VM, and an unregistered VM
 * are refused, each with its own extended-ACK message. Replies and events
 * that refer to a registered VM carry the same nest with its NAME and UUID
 * (never FD); the VM object itself (VM_GET) has them as its own attributes.
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
 *     VMMIG_HOST_A_CPUID_STRICT       u8, 1 if this kernel can enforce
 *                                     CPUID strict mode (POLICY_SET)
 *     VMMIG_HOST_A_MAX_STORAGE_MIGRATIONS u32, simultaneous storage
 *                                     migrations allowed
 *
 * VMMIG_CMD_HOST_SET [admin]: changes the host settings of the sender's
 *   namespace and emits VMMIG_CMD_HOST_NTF there when something changed.
 *   Request, attribute set vmmig_host_attrs, at least one of:
 *     VMMIG_HOST_A_MIGRATION          u8, 0 or 1
 *     VMMIG_HOST_A_MAX_MIGRATIONS     u32, 1 .. VMMIG_MAX_MIGRATIONS_LIMIT
 *     VMMIG_HOST_A_MAX_STORAGE_MIGRATIONS u32, 1 .. VMMIG_MAX_MIGRATIONS_LIMIT
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
 *   The handle names the VM by file descriptor, resolved in the sender's
 *   file table, so only a process holding the VM's descriptor can register
 *   it; NAME and UUID are the identity it gets.
 *   Request, attribute set vmmig_vm_attrs:
 *     VMMIG_VM_A_HANDLE               nest, VMMIG_HANDLE_A_FD only (required)
 *     VMMIG_VM_A_NAME                 string, 1..VMMIG_NAME_MAX-1 printable
 *                                     bytes without spaces or '/', unique
 *                                     per namespace (required)
 *     VMMIG_VM_A_UUID                 binary, 16 bytes, unique per namespace
 *                                     (required)
 *     VMMIG_VM_A_CPU_MODE             u32, enum vmmig_cpu_mode (default
 *                                     OFF); a VM that exceeds the mask of
 *                                     its mode is refused
 *   Reply (VMMIG_CMD_VM_GET): the VM object below.
 *
 * VMMIG_CMD_VM_UNREGISTER [admin]: removes a VM from the registry.
 *   Request: VMMIG_VM_A_HANDLE (required).
 *
 * VMMIG_CMD_VM_GET: one VM (by VMMIG_VM_A_HANDLE) or, as a dump without
 *   attributes, every VM registered in the namespace. Reply, the VM object:
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
 *     VMMIG_DIRTY_A_HANDLE            nest (required)
 *
 * VMMIG_CMD_DIRTY_HARVEST [admin]: gets and clears (and re-protects, through
 *   KVM's own dirty-log path) the dirty pages of every memslot of a VM and
 *   returns them as ranges of guest frames. Sent by the VM's owner.
 *   Request:
 *     VMMIG_DIRTY_A_HANDLE            nest (required)
 *     VMMIG_DIRTY_A_BUF_ADDR          u64, optional: the ranges are written
 *                                     there, in the sender's memory, as an
 *     VMMIG_DIRTY_A_BUF_SIZE          u32  array of struct vmmig_dirty_range
 *   When the ranges do not fit (in the buffer, or in the reply without one)
 *   the request fails with -ENOSPC before any bit is cleared: nothing is lost.
 *   Reply (VMMIG_CMD_DIRTY_HARVEST), the round's statistics:
 *     VMMIG_DIRTY_A_HANDLE            nest, the VM's NAME and UUID
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
 *   VMMIG_DIRTY_A_TOTAL_PAGES (u64, all rounds).
 *   Request: VMMIG_DIRTY_A_HANDLE (required).
 *
 * VMMIG_CMD_DIRTY_NTF (event): one per harvest: the HARVEST reply without
 *   ranges.
 *
 * VMMIG_CMD_DIRTY_RATE [admin]: estimates how fast any KVM VM (of any VMM)
 *   dirties its memory, without dirty logging and without disturbing it:
 *   hashes a random sample of guest pages through the owner's address space
 *   at two instants, SECONDS apart. Blocks for that long.
 *   Request, attribute set vmmig_dirty_attrs:
 *     VMMIG_DIRTY_A_HANDLE            nest (required); by FD, any KVM VM of
 *                                     the sender, registered or not
 *     VMMIG_DIRTY_A_SECONDS           u32, 1..60 (default 1)
 *     VMMIG_DIRTY_A_SAMPLE_PAGES      u32, 1..32767 (default 4096)
 *   Reply (VMMIG_CMD_DIRTY_RATE):
 *     VMMIG_DIRTY_A_SAMPLE_PAGES      u32, pages sampled
 *     VMMIG_DIRTY_A_CHANGED_PAGES     u64, sampled pages whose content changed
 *     VMMIG_DIRTY_A_ZERO_PAGES        u64, sampled pages that held only zeros
 *                                     at the second sample (a hole, or memory
 *                                     never touched, too): the share of the
 *                                     guest that a migration sends as
 *                                     zero-page markers. A page of a shared
 *                                     file mapping that is not mapped is read
 *                                     from the file's page cache
 *     VMMIG_DIRTY_A_TOTAL_PAGES       u64, guest pages
 *     VMMIG_DIRTY_A_INTERVAL_NS       u64, time between the two samples
 *                                     (their midpoints: a sample takes a
 *                                     while)
 *     VMMIG_DIRTY_A_RATE              u64, estimated pages dirtied per second
 *                                     (distinct pages: a page written twice
 *                                     counts once)
 *
 * VMMIG_CMD_HOST_FEATURES: the CPU features KVM can give a guest on this
 *   host, as the feature words below: what KVM_GET_SUPPORTED_CPUID reports
 *   for them (0xD.0 is the XCR0 that KVM supports, before the per-process
 *   AMX permission). Fails with -ENODEV while no KVM vendor module is loaded.
 *   Request: no attributes.
 *   Reply (VMMIG_CMD_HOST_FEATURES), attribute set vmmig_cpuid_attrs:
 *     VMMIG_CPUID_A_WORDS             nest, one VMMIG_CPUID_A_WORD per word
 *       VMMIG_CPUID_A_WORD            nest, attribute set vmmig_word_attrs
 *         VMMIG_WORD_A_LEAF           u32, CPUID function (EAX)
 *         VMMIG_WORD_A_SUBLEAF        u32, CPUID index (ECX)
 *         VMMIG_WORD_A_REG            u32, enum vmmig_cpuid_reg
 *         VMMIG_WORD_A_VALUE          u32, the feature bits
 *   The words, in enum vmmig_word order: 1 ECX, 1 EDX, 7.0 EBX, 7.0 ECX,
 *   7.0 EDX, 7.1 EAX, 0xD.0 EAX and EDX (XSAVE components: XCR0 low and
 *   high half), 0xD.1 EAX, 0x80000001 ECX and EDX, 0x80000008 EBX,
 *   0x80000021 EAX.
 *
 * VMMIG_CMD_POLICY_GET: the CPUID policy of the sender's namespace.
 *   Request: no attributes, or VMMIG_CPUID_A_HANDLE for one registered VM.
 *   Reply (VMMIG_CMD_POLICY_GET), attribute set vmmig_cpuid_attrs:
 *     VMMIG_CPUID_A_COMMON            nest of VMMIG_CPUID_A_WORD: the
 *                                     cluster's common features
 *     VMMIG_CPUID_A_COMMON_SET        u8, 0 while COMMON follows this host's
 *                                     own features (no admin set it yet)
 *     VMMIG_CPUID_A_MINIMUM           nest of VMMIG_CPUID_A_WORD: the minimum
 *                                     features (default: x86-64-v2 baseline)
 *     VMMIG_CPUID_A_IGNORED           nest of VMMIG_CPUID_A_WORD: bits no
 *                                     audit looks at (KVM or the VMM rewrites
 *                                     them at run time)
 *     VMMIG_CPUID_A_STRICT            u32, enum vmmig_cpu_mode: the mask that
 *                                     every VM must fit before its first run
 *                                     (VMMIG_CPU_MODE_OFF: strict mode off)
 *   With VMMIG_CPUID_A_HANDLE, instead:
 *     VMMIG_CPUID_A_HANDLE            nest, the VM's NAME and UUID
 *     VMMIG_CPUID_A_VM_MODE           u32, enum vmmig_cpu_mode
 *     VMMIG_CPUID_A_COMPLIANCE        u32, enum vmmig_compliance (last audit)
 *
 * VMMIG_CMD_POLICY_SET [admin]: changes the CPUID policy of the sender's
 *   namespace. Request, attribute set vmmig_cpuid_attrs, at least one of:
 *     VMMIG_CPUID_A_RESET             u32, VMMIG_CPU_MODE_COMMON or _MINIMUM:
 *                                     that mask goes back to its default
 *                                     (before the words below are applied)
 *     VMMIG_CPUID_A_COMMON            nest of VMMIG_CPUID_A_WORD (LEAF,
 *     VMMIG_CPUID_A_MINIMUM           SUBLEAF, REG, VALUE): each word given
 *                                     replaces that word of the mask; words
 *                                     not given keep their value
 *     VMMIG_CPUID_A_STRICT            u32, enum vmmig_cpu_mode; -EOPNOTSUPP
 *                                     where this kernel cannot enforce it
 *                                     (see VMMIG_HOST_A_CPUID_STRICT)
 *     VMMIG_CPUID_A_HANDLE            nest, with VMMIG_CPUID_A_VM_MODE:
 *     VMMIG_CPUID_A_VM_MODE           u32, the mode of a registered VM,
 *                                     audited again against its new mask
 *
 * VMMIG_CMD_VM_AUDIT: compares the CPUID of every vCPU of a VM with the
 *   mask of a mode, ignoring VMMIG_CPUID_A_IGNORED. The audit of a
 *   registered VM in its own mode is recorded in its VMMIG_VM_A_COMPLIANCE.
 *   Request, attribute set vmmig_cpuid_attrs:
 *     VMMIG_CPUID_A_HANDLE            nest (required); by FD, any KVM VM of
 *                                     the sender, registered or not
 *     VMMIG_CPUID_A_VM_MODE           u32, the mask to compare with (default:
 *                                     a registered VM's own mode, COMMON for
 *                                     a VM that is not registered)
 *   Reply (VMMIG_CMD_VM_AUDIT), attribute set vmmig_cpuid_attrs:
 *     VMMIG_CPUID_A_HANDLE            nest, the VM's NAME and UUID (absent
 *                                     for a VM that is not registered)
 *     VMMIG_CPUID_A_PID               u32, thread group of the VM's owner
 *     VMMIG_CPUID_A_VM_MODE           u32, enum vmmig_cpu_mode
 *     VMMIG_CPUID_A_COMPLIANCE        u32, enum vmmig_compliance
 *     VMMIG_CPUID_A_VCPUS             u32, vCPUs audited
 *     VMMIG_CPUID_A_EXCESS            nest, one VMMIG_CPUID_A_FEATURE per
 *                                     feature outside the mask:
 *       VMMIG_CPUID_A_FEATURE         nest, attribute set vmmig_word_attrs
 *         VMMIG_WORD_A_LEAF, VMMIG_WORD_A_SUBLEAF, VMMIG_WORD_A_REG
 *         VMMIG_WORD_A_BIT            u32, 0..31
 *         VMMIG_WORD_A_NAME           string, as /proc/cpuinfo spells it
 *
 * VMMIG_CMD_AUDIT_NTF (event): a VM failed an audit: at registration (which
 *   is then refused), on VMMIG_CMD_VM_AUDIT, or in strict mode when one of
 *   its vCPUs was about to run for the first time (the VM is then stopped:
 *   KVM marks it dead and its ioctls fail with -EIO). Same attributes as
 *   the VMMIG_CMD_VM_AUDIT reply; at registration the handle holds the
 *   NAME and UUID that were asked for, and strict mode sends none.
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
	VMMIG_HOST_A_CPUID_STRICT,
	VMMIG_HOST_A_MAX_STORAGE_MIGRATIONS,

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

/* The VM handle: how a request names a VM (see the top of this file). */
enum vmmig_handle_attrs {
	VMMIG_HANDLE_A_UNSPEC,
	VMMIG_HANDLE_A_NAME,
	VMMIG_HANDLE_A_UUID,
	VMMIG_HANDLE_A_FD,

	__VMMIG_HANDLE_A_MAX
};

#define VMMIG_HANDLE_A_MAX (__VMMIG_HANDLE_A_MAX - 1)

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
	VMMIG_VM_A_HANDLE,
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
	VMMIG_DIRTY_A_HANDLE,
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
	VMMIG_DIRTY_A_SECONDS,
	VMMIG_DIRTY_A_SAMPLE_PAGES,
	VMMIG_DIRTY_A_CHANGED_PAGES,
	VMMIG_DIRTY_A_ZERO_PAGES,

	__VMMIG_DIRTY_A_MAX
};

#define VMMIG_DIRTY_A_MAX (__VMMIG_DIRTY_A_MAX - 1)

/* CPUID registers, as VMMIG_WORD_A_REG names them. */
enum vmmig_cpuid_reg {
	VMMIG_CPUID_EAX,
	VMMIG_CPUID_EBX,
	VMMIG_CPUID_ECX,
	VMMIG_CPUID_EDX,
};

/*
 * The CPUID feature words that matter for migration; every list of words
 * that vmmig.ko sends is in this order.
 */
enum vmmig_word {
	VMMIG_WORD_1_ECX,		/* leaf 1, ECX */
	VMMIG_WORD_1_EDX,		/* leaf 1, EDX */
	VMMIG_WORD_7_0_EBX,		/* leaf 7 subleaf 0, EBX */
	VMMIG_WORD_7_0_ECX,
	VMMIG_WORD_7_0_EDX,
	VMMIG_WORD_7_1_EAX,		/* leaf 7 subleaf 1, EAX */
	VMMIG_WORD_D_0_EAX,		/* XSAVE components, XCR0 bits 0..31 */
	VMMIG_WORD_D_0_EDX,		/* XCR0 bits 32..63 */
	VMMIG_WORD_D_1_EAX,		/* XSAVEOPT, XSAVEC, XGETBV1, XSAVES */
	VMMIG_WORD_8000_0001_ECX,
	VMMIG_WORD_8000_0001_EDX,
	VMMIG_WORD_8000_0008_EBX,
	VMMIG_WORD_8000_0021_EAX,

	VMMIG_NR_WORDS
};

enum vmmig_word_attrs {
	VMMIG_WORD_A_UNSPEC,
	VMMIG_WORD_A_LEAF,
	VMMIG_WORD_A_SUBLEAF,
	VMMIG_WORD_A_REG,
	VMMIG_WORD_A_VALUE,
	VMMIG_WORD_A_BIT,
	VMMIG_WORD_A_NAME,

	__VMMIG_WORD_A_MAX
};

#define VMMIG_WORD_A_MAX (__VMMIG_WORD_A_MAX - 1)

enum vmmig_cpuid_attrs {
	VMMIG_CPUID_A_UNSPEC,
	VMMIG_CPUID_A_WORDS,
	VMMIG_CPUID_A_WORD,
	VMMIG_CPUID_A_COMMON,
	VMMIG_CPUID_A_COMMON_SET,
	VMMIG_CPUID_A_MINIMUM,
	VMMIG_CPUID_A_IGNORED,
	VMMIG_CPUID_A_RESET,
	VMMIG_CPUID_A_STRICT,
	VMMIG_CPUID_A_HANDLE,
	VMMIG_CPUID_A_VM_MODE,
	VMMIG_CPUID_A_COMPLIANCE,
	VMMIG_CPUID_A_PID,
	VMMIG_CPUID_A_VCPUS,
	VMMIG_CPUID_A_EXCESS,
	VMMIG_CPUID_A_FEATURE,

	__VMMIG_CPUID_A_MAX
};

#define VMMIG_CPUID_A_MAX (__VMMIG_CPUID_A_MAX - 1)

#endif /* _UAPI_LINUX_VMMIG_H */
