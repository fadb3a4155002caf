// SPDX-License-Identifier: GPL-2.0
/*
 * vmmig monitor: prints the "events" multicast group of vmmig.ko, and follows
 * the module across unload and reload through the generic netlink
 * controller's own notifications.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/genetlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>

#include <time.h>
#include <unistd.h>

#include "dctl.h"
#include "output.h"
#include "parse.h"
#include "vmmig.h"

struct monitor {
	struct nl_sock *sk;
	int family;		/* current id of "vmmig", 0 while unloaded */
	int err;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static struct nla_policy module_policy[VMMIG_MODULE_A_MAX + 1] = {
	[VMMIG_MODULE_A_NAME] = { .type = NLA_NUL_STRING },
	[VMMIG_MODULE_A_STATE] = { .type = NLA_U32 },
	[VMMIG_MODULE_A_VERSION] = { .type = NLA_NUL_STRING },
};

static void print_module_event(const char *name, uint32_t state,
			       const char *version)
{
	print_string(PRINT_ANY, "event", "%s", "module");
	print_string(PRINT_ANY, "name", " %s", name);
	print_string(PRINT_ANY, "state", " %s", vmmig_module_state_name(state));
	if (version)
		print_string(PRINT_ANY, "version", " version %s", version);
	print_nl();
	output_flush();
}

static int vmmig_event(struct nlmsghdr *hdr)
{
	struct genlmsghdr *gh = nlmsg_data(hdr);
	struct nlattr *attrs[VMMIG_HOST_A_MAX + VMMIG_MODULE_A_MAX + 1];
	struct vmmig_host host;

	switch (gh->cmd) {
	case VMMIG_CMD_HOST_NTF:
		if (genlmsg_parse(hdr, 0, attrs, VMMIG_HOST_A_MAX,
				  vmmig_host_policy) ||
		    vmmig_host_parse(attrs, &host))
			return -EBADMSG;
		print_string(PRINT_ANY, "event", "%s ", "host");
		if (output_is_json()) {
			open_object("host");
			print_host(&host);
			close_object();
		} else {
			print_host_settings(&host);
		}
		print_nl();
		output_flush();
		return 0;
	case VMMIG_CMD_MODULE_NTF:
		if (genlmsg_parse(hdr, 0, attrs, VMMIG_MODULE_A_MAX,
				  module_policy) ||
		    !attrs[VMMIG_MODULE_A_NAME] || !attrs[VMMIG_MODULE_A_STATE])
			return -EBADMSG;
		print_module_event(nla_get_string(attrs[VMMIG_MODULE_A_NAME]),
				   nla_get_u32(attrs[VMMIG_MODULE_A_STATE]),
				   attrs[VMMIG_MODULE_A_VERSION] ?
				   nla_get_string(attrs[VMMIG_MODULE_A_VERSION]) :
				   NULL);
		return 0;
	}
	/* Events from a newer module than this CLI: not an error. */
	return 0;
}

static int family_group(struct nlattr *groups, const char *want)
{
	struct nlattr *g, *a[CTRL_ATTR_MCAST_GRP_MAX + 1];
	int rem;

	nla_for_each_nested(g, groups, rem) {
		if (nla_parse_nested(a, CTRL_ATTR_MCAST_GRP_MAX, g, NULL) ||
		    !a[CTRL_ATTR_MCAST_GRP_NAME] || !a[CTRL_ATTR_MCAST_GRP_ID])
			continue;
		if (!strcmp(nla_get_string(a[CTRL_ATTR_MCAST_GRP_NAME]), want))
			return nla_get_u32(a[CTRL_ATTR_MCAST_GRP_ID]);
	}
	return -ENOENT;
}

