/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What vmmig_net.bpf.c and vmmigd share (plain C types): the streams of
 * migrations by socket cookie and by 4-tuple, their counters, and the
 * events of the ring buffer. Documentation/design/bpf.rst.
 */
#ifndef VMMIG_NET_H
#define VMMIG_NET_H

#define VMMIG_NET_SLOTS		256	/* streams counted at once */
#define VMMIG_NET_NO_DSCP	0xff

/* A stream, by its socket's cookie (egress) or its 4-tuple (ingress). */
struct vmmig_stream {
	__u32 slot;		/* index into counters */
	__u32 priority;		/* skb->priority of its packets out */
	__u8 dscp;		/* DSCP of its packets out, or VMMIG_NET_NO_DSCP */
	__u8 pad[7];
};

/*
 * A TCP connection from this host's end: addresses as IPv6 (IPv4 mapped),
 * ports in host order (as the tcp tracepoints have them). Ingress packets
 * are looked up with their ends swapped.
 */
struct vmmig_tuple {
	__u8 local[16];
	__u8 remote[16];
	__u16 lport;
	__u16 rport;
	__u32 pad;
};

/* Per slot. TCP payload bytes; packets as on the wire (GSO segments). */
struct vmmig_counters {
	__u64 tx_bytes, tx_packets;
	__u64 rx_bytes, rx_packets;
	__u64 retransmits;
	__u64 srtt_us;		/* the last smoothed RTT the kernel had */
	__u64 last_retransmit_ns;
};

enum vmmig_net_event_type {
	VMMIG_NET_RETRANSMIT = 1,	/* a stream's segment was sent again */
};

struct vmmig_net_event {
	__u64 ns;
	__u32 slot;
	__u32 type;
	__u64 retransmits;	/* the slot's count so far */
	__u64 srtt_us;
};

#endif
