// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-page harvesting for a registered VM, through KVM's own dirty-log
 * path with manual protect: KVM_GET_DIRTY_LOG reads a memslot's bitmap,
 * KVM_CLEAR_DIRTY_LOG clears exactly the bits that were read and
 * write-protects those pages again, so a page written after its harvest is
 * reported by the next one. Bits are never cleared by hand.
 *
 * KVM does not export its dirty-log functions, and its VM ioctls refuse any
 * process but the VM's owner. The commands therefore run in the owner's
 * context (the VMM sends them) and call the VM file's own ioctl, with the
 * ioctl arguments in a small mapping in the owner's memory.
 */

#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "dirty.h"
#include "registry.h"

/* Layout of the scratch mapping. */
#define SCRATCH_LOG		0
#define SCRATCH_CLEAR		64
#define SCRATCH_CAP		128
#define SCRATCH_REGION		256
#define SCRATCH_BITMAPS		512

static long vm_ioctl(struct vmmig_vm *vm, unsigned int cmd, unsigned long uarg)
{
	return vm->file->f_op->unlocked_ioctl(vm->file, cmd, uarg);
}

static int scratch_ioctl(struct vmmig_vm *vm, unsigned int cmd,
			 unsigned long off, const void *arg, size_t len)
{
	unsigned long uarg = vm->dirty.scratch + off;

	if (copy_to_user((void __user *)uarg, arg, len))
		return -EFAULT;
	return vm_ioctl(vm, cmd, uarg);
}

static int set_logging(struct vmmig_vm *vm, struct vmmig_dirty_slot *s, bool on)
{
	struct kvm_userspace_memory_region r = {
		.slot = s->id,
		.flags = s->flags | (on ? KVM_MEM_LOG_DIRTY_PAGES : 0),
		.guest_phys_addr = s->base_gfn << PAGE_SHIFT,
		.memory_size = s->npages << PAGE_SHIFT,
		.userspace_addr = s->uaddr,
	};

	return scratch_ioctl(vm, KVM_SET_USER_MEMORY_REGION, SCRATCH_REGION,
			     &r, sizeof(r));
}

static int set_manual_protect(struct vmmig_vm *vm, bool on)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		.args[0] = on ? KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE : 0,
	};

	return scratch_ioctl(vm, KVM_ENABLE_CAP, SCRATCH_CAP, &cap, sizeof(cap));
}

/**
 * vmmig_dirty_owner() - whether the sender is the VM's owner, the only
 * process whose VM ioctls KVM accepts
 * @vm: the VM
 * @extack: says so when it is not
 *
 * Return: true for the owner.
 */
bool vmmig_dirty_owner(struct vmmig_vm *vm, struct netlink_ext_ack *extack)
{
	if (current->mm == vm->kvm->mm)
		return true;
	NL_SET_ERR_MSG_FMT_MOD(extack,
			       "dirty logging must be driven by the VM's owner (pid %d)",
			       vm->kvm->userspace_pid);
	return false;
}

static void free_slots(struct vmmig_dirty *d)
{
	int i;

	for (i = 0; i < d->nslots; i++)
		kvfree(d->slots[i].bitmap);
	kfree(d->slots);
	d->slots = NULL;
	d->nslots = 0;
}

/* Copies KVM's memslots of address space 0 (SMM's alias the same memory). */
static int snapshot_slots(struct vmmig_vm *vm, struct netlink_ext_ack *extack)
{
	struct vmmig_dirty *d = &vm->dirty;
	struct kvm *kvm = vm->kvm;
	struct kvm_memory_slot *slot;
	struct kvm_memslots *slots;
	size_t off = SCRATCH_BITMAPS;
	int bkt, n = 0, ret = 0;

	mutex_lock(&kvm->slots_lock);
	slots = kvm_memslots(kvm);
	kvm_for_each_memslot(slot, bkt, slots)
		n++;
	d->slots = kcalloc(n, sizeof(*d->slots), GFP_KERNEL_ACCOUNT);
	if (!d->slots) {
		ret = -ENOMEM;
		goto out;
	}
	kvm_for_each_memslot(slot, bkt, slots) {
		struct vmmig_dirty_slot *s = &d->slots[d->nslots];

		if (slot->flags & KVM_MEM_LOG_DIRTY_PAGES) {
			NL_SET_ERR_MSG_FMT_MOD(extack,
					       "memslot %d already logs dirty pages: another program is tracking this VM",
					       slot->id);
			ret = -EBUSY;
			goto out;
		}
		if (slot->flags & ~KVM_MEM_READONLY) {
			NL_SET_ERR_MSG_FMT_MOD(extack,
					       "memslot %d has flags %#x that vmmig cannot track",
					       slot->id, slot->flags);
			ret = -EOPNOTSUPP;
			goto out;
		}
		s->id = slot->id;
		s->flags = slot->flags;
		s->base_gfn = slot->base_gfn;
		s->npages = slot->npages;
		s->uaddr = slot->userspace_addr;
		s->bitmap = kvzalloc(kvm_dirty_bitmap_bytes(slot), GFP_KERNEL_ACCOUNT);
		if (!s->bitmap) {
			ret = -ENOMEM;
			goto out;
		}
		s->scratch = off;
		off += kvm_dirty_bitmap_bytes(slot);
		d->nslots++;
	}
	d->scratch_len = PAGE_ALIGN(off);
out:
	mutex_unlock(&kvm->slots_lock);
	return ret;
}

