// SPDX-License-Identifier: GPL-2.0
/*
 * The cluster: the hosts this vmmigd moves VMs between, their CPU features,
 * and the common feature set that goes into vmmig.ko as the common-cluster
 * mask (Documentation/admin-guide/cpu-compat.rst).
 *
 * Membership travels over the hosts' mutual TLS, one CLUSTER frame each way
 * per connection: "join" (cluster add), "sync" (every interval, to each
 * member), "leave" (cluster remove). Each side sends its view: itself, its
 * features and vendor, and every member it knows with theirs, and when each
 * was added; a removed host stays a tombstone, so that gossip from a member
 * that missed the removal does not bring it back, until it is added again.
 * A member's name is the one its certificate proves, never the frame's.
 *
 * The common set is the intersection of the features of the members of
 * this host's vendor (VMs never move live across vendors), including those
 * unreachable now: their last known features still count, so a VM started
 * while a host is down can still go there when it is back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include "cpuid.h"
#include "features.h"
#include "jfield.h"
#include "nl.h"
#include "vmmigd.h"

#define CLUSTER_MAX		32
#define CLUSTER_FILE		"cluster.json"
#define NAMES_LEN		4096

struct member {
	char host[VMMIGD_HOST_MAX];
	char addr[256];			/* HOST[:PORT] that reaches it */
	char vendor[CPU_VENDOR_LEN];
	struct cpu_features f;
	bool has_features;		/* its KVM's features are known */
	bool reachable;
	uint64_t since;			/* when it was added (wall clock, s) */
	uint64_t seen;			/* last contact, 0: never (from here) */
	char why[VMMIG_ERRLEN];		/* why not reachable, or no features */
};

struct tomb {
	char host[VMMIGD_HOST_MAX];
	uint64_t at;
};

static struct {
	pthread_mutex_t lock;
	pthread_mutex_t save_lock;	/* cluster.json, one writer at a time */
	pthread_mutex_t push_lock;	/* vmmig.ko's mask, one pusher at a time */
	struct member m[CLUSTER_MAX];	/* [0]: this host */
	unsigned int n;
	struct tomb dead[CLUSTER_MAX];
	unsigned int ndead;
	struct cpu_features common;	/* in vmmig.ko, when pushed */
	bool pushed, pushed_alone;
	const char *advertise;		/* --advertise-cpu: a CPUID dump, */
	struct cpu_features advertised;	/* read once at start, */
	char advertise_why[VMMIG_ERRLEN];	/* or why it could not be */
	unsigned int interval;
	char path[4096];
} cl = { .lock = PTHREAD_MUTEX_INITIALIZER, .save_lock = PTHREAD_MUTEX_INITIALIZER,
	 .push_lock = PTHREAD_MUTEX_INITIALIZER, .interval = 10 };

static uint64_t now_s(void)
{
	return (uint64_t)time(NULL);
}

static void cpu_vendor(char *v)
{
	uint32_t a = 0, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	memcpy(v, &b, 4);
	memcpy(v + 4, &d, 4);
	memcpy(v + 8, &c, 4);
	v[12] = '\0';
}

/* This host's features: KVM's through vmmig.ko, narrowed by --advertise-cpu. */
static void self_update(struct member *s)
{
	struct vmmig_nl nl;
	int err;

	snprintf(s->host, sizeof(s->host), "%s", vmmigd.host);
	if (cl.advertise)
		snprintf(s->vendor, sizeof(s->vendor), "%s", cl.advertised.vendor);
	else
		cpu_vendor(s->vendor);
	s->has_features = false;
	s->why[0] = '\0';
	err = vmmig_nl_open(&nl);
	if (err) {
		snprintf(s->why, sizeof(s->why), "vmmig.ko is not loaded");
		return;
	}
	memset(&s->f, 0, sizeof(s->f));
	err = vmmig_host_features(&nl, s->f.w);
	if (err)
		snprintf(s->why, sizeof(s->why), "%s", err == -ENODEV ?
			 "KVM is not loaded (no kvm_amd or kvm_intel)" : vmmig_nl_strerror(&nl, err));
	vmmig_nl_close(&nl);
	s->has_features = !err;
	if (cl.advertise && cl.advertise_why[0]) {
		s->has_features = false;
		snprintf(s->why, sizeof(s->why), "%s", cl.advertise_why);
		return;
	}
	if (cl.advertise && s->has_features)
		features_and(&s->f, &s->f, &cl.advertised);
	snprintf(s->f.vendor, sizeof(s->f.vendor), "%s", s->vendor);
	s->reachable = true;
	s->seen = now_s();
}

