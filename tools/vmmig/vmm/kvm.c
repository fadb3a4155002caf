// SPDX-License-Identifier: GPL-2.0
/*
 * The KVM VM: memory, in-kernel irqchip and PIT, vCPUs and their threads,
 * and pausing them all. x86-64 only.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "thread.h"
#include "vmlog.h"
#include "vmm.h"

#define KICK_SIGNAL	SIGUSR1
#define THROTTLE_PERIOD_NS	20000000ULL

extern const uint8_t vmmig_guest_image[], vmmig_guest_image_end[];

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
	{ KVM_CAP_IRQCHIP, "IRQCHIP" },
	{ KVM_CAP_PIT2, "PIT2" },
	{ KVM_CAP_PIT_STATE2, "PIT_STATE2" },
	{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
	{ KVM_CAP_USER_MEMORY, "USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "SET_TSS_ADDR" },
	{ KVM_CAP_SET_IDENTITY_MAP_ADDR, "SET_IDENTITY_MAP_ADDR" },
	{ KVM_CAP_EXT_CPUID, "EXT_CPUID" },
	{ KVM_CAP_VCPU_EVENTS, "VCPU_EVENTS" },
	{ KVM_CAP_DEBUGREGS, "DEBUGREGS" },
	{ KVM_CAP_XCRS, "XCRS" },
	{ KVM_CAP_ADJUST_CLOCK, "ADJUST_CLOCK" },
	{ KVM_CAP_GET_TSC_KHZ, "GET_TSC_KHZ" },
	{ KVM_CAP_MP_STATE, "MP_STATE" },
};

int vmm_fail(char *why, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, VMMIG_ERRLEN, fmt, ap);
	va_end(ap);
	return err;
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t mem_offset_to_gpa(uint64_t off)
{
	return off < MEM_HOLE_START ? off : off + (MEM_HOLE_END - MEM_HOLE_START);
}

void *gpa_to_hva(struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa;

	if (gpa >= MEM_HOLE_END)
		off = gpa - (MEM_HOLE_END - MEM_HOLE_START);
	else if (gpa + len > MEM_HOLE_START)
		return NULL;
	if (off + len < off || off + len > vm->mem_size)
		return NULL;
	return vm->mem + off;
}

static int kvm_open(struct vm *vm, char *why)
{
	size_t i;
	int r;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return vmm_fail(why, -errno, "/dev/kvm: %s (is KVM loaded?)", strerror(errno));
	r = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r != KVM_API_VERSION)
		return vmm_fail(why, -ENODEV, "/dev/kvm is not KVM API version %d", KVM_API_VERSION);
	for (i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++)
		if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0)
			return vmm_fail(why, -ENOTSUP, "KVM lacks KVM_CAP_%s", required_caps[i].name);
	r = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r <= 0)
		return vmm_fail(why, -errno, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	vm->run_size = r;
	r = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	vm->xsave_size = r > (int)sizeof(struct kvm_xsave) ? (size_t)r :
			 ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0 ?
			 sizeof(struct kvm_xsave) : 0;
	return 0;
}

static int set_slot(struct vm *vm, int slot, uint64_t gpa, uint64_t off, uint64_t size,
		    char *why)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)vm->mem + off,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
		return vmm_fail(why, -errno, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	return 0;
}

static int vm_memory(struct vm *vm, char *why)
{
	uint64_t size = vm->def.memory, avail;
	unsigned int flags = MFD_CLOEXEC;
	char a[32], b[32];
	int err;

	avail = meminfo("MemAvailable") + meminfo("SwapFree");
	if (!vm->def.hugepages && avail && size > avail)
		return vmm_fail(why, -ENOMEM, "memory %s is more than this host can give now (%s available)",
				fmt_size(size, a, sizeof(a)), fmt_size(avail, b, sizeof(b)));
	vm->mem_fd = -1;
	if (vm->def.hugepages)
		flags |= MFD_HUGETLB;	/* the default huge page size */
	else
		vm->mem_fd = thp_memory_file(vm->def.name, size);
	vm->mem_thp = vm->mem_fd >= 0;
	if (!vm->mem_thp)
		vm->mem_fd = memfd_create(vm->def.name, flags);
	if (vm->mem_fd < 0)
		return vmm_fail(why, -errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(vm->mem_fd, size))
		return vmm_fail(why, -errno, "memory %s: %s", fmt_size(size, a, sizeof(a)),
				strerror(errno));
	/* Huge pages are reserved now, so a shortage fails here, not in the guest. */
	if (vm->def.hugepages && fallocate(vm->mem_fd, 0, 0, size))
		return vmm_fail(why, -errno, "cannot reserve %s of huge pages: %s",
				fmt_size(size, a, sizeof(a)), strerror(errno));
	vm->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->mem_fd, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		return vmm_fail(why, -errno, "mmap guest memory: %s", strerror(errno));
	}
	vm->mem_size = size;
	err = set_slot(vm, 0, 0, 0, size < MEM_HOLE_START ? size : MEM_HOLE_START, why);
	if (!err && size > MEM_HOLE_START)
		err = set_slot(vm, 1, MEM_HOLE_END, MEM_HOLE_START, size - MEM_HOLE_START, why);
	return err;
}

