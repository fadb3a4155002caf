// SPDX-License-Identifier: GPL-2.0
/*
 * Migration traffic, seen by the kernel (Documentation/design/bpf.rst):
 *
 *  - tc clsact, both ways, on the devices of migration networks: counts
 *    each migration stream's TCP payload and packets, and marks its
 *    packets out with the skb priority and DSCP of its network's class;
 *  - tp_btf tcp_probe: each stream's smoothed RTT;
 *  - tp_btf tcp_retransmit_skb: its retransmits, each also an event in
 *    the ring buffer, from which vmmigd tells of stalls.
 *
 * vmmigd fills by_tuple with the streams of its migrations; every other
 * packet passes untouched. Every packet goes on to the device's next tc
 * filter, if any. Devices with an Ethernet header (NICs, veth, bridges,
 * bonds, VLANs) only.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "vmmig_net.h"

#define ETH_HLEN	14
#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define AF_INET		2
#define AF_INET6	10
#define PROTO_TCP	6
#define TC_ACT_UNSPEC	(-1)	/* on to the next filter: others still see the packet */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VMMIG_NET_SLOTS);
	__type(key, struct vmmig_tuple);
	__type(value, struct vmmig_stream);
} by_tuple SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VMMIG_NET_SLOTS);
	__type(key, __u32);
	__type(value, struct vmmig_counters);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 10);
} events SEC(".maps");

static __always_inline void v4_mapped(__u8 *out, const void *v4)
{
	__builtin_memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(out + 12, v4, 4);
}

/*
 * The stream of a TCP/IP packet at @skb, and where its IP header is; its
 * TCP payload in *@payload. @out: the packet leaves this host.
 */
static __always_inline struct vmmig_stream *packet_stream(struct __sk_buff *skb, bool out,
							  __u32 *payload, bool *v6)
{
	struct vmmig_tuple t = {};
	__u32 l3, l4, iplen;
	__u8 doff;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) || ip.protocol != PROTO_TCP)
			return NULL;
		v4_mapped(out ? t.local : t.remote, &ip.saddr);
		v4_mapped(out ? t.remote : t.local, &ip.daddr);
		l3 = ip.ihl * 4;
		iplen = bpf_ntohs(ip.tot_len);
		*v6 = false;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip;

		/* Extension headers before TCP: not a stream of ours. */
		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) || ip.nexthdr != PROTO_TCP)
			return NULL;
		__builtin_memcpy(out ? t.local : t.remote, &ip.saddr, 16);
		__builtin_memcpy(out ? t.remote : t.local, &ip.daddr, 16);
		l3 = sizeof(ip);
		/* 0: a jumbogram (BIG TCP), its length is the packet's. */
		iplen = ip.payload_len ? sizeof(ip) + bpf_ntohs(ip.payload_len) : 0;
		*v6 = true;
	} else {
		return NULL;
	}
	l4 = ETH_HLEN + l3;
	{
		struct tcphdr th;

		if (bpf_skb_load_bytes(skb, l4, &th, sizeof(th)))
			return NULL;
		t.lport = bpf_ntohs(out ? th.source : th.dest);
		t.rport = bpf_ntohs(out ? th.dest : th.source);
		doff = th.doff;
	}
	l4 += doff * 4;
	*payload = skb->len > l4 ? skb->len - l4 : 0;
	/* Not the padding of a short Ethernet frame. */
	if (iplen && ETH_HLEN + iplen < skb->len)
		*payload = ETH_HLEN + iplen > l4 ? ETH_HLEN + iplen - l4 : 0;
	return bpf_map_lookup_elem(&by_tuple, &t);
}