/* vmmig.ko (re)appeared: follow its new family and group ids. */
static int family_arrived(struct monitor *m, struct nlattr **a)
{
	struct vmmig_host host;
	struct vmmig_nl nl;
	int grp, err;

	if (!a[CTRL_ATTR_FAMILY_ID] || !a[CTRL_ATTR_MCAST_GROUPS])
		return -EBADMSG;
	grp = family_group(a[CTRL_ATTR_MCAST_GROUPS], VMMIG_MCGRP_EVENTS);
	if (grp < 0)
		return grp;
	err = nl_socket_add_membership(m->sk, grp);
	if (err < 0)
		return -EPROTO;
	m->family = nla_get_u16(a[CTRL_ATTR_FAMILY_ID]);
	err = vmmig_nl_open(&nl);
	if (!err) {
		err = vmmig_host_get(&nl, &host);
		vmmig_nl_close(&nl);
	}
	print_module_event(VMMIG_GENL_NAME, VMMIG_MODULE_LIVE,
			   err ? NULL : host.module_version);
	return 0;
}

static int ctrl_event(struct monitor *m, struct nlmsghdr *hdr)
{
	struct genlmsghdr *gh = nlmsg_data(hdr);
	struct nlattr *a[CTRL_ATTR_MAX + 1];

	if (gh->cmd != CTRL_CMD_NEWFAMILY && gh->cmd != CTRL_CMD_DELFAMILY)
		return 0;
	if (genlmsg_parse(hdr, 0, a, CTRL_ATTR_MAX, NULL) ||
	    !a[CTRL_ATTR_FAMILY_NAME] ||
	    strcmp(nla_get_string(a[CTRL_ATTR_FAMILY_NAME]), VMMIG_GENL_NAME))
		return 0;
	if (gh->cmd == CTRL_CMD_DELFAMILY) {
		/* The kernel drops our group membership with the family. */
		m->family = 0;
		return 0;
	}
	return family_arrived(m, a);
}

static int monitor_valid(struct nl_msg *msg, void *arg)
{
	struct monitor *m = arg;
	struct nlmsghdr *hdr = nlmsg_hdr(msg);
	int err = 0;

	if (hdr->nlmsg_type == GENL_ID_CTRL)
		err = ctrl_event(m, hdr);
	else if (m->family && hdr->nlmsg_type == m->family)
		err = vmmig_event(hdr);
	if (err) {
		m->err = err;
		return NL_STOP;
	}
	return NL_OK;
}

/* vmmigd's events, when it runs: the connection, or -1. */
static int daemon_events(void)
{
	struct dctl_request r = { .cmd = DCTL_MONITOR };
	struct json_object *o;
	char why[VMMIG_ERRLEN];
	int fd = dctl_open(&r, why);

	if (fd < 0)
		return -1;
	if (dctl_next(fd, &o, why)) {
		close(fd);
		fd = -1;
	}
	json_object_put(o);
	return fd;
}

/* One line from vmmigd; non-zero when it went away. */
static int daemon_event(int fd)
{
	struct json_object *o, *e;
	char why[VMMIG_ERRLEN];
	int err = dctl_next(fd, &o, why);

	if (err == 1 && json_object_object_get_ex(o, DCTL_KEY_EVENT, &e)) {
		struct json_object *v;

		print_string(PRINT_ANY, "event", "%s", "migration");
		if (output_is_json()) {
			open_object("migration");
			json_object_object_foreach(e, k, val) {
				(void)val;
				print_string(PRINT_JSON, k, NULL, json_object_get_string(val));
			}
			close_object();
		} else {
			print_string(PRINT_FP, NULL, " %s", json_object_object_get_ex(e, "id", &v) ?
				     json_object_get_string(v) : "?");
			print_string(PRINT_FP, NULL, " %s", json_object_object_get_ex(e, "message", &v) ?
				     json_object_get_string(v) : "");
		}
		print_nl();
		output_flush();
	}
	json_object_put(o);
	return err < 0;
}

/* Bytes per second of @key between two samples of one stream or network. */
static double rate(struct json_object *now, struct json_object *before, const char *key,
		   double secs)
{
	uint64_t a = jget_u64(now, key), b = before ? jget_u64(before, key) : a;

	return secs > 0 && a >= b ? (a - b) / secs : 0;
}