static int vcpu_cpuid(struct vcpu *vc, char *why)
{
	const struct vmdef *d = &vc->vm->def;
	struct kvm_cpuid2 *c;
	int i, err = 0;

	c = calloc(1, sizeof(*c) + d->ncpuid * sizeof(c->entries[0]));
	if (!c)
		return vmm_fail(why, -ENOMEM, "out of memory");
	c->nent = d->ncpuid;
	for (i = 0; i < d->ncpuid; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		const struct vmdef_cpuid *s = &d->cpuid[i];

		*e = (struct kvm_cpuid_entry2){
			.function = s->function, .index = s->index, .flags = s->flags,
			.eax = s->eax, .ebx = s->ebx, .ecx = s->ecx, .edx = s->edx,
		};
		/* Each vCPU's own APIC ID: KVM leaves it to the VMM. */
		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffff) | (uint32_t)vc->id << 24;
		if (e->function == 0xb || e->function == 0x1f)
			e->edx = vc->id;
	}
	if (ioctl(vc->fd, KVM_SET_CPUID2, c))
		err = vmm_fail(why, -errno, "vCPU %d: KVM_SET_CPUID2: %s", vc->id, strerror(errno));
	free(c);
	return err;
}

static int vcpu_create(struct vm *vm, int id, char *why)
{
	struct vcpu *vc = &vm->vcpus[id];

	vc->vm = vm;
	vc->id = id;
	vc->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vc->fd < 0)
		return vmm_fail(why, -errno, "KVM_CREATE_VCPU %d: %s", id, strerror(errno));
	vm->nvcpus = id + 1;
	vc->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vc->fd, 0);
	if (vc->run == MAP_FAILED) {
		vc->run = NULL;
		return vmm_fail(why, -errno, "mmap kvm_run: %s", strerror(errno));
	}
	if (!vm->def.ncpuid)
		return vmm_fail(why, -EINVAL, "the definition has no CPUID");
	return vcpu_cpuid(vc, why);
}

/* Words of vm->vmm_dirty: a bit per page of guest memory. */
static uint64_t vmm_dirty_words(const struct vm *vm)
{
	return (vm->mem_size / 4096 + 63) / 64;
}

int vm_create(struct vm *vm, char *why)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t ident = IDENTITY_MAP;
	pthread_condattr_t ca;
	unsigned int i;
	int err;

	/* Timed waits (the throttle) count in now_ns()'s clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, &ca);
	pthread_condattr_destroy(&ca);
	vm->vm_fd = vm->mem_fd = vm->event_fd = -1;
	err = kvm_open(vm, why);
	if (err)
		return err;
	vm->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->event_fd < 0 || vm->vm_fd < 0)
		return vmm_fail(why, -errno, "KVM_CREATE_VM: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) ||
	    ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR))
		return vmm_fail(why, -errno, "KVM_SET_TSS_ADDR: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0))
		return vmm_fail(why, -errno, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit))
		return vmm_fail(why, -errno, "KVM_CREATE_PIT2: %s", strerror(errno));
	err = vm_memory(vm, why);
	if (!err) {
		vm->vmm_dirty = calloc(vmm_dirty_words(vm), sizeof(uint64_t));
		if (!vm->vmm_dirty)
			err = vmm_fail(why, -ENOMEM, "out of memory");
	}
	for (i = 0; !err && i < vm->def.vcpus; i++)
		err = vcpu_create(vm, i, why);
	if (err)
		return err;
	err = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	if (err <= 0)
		return vmm_fail(why, -errno, "KVM_GET_TSC_KHZ: %s", strerror(errno));
	vm->tsc_khz = err;
	return 0;
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = !code, .s = 1, .l = code, .g = 1,
	};
}

/*
 * Long mode straight away: GDT, identity page tables for 4 GiB, 2 MiB pages.
 * The workload's code segment is 0x08; Linux's boot protocol wants 0x10
 * (__BOOT_CS) and 0x18 (__BOOT_DS).
 */
