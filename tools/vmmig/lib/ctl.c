// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ctl.h"
#include "vmdef.h"

static int sock_addr(const char *dir, const char *name, void *p, unsigned int *len)
{
	struct sockaddr_un *sun = p;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (vmmig_run_path(dir, name, sun->sun_path, sizeof(sun->sun_path)))
		return -ENAMETOOLONG;
	*len = sizeof(*sun);
	return 0;
}

int ctl_sockaddr(const char *dir, void *p, unsigned int *len)
{
	return sock_addr(dir, CTL_SOCKET, p, len);
}

int ctl_swap_sockaddr(const char *dir, void *p, unsigned int *len)
{
	return sock_addr(dir, CTL_SWAP_SOCKET, p, len);
}

static int swap_send(const char *dir, struct json_object *o, int fd, int timeout_ms, char *why);

int ctl_swap_give(const char *dir, unsigned int idx, int fd, int timeout_ms, char *why)
{
	struct json_object *o = json_object_new_object();
	int err;

	json_object_object_add(o, CTL_KEY_STREAM, json_object_new_int(idx));
	err = swap_send(dir, o, fd, timeout_ms, why);
	json_object_put(o);
	return err;
}

int ctl_swap_abort(const char *dir, const char *corrupt, char *why)
{
	struct json_object *o = json_object_new_object();
	int err;

	json_object_object_add(o, CTL_KEY_ABORT, json_object_new_boolean(true));
	if (corrupt)
		json_object_object_add(o, CTL_KEY_CORRUPT, json_object_new_string(corrupt));
	/* A corrupt stream may come while the VMM still starts. */
	err = swap_send(dir, o, -1, corrupt ? 10000 : 1000, why);
	json_object_put(o);
	return err;
}

/* @o (and @fd unless < 0) to @dir's swap socket, and its reply. */
static int swap_send(const char *dir, struct json_object *o, int fd, int timeout_ms, char *why)
{
	struct json_object *rep = NULL;
	struct sockaddr_un sun;
	struct timespec ms10 = { 0, 10000000 };
	unsigned int len, waited = 0, nfds = 0;
	char line[1024];
	int s = -1, err;

	err = ctl_swap_sockaddr(dir, &sun, &len);
	/* The incoming VMM opens its socket as it starts. */
	while (!err) {
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0 || !connect(s, (struct sockaddr *)&sun, len))
			break;
		err = -errno;
		close(s);
		s = -1;
		if ((err != -ENOENT && err != -ECONNREFUSED) || waited >= (unsigned int)timeout_ms)
			break;
		err = 0;
		nanosleep(&ms10, NULL);
		waited += 10;
	}
	if (!err && s < 0)
		err = -errno;
	if (!err)
		err = ctl_send_line(s, o, &fd, fd >= 0);
	if (!err)
		err = ctl_recv_line(s, line, sizeof(line), timeout_ms, NULL, &nfds);
	if (!err)
		err = ctl_parse_reply(line, &rep, why);
	else
		snprintf(why, VMMIG_ERRLEN, "the VMM's %s: %s", CTL_SWAP_SOCKET, strerror(-err));
	json_object_put(rep);
	if (s >= 0)
		close(s);
	return err;
}

int ctl_read_line(int fd, char *buf, size_t max, int timeout_ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t len = 0;
	ssize_t n;
	int r;

	while (len < max - 1) {
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (!r)
			return -ETIMEDOUT;
		n = read(fd, buf + len, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EPIPE;
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return 0;
		}
		len++;
	}
	return -EMSGSIZE;
}

int ctl_recv_line(int fd, char *buf, size_t max, int timeout_ms, int *fds, unsigned int *nfds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
	} cm;
	struct pollfd pfd = { fd, POLLIN, 0 };
	unsigned int want = *nfds, i, n;
	struct cmsghdr *c;
	size_t len = 0;
	int r, err = -EMSGSIZE;

	*nfds = 0;
	while (len < max - 1) {
		struct iovec iov = { buf + len, 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
				      .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
		ssize_t got;

		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r ? -errno : -ETIMEDOUT;
			break;
		}
		got = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			err = got ? -errno : -EPIPE;
			break;
		}
		for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			for (i = 0; i < n; i++) {
				int f;

				memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (*nfds < want)
					fds[(*nfds)++] = f;
				else
					close(f);
			}
		}
		if (buf[len] == '\n') {
			buf[len] = '\0';
			return 0;
		}
		len++;
	}
	for (i = 0; i < *nfds; i++)
		close(fds[i]);
	*nfds = 0;
	return err;
}

