// SPDX-License-Identifier: GPL-2.0
/*
 * The "vmmig" generic netlink family: commands, policies and events.
 */

#include <linux/module.h>
#include <net/genetlink.h>

#include "cpuid.h"
#include "dirty.h"
#include "host.h"
#include "sample.h"
#include "netlink.h"
#include "version.h"
#include "vm.h"
#include "vmmig.h"

enum vmmig_mcgrp {
	VMMIG_MCGRP_EVENTS_ID,
};

static const struct genl_multicast_group vmmig_mcgrps[] = {
	[VMMIG_MCGRP_EVENTS_ID] = { .name = VMMIG_MCGRP_EVENTS },
};

/*
 * HOST_SET shares the host attribute set with the HOST_GET reply, but only
 * the settings are writable: the read-only facts are NLA_REJECT so that a
 * client trying to change them learns so instead of being silently ignored.
 */
static const struct nla_policy vmmig_host_set_policy[VMMIG_HOST_A_MAX + 1] = {
	[VMMIG_HOST_A_MODULE_VERSION] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_KERNEL_RELEASE] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_CPU_VENDOR] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_CPU_FAMILY] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_CPU_MODEL] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_CPU_STEPPING] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_CPU_MODEL_NAME] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_KVM] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_VM_COUNT] = { .type = NLA_REJECT },
	[VMMIG_HOST_A_MIGRATION] = NLA_POLICY_MAX(NLA_U8, 1),
	[VMMIG_HOST_A_MAX_MIGRATIONS] =
		NLA_POLICY_RANGE(NLA_U32, 1, VMMIG_MAX_MIGRATIONS_LIMIT),
	[VMMIG_HOST_A_CPUID_STRICT] = { .type = NLA_REJECT },
};

static struct sk_buff *vmmig_host_msg(const struct net *net, u32 portid,
				      u32 seq, u8 cmd, void **hdr)
{
	struct sk_buff *skb;

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return ERR_PTR(-ENOMEM);
	*hdr = genlmsg_put(skb, portid, seq, &vmmig_genl_family, 0, cmd);
	if (!*hdr || vmmig_host_fill(skb, net)) {
		nlmsg_free(skb);
		return ERR_PTR(-EMSGSIZE);
	}
	return skb;
}

static int vmmig_host_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct sk_buff *msg;
	void *hdr;

	msg = vmmig_host_msg(genl_info_net(info), info->snd_portid,
			     info->snd_seq, VMMIG_CMD_HOST_GET, &hdr);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

/**
 * vmmig_genl_notify() - send a finished event message to the listeners of
 * one namespace
 * @net: the namespace
 * @skb: the message; consumed
 */
static bool vmmig_genl_live;

void vmmig_genl_notify(struct net *net, struct sk_buff *skb)
{
	/* Late events (the reaper) must not go out on a recycled group id. */
	if (!READ_ONCE(vmmig_genl_live)) {
		nlmsg_free(skb);
		return;
	}
	genlmsg_multicast_netns(&vmmig_genl_family, net, skb, 0,
				VMMIG_MCGRP_EVENTS_ID, GFP_KERNEL);
}

static void vmmig_host_notify(struct net *net)
{
	struct sk_buff *msg;
	void *hdr;

	msg = vmmig_host_msg(net, 0, 0, VMMIG_CMD_HOST_NTF, &hdr);
	if (IS_ERR(msg))
		return;
	genlmsg_end(msg, hdr);
	vmmig_genl_notify(net, msg);
}

static int vmmig_host_set_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct net *net = genl_info_net(info);
	struct vmmig_net *vn = vmmig_net(net);
	struct nlattr **attrs = info->attrs;
	bool changed = false;

	if (!attrs[VMMIG_HOST_A_MIGRATION] &&
	    !attrs[VMMIG_HOST_A_MAX_MIGRATIONS]) {
		NL_SET_ERR_MSG_MOD(info->extack,
				   "no host setting given (migration, max-migrations)");
		return -EINVAL;
	}

	mutex_lock(&vn->lock);
	if (attrs[VMMIG_HOST_A_MIGRATION]) {
		bool on = nla_get_u8(attrs[VMMIG_HOST_A_MIGRATION]);

		changed |= vn->migration_enabled != on;
		vn->migration_enabled = on;
	}
	if (attrs[VMMIG_HOST_A_MAX_MIGRATIONS]) {
		u32 max = nla_get_u32(attrs[VMMIG_HOST_A_MAX_MIGRATIONS]);

		changed |= vn->max_migrations != max;
		vn->max_migrations = max;
	}
	mutex_unlock(&vn->lock);

	if (changed)
		vmmig_host_notify(net);
	return 0;
}