static struct member *find(const char *host)
{
	unsigned int i;

	for (i = 0; i < cl.n; i++)
		if (!strcmp(cl.m[i].host, host))
			return &cl.m[i];
	return NULL;
}

static struct tomb *find_dead(const char *host)
{
	unsigned int i;

	for (i = 0; i < cl.ndead; i++)
		if (!strcmp(cl.dead[i].host, host))
			return &cl.dead[i];
	return NULL;
}

static void bury(const char *host, uint64_t at)
{
	struct tomb *t = find_dead(host);

	if (!t && cl.ndead == CLUSTER_MAX)
		memmove(&cl.dead[0], &cl.dead[1], --cl.ndead * sizeof(cl.dead[0]));
	if (!t)
		t = &cl.dead[cl.ndead++];
	snprintf(t->host, sizeof(t->host), "%s", host);
	if (at > t->at)
		t->at = at;
}

static void drop(struct member *m)
{
	unsigned int i = m - cl.m;

	memmove(&cl.m[i], &cl.m[i + 1], (cl.n - i - 1) * sizeof(cl.m[0]));
	cl.n--;
}

/* ---- views: what one host says of the cluster ---- */

static struct json_object *member_json(const struct member *m, bool wire)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "host", json_object_new_string(m->host));
	json_object_object_add(o, "address", json_object_new_string(m->addr));
	json_object_object_add(o, "vendor", json_object_new_string(m->vendor));
	json_object_object_add(o, "since", json_object_new_uint64(m->since));
	json_object_object_add(o, "last_seen", json_object_new_uint64(m->seen));
	if (m->has_features)
		json_object_object_add(o, "features", features_to_json(&m->f));
	if (!wire) {
		json_object_object_add(o, "self", json_object_new_boolean(m == &cl.m[0]));
		json_object_object_add(o, "reachable", json_object_new_boolean(m->reachable));
		if (m->why[0])
			json_object_object_add(o, "error", json_object_new_string(m->why));
	}
	return o;
}

/* Under cl.lock. */
static struct json_object *view(const char *op, const char *target)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	unsigned int i;

	json_object_object_add(o, "op", json_object_new_string(op));
	if (target)
		json_object_object_add(o, "target", json_object_new_string(target));
	json_object_object_add(o, "port", json_object_new_int(vmmigd.port));
	for (i = 0; i < cl.n; i++)
		json_object_array_add(a, member_json(&cl.m[i], true));
	json_object_object_add(o, "members", a);
	a = json_object_new_array();
	for (i = 0; i < cl.ndead; i++) {
		struct json_object *t = json_object_new_object();

		json_object_object_add(t, "host", json_object_new_string(cl.dead[i].host));
		json_object_object_add(t, "at", json_object_new_uint64(cl.dead[i].at));
		json_object_array_add(a, t);
	}
	json_object_object_add(o, "removed", a);
	return o;
}

static uint64_t ju64(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_uint64(v) : 0;
}

/*
 * One member as a view gives it, into @m (host, address, vendor, since,
 * seen, features); -EINVAL with @why when it does not parse.
 */
static int member_parse(struct json_object *o, struct member *m, char *why)
{
	struct json_object *v;

	memset(m, 0, sizeof(*m));
	if (!json_object_is_type(o, json_type_object) ||
	    vmdef_check_name(jstr(o, "host"), why)) {
		snprintf(why, VMMIG_ERRLEN, "a cluster member without a valid host name");
		return -EINVAL;
	}
	snprintf(m->host, sizeof(m->host), "%s", jstr(o, "host"));
	snprintf(m->addr, sizeof(m->addr), "%s", jstr(o, "address"));
	snprintf(m->vendor, sizeof(m->vendor), "%s", jstr(o, "vendor"));
	m->since = ju64(o, "since");
	m->seen = ju64(o, "last_seen");
	if (json_object_object_get_ex(o, "features", &v)) {
		if (features_from_json(&m->f, v, why))
			return -EINVAL;
		m->has_features = true;
	}
	return 0;
}

