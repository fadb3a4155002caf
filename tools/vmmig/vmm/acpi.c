// SPDX-License-Identifier: GPL-2.0
/*
 * ACPI for Linux guests: the tables through which Linux finds its vCPUs and
 * IOAPIC, powers off and reboots, and the I/O ports behind them: a PM1 event
 * and a PM1 control block (ACPI 6.0, section 4.8) and the reset register.
 * No PM timer or GPE; the fixed-feature power button raises the SCI (IRQ 9).
 * Not hardware-reduced: Linux drops the 8259 and the ISA IRQs on such a
 * platform, which the UART and the clock need. See
 * Documentation/design/acpi.rst.
 *
 * The tables fill the start of the BIOS area, which the e820 map reserves
 * (boot.c), each on a 64-byte boundary:
 *
 *   0xe0000  RSDP  where Linux's scan of 0xe0000-0xfffff finds it
 *   0xe0040  XSDT  -> FADT, MADT
 *            FACS  (no waking vector: there is no S3)
 *            DSDT  \_S5_, the virtio devices (virtio_acpi())
 *            FADT  -> FACS, DSDT; the PM1 blocks and the reset register
 *            MADT  a Local APIC per vCPU, the IOAPIC, the SCI's override,
 *                  NMI on LINT1
 *
 * Power-off: \_S5_ holds SLP_TYP 5; Linux writes SLP_TYP << 10 | SLP_EN to
 * PM1 control. Reboot: Linux writes 6 to the reset register, port 0xcf9 as
 * on PC chipsets, where its reboot=pci writes too.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmlog.h"
#include "vmm.h"

#define ACPI_BASE		0xe0000ULL
#define ACPI_END		0x100000ULL
#define HEADER_LEN		36

#define PM1_EVT_PORT		0x600	/* PM1 status (2 bytes), then enable (2) */
#define PM1_EVT_LEN		4
#define PM1_CNT_PORT		0x604
#define PM1_CNT_LEN		2
#define RESET_PORT		0xcf9
#define RESET_VALUE		0x06
#define RESET_CPU		0x04	/* the bit of 0xcf9 that resets */
#define SCI_IRQ			9
#define SCI_EN			0x01	/* PM1 control, low byte: always in ACPI mode */
#define SLP_TYP_S5		5
#define SLP_TYP_MASK		0x1c	/* PM1 control, high byte */
#define SLP_EN			0x20
#define PWRBTN			(1 << 8)	/* PM1 status and enable */

/* FADT fields (ACPI 6.0, table 5-34) */
#define FADT_DSDT		40
#define FADT_SCI_INT		46
#define FADT_PM1A_EVT_BLK	56
#define FADT_PM1A_CNT_BLK	64
#define FADT_PM1_EVT_LEN	88
#define FADT_PM1_CNT_LEN	89
#define FADT_BOOT_ARCH		109
#define FADT_FLAGS		112
#define FADT_RESET_REG		116
#define FADT_RESET_VALUE	128
#define FADT_X_FIRMWARE_CTRL	132
#define FADT_X_DSDT		140
#define FADT_LEN		276

#define BOOT_LEGACY_DEVICES	(1 << 0)	/* the UART and CMOS clock; no 8042 */
#define BOOT_NO_VGA		(1 << 2)
#define FADT_PWR_BUTTON		(1 << 4)	/* no fixed-feature power button */
#define FADT_SLP_BUTTON		(1 << 5)	/* nor sleep button */
#define FADT_RESET_REG_SUP	(1 << 10)

#define FACS_LEN		64
#define MADT_PCAT_COMPAT	(1 << 0)

/*
 * The DSDT's AML, assembled by hand (ACPI 6.0, chapter 20):
 * Name (_S5, Package (2) { 5, Zero }) at the root.
 */
static const uint8_t dsdt_aml[] = {
	0x08,			/* NameOp */
	'_', 'S', '5', '_',	/* NameSeg */
	0x12,			/* PackageOp */
	0x05,			/* PkgLength: these 5 bytes */
	0x02,			/* NumElements */
	0x0a, SLP_TYP_S5,	/* BytePrefix: SLP_TYP for PM1a control */
	0x00,			/* ZeroOp: for PM1b control, which there is none of */
};

/* @len bytes at guest address *@at, signature first; moves *@at past them. */
static uint8_t *place(uint8_t *area, uint64_t *at, const char *sig, uint32_t len)
{
	uint8_t *t = area + (*at - ACPI_BASE);

	memcpy(t, sig, 4);
	put32(t + 4, len);
	*at += (len + 63) & ~63U;
	return t;
}

/* A table with the common header; the caller sets the checksum last. */
static uint8_t *table(uint8_t *area, uint64_t *at, const char *sig, uint32_t len,
		      uint8_t rev)
{
	uint8_t *t = place(area, at, sig, len);

	t[8] = rev;
	memcpy(t + 10, "VMMIG ", 6);
	memcpy(t + 16, "VMMIGVMM", 8);
	put32(t + 24, 1);		/* OEM revision */
	memcpy(t + 28, "VMMG", 4);	/* creator */
	put32(t + 32, 1);
	return t;
}

