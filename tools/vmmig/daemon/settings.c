// SPDX-License-Identifier: GPL-2.0
/*
 * Host settings (migration on|off, max-migrations, max-storage-migrations)
 * live in vmmig.ko, per network namespace, where `vmmig host set` changes
 * them and every tool sees them. vmmigd keeps them across restarts: it
 * applies its file to the module at start and whenever the module comes
 * back (nlctrl's NEWFAMILY), and writes the file whenever the module says
 * they changed (VMMIG_CMD_HOST_NTF).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <linux/genetlink.h>

#include "host.h"
#include "jfield.h"
#include "nl.h"
#include "vmmigd.h"

struct file_settings {
	bool migration;
	uint32_t max_migrations;
	uint32_t max_storage_migrations;
};

static const struct jfield fields[] = {
	JFIELD(struct file_settings, "migration", JF_BOOL, migration),
	JFIELD(struct file_settings, "max_migrations", JF_U32, max_migrations),
	JFIELD(struct file_settings, "max_storage_migrations", JF_U32, max_storage_migrations),
};

static int save(const struct vmmig_host *h)
{
	struct file_settings s = {
		.migration = h->migration, .max_migrations = h->max_migrations,
		.max_storage_migrations = h->max_storage_migrations,
	};
	struct json_object *o = json_object_new_object();
	char dir[4096], *slash;
	int err;

	snprintf(dir, sizeof(dir), "%s", vmmigd.settings_path);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0755);
	}
	jfield_encode(o, JFIELDS(fields), &s);
	err = write_file_atomic(vmmigd.settings_path,
				json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	return err;
}

/* The file into the module; nothing to do without a file. */
static int apply(char *why)
{
	struct file_settings s = { 0 };
	struct vmmig_host_settings hs;
	struct json_object *o;
	struct vmmig_nl nl;
	char *text;
	int err;

	if (read_file(vmmigd.settings_path, &text))
		return errno == ENOENT ? 0 : -errno;
	o = json_tokener_parse(text);
	free(text);
	err = o ? jfield_decode(o, JFIELDS(fields), &s, vmmigd.settings_path, why) : -EINVAL;
	json_object_put(o);
	if (err) {
		if (!o)
			snprintf(why, VMMIG_ERRLEN, "%s: not JSON", vmmigd.settings_path);
		return err;
	}
	hs = (struct vmmig_host_settings){
		.has_migration = true, .migration = s.migration,
		.has_max_migrations = s.max_migrations > 0, .max_migrations = s.max_migrations,
		.has_max_storage_migrations = s.max_storage_migrations > 0,
		.max_storage_migrations = s.max_storage_migrations,
	};
	err = vmmig_nl_open(&nl);
	if (err) {
		snprintf(why, VMMIG_ERRLEN, "vmmig.ko is not loaded: settings not applied");
		return err;
	}
	err = vmmig_host_set(&nl, &hs);
	if (err)
		snprintf(why, VMMIG_ERRLEN, "applying %s: %s", vmmigd.settings_path,
			 vmmig_nl_strerror(&nl, err));
	vmmig_nl_close(&nl);
	return err;
}

int settings_load_apply(char *why)
{
	return apply(why);
}

static int host_get(struct vmmig_host *h)
{
	struct vmmig_nl nl;
	int err = vmmig_nl_open(&nl);

	if (err)
		return err;
	err = vmmig_host_get(&nl, h);
	vmmig_nl_close(&nl);
	return err;
}

bool settings_migration_enabled(char *why)
{
	struct vmmig_host h;

	if (host_get(&h)) {
		snprintf(why, VMMIG_ERRLEN, "%s cannot migrate: vmmig.ko is not loaded", vmmigd.host);
		return false;
	}
	if (!h.migration) {
		snprintf(why, VMMIG_ERRLEN,
			 "live migration is off on %s (vmmig host set migration on)", vmmigd.host);
		return false;
	}
	return true;
}

unsigned int settings_max_migrations(void)
{
	struct vmmig_host h;

	return host_get(&h) ? 2 : h.max_migrations;
}

unsigned int settings_max_storage_migrations(void)
{
	struct vmmig_host h;

	return host_get(&h) ? 2 : h.max_storage_migrations;
}

static int on_message(struct nl_msg *msg, void *arg)
{
	struct nlmsghdr *hdr = nlmsg_hdr(msg);
	struct genlmsghdr *gh = nlmsg_data(hdr);
	int family = *(int *)arg;
	char why[VMMIG_ERRLEN] = "";

	if (hdr->nlmsg_type == GENL_ID_CTRL && gh->cmd == CTRL_CMD_NEWFAMILY) {
		struct nlattr *a[CTRL_ATTR_MAX + 1];

		if (!genlmsg_parse(hdr, 0, a, CTRL_ATTR_MAX, NULL) && a[CTRL_ATTR_FAMILY_NAME] &&
		    !strcmp(nla_get_string(a[CTRL_ATTR_FAMILY_NAME]), VMMIG_GENL_NAME)) {
			if (apply(why))
				event(EV_SETTINGS, NULL, "vmmig.ko loaded; settings not applied: %s", why);
			else
				event(EV_SETTINGS, NULL, "vmmig.ko loaded: host settings applied");
			cluster_apply();
		}
	} else if (hdr->nlmsg_type == family && gh->cmd == VMMIG_CMD_HOST_NTF) {
		struct nlattr *a[VMMIG_HOST_A_MAX + 1];
		struct vmmig_host h;

		if (genlmsg_parse(hdr, 0, a, VMMIG_HOST_A_MAX, vmmig_host_policy) ||
		    vmmig_host_parse(a, &h))
			return NL_SKIP;
		if (save(&h))
			event(EV_SETTINGS, NULL, "cannot write %s: %s", vmmigd.settings_path,
			      strerror(errno));
		else
			event(EV_SETTINGS, NULL, "host settings: migration %s, max-migrations %u, max-storage-migrations %u",
			      h.migration ? "on" : "off", h.max_migrations, h.max_storage_migrations);
	}
	return NL_OK;
}

/* The module's events; without the module, only its arrival. */
void *settings_watch(void *arg)
{
	struct nl_sock *sk = nl_socket_alloc();
	int ctrl, events = -1, family = -1;
	struct vmmig_nl nl;
	struct vmmig_host h;

	if (!sk || genl_connect(sk) < 0)
		return NULL;
	ctrl = genl_ctrl_resolve_grp(sk, "nlctrl", "notify");
	nl_socket_disable_seq_check(sk);
	nl_socket_modify_cb(sk, NL_CB_VALID, NL_CB_CUSTOM, on_message, &family);
	if (ctrl >= 0)
		nl_socket_add_memberships(sk, ctrl, 0);
	for (;;) {
		if (events < 0 && !vmmig_nl_open(&nl)) {
			family = nl.family;
			events = vmmig_nl_group(&nl, VMMIG_GENL_NAME, VMMIG_MCGRP_EVENTS);
			vmmig_nl_close(&nl);
			if (events >= 0)
				nl_socket_add_memberships(sk, events, 0);
			/* Settings never saved: what the module has now. */
			if (access(vmmigd.settings_path, F_OK) && !host_get(&h))
				save(&h);
		}
		if (nl_recvmsgs_default(sk) < 0 && events >= 0 && host_get(&h)) {
			/* The module went away: join its group again when it is back. */
			nl_socket_drop_memberships(sk, events, 0);
			events = -1;
		}
	}
	return NULL;
}
