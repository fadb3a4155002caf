// SPDX-License-Identifier: GPL-2.0
/*
 * The virtio-mmio transport (virtio 1.x, "Virtio Over MMIO", version 2) and
 * split virtqueues. Devices sit one after another from VIRTIO_MMIO_BASE, in
 * the hole below 4 GiB, each with an ISA interrupt the guest finds on its
 * command line. Interrupts are edges on the IOAPIC (as the MP table declares
 * ISA interrupts), and the driver reads InterruptStatus to see why.
 *
 * Whatever the VMM writes into guest memory (used rings, data read from a
 * disk or a tap) goes through virtq_push(), which marks the pages for a live
 * save: KVM's dirty log only sees what the vCPUs write.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_ring.h>

#include "vmlog.h"
#include "vmm.h"

#define VIRTIO_MAGIC	0x74726976	/* "virt" */
#define VIRTIO_VENDOR	0x474d4d56	/* "VMMG" */

/*
 * ISA interrupts nothing else uses (9 is the ACPI SCI, level-triggered);
 * devices share them past the eighth.
 */
static const int virtio_irqs[] = { 5, 6, 7, 10, 11, 12, 14, 15 };

/* Sets @why in InterruptStatus and sends the device's interrupt, an edge. */
static void raise_irq(struct virtio_dev *d, uint32_t why)
{
	struct kvm_irq_level irq = { .irq = d->irq, .level = 1 };

	d->r.isr |= why;
	if (ioctl(d->vm->vm_fd, KVM_IRQ_LINE, &irq))
		vmlog(LOG_ERR, "KVM_IRQ_LINE: %m");
	irq.level = 0;
	ioctl(d->vm->vm_fd, KVM_IRQ_LINE, &irq);
}

void virtio_fail(struct virtio_dev *d, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vmlog(LOG_ERR, "%s at 0x%llx: %s: the device needs a reset", d->ops->name,
	      (unsigned long long)d->base, msg);
	d->r.status |= VIRTIO_CONFIG_S_NEEDS_RESET;
	d->r.config_generation++;
	raise_irq(d, VIRTIO_MMIO_INT_CONFIG);
}

void virtio_interrupt(struct virtio_dev *d)
{
	raise_irq(d, VIRTIO_MMIO_INT_VRING);
}

bool virtq_ready(struct virtio_dev *d, uint32_t q)
{
	return !d->paused && q < d->r.nqueues && d->r.q[q].ready &&
	       (d->r.status & VIRTIO_CONFIG_S_DRIVER_OK) &&
	       !(d->r.status & VIRTIO_CONFIG_S_NEEDS_RESET);
}

static struct vring_avail *avail_ring(struct virtio_dev *d, struct vmstate_virtq *q)
{
	return gpa_to_hva(d->vm, q->avail, 6 + 2ULL * q->num);
}

static struct vring_used *used_ring(struct virtio_dev *d, struct vmstate_virtq *q)
{
	return gpa_to_hva(d->vm, q->used, 6 + 8ULL * q->num);
}

