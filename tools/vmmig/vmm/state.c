// SPDX-License-Identifier: GPL-2.0
/*
 * Save and restore of the whole VM as a vmstate stream: the definition,
 * memory (zero pages and holes left out), every vCPU, the in-kernel irqchip,
 * PIT and clock, the UART and the virtio devices. Sections are written in the order restore
 * applies them; Documentation/design/vm-state.rst explains the order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "diskcopy.h"
#include "stream.h"
#include "vmm.h"

#define PAGE		4096ULL
#define CHUNK		(VMSTATE_CHUNK_PAGES * PAGE)
#define MAX_MSRS	1024
#define MSR_IA32_TSC	0x10

/* vCPU state that is one fixed-size struct with a get and a set ioctl. */
static const struct vcpu_item {
	uint32_t type;
	unsigned long get, set;
	size_t size;
	const char *name;
} vcpu_items[] = {
	{ VMSTATE_VCPU_REGS, KVM_GET_REGS, KVM_SET_REGS, sizeof(struct kvm_regs), "REGS" },
	{ VMSTATE_VCPU_XCRS, KVM_GET_XCRS, KVM_SET_XCRS, sizeof(struct kvm_xcrs), "XCRS" },
	{ VMSTATE_VCPU_SREGS, KVM_GET_SREGS, KVM_SET_SREGS, sizeof(struct kvm_sregs), "SREGS" },
	{ VMSTATE_VCPU_MP_STATE, KVM_GET_MP_STATE, KVM_SET_MP_STATE,
	  sizeof(struct kvm_mp_state), "MP_STATE" },
	{ VMSTATE_VCPU_LAPIC, KVM_GET_LAPIC, KVM_SET_LAPIC, sizeof(struct kvm_lapic_state), "LAPIC" },
	{ VMSTATE_VCPU_EVENTS, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
	  sizeof(struct kvm_vcpu_events), "VCPU_EVENTS" },
	{ VMSTATE_VCPU_DEBUGREGS, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS,
	  sizeof(struct kvm_debugregs), "DEBUGREGS" },
	{ VMSTATE_VCPU_FPU, KVM_GET_FPU, KVM_SET_FPU, sizeof(struct kvm_fpu), "FPU" },
};

static const struct vcpu_item *find_item(uint32_t type)
{
	size_t i;

	for (i = 0; i < sizeof(vcpu_items) / sizeof(vcpu_items[0]); i++)
		if (vcpu_items[i].type == type)
			return &vcpu_items[i];
	return NULL;
}

/* The next offset at or after @off that may hold data, or mem_size. */
static uint64_t next_data(struct vm *vm, uint64_t off)
{
	off_t d = lseek(vm->mem_fd, off, SEEK_DATA);

	if (d < 0)
		return errno == ENXIO ? vm->mem_size : off;
	return (uint64_t)d < vm->mem_size ? (uint64_t)d : vm->mem_size;
}

static int save_chunk(struct vm *vm, struct vmstate_writer *w, uint64_t off, uint8_t *buf)
{
	struct vmstate_mem_chunk c = { .gpa = mem_offset_to_gpa(off) };
	uint64_t n = (vm->mem_size - off) / PAGE, used = 0, i;

	c.pages = n < VMSTATE_CHUNK_PAGES ? n : VMSTATE_CHUNK_PAGES;
	for (i = 0; i < c.pages; i++) {
		const uint8_t *p = vm->mem + off + i * PAGE;

		if (vmstate_page_zero(p))
			continue;
		c.present[i / 8] |= 1 << (i % 8);
		memcpy(buf + used, p, PAGE);
		used += PAGE;
	}
	if (!used)
		return 0;
	return vmstate_put(w, VMSTATE_MEMORY, 0, &c, sizeof(c), buf, used);
}

uint64_t vm_data_pages(struct vm *vm)
{
	uint64_t off = 0, end, pages = 0;
	off_t h;

	while ((off = next_data(vm, off)) < vm->mem_size) {
		h = lseek(vm->mem_fd, off, SEEK_HOLE);
		end = h < 0 || (uint64_t)h > vm->mem_size ? vm->mem_size : (uint64_t)h;
		if (end <= off)
			break;
		pages += (end - off + PAGE - 1) / PAGE;
		off = end;
	}
	return pages;
}

