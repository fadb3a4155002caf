// SPDX-License-Identifier: GPL-2.0
/*
 * bpf/vmmig_net.bpf.c in vmmigd (Documentation/design/bpf.rst): loaded at
 * start, its maps and tc programs pinned under /sys/fs/bpf/vmmig/HOST, the
 * tc programs attached to each device a migration stream uses, the stream
 * sockets entered in its map while they run. Their counters then go to
 * the migration (`migration show`) and to the network's totals (`vmmig
 * stats`). Retransmits come through the ring buffer as stall events.
 * A host where the programs cannot load (no BTF, no permission, no bpffs)
 * says so once and migrates without them.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "vmmigd.h"
#include "vmmig_net.h"
#include "vmmig_net.skel.h"

#define BPFFS		"/sys/fs/bpf"
#define PIN_ROOT	BPFFS "/vmmig"
#define TC_HANDLE	0x564d		/* "VM" */
#define TC_PRIORITY	1
#define MAX_DEVS	16
#define MAX_TOTALS	32
#define STALL_EVENT_NS	(5 * 1000000000ULL)

struct slot {
	bool used;
	uint64_t mig;
	char vm[VMDEF_NAME_MAX + 1];
	unsigned int index;
	char network[64];
	struct vmmig_tuple t;
	uint64_t last_event_ns;
};

static struct {
	pthread_mutex_t lock;
	struct vmmig_net *skel;
	struct bpf_link *probe, *retransmit;
	struct ring_buffer *rb;
	pthread_t ring;
	bool stopping;
	char error[VMMIG_ERRLEN];		/* why it is not loaded */
	char pins[256];
	int devs[MAX_DEVS];
	bool own_qdisc[MAX_DEVS];		/* the clsact qdisc is ours to remove */
	unsigned int ndevs;
	struct slot slots[VMMIG_NET_SLOTS];
	struct {
		char network[64];
		struct net_counts c;
	} totals[MAX_TOTALS];
	unsigned int ntotals;
	char log[VMMIG_ERRLEN];			/* libbpf's last warning */
} nb = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int on_libbpf(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[VMMIG_ERRLEN];
	size_t n;

	if (level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n)
		snprintf(nb.log, sizeof(nb.log), "%s", line);
	return 0;
}

/* bpffs at /sys/fs/bpf, mounted if nobody did (systemd does). */
static int bpffs(char *why)
{
	struct statfs st;

	if (!statfs(BPFFS, &st) && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mount("bpf", BPFFS, "bpf", 0, "mode=0700")) {
		snprintf(why, VMMIG_ERRLEN, "no bpffs at %s and cannot mount it: %s", BPFFS,
			 strerror(errno));
		return -errno;
	}
	return 0;
}

static void unpin_all(void)
{
	static const char *const names[] = {
		"by_tuple", "counters", "events", "vmmig_egress", "vmmig_ingress",
	};
	char path[512];
	unsigned int i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", nb.pins, names[i]);
		unlink(path);
	}
	rmdir(nb.pins);
}

static int pin(char *why)
{
	struct vmmig_net *s = nb.skel;
	struct {
		int err;
		const char *name;
	} r[5];
	char path[512];
	unsigned int i;

	mkdir(PIN_ROOT, 0700);
	snprintf(nb.pins, sizeof(nb.pins), PIN_ROOT "/%s", vmmigd.host);
	/* What a daemon that died left behind. */
	unpin_all();
	if (mkdir(nb.pins, 0700) && errno != EEXIST) {
		snprintf(why, VMMIG_ERRLEN, "%.160s: %s", nb.pins, strerror(errno));
		return -errno;
	}
#define PIN(i, kind, obj, nm) do {						\
		snprintf(path, sizeof(path), "%s/%s", nb.pins, nm);		\
		r[i].err = kind(obj, path);					\
		r[i].name = nm;							\
	} while (0)
	PIN(0, bpf_map__pin, s->maps.by_tuple, "by_tuple");
	PIN(1, bpf_map__pin, s->maps.counters, "counters");
	PIN(2, bpf_map__pin, s->maps.events, "events");
	PIN(3, bpf_program__pin, s->progs.vmmig_egress, "vmmig_egress");
	PIN(4, bpf_program__pin, s->progs.vmmig_ingress, "vmmig_ingress");
