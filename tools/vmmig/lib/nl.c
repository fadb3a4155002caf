// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/vmmig.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "nl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

int vmmig_nl_open(struct vmmig_nl *nl)
{
	int one = 1, ret;

	memset(nl, 0, sizeof(*nl));
	nl->sk = nl_socket_alloc();
	if (!nl->sk)
		return -ENOMEM;
	if (genl_connect(nl->sk) < 0) {
		ret = errno ? -errno : -EIO;
		goto err;
	}
	/* Ask for the kernel's error text, and only the header of our request. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK,
		   &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK,
		   &one, sizeof(one));
	nl->family = genl_ctrl_resolve(nl->sk, VMMIG_GENL_NAME);
	if (nl->family < 0) {
		ret = nl->family == -NLE_OBJ_NOTFOUND ? -ENOENT : -EPROTO;
		goto err;
	}
	return 0;
err:
	nl_socket_free(nl->sk);
	nl->sk = NULL;
	return ret;
}

void vmmig_nl_close(struct vmmig_nl *nl)
{
	if (nl->sk)
		nl_socket_free(nl->sk);
	nl->sk = NULL;
}

struct nl_msg *vmmig_nl_msg(struct vmmig_nl *nl, uint8_t cmd, int flags)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 flags | NLM_F_REQUEST | NLM_F_ACK, cmd,
			 VMMIG_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

void vmmig_nl_parse_ack(const struct nlmsghdr *hdr, struct vmmig_nl_err *out)
{
	const struct nlmsgerr *e = NLMSG_DATA(hdr);
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1] = {};
	struct nlattr *pol[NL_POLICY_TYPE_ATTR_MAX + 1] = {};
	const void *attrs;
	int len, off;

	memset(out, 0, sizeof(*out));
	if (hdr->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
		return;
	out->error = e->error;
	if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	off = sizeof(*e);
	if (!(hdr->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	len = (int)hdr->nlmsg_len - NLMSG_HDRLEN - off;
	if (len <= 0)
		return;
	attrs = (const char *)e + off;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *)attrs, len, NULL))
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(out->msg, sizeof(out->msg), "%.*s",
			 nla_len(tb[NLMSGERR_ATTR_MSG]),
			 (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
	/* The kernel's text may or may not include the terminating NUL. */
	out->msg[strcspn(out->msg, "\n")] = '\0';
	if (tb[NLMSGERR_ATTR_OFFS]) {
		out->has_offset = true;
		out->offset = nla_get_u32(tb[NLMSGERR_ATTR_OFFS]);
	}
	if (tb[NLMSGERR_ATTR_POLICY] &&
	    !nla_parse_nested(pol, NL_POLICY_TYPE_ATTR_MAX,
			      tb[NLMSGERR_ATTR_POLICY], NULL) &&
	    pol[NL_POLICY_TYPE_ATTR_MIN_VALUE_U] &&
	    pol[NL_POLICY_TYPE_ATTR_MAX_VALUE_U]) {
		out->has_range = true;
		out->min = nla_get_u64(pol[NL_POLICY_TYPE_ATTR_MIN_VALUE_U]);
		out->max = nla_get_u64(pol[NL_POLICY_TYPE_ATTR_MAX_VALUE_U]);
	}
}

struct request_ctx {
	struct vmmig_nl *nl;
	const struct nla_policy *policy;
	int maxattr;
	vmmig_nl_parse_t parse;
	void *arg;
	int parse_err;
	bool done;
};

static int request_valid(struct nl_msg *msg, void *arg)
{
	struct request_ctx *ctx = arg;
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct nlattr *attrs[ctx->maxattr + 1];
	int err;

	if (!ctx->parse)
		return NL_OK;
	err = genlmsg_parse(nlmsg_hdr(msg), 0, attrs, ctx->maxattr,
			    (struct nla_policy *)ctx->policy);
	if (err < 0)
		err = -EBADMSG;
	else
		err = ctx->parse(attrs, gh->cmd, ctx->arg);
	if (err < 0 && !ctx->parse_err)
		ctx->parse_err = err;
	/* Keep reading up to the ACK so that the socket stays in step. */
	return err < 0 ? NL_SKIP : NL_OK;
}