static uint64_t facs(uint8_t *area, uint64_t *at)
{
	uint64_t gpa = *at;
	uint8_t *t = place(area, at, "FACS", FACS_LEN);

	t[32] = 2;			/* version; no checksum */
	return gpa;
}

/* \_S5_, then the virtio devices (virtio.c). */
static uint64_t dsdt(struct vm *vm, uint8_t *area, uint64_t *at)
{
	uint8_t devs[VIRTIO_MAX_DEVS * 96];
	size_t ndevs = virtio_acpi(vm, devs, sizeof(devs));
	uint64_t gpa = *at;
	uint32_t len = HEADER_LEN + sizeof(dsdt_aml) + ndevs;
	uint8_t *t = table(area, at, "DSDT", len, 2);

	memcpy(t + HEADER_LEN, dsdt_aml, sizeof(dsdt_aml));
	memcpy(t + HEADER_LEN + sizeof(dsdt_aml), devs, ndevs);
	t[9] = checksum(t, len);
	return gpa;
}

static uint64_t fadt(uint8_t *area, uint64_t *at, uint64_t facs_gpa, uint64_t dsdt_gpa)
{
	uint64_t gpa = *at;
	uint8_t *t = table(area, at, "FACP", FADT_LEN, 6);
	uint8_t *reset = t + FADT_RESET_REG;

	put32(t + FADT_DSDT, dsdt_gpa);
	put16(t + FADT_SCI_INT, SCI_IRQ);
	put32(t + FADT_PM1A_EVT_BLK, PM1_EVT_PORT);
	put32(t + FADT_PM1A_CNT_BLK, PM1_CNT_PORT);
	t[FADT_PM1_EVT_LEN] = PM1_EVT_LEN;
	t[FADT_PM1_CNT_LEN] = PM1_CNT_LEN;
	put16(t + FADT_BOOT_ARCH, BOOT_LEGACY_DEVICES | BOOT_NO_VGA);
	put32(t + FADT_FLAGS, FADT_SLP_BUTTON | FADT_RESET_REG_SUP);
	reset[0] = 1;			/* system I/O space */
	reset[1] = 8;			/* bit width */
	reset[3] = 1;			/* byte access */
	put64(reset + 4, RESET_PORT);
	t[FADT_RESET_VALUE] = RESET_VALUE;
	put64(t + FADT_X_FIRMWARE_CTRL, facs_gpa);
	put64(t + FADT_X_DSDT, dsdt_gpa);
	t[9] = checksum(t, FADT_LEN);
	return gpa;
}

/*
 * The same processors and IOAPIC as the MP table (boot.c): APIC IDs 0 to
 * n - 1, the IOAPIC's ID n. No interrupt source overrides: KVM's in-kernel
 * IOAPIC has ISA IRQ n on pin n (the PIT on pin 0, not 2 as on PCs), which is
 * what Linux assumes for an ISA IRQ that has none, edge-triggered and active
 * high. The SCI (the power button's interrupt) is level-triggered and, as
 * KVM_IRQ_LINE raises it, active high: that needs an override. PCAT_COMPAT:
 * KVM_CREATE_IRQCHIP gives the VM the dual 8259 too (the workload guest uses
 * it); Linux masks it when it takes up the IOAPIC.
 */
static uint64_t madt(struct vm *vm, uint8_t *area, uint64_t *at)
{
	uint64_t gpa = *at;
	uint32_t len = 44 + vm->nvcpus * 8 + 12 + 10 + 6;
	uint8_t *t = table(area, at, "APIC", len, 4), *e = t + 44;
	int i;

	put32(t + 36, LAPIC_ADDR);
	put32(t + 40, MADT_PCAT_COMPAT);
	for (i = 0; i < vm->nvcpus; i++, e += 8) {
		e[0] = 0;		/* Processor Local APIC */
		e[1] = 8;
		e[2] = i;		/* ACPI processor UID */
		e[3] = i;		/* APIC ID */
		put32(e + 4, 1);	/* enabled */
	}
	e[0] = 1;			/* I/O APIC */
	e[1] = 12;
	e[2] = vm->nvcpus;
	put32(e + 4, IOAPIC_ADDR);
	put32(e + 8, 0);		/* GSI base */
	e += 12;
	e[0] = 2;			/* Interrupt Source Override: the SCI */
	e[1] = 10;
	e[3] = SCI_IRQ;			/* ISA IRQ 9 */
	put32(e + 4, SCI_IRQ);		/* on GSI 9 */
	put16(e + 8, 0xd);		/* level-triggered, active high */
	e += 10;
	e[0] = 4;			/* Local APIC NMI */
	e[1] = 6;
	e[2] = 0xff;			/* all processors */
	put16(e + 3, 0);		/* polarity and trigger of the bus */
	e[5] = 1;			/* LINT1 */
	t[9] = checksum(t, len);
	return gpa;
}

