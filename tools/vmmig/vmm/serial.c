// SPDX-License-Identifier: GPL-2.0
/*
 * A 16550A UART at COM1. What the guest writes goes to the console log and
 * to an attached `vmmig vm console` (through a buffer when the client lags);
 * what the client types arrives in the receive FIFO (16 bytes, 1 with the
 * FIFO off), fed by the control loop only as fast as the guest reads it.
 * IRQ 4 rises for "data ready" and for "transmitter empty", as the guest
 * enables them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "vmlog.h"
#include "vmm.h"

enum { RBR_THR, IER, IIR_FCR, LCR, MCR, LSR, MSR, SCR };

#define LCR_DLAB	0x80
#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NONE	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO	0xc0
#define FCR_ENABLE	0x01
#define FCR_CLEAR_RX	0x02
#define LSR_DR		0x01
#define LSR_THRE_TEMT	0x60

int uart_init(struct uart *u, int out_fd)
{
	pthread_mutex_init(&u->lock, NULL);
	memset(&u->r, 0, sizeof(u->r));
	u->r.iir = IIR_NONE;
	u->r.lsr = LSR_THRE_TEMT;
	u->r.msr = 0xb0;	/* DCD, DSR, CTS */
	u->out_fd = out_fd;
	u->client_fd = -1;
	u->rx_waiting = false;
	u->client_blocked = false;
	u->client_len = 0;
	u->irq_level = -1;
	u->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return u->wake_fd < 0 ? -errno : 0;
}

static unsigned int fifo_size(const struct vmstate_uart *r)
{
	return r->iir & IIR_FIFO ? VMSTATE_UART_FIFO : 1;
}

static unsigned int fifo_room(const struct vmstate_uart *r)
{
	return fifo_size(r) - r->rx_count;
}

/* Interrupt priority: received data before transmitter empty. */
static void update_irq(struct vm *vm, struct uart *u)
{
	struct kvm_irq_level irq = { .irq = COM1_IRQ };
	uint8_t id = IIR_NONE;

	if ((u->r.ier & IER_RDI) && u->r.rx_count)
		id = IIR_RDI;
	else if ((u->r.ier & IER_THRI) && u->r.thre_pending)
		id = IIR_THRI;
	u->r.iir = (u->r.iir & IIR_FIFO) | id;
	irq.level = id != IIR_NONE;
	if ((int)irq.level == u->irq_level)
		return;
	u->irq_level = irq.level;
	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq))
		vmlog(LOG_ERR, "KVM_IRQ_LINE: %m");
}

static void wake(struct uart *u)
{
	uint64_t one = 1;

	if (write(u->wake_fd, &one, sizeof(one)) < 0)
		vmlog(LOG_ERR, "uart wake: %m");
}