int vcpu_long_mode(struct vcpu *vc, bool linux_sel, char *why)
{
	struct vm *vm = vc->vm;
	uint16_t cs = linux_sel ? 0x10 : 0x08;
	uint64_t *gdt = gpa_to_hva(vm, VMMIG_GUEST_GDT, 48);
	uint64_t *pml4 = gpa_to_hva(vm, VMMIG_GUEST_PML4, 6 * 4096);
	uint64_t *pdpt = pml4 + 512, *pd = pml4 + 1024;
	struct kvm_sregs s;
	int i;

	memset(gdt, 0, 48);
	gdt[cs / 8] = 0x00af9b000000ffffULL;		/* code, 64-bit */
	gdt[cs / 8 + 1] = 0x00cf93000000ffffULL;	/* data */
	gdt[cs / 8 + 2] = 0x00008b0000000067ULL;	/* TSS, busy (for VM entry) */
	pml4[0] = (VMMIG_GUEST_PML4 + 0x1000) | 3;
	for (i = 0; i < 4; i++)
		pdpt[i] = (VMMIG_GUEST_PML4 + 0x2000 + i * 0x1000) | 3;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;	/* present, writable, 2 MiB */

	if (ioctl(vc->fd, KVM_GET_SREGS, &s))
		return vmm_fail(why, -errno, "KVM_GET_SREGS: %s", strerror(errno));
	set_seg(&s.cs, cs, 0xb, true);
	set_seg(&s.ds, cs + 8, 0x3, false);
	s.es = s.fs = s.gs = s.ss = s.ds;
	s.tr = (struct kvm_segment){ .limit = 0x67, .selector = cs + 16, .type = 0xb,
				     .present = 1 };
	s.gdt.base = VMMIG_GUEST_GDT;
	s.gdt.limit = (cs / 8 + 3) * 8 - 1;
	s.cr3 = VMMIG_GUEST_PML4;
	s.cr4 = 1 << 5;				/* PAE */
	s.cr0 = 0x80050033;			/* PG WP NE ET MP PE */
	s.efer = 0x500;				/* LMA LME */
	if (ioctl(vc->fd, KVM_SET_SREGS, &s))
		return vmm_fail(why, -errno, "KVM_SET_SREGS: %s", strerror(errno));
	return 0;
}

void vm_mark_dirty(struct vm *vm, uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa >= MEM_HOLE_END ? gpa - (MEM_HOLE_END - MEM_HOLE_START) : gpa;
	uint64_t pfn, end = (off + len + 4095) / 4096;

	if (!len || !__atomic_load_n(&vm->vmm_dirty_on, __ATOMIC_ACQUIRE))
		return;
	if (end > vm->mem_size / 4096)
		end = vm->mem_size / 4096;
	for (pfn = off / 4096; pfn < end; pfn++)
		__atomic_fetch_or(&vm->vmm_dirty[pfn / 64], 1ULL << (pfn % 64), __ATOMIC_RELEASE);
}

void vm_track_vmm_writes(struct vm *vm, bool on)
{
	if (on)
		memset(vm->vmm_dirty, 0, vmm_dirty_words(vm) * sizeof(uint64_t));
	__atomic_store_n(&vm->vmm_dirty_on, on, __ATOMIC_RELEASE);
}

int vm_take_vmm_dirty(struct vm *vm, int (*fn)(void *ctx, uint64_t gpa), void *ctx)
{
	uint64_t w, i, words = vmm_dirty_words(vm);
	int b, err;

	for (i = 0; i < words; i++) {
		if (!__atomic_load_n(&vm->vmm_dirty[i], __ATOMIC_RELAXED))
			continue;
		/* Cleared before the copy: a write after it marks the page again. */
		w = __atomic_exchange_n(&vm->vmm_dirty[i], 0, __ATOMIC_ACQUIRE);
		for (b = 0; b < 64; b++) {
			if (!(w & (1ULL << b)))
				continue;
			err = fn(ctx, mem_offset_to_gpa((i * 64 + b) * 4096));
			if (err)
				return err;
		}
	}
	return 0;
}