#undef PIN
	for (i = 0; i < 5; i++)
		if (r[i].err) {
			snprintf(why, VMMIG_ERRLEN, "pinning %s under %.160s: %s", r[i].name, nb.pins,
				 strerror(-r[i].err));
			return r[i].err;
		}
	return 0;
}

static struct slot *slot_of(uint32_t i)
{
	return i < VMMIG_NET_SLOTS && nb.slots[i].used ? &nb.slots[i] : NULL;
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct vmmig_net_event *e = data;
	char vm[VMDEF_NAME_MAX + 1] = "", network[64] = "";
	unsigned int index = 0;
	bool tell = false;
	struct slot *s;

	if (size < sizeof(*e) || e->type != VMMIG_NET_RETRANSMIT)
		return 0;
	pthread_mutex_lock(&nb.lock);
	s = slot_of(e->slot);
	/* One event per stream every few seconds: a stall, not each segment. */
	if (s && (!s->last_event_ns || e->ns - s->last_event_ns >= STALL_EVENT_NS)) {
		s->last_event_ns = e->ns;
		snprintf(vm, sizeof(vm), "%s", s->vm);
		snprintf(network, sizeof(network), "%s", s->network);
		index = s->index;
		tell = true;
	}
	pthread_mutex_unlock(&nb.lock);
	if (tell)
		event(EV_MIG_STALL, NULL, "%s: stream %u over network %s retransmits (%llu so far, smoothed RTT %llu us)",
		      vm, index, network, (unsigned long long)e->retransmits,
		      (unsigned long long)e->srtt_us);
	return 0;
}

static void *ring_thread(void *arg)
{
	while (!__atomic_load_n(&nb.stopping, __ATOMIC_RELAXED))
		if (ring_buffer__poll(nb.rb, 500) < 0 && errno != EINTR)
			break;
	return NULL;
}

static void unload(void)
{
	ring_buffer__free(nb.rb);
	nb.rb = NULL;
	bpf_link__destroy(nb.probe);
	bpf_link__destroy(nb.retransmit);
	nb.probe = nb.retransmit = NULL;
	vmmig_net__destroy(nb.skel);
	nb.skel = NULL;
}

void netbpf_start(void)
{
	char why[VMMIG_ERRLEN] = "";
	struct vmmig_net *s;
	int err;

	libbpf_set_print(on_libbpf);
	s = vmmig_net__open();
	if (!s) {
		snprintf(why, sizeof(why), "cannot open the programs: %s", strerror(errno));
		goto fail;
	}
	nb.skel = s;
	err = vmmig_net__load(s);
	if (err) {
		snprintf(why, sizeof(why), "the kernel refused the programs (%s)%s%.180s",
			 strerror(-err), nb.log[0] ? ": " : "", nb.log);
		goto fail;
	}
	nb.probe = bpf_program__attach(s->progs.vmmig_tcp_probe);
	nb.retransmit = bpf_program__attach(s->progs.vmmig_tcp_retransmit);
	if (!nb.probe || !nb.retransmit) {
		snprintf(why, sizeof(why), "cannot attach to the tcp tracepoints: %s",
			 strerror(errno));
		goto fail;
	}
	if (bpffs(why) || pin(why))
		goto fail;
	nb.rb = ring_buffer__new(bpf_map__fd(s->maps.events), on_event, NULL, NULL);
	if (!nb.rb || pthread_create(&nb.ring, NULL, ring_thread, NULL)) {
		snprintf(why, sizeof(why), "ring buffer: %s", strerror(errno));
		goto fail;
	}
	event(EV_BPF, NULL, "eBPF programs loaded, pinned under %s", nb.pins);
	return;
fail:
	if (nb.pins[0])
		unpin_all();
	unload();
	snprintf(nb.error, sizeof(nb.error), "%s", why);
	event(EV_BPF, NULL, "eBPF programs not loaded: %s; migrations go on without their counters, marks and stall events",
	      why);
}

