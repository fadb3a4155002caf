// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig cluster add|remove|list|features: the hosts this host's vmmigd
 * moves VMs between, and their common CPU feature set
 * (Documentation/admin-guide/cpu-compat.rst).
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dctl.h"
#include "output.h"
#include "vmmig.h"

static bool jget_bool(struct json_object *o, const char *key)
{
	struct json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static const char *ago(uint64_t t, char *buf, size_t len)
{
	uint64_t now = (uint64_t)time(NULL), d = now > t ? now - t : 0;

	if (!t)
		snprintf(buf, len, "never");
	else if (d < 2)
		snprintf(buf, len, "now");
	else if (d < 120)
		snprintf(buf, len, "%" PRIu64 " s ago", d);
	else if (d < 7200)
		snprintf(buf, len, "%" PRIu64 " min ago", d / 60);
	else
		snprintf(buf, len, "%" PRIu64 " h ago", d / 3600);
	return buf;
}

static int request(enum dctl_cmd cmd, const char *host, struct json_object **o)
{
	struct dctl_request r = { .cmd = cmd };

	if (host)
		snprintf(r.to, sizeof(r.to), "%s", host);
	return vmmigd_call(&r, o) ? EXIT_FAIL : EXIT_OK;
}

static int print_members(struct json_object *o)
{
	struct json_object *a, *m;
	char seen[32];
	size_t i;

	if (!json_object_object_get_ex(o, DCTL_KEY_MEMBERS, &a))
		return EXIT_FAIL;
	if (output_is_json()) {
		print_json_line(a);
		return EXIT_OK;
	}
	printf("%-20s %-24s %-12s %-13s %s\n", "HOST", "ADDRESS", "STATE", "VENDOR", "LAST SEEN");
	for (i = 0; i < json_object_array_length(a); i++) {
		m = json_object_array_get_idx(a, i);
		printf("%-20s %-24s %-12s %-13s %s", jget_str(m, "host"),
		       jget_bool(m, "self") ? "(this host)" : jget_str(m, "address"),
		       jget_bool(m, "reachable") ? "up" : "unreachable", jget_str(m, "vendor"),
		       ago(jget_u64(m, "last_seen"), seen, sizeof(seen)));
		if (*jget_str(m, "error"))
			printf(": %s", jget_str(m, "error"));
		printf("\n");
	}
	return EXIT_OK;
}

static int cluster_add_remove(int argc, char **argv, enum dctl_cmd cmd)
{
	struct json_object *o;
	int err = cmd_no_options(argc, argv, "HOST");

	if (err)
		return err;
	err = request(cmd, argv[optind], &o);
	if (!err)
		err = print_members(o);
	json_object_put(o);
	return err;
}

static int cluster_add(int argc, char **argv)
{
	return cluster_add_remove(argc, argv, DCTL_CLUSTER_ADD);
}

static int cluster_remove(int argc, char **argv)
{
	return cluster_add_remove(argc, argv, DCTL_CLUSTER_REMOVE);
}

static int cluster_list(int argc, char **argv)
{
	struct json_object *o;
	int err = cmd_no_options(argc, argv, "");

	if (!err)
		err = request(DCTL_CLUSTER_LIST, NULL, &o);
	if (!err)
		err = print_members(o);
	if (!err)
		json_object_put(o);
	return err;
}

/* A JSON array of names, wrapped after 76 columns, indented by two. */
static void print_names(struct json_object *a)
{
	size_t i, col = 0, n;

	for (i = 0; i < json_object_array_length(a); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(a, i));

		n = strlen(s) + 1;
		if (!col || col + n > 76) {
			printf("%s  ", col ? "\n" : "");
			col = 2;
		} else {
			printf(" ");
		}
		printf("%s", s);
		col += n;
	}
	printf("%s", col ? "\n" : "");
}

static int cluster_features(int argc, char **argv)
{
	struct json_object *o, *f, *a, *h, *l;
	int err = cmd_no_options(argc, argv, "");
	size_t i;

	if (!err)
		err = request(DCTL_CLUSTER_FEATURES, NULL, &o);
	if (err)
		return err;
	if (!json_object_object_get_ex(o, DCTL_KEY_FEATURES, &f)) {
		json_object_put(o);
		return EXIT_FAIL;
	}
	if (output_is_json()) {
		print_json_line(f);
		json_object_put(o);
		return EXIT_OK;
	}
	if (json_object_object_get_ex(f, "common", &a)) {
		printf("common to %" PRIu64 " host%s of %s: %zu features\n",
		       jget_u64(f, "hosts_counted"), jget_u64(f, "hosts_counted") == 1 ? "" : "s",
		       jget_str(f, "vendor"), json_object_array_length(a));
		print_names(a);
	} else {
		printf("no features known: is vmmig.ko loaded, with KVM?\n");
	}
	json_object_object_get_ex(f, "hosts", &a);
	for (i = 0; a && i < json_object_array_length(a); i++) {
		h = json_object_array_get_idx(a, i);
		if (!jget_bool(h, "counted")) {
			printf("%s: not counted: %s\n", jget_str(h, "host"), jget_str(h, "why"));
			continue;
		}
		json_object_object_get_ex(h, "lacks", &l);
		printf("%s: %" PRIu64 " features, lacks %s\n", jget_str(h, "host"),
		       jget_u64(h, "features"),
		       json_object_array_length(l) ? "(against the union):" : "none");
		print_names(l);
	}
	json_object_put(o);
	return EXIT_OK;
}

static const struct cmd add_cmd = {
	.name = "add", .fn = cluster_add, .args = "HOST[:PORT]",
	.help = "Adds the host at HOST (its vmmigd, over the hosts' mutual TLS) to\n"
		"this host's cluster: both count each other as members from then on,\n"
		"and each learns the other's members. The common feature set is\n"
		"computed again and set in vmmig.ko as the common-cluster mask\n",
};
static const struct cmd remove_cmd = {
	.name = "remove", .fn = cluster_remove, .args = "HOST",
	.help = "Removes member HOST (its name, as 'cluster list' shows it): every\n"
		"member forgets it, and it is left alone\n",
};
static const struct cmd list_cmd = {
	.name = "list", .fn = cluster_list, .args = "",
	.help = "The members: address, whether vmmigd reaches them now, CPU vendor,\n"
		"when last seen and, when not reachable, why\n",
};
static const struct cmd features_cmd = {
	.name = "features", .fn = cluster_features, .args = "",
	.help = "The cluster's common CPU feature set by name (what VMs in\n"
		"common-cluster mode see), and what each member lacks against the\n"
		"union of all members' features\n",
};
static const struct cmd *const cluster_cmds[] = { &add_cmd, &remove_cmd, &list_cmd, &features_cmd };
static const struct cmd_table cluster_table = CMD_TABLE("cluster", cluster_cmds, "list", NULL);

const struct cmd cluster_cmd = {
	.name = "cluster",
	.args = "{ add HOST | remove HOST | list | features }",
	.help = "The hosts VMs move between and their common CPU features (vmmigd)\n",
	.sub = &cluster_table,
};