struct vmmig_guest_page *vm_guest_page(struct vm *vm)
{
	return vm->def.workload ?
		gpa_to_hva(vm, VMMIG_GUEST_PAGE, sizeof(struct vmmig_guest_page)) : NULL;
}

int vm_setup_workload(struct vm *vm, char *why)
{
	size_t len = vmmig_guest_image_end - vmmig_guest_image;
	struct vmmig_guest_page *gp = vm_guest_page(vm);
	struct kvm_regs regs = {
		.rip = VMMIG_GUEST_LOAD, .rsp = VMMIG_GUEST_STACK_TOP, .rflags = 2,
	};
	int err;

	if (!gp || vm->mem_size < VMMIG_GUEST_WSS + vm->def.wl.wss)
		return vmm_fail(why, -EINVAL, "memory is too small for the workload");
	memcpy(gpa_to_hva(vm, VMMIG_GUEST_LOAD, len), vmmig_guest_image, len);
	*gp = (struct vmmig_guest_page){
		.magic = VMMIG_GUEST_MAGIC, .version = VMMIG_GUEST_VERSION,
		.tsc_khz = vm->tsc_khz, .rate = vm->def.wl.rate,
		.wss_pages = vm->def.wl.wss >> 12, .pattern = vm->def.wl.pattern,
		.fill = vm->def.wl.fill,
		.seed = now_ns(),
	};
	err = vcpu_long_mode(&vm->vcpus[0], false, why);
	if (!err && ioctl(vm->vcpus[0].fd, KVM_SET_REGS, &regs))
		err = vmm_fail(why, -errno, "KVM_SET_REGS: %s", strerror(errno));
	return err;
}

void vm_exit_event(struct vm *vm, enum vm_exit_kind kind, const char *fmt, ...)
{
	uint64_t one = 1;
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	if (vm->exit_kind == VM_EXIT_NONE) {
		vm->exit_kind = kind;
		va_start(ap, fmt);
		vsnprintf(vm->exit_reason, sizeof(vm->exit_reason), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&vm->lock);
	if (write(vm->event_fd, &one, sizeof(one)) < 0)
		vmlog(LOG_ERR, "eventfd: %m");
}

static void guest_port(struct vcpu *vc, uint8_t v)
{
	struct vm *vm = vc->vm;

	switch (v) {
	case VMMIG_GUEST_STARTED:
		if (!vm->first_insn_ns)
			vm->first_insn_ns = now_ns();
		break;
	case VMMIG_GUEST_POWEROFF:
		vm_exit_event(vm, VM_EXIT_POWEROFF, "the guest powered off");
		break;
	case VMMIG_GUEST_PANIC:
		vm_exit_event(vm, VM_EXIT_CRASH, "the workload guest found bad parameters");
		vc->dead = true;
		break;
	}
}

/* BCD time of day for CMOS registers 0-9 and the century (0x32). */
static uint8_t cmos_read(uint8_t idx)
{
	time_t t = time(NULL);
	struct tm tm;
	int v;

	gmtime_r(&t, &tm);
	switch (idx) {
	case 0x00: v = tm.tm_sec; break;
	case 0x02: v = tm.tm_min; break;
	case 0x04: v = tm.tm_hour; break;
	case 0x06: v = tm.tm_wday + 1; break;
	case 0x07: v = tm.tm_mday; break;
	case 0x08: v = tm.tm_mon + 1; break;
	case 0x09: v = tm.tm_year % 100; break;
	case 0x32: v = 19 + tm.tm_year / 100; break;
	case 0x0a: return 0x26;		/* 32.768 kHz, no update in progress */
	case 0x0b: return 0x02;		/* 24 hours, BCD */
	case 0x0d: return 0x80;		/* battery good */
	default: return 0;
	}
	return (v / 10) << 4 | v % 10;
}

/*
 * The few legacy ports a Linux guest needs besides the UART: the CMOS clock
 * (read-only) and the i8042's reset line, which is how Linux reboots without
 * ACPI. A reset restarts the VM (main.c). True if the port was one of them.
 */
static bool legacy_io(struct vcpu *vc, uint16_t port, bool write, uint8_t *data)
{
	struct vm *vm = vc->vm;

	switch (port) {
	case 0x70:
		if (write)
			vm->cmos_index = *data & 0x7f;
		else
			*data = vm->cmos_index;
		return true;
	case 0x71:
		if (!write)
			*data = cmos_read(vm->cmos_index);
		return true;
	case 0x60:
	case 0x64:
		if (!write)
			*data = 0;	/* no data, input buffer empty */
		else if (port == 0x64 && *data == 0xfe)
			vm_exit_event(vm, VM_EXIT_RESET,
				      "the guest reset (reboot via the i8042): the VM restarts");
		return true;
	}
	return false;
}

static void handle_io(struct vcpu *vc)
{
	struct kvm_run *run = vc->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool write = run->io.direction == KVM_EXIT_IO_OUT;
	uint32_t i;

	for (i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.port >= COM1_BASE && run->io.port < COM1_BASE + 8 && run->io.size == 1)
			uart_io(vc->vm, run->io.port - COM1_BASE, write, data);
		else if (run->io.port == VMMIG_GUEST_PORT && write)
			guest_port(vc, *data);
		else if (run->io.size == 1 && legacy_io(vc, run->io.port, write, data))
			;
		else if (acpi_io(vc->vm, run->io.port, run->io.size, write, data))
			;
		else if (!write)
			memset(data, 0xff, run->io.size);
	}
}