static void tc_hook(struct bpf_tc_hook *h, int ifindex, enum bpf_tc_attach_point ap)
{
	memset(h, 0, sizeof(*h));
	h->sz = sizeof(*h);
	h->ifindex = ifindex;
	h->attach_point = ap;
}

void netbpf_stop(void)
{
	struct bpf_tc_opts o = { .sz = sizeof(o), .handle = TC_HANDLE, .priority = TC_PRIORITY };
	struct bpf_tc_hook h;
	unsigned int i;

	pthread_mutex_lock(&nb.lock);
	if (!nb.skel) {
		pthread_mutex_unlock(&nb.lock);
		return;
	}
	__atomic_store_n(&nb.stopping, true, __ATOMIC_RELAXED);
	for (i = 0; i < nb.ndevs; i++) {
		tc_hook(&h, nb.devs[i], BPF_TC_EGRESS);
		bpf_tc_detach(&h, &o);
		tc_hook(&h, nb.devs[i], BPF_TC_INGRESS);
		bpf_tc_detach(&h, &o);
		if (nb.own_qdisc[i]) {
			tc_hook(&h, nb.devs[i], BPF_TC_EGRESS | BPF_TC_INGRESS);
			bpf_tc_hook_destroy(&h);
		}
	}
	nb.ndevs = 0;
	unpin_all();
	pthread_mutex_unlock(&nb.lock);
	/* It polls every 500 ms, and its events take nb.lock. */
	pthread_join(nb.ring, NULL);
	pthread_mutex_lock(&nb.lock);
	unload();
	pthread_mutex_unlock(&nb.lock);
}

/* An IPv4 address in an IPv6 socket (the listener is dual-stack) as IPv4. */
static void unmap(struct sockaddr_storage *ss)
{
	struct sockaddr_in6 s6 = *(struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6.sin6_addr))
		return;
	memset(ss, 0, sizeof(*ss));
	s4->sin_family = AF_INET;
	s4->sin_port = s6.sin6_port;
	memcpy(&s4->sin_addr, &s6.sin6_addr.s6_addr[12], 4);
}

/* The device that has address @sa here, 0 if none. */
static int dev_of(const struct sockaddr_storage *sa)
{
	struct ifaddrs *ifa, *i;
	int index = 0;

	if (getifaddrs(&ifa))
		return 0;
	for (i = ifa; i && !index; i = i->ifa_next) {
		const struct sockaddr *a = i->ifa_addr;

		if (!a || a->sa_family != sa->ss_family)
			continue;
		if (a->sa_family == AF_INET ?
		    ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
		    ((const struct sockaddr_in *)sa)->sin_addr.s_addr :
		    !memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
			    &((const struct sockaddr_in6 *)sa)->sin6_addr, 16))
			index = if_nametoindex(i->ifa_name);
	}
	freeifaddrs(ifa);
	return index;
}

/* tc programs on device @ifindex, once. Under nb.lock. */
static int attach_dev(int ifindex, char *why)
{
	struct bpf_tc_opts o = { .sz = sizeof(o), .handle = TC_HANDLE, .priority = TC_PRIORITY,
				 .flags = BPF_TC_F_REPLACE };
	struct bpf_tc_hook h;
	char name[IF_NAMESIZE] = "?";
	bool own;
	unsigned int i;
	int err;

	for (i = 0; i < nb.ndevs; i++)
		if (nb.devs[i] == ifindex)
			return 0;
	if (nb.ndevs == MAX_DEVS) {
		snprintf(why, VMMIG_ERRLEN, "tc programs on %u devices already", MAX_DEVS);
		return -ENOSPC;
	}
	if_indextoname(ifindex, name);
	tc_hook(&h, ifindex, BPF_TC_EGRESS | BPF_TC_INGRESS);
	err = bpf_tc_hook_create(&h);
	own = !err;
	if (err && err != -EEXIST) {
		snprintf(why, VMMIG_ERRLEN, "clsact on %s: %s", name, strerror(-err));
		return err;
	}
	tc_hook(&h, ifindex, BPF_TC_EGRESS);
	o.prog_fd = bpf_program__fd(nb.skel->progs.vmmig_egress);
	err = bpf_tc_attach(&h, &o);
	if (!err) {
		tc_hook(&h, ifindex, BPF_TC_INGRESS);
		o.prog_fd = bpf_program__fd(nb.skel->progs.vmmig_ingress);
		o.prog_id = 0;
		err = bpf_tc_attach(&h, &o);
	}
	if (err) {
		snprintf(why, VMMIG_ERRLEN, "tc on %s: %s", name, strerror(-err));
		tc_hook(&h, ifindex, BPF_TC_EGRESS);
		o.flags = o.prog_fd = o.prog_id = 0;
		bpf_tc_detach(&h, &o);
		if (own) {
			tc_hook(&h, ifindex, BPF_TC_EGRESS | BPF_TC_INGRESS);
			bpf_tc_hook_destroy(&h);
		}
		return err;
	}
	nb.own_qdisc[nb.ndevs] = own;
	nb.devs[nb.ndevs++] = ifindex;
	return 0;
}