int virtq_pop(struct virtio_dev *d, uint32_t qi, struct virtq_chain *c)
{
	struct vmstate_virtq *q = &d->r.q[qi];
	struct vring_avail *avail = avail_ring(d, q);
	struct vring_desc *table = gpa_to_hva(d->vm, q->desc, 16ULL * q->num);
	uint16_t idx, i, n = 0;
	void *p;

	if (!virtq_ready(d, qi))
		return 0;
	if (!avail || !table)
		return -EFAULT;
	idx = __atomic_load_n(&avail->idx, __ATOMIC_ACQUIRE);
	if (idx == q->last_avail)
		return 0;
	if ((uint16_t)(idx - q->last_avail) > q->num)
		return -EINVAL;
	c->head = i = avail->ring[q->last_avail % q->num];
	c->nout = c->nin = 0;
	c->in_len = 0;
	for (;;) {
		struct vring_desc desc;

		if (i >= q->num || n == q->num || n == VIRTQ_MAX_SEGS)
			return -EINVAL;
		memcpy(&desc, &table[i], sizeof(desc));
		if (desc.flags & VRING_DESC_F_INDIRECT)
			return -EINVAL;		/* not offered */
		p = gpa_to_hva(d->vm, desc.addr, desc.len);
		if (!p)
			return -EFAULT;
		if (desc.flags & VRING_DESC_F_WRITE) {
			c->gpa[n] = desc.addr;
			c->in_len += desc.len;
			c->nin++;
		} else if (c->nin) {
			return -EINVAL;		/* readable after writable */
		} else {
			c->nout++;
		}
		c->iov[n++] = (struct iovec){ .iov_base = p, .iov_len = desc.len };
		if (!(desc.flags & VRING_DESC_F_NEXT))
			break;
		i = desc.next;
	}
	q->last_avail++;
	return 1;
}

void virtq_unpop(struct virtio_dev *d, uint32_t qi)
{
	d->r.q[qi].last_avail--;
}

