// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig: live migration for KVM hosts.
 */

#include <linux/module.h>
#include <net/genetlink.h>

#include "host.h"
#include "netlink.h"
#include "policy.h"
#include "registry.h"
#include "strict.h"
#include "version.h"
#include "vmmig.h"

unsigned int vmmig_net_id __read_mostly;

static int __net_init vmmig_net_init(struct net *net)
{
	struct vmmig_net *vn = vmmig_net(net);

	mutex_init(&vn->lock);
	/* As on a fresh Hyper-V host: migration off until an admin enables it. */
	vn->migration_enabled = false;
	vn->max_migrations = 2;
	vn->max_storage_migrations = 2;
	vn->vm_count = 0;
	vn->net = net;
	vmmig_registry_net_init(vn);
	return vmmig_policy_net_init(vn);
}

static void __net_exit vmmig_net_exit(struct net *net)
{
	struct vmmig_net *vn = vmmig_net(net);

	vmmig_registry_net_exit(vn);
	vmmig_policy_net_exit(vn);
}

static struct pernet_operations vmmig_net_ops = {
	.init = vmmig_net_init,
	.exit = vmmig_net_exit,
	.id = &vmmig_net_id,
	.size = sizeof(struct vmmig_net),
};

static int __init vmmig_init(void)
{
	int ret;

	/* Before the namespaces: a namespace's policy may hold the probe. */
	ret = vmmig_strict_init();
	if (ret)
		goto err_strict;

	ret = register_pernet_subsys(&vmmig_net_ops);
	if (ret)
		goto err_pernet;

	ret = vmmig_genl_init();
	if (ret)
		goto err_netlink;

	ret = vmmig_host_init();
	if (ret)
		goto err_host;

	pr_info("vmmig " VMMIG_VERSION " loaded\n");
	return 0;

err_host:
	vmmig_genl_uninit();
err_netlink:
	unregister_pernet_subsys(&vmmig_net_ops);
err_pernet:
	vmmig_strict_uninit();
err_strict:
	return ret;
}

static void __exit vmmig_exit(void)
{
	vmmig_host_uninit();
	vmmig_genl_uninit();
	unregister_pernet_subsys(&vmmig_net_ops);
	vmmig_strict_uninit();
	/* Policies replaced just before are freed after a grace period. */
	rcu_barrier();
}

module_init(vmmig_init);
module_exit(vmmig_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Live migration for KVM hosts");
MODULE_AUTHOR("The vmmig authors");
MODULE_VERSION(VMMIG_VERSION);
MODULE_ALIAS_GENL_FAMILY(VMMIG_GENL_NAME);
