// SPDX-License-Identifier: GPL-2.0
/*
 * virtio-blk on a raw image file, one request queue. Requests run to the end
 * on the vCPU that notified, under the device's lock: reads and writes go
 * straight between the file and guest memory (preadv/pwritev).
 *
 * While its disk moves (diskcopy.c), a write marks the grains it touched in
 * a bitmap of the mover's, once the data is in the file: a grain the mover
 * took and read before the write ends is marked again and read again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_ids.h>

#include "vmm.h"

#define SECTOR		512ULL

struct blk {
	int fd;
	int wfd;		/* a read-only disk's writable fd, for an incoming copy */
	bool readonly;
	uint64_t size;		/* bytes, whole sectors */
	char *path;
	uint64_t *track;	/* the mover's bitmap of BLK_GRAIN grains, or NULL */
	char id[VIRTIO_BLK_ID_BYTES];
};

/* Copies @len bytes at byte @off of the chain's segments [@first, @end) to @dst. */
static bool iov_read(const struct iovec *iov, int first, int end, size_t off, void *dst,
		     size_t len)
{
	uint8_t *p = dst;
	size_t n;
	int i;

	for (i = first; i < end && len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		n = iov[i].iov_len - off < len ? iov[i].iov_len - off : len;
		memcpy(p, (uint8_t *)iov[i].iov_base + off, n);
		p += n;
		len -= n;
		off = 0;
	}
	return !len;
}

/* The segments [@first, @end) less @skip bytes at the front and @trim at the back. */
static int iov_slice(const struct iovec *iov, int first, int end, size_t skip, size_t trim,
		     struct iovec *out, size_t *total)
{
	int i, n = 0;