static bool slots_changed(struct vmmig_vm *vm)
{
	u64 gen;

	mutex_lock(&vm->kvm->slots_lock);
	gen = kvm_memslots(vm->kvm)->generation;
	mutex_unlock(&vm->kvm->slots_lock);
	return gen != vm->dirty.memslots_gen;
}

/* Undoes start; best effort, in the owner's context only. */
static void dirty_undo(struct vmmig_vm *vm, int nlogging)
{
	struct vmmig_dirty *d = &vm->dirty;
	int i;

	if (current->mm == vm->kvm->mm && d->scratch) {
		for (i = 0; i < nlogging; i++)
			set_logging(vm, &d->slots[i], false);
		if (d->enabled_manual)
			set_manual_protect(vm, false);
		vm_munmap(d->scratch, d->scratch_len);
	}
	d->scratch = 0;
	d->enabled_manual = false;
	free_slots(d);
}

static int dirty_start_locked(struct vmmig_vm *vm, struct netlink_ext_ack *extack)
{
	struct vmmig_dirty *d = &vm->dirty;
	unsigned long addr;
	int i, ret;

	if (d->active) {
		NL_SET_ERR_MSG_MOD(extack, "dirty logging is already started");
		return -EALREADY;
	}
	if (vm->kvm->dirty_ring_size) {
		NL_SET_ERR_MSG_MOD(extack, "VM uses the KVM dirty ring, not the dirty log");
		return -EOPNOTSUPP;
	}
	ret = snapshot_slots(vm, extack);
	if (ret)
		goto err;
	addr = vm_mmap(NULL, 0, d->scratch_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, 0);
	if (IS_ERR_VALUE(addr)) {
		ret = (long)addr;
		goto err;
	}
	d->scratch = addr;
	for (i = 0; i < d->nslots; i++)
		d->slots[i].scratch += addr;

	if (!vm->kvm->manual_dirty_log_protect) {
		ret = set_manual_protect(vm, true);
		if (ret) {
			NL_SET_ERR_MSG_MOD(extack, "KVM refused manual dirty-log protection");
			goto err;
		}
		d->enabled_manual = true;
	}
	for (i = 0; i < d->nslots; i++) {
		ret = set_logging(vm, &d->slots[i], true);
		if (ret) {
			NL_SET_ERR_MSG_FMT_MOD(extack,
					       "KVM refused dirty logging on memslot %u",
					       d->slots[i].id);
			dirty_undo(vm, i);
			return ret;
		}
	}
	/* Our own flag changes moved the generation: take it from here. */
	mutex_lock(&vm->kvm->slots_lock);
	d->memslots_gen = kvm_memslots(vm->kvm)->generation;
	mutex_unlock(&vm->kvm->slots_lock);
	d->round = 0;
	d->total_pages = 0;
	d->pages = 0;
	d->time_ns = 0;
	d->interval_ns = 0;
	d->rate = 0;
	d->nr_ranges = 0;
	d->last_ns = ktime_get_ns();
	WRITE_ONCE(d->active, true);
	return 0;
err:
	dirty_undo(vm, 0);
	return ret;
}

/**
 * vmmig_dirty_start() - turn on KVM's dirty logging of a VM, for vmmig
 * @vm: the VM; the caller is its owner (vmmig_dirty_owner())
 * @extack: why it cannot
 *
 * Return: 0 or a negative errno.
 */
int vmmig_dirty_start(struct vmmig_vm *vm, struct netlink_ext_ack *extack)
{
	int ret;

	mutex_lock(&vm->dirty_lock);
	ret = dirty_start_locked(vm, extack);
	mutex_unlock(&vm->dirty_lock);
	return ret;
}

/**
 * vmmig_dirty_stop() - stop dirty logging of a VM
 * @vm: the VM
 * @extack: NULL, or where to say that it was not started
 *
 * In the owner's context, KVM's dirty logging is turned off again. Anywhere
 * else (unregistration by another process, namespace exit, module unload)
 * only vmmig's side is dropped: the logging itself dies with the VM, or
 * the owner's next start finds it on and refuses.
 *
 * Return: 0, or -ENOTCONN when it was not started.
 */
int vmmig_dirty_stop(struct vmmig_vm *vm, struct netlink_ext_ack *extack)
{
	int ret = 0;

	mutex_lock(&vm->dirty_lock);
	if (vm->dirty.active) {
		WRITE_ONCE(vm->dirty.active, false);
		dirty_undo(vm, vm->dirty.nslots);
	} else {
		NL_SET_ERR_MSG_MOD(extack, "dirty logging is not started");
		ret = -ENOTCONN;
	}
	mutex_unlock(&vm->dirty_lock);
	return ret;
}

