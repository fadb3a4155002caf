/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client side of a VMM's control socket, STATE_DIR/NAME/control.sock:
 * one request, one reply (ctl_proto.h).
 */
#ifndef VMMIG_CTL_H
#define VMMIG_CTL_H

#include <stddef.h>
#include <json-c/json.h>

#include "ctl_proto.h"

/*
 * Sends @req to the VMM of the VM in @dir and returns its reply in @reply
 * (json_object_put() it). 0, -ENOENT/-ECONNREFUSED when no VMM listens,
 * -EREMOTEIO when the VMM refused (its message in @why), other -errno with
 * @why set.
 */
int ctl_call(const char *dir, const struct ctl_request *req,
	     struct json_object **reply, int timeout_ms, char *why);
/* A request without arguments. */
int ctl_simple(const char *dir, enum ctl_req cmd, struct json_object **reply,
	       int timeout_ms, char *why);
/* As ctl_call(), but returns the connection (an fd) for what follows. */
int ctl_connect(const char *dir, const struct ctl_request *req,
		struct json_object **reply, int timeout_ms, char *why);
/* Descriptors one request may carry. */
#define CTL_MAX_FDS	16
/*
 * Sends @req with @nfds descriptors attached (SCM_RIGHTS) and returns the
 * connection, for requests whose replies are several lines (migrate).
 */
int ctl_open(const char *dir, const struct ctl_request *req, const int *fds, unsigned int nfds,
	     char *why);
/* A reply line: 0 and the object, -EPROTO, or -EREMOTEIO with the VMM's reason. */
int ctl_parse_reply(const char *line, struct json_object **reply, char *why);
/*
 * An incoming VMM's socket for replacement streams (CTL_SWAP_SOCKET, open
 * while it reads the streams): ctl_swap_give() hands it @fd for stream
 * @idx, waiting up to @timeout_ms for the socket to appear and the reply.
 */
int ctl_swap_sockaddr(const char *dir, void *sun, unsigned int *len);
int ctl_swap_give(const char *dir, unsigned int idx, int fd, int timeout_ms, char *why);
/*
 * No stream of the incoming VMM waits for a replacement any more: the
 * source gave up (@corrupt NULL), or a stream's bytes failed their check
 * (@corrupt says so), which fails the VMM's read at once with that reason.
 */
int ctl_swap_abort(const char *dir, const char *corrupt, char *why);
/* @o as one line on @fd, with @nfds descriptors attached to its first byte. */
int ctl_send_line(int fd, struct json_object *o, const int *fds, unsigned int nfds);
/*
 * Server: reads a request line and up to *@nfds descriptors sent with it
 * (*@nfds becomes how many came, all closed on failure).
 */
int ctl_recv_line(int fd, char *buf, size_t max, int timeout_ms, int *fds, unsigned int *nfds);
/* Reads one line (up to @max bytes) from @fd; 0, -errno, or -EPIPE at EOF. */
int ctl_read_line(int fd, char *buf, size_t max, int timeout_ms);
int ctl_sockaddr(const char *dir, void *sun, unsigned int *len);

#endif