/* The element of array @a whose @key1 (and @key2) equal @e's, or NULL. */
static struct json_object *same(struct json_object *a, struct json_object *e, const char *key1,
				const char *key2)
{
	size_t i;

	for (i = 0; a && i < json_object_array_length(a); i++) {
		struct json_object *x = json_object_array_get_idx(a, i);

		if (!strcmp(jget_str(x, key1), jget_str(e, key1)) &&
		    (!key2 || jget_u64(x, key2) == jget_u64(e, key2)))
			return x;
	}
	return NULL;
}

/*
 * monitor --traffic: the migration traffic vmmigd's eBPF programs see,
 * every @interval seconds: per network and per running stream, MB/s out
 * and in, the stream's RTT and retransmits.
 */
static int traffic(unsigned int interval, unsigned int count)
{
	struct dctl_request r = { .cmd = DCTL_STATS };
	struct json_object *prev = NULL, *o, *s, *a, *pa, *e, *p, *b, *v;
	struct timespec ts;
	double t, prev_t = 0;
	unsigned int n;
	size_t i;

	for (n = 0; !stop && (!count || n <= count); n++) {
		if (vmmigd_call(&r, &o))
			return EXIT_FAIL;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t = ts.tv_sec + ts.tv_nsec / 1e9;
		json_object_object_get_ex(o, DCTL_KEY_STATS, &s);
		if (n && output_is_json()) {
			print_json_line(s);
		} else if (n) {
			double secs = t - prev_t;
			struct json_object *ps = NULL;

			json_object_object_get_ex(prev, DCTL_KEY_STATS, &ps);
			json_object_object_get_ex(s, "bpf", &b);
			if (!json_object_object_get_ex(b, "loaded", &v) || !json_object_get_boolean(v)) {
				printf("eBPF not loaded in vmmigd: %s\n", jget_str(b, "error"));
				json_object_put(o);
				return EXIT_FAIL;
			}
			printf("-- every %u s\n", interval);
			json_object_object_get_ex(s, "networks", &a);
			json_object_object_get_ex(ps, "networks", &pa);
			for (i = 0; a && i < json_object_array_length(a); i++) {
				e = json_object_array_get_idx(a, i);
				p = same(pa, e, "network", NULL);
				printf("network %-20s out %7.2f MB/s in %7.2f MB/s, %ju retransmits\n",
				       jget_str(e, "network"), rate(e, p, "tx_bytes", secs) / 1e6,
				       rate(e, p, "rx_bytes", secs) / 1e6,
				       (uintmax_t)jget_u64(e, "retransmits"));
			}
			json_object_object_get_ex(s, "streams", &a);
			json_object_object_get_ex(ps, "streams", &pa);
			for (i = 0; a && i < json_object_array_length(a); i++) {
				e = json_object_array_get_idx(a, i);
				p = same(pa, e, "vm", "index");
				printf("  %s stream %ju over %s: out %7.2f MB/s in %7.2f MB/s, RTT %ju us, %ju retransmits\n",
				       jget_str(e, "vm"), (uintmax_t)jget_u64(e, "index"),
				       jget_str(e, "network"), rate(e, p, "tx_bytes", secs) / 1e6,
				       rate(e, p, "rx_bytes", secs) / 1e6, (uintmax_t)jget_u64(e, "srtt_us"),
				       (uintmax_t)jget_u64(e, "retransmits"));
			}
			fflush(stdout);
		}
		json_object_put(prev);
		prev = o;
		prev_t = t;
		if (!count || n < count)
			sleep(interval);
	}
	json_object_put(prev);
	return EXIT_OK;
}