static int request_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct request_ctx *ctx = arg;
	const struct nlmsghdr *hdr =
		(const struct nlmsghdr *)((const char *)e - NLMSG_HDRLEN);

	vmmig_nl_parse_ack(hdr, &ctx->nl->err);
	ctx->done = true;
	return NL_STOP;
}

static int request_done(struct nl_msg *msg, void *arg)
{
	struct request_ctx *ctx = arg;

	ctx->done = true;
	return NL_STOP;
}

int vmmig_nl_request(struct vmmig_nl *nl, struct nl_msg *msg,
		     const struct nla_policy *policy, int maxattr,
		     vmmig_nl_parse_t parse, void *arg)
{
	struct request_ctx ctx = {
		.nl = nl, .policy = policy, .maxattr = maxattr,
		.parse = parse, .arg = arg,
	};
	struct nl_cb *cb;
	int ret;

	memset(&nl->err, 0, sizeof(nl->err));
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, request_valid, &ctx);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, request_done, &ctx);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, request_done, &ctx);
	nl_cb_err(cb, NL_CB_CUSTOM, request_error, &ctx);

	errno = 0;
	ret = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (ret < 0) {
		ret = errno ? -errno : -EIO;
		goto out;
	}
	/* A reply and its ACK come in separate datagrams. */
	do
		ret = nl_recvmsgs(nl->sk, cb);
	while (!ctx.done && ret >= 0);
	if (nl->err.error)
		ret = nl->err.error;
	else if (ctx.parse_err)
		ret = ctx.parse_err;
	else if (ret < 0)
		ret = -EPROTO;
	else
		ret = 0;
out:
	nl_cb_put(cb);
	return ret;
}

int vmmig_handle_put(struct nl_msg *msg, int attr, struct vmmig_handle h)
{
	struct nlattr *nest = nla_nest_start(msg, attr);

	if (!nest ||
	    (h.name && nla_put_string(msg, VMMIG_HANDLE_A_NAME, h.name)) ||
	    (h.uuid && nla_put(msg, VMMIG_HANDLE_A_UUID, VMMIG_UUID_LEN, h.uuid)) ||
	    (h.fd >= 0 && nla_put_u32(msg, VMMIG_HANDLE_A_FD, h.fd)))
		return -EMSGSIZE;
	nla_nest_end(msg, nest);
	return 0;
}

int vmmig_handle_parse(struct nlattr *nest, char *name, uint8_t *uuid)
{
	static struct nla_policy policy[VMMIG_HANDLE_A_MAX + 1] = {
		[VMMIG_HANDLE_A_NAME] = { .type = NLA_NUL_STRING },
		[VMMIG_HANDLE_A_UUID] = { .minlen = VMMIG_UUID_LEN },
	};
	struct nlattr *tb[VMMIG_HANDLE_A_MAX + 1];

	if (!nest || nla_parse_nested(tb, VMMIG_HANDLE_A_MAX, nest, policy) ||
	    !tb[VMMIG_HANDLE_A_NAME] || !tb[VMMIG_HANDLE_A_UUID])
		return -EBADMSG;
	if (name)
		snprintf(name, VMMIG_NAME_MAX, "%s", nla_get_string(tb[VMMIG_HANDLE_A_NAME]));
	if (uuid)
		memcpy(uuid, nla_data(tb[VMMIG_HANDLE_A_UUID]), VMMIG_UUID_LEN);
	return 0;
}

int vmmig_nl_group(struct vmmig_nl *nl, const char *family, const char *group)
{
	int ret = genl_ctrl_resolve_grp(nl->sk, family, group);

	if (ret == -NLE_OBJ_NOTFOUND)
		return -ENOENT;
	return ret < 0 ? -EPROTO : ret;
}

const char *vmmig_nl_strerror(const struct vmmig_nl *nl, int err)
{
	static char buf[512];
	const struct vmmig_nl_err *e = &nl->err;
	int n;

	if (err == -ENOENT && !e->msg[0])
		return "vmmig.ko is not loaded (modprobe vmmig)";
	if (err == -EPERM && !e->msg[0])
		return "permission denied: this command needs CAP_NET_ADMIN";
	if (!e->msg[0])
		return strerror(-err);
	n = snprintf(buf, sizeof(buf), "%s", e->msg);
	if (e->has_range && n > 0 && (size_t)n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, " (valid range %llu..%llu)",
			 (unsigned long long)e->min,
			 (unsigned long long)e->max);
	return buf;
}
