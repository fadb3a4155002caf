// SPDX-License-Identifier: GPL-2.0
/*
 * Booting a Linux kernel: the x86 64-bit boot protocol
 * (Documentation/arch/x86/boot.rst in the kernel tree). The VMM does what a
 * boot loader would: loads the protected-mode part of a bzImage at 1 MiB, the
 * initrd at the top of low memory, fills the zero page (setup header, command
 * line, e820 map), writes an MP table and ACPI tables (acpi.c) so that Linux
 * finds the IOAPIC and every vCPU, and starts vCPU 0 in 64-bit mode at
 * startup_64. The other vCPUs wait for INIT/SIPI in the in-kernel LAPIC.
 *
 * Guest physical layout (below 1 MiB; Linux keeps that range for itself):
 *
 *   0x1000   GDT, 0x2000-0x7fff identity page tables (as for the workload)
 *   0x9000   the zero page (struct boot_params)
 *   0x20000  the command line (with acpi=off, " virtio_mmio.device=..." added)
 *   0x9fc00  the MP floating pointer and table (e820: reserved)
 *   0xe0000  the ACPI tables, RSDP first (e820: reserved)
 *   0x100000 the kernel; the initrd ends at the top of RAM below 3 GiB
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "vmm.h"

#define ZERO_PAGE	0x9000ULL
#define CMDLINE		0x20000ULL
#define CMDLINE_MAX	0x10000U
#define MPTABLE		0x9fc00ULL
#define KERNEL_LOAD	0x100000ULL
#define LOW_RAM_END	0x9fc00ULL

/* Offsets into the zero page and its setup header. */
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_SETUP_SECTS		0x1f1
#define BP_VID_MODE		0x1fa
#define BP_BOOT_FLAG		0x1fe
#define BP_JUMP			0x200
#define BP_HEADER		0x202
#define BP_VERSION		0x206
#define BP_TYPE_OF_LOADER	0x210
#define BP_LOADFLAGS		0x211
#define BP_RAMDISK_IMAGE	0x218
#define BP_RAMDISK_SIZE		0x21c
#define BP_HEAP_END_PTR		0x224
#define BP_CMD_LINE_PTR		0x228
#define BP_INITRD_ADDR_MAX	0x22c
#define BP_XLOADFLAGS		0x236
#define BP_CMDLINE_SIZE		0x238
#define BP_E820_TABLE		0x2d0
#define E820_MAX		128

#define LOADED_HIGH	0x01
#define CAN_USE_HEAP	0x80
#define XLF_KERNEL_64	0x01
#define E820_RAM	1
#define E820_RESERVED	2

