/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client side of a VMM's control socket, STATE_DIR/NAME/control.sock:
 * one JSON object per line, one request ({"cmd": ...}), one reply
 * ({"ok": true, ...} or {"ok": false, "error": "..."}).
 */
#ifndef VMMIG_CTL_H
#define VMMIG_CTL_H

#include <json-c/json.h>

#define CTL_SOCKET	"control.sock"
#define CTL_SOCKET_NAME	CTL_SOCKET

/*
 * Sends @req (consumed) to the VMM of the VM in @dir and returns its reply
 * in @reply. 0, -ENOENT/-ECONNREFUSED when no VMM listens, -EREMOTEIO when
 * the VMM refused (its message in @why), other -errno with @why set.
 */
int ctl_request(const char *dir, struct json_object *req,
		struct json_object **reply, int timeout_ms, char *why);
/* As ctl_request(), but returns the connection (an fd) for what follows. */
int ctl_connect(const char *dir, struct json_object *req,
		struct json_object **reply, int timeout_ms, char *why);
/* A request with only a command. */
int ctl_simple(const char *dir, const char *cmd, struct json_object **reply,
	       int timeout_ms, char *why);
/* Reads one line (up to @max bytes) from @fd; 0, -errno, or -EPIPE at EOF. */
int ctl_read_line(int fd, char *buf, size_t max, int timeout_ms);
int ctl_sockaddr(const char *dir, void *sun, unsigned int *len);

#endif
