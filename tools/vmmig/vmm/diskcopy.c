// SPDX-License-Identifier: GPL-2.0
/*
 * A VM's disks copied while it runs: the sending side of a move with
 * --include-storage (into the migration streams, beside memory) and of a
 * storage move on one host (into the new images directly), and the
 * receiving side of both.
 *
 * Each disk is tracked in grains of BLK_GRAIN bytes: the grains of its
 * image's data extents (SEEK_DATA/SEEK_HOLE: holes are never read) are
 * marked first, then every grain the guest writes (virtio_blk.c). A round
 * takes the marks (an atomic exchange per word) and sends what the grains
 * hold now: a grain written while it was read is marked again. In the first
 * round a grain of zeros is skipped, so a hole in the image, or zeros where
 * the guest never wrote, stays a hole at the other end (a new, sparse file);
 * later a grain of zeros goes as a marker, and the reader punches a hole.
 *
 * Sections: VMSTATE_DISK (Documentation/design/vm-state.rst), runs of
 * grains within one aligned VMSTATE_DISK_WINDOW, each run either data or
 * zeros. A window always takes the same stream (mig_disk_stream()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diskcopy.h"
#include "stream.h"
#include "vmm.h"

#define GRAINS_PER_WINDOW	(VMSTATE_DISK_WINDOW / BLK_GRAIN)

static bool all_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 4096 <= len; i += 4096)
		if (!vmstate_page_zero(p + i))
			return false;
	for (; i < len; i++)
		if (p[i])
			return false;
	return true;
}

static void mark(uint64_t *bits, uint64_t g)
{
	__atomic_fetch_or(&bits[g / 64], 1ULL << (g % 64), __ATOMIC_RELEASE);
}

/* Marks the grains of the image's data extents; returns their bytes. */
static int64_t mark_extents(struct disk_copy_disk *k)
{
	off_t off = 0, end;
	uint64_t g, bytes = 0;

	for (;;) {
		off = lseek(k->fd, off, SEEK_DATA);
		if (off < 0)
			return errno == ENXIO ? (int64_t)bytes : -errno;
		if ((uint64_t)off >= k->size)
			return bytes;
		end = lseek(k->fd, off, SEEK_HOLE);
		if (end < 0)
			return -errno;
		if ((uint64_t)end > k->size)
			end = k->size;
		for (g = off / BLK_GRAIN; g < ((uint64_t)end + BLK_GRAIN - 1) / BLK_GRAIN; g++)
			mark(k->bits, g);
		bytes += end - off;
		off = end;
	}
}

int disk_copy_open(struct vm *vm, struct disk_copy *dc, uint32_t which, char *why)
{
	int64_t bytes;
	unsigned int i;

	memset(dc, 0, sizeof(*dc));
	dc->vm = vm;
	dc->n = vm->def.ndisks;
	dc->buf = malloc(VMSTATE_DISK_WINDOW);
	if (!dc->buf)
		return vmm_fail(why, -ENOMEM, "out of memory");
	for (i = 0; i < dc->n; i++) {
		struct disk_copy_disk *k = &dc->disk[i];

		if (!(which & (1u << i)))
			continue;
		k->d = vm->virtio[i];
		k->fd = blk_fd(k->d, &k->size);
		k->grains = (k->size + BLK_GRAIN - 1) / BLK_GRAIN;
		k->bits = calloc((k->grains + 63) / 64, sizeof(uint64_t));
		if (!k->bits) {
			disk_copy_close(dc);
			return vmm_fail(why, -ENOMEM, "out of memory");
		}
		/* Tracking first: a write after the extents were read is seen. */
		blk_track(k->d, k->bits);
		bytes = mark_extents(k);
		if (bytes < 0) {
			disk_copy_close(dc);
			return vmm_fail(why, (int)bytes, "disk %s: %s", vm->def.disks[i].path,
					strerror((int)-bytes));
		}
		dc->total_bytes += k->size;
		dc->data_bytes += bytes;
	}
	return 0;
}

