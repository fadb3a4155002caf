// SPDX-License-Identifier: GPL-2.0
/*
 * The workload guest: writes one 64-bit word in a page of its working set,
 * RATE times a second, paced by the TSC, and keeps a checksum of the working
 * set up to date. Between batches it sleeps in HLT until the next 100 Hz
 * timer tick, so a running guest costs about one exit per tick (plus one
 * per console byte at start).
 */
#include "guest.h"

void guest_main(void);
void timer_irq(void);

#define PAGE_SIZE	4096ULL

struct idt_gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
} __attribute__((packed));

static volatile struct vmmig_guest_page *const gp =
	(struct vmmig_guest_page *)VMMIG_GUEST_PAGE;
static struct idt_gate idt[256] __attribute__((aligned(16)));

/* Kept in guest memory, so a save and restore carries them along. */
static uint64_t done, checksum, rng, base_tsc, base_done, last_tsc;

_Static_assert(__builtin_offsetof(struct vmmig_guest_page, ticks) == 13 * 8,
	       "entry.S counts ticks at this offset");

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void put_str(const char *s)
{
	while (*s)
		outb(0x3f8, *s++);
}

static void put_dec(uint64_t v)
{
	char buf[21];
	int i = sizeof(buf) - 1;

	buf[i] = '\0';
	do {
		buf[--i] = '0' + v % 10;
		v /= 10;
	} while (v);
	put_str(buf + i);
}

static void idt_init(void)
{
	uint64_t h = (uint64_t)timer_irq;
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };

	idt[0x20] = (struct idt_gate){
		.off0 = h, .sel = 0x08, .type = 0x8e,
		.off1 = h >> 16, .off2 = h >> 32,
	};
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

/* PIC: vectors 0x20/0x28, auto-EOI, only IRQ 0; PIT channel 0 at HZ. */
static void timer_init(void)
{
	static const uint8_t pic[] = { 0x11, 0x20, 0x04, 0x03, 0xfe };
	static const uint8_t slave[] = { 0x11, 0x28, 0x02, 0x03, 0xff };
	uint16_t div = 1193182 / VMMIG_GUEST_HZ;
	unsigned int i;

	for (i = 0; i < sizeof(pic); i++) {
		outb(i ? 0x21 : 0x20, pic[i]);
		outb(i ? 0xa1 : 0xa0, slave[i]);
	}
	outb(0x43, 0x34);
	outb(0x40, div & 0xff);
	outb(0x40, div >> 8);
}

static uint64_t next_page(void)
{
	if (gp->pattern == VMMIG_PATTERN_SEQ)
		return done % gp->wss_pages;
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % gp->wss_pages;
}

static void dirty_one(void)
{
	uint64_t page = next_page();
	uint64_t word = vmmig_word_hash(done, 1) & (PAGE_SIZE / 8 - 1);
	uint64_t *p = (uint64_t *)(VMMIG_GUEST_WSS + page * PAGE_SIZE) + word;
	uint64_t v = done + 1;

	checksum += vmmig_word_hash((uint64_t)p, v) -
		    vmmig_word_hash((uint64_t)p, *p);
	*p = v;
	done++;
}

/* Every page of the working set holds data: a move has all of it to send. */
static void fill(void)
{
	uint64_t i, *p;

	for (i = 0; i < gp->wss_pages; i++) {
		p = (uint64_t *)(VMMIG_GUEST_WSS + i * PAGE_SIZE) + (i & 7) + 1;
		if (*p)
			continue;	/* restored or restarted: already there */
		*p = i + 1;
		checksum += vmmig_word_hash((uint64_t)p, *p);
	}
	gp->checksum = checksum;
}

static uint64_t full_checksum(void)
{
	uint64_t *p = (uint64_t *)VMMIG_GUEST_WSS;
	uint64_t *end = p + gp->wss_pages * PAGE_SIZE / 8;
	uint64_t sum = 0;

	for (; p < end; p++)
		sum += vmmig_word_hash((uint64_t)p, *p);
	return sum;
}

/*
 * How many pages should have been written by now. After a long pause (the
 * TSC runs on while the VM is paused) the guest does not try to catch up:
 * it starts counting again from now.
 */
static uint64_t pages_due(uint64_t hz, uint64_t rate)
{
	uint64_t now = rdtsc(), el = now - base_tsc;
	uint64_t due = base_done + el / hz * rate + el % hz * rate / hz;

	if (due > done + rate / 4 + 16) {
		base_tsc = now;
		base_done = done;
		due = done;
	}
	return due;
}

/* The longest stretch without a turn of the loop since gap_req changed. */
static void watch_gaps(uint64_t khz)
{
	uint64_t now = rdtsc(), us = (now - last_tsc) * 1000 / khz;

	last_tsc = now;
	if (gp->gap_req != gp->gap_done) {
		gp->gap_max_us = 0;
		gp->gap_done = gp->gap_req;
		return;
	}
	if (us > gp->gap_max_us) {
		gp->gap_max_us = us;
		gp->gap_at = done;
	}
}

static void serve_requests(void)
{
	uint64_t req = gp->verify_req;

	if (req != gp->verify_done) {
		gp->verify_ok = full_checksum() == checksum;
		gp->verify_done = req;
	}
	if (gp->stop_req) {
		put_str("vmmig workload: power off\n");
		outb(VMMIG_GUEST_PORT, VMMIG_GUEST_POWEROFF);
	}
}

void guest_main(void)
{
	uint64_t hz = gp->tsc_khz * 1000, rate = gp->rate;

	if (gp->magic != VMMIG_GUEST_MAGIC || !hz || !gp->wss_pages) {
		put_str("vmmig workload: bad parameters\n");
		outb(VMMIG_GUEST_PORT, VMMIG_GUEST_PANIC);
		return;
	}
	rng = gp->seed | 1;
	put_str("vmmig workload: rate ");
	put_dec(rate);
	put_str(" pages/s, working set ");
	put_dec(gp->wss_pages);
	put_str(" pages\n");
	idt_init();
	timer_init();
	if (gp->fill)
		fill();
	base_tsc = rdtsc();
	last_tsc = base_tsc;
	for (;;) {
		uint64_t due = rate ? pages_due(hz, rate) : done;

		while (done < due)
			dirty_one();
		gp->checksum = checksum;
		gp->counter = done;
		watch_gaps(gp->tsc_khz);
		serve_requests();
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}
