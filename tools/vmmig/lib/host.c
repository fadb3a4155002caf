// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netlink/genl/genl.h>

#include "host.h"

struct nla_policy vmmig_host_policy[VMMIG_HOST_A_MAX + 1] = {
	[VMMIG_HOST_A_MODULE_VERSION] = { .type = NLA_NUL_STRING },
	[VMMIG_HOST_A_KERNEL_RELEASE] = { .type = NLA_NUL_STRING },
	[VMMIG_HOST_A_CPU_VENDOR] = { .type = NLA_NUL_STRING },
	[VMMIG_HOST_A_CPU_FAMILY] = { .type = NLA_U32 },
	[VMMIG_HOST_A_CPU_MODEL] = { .type = NLA_U32 },
	[VMMIG_HOST_A_CPU_STEPPING] = { .type = NLA_U32 },
	[VMMIG_HOST_A_CPU_MODEL_NAME] = { .type = NLA_NUL_STRING },
	[VMMIG_HOST_A_KVM] = { .type = NLA_U32 },
	[VMMIG_HOST_A_VM_COUNT] = { .type = NLA_U32 },
	[VMMIG_HOST_A_MIGRATION] = { .type = NLA_U8 },
	[VMMIG_HOST_A_MAX_MIGRATIONS] = { .type = NLA_U32 },
	[VMMIG_HOST_A_MAX_STORAGE_MIGRATIONS] = { .type = NLA_U32 },
	[VMMIG_HOST_A_CPUID_STRICT] = { .type = NLA_U8 },
};

static void get_str(char *dst, size_t size, const struct nlattr *a)
{
	snprintf(dst, size, "%s", a ? (const char *)nla_data(a) : "");
}

static uint32_t get_u32(const struct nlattr *a)
{
	return a ? nla_get_u32((struct nlattr *)a) : 0;
}

int vmmig_host_parse(struct nlattr **a, struct vmmig_host *h)
{
	memset(h, 0, sizeof(*h));
	if (!a[VMMIG_HOST_A_MODULE_VERSION] || !a[VMMIG_HOST_A_KVM])
		return -EBADMSG;
	get_str(h->module_version, sizeof(h->module_version),
		a[VMMIG_HOST_A_MODULE_VERSION]);
	get_str(h->kernel_release, sizeof(h->kernel_release),
		a[VMMIG_HOST_A_KERNEL_RELEASE]);
	get_str(h->cpu_vendor, sizeof(h->cpu_vendor), a[VMMIG_HOST_A_CPU_VENDOR]);
	get_str(h->cpu_model_name, sizeof(h->cpu_model_name),
		a[VMMIG_HOST_A_CPU_MODEL_NAME]);
	h->cpu_family = get_u32(a[VMMIG_HOST_A_CPU_FAMILY]);
	h->cpu_model = get_u32(a[VMMIG_HOST_A_CPU_MODEL]);
	h->cpu_stepping = get_u32(a[VMMIG_HOST_A_CPU_STEPPING]);
	h->kvm = get_u32(a[VMMIG_HOST_A_KVM]);
	h->vm_count = get_u32(a[VMMIG_HOST_A_VM_COUNT]);
	h->migration = a[VMMIG_HOST_A_MIGRATION] &&
		       nla_get_u8(a[VMMIG_HOST_A_MIGRATION]);
	h->max_migrations = get_u32(a[VMMIG_HOST_A_MAX_MIGRATIONS]);
	h->max_storage_migrations = get_u32(a[VMMIG_HOST_A_MAX_STORAGE_MIGRATIONS]);
	h->cpuid_strict = a[VMMIG_HOST_A_CPUID_STRICT] &&
			  nla_get_u8(a[VMMIG_HOST_A_CPUID_STRICT]);
	return 0;
}

static int host_reply(struct nlattr **attrs, int cmd, void *arg)
{
	return vmmig_host_parse(attrs, arg);
}

int vmmig_host_get(struct vmmig_nl *nl, struct vmmig_host *host)
{
	struct nl_msg *msg = vmmig_nl_msg(nl, VMMIG_CMD_HOST_GET, 0);

	if (!msg)
		return -ENOMEM;
	return vmmig_nl_request(nl, msg, vmmig_host_policy, VMMIG_HOST_A_MAX,
				host_reply, host);
}

int vmmig_host_set(struct vmmig_nl *nl, const struct vmmig_host_settings *s)
{
	struct nl_msg *msg = vmmig_nl_msg(nl, VMMIG_CMD_HOST_SET, 0);

	if (!msg)
		return -ENOMEM;
	if ((s->has_migration &&
	     nla_put_u8(msg, VMMIG_HOST_A_MIGRATION, s->migration)) ||
	    (s->has_max_migrations &&
	     nla_put_u32(msg, VMMIG_HOST_A_MAX_MIGRATIONS, s->max_migrations)) ||
	    (s->has_max_storage_migrations &&
	     nla_put_u32(msg, VMMIG_HOST_A_MAX_STORAGE_MIGRATIONS, s->max_storage_migrations))) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return vmmig_nl_request(nl, msg, NULL, 0, NULL, NULL);
}

const char *vmmig_kvm_name(uint32_t kvm)
{
	static const char *const names[] = {
		[VMMIG_KVM_NONE] = "none",
		[VMMIG_KVM_AMD] = "amd",
		[VMMIG_KVM_INTEL] = "intel",
	};

	return kvm <= VMMIG_KVM_MAX ? names[kvm] : "unknown";
}

const char *vmmig_module_state_name(uint32_t state)
{
	static const char *const names[] = {
		[VMMIG_MODULE_LIVE] = "live",
		[VMMIG_MODULE_GOING] = "going",
	};

	return state <= VMMIG_MODULE_STATE_MAX ? names[state] : "unknown";
}
