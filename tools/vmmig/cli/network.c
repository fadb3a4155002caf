// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig network add|del|set|list: the migration networks of this host's
 * vmmigd, each with a priority (Hyper-V's Add-VMMigrationNetwork);
 * Documentation/admin-guide/networks.rst.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "dctl.h"
#include "output.h"
#include "parse.h"
#include "vmmig.h"

static int print_networks(struct json_object *reply)
{
	struct json_object *o, *a, *e, *v;
	size_t i;

	if (!json_object_object_get_ex(reply, DCTL_KEY_NETWORKS, &o)) {
		error_msg(what, "vmmigd sent no networks");
		return EXIT_FAIL;
	}
	if (output_is_json()) {
		print_json_line(o);
		return EXIT_OK;
	}
	json_object_object_get_ex(o, "networks", &a);
	printf("%-24s %-8s %-24s %s\n", "NETWORK", "PRIORITY", "ADDRESS", "DEVICE");
	for (i = 0; a && i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		printf("%-24s %-8ju %-24s %s\n", jget_str(e, "network"),
		       (uintmax_t)jget_u64(e, "priority"),
		       *jget_str(e, "address") ? jget_str(e, "address") : "(none here)",
		       jget_str(e, "interface"));
	}
	printf("use-any-network %s\n",
	       json_object_object_get_ex(o, "use_any_network", &v) && json_object_get_boolean(v) ?
	       "on" : "off");
	return EXIT_OK;
}

static int call(struct dctl_request *r)
{
	struct json_object *o;
	int err;

	if (vmmigd_call(r, &o))
		return EXIT_FAIL;
	err = print_networks(o);
	json_object_put(o);
	return err;
}

static int parse_priority(const char *s, uint32_t *out)
{
	char why[VMMIG_ERRLEN];

	if (parse_u32("priority", s, 1, 1000, out, why))
		return usage_error("%s", why);
	return 0;
}

/* NETWORK as the only argument, into @r. */
static int network_arg(int argc, char **argv, struct dctl_request *r)
{
	int err = cmd_args(argc, argv, "ADDR/PREFIX");

	if (err)
		return err;
	if (strlen(argv[optind]) >= sizeof(r->network))
		return usage_error("'%s' is not ADDR/PREFIX", argv[optind]);
	strcpy(r->network, argv[optind]);
	return 0;
}

static int network_add(int argc, char **argv)
{
	static const struct option lo[] = { { "priority", required_argument, NULL, 'p' }, {} };
	struct dctl_request r = { .cmd = DCTL_NETWORK_ADD };
	int opt, err;

	while ((opt = cmd_getopt(argc, argv, lo)) != -1) {
		if (opt != 'p')
			return EXIT_USAGE;
		err = parse_priority(optarg, &r.priority);
		if (err)
			return err;
	}
	err = network_arg(argc, argv, &r);
	return err ? err : call(&r);
}

static int network_del(int argc, char **argv)
{
	struct dctl_request r = { .cmd = DCTL_NETWORK_DEL };
	int err = cmd_no_options(argc, argv, "ADDR/PREFIX");

	if (!err)
		err = network_arg(argc, argv, &r);
	return err ? err : call(&r);
}

static int network_set(int argc, char **argv)
{
	struct dctl_request r = { .cmd = DCTL_NETWORK_SET };
	int err = cmd_no_options(argc, argv, "ADDR/PREFIX priority N");

	if (err)
		return err;
	if (strcmp(argv[optind + 1], "priority"))
		return usage_error("unknown setting '%s' (priority)", argv[optind + 1]);
	if (strlen(argv[optind]) >= sizeof(r.network))
		return usage_error("'%s' is not ADDR/PREFIX", argv[optind]);
	strcpy(r.network, argv[optind]);
	err = parse_priority(argv[optind + 2], &r.priority);
	return err ? err : call(&r);
}

static int network_list(int argc, char **argv)
{
	struct dctl_request r = { .cmd = DCTL_NETWORK_LIST };
	int err = cmd_no_options(argc, argv, "");

	return err ? err : call(&r);
}

int network_use_any(bool on)
{
	struct dctl_request r = { .cmd = DCTL_NETWORK_ANY, .on = on };
	struct json_object *o;

	if (vmmigd_call(&r, &o))
		return EXIT_FAIL;
	json_object_put(o);
	return EXIT_OK;
}

static const struct cmd add_cmd = {
	.name = "add", .fn = network_add, .args = "ADDR/PREFIX [--priority N]",
	.help = "[admin] Adds a migration network: a subnet this host has an address\n"
		"in, over which moves' streams go. Priority 1 is the best (1..1000);\n"
		"without --priority, after every other network. A move takes the best\n"
		"network both hosts have, and falls back to the next when it does not\n"
		"answer, with an event\n",
};
static const struct cmd del_cmd = {
	.name = "del", .fn = network_del, .args = "ADDR/PREFIX",
	.help = "[admin] Removes a migration network\n",
};
static const struct cmd set_cmd = {
	.name = "set", .fn = network_set, .args = "ADDR/PREFIX priority N",
	.help = "[admin] Changes a migration network's priority\n",
};
static const struct cmd list_cmd = {
	.name = "list", .fn = network_list, .args = "",
	.help = "The migration networks, best first, with this host's address and\n"
		"device in each, and use-any-network\n",
};
static const struct cmd *const network_cmds[] = { &add_cmd, &del_cmd, &set_cmd, &list_cmd };
static const struct cmd_table network_table = CMD_TABLE("network", network_cmds, "list", NULL);

const struct cmd network_cmd = {
	.name = "network",
	.args = "{ add ADDR/PREFIX [--priority N] | del ADDR/PREFIX | set ADDR/PREFIX priority N | list }",
	.help = "The networks moves take, by priority, with fallback (vmmigd)\n",
	.sub = &network_table,
};

static void print_counts(struct json_object *e)
{
	char tx[32], rx[32];

	printf("tx %s in %ju packets, rx %s in %ju packets, %ju retransmits",
	       fmt_size(jget_u64(e, "tx_bytes"), tx, sizeof(tx)), (uintmax_t)jget_u64(e, "tx_packets"),
	       fmt_size(jget_u64(e, "rx_bytes"), rx, sizeof(rx)), (uintmax_t)jget_u64(e, "rx_packets"),
	       (uintmax_t)jget_u64(e, "retransmits"));
}

static int stats_main(int argc, char **argv)
{
	struct dctl_request r = { .cmd = DCTL_STATS };
	struct json_object *o, *s, *b, *a, *e, *v;
	int err = cmd_no_options(argc, argv, "");
	size_t i;

	if (err)
		return err;
	if (vmmigd_call(&r, &o))
		return EXIT_FAIL;
	if (!json_object_object_get_ex(o, DCTL_KEY_STATS, &s)) {
		json_object_put(o);
		error_msg(what, "vmmigd sent no counters");
		return EXIT_FAIL;
	}
	if (output_is_json()) {
		print_json_line(s);
		json_object_put(o);
		return EXIT_OK;
	}
	json_object_object_get_ex(s, "bpf", &b);
	if (json_object_object_get_ex(b, "loaded", &v) && json_object_get_boolean(v))
		printf("eBPF: loaded, pinned under %s\n", jget_str(b, "pinned"));
	else
		printf("eBPF: not loaded: %s\n", jget_str(b, "error"));
	json_object_object_get_ex(s, "networks", &a);
	for (i = 0; a && i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		printf("network %s: ", jget_str(e, "network"));
		print_counts(e);
		printf("\n");
	}
	json_object_object_get_ex(s, "streams", &a);
	for (i = 0; a && i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		printf("  migration %ju %s stream %ju over %s: ", (uintmax_t)jget_u64(e, "migration"),
		       jget_str(e, "vm"), (uintmax_t)jget_u64(e, "index"), jget_str(e, "network"));
		print_counts(e);
		printf(", RTT %ju us\n", (uintmax_t)jget_u64(e, "srtt_us"));
	}
	json_object_put(o);
	return EXIT_OK;
}

const struct cmd stats_cmd = {
	.name = "stats",
	.fn = stats_main,
	.args = "",
	.help = "Migration traffic as the kernel saw it (vmmigd's eBPF programs): per\n"
		"migration network, the TCP payload and packets out and in and the\n"
		"retransmits of every stream that used it; then each running stream\n"
		"with its smoothed RTT\n",
};