/*
 * Merges a view that @from (its name proved by TLS, at @addr) sent: @from
 * itself is reachable now; the others it knows are added or refreshed when
 * its word is newer than ours. Only a join (@joining: @from is being added,
 * or is adding this host) lifts a tombstone of @from. True when the view
 * says this host was removed since it joined: the caller makes it alone.
 * Under cl.lock.
 */
static bool merge(struct json_object *o, const char *from, const char *addr, bool joining)
{
	struct json_object *a, *e;
	struct member in, *m;
	char why[VMMIG_ERRLEN];
	size_t i;

	if (json_object_object_get_ex(o, "removed", &a) &&
	    json_object_is_type(a, json_type_array)) {
		for (i = 0; i < json_object_array_length(a); i++) {
			e = json_object_array_get_idx(a, i);
			if (!strcmp(jstr(e, "host"), cl.m[0].host) && !joining &&
			    ju64(e, "at") >= cl.m[0].since)
				return true;
			m = find(jstr(e, "host"));
			if (!m || m == &cl.m[0] || !strcmp(m->host, from) ||
			    m->since > ju64(e, "at"))
				continue;
			bury(m->host, ju64(e, "at"));
			drop(m);
		}
	}
	if (!json_object_object_get_ex(o, "members", &a) || !json_object_is_type(a, json_type_array))
		return false;
	for (i = 0; i < json_object_array_length(a); i++) {
		struct tomb *t;

		if (member_parse(json_object_array_get_idx(a, i), &in, why) ||
		    !strcmp(in.host, cl.m[0].host))
			continue;
		m = find(in.host);
		t = find_dead(in.host);
		/* Added again: the tombstone goes. */
		if (t && joining && !strcmp(in.host, from)) {
			*t = cl.dead[--cl.ndead];
			t = NULL;
		}
		if (!m && t && t->at >= in.since)
			continue;
		if (!m) {
			if (cl.n == CLUSTER_MAX)
				continue;
			m = &cl.m[cl.n++];
			*m = in;
			m->reachable = false;
			m->seen = 0;
			snprintf(m->why, sizeof(m->why), "learned from %s, not reached yet", from);
		}
		if (!strcmp(in.host, from)) {
			/* Its own word: the freshest there is. */
			snprintf(m->addr, sizeof(m->addr), "%s", addr);
			snprintf(m->vendor, sizeof(m->vendor), "%s", in.vendor);
			m->f = in.f;
			m->has_features = in.has_features;
			m->reachable = true;
			m->seen = now_s();
			m->why[0] = '\0';
			if (in.since > m->since)
				m->since = in.since;
		} else if (in.seen > m->seen && !m->reachable) {
			m->f = in.f;
			m->has_features = in.has_features;
			snprintf(m->vendor, sizeof(m->vendor), "%s", in.vendor);
		}
	}
	return false;
}

/* This host leaves every other member: alone, no tombstones. Under cl.lock. */
static void go_alone(void)
{
	cl.n = 1;
	cl.ndead = 0;
}

/* ---- the common set ---- */

/* Under cl.lock: the intersection over this vendor's members that have features. */
static unsigned int common_set(struct cpu_features *c)
{
	unsigned int i, n = 0;

	for (i = 0; i < cl.n; i++) {
		const struct member *m = &cl.m[i];

		if (!m->has_features || strcmp(m->vendor, cl.m[0].vendor))
			continue;
		if (!n++)
			*c = m->f;
		else
			features_and(c, c, &m->f);
	}
	snprintf(c->vendor, sizeof(c->vendor), "%s", cl.m[0].vendor);
	return n;
}

/* One writer at a time: the file's temporary name is always the same. */
static void save(void)
{
	struct json_object *o;

	pthread_mutex_lock(&cl.save_lock);
	pthread_mutex_lock(&cl.lock);
	o = view("saved", NULL);
	pthread_mutex_unlock(&cl.lock);
	if (write_file_atomic(cl.path, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY)))
		event(EV_SETTINGS, NULL, "cannot write %s: %s", cl.path, strerror(errno));
	pthread_mutex_unlock(&cl.save_lock);
	json_object_put(o);
}

