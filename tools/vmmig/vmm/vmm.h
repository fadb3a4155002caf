/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmmig-vmm: one process per running VM. The main thread serves the control
 * socket; each vCPU has its own thread. See Documentation/design/vm-state.rst
 * for what a save writes.
 */
#ifndef VMMIG_VMM_H
#define VMMIG_VMM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <linux/kvm.h>

#include "ctl.h"
#include "mig.h"
#include "nl.h"
#include "vmdef.h"
#include "vmstate.h"
#include "guest.h"
#include "virtio.h"

/* Guest RAM above 3 GiB moves to 4 GiB: the hole is for the APICs. */
#define MEM_HOLE_START	(3ULL << 30)
#define MEM_HOLE_END	(4ULL << 30)
#define IDENTITY_MAP	0xfffbc000ULL
#define TSS_ADDR	0xfffbd000ULL
#define COM1_BASE	0x3f8
#define COM1_IRQ	4
#define IOAPIC_ADDR	0xfec00000U
#define LAPIC_ADDR	0xfee00000U

/* Little-endian fields of the tables the VMM writes into guest memory. */
static inline void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* The byte that makes @len bytes at @p sum to zero (MP and ACPI tables). */
static inline uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return -sum;
}

enum vm_exit_kind { VM_EXIT_NONE, VM_EXIT_POWEROFF, VM_EXIT_RESET, VM_EXIT_CRASH };

struct vm;

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool dead;		/* hit a fatal exit: never runs again */
	bool has_saved_tsc;	/* restore: IA32_TSC as the state carried it */
	uint64_t saved_tsc;
};

/* Output for a console client that lags behind; beyond it, output is lost. */
#define UART_CLIENT_BUF	(64 << 10)

struct uart {
	pthread_mutex_t lock;
	struct vmstate_uart r;
	int out_fd;		/* console.log */
	int client_fd;		/* an attached `vmmig vm console`, or -1 */
	/* eventfd: the receive FIFO has room again, or output waits */
	int wake_fd;
	bool rx_waiting;	/* the control loop waits for room */
	bool client_blocked;	/* the client's socket is full */
	unsigned int client_len;
	uint64_t client_lost;	/* bytes the client missed */
	uint8_t client_buf[UART_CLIENT_BUF];
	int irq_level;
};

/* A migration that holds the VM (migrate.c). */
struct vm_migration {
	enum ctl_mig_role role;
	int fd;				/* outgoing: vmmigd's connection, or -1 */
	int fds[CTL_MAX_FDS];		/* outgoing: the streams */
	unsigned int nfds;
	struct mig_opts opts;
	bool was_running, decided;
	pthread_t thread;
	int done_fd;			/* eventfd: the thread is done */
	int err;
	char why[VMMIG_ERRLEN];
	pthread_mutex_t tx_lock;
	struct mig_tx *tx;		/* the streams of a live save, while it runs */
	bool cancel_seen;		/* the daemon's connection ended mid-copy */
	/*
	 * Outgoing: a stream's replacement asked of vmmigd, under tx_lock:
	 * MIG_SWAP_IDLE, MIG_SWAP_ASKED, then its fd or -1 (refused).
	 */
	int swap[MIG_MAX_STREAMS];
	pthread_cond_t swap_cond;
	pthread_mutex_t send_lock;	/* lines to vmmigd on fd */
	char disks[VMDEF_MAX_DEVS][MIG_PATH_MAX];	/* a storage move's new images */
};
#define MIG_SWAP_IDLE	(-2)
#define MIG_SWAP_ASKED	(-3)

struct vm {
	struct vmdef def;
	const char *dir;
	int kvm_fd, vm_fd, mem_fd;
	bool mem_thp;		/* in a huge=within_size tmpfs */
	uint8_t *mem;
	uint64_t mem_size;
	size_t run_size;
	size_t xsave_size;
	uint32_t tsc_khz;
	/* Restoring a live move: the guest's clocks count the time it was away. */
	bool clock_runs_on;
	uint64_t restore_start_ns;
	struct vcpu vcpus[VMDEF_MAX_VCPUS];
	int nvcpus;
	uint16_t pm1_enable;	/* ACPI (acpi.c), under vm->lock */
	uint16_t pm1_status;
	struct uart uart;
	uint8_t cmos_index;
	struct virtio_dev *virtio[VIRTIO_MAX_DEVS];
	int nvirtio;
	/* Disk sections came in (a move with storage): synced, hashed when paused. */
	bool disks_in;

