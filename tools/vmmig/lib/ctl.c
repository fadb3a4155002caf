// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ctl.h"
#include "vmdef.h"

int ctl_sockaddr(const char *dir, void *p, unsigned int *len)
{
	struct sockaddr_un *sun = p;
	int n;

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	n = snprintf(sun->sun_path, sizeof(sun->sun_path), "%s/%s", dir, CTL_SOCKET);
	if (n >= (int)sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	*len = sizeof(*sun);
	return 0;
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

static int send_req(int fd, const struct ctl_request *r)
{
	struct json_object *req = ctl_request_to_json(r);
	const char *s = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(s);
	int err = 0;

	if (write(fd, s, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		err = errno ? -errno : -EIO;
	json_object_put(req);
	return err;
}

static int parse_reply(const char *line, struct json_object **reply, char *why)
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

int ctl_connect(const char *dir, const struct ctl_request *req,
		struct json_object **reply, int timeout_ms, char *why)
{
	struct sockaddr_un sun;
	unsigned int len;
	char *line = NULL;
	int fd = -1, err;

	err = ctl_sockaddr(dir, &sun, &len);
	if (err) {
		snprintf(why, VMMIG_ERRLEN, "%s/%s: path too long", dir, CTL_SOCKET);
		return err;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, len)) {
		err = -errno;
		snprintf(why, VMMIG_ERRLEN, "%s: %s", sun.sun_path, strerror(errno));
		goto out;
	}
	line = malloc(CTL_LINE_MAX);
	err = line ? send_req(fd, req) : -ENOMEM;
	if (!err)
		err = ctl_read_line(fd, line, CTL_LINE_MAX, timeout_ms);
	if (err) {
		snprintf(why, VMMIG_ERRLEN, "no reply from the VMM: %s",
			 err == -EPIPE ? "it closed the connection" : strerror(-err));
		goto out;
	}
	err = parse_reply(line, reply, why);
out:
	free(line);
	if (!err)
		return fd;
	if (fd >= 0)
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