/*
 * The common set into vmmig.ko when it changed (or @force: the module came
 * back), with an event naming what was lost and gained. A host alone puts
 * the mask back to its default (its own features).
 */
static void push(bool force)
{
	struct vmmig_policy_change pc = { 0 };
	struct cpu_features c, lost, gained, old;
	char *l = malloc(NAMES_LEN), *g = malloc(NAMES_LEN);
	bool alone, was_pushed, was_alone;
	struct vmmig_nl nl;
	unsigned int n, i;
	int err;

	if (!l || !g)
		goto free;
	/* The kernel's mask and cl.common change together, in order. */
	pthread_mutex_lock(&cl.push_lock);
	pthread_mutex_lock(&cl.lock);
	n = common_set(&c);
	alone = cl.n == 1;
	old = cl.common;
	was_pushed = cl.pushed;
	was_alone = cl.pushed_alone;
	pthread_mutex_unlock(&cl.lock);
	if (!n)
		goto out;	/* no features known yet, not even ours */
	/* Alone and never in a cluster: the mask is the admin's to set. */
	if (alone && (!was_pushed || was_alone))
		goto out;
	if (!force && was_pushed && !alone && !was_alone && !memcmp(c.w, old.w, sizeof(c.w)))
		goto out;
	if (alone) {
		pc.reset_common = true;
	} else {
		for (i = 0; i < VMMIG_NR_WORDS; i++)
			pc.common[i] = c.w[i];
		pc.common_given = (1u << VMMIG_NR_WORDS) - 1;
	}
	err = vmmig_nl_open(&nl);
	if (!err) {
		err = vmmig_policy_set(&nl, &pc);
		if (err)
			event(EV_CLUSTER_FEATURES, NULL, "cannot set the common-cluster mask: %s",
			      vmmig_nl_strerror(&nl, err));
		vmmig_nl_close(&nl);
	}
	if (err)
		goto out;
	pthread_mutex_lock(&cl.lock);
	cl.common = c;
	cl.pushed = true;
	cl.pushed_alone = alone;
	pthread_mutex_unlock(&cl.lock);
	if (alone) {
		event(EV_CLUSTER_FEATURES, NULL,
		      "%s is alone: the common-cluster mask follows its own features", vmmigd.host);
		goto out;
	}
	features_lacking(&lost, &old, &c);
	features_lacking(&gained, &c, &old);
	if (!was_pushed || was_alone)
		event(EV_CLUSTER_FEATURES, NULL,
		      "the cluster's common feature set (%u hosts of %s): %u features", n,
		      c.vendor, features_count(&c));
	else if (!features_empty(&lost) || !features_empty(&gained))
		event(EV_CLUSTER_FEATURES, NULL,
		      "the cluster's common feature set changed (%u hosts): lost %s; gained %s", n,
		      features_empty(&lost) ? "none" : features_names(&lost, l, NAMES_LEN),
		      features_empty(&gained) ? "none" : features_names(&gained, g, NAMES_LEN));
out:
	pthread_mutex_unlock(&cl.push_lock);
free:
	free(l);
	free(g);
}

void cluster_apply(void)
{
	push(true);
}

/* ---- talking to members ---- */

/*
 * One exchange with the host at @addr: our view with @op out, its view in
 * *@reply (the caller merges it, or not, and puts it). The host's name,
 * proved by its certificate, into @host. 0, or -errno with @why: -ENOLINK
 * when it does not count this host as a member.
 */
static int exchange(const char *addr, const char *op, const char *target, char *host,
		    struct json_object **reply, char *why)
{
	struct json_object *o, *r = NULL, *v;
	struct tls_conn *c;
	int type, err;

