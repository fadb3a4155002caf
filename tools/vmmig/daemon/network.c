// SPDX-License-Identifier: GPL-2.0
/*
 * Migration networks (Documentation/admin-guide/networks.rst): the subnets
 * this host moves VMs over, each with a priority (1 is the best), and
 * whether any other network may carry a move (use-any-network). Kept in
 * networks.json beside the host settings.
 *
 * A destination advertises in its HELLO the networks it has an address
 * in; the source plans a move's streams over the networks both have, best
 * priority first (streams spread over networks of equal priority), then
 * over the address the move was given when both hosts use any network.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "parse.h"
#include "vmmigd.h"

#define NETWORKS_FILE	"networks.json"

static struct {
	pthread_mutex_t lock;
	char path[4096];
	struct mig_network n[NETWORK_MAX];
	unsigned int count;
	bool any;
} nets = { .lock = PTHREAD_MUTEX_INITIALIZER, .any = true };

/* "ADDR/PREFIX" into @n with the host bits cleared; -EINVAL with @why. */
int network_parse(const char *spec, struct mig_network *n, char *why)
{
	char addr[INET6_ADDRSTRLEN + 1], *slash;
	uint32_t plen, max, i;

	memset(n, 0, sizeof(*n));
	slash = strchr(spec, '/');
	if (!slash || (size_t)(slash - spec) >= sizeof(addr)) {
		snprintf(why, VMMIG_ERRLEN, "'%.80s' is not ADDR/PREFIX (10.1.0.0/24, fd00::/64)",
			 spec);
		return -EINVAL;
	}
	memcpy(addr, spec, slash - spec);
	addr[slash - spec] = '\0';
	if (inet_pton(AF_INET, addr, n->addr) == 1) {
		n->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, n->addr) == 1) {
		n->family = AF_INET6;
		max = 128;
	} else {
		snprintf(why, VMMIG_ERRLEN, "'%.80s' is not an IPv4 or IPv6 address", addr);
		return -EINVAL;
	}
	if (parse_u32("the prefix length", slash + 1, 0, max, &plen, why))
		return -EINVAL;
	n->plen = plen;
	for (i = plen; i < max; i++)
		n->addr[i / 8] &= ~(0x80 >> (i % 8));
	inet_ntop(n->family, n->addr, addr, sizeof(addr));
	snprintf(n->name, sizeof(n->name), "%s/%u", addr, plen);
	return 0;
}

static bool in_network(const struct mig_network *n, int family, const uint8_t *a)
{
	unsigned int i;

	if (family != n->family)
		return false;
	for (i = 0; i < n->plen; i++)
		if ((a[i / 8] ^ n->addr[i / 8]) & (0x80 >> (i % 8)))
			return false;
	return true;
}

/* This host's address in @n and its interface, or false. */
bool network_local(const struct mig_network *n, char *addr, size_t alen, char *ifname)
{
	struct ifaddrs *ifa, *i;
	bool found = false;

	if (getifaddrs(&ifa))
		return false;
	for (i = ifa; i && !found; i = i->ifa_next) {
		const void *a;

		/*
		 * A device that is down keeps its address and its place: a
		 * move tries it, fails, and says so as it falls back.
		 */
		if (!i->ifa_addr || i->ifa_addr->sa_family != n->family)
			continue;
		a = n->family == AF_INET ?
		    (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr :
		    (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		if (!in_network(n, n->family, a))
			continue;
		inet_ntop(n->family, a, addr, alen);
		if (ifname)
			snprintf(ifname, IF_NAMESIZE, "%s", i->ifa_name);
		found = true;
	}
	freeifaddrs(ifa);
	return found;
}

static struct mig_network *find(const char *name)
{
	unsigned int i;

	for (i = 0; i < nets.count; i++)
		if (!strcmp(nets.n[i].name, name))
			return &nets.n[i];
	return NULL;
}

/* Under nets.lock. */
static int save(char *why)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	unsigned int i;
	int err;

	json_object_object_add(o, "use_any_network", json_object_new_boolean(nets.any));
	for (i = 0; i < nets.count; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "network", json_object_new_string(nets.n[i].name));
		json_object_object_add(e, "priority", json_object_new_int(nets.n[i].priority));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "networks", a);
	err = write_file_atomic(nets.path, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY));
	json_object_put(o);
	if (err)
		snprintf(why, VMMIG_ERRLEN, "cannot write %.200s: %s", nets.path, strerror(-err));
	return err;
}