/*
 * Every page that is not zero; the vCPUs may run (live save). @tick (if
 * set) hears after each chunk how far into memory the copy is.
 */
int vm_save_memory(struct vm *vm, struct vmstate_writer *w, void (*tick)(void *ctx, uint64_t off),
		   void *ctx)
{
	uint8_t *buf = malloc(CHUNK);
	uint64_t off = 0;
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (!err && (off = next_data(vm, off)) < vm->mem_size) {
		off &= ~(CHUNK - 1);
		/* Chunks never straddle the 3 GiB hole: it is chunk-aligned. */
		err = save_chunk(vm, w, off, buf);
		off += CHUNK;
		if (tick)
			tick(ctx, off);
	}
	free(buf);
	return err;
}

static int save_msrs(struct vcpu *vc, struct vmstate_writer *w, struct kvm_msr_list *list,
		     char *why)
{
	struct kvm_msrs *m = calloc(1, sizeof(*m) + list->nmsrs * sizeof(m->entries[0]));
	struct vmstate_msr *out = calloc(list->nmsrs ? list->nmsrs : 1, sizeof(*out));
	uint32_t i, n = 0;
	int r, err = 0;

	if (!m || !out) {
		err = vmm_fail(why, -ENOMEM, "out of memory");
		goto out;
	}
	/* KVM stops at the first MSR it cannot read: skip it and go on. */
	for (i = 0; i < list->nmsrs; i++) {
		m->nmsrs = 1;
		m->entries[0] = (struct kvm_msr_entry){ .index = list->indices[i] };
		r = ioctl(vc->fd, KVM_GET_MSRS, m);
		if (r == 1)
			out[n++] = (struct vmstate_msr){ .index = list->indices[i],
							 .data = m->entries[0].data };
	}
	err = vmstate_put(w, VMSTATE_VCPU_MSRS, vc->id, out, n * sizeof(*out), NULL, 0);
	if (err)
		vmm_fail(why, err, "write: %s", strerror(-err));
out:
	free(m);
	free(out);
	return err;
}

static int save_item(struct vcpu *vc, struct vmstate_writer *w, const struct vcpu_item *it,
		     char *why)
{
	uint8_t buf[8192];
	int err;

	if (ioctl(vc->fd, it->get, buf))
		return vmm_fail(why, -errno, "vCPU %d: KVM_GET_%s: %s", vc->id, it->name,
				strerror(errno));
	err = vmstate_put(w, it->type, vc->id, buf, it->size, NULL, 0);
	return err ? vmm_fail(why, err, "write: %s", strerror(-err)) : 0;
}

static int save_xsave(struct vcpu *vc, struct vmstate_writer *w, char *why)
{
	size_t size = vc->vm->xsave_size;
	void *buf = calloc(1, size);
	unsigned long op = size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE;
	int err;

	if (!buf)
		return vmm_fail(why, -ENOMEM, "out of memory");
	if (ioctl(vc->fd, op, buf))
		err = vmm_fail(why, -errno, "vCPU %d: KVM_GET_XSAVE: %s", vc->id, strerror(errno));
	else
		err = vmstate_put(w, VMSTATE_VCPU_XSAVE, vc->id, buf, size, NULL, 0);
	free(buf);
	return err;
}

static int save_vcpu(struct vcpu *vc, struct vmstate_writer *w, struct kvm_msr_list *msrs,
		     char *why)
{
	bool xsave = vc->vm->xsave_size;
	int err;

	/* Restore applies them in this order (as QEMU does): regs, FPU, XCRs,
	 * sregs, MSRs, MP state, LAPIC (after APIC_BASE), events, debugregs. */
	err = save_item(vc, w, find_item(VMSTATE_VCPU_REGS), why);
	if (!err)
		err = xsave ? save_xsave(vc, w, why) :
			      save_item(vc, w, find_item(VMSTATE_VCPU_FPU), why);
	if (!err && xsave)
		err = save_item(vc, w, find_item(VMSTATE_VCPU_XCRS), why);
	if (!err)
		err = save_item(vc, w, find_item(VMSTATE_VCPU_SREGS), why);
	if (!err)
		err = save_msrs(vc, w, msrs, why);
	if (!err)
		err = save_item(vc, w, find_item(VMSTATE_VCPU_MP_STATE), why);
	if (!err)
		err = save_item(vc, w, find_item(VMSTATE_VCPU_LAPIC), why);
	if (!err)
		err = save_item(vc, w, find_item(VMSTATE_VCPU_EVENTS), why);
	if (!err)
		err = save_item(vc, w, find_item(VMSTATE_VCPU_DEBUGREGS), why);
	return err;
}

