// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/genetlink.h>
#include <linux/vmmig.h>
#include <libkmod.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include "vmmig_test.h"

int listener_open(struct listener *l, bool ctrl)
{
	struct vmmig_nl nl;
	int events, notify = 0, err;

	memset(l, 0, sizeof(*l));
	err = vmmig_nl_open(&nl);
	if (err)
		return err;
	l->family = nl.family;
	events = vmmig_nl_group(&nl, VMMIG_GENL_NAME, VMMIG_MCGRP_EVENTS);
	if (ctrl)
		notify = vmmig_nl_group(&nl, "nlctrl", "notify");
	vmmig_nl_close(&nl);
	if (events < 0 || notify < 0)
		return -ENOENT;
	l->sk = nl_socket_alloc();
	if (!l->sk)
		return -ENOMEM;
	nl_socket_disable_seq_check(l->sk);
	if (genl_connect(l->sk) < 0 ||
	    nl_socket_add_memberships(l->sk, events, notify, 0) < 0) {
		listener_close(l);
		return -EIO;
	}
	return 0;
}

void listener_close(struct listener *l)
{
	if (l->sk)
		nl_socket_free(l->sk);
	l->sk = NULL;
}

int listener_wait(struct listener *l, uint16_t type, uint8_t cmd,
		  void *buf, size_t size, int timeout_ms)
{
	struct pollfd pfd = { .fd = nl_socket_get_fd(l->sk), .events = POLLIN };
	char rx[16384];

	if (!type)
		type = l->family;
	for (;;) {
		struct nlmsghdr *h;
		ssize_t n;

		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -ETIMEDOUT;
		n = recv(pfd.fd, rx, sizeof(rx), 0);
		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)rx; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			struct genlmsghdr *gh = NLMSG_DATA(h);

			if (h->nlmsg_type != type || gh->cmd != cmd)
				continue;
			if (h->nlmsg_len > size)
				return -EMSGSIZE;
			memcpy(buf, h, h->nlmsg_len);
			return h->nlmsg_len;
		}
	}
}

int send_raw(struct vmmig_nl *nl, struct nl_msg *msg)
{
	return vmmig_nl_request(nl, msg, NULL, 0, NULL, NULL);
}

int drop_cap_net_admin(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	data[0].effective &= ~(1u << CAP_NET_ADMIN);
	data[0].permitted &= ~(1u << CAP_NET_ADMIN);
	data[0].inheritable &= ~(1u << CAP_NET_ADMIN);
	if (syscall(SYS_capset, &hdr, data))
		return -errno;
	return 0;
}

static struct kmod_ctx *kmod(void)
{
	static struct kmod_ctx *ctx;

	if (!ctx)
		ctx = kmod_new(NULL, NULL);
	return ctx;
}

static int op_remove(struct kmod_module *mod)
{
	return kmod_module_remove_module(mod, 0);
}

static int op_insert(struct kmod_module *mod)
{
	return kmod_module_insert_module(mod, 0, NULL);
}

static int op_probe(struct kmod_module *mod)
{
	return kmod_module_probe_insert_module(mod, 0, NULL, NULL, NULL, NULL);
}

static int with_module(const char *name, bool is_path,
		       int (*op)(struct kmod_module *mod))
{
	struct kmod_module *mod;
	int err;

	err = is_path ? kmod_module_new_from_path(kmod(), name, &mod) :
			kmod_module_new_from_name(kmod(), name, &mod);
	if (err)
		return err;
	err = op(mod);
	kmod_module_unref(mod);
	return err;
}

int module_remove(const char *name)
{
	return with_module(name, false, op_remove);
}

int module_insert_path(const char *path)
{
	return with_module(path, true, op_insert);
}

int module_probe(const char *name)
{
	return with_module(name, false, op_probe);
}

bool module_loaded(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/module/%s/initstate", name);
	return !access(path, F_OK);
}