static void handle_exit(struct vcpu *vc)
{
	struct kvm_run *run = vc->run;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vc);
		break;
	case KVM_EXIT_MMIO:
		if (!virtio_mmio(vc->vm, run->mmio.phys_addr, run->mmio.data, run->mmio.len,
				 run->mmio.is_write) && !run->mmio.is_write)
			memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
		break;
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		vm_exit_event(vc->vm, VM_EXIT_POWEROFF, "the guest powered off or reset");
		break;
	case KVM_EXIT_SHUTDOWN:
		vc->dead = true;
		vm_exit_event(vc->vm, VM_EXIT_CRASH, "vCPU %d: triple fault (shutdown)", vc->id);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vc->dead = true;
		vm_exit_event(vc->vm, VM_EXIT_CRASH, "vCPU %d: KVM internal error %u", vc->id,
			      run->internal.suberror);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vc->dead = true;
		vm_exit_event(vc->vm, VM_EXIT_CRASH, "vCPU %d: VM entry failed (0x%llx)", vc->id,
			      (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		vc->dead = true;
		vm_exit_event(vc->vm, VM_EXIT_CRASH, "vCPU %d: unexpected exit %u", vc->id,
			      run->exit_reason);
	}
}

/* With vm->lock held: sleeps on vm->cond until @ns (now_ns()), or a wake-up. */
static void cond_wait_until(struct vm *vm, uint64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000ULL, .tv_nsec = ns % 1000000000ULL };

	pthread_cond_timedwait(&vm->cond, &vm->lock, &ts);
}

/*
 * Parks the calling vCPU while the VM is paused (or it is dead), and keeps
 * it out of the guest while throttled; false: quit.
 */
