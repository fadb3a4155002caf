// SPDX-License-Identifier: GPL-2.0
/* The CLI's side of vmmigd's socket (lib/dctl.h), shared by its objects. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "dctl.h"
#include "vmmig.h"

int vmmigd_call(const struct dctl_request *r, struct json_object **reply)
{
	char why[VMMIG_ERRLEN];
	int fd, err;

	*reply = NULL;
	fd = dctl_open(r, why);
	if (fd < 0) {
		error_msg(what, "%s", why);
		return -1;
	}
	err = dctl_next(fd, reply, why);
	close(fd);
	if (err) {
		json_object_put(*reply);
		*reply = NULL;
		error_msg(what, "%s", err > 0 ? "vmmigd sent no reply" : why);
		return -1;
	}
	return 0;
}

uint64_t jget_u64(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_uint64(v) : 0;
}

const char *jget_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

void print_json_line(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
}

int storage_option(int c, const char *arg, struct mig_storage *st)
{
	char why[VMMIG_ERRLEN];

	switch (c) {
	case OPT_INCLUDE_STORAGE:
		st->include = true;
		return 0;
	case OPT_STORAGE_PATH:
		if (arg[0] != '/' || strlen(arg) >= sizeof(st->path))
			return usage_error("--storage-path '%s': an absolute path of at most %zu bytes",
					   arg, sizeof(st->path) - 1);
		snprintf(st->path, sizeof(st->path), "%s", arg);
		/* No slash at the end: DIR/NAME stays one path. */
		while (strlen(st->path) > 1 && st->path[strlen(st->path) - 1] == '/')
			st->path[strlen(st->path) - 1] = '\0';
		return 0;
	case OPT_DISK:
		return mig_storage_add_map(st, arg, why) ? usage_error("%s", why) : 0;
	case OPT_KEEP_SOURCE:
		st->keep_source = true;
		return 0;
	}
	return -1;
}

int vm_and_to(int argc, char **argv, struct dctl_request *r)
{
	char why[VMMIG_ERRLEN];
	int err = cmd_args(argc, argv, "NAME");

	if (err)
		return err;
	if (vmdef_check_name(argv[optind], why))
		return usage_error("%s", why);
	snprintf(r->vm, sizeof(r->vm), "%s", argv[optind]);
	if (!r->to[0])
		return usage_error("where to? --to HOST");
	return 0;
}
