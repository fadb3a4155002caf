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
 *
 * When to stop copying, and when to throttle the vCPUs, is converge.c's
 * decision (Documentation/design/convergence.rst).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "converge.h"
#include "diskcopy.h"
#include "nl.h"
#include "registry.h"
#include "stream.h"
#include "vmm.h"

#define PAGE		4096ULL
#define CHUNK		(VMSTATE_CHUNK_PAGES * PAGE)

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
	bool disks;			/* the disks go too (diskcopy.c) */
	struct disk_copy dc;
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

/*
 * Every page of the windows of the streams in @lost, which a new connection
 * replaced (another network): what the old one held in flight may never
 * have arrived. Return: pages, or < 0.
 */
static int64_t resend_windows(struct live *l, uint32_t lost)
{
	uint64_t gpa, pages = 0, n = mig_tx_streams(l->tx);
	int err;

	for (gpa = 0; gpa < l->vm->mem_size; gpa += PAGE) {
		if (!(lost & (1u << (gpa / MIG_WINDOW % n)))) {
			gpa = (gpa / MIG_WINDOW + 1) * MIG_WINDOW - PAGE;
			continue;
		}
		err = chunk_add(l, gpa);
		if (err == -EFAULT)	/* no memory there */
			continue;
		if (err)
			return write_failed(l, err);
		pages++;
	}
	return pages;
}

/*
 * The disks' marked grains (every grain of the windows of the streams in
 * @lost again): bytes, or < 0. Counted as pages by the caller, as the
 * convergence sees them.
 */
static int64_t disk_round(struct live *l, uint32_t lost, bool first)
{
	int64_t bytes;

	if (lost)
		disk_copy_lost(&l->dc, lost, mig_tx_streams(l->tx));
	bytes = disk_copy_round(&l->dc, &l->w, first, l->why);
	/* An image that could not be read says why; else a stream failed. */
	if (bytes < 0 && !l->dc.read_failed)
		return write_failed(l, (int)bytes);
	return bytes;
}

/* One harvest, and a copy of every page it reports. Return: pages, or < 0. */
static int64_t round_trip(struct live *l)
{
	uint64_t pages = 0, i, j;
	uint32_t lost = mig_tx_take_replaced(l->tx);
	int64_t again = lost ? resend_windows(l, lost) : 0;
	int err;

	if (again < 0)
		return again;
	pages = again;
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
	if (!err && l->disks) {
		int64_t bytes = disk_round(l, lost, false);

		if (bytes < 0)
			return bytes;
		pages += (uint64_t)bytes / PAGE;
	}
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
	if (l->disks)
		disk_copy_close(&l->dc);
	migrate_attach_tx(l->vm, NULL);
	mig_tx_close(l->tx);
	if (logging)
		vmmig_dirty_stop(&l->vm->nl, VMMIG_BY_FD(l->vm->vm_fd));
	free(l->ranges);
	free(l->st);
	free(l->buf);
}

static void report(struct live *l, precopy_progress_fn fn, void *ctx, enum mig_phase phase,
		   const struct converge *cv, uint64_t t0)
{
	struct mig_progress p = {
		.phase = phase,
		.round = cv->round,
		.total_pages = l->vm->mem_size / PAGE,
		.sent_pages = l->sent_pages,
		.remaining_pages = cv->remaining_pages,
		.dirty_rate = cv->dirty_rate,
		.throughput = cv->throughput,
		.expected_downtime_ms = cv->expected_downtime_ms,
		.throttle_pct = cv->throttle_pct,
		.eta_ns = cv->eta_ns,
		.elapsed_ns = now_ns() - t0,
	};

	if (!fn)
		return;
	if (l->disks) {
		p.disk_bytes = l->dc.total_bytes;
		p.disk_sent_bytes = l->dc.sent_bytes;
		p.disk_dirty_bytes = disk_copy_dirty(&l->dc);
	}
	mig_tx_bytes(l->tx, &p.sent_bytes, &p.raw_bytes);
	fn(ctx, &p);
}

/*
 * Bytes the destination has so far: written, less what this host's socket
 * buffers still hold. Bytes written alone would count the buffers' fill
 * (megabytes) as throughput, and the downtime estimate would trust a path
 * faster than it is.
 */
static uint64_t wire_bytes(struct live *l)
{
	uint64_t wire, raw, held = mig_tx_unacked(l->tx);

	mig_tx_bytes(l->tx, &wire, &raw);
	return wire > held ? wire - held : 0;
}

