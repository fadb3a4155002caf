// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig vm save, restore: the VMM writes the state (plain, or live with
 * pre-copy); restore checks the whole file, then starts a VMM from it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "output.h"
#include "vm.h"
#include "vmstate.h"

static char *abs_path(const char *file)
{
	char *copy = strdup(file), *slash, *dir, *out = NULL;
	const char *base;

	if (!copy)
		return NULL;
	slash = strrchr(copy, '/');
	base = slash ? slash + 1 : copy;
	if (slash)
		*slash = '\0';
	dir = realpath(slash ? (*copy ? copy : "/") : ".", NULL);
	if (dir && *base && asprintf(&out, "%s/%s", strcmp(dir, "/") ? dir : "", base) < 0)
		out = NULL;
	free(dir);
	free(copy);
	return out;
}

int vm_save(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "live", no_argument, NULL, 'l' },
		{ "hash", no_argument, NULL, 'h' },
		{}
	};
	struct json_object *req, *rep = NULL;
	char dir[DIR_MAX], why[VMMIG_ERRLEN], *path;
	bool live = false, hash = false;
	int c, err;

	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'l') {
			live = true;
		} else if (c == 'h') {
			hash = true;
		} else {
			error_msg(what, "unknown option '%s'", argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	argv += optind - 1;
	argc -= optind - 1;
	if (argc != 3)
		return object_help("vm", true);
	if (vm_dir(argv[1], dir, sizeof(dir)))
		return EXIT_USAGE;
	path = abs_path(argv[2]);
	if (!path) {
		error_msg(what, "%s: %s", argv[2], strerror(errno ? errno : EINVAL));
		return EXIT_FAIL;
	}
	if (!vmm_alive(dir, NULL)) {
		error_msg(what, "%s is not running", argv[1]);
		free(path);
		return EXIT_FAIL;
	}
	req = json_object_new_object();
	json_object_object_add(req, "cmd", json_object_new_string("save"));
	json_object_object_add(req, "path", json_object_new_string(path));
	json_object_object_add(req, "live", json_object_new_boolean(live));
	json_object_object_add(req, "hash", json_object_new_boolean(hash));
	err = ctl_request(dir, req, &rep, 3600 * 1000, why);
	if (err) {
		error_msg(what, "%s: %s", argv[1], why);
	} else {
		print_string(PRINT_ANY, "file", "saved to %s", path);
		print_uint(PRINT_ANY, "save_us", " in %" PRIu64 " us",
			   reply_u64(rep, NULL, "save_ns") / 1000);
		if (live) {
			print_uint(PRINT_ANY, "rounds", " live: %" PRIu64 " rounds",
				   reply_u64(rep, NULL, "rounds"));
			print_uint(PRINT_ANY, "resent_pages", " resent %" PRIu64 " pages",
				   reply_u64(rep, NULL, "resent_pages"));
			print_uint(PRINT_ANY, "final_pages", " final %" PRIu64 " pages",
				   reply_u64(rep, NULL, "final_pages"));
			print_uint(PRINT_ANY, "downtime_us", " downtime %" PRIu64 " us",
				   reply_u64(rep, NULL, "downtime_ns") / 1000);
		}
		if (hash)
			print_string(PRINT_ANY, "memory_hash", " memory-hash %s",
				     reply_str(rep, NULL, "memory_hash"));
		print_nl();
		output_flush();
		wait_gone(dir, 10000);
	}
	json_object_put(rep);
	free(path);
	return err ? EXIT_FAIL : EXIT_OK;
}

static int restore_parse(int argc, char **argv, const char **name, bool *paused)
{
	static const struct option lo[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "paused", no_argument, NULL, 'p' },
		{}
	};
	int c;

	opterr = 0;
	optind = 0;	/* GNU: start afresh after main()'s own getopt */
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (c == 'n')
			*name = optarg;
		else if (c == 'p')
			*paused = true;
		else {
			error_msg(what, "unknown option '%s'", argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind != argc - 1) {
		error_msg(what, "expected one FILE");
		return -EINVAL;
	}
	return 0;
}

/* The definition from the state file, under its new name if given. */
static int restore_def(const char *file, const char *name, struct vmdef *d)
{
	struct json_object *o;
	char why[VMMIG_ERRLEN], *text;
	int err;

	err = vmstate_check_file(file, &text, why);
	if (err) {
		error_msg(what, "%s: %s", file, why);
		return err;
	}
	o = json_tokener_parse(text);
	free(text);
	err = o ? vmdef_from_json(d, o, why) : (snprintf(why, sizeof(why), "bad definition"), -EINVAL);
	json_object_put(o);
	if (!err && name && vmdef_check_name(name, why))
		err = -EINVAL;
	if (err) {
		error_msg(what, "%s: %s", file, why);
		return err;
	}
	if (name)
		snprintf(d->name, sizeof(d->name), "%s", name);
	return 0;
}

int vm_restore(int argc, char **argv)
{
	const char *name = NULL;
	char dir[DIR_MAX], *path;
	bool paused = false, created = false;
	struct vmdef d = {};
	int err;

	if (restore_parse(argc, argv, &name, &paused))
		return object_help("vm", true);
	path = abs_path(argv[argc - 1]);
	if (!path) {
		error_msg(what, "%s: %s", argv[argc - 1], strerror(errno ? errno : EINVAL));
		return EXIT_FAIL;
	}
	err = restore_def(path, name, &d);
	if (!err)
		err = vm_dir(d.name, dir, sizeof(dir));
	if (!err && exists(dir, "vm.json")) {
		enum vm_state state = state_of(dir, NULL, 0);

		if (is_live(state)) {
			error_msg(what, "%s is already %s", d.name, state_names[state]);
			err = -EBUSY;
		}
	} else if (!err) {
		err = write_new_vm(&d, dir, sizeof(dir));
		created = !err;
	}
	if (!err)
		err = spawn_vmm(dir, path, paused);
	if (err && created)
		remove_vm_dir(dir);
	vmdef_free(&d);
	free(path);
	return err ? EXIT_FAIL : EXIT_OK;
}
