/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VM state stream: a file header, then typed, versioned, checksummed
 * sections, ending with an END section. A file or a socket can carry it.
 * Documentation/design/vm-state.rst describes every section.
 */
#ifndef VMMIG_VMSTATE_H
#define VMMIG_VMSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMSTATE_MAGIC		"VMMIGSTA"
/* Version 2: memory sections may be compressed, header flags below. */
#define VMSTATE_VERSION		2
/* Header flags. The transport authenticates every byte (TLS): memory sections carry no CRC. */
#define VMSTATE_F_NO_MEMORY_CRC	0x1
#define VMSTATE_F_ALL		VMSTATE_F_NO_MEMORY_CRC
/* No section is larger: a flipped length bit must not allocate gigabytes. */
/* A stream read that failed for a corrupted TLS record (kTLS's EBADMSG, the relay's). */
#define VMSTATE_CORRUPT_RECORD	"read: a TLS record failed its check (corrupted)"
#define VMSTATE_MAX_SECTION	(16U << 20)
/* Memory travels in chunks of this many pages. */
#define VMSTATE_CHUNK_PAGES	256

enum vmstate_type {
	VMSTATE_END = 0,
	VMSTATE_DEFINITION = 1,	/* the VM's vm.json, text; version 2 has its uuid */
	VMSTATE_VM_INFO = 2,	/* struct vmstate_vm_info */
	VMSTATE_MEMORY = 3,	/* struct vmstate_mem_chunk + pages */
	VMSTATE_DISK = 4,	/* struct vmstate_disk_chunk + data; instance = disk */
	VMSTATE_VCPU_REGS = 16,	/* struct kvm_regs; instance = vCPU */
	VMSTATE_VCPU_SREGS,	/* struct kvm_sregs */
	VMSTATE_VCPU_XSAVE,	/* struct kvm_xsave (KVM_GET_XSAVE2 size) */
	VMSTATE_VCPU_XCRS,	/* struct kvm_xcrs */
	VMSTATE_VCPU_MSRS,	/* struct vmstate_msr[] */
	VMSTATE_VCPU_LAPIC,	/* struct kvm_lapic_state */
	VMSTATE_VCPU_MP_STATE,	/* struct kvm_mp_state */
	VMSTATE_VCPU_EVENTS,	/* struct kvm_vcpu_events */
	VMSTATE_VCPU_DEBUGREGS,	/* struct kvm_debugregs */
	VMSTATE_VCPU_FPU,	/* struct kvm_fpu, when KVM has no XSAVE */
	VMSTATE_PIC = 32,	/* struct kvm_pic_state; instance 0 master, 1 slave */
	VMSTATE_IOAPIC,		/* struct kvm_ioapic_state */
	VMSTATE_PIT,		/* struct kvm_pit_state2 */
	VMSTATE_CLOCK,		/* struct kvm_clock_data */
	VMSTATE_UART = 48,	/* struct vmstate_uart; instance = port index */
	VMSTATE_VIRTIO,		/* struct vmstate_virtio; instance = device index */
	VMSTATE_ACPI,		/* struct vmstate_acpi */
	VMSTATE_NTYPES
};

struct vmstate_vm_info {
	uint64_t memory;
	uint32_t vcpus;
	uint32_t tsc_khz;
	uint64_t uptime_ns;	/* guest run time before the save */
};

struct vmstate_mem_chunk {
	uint64_t gpa;
	uint32_t pages;		/* at most VMSTATE_CHUNK_PAGES */
	uint32_t flags;		/* VMSTATE_CHUNK_*; version 1: 0 */
	/* bit i set: page i follows, in order; clear: page i is zero */
	uint8_t present[VMSTATE_CHUNK_PAGES / 8];
};

/*
 * Memory section version 2: the present pages may be compressed, as one
 * block; the section's length gives the compressed length, the bitmap the
 * length once decompressed. Uncompressed when the flags are 0.
 */
#define VMSTATE_CHUNK_LZ4	0x1
#define VMSTATE_CHUNK_ZSTD	0x2
/* No payload: the pages whose bit is set are zero pages (pre-copy's rounds). */
#define VMSTATE_CHUNK_ZERO	0x4

/*
 * A run of a disk's bytes (moves with --include-storage): @len bytes at
 * byte @offset of the disk whose index is the section's instance, whole
 * sectors within one aligned 1 MiB window. With VMSTATE_DISK_ZERO no data
 * follows: the run reads as zeros (a reader punches a hole).
 */