	*reply = NULL;
	c = peer_connect(addr, &err, why);
	if (!c)
		return err;
	snprintf(host, VMMIGD_HOST_MAX, "%s", tls_peer_name(c));
	pthread_mutex_lock(&cl.lock);
	self_update(&cl.m[0]);
	o = view(op, target);
	pthread_mutex_unlock(&cl.lock);
	err = peer_send(c, FRAME_CLUSTER, o);
	json_object_put(o);
	type = err ? err : peer_recv(c, &r, VMMIG_TLS_TIMEOUT_MS, why);
	if (type == FRAME_REFUSE) {
		snprintf(why, VMMIG_ERRLEN, "%s: %s", host, jstr(r, "reason"));
		err = json_object_object_get_ex(r, "not_member", &v) && json_object_get_boolean(v) ?
		      -ENOLINK : -EPERM;
	} else if (type == FRAME_CLUSTER) {
		*reply = r;
		r = NULL;
		err = 0;
	} else {
		if (type > 0)
			snprintf(why, VMMIG_ERRLEN, "%s answered %s", host, frame_type_name(type));
		err = type > 0 ? -EPROTO : type;
	}
	json_object_put(r);
	tls_free(c);
	return err;
}

/* The address a peer's connection came from, with the port it listens on. */
static void peer_addr(struct tls_conn *c, unsigned int port, char *addr, size_t len)
{
	struct sockaddr_storage ss = { .ss_family = AF_INET };
	socklen_t sl = sizeof(ss);

	getpeername(tls_fd(c), (struct sockaddr *)&ss, &sl);
	sockaddr_str(&ss, port, addr, len);
}

static void refuse(struct tls_conn *c, bool not_member, const char *fmt, const char *arg)
{
	struct json_object *o = json_object_new_object();
	char why[VMMIG_ERRLEN];

	snprintf(why, sizeof(why), fmt, arg);
	json_object_object_add(o, "reason", json_object_new_string(why));
	if (not_member)
		json_object_object_add(o, "not_member", json_object_new_boolean(true));
	peer_send(c, FRAME_REFUSE, o);
	json_object_put(o);
}

/* A CLUSTER frame from another host: it joins, syncs or tells of a removal. */
void cluster_serve(struct tls_conn *c, struct json_object *frame)
{
	const char *op = jstr(frame, "op"), *from = tls_peer_name(c);
	struct json_object *v;
	struct member *m;
	char addr[256];
	bool joined = false, left = false, alone = false, joining = false;
	unsigned int port = MIG_DEFAULT_PORT;

	if (json_object_object_get_ex(frame, "port", &v) && json_object_get_int(v) > 0 &&
	    json_object_get_int(v) < 65536)
		port = json_object_get_int(v);
	peer_addr(c, port, addr, sizeof(addr));
	pthread_mutex_lock(&cl.lock);
	self_update(&cl.m[0]);
	m = find(from);
	if (!strcmp(op, "join")) {
		struct tomb *t = find_dead(from);

		if (!m && cl.n == CLUSTER_MAX) {
			pthread_mutex_unlock(&cl.lock);
			refuse(c, false, "%s has the most members a cluster may have", vmmigd.host);
			return;
		}
		if (t)
			*t = cl.dead[--cl.ndead];
		cl.m[0].since = now_s();
		joining = true;
		if (!m) {
			m = &cl.m[cl.n++];
			memset(m, 0, sizeof(*m));
			snprintf(m->host, sizeof(m->host), "%s", from);
			m->since = now_s();
			joined = true;
		}
	} else if (!strcmp(op, "leave")) {
		const char *target = jstr(frame, "target");

		if (!m) {
			pthread_mutex_unlock(&cl.lock);
			refuse(c, true, "%s is not in a cluster with it", vmmigd.host);
			return;
		}
		if (!strcmp(target, cl.m[0].host)) {
			/* This host is the one removed: it is alone now. */
			go_alone();
			alone = true;
		} else if ((m = find(target))) {
			bury(target, now_s());
			drop(m);
			left = true;
		}
		/* The sender still lists the target, at its own clock: no merge. */
		m = NULL;
	} else if (strcmp(op, "sync")) {
		pthread_mutex_unlock(&cl.lock);
		refuse(c, false, "unknown cluster operation '%s'", op);
		return;
	} else if (!m) {
		pthread_mutex_unlock(&cl.lock);
		refuse(c, true, "%s does not count it as a cluster member", vmmigd.host);
		return;
	}
	if (m && merge(frame, from, addr, joining)) {
		go_alone();
		alone = true;
	}
	v = view("ok", NULL);
	pthread_mutex_unlock(&cl.lock);
	peer_send(c, FRAME_CLUSTER, v);
	json_object_put(v);
	if (joined)
		event(EV_CLUSTER_JOIN, NULL, "%s joined the cluster of %s", from, vmmigd.host);
	if (left)
		event(EV_CLUSTER_LEAVE, NULL, "%s removed %s from the cluster", from,
		      jstr(frame, "target"));
	if (alone)
		event(EV_CLUSTER_LEAVE, NULL, "%s removed %s from its cluster", from, vmmigd.host);
	save();
	push(false);
}

