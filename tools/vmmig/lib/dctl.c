// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "ctl.h"
#include "dctl.h"
#include "jfield.h"

static const char *const cmd_names[DCTL_NCMDS] = {
	"status", "move", "list", "show", "cancel", "monitor", "cluster-add", "cluster-remove",
	"cluster-list", "cluster-features", "check", "network-add", "network-del", "network-set",
	"network-list", "network-any", "stats", "storage-move", "vm-start", "vm-restore",
};

static const struct jfield fields[] = {
	JFIELD(struct dctl_request, "vm", JF_STR, vm),
	JFIELD(struct dctl_request, "to", JF_STR, to),
	JFIELD(struct dctl_request, "detach", JF_BOOL, detach),
	JFIELD(struct dctl_request, "dry_run", JF_BOOL, dry_run),
	JFIELD(struct dctl_request, "network", JF_STR, network),
	JFIELD(struct dctl_request, "priority", JF_U32, priority),
	JFIELD(struct dctl_request, "on", JF_BOOL, on),
	JFIELD(struct dctl_request, "paused", JF_BOOL, paused),
	JFIELD(struct dctl_request, "path", JF_STR, path),
	JFIELD(struct dctl_request, "state_dir", JF_STR, state_dir),
};

const char *dctl_socket(void)
{
	const char *s = getenv("VMMIG_SOCKET");

	return s && *s ? s : DCTL_DEFAULT_SOCKET;
}

struct json_object *dctl_request_to_json(const struct dctl_request *r)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, DCTL_KEY_CMD, json_object_new_string(cmd_names[r->cmd]));
	json_object_object_add(o, DCTL_KEY_VERSION, json_object_new_int(DCTL_VERSION));
	jfield_encode(o, JFIELDS(fields), r);
	if (r->cmd == DCTL_MOVE)
		json_object_object_add(o, DCTL_KEY_MIGRATION, mig_opts_to_json(&r->mig));
	if (r->cmd == DCTL_MOVE || r->cmd == DCTL_CHECK || r->cmd == DCTL_STORAGE_MOVE)
		json_object_object_add(o, DCTL_KEY_STORAGE, mig_storage_to_json(&r->storage));
	return o;
}

int dctl_request_from_json(struct json_object *o, struct dctl_request *r, char *why)
{
	struct json_object *v;
	const char *cmd;
	unsigned int i;

	memset(r, 0, sizeof(*r));
	mig_opts_default(&r->mig);
	if (!o || !json_object_is_type(o, json_type_object)) {
		snprintf(why, VMMIG_ERRLEN, "a request must be a JSON object on one line");
		return -EINVAL;
	}
	if (!json_object_object_get_ex(o, DCTL_KEY_VERSION, &v) ||
	    json_object_get_int(v) != DCTL_VERSION) {
		snprintf(why, VMMIG_ERRLEN, "vmmigd speaks version %d: use the vmmig of this host",
			 DCTL_VERSION);
		return -EPROTONOSUPPORT;
	}
	cmd = json_object_object_get_ex(o, DCTL_KEY_CMD, &v) ? json_object_get_string(v) : "";
	for (i = 0; i < DCTL_NCMDS && strcmp(cmd, cmd_names[i]); i++)
		;
	if (i == DCTL_NCMDS) {
		snprintf(why, VMMIG_ERRLEN, "unknown request '%s'", cmd);
		return -EINVAL;
	}
	r->cmd = i;
	if (json_object_object_get_ex(o, DCTL_KEY_MIGRATION, &v) &&
	    mig_opts_from_json(v, &r->mig, why))
		return -EINVAL;
	if (json_object_object_get_ex(o, DCTL_KEY_STORAGE, &v) &&
	    mig_storage_from_json(v, &r->storage, why))
		return -EINVAL;
	return jfield_decode(o, JFIELDS(fields), r, cmd, why);
}

int dctl_open(const struct dctl_request *r, char *why)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	const char *path = dctl_socket();
	struct json_object *o;
	const char *s;
	int fd, err = 0;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun))) {
		err = -errno;
		if (err == -ENOENT || err == -ECONNREFUSED)
			snprintf(why, VMMIG_ERRLEN, "vmmigd is not running (no %s)", path);
		else
			snprintf(why, VMMIG_ERRLEN, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return err;
	}
	o = dctl_request_to_json(r);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (send(fd, s, strlen(s), MSG_NOSIGNAL) < 0 || send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		err = -errno;
		snprintf(why, VMMIG_ERRLEN, "%s: %s", path, strerror(errno));
		close(fd);
	}
	json_object_put(o);
	return err ? err : fd;
}

int dctl_next(int fd, struct json_object **o, char *why)
{
	char *line = malloc(DCTL_LINE_MAX);
	struct json_object *v;
	int err;

	*o = NULL;
	err = line ? ctl_read_line(fd, line, DCTL_LINE_MAX, -1) : -ENOMEM;
	if (err) {
		snprintf(why, VMMIG_ERRLEN, "vmmigd %s", err == -EPIPE ? "closed the connection" :
			 strerror(-err));
		free(line);
		return err;
	}
	*o = json_tokener_parse(line);
	free(line);
	if (!*o || !json_object_is_type(*o, json_type_object)) {
		json_object_put(*o);
		*o = NULL;
		snprintf(why, VMMIG_ERRLEN, "vmmigd sent a line that is not a JSON object");
		return -EPROTO;
	}
	if (!json_object_object_get_ex(*o, DCTL_KEY_OK, &v))
		return 1;
	if (json_object_get_boolean(v))
		return 0;
	snprintf(why, VMMIG_ERRLEN, "%s", json_object_object_get_ex(*o, DCTL_KEY_ERROR, &v) ?
		 json_object_get_string(v) : "vmmigd refused");
	return -EREMOTEIO;
}