bool virtq_push(struct virtio_dev *d, uint32_t qi, const struct virtq_chain *c, uint32_t len)
{
	struct vmstate_virtq *q = &d->r.q[qi];
	struct vring_used *used = used_ring(d, q);
	struct vring_avail *avail = avail_ring(d, q);
	uint32_t left = len, n;
	int i;

	if (!used || !avail)
		return false;
	for (i = c->nout; left && i < c->nout + c->nin; i++) {
		n = left < c->iov[i].iov_len ? left : c->iov[i].iov_len;
		vm_mark_dirty(d->vm, c->gpa[i], n);
		left -= n;
	}
	used->ring[q->used_idx % q->num] = (struct vring_used_elem){ .id = c->head, .len = len };
	__atomic_store_n(&used->idx, ++q->used_idx, __ATOMIC_RELEASE);
	vm_mark_dirty(d->vm, q->used, 6 + 8ULL * q->num);
	/* The driver sets NO_INTERRUPT before it looks at the used ring again. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return !(__atomic_load_n(&avail->flags, __ATOMIC_ACQUIRE) & VRING_AVAIL_F_NO_INTERRUPT);
}

static void device_reset(struct virtio_dev *d)
{
	uint32_t id = d->r.device_id, nq = d->r.nqueues, gen = d->r.config_generation;

	memset(&d->r, 0, sizeof(d->r));
	d->r.device_id = id;
	d->r.nqueues = nq;
	d->r.config_generation = gen;
}

static uint32_t reg_read(struct virtio_dev *d, uint32_t off)
{
	struct vmstate_virtq *q = d->r.queue_sel < d->r.nqueues ? &d->r.q[d->r.queue_sel] : NULL;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE: return VIRTIO_MAGIC;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return d->r.device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return d->r.device_features_sel > 1 ? 0 :
		       (uint32_t)(d->features >> (32 * d->r.device_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return q ? VIRTQ_MAX : 0;
	case VIRTIO_MMIO_QUEUE_READY: return q ? q->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS: return d->r.isr;
	case VIRTIO_MMIO_STATUS: return d->r.status;
	case VIRTIO_MMIO_CONFIG_GENERATION: return d->r.config_generation;
	}
	return 0;
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
	if (high)
		*v = (*v & 0xffffffffULL) | (uint64_t)val << 32;
	else
		*v = (*v & ~0xffffffffULL) | val;
}

static void status_write(struct virtio_dev *d, uint32_t val)
{
	if (!val) {
		device_reset(d);
		return;
	}
	/* Version 1 only: a driver that did not accept it cannot go on. */
	if ((val & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    !(d->r.driver_features & (1ULL << VIRTIO_F_VERSION_1)))
		val &= ~VIRTIO_CONFIG_S_FEATURES_OK;
	d->r.status = val;
}

/* Returns true if a hook must hear of the change. */
static bool reg_write(struct virtio_dev *d, uint32_t off, uint32_t val)
{
	struct vmstate_virtq *q = d->r.queue_sel < d->r.nqueues ? &d->r.q[d->r.queue_sel] : NULL;
	bool live = q && q->ready;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: d->r.device_features_sel = val; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: d->r.driver_features_sel = val; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (d->r.driver_features_sel < 2 && !(d->r.status & VIRTIO_CONFIG_S_FEATURES_OK)) {
			set_half(&d->r.driver_features, d->r.driver_features_sel, val);
			d->r.driver_features &= d->features;
		}
		break;
	case VIRTIO_MMIO_QUEUE_SEL: d->r.queue_sel = val; break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (q && !live && val && val <= VIRTQ_MAX && !(val & (val - 1)))
			q->num = val;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (q && q->num) {
			q->ready = !!val;
			return true;
		}
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		if (virtq_ready(d, val))
			d->ops->notify(d, val);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK: d->r.isr &= ~val; break;
	case VIRTIO_MMIO_STATUS:
		status_write(d, val);
		return true;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (q && !live)
			set_half(&q->desc, off == VIRTIO_MMIO_QUEUE_DESC_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_AVAIL_LOW:
	case VIRTIO_MMIO_QUEUE_AVAIL_HIGH:
		if (q && !live)
			set_half(&q->avail, off == VIRTIO_MMIO_QUEUE_AVAIL_HIGH, val);
		break;
	case VIRTIO_MMIO_QUEUE_USED_LOW:
	case VIRTIO_MMIO_QUEUE_USED_HIGH:
		if (q && !live)
			set_half(&q->used, off == VIRTIO_MMIO_QUEUE_USED_HIGH, val);
		break;
	}
	return false;
}

bool virtio_mmio(struct vm *vm, uint64_t addr, uint8_t *data, uint32_t len, bool write)
{
	struct virtio_dev *d;
	uint64_t i = (addr - VIRTIO_MMIO_BASE) / VIRTIO_MMIO_SIZE;
	uint32_t off, val = 0;

	if (addr < VIRTIO_MMIO_BASE || i >= (uint64_t)vm->nvirtio)
		return false;
	d = vm->virtio[i];
	off = addr - d->base;
	pthread_mutex_lock(&d->lock);
	if (off >= VIRTIO_MMIO_CONFIG) {
		if (!write)
			memset(data, 0, len);
		d->ops->config(d, off - VIRTIO_MMIO_CONFIG, data, len, write);
	} else if (len != 4 || (off & 3)) {
		if (!write)
			memset(data, 0, len);	/* registers are 32-bit only */
	} else if (write) {
		memcpy(&val, data, 4);
		if (reg_write(d, off, val) && d->ops->changed)
			d->ops->changed(d);
	} else {
		val = reg_read(d, off);
		memcpy(data, &val, 4);
	}
	pthread_mutex_unlock(&d->lock);
	return true;
}

static int add_device(struct vm *vm, const struct virtio_ops *ops, struct virtio_dev **out,
		      char *why)
{
	struct virtio_dev *d;
	int i = vm->nvirtio;

	if (i == VIRTIO_MAX_DEVS)
		return vmm_fail(why, -E2BIG, "at most %d virtio devices", VIRTIO_MAX_DEVS);
	d = calloc(1, sizeof(*d));
	if (!d)
		return vmm_fail(why, -ENOMEM, "out of memory");
	d->vm = vm;
	d->index = i;
	d->base = VIRTIO_MMIO_BASE + i * VIRTIO_MMIO_SIZE;
	d->irq = virtio_irqs[i % (sizeof(virtio_irqs) / sizeof(virtio_irqs[0]))];
	d->ops = ops;
	d->paused = true;		/* until the vCPUs run */
	d->features = 1ULL << VIRTIO_F_VERSION_1;
	d->r.device_id = ops->device_id;
	d->r.nqueues = ops->nqueues;
	pthread_mutex_init(&d->lock, NULL);
	vm->virtio[i] = d;
	vm->nvirtio++;
	*out = d;
	return 0;
}

int virtio_setup(struct vm *vm, char *why)
{
	extern const struct virtio_ops virtio_blk_ops, virtio_net_ops;
	struct virtio_dev *d;
	int i, err = 0;

	for (i = 0; !err && i < vm->def.ndisks; i++) {
		err = add_device(vm, &virtio_blk_ops, &d, why);
		if (!err)
			err = virtio_blk_init(d, vm->def.disks[i].path, vm->def.disks[i].readonly, why);
	}
	for (i = 0; !err && i < vm->def.nnics; i++) {
		err = add_device(vm, &virtio_net_ops, &d, why);
		if (!err)
			err = virtio_net_init(d, vm->def.nics[i].tap, vm->def.nics[i].mac, why);
	}
	return err;
}

/*
 * The devices as ACPI objects, for the DSDT: Scope (\_SB) { Device (VRnn) {
 * _HID "LNRO0005" (Linux's virtio-mmio), _UID, _CRS with the registers and
 * the interrupt } }. Stock kernels find virtio-mmio devices this way; the
 * command line way needs CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES, which Debian's
 * kernels lack. AML is written by hand: the few opcodes below, from the
 * ACPI specification's "ACPI Machine Language Specification".
 */
#define AML_NAME	0x08
#define AML_BYTE	0x0a
#define AML_STRING	0x0d
#define AML_SCOPE	0x10
#define AML_BUFFER	0x11
#define AML_EXT		0x5b
#define AML_DEVICE	0x82	/* after AML_EXT */

/* A package of @len bytes after its PkgLength, which counts itself. */
static size_t aml_pkglen(uint8_t *p, size_t len)
{
	if (len + 1 < 0x40) {
		p[0] = len + 1;
		return 1;
	}
	len += 2;
	if (len < 0x1000) {
		p[0] = 0x40 | (len & 0xf);
		p[1] = len >> 4;
		return 2;
	}
	len++;
	p[0] = 0x80 | (len & 0xf);
	p[1] = len >> 4;
	p[2] = len >> 12;
	return 3;
}

static size_t aml_device(const struct virtio_dev *d, uint8_t *p)
{
	uint8_t body[96], *b = body;
	uint32_t base = d->base, size = VIRTIO_MMIO_SIZE, irq = d->irq;
	size_t n;

	b += sprintf((char *)b, "%c_HID%cLNRO0005", AML_NAME, AML_STRING) + 1;
	*b++ = AML_NAME;
	memcpy(b, "_UID", 4), b += 4;
	*b++ = AML_BYTE;
	*b++ = d->index;
	*b++ = AML_NAME;
	memcpy(b, "_CRS", 4), b += 4;
	*b++ = AML_BUFFER;
	*b++ = 3 + 23;			/* PkgLength: itself, the size, 23 bytes */
	*b++ = AML_BYTE;
	*b++ = 23;
	/* Memory32Fixed (ReadWrite, base, size) */
	*b++ = 0x86, *b++ = 9, *b++ = 0, *b++ = 1;
	memcpy(b, &base, 4), b += 4;
	memcpy(b, &size, 4), b += 4;
	/* Interrupt (ResourceConsumer, Edge, ActiveHigh, Shared) { irq } */
	*b++ = 0x89, *b++ = 6, *b++ = 0, *b++ = 0x0b, *b++ = 1;
	memcpy(b, &irq, 4), b += 4;
	/* EndTag */
	*b++ = 0x79, *b++ = 0;

	p[0] = AML_EXT;
	p[1] = AML_DEVICE;
	n = 2 + aml_pkglen(p + 2, 4 + (b - body));
	n += sprintf((char *)p + n, "VR%02X", d->index & 0xff);
	memcpy(p + n, body, b - body);
	return n + (b - body);
}

size_t virtio_acpi(struct vm *vm, uint8_t *buf, size_t cap)
{
	uint8_t devs[VIRTIO_MAX_DEVS * 96];
	size_t n = 0, h;
	int i;

	if (!vm->nvirtio)
		return 0;
	for (i = 0; i < vm->nvirtio; i++)
		n += aml_device(vm->virtio[i], devs + n);
	if (n + 16 > cap)
		return 0;
	buf[0] = AML_SCOPE;
	h = 1 + aml_pkglen(buf + 1, 5 + n);
	memcpy(buf + h, "\\_SB_", 5);
	memcpy(buf + h + 5, devs, n);
	return h + 5 + n;
}

void virtio_cmdline(struct vm *vm, char *buf, size_t len)
{
	size_t n = 0;
	int i;

	buf[0] = 0;
	for (i = 0; i < vm->nvirtio && n < len; i++)
		n += snprintf(buf + n, len - n, " virtio_mmio.device=%llu@0x%llx:%d",
			      VIRTIO_MMIO_SIZE, (unsigned long long)vm->virtio[i]->base,
			      vm->virtio[i]->irq);
}

void virtio_pause_all(struct vm *vm, bool paused)
{
	struct virtio_dev *d;
	int i;

	for (i = 0; i < vm->nvirtio; i++) {
		d = vm->virtio[i];
		pthread_mutex_lock(&d->lock);
		d->paused = paused;
		if (d->ops->changed)
			d->ops->changed(d);
		pthread_mutex_unlock(&d->lock);
	}
}

void virtio_destroy_all(struct vm *vm)
{
	int i;

	for (i = 0; i < vm->nvirtio; i++) {
		if (vm->virtio[i]->ops->destroy)
			vm->virtio[i]->ops->destroy(vm->virtio[i]);
		free(vm->virtio[i]->priv);
		free(vm->virtio[i]);
	}
	vm->nvirtio = 0;
}

int virtio_save(struct vm *vm, struct vmstate_writer *w)
{
	struct virtio_dev *d;
	int i, err = 0;

	for (i = 0; !err && i < vm->nvirtio; i++) {
		d = vm->virtio[i];
		pthread_mutex_lock(&d->lock);
		err = vmstate_put(w, VMSTATE_VIRTIO, i, &d->r, sizeof(d->r), NULL, 0);
		pthread_mutex_unlock(&d->lock);
	}
	return err;
}

int virtio_restore(struct vm *vm, const struct vmstate_section *s, char *why)
{
	struct vmstate_virtio r;
	struct virtio_dev *d;
	uint32_t i;

	if (s->len != sizeof(r))
		return vmm_fail(why, -EBADMSG, "virtio section has the wrong size");
	memcpy(&r, s->data, sizeof(r));
	if (s->instance >= vm->nvirtio)
		return vmm_fail(why, -EINVAL, "the state has virtio device %u, the VM %d devices",
				s->instance, vm->nvirtio);
	d = vm->virtio[s->instance];
	if (r.device_id != d->r.device_id || r.nqueues != d->r.nqueues)
		return vmm_fail(why, -EINVAL, "virtio device %u is a %s in the VM, not device type %u",
				s->instance, d->ops->name, r.device_id);
	for (i = 0; i < r.nqueues; i++)
		if (r.q[i].num > VIRTQ_MAX || (r.q[i].num & (r.q[i].num - 1)))
			return vmm_fail(why, -EBADMSG, "virtio device %u: bad queue size %u",
					s->instance, r.q[i].num);
	pthread_mutex_lock(&d->lock);
	d->r = r;
	if (d->ops->changed)
		d->ops->changed(d);
	pthread_mutex_unlock(&d->lock);
	return 0;
}
