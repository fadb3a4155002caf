// SPDX-License-Identifier: GPL-2.0
/*
 * An 8250 UART at COM1: output goes to the console log; there is no input
 * yet. It raises IRQ 4 for "transmitter empty" when the guest enables it,
 * as Linux's driver expects.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include "vmm.h"

enum { RBR_THR, IER, IIR_FCR, LCR, MCR, LSR, MSR, SCR };

#define LCR_DLAB	0x80
#define IER_THRI	0x02
#define IIR_NONE	0x01
#define IIR_THRI	0x02
#define LSR_THRE_TEMT	0x60

void uart_init(struct uart *u, int out_fd)
{
	pthread_mutex_init(&u->lock, NULL);
	memset(&u->r, 0, sizeof(u->r));
	u->r.iir = IIR_NONE;
	u->r.lsr = LSR_THRE_TEMT;
	u->r.msr = 0xb0;	/* DCD, DSR, CTS */
	u->out_fd = out_fd;
	u->irq_level = -1;
}

static void update_irq(struct vm *vm, struct uart *u)
{
	struct kvm_irq_level irq = { .irq = COM1_IRQ };

	u->r.iir = (u->r.iir & 0xc0) |
		   ((u->r.ier & IER_THRI) && u->r.thre_pending ? IIR_THRI : IIR_NONE);
	irq.level = !(u->r.iir & IIR_NONE);
	if ((int)irq.level == u->irq_level)
		return;
	u->irq_level = irq.level;
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq))
		perror("KVM_IRQ_LINE");
}

static void uart_write(struct uart *u, unsigned int reg, uint8_t v)
{
	bool dlab = u->r.lcr & LCR_DLAB;

	switch (reg) {
	case RBR_THR:
		if (dlab) {
			u->r.dll = v;
			break;
		}
		if (write(u->out_fd, &v, 1) < 0)
			perror("console");
		u->r.thre_pending = 1;
		break;
	case IER:
		if (dlab) {
			u->r.dlm = v;
			break;
		}
		if ((v & IER_THRI) && !(u->r.ier & IER_THRI))
			u->r.thre_pending = 1;
		u->r.ier = v & 0x0f;
		break;
	case IIR_FCR:
		u->r.iir = (u->r.iir & 0x3f) | (v & 1 ? 0xc0 : 0);
		break;
	case LCR:
		u->r.lcr = v;
		break;
	case MCR:
		u->r.mcr = v & 0x1f;
		break;
	case SCR:
		u->r.scr = v;
		break;
	}
}

static uint8_t uart_read(struct uart *u, unsigned int reg)
{
	bool dlab = u->r.lcr & LCR_DLAB;
	uint8_t v;

	switch (reg) {
	case RBR_THR:
		return dlab ? u->r.dll : 0;
	case IER:
		return dlab ? u->r.dlm : u->r.ier;
	case IIR_FCR:
		v = u->r.iir;
		if ((v & 0x0f) == IIR_THRI)
			u->r.thre_pending = 0;
		return v;
	case LCR:
		return u->r.lcr;
	case MCR:
		return u->r.mcr;
	case LSR:
		return u->r.lsr;
	case MSR:
		return u->r.msr;
	default:
		return u->r.scr;
	}
}

void uart_io(struct vm *vm, uint16_t reg, bool write, uint8_t *data)
{
	struct uart *u = &vm->uart;

	pthread_mutex_lock(&u->lock);
	if (write)
		uart_write(u, reg, *data);
	else
		*data = uart_read(u, reg);
	update_irq(vm, u);
	pthread_mutex_unlock(&u->lock);
}