int cluster_add(const char *to, char *why)
{
	char host[VMMIGD_HOST_MAX], msg[VMMIG_ERRLEN];
	struct json_object *r;
	struct member *m;
	int err;

	pthread_mutex_lock(&cl.lock);
	if (cl.n == CLUSTER_MAX) {
		pthread_mutex_unlock(&cl.lock);
		snprintf(why, VMMIG_ERRLEN, "the cluster has %d members, the most it may have",
			 CLUSTER_MAX);
		return -ENOSPC;
	}
	pthread_mutex_unlock(&cl.lock);
	err = exchange(to, "join", NULL, host, &r, msg);
	if (err) {
		snprintf(why, VMMIG_ERRLEN, "cannot add %.60s: %.180s", to, msg);
		return err;
	}
	pthread_mutex_lock(&cl.lock);
	if (!strcmp(host, cl.m[0].host)) {
		pthread_mutex_unlock(&cl.lock);
		json_object_put(r);
		snprintf(why, VMMIG_ERRLEN, "%s is this host", to);
		return -EINVAL;
	}
	merge(r, host, to, true);
	json_object_put(r);
	m = find(host);
	if (m) {
		/* Added now: newer than any removal gossip may still carry. */
		snprintf(m->addr, sizeof(m->addr), "%s", to);
		m->since = now_s();
	}
	pthread_mutex_unlock(&cl.lock);
	event(EV_CLUSTER_JOIN, NULL, "%s added %s (%s) to its cluster", vmmigd.host, host, to);
	save();
	push(false);
	return 0;
}

int cluster_remove(const char *host, char *why)
{
	char addr[CLUSTER_MAX][256], who[VMMIGD_HOST_MAX], msg[VMMIG_ERRLEN];
	struct json_object *r;
	unsigned int i, n = 0;
	struct member *m;

	pthread_mutex_lock(&cl.lock);
	m = find(host);
	if (!m || m == &cl.m[0]) {
		pthread_mutex_unlock(&cl.lock);
		snprintf(why, VMMIG_ERRLEN, m ? "%s is this host: remove it from another member" :
			 "%s is not a member of this cluster (vmmig cluster list)", host);
		return m ? -EINVAL : -ENOENT;
	}
	/* Everyone it leaves is told, and it is too. */
	for (i = 1; i < cl.n; i++)
		snprintf(addr[n++], sizeof(addr[0]), "%s", cl.m[i].addr);
	pthread_mutex_unlock(&cl.lock);
	for (i = 0; i < n; i++) {
		if (exchange(addr[i], "leave", host, who, &r, msg))
			event(EV_CLUSTER_UNREACHABLE, NULL, "could not tell %s of %s's removal: %s",
			      addr[i], host, msg);
		json_object_put(r);	/* an acknowledgement: not merged */
	}
	pthread_mutex_lock(&cl.lock);
	m = find(host);
	if (m) {
		bury(host, now_s());
		drop(m);
	}
	pthread_mutex_unlock(&cl.lock);
	event(EV_CLUSTER_LEAVE, NULL, "%s removed %s from its cluster", vmmigd.host, host);
	save();
	push(false);
	return 0;
}