/* The class of the stream's network into its packet's DSCP, checksum kept. */
static __always_inline void mark_dscp(struct __sk_buff *skb, __u8 dscp, bool v6)
{
	__u16 old, new;

	if (dscp == VMMIG_NET_NO_DSCP ||
	    bpf_skb_load_bytes(skb, ETH_HLEN, &old, sizeof(old)))
		return;
	old = bpf_ntohs(old);
	if (v6)
		/* version 4 bits, traffic class 8 (DSCP 6, ECN 2), flow label */
		new = (old & 0xf03f) | ((__u16)dscp << 6);
	else
		/* version and IHL 8 bits, then TOS: DSCP 6, ECN 2 */
		new = (old & 0xff03) | ((__u16)dscp << 2);
	if (new == old)
		return;
	old = bpf_htons(old);
	new = bpf_htons(new);
	bpf_skb_store_bytes(skb, ETH_HLEN, &new, sizeof(new), 0);
	if (!v6)
		bpf_l3_csum_replace(skb, ETH_HLEN + offsetof(struct iphdr, check), old, new,
				    sizeof(new));
}

static __always_inline int count(struct __sk_buff *skb, bool out)
{
	struct vmmig_counters *c;
	struct vmmig_stream *s;
	__u32 payload, slot;
	__u64 segs;
	bool v6;

	s = packet_stream(skb, out, &payload, &v6);
	if (!s)
		return TC_ACT_UNSPEC;
	slot = s->slot;
	c = bpf_map_lookup_elem(&counters, &slot);
	if (!c)
		return TC_ACT_UNSPEC;
	segs = skb->gso_segs ? skb->gso_segs : 1;
	if (out) {
		__sync_fetch_and_add(&c->tx_bytes, payload);
		__sync_fetch_and_add(&c->tx_packets, segs);
		skb->priority = s->priority;
		mark_dscp(skb, s->dscp, v6);
	} else {
		__sync_fetch_and_add(&c->rx_bytes, payload);
		__sync_fetch_and_add(&c->rx_packets, segs);
	}
	return TC_ACT_UNSPEC;
}

SEC("tc")
int vmmig_egress(struct __sk_buff *skb)
{
	return count(skb, true);
}

SEC("tc")
int vmmig_ingress(struct __sk_buff *skb)
{
	return count(skb, false);
}

/*
 * The stream of a TCP socket, from its own view. BTF-typed tracepoints
 * (tp_btf) need no tracefs and hand over the socket itself; its fields are
 * read with CO-RE.
 */
static __always_inline struct vmmig_stream *sock_stream(const struct sock *sk)
{
	struct vmmig_tuple t = {};
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (family == AF_INET) {
		__be32 a = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__be32 b = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		v4_mapped(t.local, &a);
		v4_mapped(t.remote, &b);
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&t.local, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&t.remote, sk, __sk_common.skc_v6_daddr);
	} else {
		return NULL;
	}
	t.lport = BPF_CORE_READ(sk, __sk_common.skc_num);
	t.rport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return bpf_map_lookup_elem(&by_tuple, &t);
}

static __always_inline struct vmmig_counters *sock_counters(const struct sock *sk, __u32 *slot)
{
	struct vmmig_stream *s = sock_stream(sk);

	if (!s)
		return NULL;
	*slot = s->slot;
	return bpf_map_lookup_elem(&counters, slot);
}

SEC("tp_btf/tcp_probe")
int BPF_PROG(vmmig_tcp_probe, struct sock *sk, struct sk_buff *skb)
{
	struct vmmig_counters *c;
	__u32 slot;

	c = sock_counters(sk, &slot);
	if (c)
		c->srtt_us = BPF_CORE_READ((struct tcp_sock *)sk, srtt_us) >> 3;
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(vmmig_tcp_retransmit, const struct sock *sk, const struct sk_buff *skb)
{
	struct vmmig_net_event *e;
	struct vmmig_counters *c;
	__u32 slot;

	c = sock_counters(sk, &slot);
	if (!c)
		return 0;
	__sync_fetch_and_add(&c->retransmits, 1);
	c->last_retransmit_ns = bpf_ktime_get_ns();
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->ns = c->last_retransmit_ns;
	e->slot = slot;
	e->type = VMMIG_NET_RETRANSMIT;
	e->retransmits = c->retransmits;
	e->srtt_us = c->srtt_us;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