static void to_v6(const struct sockaddr_storage *sa, uint8_t *out, uint16_t *port)
{
	if (sa->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memset(out, 0, 10);
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &s4->sin_addr, 4);
		*port = ntohs(s4->sin_port);
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(out, &s6->sin6_addr, 16);
		*port = ntohs(s6->sin6_port);
	}
}

/* Its DSCP and skb priority by the network's class (networks.rst). */
static void net_class(unsigned int priority, struct vmmig_stream *v)
{
	static const uint8_t dscp[] = { 34, 26, 18, 10 };	/* AF41, AF31, AF21, AF11 */
	unsigned int c = priority >= 1 && priority <= 3 ? priority - 1 : 3;

	v->dscp = dscp[c];
	v->priority = dscp[c] >> 3;
}

static void release(unsigned int slot, uint64_t mig, struct net_counts *c);

void netbpf_stream(struct migration *m, unsigned int i, int fd, unsigned int priority)
{
	struct sockaddr_storage local, remote;
	socklen_t len = sizeof(local);
	struct vmmig_stream v = { 0 };
	char why[VMMIG_ERRLEN] = "";
	int ifindex, err = 0;
	bool counted = false;
	unsigned int k;

	if (i >= MIG_MAX_STREAMS || getsockname(fd, (struct sockaddr *)&local, &len))
		return;
	/* A stream's new connection (another network): the old one's counts go to its network. */
	pthread_mutex_lock(&vmmigd.lock);
	k = m->net[i].slot;
	m->net[i].slot = 0;
	pthread_mutex_unlock(&vmmigd.lock);
	if (k) {
		struct net_counts old = { 0 };

		pthread_mutex_lock(&nb.lock);
		release(k, m->id, &old);
		pthread_mutex_unlock(&nb.lock);
	}
	len = sizeof(remote);
	if (getpeername(fd, (struct sockaddr *)&remote, &len))
		return;
	/* IPv4 in an IPv6 socket: as IPv4, as the packets are. */
	unmap(&local);
	unmap(&remote);
	ifindex = dev_of(&local);
	pthread_mutex_lock(&nb.lock);
	if (!nb.skel)
		goto out;
	for (k = 0; k < VMMIG_NET_SLOTS && nb.slots[k].used; k++)
		;
	if (k == VMMIG_NET_SLOTS) {
		err = -ENOSPC;
		snprintf(why, sizeof(why), "%u streams counted already", VMMIG_NET_SLOTS);
		goto out;
	}
	if (!ifindex) {
		err = -ENODEV;
		snprintf(why, sizeof(why), "no device has the stream's address");
		goto out;
	}
	err = attach_dev(ifindex, why);
	if (err)
		goto out;
	memset(&nb.slots[k], 0, sizeof(nb.slots[k]));
	to_v6(&local, nb.slots[k].t.local, &nb.slots[k].t.lport);
	to_v6(&remote, nb.slots[k].t.remote, &nb.slots[k].t.rport);
	v.slot = k;
	net_class(priority, &v);
	{
		struct vmmig_counters zero = { 0 };

		err = bpf_map_update_elem(bpf_map__fd(nb.skel->maps.counters), &k, &zero, BPF_ANY) ?:
		      bpf_map_update_elem(bpf_map__fd(nb.skel->maps.by_tuple), &nb.slots[k].t, &v,
					  BPF_ANY);
	}
	if (err) {
		err = -errno;
		snprintf(why, sizeof(why), "map: %s", strerror(errno));
		goto out;
	}
	nb.slots[k].used = true;
	nb.slots[k].mig = m->id;
	nb.slots[k].index = i;
	snprintf(nb.slots[k].vm, sizeof(nb.slots[k].vm), "%s", m->vm);
	snprintf(nb.slots[k].network, sizeof(nb.slots[k].network), "%s", m->net[i].network);
	counted = true;
out:
	pthread_mutex_unlock(&nb.lock);
	/*
	 * vmmigd.lock is taken before nb.lock, never inside it. A migration
	 * that ended meanwhile was forgotten already: its slot goes now.
	 */
	if (counted) {
		pthread_mutex_lock(&vmmigd.lock);
		if (m->done) {
			pthread_mutex_lock(&nb.lock);
			if (nb.skel)
				bpf_map_delete_elem(bpf_map__fd(nb.skel->maps.by_tuple), &nb.slots[k].t);
			nb.slots[k].used = false;
			pthread_mutex_unlock(&nb.lock);
		} else {
			m->net[i].slot = k + 1;
		}
		pthread_mutex_unlock(&vmmigd.lock);
	}
	if (err)
		event(EV_BPF, m, "%s: stream %u is not counted: %s", m->vm, i, why);
}