void disk_copy_close(struct disk_copy *dc)
{
	unsigned int i;

	for (i = 0; i < dc->n; i++) {
		if (!dc->disk[i].bits)
			continue;
		blk_track(dc->disk[i].d, NULL);
		free(dc->disk[i].bits);
		dc->disk[i].bits = NULL;
	}
	dc->n = 0;
	free(dc->buf);
	dc->buf = NULL;
}

/* One run of [@off, @off + @len) of disk @i, data or zeros, as a section. */
static int put_run(struct disk_copy *dc, struct vmstate_writer *w, unsigned int i, uint64_t off,
		   const uint8_t *data, uint32_t len, bool zero)
{
	struct vmstate_disk_chunk c = { .offset = off, .len = len,
					.flags = zero ? VMSTATE_DISK_ZERO : 0 };

	dc->sent_bytes += len;
	return vmstate_put(w, VMSTATE_DISK, i, &c, sizeof(c), zero ? NULL : data, zero ? 0 : len);
}

/*
 * The marked grains of one window of disk @i (@mask: bit j for grain j of
 * it), read in runs and sent as runs of data and of zeros. Return: bytes,
 * or < 0.
 */
static int64_t send_window(struct disk_copy *dc, struct vmstate_writer *w, unsigned int i,
			   uint64_t win, uint64_t mask, bool first, char *why)
{
	struct disk_copy_disk *k = &dc->disk[i];
	uint64_t base = win * VMSTATE_DISK_WINDOW, j = 0, end, off, len, r, t;
	int64_t sent = 0;
	ssize_t n;
	int err;

	while (j < GRAINS_PER_WINDOW) {
		if (!(mask & (1ULL << j))) {
			j++;
			continue;
		}
		for (end = j; end < GRAINS_PER_WINDOW && (mask & (1ULL << end)); end++)
			;
		off = base + j * BLK_GRAIN;
		len = base + end * BLK_GRAIN < k->size ? (end - j) * BLK_GRAIN : k->size - off;
		for (r = 0; r < len; r += n) {
			n = pread(k->fd, dc->buf + r, len - r, off + r);
			if (n < 0 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n <= 0) {
				dc->read_failed = true;
				return vmm_fail(why, n < 0 ? -errno : -EIO, "disk %s: read at %llu: %s",
						dc->vm->def.disks[i].path,
						(unsigned long long)(off + r),
						n < 0 ? strerror(errno) : "the image shrank");
			}
		}
		/* Grain by grain: runs of data and runs of zeros. */
		for (r = 0; r < len; r = t) {
			bool zero = all_zero(dc->buf + r, len - r < BLK_GRAIN ? len - r : BLK_GRAIN);

			for (t = r + BLK_GRAIN; t < len; t += BLK_GRAIN)
				if (all_zero(dc->buf + t, len - t < BLK_GRAIN ? len - t : BLK_GRAIN) !=
				    zero)
					break;
			if (t > len)
				t = len;
			/* The other end's new image is a hole there already. */
			if (zero && first)
				continue;
			err = put_run(dc, w, i, off + r, dc->buf + r, t - r, zero);
			if (err)
				return err;
			sent += t - r;
		}
		j = end;
	}
	return sent;
}

int64_t disk_copy_round(struct disk_copy *dc, struct vmstate_writer *w, bool first, char *why)
{
	uint64_t word, win, mask;
	int64_t sent = 0, n;
	unsigned int i, wi;

	for (i = 0; i < dc->n; i++) {
		struct disk_copy_disk *k = &dc->disk[i];

		for (wi = 0; k->bits && wi < (k->grains + 63) / 64; wi++) {
			word = __atomic_exchange_n(&k->bits[wi], 0, __ATOMIC_ACQUIRE);
			/* A word is 64 grains: 4 windows of 16. */
			for (win = 0; word && win < 64 / GRAINS_PER_WINDOW; win++) {
				mask = (word >> (win * GRAINS_PER_WINDOW)) &
				       ((1ULL << GRAINS_PER_WINDOW) - 1);
				if (!mask)
					continue;
				if (dc->cancel && __atomic_load_n(dc->cancel, __ATOMIC_RELAXED)) {
					/* What this word held is sent next time, if any. */
					__atomic_fetch_or(&k->bits[wi], word, __ATOMIC_RELEASE);
					return vmm_fail(why, -ECANCELED, "cancelled");
				}
				n = send_window(dc, w, i, wi * (64 / GRAINS_PER_WINDOW) + win, mask,
						first, why);
				if (n < 0)
					return n;
				sent += n;
			}
		}
	}
	return sent;
}