static int save_irqchip(struct vm *vm, struct vmstate_writer *w, char *why)
{
	struct kvm_irqchip chip;
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	int i, err = 0;

	for (i = 0; !err && i < 3; i++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = i;
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip))
			return vmm_fail(why, -errno, "KVM_GET_IRQCHIP: %s", strerror(errno));
		err = i < 2 ? vmstate_put(w, VMSTATE_PIC, i, &chip.chip.pic,
					  sizeof(chip.chip.pic), NULL, 0) :
			      vmstate_put(w, VMSTATE_IOAPIC, 0, &chip.chip.ioapic,
					  sizeof(chip.chip.ioapic), NULL, 0);
	}
	if (err)
		return err;
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &pit))
		return vmm_fail(why, -errno, "KVM_GET_PIT2: %s", strerror(errno));
	err = vmstate_put(w, VMSTATE_PIT, 0, &pit, sizeof(pit), NULL, 0);
	if (err)
		return err;
	memset(&clock, 0, sizeof(clock));
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &clock))
		return vmm_fail(why, -errno, "KVM_GET_CLOCK: %s", strerror(errno));
	/* KVM gives the wall clock with kvmclock only on a TSC clocksource. */
	if (!(clock.flags & KVM_CLOCK_REALTIME)) {
		clock.realtime = realtime_ns();
		clock.flags |= KVM_CLOCK_REALTIME;
	}
	return vmstate_put(w, VMSTATE_CLOCK, 0, &clock, sizeof(clock), NULL, 0);
}

static struct kvm_msr_list *msr_list(struct vm *vm, char *why)
{
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + MAX_MSRS * sizeof(l->indices[0]));

	if (!l)
		return NULL;
	l->nmsrs = MAX_MSRS;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, l)) {
		vmm_fail(why, -errno, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
		free(l);
		return NULL;
	}
	return l;
}

static int save_info(struct vm *vm, struct vmstate_writer *w)
{
	struct vmstate_vm_info info = {
		.memory = vm->mem_size, .vcpus = vm->nvcpus, .tsc_khz = vm->tsc_khz,
		.uptime_ns = vm_uptime_ns(vm),
	};

	return vmstate_put(w, VMSTATE_VM_INFO, 0, &info, sizeof(info), NULL, 0);
}

/* The definition and the VM's size, after the stream's header. */
int vm_save_head(struct vm *vm, struct vmstate_writer *w)
{
	struct json_object *def = vmdef_to_json(&vm->def);
	const char *text = json_object_to_json_string_ext(def, JSON_C_TO_STRING_PLAIN);
	int err;

	err = vmstate_put(w, VMSTATE_DEFINITION, 0, text, strlen(text), NULL, 0);
	if (!err)
		err = save_info(vm, w);
	json_object_put(def);
	return err;
}

/*
 * What follows memory, the VM paused: vCPUs, irqchip, PIT, clock, UART, and
 * the end. @info repeats vm-info, whose run time has moved on since the head.
 */
int vm_save_tail(struct vm *vm, struct vmstate_writer *w, bool info, char *why)
{
	struct kvm_msr_list *msrs = msr_list(vm, why);
	int i, err;

	err = msrs ? 0 : -EIO;
	if (!err && info)
		err = save_info(vm, w);
	for (i = 0; !err && i < vm->nvcpus; i++)
		err = save_vcpu(&vm->vcpus[i], w, msrs, why);
	if (!err)
		err = save_irqchip(vm, w, why);
	if (!err) {
		struct vmstate_uart u;

		uart_save(&vm->uart, &u);
		err = vmstate_put(w, VMSTATE_UART, 0, &u, sizeof(u), NULL, 0);
	}
	if (!err)
		err = virtio_save(vm, w);
	if (!err && !vm->def.workload) {
		struct vmstate_acpi a;

		acpi_save(vm, &a);
		err = vmstate_put(w, VMSTATE_ACPI, 0, &a, sizeof(a), NULL, 0);
	}
	if (!err)
		err = vmstate_finish(w);
	if (err && !*why)
		vmm_fail(why, err, "write: %s", strerror(-err));
	free(msrs);
	return err;
}