int acpi_tables(struct vm *vm, char *why)
{
	uint8_t *area = gpa_to_hva(vm, ACPI_BASE, ACPI_END - ACPI_BASE), *rsdp, *xsdt;
	uint64_t at = ACPI_BASE, xsdt_gpa, facs_gpa, dsdt_gpa;
	uint32_t xsdt_len = HEADER_LEN + 2 * 8;

	if (!area)
		return vmm_fail(why, -ENOMEM, "no memory for the ACPI tables");
	memset(area, 0, ACPI_END - ACPI_BASE);
	vm->pm1_enable = vm->pm1_status = 0;
	rsdp = area;
	at += 64;
	xsdt_gpa = at;
	xsdt = table(area, &at, "XSDT", xsdt_len, 1);
	facs_gpa = facs(area, &at);
	dsdt_gpa = dsdt(vm, area, &at);
	put64(xsdt + HEADER_LEN, fadt(area, &at, facs_gpa, dsdt_gpa));
	put64(xsdt + HEADER_LEN + 8, madt(vm, area, &at));
	xsdt[9] = checksum(xsdt, xsdt_len);

	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "VMMIG ", 6);
	rsdp[15] = 2;			/* ACPI 2.0+: the XSDT, no RSDT */
	put32(rsdp + 20, 36);
	put64(rsdp + 24, xsdt_gpa);
	rsdp[8] = checksum(rsdp, 20);
	rsdp[32] = checksum(rsdp, 36);
	return 0;
}

/* The SCI is up while an enabled event is pending. With vm->lock held. */
static void sci_update(struct vm *vm)
{
	struct kvm_irq_level irq = {
		.irq = SCI_IRQ, .level = !!(vm->pm1_status & vm->pm1_enable),
	};

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq))
		vmlog(LOG_ERR, "KVM_IRQ_LINE (SCI): %m");
}

/*
 * `vmmig vm stop`: a press of the fixed-feature power button. The guest
 * decides what to do (Linux: an input event, KEY_POWER, for its init or
 * desktop); -EOPNOTSUPP if it has not enabled the button's event.
 */
int acpi_power_button(struct vm *vm)
{
	int err = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->pm1_enable & PWRBTN) {
		vm->pm1_status |= PWRBTN;
		sci_update(vm);
	} else {
		err = -EOPNOTSUPP;
	}
	pthread_mutex_unlock(&vm->lock);
	return err;
}

void acpi_save(struct vm *vm, struct vmstate_acpi *s)
{
	pthread_mutex_lock(&vm->lock);
	*s = (struct vmstate_acpi){ .pm1_status = vm->pm1_status, .pm1_enable = vm->pm1_enable };
	pthread_mutex_unlock(&vm->lock);
}

void acpi_restore(struct vm *vm, const struct vmstate_acpi *s)
{
	pthread_mutex_lock(&vm->lock);
	vm->pm1_status = s->pm1_status & PWRBTN;
	vm->pm1_enable = s->pm1_enable;
	sci_update(vm);
	pthread_mutex_unlock(&vm->lock);
}

/*
 * One byte of the registers. PM1 status: write 1 to clear; only the power
 * button ever sets a bit. PM1 enable keeps what Linux writes: it checks that
 * the global lock's enable bit sticks.
 */
static void acpi_byte(struct vm *vm, uint16_t port, bool write, uint8_t *data)
{
	int shift = (port - PM1_EVT_PORT) % 2 ? 8 : 0;

	switch (port) {
	case PM1_EVT_PORT:
	case PM1_EVT_PORT + 1:
		pthread_mutex_lock(&vm->lock);
		if (write) {
			vm->pm1_status &= ~(*data << shift);
			sci_update(vm);
		} else {
			*data = vm->pm1_status >> shift;
		}
		pthread_mutex_unlock(&vm->lock);
		return;
	case PM1_EVT_PORT + 2:
	case PM1_EVT_PORT + 3:
		pthread_mutex_lock(&vm->lock);
		if (write) {
			vm->pm1_enable = (vm->pm1_enable & ~(0xff << shift)) | *data << shift;
			sci_update(vm);
		} else {
			*data = vm->pm1_enable >> shift;
		}
		pthread_mutex_unlock(&vm->lock);
		return;
	case PM1_CNT_PORT + 1:
		if (write && (*data & SLP_EN) && (*data & SLP_TYP_MASK) >> 2 == SLP_TYP_S5)
			vm_exit_event(vm, VM_EXIT_POWEROFF, "the guest powered off");
		break;
	case RESET_PORT:
		if (write && (*data & RESET_CPU))
			vm_exit_event(vm, VM_EXIT_RESET,
				      "the guest reset (reboot): the VM restarts");
		break;
	}
	if (!write)
		*data = port == PM1_CNT_PORT ? SCI_EN : 0;
}

bool acpi_io(struct vm *vm, uint16_t port, int size, bool write, uint8_t *data)
{
	int i;

	if ((port < PM1_EVT_PORT || port + size > PM1_CNT_PORT + PM1_CNT_LEN) &&
	    (port != RESET_PORT || size != 1))
		return false;
	for (i = 0; i < size; i++)
		acpi_byte(vm, port + i, write, data + i);
	return true;
}