/*
 * Bytes per second that reached the destination during a round of @ns that
 * began at @bytes. The socket's count includes what wire_bytes() does not
 * (kTLS records' overhead): a round whose count went back measures
 * nothing (0: the last throughput stands).
 */
static uint64_t throughput(struct live *l, uint64_t bytes, uint64_t ns)
{
	uint64_t now = wire_bytes(l);

	/* 128 bits: a first copy passes 2^64 / 10^9 bytes (18 GB). */
	return now > bytes && ns ? (uint64_t)((unsigned __int128)(now - bytes) * 1000000000ULL / ns) : 0;
}

/*
 * A round that found nothing to send while the path still carries what
 * went before (a destination still starting, its window shut): the next
 * harvest waits up to BACKLOG_WAIT_MS for those bytes to go, rather than
 * spin on harvests that find nothing and take the CPU the destination needs.
 */
#define BACKLOG_WAIT_MS	100

static void wait_backlog(struct live *l)
{
	uint64_t until = now_ns() + BACKLOG_WAIT_MS * 1000000ULL;

	while (mig_tx_unacked(l->tx) && now_ns() < until)
		usleep(5000);
}

/* The first copy's progress, at most every FIRST_TICK_NS: it is most of a move. */
#define FIRST_TICK_NS	(200 * 1000000ULL)

struct first_copy {
	struct live *l;
	const struct converge *cv;
	precopy_progress_fn fn;
	void *ctx;
	uint64_t t0, start, last;
};

/* Where the first copy is (l->sent_pages), its pace so far; the downtime not known yet. */
static void first_report(struct first_copy *f)
{
	struct converge c = *f->cv;
	uint64_t pages = f->l->vm->mem_size / PAGE;

	c.remaining_pages = pages > f->l->sent_pages ? pages - f->l->sent_pages : 0;
	c.throughput = throughput(f->l, 0, now_ns() - f->start);
	c.expected_downtime_ms = UINT64_MAX;
	report(f->l, f->fn, f->ctx, MIG_PRECOPY, &c, f->t0);
}

/*
 * A report, unless one went less than FIRST_TICK_NS ago: after each chunk
 * (first_tick()), and while the streams are full (a capped or slow path).
 */
static void first_wait(void *arg)
{
	struct first_copy *f = arg;
	uint64_t now = now_ns();

	if (now - f->last < FIRST_TICK_NS)
		return;
	f->last = now;
	first_report(f);
}

static void first_tick(void *arg, uint64_t off)
{
	struct first_copy *f = arg;
	uint64_t pages = f->l->vm->mem_size / PAGE;

	/* Memory up to @off went, its zero pages as markers (or not at all). */
	f->l->sent_pages = off / PAGE < pages ? off / PAGE : pages;
	first_wait(f);
}

/*
 * A test hook: the tests of failures during stop-and-copy need it to last
 * long enough to step in (selftests/migrate_fail.sh). Unset, nothing.
 */