int vm_save(struct vm *vm, int fd, char *why)
{
	struct vmstate_writer w;
	int err;

	err = vmstate_begin(&w, fd);
	if (!err)
		err = vm_save_head(vm, &w);
	if (!err)
		err = vm_save_memory(vm, &w, NULL, NULL);
	if (err)
		return vmm_fail(why, err, "write: %s", strerror(-err));
	return vm_save_tail(vm, &w, false, why);
}

/* Restore: one function per kind of section. */

static int restore_info(struct vm *vm, const struct vmstate_section *s, char *why)
{
	struct vmstate_vm_info info;
	int i;

	if (s->len != sizeof(info))
		return vmm_fail(why, -EBADMSG, "vm-info section has the wrong size");
	memcpy(&info, s->data, sizeof(info));
	if (info.memory != vm->mem_size || info.vcpus != (uint32_t)vm->nvcpus)
		return vmm_fail(why, -EINVAL, "the state has %u vCPUs and %llu bytes of memory, the VM %d and %llu",
				info.vcpus, (unsigned long long)info.memory, vm->nvcpus,
				(unsigned long long)vm->mem_size);
	vm->uptime_base_ns = info.uptime_ns;
	if (info.tsc_khz == vm->tsc_khz)
		return 0;
	/* Another host: the guest keeps the TSC frequency it started with. */
	for (i = 0; i < vm->nvcpus; i++)
		if (ioctl(vm->vcpus[i].fd, KVM_SET_TSC_KHZ, info.tsc_khz))
			return vmm_fail(why, -errno, "cannot give the guest its TSC frequency of %u kHz (this host: %u kHz): %s",
					info.tsc_khz, vm->tsc_khz, strerror(errno));
	vm->tsc_khz = info.tsc_khz;
	return 0;
}

/*
 * @n pages at @dst (guest memory at memfd offset @dst - vm->mem): zero, or
 * from @src. Through the memfd where it takes them: a hole punched for zero
 * pages (a page never touched stays unallocated), pwrite(2) for data (a
 * page that is written whole is not cleared first, as a fault on the
 * mapping would clear it). Huge pages take neither: memset and memcpy.
 */