struct vmstate_disk_chunk {
	uint64_t offset;
	uint32_t len;
	uint32_t flags;
};

#define VMSTATE_DISK_ZERO	0x1
#define VMSTATE_DISK_WINDOW	(1U << 20)

struct vmstate_msr {
	uint32_t index;
	uint32_t reserved;
	uint64_t data;
};

/* Version 1 was the first 16 bytes, with an empty receive FIFO. */
#define VMSTATE_UART_FIFO	16
struct vmstate_uart {
	uint8_t ier, iir, lcr, mcr, lsr, msr, scr, dll, dlm, thre_pending;
	uint8_t rx_count;		/* bytes in the receive FIFO */
	uint8_t pad[5];
	uint8_t rx[VMSTATE_UART_FIFO];	/* the receive FIFO, oldest first */
};

/* The ACPI PM1 event registers (the power button). */
struct vmstate_acpi {
	uint16_t pm1_status, pm1_enable;
	uint8_t pad[4];
};

/* One virtqueue of a virtio-mmio device (split ring). */
struct vmstate_virtq {
	uint64_t desc, avail, used;	/* guest physical addresses */
	uint16_t num;			/* QueueNum */
	uint16_t ready;			/* QueueReady */
	uint16_t last_avail;		/* next avail entry the device takes */
	uint16_t used_idx;		/* next used entry the device fills */
};

#define VMSTATE_VIRTIO_QUEUES	2

/*
 * A virtio-mmio device's transport state. Requests are complete whenever the
 * VM is paused, so there is nothing in flight to save; the device's own
 * configuration follows from the VM's definition.
 */
struct vmstate_virtio {
	uint32_t device_id;		/* VIRTIO_ID_* */
	uint32_t status;		/* device status */
	uint64_t driver_features;	/* what the driver accepted */
	uint32_t device_features_sel, driver_features_sel;
	uint32_t queue_sel;
	uint32_t isr;			/* InterruptStatus */
	uint32_t config_generation;
	uint32_t nqueues;
	struct vmstate_virtq q[VMSTATE_VIRTIO_QUEUES];
};

struct vmstate_writer {
	int fd;
	uint32_t flags;		/* VMSTATE_F_* of the header */
	uint64_t sections;
	uint64_t bytes;
	/*
	 * When set, vmstate_put() hands each section to @put instead (the
	 * migration streams, migrate/stream.c); vmstate_finish() an END.
	 */
	int (*put)(struct vmstate_writer *w, uint32_t type, uint16_t instance,
		   const void *a, size_t alen, const void *b, size_t blen);
	void *ctx;
};

struct vmstate_section {
	uint32_t type;
	uint16_t version;
	uint16_t instance;
	uint64_t len;
	void *data;		/* valid until the next vmstate_next() */
};

struct vmstate_reader {
	int fd;
	uint32_t flags;		/* VMSTATE_F_* of the header */
	uint64_t sections;
	uint64_t bytes;
	void *buf;
	size_t cap;
	char *why;		/* VMMIG_ERRLEN bytes, for the reason of a failure */
};

const char *vmstate_type_name(uint32_t type);
uint32_t crc32c(uint32_t crc, const void *p, size_t n);
/* The number of pages a chunk's bitmap says follow it. */
unsigned int vmstate_chunk_present(const struct vmstate_mem_chunk *c);
bool vmstate_page_zero(const void *page);

int vmstate_begin(struct vmstate_writer *w, int fd);
/* As vmstate_begin(), with VMSTATE_F_* header flags. */
int vmstate_begin_flags(struct vmstate_writer *w, int fd, uint32_t flags);
/* One section whose payload is @a followed by @b (either may be empty). */
int vmstate_put(struct vmstate_writer *w, uint32_t type, uint16_t instance,
		const void *a, size_t alen, const void *b, size_t blen);
int vmstate_finish(struct vmstate_writer *w);

int vmstate_open(struct vmstate_reader *r, int fd, char *why);
/* 0 and a section, 1 at the END section, or -errno with r->why set. */
int vmstate_next(struct vmstate_reader *r, struct vmstate_section *s);
void vmstate_close(struct vmstate_reader *r);

/*
 * Reads a whole state file, checking every section, and returns its
 * definition (malloc'ed JSON text). Nothing is created or changed.
 */
int vmstate_check_file(const char *path, char **definition, char *why);

#endif
