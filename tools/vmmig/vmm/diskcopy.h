/* SPDX-License-Identifier: GPL-2.0 */
/* A VM's disks copied while it runs (diskcopy.c). */
#ifndef VMMIG_DISKCOPY_H
#define VMMIG_DISKCOPY_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm.h"

struct disk_copy_disk {
	struct virtio_dev *d;
	int fd;
	uint64_t size, grains;
	uint64_t *bits;			/* grains to send: marked by the guest's writes */
};

struct disk_copy {
	struct vm *vm;
	unsigned int n;
	struct disk_copy_disk disk[VMDEF_MAX_DEVS];
	uint8_t *buf;			/* one window */
	uint64_t total_bytes;		/* the disks' sizes */
	uint64_t data_bytes;		/* their data extents at the start */
	uint64_t sent_bytes;		/* runs sent, zeros included */
	bool read_failed;		/* an image could not be read: the reason is set */
	const bool *cancel;		/* when set and true, a round stops (a storage move) */
};

/* Tracks the disks of @vm in @which (bit i: disk i), their data extents marked to send. */
int disk_copy_open(struct vm *vm, struct disk_copy *dc, uint32_t which, char *why);
void disk_copy_close(struct disk_copy *dc);
/*
 * Sends what is marked, as VMSTATE_DISK sections into @w; @first: runs of
 * zeros are left out (the other end's images start empty). Return: bytes
 * sent, or < 0 with @why.
 */
int64_t disk_copy_round(struct disk_copy *dc, struct vmstate_writer *w, bool first, char *why);
/* Marks every grain of the windows of the streams in @lost (a bit each). */
void disk_copy_lost(struct disk_copy *dc, uint32_t lost, unsigned int nstreams);
/* Bytes marked, to send. */
uint64_t disk_copy_dirty(const struct disk_copy *dc);

/* The receiving side: a VMSTATE_DISK section into this end's image. */
int vm_disk_restore(struct vm *vm, const struct vmstate_section *s, char *why);
int vm_disks_sync(struct vm *vm, char *why);
/*
 * A storage move on this host: each disk whose @dst is not empty copied into
 * it while the VM runs, the last writes with the vCPUs paused; then vm.json
 * and the devices take the new images. The old ones are left as they are
 * (vmmigd removes them). *@cancel stops it between rounds. 0, or < 0 with
 * @why, the VM on its old images.
 */
int vm_storage_move(struct vm *vm, const char (*dst)[MIG_PATH_MAX], precopy_progress_fn fn,
		    void *ctx, const bool *cancel, char *why);
/* Of every disk's content, holes as zeros (a move's --verify). */
uint64_t vm_disks_hash(struct vm *vm);

#endif