	/* vmmig.ko, and the VM in its registry (register.c). */
	struct vmmig_nl nl;
	bool registered;

	struct vm_migration mig;

	/* Pages the VMM wrote, while a live save wants them (vm_mark_dirty). */
	uint64_t *vmm_dirty;
	bool vmm_dirty_on;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool threads;		/* vCPU threads started */
	bool pause_req, quit;
	int parked;
	/* vm_set_throttle(): the vCPUs stay out of the guest until throttle_until. */
	unsigned int throttle_pct;
	uint64_t throttle_until;
	pthread_t throttle_thread;
	bool throttling;	/* throttle_thread runs */
	enum vm_exit_kind exit_kind;
	char exit_reason[VMMIG_ERRLEN];
	int event_fd;		/* vCPU threads -> main loop */

	uint64_t t0_ns;		/* when `vmmig vm start` began */
	uint64_t first_insn_ns;	/* the guest's first instruction */
	uint64_t ready_ns;	/* the vCPUs run (or wait, paused) */
	uint64_t uptime_base_ns, run_since_ns;
};

uint64_t now_ns(void);
uint64_t realtime_ns(void);
int vmm_fail(char *why, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* kvm.c */
int vm_create(struct vm *vm, char *why);
/* thp.c: an unlinked file for guest memory in THP, or -errno (take a memfd). */
int thp_memory_file(const char *name, uint64_t size);
void vm_destroy(struct vm *vm);
void *gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len);
uint64_t mem_offset_to_gpa(uint64_t off);
int vm_setup_workload(struct vm *vm, char *why);
int vcpu_long_mode(struct vcpu *vc, bool linux_sel, char *why);
void vm_mark_dirty(struct vm *vm, uint64_t gpa, uint64_t len);
void vm_track_vmm_writes(struct vm *vm, bool on);
/* Calls @fn for each page the VMM wrote since the last call; stops at an error. */
int vm_take_vmm_dirty(struct vm *vm, int (*fn)(void *ctx, uint64_t gpa), void *ctx);

/* boot.c */
int vm_setup_linux(struct vm *vm, char *why);
int vm_start_vcpus(struct vm *vm, bool paused, char *why);
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
bool vm_is_paused(struct vm *vm);
/*
 * Keeps every vCPU out of the guest @pct % (0..99) of each 20 ms period
 * (live migration's auto-converge); 0 turns it off. Pause, resume and save
 * work as ever. 0 or -errno.
 */