static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static int read_whole(const char *what, const char *path, uint8_t **buf, size_t *len,
		      char *why)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vmm_fail(why, -errno, "%s %s: %s", what, path, strerror(errno));
	if (fstat(fd, &st)) {
		err = vmm_fail(why, -errno, "%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	*len = st.st_size;
	*buf = malloc(*len ? *len : 1);
	if (!*buf) {
		err = vmm_fail(why, -ENOMEM, "%s %s: out of memory", what, path);
		goto out;
	}
	while (got < *len) {
		n = read(fd, *buf + got, *len - got);
		if (n <= 0) {
			err = vmm_fail(why, n ? -errno : -EIO, "%s %s: %s", what, path,
				       n ? strerror(errno) : "short read");
			free(*buf);
			*buf = NULL;
			goto out;
		}
		got += n;
	}
out:
	close(fd);
	return err;
}

static void e820_add(uint8_t *bp, uint64_t addr, uint64_t size, uint32_t type)
{
	uint8_t n = bp[BP_E820_ENTRIES], *e = bp + BP_E820_TABLE + n * 20;

	if (n >= E820_MAX || !size)
		return;
	put64(e, addr);
	put64(e + 8, size);
	put32(e + 16, type);
	bp[BP_E820_ENTRIES] = n + 1;
}

static void e820_map(struct vm *vm, uint8_t *bp)
{
	uint64_t low = vm->mem_size < MEM_HOLE_START ? vm->mem_size : MEM_HOLE_START;

	e820_add(bp, 0, LOW_RAM_END, E820_RAM);
	e820_add(bp, LOW_RAM_END, KERNEL_LOAD - LOW_RAM_END, E820_RESERVED);
	e820_add(bp, KERNEL_LOAD, low - KERNEL_LOAD, E820_RAM);
	if (vm->mem_size > MEM_HOLE_START)
		e820_add(bp, MEM_HOLE_END, vm->mem_size - MEM_HOLE_START, E820_RAM);
}

/*
 * An Intel MultiProcessor Specification 1.4 table: one processor entry per
 * vCPU, an ISA bus, the IOAPIC with ISA IRQ n on pin n (KVM's default
 * routing), ExtINT on LINT0 and NMI on LINT1.
 */
static int mp_table(struct vm *vm, char *why)
{
	size_t len = 16 + 44 + vm->nvcpus * 20 + 8 + 8 + 16 * 8 + 2 * 8;
	uint8_t *fp = gpa_to_hva(vm, MPTABLE, len), *t = fp + 16, *e;
	uint8_t ioapic_id = vm->nvcpus;
	uint16_t count = 0;
	int i;

	if (!fp || len > KERNEL_LOAD - MPTABLE)
		return vmm_fail(why, -E2BIG, "too many vCPUs for the MP table");
	memset(fp, 0, len);
	memcpy(fp, "_MP_", 4);
	put32(fp + 4, MPTABLE + 16);
	fp[8] = 1;			/* length in 16-byte units */
	fp[9] = 4;			/* spec revision 1.4 */

	memcpy(t, "PCMP", 4);
	t[6] = 4;
	memcpy(t + 8, "VMMIG   ", 8);
	memcpy(t + 16, "VMMIG-VMM   ", 12);
	put32(t + 36, LAPIC_ADDR);
	e = t + 44;
	for (i = 0; i < vm->nvcpus; i++, e += 20, count++) {
		e[0] = 0;		/* processor */
		e[1] = i;		/* LAPIC ID */
		e[2] = 0x14;		/* LAPIC version */
		e[3] = 1 | (i ? 0 : 2);	/* enabled, bootstrap */
		put32(e + 4, 0x600);	/* family 6 */
		put32(e + 8, 0x201);	/* FPU, APIC */
	}
	e[0] = 1;			/* bus 0: ISA */
	memcpy(e + 2, "ISA   ", 6);
	e += 8, count++;
	e[0] = 2;			/* the IOAPIC */
	e[1] = ioapic_id;
	e[2] = 0x11;
	e[3] = 1;
	put32(e + 4, IOAPIC_ADDR);
	e += 8, count++;
	for (i = 0; i < 16; i++, e += 8, count++) {
		e[0] = 3;		/* I/O interrupt, INT, bus polarity and trigger */
		e[5] = i;
		e[6] = ioapic_id;
		e[7] = i;
	}
	e[0] = 4;			/* local interrupt: ExtINT on LINT0 of all */
	e[1] = 3;
	e[6] = 0xff;
	e += 8, count++;
	e[0] = 4;			/* NMI on LINT1 of all */
	e[1] = 1;
	e[6] = 0xff;
	e[7] = 1;
	e += 8, count++;

	put16(t + 4, e - t);
	put16(t + 34, count);
	t[7] = checksum(t, e - t);
	fp[10] = checksum(fp, 16);
	return 0;
}

/* LINT0 passes the PIC's interrupts (ExtINT), LINT1 is NMI, as firmware leaves them. */
static int lapic_lints(struct vcpu *vc, char *why)
{
	struct kvm_lapic_state l;
	uint8_t *lint0 = (uint8_t *)l.regs + 0x350, *lint1 = (uint8_t *)l.regs + 0x360;

	if (ioctl(vc->fd, KVM_GET_LAPIC, &l))
		return vmm_fail(why, -errno, "KVM_GET_LAPIC: %s", strerror(errno));
	put32(lint0, (get32(lint0) & ~0x700U) | 0x700);
	put32(lint1, (get32(lint1) & ~0x700U) | 0x400);
	if (ioctl(vc->fd, KVM_SET_LAPIC, &l))
		return vmm_fail(why, -errno, "KVM_SET_LAPIC: %s", strerror(errno));
	return 0;
}

/* The zero page: the kernel's own setup header, then what a boot loader adds. */
static int zero_page(struct vm *vm, const uint8_t *k, size_t klen, uint64_t initrd,
		     uint64_t initrd_len, char *why)
{
	uint8_t *bp = gpa_to_hva(vm, ZERO_PAGE, 4096);
	size_t hdr_end = BP_JUMP + 2 + k[BP_JUMP + 1];
	uint32_t max = get32(k + BP_CMDLINE_SIZE);
	const char *user = vm->def.cmdline ? vm->def.cmdline : "console=ttyS0";
	char cmdline[CMDLINE_MAX], devs[VIRTIO_MAX_DEVS * 48] = "";
	size_t clen;

	/*
	 * The ACPI tables announce the virtio devices; without ACPI, only the
	 * command line can (with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES).
	 */
	if (strstr(user, "acpi=off"))
		virtio_cmdline(vm, devs, sizeof(devs));
	clen = snprintf(cmdline, sizeof(cmdline), "%s%s", user, devs);

	if (hdr_end > klen || hdr_end > 0x290)
		return vmm_fail(why, -ENOEXEC, "kernel %s: bad setup header", vm->def.kernel);
	if (clen >= CMDLINE_MAX || (max && clen > max))
		return vmm_fail(why, -E2BIG, "the command line is longer than the kernel takes (%u)",
				max);
	memset(bp, 0, 4096);
	memcpy(bp + BP_SETUP_SECTS, k + BP_SETUP_SECTS, hdr_end - BP_SETUP_SECTS);
	put16(bp + BP_VID_MODE, 0xffff);	/* "normal" */
	bp[BP_TYPE_OF_LOADER] = 0xff;		/* undefined loader */
	bp[BP_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	put16(bp + BP_HEAP_END_PTR, 0xfe00);
	memcpy(gpa_to_hva(vm, CMDLINE, clen + 1), cmdline, clen + 1);
	put32(bp + BP_CMD_LINE_PTR, CMDLINE);
	put32(bp + BP_EXT_CMD_LINE_PTR, 0);
	put32(bp + BP_RAMDISK_IMAGE, initrd);
	put32(bp + BP_RAMDISK_SIZE, initrd_len);
	put32(bp + BP_EXT_RAMDISK_IMAGE, initrd >> 32);
	put32(bp + BP_EXT_RAMDISK_SIZE, initrd_len >> 32);
	e820_map(vm, bp);
	return 0;
}

static int load_initrd(struct vm *vm, const uint8_t *k, uint64_t kend, uint64_t *addr,
		       uint64_t *len, char *why)
{
	uint64_t top = vm->mem_size < MEM_HOLE_START ? vm->mem_size : MEM_HOLE_START;
	uint32_t max = get32(k + BP_INITRD_ADDR_MAX);
	uint8_t *buf;
	size_t n;
	int err;

	*addr = *len = 0;
	if (!vm->def.initrd)
		return 0;
	err = read_whole("initrd", vm->def.initrd, &buf, &n, why);
	if (err)
		return err;
	if (max && top > (uint64_t)max + 1)
		top = (uint64_t)max + 1;
	if (n + kend > top) {
		free(buf);
		return vmm_fail(why, -ENOMEM, "initrd %s does not fit in memory with the kernel",
				vm->def.initrd);
	}
	*addr = (top - n) & ~0xfffULL;
	*len = n;
	memcpy(gpa_to_hva(vm, *addr, n), buf, n);
	free(buf);
	return 0;
}

int vm_setup_linux(struct vm *vm, char *why)
{
	struct kvm_regs regs = { .rflags = 2, .rsi = ZERO_PAGE };
	uint64_t pm_off, pm_len, initrd, initrd_len;
	uint8_t *k;
	size_t klen;
	int i, err;

	err = read_whole("kernel", vm->def.kernel, &k, &klen, why);
	if (err)
		return err;
	if (klen < 0x1000 || get16(k + BP_BOOT_FLAG) != 0xaa55 ||
	    memcmp(k + BP_HEADER, "HdrS", 4)) {
		err = vmm_fail(why, -ENOEXEC, "kernel %s: not a bzImage", vm->def.kernel);
		goto out;
	}
	if (get16(k + BP_VERSION) < 0x20c || !(get16(k + BP_XLOADFLAGS) & XLF_KERNEL_64)) {
		err = vmm_fail(why, -ENOEXEC, "kernel %s: no 64-bit entry (boot protocol %#x)",
			       vm->def.kernel, get16(k + BP_VERSION));
		goto out;
	}
	pm_off = ((uint64_t)(k[BP_SETUP_SECTS] ? k[BP_SETUP_SECTS] : 4) + 1) * 512;
	pm_len = klen - pm_off;
	if (pm_off >= klen || KERNEL_LOAD + pm_len > vm->mem_size) {
		err = vmm_fail(why, -ENOMEM, "kernel %s does not fit in memory", vm->def.kernel);
		goto out;
	}
	memcpy(gpa_to_hva(vm, KERNEL_LOAD, pm_len), k + pm_off, pm_len);
	err = load_initrd(vm, k, KERNEL_LOAD + pm_len, &initrd, &initrd_len, why);
	if (!err)
		err = zero_page(vm, k, klen, initrd, initrd_len, why);
	if (!err)
		err = mp_table(vm, why);
	if (!err)
		err = acpi_tables(vm, why);
	for (i = 0; !err && i < vm->nvcpus; i++)
		err = lapic_lints(&vm->vcpus[i], why);
	if (!err)
		err = vcpu_long_mode(&vm->vcpus[0], true, why);
	regs.rip = KERNEL_LOAD + 0x200;		/* startup_64 */
	if (!err && ioctl(vm->vcpus[0].fd, KVM_SET_REGS, &regs))
		err = vmm_fail(why, -errno, "KVM_SET_REGS: %s", strerror(errno));
out:
	free(k);
	return err;
}
