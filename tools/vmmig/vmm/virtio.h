/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtio over MMIO (version 2, the non-legacy interface of the virtio 1.x
 * specification), split virtqueues, and the devices on it: virtio-blk on a
 * raw image and virtio-net on a tap device. The VMM announces each device on
 * the kernel command line (virtio_mmio.device=SIZE@ADDR:IRQ).
 *
 * A device's lock serialises its registers, its queues and its backend.
 * Requests complete before the lock is dropped, so a paused VM has none in
 * flight: the transport state is all a save needs.
 */
#ifndef VMMIG_VIRTIO_H
#define VMMIG_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmstate.h"

#define VIRTIO_MMIO_BASE	0xd0000000ULL
#define VIRTIO_MMIO_SIZE	0x200ULL
#define VIRTIO_MAX_DEVS		16
#define VIRTQ_MAX		256	/* QueueNumMax */
#define VIRTQ_MAX_SEGS		(VIRTQ_MAX + 2)

struct vm;
struct virtio_dev;

/* Every hook but destroy is called with the device's lock held. */
struct virtio_ops {
	const char *name;
	uint32_t device_id;
	uint32_t nqueues;
	/* Reads or writes the device's configuration space. */
	void (*config)(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len,
		       bool write);
	/* The driver notified queue @q. */
	void (*notify)(struct virtio_dev *d, uint32_t q);
	/* Status, queue readiness or d->paused changed (a reset too). */
	void (*changed)(struct virtio_dev *d);
	void (*destroy)(struct virtio_dev *d);
};

struct virtio_dev {
	struct vm *vm;
	int index;
	uint64_t base;
	int irq;
	uint64_t features;		/* what the device offers */
	const struct virtio_ops *ops;
	pthread_mutex_t lock;
	bool paused;			/* the vCPUs do not run: no guest memory access */
	struct vmstate_virtio r;
	void *priv;
};

/* One descriptor chain taken from a queue, as host iovecs. */
struct virtq_chain {
	uint16_t head;
	int nout, nin;			/* readable segments, then writable ones */
	struct iovec iov[VIRTQ_MAX_SEGS];
	uint64_t gpa[VIRTQ_MAX_SEGS];	/* where each writable segment is */
	uint32_t in_len;		/* bytes the device may write */
};

/* virtio.c: the transport, the devices of a VM and their state. */
int virtio_setup(struct vm *vm, char *why);
/* " virtio_mmio.device=..." for each device, for the kernel command line. */
void virtio_cmdline(struct vm *vm, char *buf, size_t len);
/* The devices as AML for the DSDT, or 0 if none (or no room in @cap). */
size_t virtio_acpi(struct vm *vm, uint8_t *buf, size_t cap);
bool virtio_mmio(struct vm *vm, uint64_t addr, uint8_t *data, uint32_t len, bool write);
void virtio_pause_all(struct vm *vm, bool paused);
void virtio_destroy_all(struct vm *vm);
int virtio_save(struct vm *vm, struct vmstate_writer *w);
int virtio_restore(struct vm *vm, const struct vmstate_section *s, char *why);

bool virtq_ready(struct virtio_dev *d, uint32_t q);
/* 1 and a chain, 0 if the queue is empty, or -errno for a broken chain. */
int virtq_pop(struct virtio_dev *d, uint32_t q, struct virtq_chain *c);
void virtq_unpop(struct virtio_dev *d, uint32_t q);
/* Returns the chain with @len bytes written; true if the guest wants an interrupt. */
bool virtq_push(struct virtio_dev *d, uint32_t q, const struct virtq_chain *c, uint32_t len);
void virtio_interrupt(struct virtio_dev *d);
void virtio_fail(struct virtio_dev *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* virtio_blk.c and virtio_net.c */
int virtio_blk_init(struct virtio_dev *d, const char *path, bool readonly, char *why);
/* The unit in which a moving disk's writes are tracked. */
#define BLK_GRAIN	MIG_DISK_GRAIN
int blk_fd(struct virtio_dev *d, uint64_t *size);
void blk_track(struct virtio_dev *d, uint64_t *bits);
int blk_write_fd(struct virtio_dev *d, char *why);
/* The disk is @fd (its image at @path) from now on; the old one is closed. */
void blk_swap(struct virtio_dev *d, int fd, const char *path);
int virtio_net_init(struct virtio_dev *d, const char *tap, const char *mac, char *why);
/* Makes each NIC announce the guest's MAC on its tap (after an incoming migration). */
void virtio_net_announce(struct vm *vm);

#endif