static const struct genl_ops vmmig_genl_ops[] = {
	{
		.cmd = VMMIG_CMD_HOST_GET,
		.doit = vmmig_host_get_doit,
	},
	{
		.cmd = VMMIG_CMD_HOST_SET,
		.doit = vmmig_host_set_doit,
		.policy = vmmig_host_set_policy,
		.maxattr = VMMIG_HOST_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_VM_REGISTER,
		.doit = vmmig_vm_register_doit,
		.policy = vmmig_vm_policy,
		.maxattr = VMMIG_VM_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_VM_UNREGISTER,
		.doit = vmmig_vm_unregister_doit,
		.policy = vmmig_vm_id_policy,
		.maxattr = VMMIG_VM_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_VM_GET,
		.doit = vmmig_vm_get_doit,
		.dumpit = vmmig_vm_get_dumpit,
		.policy = vmmig_vm_id_policy,
		.maxattr = VMMIG_VM_A_MAX,
	},
	{
		.cmd = VMMIG_CMD_DIRTY_START,
		.doit = vmmig_dirty_start_doit,
		.policy = vmmig_dirty_policy,
		.maxattr = VMMIG_DIRTY_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_DIRTY_HARVEST,
		.doit = vmmig_dirty_harvest_doit,
		.policy = vmmig_dirty_policy,
		.maxattr = VMMIG_DIRTY_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_DIRTY_STOP,
		.doit = vmmig_dirty_stop_doit,
		.policy = vmmig_dirty_policy,
		.maxattr = VMMIG_DIRTY_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_DIRTY_STATS,
		.doit = vmmig_dirty_stats_doit,
		.policy = vmmig_dirty_policy,
		.maxattr = VMMIG_DIRTY_A_MAX,
	},
	{
		.cmd = VMMIG_CMD_DIRTY_RATE,
		.doit = vmmig_dirty_rate_doit,
		.policy = vmmig_dirty_policy,
		.maxattr = VMMIG_DIRTY_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_HOST_FEATURES,
		.doit = vmmig_cpuid_features_doit,
	},
	{
		.cmd = VMMIG_CMD_POLICY_GET,
		.doit = vmmig_policy_get_doit,
		.policy = vmmig_policy_get_policy,
		.maxattr = VMMIG_CPUID_A_MAX,
	},
	{
		.cmd = VMMIG_CMD_POLICY_SET,
		.doit = vmmig_policy_set_doit,
		.policy = vmmig_policy_set_policy,
		.maxattr = VMMIG_CPUID_A_MAX,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = VMMIG_CMD_VM_AUDIT,
		.doit = vmmig_vm_audit_doit,
		.policy = vmmig_vm_audit_policy,
		.maxattr = VMMIG_CPUID_A_MAX,
	},
};

struct genl_family vmmig_genl_family __ro_after_init = {
	.name = VMMIG_GENL_NAME,
	.version = VMMIG_GENL_VERSION,
	.netnsok = true,
	.parallel_ops = true,
	.module = THIS_MODULE,
	.ops = vmmig_genl_ops,
	.n_ops = ARRAY_SIZE(vmmig_genl_ops),
	.mcgrps = vmmig_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vmmig_mcgrps),
};

/**
 * vmmig_genl_notify_module() - tell listeners in every namespace that a
 * module changed state
 * @name: module name
 * @state: its new state
 *
 * Best effort: a notification that cannot be allocated is dropped, as
 * netlink notifications are everywhere else.
 */
void vmmig_genl_notify_module(const char *name, enum vmmig_module_state state)
{
	struct sk_buff *msg;
	void *hdr;

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &vmmig_genl_family, 0,
			  VMMIG_CMD_MODULE_NTF);
	if (!hdr ||
	    nla_put_string(msg, VMMIG_MODULE_A_NAME, name) ||
	    nla_put_u32(msg, VMMIG_MODULE_A_STATE, state) ||
	    (!strcmp(name, KBUILD_MODNAME) &&
	     nla_put_string(msg, VMMIG_MODULE_A_VERSION, VMMIG_VERSION))) {
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	genlmsg_multicast_allns(&vmmig_genl_family, msg, 0,
				VMMIG_MCGRP_EVENTS_ID);
}

/**
 * vmmig_genl_init() - register the generic netlink family
 *
 * Return: 0 or a negative errno.
 */
int __init vmmig_genl_init(void)
{
	int ret = genl_register_family(&vmmig_genl_family);

	WRITE_ONCE(vmmig_genl_live, !ret);
	return ret;
}

/**
 * vmmig_genl_uninit() - announce the unload and unregister the family
 */
void vmmig_genl_uninit(void)
{
	vmmig_genl_notify_module(KBUILD_MODNAME, VMMIG_MODULE_GOING);
	WRITE_ONCE(vmmig_genl_live, false);
	genl_unregister_family(&vmmig_genl_family);
}