void disk_copy_lost(struct disk_copy *dc, uint32_t lost, unsigned int nstreams)
{
	uint64_t g;
	unsigned int i;

	for (i = 0; i < dc->n; i++)
		for (g = 0; dc->disk[i].bits && g < dc->disk[i].grains; g++)
			if (lost & (1u << mig_disk_stream(i, g * BLK_GRAIN, nstreams)))
				mark(dc->disk[i].bits, g);
}

uint64_t disk_copy_dirty(const struct disk_copy *dc)
{
	uint64_t n = 0;
	unsigned int i, wi;

	for (i = 0; i < dc->n; i++)
		for (wi = 0; dc->disk[i].bits && wi < (dc->disk[i].grains + 63) / 64; wi++)
			n += __builtin_popcountll(__atomic_load_n(&dc->disk[i].bits[wi],
								  __ATOMIC_RELAXED));
	return n * BLK_GRAIN;
}

/* Writes a run (@data, or zeros when NULL) at @c's offset of the image @fd. */
static int disk_write(int fd, const struct vmstate_disk_chunk *c, const uint8_t *data,
		      const char *path, char *why)
{
	static const uint8_t zeros[4096];
	uint32_t r;
	ssize_t n;

	if (!data && !fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, c->offset, c->len))
		return 0;
	/* Zeros written where the file system cannot punch holes. */
	for (r = 0; r < c->len; r += n) {
		n = data ? pwrite(fd, data + r, c->len - r, c->offset + r) :
			   pwrite(fd, zeros, c->len - r < sizeof(zeros) ? c->len - r : sizeof(zeros),
				  c->offset + r);
		if (n < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0)
			return vmm_fail(why, n < 0 ? -errno : -EIO, "disk %s: write at %llu: %s",
					path, (unsigned long long)(c->offset + r),
					n < 0 ? strerror(errno) : "no space");
	}
	return 0;
}

/* A run as a section holds it: within the disk and one window, whole sectors. */
static int run_check(const struct vmstate_disk_chunk *c, uint64_t data_len, unsigned int disk,
		     uint64_t size, char *why)
{
	if (c->flags & ~VMSTATE_DISK_ZERO || !c->len || c->len % 512 || c->offset % 512 ||
	    c->offset / VMSTATE_DISK_WINDOW != (c->offset + c->len - 1) / VMSTATE_DISK_WINDOW ||
	    c->offset + c->len > size || data_len != (c->flags & VMSTATE_DISK_ZERO ? 0 : c->len))
		return vmm_fail(why, -EBADMSG,
				"disk %u: a bad run (%u bytes at %llu, flags 0x%x, %llu bytes of data; disk %llu bytes)",
				disk, c->len, (unsigned long long)c->offset, c->flags,
				(unsigned long long)data_len, (unsigned long long)size);
	return 0;
}

/* The receiving side: a disk section, into the image at this end. */
int vm_disk_restore(struct vm *vm, const struct vmstate_section *s, char *why)
{
	struct vmstate_disk_chunk c;
	uint64_t size;
	int fd, err;

	if (s->len < sizeof(c))
		return vmm_fail(why, -EBADMSG, "disk section too short");
	memcpy(&c, s->data, sizeof(c));
	if (s->instance >= vm->def.ndisks)
		return vmm_fail(why, -EBADMSG, "disk section for disk %u: the VM has %d",
				s->instance, vm->def.ndisks);
	blk_fd(vm->virtio[s->instance], &size);
	err = run_check(&c, s->len - sizeof(c), s->instance, size, why);
	if (err)
		return err;
	fd = blk_write_fd(vm->virtio[s->instance], why);
	if (fd < 0)
		return fd;
	vm->disks_in = true;
	return disk_write(fd, &c, c.flags & VMSTATE_DISK_ZERO ? NULL :
			  (const uint8_t *)s->data + sizeof(c), vm->def.disks[s->instance].path, why);
}