int vm_set_throttle(struct vm *vm, unsigned int pct);
void vm_stop_vcpus(struct vm *vm);
void vm_exit_event(struct vm *vm, enum vm_exit_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint64_t vm_uptime_ns(struct vm *vm);
struct vmmig_guest_page *vm_guest_page(struct vm *vm);

/* acpi.c */
int acpi_tables(struct vm *vm, char *why);
int acpi_power_button(struct vm *vm);
void acpi_save(struct vm *vm, struct vmstate_acpi *s);
void acpi_restore(struct vm *vm, const struct vmstate_acpi *s);
/* The ACPI registers; false if @port is not one of them. */
bool acpi_io(struct vm *vm, uint16_t port, int size, bool write, uint8_t *data);

/* serial.c */
int uart_init(struct uart *u, int out_fd);
void uart_io(struct vm *vm, uint16_t port, bool write, uint8_t *data);
/*
 * Console input: how many bytes the receive FIFO takes now (0: the control
 * loop should wait for wake_fd), and giving it some; returns how many it took.
 */
unsigned int uart_rx_room(struct uart *u);
unsigned int uart_receive(struct vm *vm, const uint8_t *buf, unsigned int len);
/* Console output also goes to @fd (-1: nobody); returns the previous one. */
int uart_attach(struct uart *u, int fd);
/* Output waits for the client's socket (poll it for POLLOUT), and sending it. */
bool uart_client_blocked(struct uart *u);
void uart_client_flush(struct uart *u);
void uart_save(struct uart *u, struct vmstate_uart *s);
int uart_restore(struct vm *vm, const struct vmstate_section *s, char *why);

/* state.c: the VM must be paused (or not yet started), but see vm_save_memory(). */
int vm_save(struct vm *vm, int fd, char *why);
/* After vmstate_begin(): the definition and vm-info. */
int vm_save_head(struct vm *vm, struct vmstate_writer *w);
int vm_save_memory(struct vm *vm, struct vmstate_writer *w, void (*tick)(void *ctx, uint64_t off),
		   void *ctx);
int vm_save_tail(struct vm *vm, struct vmstate_writer *w, bool info, char *why);
/* Pages of guest memory ever touched (written, or read): the rest are holes. */
uint64_t vm_data_pages(struct vm *vm);
int vm_restore(struct vm *vm, int fd, char *why);
/* One section of a stream into @ctx's VM (a mig_rx_fn). */
struct vmstate_section;
int vm_restore_one(void *ctx, unsigned int stream, const struct vmstate_section *s, char *why);
/*
 * incoming.c: a migration's incoming side, the stream of a live save spread
 * over @nfds streams (fds[0] carries the sections other than memory), read
 * to its end.
 */
int vm_restore_streams(struct vm *vm, const int *fds, unsigned int nfds, char *why);
uint64_t vm_memory_hash(struct vm *vm);

/* precopy.c: live save, the VM running until its last few dirty pages. */
struct precopy_stats {
	int rounds;			/* harvest rounds while running */
	uint64_t resent_pages;		/* dirty pages sent while running */
	uint64_t final_pages;		/* dirty pages sent paused */
	uint64_t downtime_ns;		/* pause to the end of the stream */
	unsigned int throttle_pct;	/* the highest vCPU throttle it took */
	uint64_t expected_downtime_ms;	/* estimated at the switchover */
};
typedef void (*precopy_progress_fn)(void *ctx, const struct mig_progress *p);
/*
 * Live save into @nfds streams (a file: one), as @o asks; @fn (or NULL) is
 * told the progress after every round and at the switchover.
 */
int vm_save_live(struct vm *vm, const int *fds, unsigned int nfds, const struct mig_opts *o,
		 struct precopy_stats *st, precopy_progress_fn fn, void *ctx, char *why);

/* register.c */
/* Opens vm->nl to vmmig.ko if it is not open: -ENOENT without vmmig.ko. */
int vm_nl_open(struct vm *vm, char *why);
/*
 * Registers the VM with vmmig.ko under its name, UUID and processor
 * compatibility mode, or checks that it still is; 0, -ENOENT without
 * vmmig.ko, -EACCES without the right to, or the kernel's refusal (a VM
 * that exceeds its mode's mask), with @why set.
 */
int vm_register(struct vm *vm, char *why);
/* As vm_register(), but a VM without vmmig.ko runs, and says so in vmm.log. */
int vm_register_at_start(struct vm *vm, char *why);
void vm_unregister(struct vm *vm);

/* compat.c */
/*
 * A cold start: reads the definition into vm->def with the CPUID of this
 * host narrowed by the VM's processor compatibility mode, and writes it back
 * as the CPUID of this run.
 */
int vm_cpuid_at_start(struct vm *vm, char *why);
/*
 * A restore or an incoming move: 0 when this host is of the CPU vendor the
 * VM ran on and has every feature of its CPUID; -ENODEV naming them if not.
 */
int vm_cpuid_fits_host(struct vm *vm, char *why);

/* migrate.c */
int migrate_out_start(struct vm *vm, const struct ctl_request *req, int fd, const int *fds,
		      unsigned int nfds, char *why);
/* The thread ended: the connection to wait on for the decision, or -1. */
int migrate_out_done(struct vm *vm);
/* Reads the decision; true when the VMM ends (committed). */
bool migrate_out_decide(struct vm *vm);
int migrate_incoming_end(struct vm *vm, bool commit, char *why, bool *end);
/* A request a migration refuses now, with @why set. */
bool migrate_holds(struct vm *vm, enum ctl_req cmd, char *why);
/* The streams a live save writes, while it runs (NULL after). */
void migrate_attach_tx(struct vm *vm, struct mig_tx *tx);
/* Mid-copy, a line from vmmigd: a stream's replacement (false), or a cancel (true). */
bool migrate_out_message(struct vm *vm);
/* vmmigd's connection ended or spoke during the copy: cancel it. */
void migrate_out_cancel(struct vm *vm);
/* CTL_REQ_STORAGE_MOVE: a thread copies; its reply ends the request. */
int storage_move_start(struct vm *vm, const struct ctl_request *req, int fd, char *why);
/* The VMM ends or restarts: a storage move still running is cancelled and joined. */
void storage_move_end(struct vm *vm);

/* control.c */
int control_listen(struct vm *vm, char *why);
/*
 * Serves requests until the VM ends; returns the process exit status, or
 * VMM_RESTART when the guest reset and should boot again (main.c).
 */
#define VMM_RESTART	(-1)
int control_loop(struct vm *vm, int listen_fd);

#endif