/* Every member but this host, once: reachable or not, features changed or not. */
static void sync_all(void)
{
	char addr[CLUSTER_MAX][256], host[CLUSTER_MAX][VMMIGD_HOST_MAX];
	char who[VMMIGD_HOST_MAX], msg[VMMIG_ERRLEN];
	bool was, removed = false, dropped;
	struct json_object *r;
	unsigned int i, n = 0;
	struct member *m;
	int err;

	pthread_mutex_lock(&cl.lock);
	self_update(&cl.m[0]);
	for (i = 1; i < cl.n; i++) {
		snprintf(addr[n], sizeof(addr[0]), "%s", cl.m[i].addr);
		snprintf(host[n++], sizeof(host[0]), "%s", cl.m[i].host);
	}
	pthread_mutex_unlock(&cl.lock);
	for (i = 0; i < n; i++) {
		if (!addr[i][0])
			continue;
		err = exchange(addr[i], "sync", NULL, who, &r, msg);
		if (!err && strcmp(who, host[i])) {
			err = -EPROTO;
			snprintf(msg, sizeof(msg), "%.100s answers as %.60s", addr[i], who);
		}
		pthread_mutex_lock(&cl.lock);
		/* Removed meanwhile, here or there: nothing of it is merged. */
		m = find(host[i]);
		was = m && m->reachable;
		dropped = false;
		if (m && !err && merge(r, who, addr[i], false)) {
			go_alone();
			removed = true;
			m = NULL;
		} else if (m && err == -ENOLINK && m->seen) {
			/*
			 * It removed this host while this host did not hear.
			 * (A member only heard of, never reached, may not have
			 * heard of this host yet: it stays, unreachable.)
			 */
			drop(m);
			m = NULL;
			dropped = true;
		} else if (m && err) {
			m->reachable = false;
			snprintf(m->why, sizeof(m->why), "%s", msg);
		}
		pthread_mutex_unlock(&cl.lock);
		json_object_put(r);
		if (removed) {
			event(EV_CLUSTER_LEAVE, NULL, "%s was removed from the cluster (%s says so): it is alone",
			      vmmigd.host, host[i]);
			break;
		}
		if (dropped)
			event(EV_CLUSTER_LEAVE, NULL, "%s no longer counts %s as a member: it leaves %s's cluster",
			      host[i], vmmigd.host, vmmigd.host);
		if (m && err && was)
			event(EV_CLUSTER_UNREACHABLE, NULL, "cluster member %s is unreachable: %s",
			      host[i], msg);
		else if (m && !err && !was)
			event(EV_CLUSTER_REACHABLE, NULL, "cluster member %s is reachable", host[i]);
	}
	save();
	push(false);
}

void *cluster_run(void *arg)
{
	for (;;) {
		sync_all();
		sleep(cl.interval);
	}
	return NULL;
}

/* ---- the CLI's view ---- */

struct json_object *cluster_list_json(void)
{
	struct json_object *a = json_object_new_array();
	unsigned int i;

	pthread_mutex_lock(&cl.lock);
	for (i = 0; i < cl.n; i++)
		json_object_array_add(a, member_json(&cl.m[i], false));
	pthread_mutex_unlock(&cl.lock);
	return a;
}

static struct json_object *names_json(const struct cpu_features *f)
{
	struct json_object *a = json_object_new_array();
	char *buf = malloc(NAMES_LEN), *tok, *save = NULL;

	if (!buf)
		return a;
	features_names(f, buf, NAMES_LEN);
	for (tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		json_object_array_add(a, json_object_new_string(tok));
	free(buf);
	return a;
}

struct json_object *cluster_features_json(void)
{
	struct json_object *o = json_object_new_object(), *hosts = json_object_new_array(), *h;
	struct cpu_features c, u = { 0 }, lack;
	unsigned int i, n;

