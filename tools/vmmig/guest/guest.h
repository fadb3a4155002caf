/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ABI between the VMM and the workload guest: where things sit in guest
 * physical memory, the shared page, and the guest's I/O port.
 *
 * The VMM puts the vCPU straight into 64-bit mode (its own GDT and identity
 * page tables for the first 4 GiB, 2 MiB pages), so the guest has no
 * real-mode stub. Guest physical layout:
 *
 *   0x1000   GDT (null, code64 0x08, data 0x10, TSS 0x18)
 *   0x2000   PML4, 0x3000 PDPT, 0x4000-0x7fff four page directories
 *   0x8000   struct vmmig_guest_page
 *   0x10000-0xfffff  stack (grows down from 1 MiB)
 *   0x100000 the guest image (text, data, bss; at most 1 MiB)
 *   0x200000 the working set, wss_pages pages
 */
#ifndef VMMIG_GUEST_H
#define VMMIG_GUEST_H

#define VMMIG_GUEST_GDT		0x1000ULL
#define VMMIG_GUEST_PML4	0x2000ULL
#define VMMIG_GUEST_PAGE	0x8000ULL
#define VMMIG_GUEST_STACK_TOP	0x100000ULL
#define VMMIG_GUEST_LOAD	0x100000ULL
#define VMMIG_GUEST_WSS		0x200000ULL
#define VMMIG_GUEST_MAX_IMAGE	(VMMIG_GUEST_WSS - VMMIG_GUEST_LOAD)

#define VMMIG_GUEST_MAGIC	0x6b726f776d6d76ULL	/* "vmmwork" */
#define VMMIG_GUEST_VERSION	1

/* outb to this port: one of the events below. */
#define VMMIG_GUEST_PORT	0x500
#define VMMIG_GUEST_STARTED	1	/* the guest's first instruction */
#define VMMIG_GUEST_POWEROFF	2
#define VMMIG_GUEST_PANIC	3	/* bad parameters */

#define VMMIG_PATTERN_SEQ	0
#define VMMIG_PATTERN_RANDOM	1

/* Timer ticks per second (PIT channel 0 through the PIC, auto-EOI). */
#define VMMIG_GUEST_HZ		100

#ifndef __ASSEMBLER__
#include <stdint.h>

/*
 * The shared page. The VMM fills the "in" fields before the first
 * instruction and may later set stop_req and verify_req; the guest fills
 * the "out" fields after every batch of writes. No exit is needed to read
 * or write it: the guest polls its requests on every timer tick.
 */
struct vmmig_guest_page {
	uint64_t magic;
	uint64_t version;
	/* in */
	uint64_t tsc_khz;
	uint64_t rate;		/* pages written per second, 0 = none */
	uint64_t wss_pages;
	uint64_t pattern;
	uint64_t seed;
	uint64_t stop_req;	/* non-zero: power off */
	uint64_t verify_req;	/* bump to ask for a full checksum check */
	/* out */
	uint64_t counter;	/* pages written so far; never decreases */
	uint64_t checksum;	/* of the working set, kept incrementally */
	uint64_t verify_done;	/* the verify_req last answered */
	uint64_t verify_ok;	/* 1: recomputed checksum == checksum */
	uint64_t ticks;
	/*
	 * The longest time between two turns of the guest's loop (which wakes
	 * on every tick), by its TSC, since gap_req last changed: what the
	 * guest saw of a pause or a move (Documentation/design/migration.rst).
	 */
	uint64_t gap_req;	/* in: bump to measure afresh (a move starts) */
	uint64_t gap_done;	/* the gap_req these figures are for */
	uint64_t gap_max_us;
	uint64_t gap_at;	/* counter when that gap ended */
	uint64_t fill;		/* in: write every page of the working set once, first */
};

/*
 * The checksum of the working set is the sum (mod 2^64) of word_hash() over
 * its 64-bit words; zero words count zero, so fresh memory sums to 0.
 */
static inline uint64_t vmmig_word_hash(uint64_t addr, uint64_t v)
{
	uint64_t x;

	if (!v)
		return 0;
	x = addr ^ (v * 0x9e3779b97f4a7c15ULL);
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}
#endif

#endif