/* Sends what the client has not had yet, without waiting. */
static void flush_client(struct uart *u)
{
	ssize_t n = send(u->client_fd, u->client_buf, u->client_len, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (n < 0 && errno != EAGAIN && errno != EINTR)
		n = u->client_len;	/* gone: the control loop detaches it */
	if (n > 0) {
		u->client_len -= n;
		memmove(u->client_buf, u->client_buf + n, u->client_len);
	}
	if (u->client_len && !u->client_blocked) {
		u->client_blocked = true;
		wake(u);	/* the control loop polls for room */
	}
}

static void transmit(struct uart *u, uint8_t v)
{
	if (write(u->out_fd, &v, 1) < 0)
		vmlog(LOG_ERR, "console: %m");
	u->r.thre_pending = 1;
	if (u->client_fd < 0)
		return;
	/* A client far behind misses output; the log has it all. */
	if (u->client_len == UART_CLIENT_BUF) {
		u->client_lost++;
		return;
	}
	u->client_buf[u->client_len++] = v;
	if (!u->client_blocked)
		flush_client(u);
}

static void clear_rx(struct uart *u)
{
	u->r.rx_count = 0;
	if (u->rx_waiting) {
		u->rx_waiting = false;
		wake(u);
	}
}

static uint8_t receive(struct uart *u)
{
	uint8_t v;

	if (!u->r.rx_count)
		return 0;
	v = u->r.rx[0];
	memmove(u->r.rx, u->r.rx + 1, --u->r.rx_count);
	if (!u->r.rx_count)
		clear_rx(u);
	return v;
}

static void uart_write(struct uart *u, unsigned int reg, uint8_t v)
{
	bool dlab = u->r.lcr & LCR_DLAB;

	switch (reg) {
	case RBR_THR:
		if (dlab)
			u->r.dll = v;
		else
			transmit(u, v);
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
		/* Turning the FIFO on or off empties it, as does "clear receiver". */
		if ((v & FCR_CLEAR_RX) || !(v & FCR_ENABLE) != !(u->r.iir & IIR_FIFO))
			clear_rx(u);
		u->r.iir = (u->r.iir & 0x3f) | (v & FCR_ENABLE ? IIR_FIFO : 0);
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
		return dlab ? u->r.dll : receive(u);
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
		return (u->r.lsr & ~LSR_DR) | (u->r.rx_count ? LSR_DR : 0);
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

unsigned int uart_rx_room(struct uart *u)
{
	unsigned int room;

	pthread_mutex_lock(&u->lock);
	room = fifo_room(&u->r);
	u->rx_waiting = !room;
	pthread_mutex_unlock(&u->lock);
	return room;
}

unsigned int uart_receive(struct vm *vm, const uint8_t *buf, unsigned int len)
{
	struct uart *u = &vm->uart;
	unsigned int n;

	pthread_mutex_lock(&u->lock);
	n = fifo_room(&u->r);
	n = len < n ? len : n;
	memcpy(u->r.rx + u->r.rx_count, buf, n);
	u->r.rx_count += n;
	update_irq(vm, u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

int uart_attach(struct uart *u, int fd)
{
	int old;

	pthread_mutex_lock(&u->lock);
	old = u->client_fd;
	u->client_fd = fd;
	u->client_len = 0;
	u->client_blocked = false;
	if (u->client_lost)
		vmlog(LOG_WARNING, "a console client missed %llu bytes of output",
		      (unsigned long long)u->client_lost);
	u->client_lost = 0;
	pthread_mutex_unlock(&u->lock);
	return old;
}

bool uart_client_blocked(struct uart *u)
{
	bool b;

	pthread_mutex_lock(&u->lock);
	b = u->client_fd >= 0 && u->client_blocked;
	pthread_mutex_unlock(&u->lock);
	return b;
}

void uart_client_flush(struct uart *u)
{
	pthread_mutex_lock(&u->lock);
	if (u->client_fd >= 0) {
		u->client_blocked = false;
		flush_client(u);
	}
	pthread_mutex_unlock(&u->lock);
}

void uart_save(struct uart *u, struct vmstate_uart *s)
{
	pthread_mutex_lock(&u->lock);
	*s = u->r;
	pthread_mutex_unlock(&u->lock);
}

int uart_restore(struct vm *vm, const struct vmstate_section *s, char *why)
{
	struct uart *u = &vm->uart;
	/* Version 1 had no receive FIFO: its 16 bytes and an empty one. */
	size_t len = s->version == 1 ? offsetof(struct vmstate_uart, rx) : sizeof(u->r);

	struct vmstate_uart r = {};

	if (s->len != len)
		return vmm_fail(why, -EBADMSG, "uart section has the wrong size");
	memcpy(&r, s->data, len);
	if (s->version == 1)
		r.rx_count = 0;
	if (r.rx_count > fifo_size(&r))
		return vmm_fail(why, -EBADMSG, "uart section: %u bytes in the receive FIFO",
				r.rx_count);
	pthread_mutex_lock(&u->lock);
	u->r = r;
	update_irq(vm, u);
	pthread_mutex_unlock(&u->lock);
	return 0;
}