static int monitor_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "traffic", no_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'c' },
		{},
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct monitor m = {};
	struct pollfd pfd[2];
	struct vmmig_nl nl;
	int events, ctrl, err, ret = EXIT_FAIL, opt;
	uint32_t interval = 1, count = 0;
	bool show_traffic = false;
	char why[VMMIG_ERRLEN];

	while ((opt = cmd_getopt(argc, argv, lo)) != -1) {
		if (opt == 't') {
			show_traffic = true;
		} else if (opt == 'i' || opt == 'c') {
			if (parse_u32(opt == 'i' ? "--interval" : "--count", optarg, opt == 'i', 3600,
				      opt == 'i' ? &interval : &count, why))
				return usage_error("%s", why);
		} else {
			return EXIT_USAGE;
		}
	}
	err = cmd_args(argc, argv, "");
	if (err)
		return err;
	if (show_traffic) {
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		return traffic(interval, count);
	}
	if (cli_connect(&nl, what))
		return EXIT_FAIL;
	m.family = nl.family;
	events = vmmig_nl_group(&nl, VMMIG_GENL_NAME, VMMIG_MCGRP_EVENTS);
	ctrl = vmmig_nl_group(&nl, "nlctrl", "notify");
	vmmig_nl_close(&nl);
	if (events < 0 || ctrl < 0) {
		error_msg(what, "cannot resolve the %s multicast group",
			  events < 0 ? "vmmig events" : "nlctrl notify");
		return EXIT_FAIL;
	}

	m.sk = nl_socket_alloc();
	if (!m.sk || genl_connect(m.sk) < 0) {
		error_msg(what, "cannot open a generic netlink socket");
		goto out;
	}
	nl_socket_disable_seq_check(m.sk);
	nl_socket_modify_cb(m.sk, NL_CB_VALID, NL_CB_CUSTOM, monitor_valid, &m);
	if (nl_socket_add_memberships(m.sk, events, ctrl, 0) < 0) {
		error_msg(what, "cannot join the event groups");
		goto out;
	}

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pfd[0].fd = nl_socket_get_fd(m.sk);
	pfd[0].events = POLLIN;
	pfd[1].fd = daemon_events();
	pfd[1].events = POLLIN;
	while (!stop) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			error_msg(what, "poll: %s", strerror(errno));
			goto out;
		}
		if (pfd[1].revents && daemon_event(pfd[1].fd)) {
			close(pfd[1].fd);
			pfd[1].fd = -1;
		}
		if (!pfd[0].revents)
			continue;
		err = nl_recvmsgs_default(m.sk);
		if (m.err) {
			error_msg(what, "malformed event: %s", strerror(-m.err));
			goto out;
		}
		if (err < 0 && err != -NLE_INTR) {
			/* Overrun: say so and go on, as ip monitor does. */
			if (err == -NLE_NOMEM) {
				error_msg(what, "events were lost (receive buffer overrun)");
				continue;
			}
			error_msg(what, "receive: %s", nl_geterror(err));
			goto out;
		}
	}
	ret = EXIT_OK;
out:
	if (m.sk)
		nl_socket_free(m.sk);
	return ret;
}

const struct cmd monitor_cmd = {
	.name = "monitor",
	.fn = monitor_main,
	.args = "[ --traffic [ --interval S ] [ --count N ] ]",
	.help = "Prints events from vmmig.ko and vmmigd as they happen\n"
		"\n"
		"One line per event (with -j, one JSON object per line) until\n"
		"interrupted: host setting changes in this network namespace, KVM\n"
		"modules loading and unloading, and vmmig.ko itself going away and\n"
		"coming back (monitor keeps running across a module reload); and,\n"
		"when vmmigd runs, its events: migrations starting, queued,\n"
		"committed, done, failed, cancelled, with their IDs\n"
		"(Documentation/admin-guide/migration.rst).\n"
		"--traffic: instead, the migration traffic vmmigd's eBPF programs\n"
		"see, every S seconds (1), N times (0: until interrupted): per\n"
		"network and per running stream, MB/s out and in, RTT, retransmits\n",
};
