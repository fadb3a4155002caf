// SPDX-License-Identifier: GPL-2.0
/*
 * Live save: guest memory is copied while the vCPUs run, then copied again
 * where the guest wrote meanwhile, round after round, until few enough
 * pages are left to copy with the VM paused, with the vCPU and device
 * state. The dirty pages come from vmmig.ko (VMMIG_CMD_DIRTY_HARVEST: KVM's
 * own dirty log, read and re-armed in one request), so this needs the
 * module, and the VM registered with it (register.c).
 *
 * The stream is the one vm_save() writes, with more memory sections: a page
 * may come several times, and the last copy is the one that counts. Live
 * migration sends the same stream over a socket.
 *
 * KVM logs only what the vCPUs write: the pages the VMM's devices write
 * come from vm_take_vmm_dirty().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nl.h"
#include "registry.h"
#include "stream.h"
#include "vmm.h"

#define PAGE		4096ULL
#define CHUNK		(VMSTATE_CHUNK_PAGES * PAGE)

/* Pre-copy ends when a round leaves at most this many pages (1 MiB)... */
#define DONE_PAGES	256
/* ...or after this many rounds, or this many rounds without progress. */
#define MAX_ROUNDS	30
#define STALL_ROUNDS	3

struct live {
	struct vm *vm;
	struct mig_tx *tx;		/* the streams */
	struct vmstate_writer w;	/* puts sections into them */
	struct vmmig_dirty_stats *st;
	struct vmmig_dirty_range *ranges;
	uint32_t max_ranges;
	struct vmstate_mem_chunk c;	/* the chunk being filled */
	struct vmstate_mem_chunk z;	/* the zero pages of its window */
	uint8_t *buf;			/* c's pages */
	uint64_t used;
	uint64_t next;			/* the lowest address the chunks may take next */
	uint64_t vmm_pages;		/* of this round, written by the VMM */
	uint64_t sent_pages;		/* for the progress */
	uint64_t round_bytes;		/* wire bytes when the round began */
	char *why;
};

static int chunk_flush(struct live *l)
{
	int err = 0;

	if (l->c.pages)
		err = vmstate_put(&l->w, VMSTATE_MEMORY, 0, &l->c, sizeof(l->c), l->buf, l->used);
	if (!err && l->z.pages) {
		l->z.flags = VMSTATE_CHUNK_ZERO;
		err = vmstate_put(&l->w, VMSTATE_MEMORY, 0, &l->z, sizeof(l->z), NULL, 0);
	}
	memset(&l->c, 0, sizeof(l->c));
	memset(&l->z, 0, sizeof(l->z));
	l->used = 0;
	l->next = 0;
	return err;
}

/* Appends the page at @gpa, whatever it holds: a zero page as a marker. */
static int chunk_add(struct live *l, uint64_t gpa)
{
	const uint8_t *p = gpa_to_hva(l->vm, gpa, PAGE);
	struct vmstate_mem_chunk *c;
	uint64_t i;
	int err;

	if (!p)
		return -EFAULT;
	/*
	 * Pages of a chunk are in ascending order, within one aligned window:
	 * the window picks the stream, so every copy of a page takes the same.
	 */
	if (l->next && (gpa < l->next || gpa / CHUNK != (l->next - PAGE) / CHUNK)) {
		err = chunk_flush(l);
		if (err)
			return err;
	}
	l->next = gpa + PAGE;
	c = vmstate_page_zero(p) ? &l->z : &l->c;
	if (!c->pages)
		c->gpa = gpa;
	i = (gpa - c->gpa) / PAGE;
	c->pages = i + 1;
	c->present[i / 8] |= 1 << (i % 8);
	if (c == &l->c) {
		memcpy(l->buf + l->used, p, PAGE);
		l->used += PAGE;
	}
	return 0;
}

/* A put into the streams failed: the sender's reason when it has one. */
static int write_failed(struct live *l, int err)
{
	if (!mig_tx_drain(l->tx, l->why))
		vmm_fail(l->why, err, "write: %s", strerror(-err));
	return err;
}

static int vmm_page(void *ctx, uint64_t gpa)
{
	struct live *l = ctx;

	l->vmm_pages++;
	return chunk_add(l, gpa);
}

/* One harvest, and a copy of every page it reports. Return: pages, or < 0. */
static int64_t round_trip(struct live *l)
{
	uint64_t pages = 0, i, j;
	int err;

	l->vmm_pages = 0;
	err = vm_take_vmm_dirty(l->vm, vmm_page, l);
	if (err)
		return vmm_fail(l->why, err, "copying a page the VMM wrote: %s", strerror(-err));

	err = vmmig_dirty_harvest(&l->vm->nl, VMMIG_BY_FD(l->vm->vm_fd), l->ranges,
				  l->max_ranges * sizeof(*l->ranges), l->st);
	if (err)
		return vmm_fail(l->why, err, "dirty harvest: %s", vmmig_nl_strerror(&l->vm->nl, err));
	for (i = 0; i < l->st->nr_ranges; i++)
		for (j = 0; j < l->ranges[i].npages; j++) {
			err = chunk_add(l, (l->ranges[i].gfn + j) * PAGE);
			if (err)
				return vmm_fail(l->why, err, "copying dirty page 0x%llx: %s",
						(unsigned long long)(l->ranges[i].gfn + j),
						strerror(-err));
			pages++;
		}
	err = chunk_flush(l);
	/* The round's bytes are on the wire before it counts as sent. */
	if (!err)
		err = mig_tx_drain(l->tx, l->why);
	if (err)
		return write_failed(l, err);
	return pages + l->vmm_pages;
}