int networks_init(char *why)
{
	struct json_object *o, *a, *v;
	char dir[4096], *slash, *text;
	size_t i;

	snprintf(dir, sizeof(dir), "%s", vmmigd.settings_path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	snprintf(nets.path, sizeof(nets.path), "%.4000s/%s", dir, NETWORKS_FILE);
	if (read_file(nets.path, &text)) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, VMMIG_ERRLEN, "%.200s: %s", nets.path, strerror(errno));
		return -errno;
	}
	o = json_tokener_parse(text);
	free(text);
	if (!o || !json_object_object_get_ex(o, "networks", &a) ||
	    !json_object_is_type(a, json_type_array)) {
		json_object_put(o);
		snprintf(why, VMMIG_ERRLEN, "%.200s: not a networks file", nets.path);
		return -EINVAL;
	}
	if (json_object_object_get_ex(o, "use_any_network", &v))
		nets.any = json_object_get_boolean(v);
	for (i = 0; i < json_object_array_length(a) && nets.count < NETWORK_MAX; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		struct mig_network *n = &nets.n[nets.count];

		if (network_parse(jstr(e, "network"), n, why))
			continue;
		n->priority = json_object_object_get_ex(e, "priority", &v) ?
			      json_object_get_int(v) : 1;
		if (n->priority < 1 || n->priority > NETWORK_PRIORITY_MAX)
			n->priority = 1;
		nets.count++;
	}
	json_object_put(o);
	return 0;
}

int network_add(const char *spec, unsigned int priority, char *why)
{
	struct mig_network n;
	unsigned int i;
	int err = network_parse(spec, &n, why);

	if (err)
		return err;
	pthread_mutex_lock(&nets.lock);
	if (find(n.name)) {
		snprintf(why, VMMIG_ERRLEN, "%s is a migration network already (network set %s priority N)",
			 n.name, n.name);
		err = -EEXIST;
	} else if (nets.count == NETWORK_MAX) {
		snprintf(why, VMMIG_ERRLEN, "%u migration networks at most", NETWORK_MAX);
		err = -ENOSPC;
	} else {
		if (!priority) {
			/* After every other: a fallback, as added last. */
			priority = 1;
			for (i = 0; i < nets.count; i++)
				if (nets.n[i].priority >= priority)
					priority = nets.n[i].priority + 1;
			if (priority > NETWORK_PRIORITY_MAX)
				priority = NETWORK_PRIORITY_MAX;
		}
		n.priority = priority;
		nets.n[nets.count++] = n;
		err = save(why);
		if (err)
			nets.count--;
	}
	pthread_mutex_unlock(&nets.lock);
	if (!err)
		event(EV_NETWORK, NULL, "migration network %s added, priority %u", n.name, priority);
	return err;
}

/* Network @spec of this host into *@m, its name into @name. Under nets.lock. */
static int lookup(const char *spec, struct mig_network **m, char *name, char *why)
{
	struct mig_network n;
	int err = network_parse(spec, &n, why);

	if (err)
		return err;
	snprintf(name, sizeof(n.name), "%s", n.name);
	*m = find(n.name);
	if (*m)
		return 0;
	snprintf(why, VMMIG_ERRLEN, "%s is not a migration network of %s", n.name, vmmigd.host);
	return -ENOENT;
}

int network_del(const char *spec, char *why)
{
	struct mig_network *m, saved;
	char name[sizeof(m->name)];
	int err;

	pthread_mutex_lock(&nets.lock);
	err = lookup(spec, &m, name, why);
	if (!err) {
		saved = *m;
		*m = nets.n[--nets.count];
		err = save(why);
		if (err) {
			nets.n[nets.count++] = *m;
			*m = saved;
		}
	}
	pthread_mutex_unlock(&nets.lock);
	if (!err)
		event(EV_NETWORK, NULL, "migration network %s removed", name);
	return err;
}

