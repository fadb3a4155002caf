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
 */
#ifndef _UAPI_LINUX_VMMIG_H
#define _UAPI_LINUX_VMMIG_H

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

#endif /* _UAPI_LINUX_VMMIG_H */