int vm_disks_sync(struct vm *vm, char *why)
{
	int i, fd;

	for (i = 0; i < vm->def.ndisks; i++) {
		fd = blk_write_fd(vm->virtio[i], why);
		if (fd < 0 || fdatasync(fd))
			return fd < 0 ? fd : vmm_fail(why, -errno, "disk %s: %s",
						     vm->def.disks[i].path, strerror(errno));
	}
	return 0;
}

uint64_t vm_disks_hash(struct vm *vm)
{
	uint64_t h = 0xcbf29ce484222325ULL, size, off;
	uint8_t *buf = malloc(BLK_GRAIN);
	int i, fd;
	ssize_t n;

	if (!buf)
		return 0;
	for (i = 0; i < vm->def.ndisks; i++) {
		fd = blk_fd(vm->virtio[i], &size);
		h = (h ^ size) * 0x100000001b3ULL;
		/*
		 * Zero grains do not count, so holes (skipped) hash as zeros
		 * written do; a read that fails makes a hash no other end has.
		 */
		for (off = 0; off < size; off += BLK_GRAIN) {
			off_t data = lseek(fd, off, SEEK_DATA);

			if (data < 0 || (uint64_t)data >= size)
				break;
			off = (uint64_t)data / BLK_GRAIN * BLK_GRAIN;
			n = pread(fd, buf, size - off < BLK_GRAIN ? size - off : BLK_GRAIN, off);
			if (n <= 0) {
				h = ~h;
				break;
			}
			if (all_zero(buf, n))
				continue;
			h = (h ^ (off / BLK_GRAIN)) * 0x100000001b3ULL;
			h = (h ^ crc32c(0, buf, n)) * 0x100000001b3ULL;
		}
	}
	free(buf);
	return h;
}

/*
 * A storage move on this host (CTL_REQ_STORAGE_MOVE): the same rounds, but
 * each run goes straight into the new image (vmmigd made it, sparse).
 */
struct local {
	int fd[VMDEF_MAX_DEVS];
	const char *path[VMDEF_MAX_DEVS];
	const uint64_t *size;
	char *why;
};

static int local_put(struct vmstate_writer *w, uint32_t type, uint16_t instance, const void *a,
		     size_t alen, const void *b, size_t blen)
{
	struct local *lo = w->ctx;
	struct vmstate_disk_chunk c;
	int err;

	if (type != VMSTATE_DISK || alen != sizeof(c) || instance >= VMDEF_MAX_DEVS ||
	    lo->fd[instance] < 0)
		return vmm_fail(lo->why, -EINVAL, "a %s section for a storage move",
				vmstate_type_name(type));
	memcpy(&c, a, sizeof(c));
	err = run_check(&c, blen, instance, lo->size[instance], lo->why);
	return err ?: disk_write(lo->fd[instance], &c, b, lo->path[instance], lo->why);
}

#define LOCAL_ROUNDS		30
#define LOCAL_LEFT		(1ULL << 20)	/* copied with the vCPUs paused */
#define LOCAL_PAUSED_MAX	(64ULL << 20)	/* more than that fails the move */

/* The definition names the new images: a VMM that starts again takes them. */
static int set_paths(struct vmdef *d, void *arg, char *why)
{
	const char (*dst)[MIG_PATH_MAX] = arg;
	int i;

	for (i = 0; i < d->ndisks; i++) {
		if (!dst[i][0])
			continue;
		free(d->disks[i].path);
		d->disks[i].path = strdup(dst[i]);
		if (!d->disks[i].path)
			return vmm_fail(why, -ENOMEM, "out of memory");
	}
	return 0;
}

static void local_report(struct disk_copy *dc, precopy_progress_fn fn, void *ctx,
			 enum mig_phase phase, unsigned int round, uint64_t t0)
{
	struct mig_progress p = {
		.phase = phase,
		.round = round,
		.elapsed_ns = now_ns() - t0,
		.disk_bytes = dc->total_bytes,
		.disk_sent_bytes = dc->sent_bytes,
		.disk_dirty_bytes = disk_copy_dirty(dc),
	};