	pthread_mutex_lock(&cl.lock);
	self_update(&cl.m[0]);
	n = common_set(&c);
	for (i = 0; i < cl.n; i++)
		if (cl.m[i].has_features && !strcmp(cl.m[i].vendor, cl.m[0].vendor))
			for (unsigned int w = 0; w < VMMIG_NR_WORDS; w++)
				u.w[w] |= cl.m[i].f.w[w];
	json_object_object_add(o, "vendor", json_object_new_string(cl.m[0].vendor));
	json_object_object_add(o, "hosts_counted", json_object_new_int(n));
	if (n) {
		json_object_object_add(o, "common", names_json(&c));
		json_object_object_add(o, "common_words", features_to_json(&c));
	}
	for (i = 0; i < cl.n; i++) {
		const struct member *m = &cl.m[i];

		h = json_object_new_object();
		json_object_object_add(h, "host", json_object_new_string(m->host));
		json_object_object_add(h, "vendor", json_object_new_string(m->vendor));
		if (strcmp(m->vendor, cl.m[0].vendor)) {
			json_object_object_add(h, "counted", json_object_new_boolean(false));
			json_object_object_add(h, "why", json_object_new_string(
				"another CPU vendor: VMs do not move live to it"));
		} else if (!m->has_features) {
			json_object_object_add(h, "counted", json_object_new_boolean(false));
			json_object_object_add(h, "why", json_object_new_string(
				m->why[0] ? m->why : "its features are not known"));
		} else {
			features_lacking(&lack, &u, &m->f);
			json_object_object_add(h, "counted", json_object_new_boolean(true));
			json_object_object_add(h, "features", json_object_new_int(features_count(&m->f)));
			json_object_object_add(h, "lacks", names_json(&lack));
		}
		json_object_array_add(hosts, h);
	}
	pthread_mutex_unlock(&cl.lock);
	json_object_object_add(o, "hosts", hosts);
	return o;
}

/* ---- start ---- */

int cluster_init(const char *advertise, unsigned int interval, char *why)
{
	struct json_object *o, *a;
	char dir[4096], *slash, *text;
	struct member in;
	size_t i;

	cl.advertise = advertise;
	if (advertise) {
		struct vmdef_cpuid *e;
		char msg[VMMIG_ERRLEN];
		int n;

		if (cpuid_dump_load(advertise, &e, &n, msg)) {
			snprintf(cl.advertise_why, sizeof(cl.advertise_why),
				 "--advertise-cpu: %.200s", msg);
		} else {
			features_from_cpuid(&cl.advertised, e, n);
			free(e);
		}
	}
	if (interval)
		cl.interval = interval;
	snprintf(dir, sizeof(dir), "%s", vmmigd.settings_path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof(dir), ".");
	snprintf(cl.path, sizeof(cl.path), "%.4000s/%s", dir, CLUSTER_FILE);
	cl.n = 1;
	self_update(&cl.m[0]);
	cl.m[0].since = now_s();
	if (read_file(cl.path, &text)) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, VMMIG_ERRLEN, "%.200s: %s; the cluster starts empty", cl.path,
			 strerror(errno));
		return -errno;
	}
	o = json_tokener_parse(text);
	free(text);
	if (!o) {
		snprintf(why, VMMIG_ERRLEN, "%.200s: not JSON; the cluster starts empty", cl.path);
		return -EINVAL;
	}
	if (json_object_object_get_ex(o, "members", &a) && json_object_is_type(a, json_type_array))
		for (i = 0; i < json_object_array_length(a) && cl.n < CLUSTER_MAX; i++) {
			if (member_parse(json_object_array_get_idx(a, i), &in, why))
				continue;
			if (!strcmp(in.host, cl.m[0].host)) {
				cl.m[0].since = in.since;
				continue;
			}
			in.reachable = false;
			snprintf(in.why, sizeof(in.why), "not reached since vmmigd started");
			cl.m[cl.n++] = in;
		}
	if (json_object_object_get_ex(o, "removed", &a) && json_object_is_type(a, json_type_array))
		for (i = 0; i < json_object_array_length(a); i++) {
			struct json_object *e = json_object_array_get_idx(a, i);

			if (!vmdef_check_name(jstr(e, "host"), why))
				bury(jstr(e, "host"), ju64(e, "at"));
		}
	json_object_put(o);
	return 0;
}

int cluster_self(struct cpu_features *f, char *why)
{
	int err = 0;

	pthread_mutex_lock(&cl.lock);
	self_update(&cl.m[0]);
	*f = cl.m[0].f;
	snprintf(f->vendor, sizeof(f->vendor), "%s", cl.m[0].vendor);
	if (!cl.m[0].has_features) {
		snprintf(why, VMMIG_ERRLEN, "%s", cl.m[0].why);
		err = -ENODEV;
	}
	pthread_mutex_unlock(&cl.lock);
	return err;
}