static int restore_run(struct vm *vm, uint8_t *dst, uint64_t n, const uint8_t *src, char *why)
{
	uint64_t off = dst - vm->mem, len = n * PAGE;
	ssize_t r;

	if (!src) {
		if (vm->def.hugepages ||
		    fallocate(vm->mem_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
			memset(dst, 0, len);
		return 0;
	}
	if (vm->def.hugepages) {
		memcpy(dst, src, len);
		return 0;
	}
	while (len) {
		r = pwrite(vm->mem_fd, src, len, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return vmm_fail(why, r ? -errno : -EIO, "guest memory at 0x%llx: %s",
					(unsigned long long)mem_offset_to_gpa(off),
					r ? strerror(errno) : "short write");
		src += r;
		off += r;
		len -= r;
	}
	return 0;
}

static int restore_memory(struct vm *vm, const struct vmstate_section *s, char *why)
{
	struct vmstate_mem_chunk c;
	const uint8_t *src = (const uint8_t *)s->data + sizeof(c);
	uint64_t used, i, n;
	uint8_t *dst;
	bool zero;
	int err;

	if (s->len < sizeof(c))
		return vmm_fail(why, -EBADMSG, "memory section too short");
	memcpy(&c, s->data, sizeof(c));
	zero = c.flags == VMSTATE_CHUNK_ZERO;
	if (c.pages > VMSTATE_CHUNK_PAGES || (c.gpa & (PAGE - 1)) ||
	    !(dst = gpa_to_hva(vm, c.gpa, c.pages * PAGE)))
		return vmm_fail(why, -EBADMSG, "memory section at 0x%llx is outside the VM",
				(unsigned long long)c.gpa);
	used = zero ? 0 : vmstate_chunk_present(&c) * PAGE;
	if ((c.flags && !zero) || s->len != sizeof(c) + used)
		return vmm_fail(why, -EBADMSG, "memory section at 0x%llx has the wrong size",
				(unsigned long long)c.gpa);
	/* Runs of present pages, each in one call. */
	for (i = 0; i < c.pages; i += n) {
		for (n = 0; i + n < c.pages && (c.present[(i + n) / 8] & (1 << ((i + n) % 8)));)
			n++;
		if (!n) {
			n = 1;
			continue;
		}
		err = restore_run(vm, dst + i * PAGE, n, zero ? NULL : src, why);
		if (err)
			return err;
		if (!zero)
			src += n * PAGE;
	}
	return 0;
}

/*
 * KVM's wall clock MSRs are commands more than state: a write makes KVM
 * store the host's wall clock at that guest address, there and then. The
 * guest writes them whenever it wants the time (Linux: kvm_get_wallclock()),
 * so restore skips them and guest memory stays exactly as it was saved.
 */
static bool msr_restored(uint32_t index)
{
	return index != 0x11 && index != 0x4b564d00;	/* MSR_KVM_WALL_CLOCK(_NEW) */
}

static int restore_msrs(struct vcpu *vc, const struct vmstate_section *s, char *why)
{
	uint32_t n = s->len / sizeof(struct vmstate_msr), i, *from;
	const struct vmstate_msr *in = s->data;
	struct kvm_msrs *m;
	int r;

	if (s->len % sizeof(struct vmstate_msr) || n > MAX_MSRS)
		return vmm_fail(why, -EBADMSG, "vcpu-msrs section has the wrong size");
	m = calloc(1, sizeof(*m) + n * sizeof(m->entries[0]));
	from = calloc(n + 1, sizeof(*from));
	if (!m || !from) {
		free(m);
		free(from);
		return vmm_fail(why, -ENOMEM, "out of memory");
	}
	for (i = 0; i < n; i++) {
		if (in[i].index == MSR_IA32_TSC) {
			vc->saved_tsc = in[i].data;
			vc->has_saved_tsc = true;
		}
		if (msr_restored(in[i].index)) {
			from[m->nmsrs] = i;
			m->entries[m->nmsrs++] = (struct kvm_msr_entry){ .index = in[i].index,
									 .data = in[i].data };
		}
	}
	r = ioctl(vc->fd, KVM_SET_MSRS, m);
	if (r < 0)
		r = vmm_fail(why, -errno, "vCPU %d: KVM_SET_MSRS: %s", vc->id, strerror(errno));
	else if ((uint32_t)r != m->nmsrs)
		r = vmm_fail(why, -EINVAL, "vCPU %d: KVM refused MSR 0x%x = 0x%llx", vc->id,
			     in[from[r]].index, (unsigned long long)in[from[r]].data);
	else
		r = 0;
	free(m);
	free(from);
	return r;
}

static int restore_vcpu(struct vm *vm, const struct vmstate_section *s, char *why)
{
	const struct vcpu_item *it = find_item(s->type);
	struct vcpu *vc;
	unsigned long op;

	if (s->instance >= vm->nvcpus)
		return vmm_fail(why, -EBADMSG, "%s section for vCPU %u, the VM has %d",
				vmstate_type_name(s->type), s->instance, vm->nvcpus);
	vc = &vm->vcpus[s->instance];
	if (s->type == VMSTATE_VCPU_MSRS)
		return restore_msrs(vc, s, why);
	if (s->type == VMSTATE_VCPU_XSAVE) {
		if (s->len != vm->xsave_size)
			return vmm_fail(why, -EINVAL, "XSAVE state of %llu bytes, KVM here uses %zu",
					(unsigned long long)s->len, vm->xsave_size);
		op = KVM_SET_XSAVE;
	} else {
		if (s->len != it->size)
			return vmm_fail(why, -EBADMSG, "%s section has the wrong size",
					vmstate_type_name(s->type));
		op = it->set;
	}
	if (ioctl(vc->fd, op, s->data))
		return vmm_fail(why, -errno, "vCPU %d: restoring %s: %s", vc->id,
				vmstate_type_name(s->type), strerror(errno));
	return 0;
}

/* The guest TSC of @vc moved by @delta, through its offset (KVM_VCPU_TSC_OFFSET). */
static int tsc_move(struct vcpu *vc, uint64_t delta, char *why)
{
	uint64_t ofs = 0;
	struct kvm_device_attr a = {
		.group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET, .addr = (uintptr_t)&ofs,
	};

	if (ioctl(vc->fd, KVM_GET_DEVICE_ATTR, &a))
		return vmm_fail(why, -errno, "vCPU %d: KVM_VCPU_TSC_OFFSET: %s", vc->id,
				strerror(errno));
	ofs += delta;
	if (ioctl(vc->fd, KVM_SET_DEVICE_ATTR, &a))
		return vmm_fail(why, -errno, "vCPU %d: cannot advance its TSC: %s", vc->id,
				strerror(errno));
	return 0;
}

/* The guest TSC of @vc now. */
static int tsc_now(struct vcpu *vc, uint64_t *tsc, char *why)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = { .h.nmsrs = 1, .e.index = MSR_IA32_TSC };

	if (ioctl(vc->fd, KVM_GET_MSRS, &m) != 1)
		return vmm_fail(why, -EIO, "vCPU %d: cannot read its TSC", vc->id);
	*tsc = m.e.data;
	return 0;
}

/*
 * From a file, the guest's clocks resume where they stopped. In a live move
 * they count the time the guest was away, as KVM's own recipe for the TSC
 * (Documentation/virt/kvm/devices/vcpu.rst, KVM_VCPU_TSC_OFFSET): kvmclock
 * and every vCPU's TSC advance by the wall-clock time since the source read
 * them, at most the time this VMM has been receiving (the source's and this
 * host's wall clocks must agree, NTP). The clock section comes after the
 * vCPUs' MSRs, so their TSCs are known here. The TSC moves through its
 * offset, by one delta for all vCPUs: a write of IA32_TSC within a second
 * of what KVM expects is taken for a synchronisation of the vCPUs and left
 * out, and vCPUs whose offsets differ lose KVM's stable kvmclock.
 */
static int restore_clock(struct vm *vm, struct kvm_clock_data *clock, char *why)
{
	uint64_t away = 0, now = realtime_ns(), tsc = 0, delta;
	struct vcpu *v0 = NULL;
	int i, err = 0;

	if (vm->clock_runs_on && (clock->flags & KVM_CLOCK_REALTIME) && now > clock->realtime)
		away = now - clock->realtime;
	if (away > now_ns() - vm->restore_start_ns)
		away = now_ns() - vm->restore_start_ns;
	clock->clock += away;
	clock->flags = 0;
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, clock))
		return vmm_fail(why, -errno, "restoring the clock: %s", strerror(errno));
	for (i = 0; i < vm->nvcpus && !v0; i++)
		if (vm->vcpus[i].has_saved_tsc)
			v0 = &vm->vcpus[i];
	if (!away || !v0)
		return 0;
	err = tsc_now(v0, &tsc, why);
	delta = v0->saved_tsc + (uint64_t)((unsigned __int128)away * vm->tsc_khz / 1000000) - tsc;
	for (i = 0; i < vm->nvcpus && !err; i++)
		if (vm->vcpus[i].has_saved_tsc)
			err = tsc_move(&vm->vcpus[i], delta, why);
	return err;
}