static void read_slot(unsigned int k, struct net_counts *n)
{
	struct vmmig_counters c = { 0 };

	memset(n, 0, sizeof(*n));
	if (!nb.skel || bpf_map_lookup_elem(bpf_map__fd(nb.skel->maps.counters), &k, &c))
		return;
	n->tx_bytes = c.tx_bytes;
	n->tx_packets = c.tx_packets;
	n->rx_bytes = c.rx_bytes;
	n->rx_packets = c.rx_packets;
	n->retransmits = c.retransmits;
	n->srtt_us = c.srtt_us;
	n->valid = true;
}

static void add(struct net_counts *to, const struct net_counts *c)
{
	to->tx_bytes += c->tx_bytes;
	to->tx_packets += c->tx_packets;
	to->rx_bytes += c->rx_bytes;
	to->rx_packets += c->rx_packets;
	to->retransmits += c->retransmits;
	to->valid = true;
}

/* Under nb.lock. */
static struct net_counts *totals_of(const char *network)
{
	unsigned int i;

	for (i = 0; i < nb.ntotals; i++)
		if (!strcmp(nb.totals[i].network, network))
			return &nb.totals[i].c;
	if (nb.ntotals == MAX_TOTALS)
		return NULL;
	snprintf(nb.totals[nb.ntotals].network, sizeof(nb.totals[0].network), "%s", network);
	memset(&nb.totals[nb.ntotals].c, 0, sizeof(nb.totals[0].c));
	return &nb.totals[nb.ntotals++].c;
}

/*
 * Slot @slot (+ 1; 0: none) of migration @mig: its counts into @c and its
 * network's totals, its stream out of the map. Under nb.lock.
 */
static void release(unsigned int slot, uint64_t mig, struct net_counts *c)
{
	struct net_counts *t;
	unsigned int k = slot - 1;

	if (!slot || !slot_of(k) || nb.slots[k].mig != mig)
		return;
	read_slot(k, c);
	if (nb.skel)
		bpf_map_delete_elem(bpf_map__fd(nb.skel->maps.by_tuple), &nb.slots[k].t);
	t = totals_of(nb.slots[k].network);
	if (t)
		add(t, c);
	nb.slots[k].used = false;
}

