// SPDX-License-Identifier: GPL-2.0
/*
 * bpf_bench: the per-packet cost of vmmigd's tc program
 * (bpf/vmmig_net.bpf.c), by BPF_PROG_TEST_RUN: a 1514-byte TCP/IPv4 frame
 * of a migration stream (counted, its DSCP marked), one of another
 * connection (looked up, passed), and an ARP frame (not parsed past the
 * Ethernet header), each run a million times in the kernel. One line per
 * case: bpf_bench case=NAME ns_per_packet=N (the median of 5 runs), then
 * the ratios. Needs CAP_BPF (root); exit 4 when the kernel refuses.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "vmmig_net.h"
#include "vmmig_net.skel.h"

#define REPEAT	1000000
#define RUNS	5
#define FRAME	1514

static void frame(unsigned char *p, uint32_t saddr, uint16_t sport, uint16_t proto)
{
	struct ethhdr *eth = (struct ethhdr *)p;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct tcphdr *th = (struct tcphdr *)(ip + 1);

	memset(p, 0, FRAME);
	eth->h_proto = htons(proto);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(FRAME - sizeof(*eth));
	ip->ttl = 64;
	ip->protocol = IPPROTO_TCP;
	ip->saddr = saddr;
	ip->daddr = htonl(0x0a510002);
	th->source = htons(sport);
	th->dest = htons(6600);
	th->doff = 5;
}

/* ns per run of @prog on @pkt: the median of RUNS runs of REPEAT. */
static double cost(int prog, const unsigned char *pkt)
{
	double v[RUNS];
	unsigned char out[FRAME];
	int i;

	for (i = 0; i < RUNS; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = FRAME,
			    .data_out = out, .data_size_out = sizeof(out), .repeat = REPEAT);

		if (bpf_prog_test_run_opts(prog, &o))
			return -errno;
		v[i] = o.duration;	/* the kernel's mean ns per run */
	}
	return median(v, RUNS);
}

int main(void)
{
	unsigned char pkt[FRAME];
	struct vmmig_tuple t = { .lport = 40000, .rport = 6600 };
	struct vmmig_stream s = { .slot = 0, .priority = 4, .dscp = 34 };
	struct vmmig_counters c = { 0 };
	struct vmmig_net *skel;
	double hit, miss, arp;
	uint32_t slot = 0;
	int prog;

	skel = vmmig_net__open_and_load();
	if (!skel) {
		printf("bpf_bench: not run: the kernel refused the programs (%s)\n", strerror(errno));
		return 4;
	}
	prog = bpf_program__fd(skel->progs.vmmig_egress);
	t.local[10] = t.local[11] = t.remote[10] = t.remote[11] = 0xff;
	memcpy(t.local + 12, (unsigned char[]){ 10, 81, 0, 1 }, 4);
	memcpy(t.remote + 12, (unsigned char[]){ 10, 81, 0, 2 }, 4);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.by_tuple), &t, &s, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(skel->maps.counters), &slot, &c, BPF_ANY)) {
		printf("bpf_bench: map: %s\n", strerror(errno));
		return 1;
	}
	frame(pkt, htonl(0x0a510001), 40000, ETH_P_IP);
	hit = cost(prog, pkt);
	frame(pkt, htonl(0x0a510001), 40001, ETH_P_IP);
	miss = cost(prog, pkt);
	frame(pkt, 0, 0, ETH_P_ARP);
	arp = cost(prog, pkt);
	if (hit < 0 || miss < 0 || arp < 0) {
		printf("bpf_bench: not run: BPF_PROG_TEST_RUN: %s\n", strerror(errno));
		return 4;
	}
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &slot, &c);
	printf("bpf_bench case=stream ns_per_packet=%.0f counted_packets=%llu\n", hit,
	       (unsigned long long)c.tx_packets);
	printf("bpf_bench case=other_tcp ns_per_packet=%.0f\n", miss);
	printf("bpf_bench case=not_ip ns_per_packet=%.0f\n", arp);
	printf("bpf_bench compare=stream/not_ip ratio=%.2f\n", arp > 0 ? hit / arp : 0);
	vmmig_net__destroy(skel);
	return c.tx_packets == (unsigned long long)REPEAT * RUNS ? 0 : 1;
}