static int restore_vm_item(struct vm *vm, const struct vmstate_section *s, char *why)
{
	struct kvm_irqchip chip = { .chip_id = s->type == VMSTATE_IOAPIC ? 2 : s->instance };
	size_t want = s->type == VMSTATE_PIC ? sizeof(chip.chip.pic) :
		      s->type == VMSTATE_IOAPIC ? sizeof(chip.chip.ioapic) :
		      s->type == VMSTATE_PIT ? sizeof(struct kvm_pit_state2) :
		      sizeof(struct kvm_clock_data);
	struct kvm_clock_data clock;
	int r;

	if (s->len != want || (s->type == VMSTATE_PIC && s->instance > 1))
		return vmm_fail(why, -EBADMSG, "%s section has the wrong size",
				vmstate_type_name(s->type));
	if (s->type == VMSTATE_PIT) {
		r = ioctl(vm->vm_fd, KVM_SET_PIT2, s->data);
	} else if (s->type == VMSTATE_CLOCK) {
		memcpy(&clock, s->data, sizeof(clock));
		return restore_clock(vm, &clock, why);
	} else {
		memcpy(&chip.chip, s->data, want);
		r = ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip);
	}
	if (r)
		return vmm_fail(why, -errno, "restoring %s: %s", vmstate_type_name(s->type),
				strerror(errno));
	return 0;
}