static int live_open(struct live *l)
{
	uint64_t mem_pages = l->vm->mem_size / PAGE;
	int err;

	/* Ranges alternate with gaps: never more than half the pages, per slot. */
	l->max_ranges = mem_pages / 2 + 8;
	l->ranges = calloc(l->max_ranges, sizeof(*l->ranges));
	l->st = calloc(1, sizeof(*l->st));
	l->buf = malloc(CHUNK);
	if (!l->ranges || !l->st || !l->buf)
		return vmm_fail(l->why, -ENOMEM, "out of memory");
	err = vm_register(l->vm, l->why);
	if (err == -ENOENT)
		return vmm_fail(l->why, err, "live save needs vmmig.ko (modprobe vmmig)");
	if (err)
		return err;
	err = vmmig_dirty_start(&l->vm->nl, VMMIG_BY_FD(l->vm->vm_fd));
	if (err)
		vmm_fail(l->why, err, "vmmig.ko cannot log dirty pages: %s",
			 vmmig_nl_strerror(&l->vm->nl, err));
	return err;
}

static void live_close(struct live *l, bool logging)
{
	mig_tx_close(l->tx);
	if (logging)
		vmmig_dirty_stop(&l->vm->nl, VMMIG_BY_FD(l->vm->vm_fd));
	free(l->ranges);
	free(l->st);
	free(l->buf);
}

/**
 * vm_save_live() - save a running VM with pre-copy
 * @vm: the VM, running
 * @fd: where the stream goes
 * @st: what it took
 * @why: the reason of a failure
 *
 * Returns with the VM paused when the stream is complete; on failure the VM
 * may be paused (the caller resumes it) and dirty logging is off.
 *
 * Return: 0 or a negative errno.
 */
static void report(struct live *l, precopy_progress_fn fn, void *ctx, enum mig_phase phase,
		   unsigned int round, uint64_t dirty, uint64_t t0, uint64_t round_ns)
{
	struct mig_progress p = {
		.phase = phase,
		.round = round,
		.total_pages = l->vm->mem_size / PAGE,
		.remaining_pages = dirty,
		.elapsed_ns = now_ns() - t0,
	};

	if (!fn)
		return;
	mig_tx_bytes(l->tx, &p.sent_bytes, &p.raw_bytes);
	p.sent_pages = l->sent_pages;
	if (round_ns) {
		p.dirty_rate = dirty * 1000000000ULL / round_ns;
		p.throughput = (p.sent_bytes - l->round_bytes) * 1000000000ULL / round_ns;
	}
	if (p.throughput)
		p.expected_downtime_ms = dirty * PAGE * 1000 / p.throughput;
	l->round_bytes = p.sent_bytes;
	fn(ctx, &p);
}

int vm_save_live(struct vm *vm, const int *fds, unsigned int nfds, const struct mig_opts *o,
		 struct precopy_stats *st, precopy_progress_fn fn, void *ctx, char *why)
{
	struct live l = { .vm = vm, .why = why };
	uint64_t best = UINT64_MAX, t, t0 = now_ns(), tr;
	int64_t n = 0;
	int stall = 0, err;

	memset(st, 0, sizeof(*st));
	err = live_open(&l);
	if (err) {
		live_close(&l, false);
		return err;
	}
	/* File saves keep the CRC of every section. */
	err = mig_tx_open(&l.tx, fds, nfds, o, o->transport_auth ? VMSTATE_F_NO_MEMORY_CRC : 0,
			  &l.w, why);
	if (err) {
		live_close(&l, true);
		return err;
	}
	/* Logging is on before the first copy, so no write is missed. */
	vm_track_vmm_writes(vm, true);
	err = vm_save_head(vm, &l.w);
	if (!err)
		err = vm_save_memory(vm, &l.w);
	if (!err)
		err = mig_tx_drain(l.tx, why);
	if (err) {
		write_failed(&l, err);
		goto out;
	}
	l.sent_pages = vm->mem_size / PAGE;
	report(&l, fn, ctx, MIG_PRECOPY, 0, 0, t0, now_ns() - t0);
	while (st->rounds < MAX_ROUNDS && stall < STALL_ROUNDS) {
		tr = now_ns();
		n = round_trip(&l);
		if (n < 0)
			goto fail;
		st->rounds++;
		l.sent_pages += n;
		report(&l, fn, ctx, MIG_PRECOPY, st->rounds, n, t0, now_ns() - tr);
		st->resent_pages += n;
		if ((uint64_t)n <= DONE_PAGES)
			break;
		stall = (uint64_t)n < best ? 0 : stall + 1;
		best = (uint64_t)n < best ? (uint64_t)n : best;
	}
	t = now_ns();
	vm_pause(vm);
	report(&l, fn, ctx, MIG_STOPCOPY, st->rounds + 1, 0, t0, 0);
	n = round_trip(&l);
	if (n < 0)
		goto fail;
	st->final_pages = n;
	err = vm_save_tail(vm, &l.w, true, why);
	if (!err)
		err = mig_tx_finish(l.tx, why);
	else
		mig_tx_drain(l.tx, why);	/* a sender's reason, if one failed */
	st->downtime_ns = now_ns() - t;
	goto out;
fail:
	err = (int)n;
out:
	vm_track_vmm_writes(vm, false);
	live_close(&l, true);
	return err;
}