	*total = 0;
	for (i = first; i < end; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		out[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
		out[n].iov_len = iov[i].iov_len - skip;
		*total += out[n++].iov_len;
		skip = 0;
	}
	while (trim && n) {
		size_t t = trim < out[n - 1].iov_len ? trim : out[n - 1].iov_len;

		out[n - 1].iov_len -= t;
		*total -= t;
		trim -= t;
		if (!out[n - 1].iov_len)
			n--;
	}
	return n;
}

static ssize_t rw_all(int fd, bool write, struct iovec *iov, int n, uint64_t off)
{
	ssize_t r, done = 0;

	while (n) {
		r = write ? pwritev(fd, iov, n, off) : preadv(fd, iov, n, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : done;
		done += r;
		off += r;
		while (n && (size_t)r >= iov->iov_len) {
			r -= iov->iov_len;
			iov++, n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + r;
			iov->iov_len -= r;
		}
	}
	return done;
}

/* A transfer of @len bytes at @sector: whole sectors, inside the disk. */
static bool in_disk(const struct blk *b, uint64_t sector, size_t len)
{
	return sector <= b->size / SECTOR && len <= b->size - sector * SECTOR &&
	       !(len % SECTOR);
}

/* Under the device's lock: the grains of [@off, @off + @len) were written. */
static void mark_written(struct blk *b, uint64_t off, uint64_t len)
{
	uint64_t g;

	if (!b->track || !len)
		return;
	for (g = off / BLK_GRAIN; g <= (off + len - 1) / BLK_GRAIN; g++)
		__atomic_fetch_or(&b->track[g / 64], 1ULL << (g % 64), __ATOMIC_RELEASE);
}

/* One request; returns its status and how much of the writable part it filled. */
static uint8_t blk_request(struct blk *b, struct virtq_chain *c, uint32_t *written)
{
	struct virtio_blk_outhdr h;
	struct iovec v[VIRTQ_MAX_SEGS];
	size_t len;
	int n;

	*written = 0;
	if (!iov_read(c->iov, 0, c->nout, 0, &h, sizeof(h)))
		return VIRTIO_BLK_S_IOERR;
	switch (h.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (h.type == VIRTIO_BLK_T_OUT && b->readonly)
			return VIRTIO_BLK_S_IOERR;
		/* Data: the writable part less the status byte, or what follows the header. */
		n = h.type == VIRTIO_BLK_T_IN ?
		    iov_slice(c->iov, c->nout, c->nout + c->nin, 0, 1, v, &len) :
		    iov_slice(c->iov, 0, c->nout, sizeof(h), 0, v, &len);
		if (!in_disk(b, h.sector, len))
			return VIRTIO_BLK_S_IOERR;
		if (rw_all(b->fd, h.type == VIRTIO_BLK_T_OUT, v, n, h.sector * SECTOR) != (ssize_t)len) {
			/* A write may have changed part of it: the mover looks again. */
			if (h.type == VIRTIO_BLK_T_OUT)
				mark_written(b, h.sector * SECTOR, len);
			return VIRTIO_BLK_S_IOERR;
		}
		if (h.type == VIRTIO_BLK_T_IN)
			*written = len;
		else
			mark_written(b, h.sector * SECTOR, len);
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		return fdatasync(b->fd) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		/* Up to 20 bytes, into the first writable segment. */
		n = iov_slice(c->iov, c->nout, c->nout + c->nin, 0, 1, v, &len);
		if (n < 1)
			return VIRTIO_BLK_S_IOERR;
		*written = v[0].iov_len < sizeof(b->id) ? v[0].iov_len : sizeof(b->id);
		memcpy(v[0].iov_base, b->id, *written);
		return VIRTIO_BLK_S_OK;
	}
	return VIRTIO_BLK_S_UNSUPP;
}

static void blk_notify(struct virtio_dev *d, uint32_t q)
{
	struct virtq_chain c;
	bool irq = false;
	uint32_t written;
	uint8_t status;
	int r;

	while ((r = virtq_pop(d, q, &c)) > 0) {
		struct iovec *last = &c.iov[c.nout + c.nin - 1];

		if (!c.nin || !last->iov_len) {
			virtio_fail(d, "request without a status byte");
			return;
		}
		status = blk_request(d->priv, &c, &written);
		((uint8_t *)last->iov_base)[last->iov_len - 1] = status;
		/* The status byte is the chain's last writable byte. */
		vm_mark_dirty(d->vm, c.gpa[c.nout + c.nin - 1] + last->iov_len - 1, 1);
		irq |= virtq_push(d, q, &c, written + 1);
	}
	if (r < 0)
		virtio_fail(d, "broken request queue (%s)", strerror(-r));
	if (irq)
		virtio_interrupt(d);
}

static void blk_config(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len,
		       bool write)
{
	struct blk *b = d->priv;
	struct virtio_blk_config cfg = {
		.capacity = b->size / SECTOR,
		.seg_max = VIRTQ_MAX_SEGS - 2,
		.blk_size = SECTOR,
	};

	if (!write && off < sizeof(cfg) && len <= sizeof(cfg) - off)
		memcpy(data, (uint8_t *)&cfg + off, len);
}

static void blk_destroy(struct virtio_dev *d)
{
	struct blk *b = d->priv;

	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	if (b->wfd >= 0)
		close(b->wfd);
	free(b->path);
}

const struct virtio_ops virtio_blk_ops = {
	.name = "virtio-blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nqueues = 1,
	.config = blk_config,
	.notify = blk_notify,
	.destroy = blk_destroy,
};

int virtio_blk_init(struct virtio_dev *d, const char *path, bool readonly, char *why)
{
	struct blk *b = calloc(1, sizeof(*b));
	struct stat st;

	if (!b)
		return vmm_fail(why, -ENOMEM, "out of memory");
	d->priv = b;
	b->readonly = readonly;
	b->wfd = -1;
	b->path = strdup(path);
	if (!b->path)
		return vmm_fail(why, -ENOMEM, "out of memory");
	b->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (b->fd < 0)
		return vmm_fail(why, -errno, "disk %s: %s", path, strerror(errno));
	if (fstat(b->fd, &st))
		return vmm_fail(why, -errno, "disk %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return vmm_fail(why, -EINVAL, "disk %s: not a regular file (a raw image)", path);
	if ((uint64_t)st.st_size < SECTOR)
		return vmm_fail(why, -EINVAL, "disk %s: smaller than one sector", path);
	b->size = st.st_size & ~(SECTOR - 1);
	snprintf(b->id, sizeof(b->id), "vmmig-disk%d", d->index);
	d->features |= 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
		       1ULL << VIRTIO_BLK_F_FLUSH;
	if (readonly)
		d->features |= 1ULL << VIRTIO_BLK_F_RO;
	return 0;
}

/* Of a virtio-blk device: its image's fd (to read), size, and path. */
int blk_fd(struct virtio_dev *d, uint64_t *size)
{
	struct blk *b = d->priv;

	*size = b->size;
	return b->fd;
}

/* The grains the guest writes from now on are marked in @bits; NULL: no more. */
void blk_track(struct virtio_dev *d, uint64_t *bits)
{
	struct blk *b = d->priv;

	pthread_mutex_lock(&d->lock);
	b->track = bits;
	pthread_mutex_unlock(&d->lock);
}

/*
 * An fd that writes the image, for an incoming copy of the disk: a
 * read-only disk's is opened here, once.
 */
int blk_write_fd(struct virtio_dev *d, char *why)
{
	struct blk *b = d->priv;
	int fd;

	if (!b->readonly)
		return b->fd;
	pthread_mutex_lock(&d->lock);
	if (b->wfd < 0)
		b->wfd = open(b->path, O_WRONLY | O_CLOEXEC);
	fd = b->wfd;
	pthread_mutex_unlock(&d->lock);
	if (fd < 0)
		return vmm_fail(why, -errno, "disk %s: %s", b->path, strerror(errno));
	return fd;
}

void blk_swap(struct virtio_dev *d, int fd, const char *path)
{
	struct blk *b = d->priv;
	char *p = strdup(path);

	pthread_mutex_lock(&d->lock);
	close(b->fd);
	b->fd = fd;
	if (b->wfd >= 0)
		close(b->wfd);
	b->wfd = -1;
	if (p) {
		free(b->path);
		b->path = p;
	}
	pthread_mutex_unlock(&d->lock);
}