static void test_delay(const char *var)
{
	const char *ms = getenv(var);

	if (ms && *ms)
		usleep(strtoul(ms, NULL, 10) * 1000);
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
int vm_save_live(struct vm *vm, const int *fds, unsigned int nfds, const struct mig_opts *o,
		 struct precopy_stats *st, precopy_progress_fn fn, void *ctx, char *why)
{
	struct live l = { .vm = vm, .why = why };
	uint64_t t, t0 = now_ns(), tr, tprev, bytes;
	struct first_copy first;
	struct vmmig_guest_page *gp;
	enum converge_action act;
	struct converge cv;
	bool idle = false;
	uint32_t lost;
	int64_t n = 0;
	int err;

	memset(st, 0, sizeof(*st));
	converge_init(&cv, o, vm->mem_size / PAGE);
	err = live_open(&l);
	if (err) {
		live_close(&l, false);
		return err;
	}
	/* File saves keep the CRC of every section. */
	err = mig_tx_open(&l.tx, fds, nfds, o, o->transport_auth ? VMSTATE_F_NO_MEMORY_CRC : 0,
			  &l.w, why);
	if (!err)
		migrate_attach_tx(vm, l.tx);	/* a cancel reaches the streams */
	if (err) {
		live_close(&l, true);
		return err;
	}
	/* A workload guest measures its longest gap from here (guest.h). */
	gp = vm_guest_page(vm);
	if (gp)
		gp->gap_req++;
	/* Logging is on before the first copy, so no write is missed. */
	tprev = now_ns();
	first = (struct first_copy){ .l = &l, .cv = &cv, .fn = fn, .ctx = ctx, .t0 = t0,
				     .start = tprev, .last = tprev };
	vm_track_vmm_writes(vm, true);
	if (o->storage) {
		err = disk_copy_open(vm, &l.dc, ~0u, why);
		if (err)
			goto out;
		l.disks = true;
	}
	if (fn)
		mig_tx_set_wait(l.tx, first_wait, &first);
	err = vm_save_head(vm, &l.w);
	if (!err)
		err = vm_save_memory(vm, &l.w, fn ? first_tick : NULL, &first);
	/* All of it queued: what is left is the streams' to send. */
	if (!err) {
		l.sent_pages = vm->mem_size / PAGE;
		err = mig_tx_drain(l.tx, why);
	}
	if (err) {
		write_failed(&l, err);
		goto out;
	}
	/* The disks' data once, beside the memory: their writes go in the rounds. */
	if (l.disks) {
		n = disk_round(&l, 0, true);
		if (n < 0)
			goto fail;
		err = mig_tx_drain(l.tx, why);
		if (err) {
			write_failed(&l, err);
			goto out;
		}
		l.sent_pages += (uint64_t)n / PAGE;
	}
	mig_tx_set_wait(l.tx, NULL, NULL);
	first_report(&first);
	do {
		tr = now_ns();
		bytes = wire_bytes(&l);
		/* Within the round: its throughput counts what moved meanwhile. */
		if (idle)
			wait_backlog(&l);
		n = round_trip(&l);
		if (n < 0)
			goto fail;
		t = now_ns();
		st->rounds++;
		st->resent_pages += n;
		l.sent_pages += n;
		act = converge_round(&cv, &(struct converge_round){
			.sent_pages = n,
			.round_ns = t - tr,
			.throughput = throughput(&l, bytes, t - tr),
			.dirty_pages = n,
			.dirty_ns = tr - tprev,
			.elapsed_ns = t - t0,
			.backlog_bytes = mig_tx_unacked(l.tx),
		});
		tprev = tr;
		idle = act == CONVERGE_ROUND && !n;
		if (act == CONVERGE_THROTTLE) {
			err = vm_set_throttle(vm, cv.throttle_pct);
			if (err) {
				vmm_fail(why, err, "cannot throttle the vCPUs: %s", strerror(-err));
				goto out;
			}
			if (cv.throttle_pct > st->throttle_pct)
				st->throttle_pct = cv.throttle_pct;
		}
		report(&l, fn, ctx, MIG_PRECOPY, &cv, t0);
	} while (act == CONVERGE_ROUND || act == CONVERGE_THROTTLE);
	if (act == CONVERGE_CANCEL) {
		err = vmm_fail(why, -ETIMEDOUT, "%s", cv.why);
		goto out;
	}
	st->expected_downtime_ms = cv.expected_downtime_ms;
	/*
	 * With the VM paused no stream is replaced any more: a failure fails
	 * the move. One replaced before, its windows go again below.
	 */
	mig_tx_set_replace(l.tx, NULL, NULL);
	t = now_ns();
	vm_pause(vm);
	/* The VM waits: the last pages go as fast as the path allows. */
	mig_tx_set_rate(l.tx, 0);
	report(&l, fn, ctx, MIG_STOPCOPY, &cv, t0);
	test_delay("VMMIG_TEST_STOPCOPY_DELAY_MS");
	n = round_trip(&l);
	/* A replacement that was under way as the VM paused. */
	while (n >= 0 && (lost = mig_tx_take_replaced(l.tx))) {
		int64_t more = resend_windows(&l, lost);

		if (more >= 0 && l.disks) {
			int64_t db = disk_round(&l, lost, false);

			more = db < 0 ? db : more + db / (int64_t)PAGE;
		}
		err = more < 0 ? (int)more : chunk_flush(&l) ?: mig_tx_drain(l.tx, why);
		n = err ? err : n + more;
	}
	if (n < 0)
		goto fail;
	st->final_pages = n;
	err = vm_save_tail(vm, &l.w, true, why);
	if (!err)
		err = mig_tx_finish(l.tx, why);
	else
		mig_tx_drain(l.tx, why);	/* a sender's reason, if one failed */
	st->downtime_ns = now_ns() - t;
	/* Every byte is out: the final counts. */
	if (!err)
		report(&l, fn, ctx, MIG_STOPCOPY, &cv, t0);
	goto out;
fail:
	err = (int)n;
out:
	vm_set_throttle(vm, 0);
	vm_track_vmm_writes(vm, false);
	live_close(&l, true);
	return err;
}