int network_set_priority(const char *spec, unsigned int priority, char *why)
{
	struct mig_network *m;
	char name[sizeof(m->name)];
	unsigned int old = 0;
	int err;

	pthread_mutex_lock(&nets.lock);
	err = lookup(spec, &m, name, why);
	if (!err) {
		old = m->priority;
		m->priority = priority;
		err = save(why);
		if (err)
			m->priority = old;
	}
	pthread_mutex_unlock(&nets.lock);
	if (!err)
		event(EV_NETWORK, NULL, "migration network %s: priority %u (was %u)", name,
		      priority, old);
	return err;
}

int network_use_any(bool on, char *why)
{
	bool old;
	int err;

	pthread_mutex_lock(&nets.lock);
	old = nets.any;
	nets.any = on;
	err = save(why);
	if (err)
		nets.any = old;
	pthread_mutex_unlock(&nets.lock);
	if (!err && old != on)
		event(EV_NETWORK, NULL, "use-any-network %s", on ? "on" : "off");
	return err;
}

static int by_priority(const void *a, const void *b)
{
	const struct mig_network *x = a, *y = b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* A copy of the networks, best first, with this host's address in each. */
static unsigned int snapshot(struct mig_network *out, bool *any)
{
	unsigned int i, n;

	pthread_mutex_lock(&nets.lock);
	n = nets.count;
	memcpy(out, nets.n, n * sizeof(*out));
	if (any)
		*any = nets.any;
	pthread_mutex_unlock(&nets.lock);
	qsort(out, n, sizeof(*out), by_priority);
	for (i = 0; i < n; i++)
		if (!network_local(&out[i], out[i].local, sizeof(out[i].local), out[i].ifname))
			out[i].local[0] = out[i].ifname[0] = '\0';
	return n;
}

struct json_object *networks_json(void)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	struct mig_network n[NETWORK_MAX];
	unsigned int i, count;
	bool any;

	count = snapshot(n, &any);
	for (i = 0; i < count; i++) {
		struct json_object *e = json_object_new_object();

		json_object_object_add(e, "network", json_object_new_string(n[i].name));
		json_object_object_add(e, "priority", json_object_new_int(n[i].priority));
		json_object_object_add(e, "address", json_object_new_string(n[i].local));
		json_object_object_add(e, "interface", json_object_new_string(n[i].ifname));
		json_object_array_add(a, e);
	}
	json_object_object_add(o, "use_any_network", json_object_new_boolean(any));
	json_object_object_add(o, "networks", a);
	return o;
}

void networks_advertise(struct json_object *hello)
{
	struct json_object *o = networks_json(), *a, *v;
	struct json_object *out = json_object_new_array();
	size_t i;

	json_object_object_get_ex(o, "networks", &a);
	for (i = 0; i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i);

		/* Only where this host can be reached. */
		if (*jstr(e, "address"))
			json_object_array_add(out, json_object_get(e));
	}
	json_object_object_add(hello, "networks", out);
	json_object_object_get_ex(o, "use_any_network", &v);
	json_object_object_add(hello, "use_any_network", json_object_get(v));
	json_object_put(o);
}

/* "ADDR:PORT", with brackets for IPv6. */
static void host_port(char *out, size_t len, const char *addr, unsigned int port)
{
	if (strchr(addr, ':'))
		snprintf(out, len, "[%s]:%u", addr, port);
	else
		snprintf(out, len, "%s:%u", addr, port);
}