	if (fn)
		fn(ctx, &p);
}

int vm_storage_move(struct vm *vm, const char (*dst)[MIG_PATH_MAX], precopy_progress_fn fn,
		    void *ctx, const bool *cancel, char *why)
{
	struct local lo = { .why = why };
	struct vmstate_writer w = { .fd = -1, .put = local_put, .ctx = &lo };
	uint64_t size[VMDEF_MAX_DEVS] = { 0 }, t0 = now_ns(), best = UINT64_MAX, left;
	unsigned int round = 0, stale = 0;
	struct disk_copy dc;
	uint32_t which = 0;
	bool paused = false, was_paused;
	struct vmdef def;
	int i, err = 0;
	int64_t n;

	lo.size = size;
	for (i = 0; i < VMDEF_MAX_DEVS; i++)
		lo.fd[i] = -1;
	for (i = 0; i < vm->def.ndisks; i++) {
		if (!dst[i][0])
			continue;
		lo.fd[i] = open(dst[i], O_RDWR | O_CLOEXEC);
		if (lo.fd[i] < 0) {
			err = vmm_fail(why, -errno, "%s: %s", dst[i], strerror(errno));
			goto out;
		}
		lo.path[i] = dst[i];
		blk_fd(vm->virtio[i], &size[i]);
		which |= 1u << i;
	}
	err = disk_copy_open(vm, &dc, which, why);
	if (err)
		goto out;
	dc.cancel = cancel;
	/* Everything once, then what the guest wrote, until little is left. */
	n = disk_copy_round(&dc, &w, true, why);
	while (n >= 0) {
		local_report(&dc, fn, ctx, MIG_PRECOPY, round, t0);
		left = disk_copy_dirty(&dc);
		if (left <= LOCAL_LEFT || ++round >= LOCAL_ROUNDS)
			break;
		/* Three rounds without a new low: the guest writes as fast as we copy. */
		stale = left < best ? 0 : stale + 1;
		best = left < best ? left : best;
		if (stale >= 3)
			break;
		if (__atomic_load_n(cancel, __ATOMIC_RELAXED)) {
			n = vmm_fail(why, -ECANCELED, "cancelled");
			break;
		}
		n = disk_copy_round(&dc, &w, false, why);
	}
	if (n < 0) {
		err = (int)n;
		goto close;
	}
	/* The rest with the vCPUs paused: no request is in flight then. */
	left = disk_copy_dirty(&dc);
	if (left > LOCAL_PAUSED_MAX) {
		err = vmm_fail(why, -EAGAIN,
			       "the guest writes its disks faster than they copy (%llu MiB left after %u rounds)",
			       (unsigned long long)(left >> 20), round);
		goto close;
	}
	dc.cancel = NULL;	/* paused: too late to cancel, and quick */
	was_paused = vm_is_paused(vm);
	vm_pause(vm);
	paused = !was_paused;
	local_report(&dc, fn, ctx, MIG_STOPCOPY, round, t0);
	n = disk_copy_round(&dc, &w, false, why);
	err = n < 0 ? (int)n : 0;
	for (i = 0; !err && i < vm->def.ndisks; i++)
		if (lo.fd[i] >= 0 && fdatasync(lo.fd[i]))
			err = vmm_fail(why, -errno, "%s: %s", dst[i], strerror(errno));
	/* vm.json first: a VMM that starts again must not take the old images. */
	if (!err) {
		err = vmdef_update(&def, vm->dir, set_paths, (void *)dst, why);
		if (!err)
			vmdef_free(&def);
	}
close:
	disk_copy_close(&dc);
	for (i = 0; !err && i < vm->def.ndisks; i++) {
		if (lo.fd[i] < 0)
			continue;
		blk_swap(vm->virtio[i], lo.fd[i], dst[i]);
		lo.fd[i] = -1;
	}
	if (!err)
		set_paths(&vm->def, (void *)dst, why);
	if (paused)
		vm_resume(vm);
out:
	for (i = 0; i < VMDEF_MAX_DEVS; i++)
		if (lo.fd[i] >= 0)
			close(lo.fd[i]);
	return err;
}