static int ranges_add(struct vmmig_dirty_ranges *r, u64 gfn, u64 npages)
{
	struct vmmig_dirty_range range = { .gfn = gfn, .npages = npages };

	if (r->n >= r->max)
		return -ENOSPC;
	if (r->ubuf) {
		if (copy_to_user(&r->ubuf[r->n], &range, sizeof(range)))
			return -EFAULT;
	} else {
		r->kbuf[r->n] = range;
	}
	r->n++;
	return 0;
}

/* Reads one memslot's log into s->bitmap and appends its ranges. */
static int harvest_slot(struct vmmig_vm *vm, struct vmmig_dirty_slot *s,
			struct vmmig_dirty_ranges *r)
{
	struct kvm_dirty_log log = {
		.slot = s->id,
		.dirty_bitmap = (void __user *)s->scratch,
	};
	unsigned long bytes = ALIGN(s->npages, BITS_PER_LONG) / 8;
	unsigned long start, end;
	int ret;

	ret = scratch_ioctl(vm, KVM_GET_DIRTY_LOG, SCRATCH_LOG, &log, sizeof(log));
	if (ret)
		return ret;
	if (copy_from_user(s->bitmap, (void __user *)s->scratch, bytes))
		return -EFAULT;
	s->pages = bitmap_weight(s->bitmap, s->npages);
	for (start = find_first_bit(s->bitmap, s->npages); start < s->npages;
	     start = find_next_bit(s->bitmap, s->npages, end)) {
		end = find_next_zero_bit(s->bitmap, s->npages, start);
		ret = ranges_add(r, s->base_gfn + start, end - start);
		if (ret)
			return ret;
	}
	return 0;
}

/* Clears and re-protects exactly the bits harvest_slot() read. */
static int clear_slot(struct vmmig_vm *vm, struct vmmig_dirty_slot *s)
{
	struct kvm_clear_dirty_log clear = {
		.slot = s->id,
		.first_page = 0,
		.num_pages = s->npages,
		.dirty_bitmap = (void __user *)s->scratch,
	};
	unsigned long bytes = ALIGN(s->npages, BITS_PER_LONG) / 8;

	if (!s->pages)
		return 0;
	/* The owner's copy is only a vehicle: clear what we reported. */
	if (copy_to_user((void __user *)s->scratch, s->bitmap, bytes))
		return -EFAULT;
	return scratch_ioctl(vm, KVM_CLEAR_DIRTY_LOG, SCRATCH_CLEAR, &clear,
			     sizeof(clear));
}

/**
 * vmmig_dirty_harvest() - one round: get, report and clear the dirty pages
 * of every memslot
 * @vm: the VM; the caller is its owner and holds vm->dirty_lock
 * @r: where the ranges go
 * @extack: why it failed
 *
 * Nothing is cleared unless every range fits in @r.
 *
 * Return: 0 or a negative errno.
 */
int vmmig_dirty_harvest(struct vmmig_vm *vm, struct vmmig_dirty_ranges *r,
			struct netlink_ext_ack *extack)
{
	struct vmmig_dirty *d = &vm->dirty;
	u64 t0 = ktime_get_ns(), pages = 0, interval;
	int i, ret;

	if (!d->active) {
		NL_SET_ERR_MSG_MOD(extack, "dirty logging is not started (DIRTY_START)");
		return -ENOTCONN;
	}
	if (slots_changed(vm)) {
		NL_SET_ERR_MSG_MOD(extack,
				   "the VM's memslots changed since dirty logging started: stop and start again");
		return -ESTALE;
	}
	for (i = 0; i < d->nslots; i++) {
		ret = harvest_slot(vm, &d->slots[i], r);
		if (ret == -ENOSPC) {
			NL_SET_ERR_MSG_FMT_MOD(extack,
					       "more than %llu dirty ranges: pass a larger buffer (nothing was cleared)",
					       r->max);
			return ret;
		}
		if (ret) {
			NL_SET_ERR_MSG_FMT_MOD(extack,
					       "reading the dirty log of memslot %u failed (nothing was cleared)",
					       d->slots[i].id);
			return ret;
		}
		pages += d->slots[i].pages;
	}
	/* Only now, with every range safely out, clear. */
	for (i = 0; i < d->nslots; i++) {
		ret = clear_slot(vm, &d->slots[i]);
		if (ret) {
			NL_SET_ERR_MSG_FMT_MOD(extack,
					       "clearing the dirty log of memslot %u failed",
					       d->slots[i].id);
			return ret;
		}
	}

	interval = max_t(u64, t0 - d->last_ns, 1);
	for (i = 0; i < d->nslots; i++)
		d->slots[i].rate = div64_u64(d->slots[i].pages * NSEC_PER_SEC, interval);
	d->round++;
	d->pages = pages;
	d->total_pages += pages;
	d->nr_ranges = r->n;
	d->interval_ns = interval;
	d->rate = div64_u64(pages * NSEC_PER_SEC, interval);
	d->last_ns = t0;
	d->time_ns = ktime_get_ns() - t0;
	return 0;
}