/*
 * vm.json was made from this definition, or is the VM's own; a state of
 * another VM (another UUID) is refused. Version 1 had no UUID.
 */
static int restore_definition(struct vm *vm, const struct vmstate_section *s, char *why)
{
	char *text = strndup(s->data, s->len), a[VMDEF_UUID_STRLEN], b[VMDEF_UUID_STRLEN];
	struct json_object *o = text ? json_tokener_parse(text) : NULL;
	struct vmdef d;
	int err;

	free(text);
	if (!o)
		return vmm_fail(why, -EBADMSG, "the definition is not JSON");
	err = vmdef_from_json(&d, o, why);
	json_object_put(o);
	if (!err && vmdef_has_uuid(&d) && memcmp(d.uuid, vm->def.uuid, sizeof(d.uuid)))
		err = vmm_fail(why, -EINVAL, "the state is of VM %s, uuid %s, not of this VM (uuid %s)",
			       d.name, vmdef_uuid_str(d.uuid, a), vmdef_uuid_str(vm->def.uuid, b));
	vmdef_free(&d);
	return err;
}

static int restore_section(struct vm *vm, const struct vmstate_section *s, char *why)
{
	switch (s->type) {
	case VMSTATE_DEFINITION:
		return restore_definition(vm, s, why);
	case VMSTATE_VM_INFO:
		return restore_info(vm, s, why);
	case VMSTATE_MEMORY:
		return restore_memory(vm, s, why);
	case VMSTATE_DISK:
		return vm_disk_restore(vm, s, why);
	case VMSTATE_PIC:
	case VMSTATE_IOAPIC:
	case VMSTATE_PIT:
	case VMSTATE_CLOCK:
		return restore_vm_item(vm, s, why);
	case VMSTATE_UART:
		return uart_restore(vm, s, why);
	case VMSTATE_VIRTIO:
		return virtio_restore(vm, s, why);
	case VMSTATE_ACPI:
		if (s->len != sizeof(struct vmstate_acpi))
			return vmm_fail(why, -EBADMSG, "acpi section has the wrong size");
		acpi_restore(vm, s->data);
		return 0;
	default:
		if (s->type >= VMSTATE_VCPU_REGS && s->type <= VMSTATE_VCPU_FPU)
			return restore_vcpu(vm, s, why);
		return vmm_fail(why, -EPROTONOSUPPORT, "cannot restore a %s section",
				vmstate_type_name(s->type));
	}
}

/*
 * Streams 1..N-1 carry memory only, which their threads write straight into
 * guest memory while stream 0 applies the rest: KVM's SET ioctls do not read
 * guest memory, and the VM runs only after every stream reached its end.
 */
int vm_restore_one(void *ctx, unsigned int stream, const struct vmstate_section *s, char *why)
{
	return restore_section(ctx, s, why);
}

int vm_restore(struct vm *vm, int fd, char *why)
{
	return mig_rx_run(&fd, 1, vm_restore_one, vm, why);
}

uint64_t vm_memory_hash(struct vm *vm)
{
	uint64_t h = 0xcbf29ce484222325ULL, off = 0, end, p;

	while ((off = next_data(vm, off)) < vm->mem_size) {
		off &= ~(CHUNK - 1);
		end = off + CHUNK < vm->mem_size ? off + CHUNK : vm->mem_size;
		for (p = off; p < end; p += PAGE) {
			if (vmstate_page_zero(vm->mem + p))
				continue;
			h = (h ^ (p / PAGE)) * 0x100000001b3ULL;
			h = (h ^ crc32c(0, vm->mem + p, PAGE)) * 0x100000001b3ULL;
		}
		off = end;
	}
	return h;
}