static bool vcpu_wait(struct vcpu *vc)
{
	struct vm *vm = vc->vm;
	bool go;

	pthread_mutex_lock(&vm->lock);
	while (!vm->quit) {
		if (vm->pause_req || vc->dead) {
			/* Told once: parked vCPUs do not wake each other up. */
			vm->parked++;
			pthread_cond_broadcast(&vm->cond);
			while ((vm->pause_req || vc->dead) && !vm->quit)
				pthread_cond_wait(&vm->cond, &vm->lock);
			vm->parked--;
		} else if (now_ns() < vm->throttle_until) {
			cond_wait_until(vm, vm->throttle_until);
		} else {
			break;
		}
	}
	go = !vm->quit;
	if (go)
		vc->run->immediate_exit = 0;
	pthread_mutex_unlock(&vm->lock);
	return go;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vc = arg;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (vcpu_wait(vc)) {
		if (ioctl(vc->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vc->dead = true;
			vm_exit_event(vc->vm, VM_EXIT_CRASH, "vCPU %d: KVM_RUN: %s", vc->id,
				      strerror(errno));
			continue;
		}
		handle_exit(vc);
	}
	return NULL;
}

static void kick_handler(int sig)
{
}

/* With vm->lock held: makes every vCPU leave KVM_RUN soon. */
static void kick_all(struct vm *vm)
{
	int i;

	for (i = 0; i < vm->nvcpus; i++) {
		vm->vcpus[i].run->immediate_exit = 1;
		if (vm->threads)
			pthread_kill(vm->vcpus[i].thread, KICK_SIGNAL);
	}
}

int vm_start_vcpus(struct vm *vm, bool paused, char *why)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	sigset_t set;
	int i, err;

	sigaction(KICK_SIGNAL, &sa, NULL);
	/* Only the vCPU threads take the kick signal. */
	sigemptyset(&set);
	sigaddset(&set, KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	vm->pause_req = paused;
	if (!paused) {
		vm->run_since_ns = now_ns();
		virtio_pause_all(vm, false);
	}
	for (i = 0; i < vm->nvcpus; i++) {
		err = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (err) {
			vm_stop_vcpus(vm);
			return vmm_fail(why, -err, "pthread_create: %s", strerror(err));
		}
		thread_name(vm->vcpus[i].thread, "vcpu%d", i);
		vm->threads = true;
	}
	return 0;
}

/*
 * At the start of each period, the vCPUs leave the guest (as for a pause)
 * and stay out for pct % of it; a paused VM is left alone.
 */
static void *throttle_thread(void *arg)
{
	struct vm *vm = arg;
	uint64_t next = now_ns(), now;

	pthread_mutex_lock(&vm->lock);
	while (vm->throttle_pct && !vm->quit) {
		now = now_ns();
		if (vm->pause_req) {
			pthread_cond_wait(&vm->cond, &vm->lock);
			next = now_ns();
			continue;
		}
		if (now >= next) {
			if (now - next > THROTTLE_PERIOD_NS)
				next = now;	/* late: no catching up */
			vm->throttle_until = next + THROTTLE_PERIOD_NS * vm->throttle_pct / 100;
			kick_all(vm);
			next += THROTTLE_PERIOD_NS;
		}
		cond_wait_until(vm, next);
	}
	vm->throttle_until = 0;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	return NULL;
}

int vm_set_throttle(struct vm *vm, unsigned int pct)
{
	bool stop;
	int err = 0;

	if (pct > 99)
		pct = 99;
	pthread_mutex_lock(&vm->lock);
	vm->throttle_pct = pct;
	stop = !pct && vm->throttling;
	if (pct && !vm->throttling && vm->threads) {
		err = pthread_create(&vm->throttle_thread, NULL, throttle_thread, vm);
		vm->throttling = !err;
		if (!err)
			thread_name(vm->throttle_thread, "throttle");
	}
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	if (stop) {
		pthread_join(vm->throttle_thread, NULL);
		vm->throttling = false;
	}
	return -err;
}

bool vm_is_paused(struct vm *vm)
{
	return vm->pause_req;
}

uint64_t vm_uptime_ns(struct vm *vm)
{
	return vm->uptime_base_ns + (vm->pause_req ? 0 : now_ns() - vm->run_since_ns);
}

void vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	if (!vm->pause_req) {
		vm->pause_req = true;
		vm->uptime_base_ns += now_ns() - vm->run_since_ns;
	}
	kick_all(vm);
	pthread_cond_broadcast(&vm->cond);	/* throttled vCPUs park now */
	while (vm->threads && vm->parked < vm->nvcpus)
		pthread_cond_wait(&vm->cond, &vm->lock);
	pthread_mutex_unlock(&vm->lock);
	/* The devices stop touching guest memory too. */
	virtio_pause_all(vm, true);
}

void vm_resume(struct vm *vm)
{
	virtio_pause_all(vm, false);
	pthread_mutex_lock(&vm->lock);
	if (vm->pause_req) {
		vm->pause_req = false;
		vm->run_since_ns = now_ns();
		pthread_cond_broadcast(&vm->cond);
	}
	pthread_mutex_unlock(&vm->lock);
}

void vm_stop_vcpus(struct vm *vm)
{
	int i;

	if (!vm->threads)
		return;
	pthread_mutex_lock(&vm->lock);
	vm->quit = true;
	kick_all(vm);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	for (i = 0; i < vm->nvcpus; i++)
		pthread_join(vm->vcpus[i].thread, NULL);
	if (vm->throttling)
		pthread_join(vm->throttle_thread, NULL);
	vm->throttling = false;
	vm->threads = false;
}

void vm_destroy(struct vm *vm)
{
	int i;

	vm_stop_vcpus(vm);
	virtio_destroy_all(vm);
	free(vm->vmm_dirty);
	for (i = 0; i < vm->nvcpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->run_size);
		close(vm->vcpus[i].fd);
	}
	if (vm->mem)
		munmap(vm->mem, vm->mem_size);
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->event_fd >= 0)
		close(vm->event_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
}