int network_plan(struct json_object *hello, const char *to, struct net_plan *p, char *why)
{
	struct mig_network mine[NETWORK_MAX];
	struct json_object *a = NULL, *v;
	unsigned int i, count, port;
	bool any, peer_any;
	size_t j;

	memset(p, 0, sizeof(*p));
	count = snapshot(mine, &any);
	port = json_object_object_get_ex(hello, "port", &v) ? json_object_get_int(v) : 0;
	peer_any = !json_object_object_get_ex(hello, "use_any_network", &v) ||
		   json_object_get_boolean(v);
	json_object_object_get_ex(hello, "networks", &a);
	for (i = 0; i < count; i++) {
		struct net_path *t;

		if (!mine[i].local[0])
			continue;
		for (j = 0; a && j < json_object_array_length(a); j++) {
			struct json_object *e = json_object_array_get_idx(a, j);

			if (strcmp(jstr(e, "network"), mine[i].name) || !*jstr(e, "address"))
				continue;
			t = &p->path[p->n++];
			snprintf(t->network, sizeof(t->network), "%s", mine[i].name);
			snprintf(t->local, sizeof(t->local), "%s", mine[i].local);
			snprintf(t->ifname, sizeof(t->ifname), "%s", mine[i].ifname);
			host_port(t->remote, sizeof(t->remote), jstr(e, "address"),
				  port ? port : vmmigd.port);
			t->priority = mine[i].priority;
			break;
		}
	}
	if (any && peer_any) {
		struct net_path *t = &p->path[p->n++];

		snprintf(t->network, sizeof(t->network), "any");
		snprintf(t->remote, sizeof(t->remote), "%s", to);
		t->priority = NETWORK_PRIORITY_MAX + 1;
	}
	if (p->n)
		return 0;
	snprintf(why, VMMIG_ERRLEN, "%s and %s share no migration network, and %s has use-any-network off",
		 vmmigd.host, jstr(hello, "host"),
		 !any && !peer_any ? "each" : !any ? vmmigd.host : jstr(hello, "host"));
	return -ENETUNREACH;
}

int network_stream_path(const struct net_plan *p, unsigned int stream)
{
	unsigned int i, first = p->n, n = 0;

	/* The best priority not failed; stream i takes the (i mod n)th of it. */
	for (i = 0; i < p->n; i++) {
		if (p->path[i].failed)
			continue;
		if (first == p->n)
			first = i;
		if (p->path[i].priority != p->path[first].priority)
			break;
		n++;
	}
	if (!n)
		return -1;
	stream %= n;
	for (i = first; i < p->n; i++) {
		if (p->path[i].failed)
			continue;
		if (!stream--)
			return i;
	}
	return -1;
}

void network_name_of(const char *ip, char *out, size_t len)
{
	struct mig_network n;
	uint8_t a[16];
	unsigned int i;
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;

	snprintf(out, len, "any");
	if (inet_pton(family, ip, a) != 1)
		return;
	pthread_mutex_lock(&nets.lock);
	for (i = 0; i < nets.count; i++) {
		n = nets.n[i];
		if (in_network(&n, family, a)) {
			snprintf(out, len, "%s", n.name);
			break;
		}
	}
	pthread_mutex_unlock(&nets.lock);
}

void stream_net_fill(struct stream_net *n, int fd, const char *network)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char ip[INET6_ADDRSTRLEN + 2], *end;
	unsigned int slot = n->slot;	/* netbpf's, which lets it go */

	memset(n, 0, sizeof(*n));
	n->slot = slot;
	if (!getsockname(fd, (struct sockaddr *)&ss, &len))
		sockaddr_str(&ss, 0, n->local, sizeof(n->local));
	len = sizeof(ss);
	if (!getpeername(fd, (struct sockaddr *)&ss, &len))
		sockaddr_str(&ss, 0, n->remote, sizeof(n->remote));
	if (network) {
		snprintf(n->network, sizeof(n->network), "%s", network);
		return;
	}
	/* "ADDR:PORT" or "[ADDR]:PORT" to ADDR. */
	snprintf(ip, sizeof(ip), "%s", n->local[0] == '[' ? n->local + 1 : n->local);
	end = strrchr(ip, n->local[0] == '[' ? ']' : ':');
	if (end)
		*end = '\0';
	network_name_of(ip, n->network, sizeof(n->network));
}

unsigned int network_priority(const char *name)
{
	unsigned int p = NETWORK_PRIORITY_MAX + 1;
	struct mig_network *n;

	pthread_mutex_lock(&nets.lock);
	n = find(name);
	if (n)
		p = n->priority;
	pthread_mutex_unlock(&nets.lock);
	return p;
}