/* The request, one line, with @nfds descriptors attached to its first byte. */
static int send_req(int fd, const struct ctl_request *r, const int *fds, unsigned int nfds)
{
	struct json_object *req = ctl_request_to_json(r);
	int err = ctl_send_line(fd, req, fds, nfds);

	json_object_put(req);
	return err;
}

int ctl_send_line(int fd, struct json_object *o, const int *fds, unsigned int nfds)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * CTL_MAX_FDS)];
	} cm;
	struct iovec iov = { (void *)s, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	size_t len = strlen(s);
	int err = 0;

	if (nfds > CTL_MAX_FDS)
		return -E2BIG;
	if (nfds) {
		memset(&cm, 0, sizeof(cm));
		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		CMSG_FIRSTHDR(&msg)->cmsg_level = SOL_SOCKET;
		CMSG_FIRSTHDR(&msg)->cmsg_type = SCM_RIGHTS;
		CMSG_FIRSTHDR(&msg)->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(CMSG_FIRSTHDR(&msg)), fds, sizeof(int) * nfds);
	}
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) != 1 ||
	    send(fd, s + 1, len - 1, MSG_NOSIGNAL) != (ssize_t)len - 1 ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1)
		err = errno ? -errno : -EIO;
	return err;
}

int ctl_parse_reply(const char *line, struct json_object **reply, char *why)
{
	struct json_object *o = json_tokener_parse(line), *v;

	if (!o) {
		snprintf(why, VMMIG_ERRLEN, "the VMM sent a reply that is not JSON");
		return -EPROTO;
	}
	if (!json_object_object_get_ex(o, CTL_KEY_OK, &v) || !json_object_get_boolean(v)) {
		snprintf(why, VMMIG_ERRLEN, "%s",
			 json_object_object_get_ex(o, CTL_KEY_ERROR, &v) ?
			 json_object_get_string(v) : "the VMM refused");
		json_object_put(o);
		return -EREMOTEIO;
	}
	*reply = o;
	return 0;
}

static int dial(const char *dir, char *why)
{
	struct sockaddr_un sun;
	unsigned int len;
	int fd, err;

	if (ctl_sockaddr(dir, &sun, &len)) {
		snprintf(why, VMMIG_ERRLEN, "%s/%s: path too long", dir, CTL_SOCKET);
		return -ENAMETOOLONG;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, len)) {
		err = -errno;
		snprintf(why, VMMIG_ERRLEN, "%s: %s", sun.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

int ctl_open(const char *dir, const struct ctl_request *req, const int *fds, unsigned int nfds,
	     char *why)
{
	int fd = dial(dir, why), err;

	if (fd < 0)
		return fd;
	err = send_req(fd, req, fds, nfds);
	if (!err)
		return fd;
	snprintf(why, VMMIG_ERRLEN, "sending to the VMM: %s", strerror(-err));
	close(fd);
	return err;
}

int ctl_connect(const char *dir, const struct ctl_request *req,
		struct json_object **reply, int timeout_ms, char *why)
{
	char *line = malloc(CTL_LINE_MAX);
	int fd = line ? ctl_open(dir, req, NULL, 0, why) : -ENOMEM, err;

	if (fd < 0) {
		free(line);
		return fd;
	}
	err = ctl_read_line(fd, line, CTL_LINE_MAX, timeout_ms);
	if (err)
		snprintf(why, VMMIG_ERRLEN, "no reply from the VMM: %s",
			 err == -EPIPE ? "it closed the connection" : strerror(-err));
	else
		err = ctl_parse_reply(line, reply, why);
	free(line);
	if (!err)
		return fd;
	close(fd);
	return err;
}

int ctl_call(const char *dir, const struct ctl_request *req,
	     struct json_object **reply, int timeout_ms, char *why)
{
	int fd = ctl_connect(dir, req, reply, timeout_ms, why);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

int ctl_simple(const char *dir, enum ctl_req cmd, struct json_object **reply,
	       int timeout_ms, char *why)
{
	struct ctl_request *r = calloc(1, sizeof(*r));
	int err;

	if (!r) {
		snprintf(why, VMMIG_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	r->cmd = cmd;
	err = ctl_call(dir, r, reply, timeout_ms, why);
	free(r);
	return err;
}
