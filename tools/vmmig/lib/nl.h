/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vmmig generic netlink client: every exchange with vmmig.ko goes
 * through these few calls. Errors are returned as -errno; the kernel's
 * extended-ACK text, when it sent one, is kept in vmmig_nl.err.
 */
#ifndef VMMIG_NL_H
#define VMMIG_NL_H

#include <stdbool.h>
#include <stdint.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

struct vmmig_nl_err {
	int error;		/* -errno from the kernel, 0 on success */
	char msg[256];		/* NLMSGERR_ATTR_MSG, "" when none */
	bool has_offset;	/* NLMSGERR_ATTR_OFFS was sent */
	uint32_t offset;	/* byte offset of the bad attribute */
	bool has_range;		/* NLMSGERR_ATTR_POLICY gave a range */
	uint64_t min, max;
};

struct vmmig_nl {
	struct nl_sock *sk;
	int family;		/* resolved id of VMMIG_GENL_NAME */
	struct vmmig_nl_err err;
};

typedef int (*vmmig_nl_parse_t)(struct nlattr **attrs, int cmd, void *arg);

/* Returns -ENOENT when vmmig.ko is not loaded. */
int vmmig_nl_open(struct vmmig_nl *nl);
void vmmig_nl_close(struct vmmig_nl *nl);

/* A request for @cmd with NLM_F_REQUEST | NLM_F_ACK; NULL on ENOMEM. */
struct nl_msg *vmmig_nl_msg(struct vmmig_nl *nl, uint8_t cmd, int flags);

/*
 * Sends @msg (and frees it), feeds each reply, parsed with @policy up to
 * @maxattr, to @parse, and waits for the kernel's acknowledgement.
 */
int vmmig_nl_request(struct vmmig_nl *nl, struct nl_msg *msg,
		     const struct nla_policy *policy, int maxattr,
		     vmmig_nl_parse_t parse, void *arg);

/*
 * How a request names a VM (the uAPI's VM handle): by the name or UUID it
 * is registered under, or by a KVM VM descriptor of this process. Set one;
 * vmmig_handle_put() sends every one that is set, so a handle with two is
 * refused by the kernel.
 */
struct vmmig_handle {
	const char *name;
	const uint8_t *uuid;	/* VMMIG_UUID_LEN bytes */
	int fd;			/* -1: none */
};

#define VMMIG_BY_NAME(n)	((struct vmmig_handle){ .name = (n), .fd = -1 })
#define VMMIG_BY_UUID(u)	((struct vmmig_handle){ .uuid = (u), .fd = -1 })
#define VMMIG_BY_FD(f)		((struct vmmig_handle){ .fd = (f) })

/* Puts @h into @msg as the nest @attr (the command's VMMIG_*_A_HANDLE). */
int vmmig_handle_put(struct nl_msg *msg, int attr, struct vmmig_handle h);
/*
 * The NAME and UUID of a handle nest in a reply or an event; each output
 * may be NULL. Returns -EBADMSG when the nest lacks either.
 */
int vmmig_handle_parse(struct nlattr *nest, char *name, uint8_t *uuid);

/* Resolves a multicast group of the vmmig family, or of another family. */
int vmmig_nl_group(struct vmmig_nl *nl, const char *family, const char *group);

/* Decodes the extended ACK that follows the nlmsgerr of an error message. */
void vmmig_nl_parse_ack(const struct nlmsghdr *hdr, struct vmmig_nl_err *out);

/*
 * One line describing a failed request: "what: kernel message (valid range
 * 1..64)" or "what: strerror". Points into a static buffer.
 */
const char *vmmig_nl_strerror(const struct vmmig_nl *nl, int err);

#endif