void netbpf_forget(struct migration *m)
{
	struct net_counts c[MIG_MAX_STREAMS] = { 0 };
	unsigned int i, slot[MIG_MAX_STREAMS] = { 0 };

	pthread_mutex_lock(&vmmigd.lock);
	for (i = 0; i < MIG_MAX_STREAMS; i++) {
		slot[i] = m->net[i].slot;
		m->net[i].slot = 0;
	}
	pthread_mutex_unlock(&vmmigd.lock);
	pthread_mutex_lock(&nb.lock);
	for (i = 0; i < MIG_MAX_STREAMS; i++)
		release(slot[i], m->id, &c[i]);
	pthread_mutex_unlock(&nb.lock);
	pthread_mutex_lock(&vmmigd.lock);
	for (i = 0; i < MIG_MAX_STREAMS; i++)
		if (c[i].valid)
			m->net[i].counts = c[i];
	pthread_mutex_unlock(&vmmigd.lock);
}

static struct json_object *counts_json(const struct net_counts *c, bool rtt)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "tx_bytes", json_object_new_uint64(c->tx_bytes));
	json_object_object_add(o, "tx_packets", json_object_new_uint64(c->tx_packets));
	json_object_object_add(o, "rx_bytes", json_object_new_uint64(c->rx_bytes));
	json_object_object_add(o, "rx_packets", json_object_new_uint64(c->rx_packets));
	json_object_object_add(o, "retransmits", json_object_new_uint64(c->retransmits));
	if (rtt)
		json_object_object_add(o, "srtt_us", json_object_new_uint64(c->srtt_us));
	return o;
}

struct json_object *netbpf_stream_json(const struct stream_net *n)
{
	struct net_counts c;

	if (!n->slot)
		return n->counts.valid ? counts_json(&n->counts, true) : NULL;
	pthread_mutex_lock(&nb.lock);
	read_slot(n->slot - 1, &c);
	pthread_mutex_unlock(&nb.lock);
	return c.valid ? counts_json(&c, true) : NULL;
}

struct json_object *netbpf_stats_json(void)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	struct json_object *st = json_object_new_array(), *b = json_object_new_object();
	struct json_object *d = json_object_new_array();
	char name[IF_NAMESIZE];
	struct net_counts c, *t;
	unsigned int i, kept;

	pthread_mutex_lock(&nb.lock);
	json_object_object_add(b, "loaded", json_object_new_boolean(nb.skel != NULL));
	if (nb.skel)
		json_object_object_add(b, "pinned", json_object_new_string(nb.pins));
	else
		json_object_object_add(b, "error", json_object_new_string(nb.error));
	for (i = 0; i < nb.ndevs; i++)
		if (if_indextoname(nb.devs[i], name))
			json_object_array_add(d, json_object_new_string(name));
	json_object_object_add(b, "devices", d);
	/*
	 * A network's totals: the streams that ended, and those running now,
	 * which are added to a copy only (they are added for good when their
	 * migration ends).
	 */
	kept = nb.ntotals;
	{
		__typeof__(nb.totals) saved;

		memcpy(saved, nb.totals, sizeof(saved));
		for (i = 0; i < VMMIG_NET_SLOTS; i++) {
			struct json_object *e;

			if (!nb.slots[i].used)
				continue;
			read_slot(i, &c);
			e = counts_json(&c, true);
			json_object_object_add(e, "migration", json_object_new_uint64(nb.slots[i].mig));
			json_object_object_add(e, "vm", json_object_new_string(nb.slots[i].vm));
			json_object_object_add(e, "index", json_object_new_int(nb.slots[i].index));
			json_object_object_add(e, "network",
					       json_object_new_string(nb.slots[i].network));
			json_object_array_add(st, e);
			t = totals_of(nb.slots[i].network);
			if (t)
				add(t, &c);
		}
		for (i = 0; i < nb.ntotals; i++) {
			struct json_object *e = counts_json(&nb.totals[i].c, false);

			json_object_object_add(e, "network",
					       json_object_new_string(nb.totals[i].network));
			json_object_array_add(a, e);
		}
		memcpy(nb.totals, saved, sizeof(saved));
		nb.ntotals = kept;
	}
	pthread_mutex_unlock(&nb.lock);
	json_object_object_add(o, "bpf", b);
	json_object_object_add(o, "networks", a);
	json_object_object_add(o, "streams", st);
	return o;
}
