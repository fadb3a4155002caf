// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty-rate sampling of any KVM VM, of any VMM: hash a random sample of
 * guest pages at two instants and count the pages that changed. No dirty
 * logging is turned on and the guest is not stopped; the pages are read
 * through the owner's address space with remote GUP (kvm_read_guest() from
 * another process would read the wrong address space). Pages that are not
 * mapped are not faulted in (a read fault would allocate a page for a hole
 * of a shmem file): in a file mapping, the page comes from the file's page
 * cache (a VMM that restored its guest with write(2) has its pages there,
 * mapped only once the guest touches them); a hole, or anonymous memory
 * never touched, is a zero page. Pages of only zeros hash alike, so the
 * second pass counts them: how much of the guest a migration, which sends
 * zero pages as markers, will really copy.
 */

#include <linux/delay.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/kvm_host.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/xxhash.h>

#include "compat.h"
#include "sample.h"

#define SAMPLE_MAX_SLOTS	32

struct sample_slot {
	u64 uaddr;
	u64 npages;
};

struct sample {
	struct sample_slot slots[SAMPLE_MAX_SLOTS];
	int nslots;
	u64 total;
	u32 n;
	u64 *addr;	/* user address of each sampled page */
	u64 *hash;
};

static int sample_slots(struct kvm *kvm, struct sample *s)
{
	struct kvm_memory_slot *slot;
	int bkt;

	mutex_lock(&kvm->slots_lock);
	kvm_for_each_memslot(slot, bkt, kvm_memslots(kvm)) {
		if (s->nslots == SAMPLE_MAX_SLOTS)
			break;
		s->slots[s->nslots].uaddr = slot->userspace_addr;
		s->slots[s->nslots].npages = slot->npages;
		s->total += slot->npages;
		s->nslots++;
	}
	mutex_unlock(&kvm->slots_lock);
	return s->total ? 0 : -ENODATA;
}

static u64 page_addr(const struct sample *s, u64 index)
{
	int i;

	for (i = 0; i < s->nslots; i++) {
		if (index < s->slots[i].npages)
			return s->slots[i].uaddr + (index << PAGE_SHIFT);
		index -= s->slots[i].npages;
	}
	return 0;
}

/*
 * The page at @addr of @mm, with a reference, without faulting it in: the
 * mapped one, or in a shared file mapping the one in the page cache (not
 * in hugetlbfs, whose cache is indexed by huge page, and whose pages a VMM
 * can only have written through its mapping). NULL for a hole, anonymous
 * memory never touched, or a page swapped out.
 */
static struct page *get_page_nofault(struct mm_struct *mm, u64 addr)
{
	struct vm_area_struct *vma;
	struct page *page = NULL;

	mmap_read_lock(mm);
	if (vmmig_get_user_page_remote(mm, addr, FOLL_NOFAULT, &page) != 1) {
		page = NULL;
		vma = vma_lookup(mm, addr);
		if (vma && vma->vm_file && (vma->vm_flags & VM_SHARED) &&
		    !is_vm_hugetlb_page(vma))
			page = find_get_page(vma->vm_file->f_mapping,
					     linear_page_index(vma, addr));
	}
	mmap_read_unlock(mm);
	return page;
}

/* Hash of one page of @mm; 0 when it holds only zeros, or is not there. */
static u64 hash_page(struct mm_struct *mm, u64 addr)
{
	struct page *page = get_page_nofault(mm, addr);
	void *p;
	u64 h;

	if (!page)
		return 0;
	p = kmap_local_page(page);
	h = memchr_inv(p, 0, PAGE_SIZE) ? xxh64(p, PAGE_SIZE, 0) | 1 : 0;
	kunmap_local(p);
	put_page(page);
	return h;
}

static void hash_all(struct mm_struct *mm, struct sample *s, u64 *out)
{
	u32 i;

	for (i = 0; i < s->n; i++) {
		out[i] = hash_page(mm, s->addr[i]);
		cond_resched();
	}
}

static int sample_vm(struct kvm *kvm, u32 seconds, struct sample *s,
		     struct vmmig_sample_result *res, struct netlink_ext_ack *extack)
{
	struct mm_struct *mm = kvm->mm;
	u64 *again, t0, t1, t2;
	u32 i;
	int ret;

	ret = sample_slots(kvm, s);
	if (ret) {
		NL_SET_ERR_MSG_MOD(extack, "the VM has no memory");
		return ret;
	}
	s->n = min_t(u64, s->n, s->total);
	s->addr = kvmalloc_array(s->n, sizeof(u64), GFP_KERNEL);
	s->hash = kvmalloc_array(s->n, sizeof(u64), GFP_KERNEL);
	again = kvmalloc_array(s->n, sizeof(u64), GFP_KERNEL);
	ret = -ENOMEM;
	if (!s->addr || !s->hash || !again)
		goto out;
	for (i = 0; i < s->n; i++)
		s->addr[i] = page_addr(s, ((u64)get_random_u32() * s->total) >> 32);

	ret = -ESRCH;
	if (!mmget_not_zero(mm)) {
		NL_SET_ERR_MSG_MOD(extack, "the VM's owner has exited");
		goto out;
	}
	/*
	 * A pass takes a while (longer on a busy host): a page's two hashes
	 * are, on the average, as far apart as the two passes' midpoints.
	 */
	t0 = ktime_get_ns();
	hash_all(mm, s, s->hash);
	t1 = ktime_get_ns();
	ret = msleep_interruptible(seconds * MSEC_PER_SEC) ? -EINTR : 0;
	if (!ret) {
		t2 = ktime_get_ns();
		hash_all(mm, s, again);
		res->interval_ns = (ktime_get_ns() + t2 - t1 - t0) / 2;
		for (i = 0; i < s->n; i++) {
			res->changed += s->hash[i] != again[i];
			res->zero += !again[i];
		}
	}
	mmput(mm);
out:
	kvfree(again);
	kvfree(s->addr);
	kvfree(s->hash);
	return ret;
}

/**
 * vmmig_sample_rate() - estimate how fast a VM dirties its memory
 * @kvm: the VM; the caller holds a reference
 * @seconds: the interval between the two samples
 * @pages: how many random guest pages to sample (fewer if the guest is
 *	smaller)
 * @res: the estimate
 * @extack: why it failed
 *
 * Sleeps for @seconds; a signal ends it with -EINTR.
 *
 * Return: 0 or a negative errno.
 */
int vmmig_sample_rate(struct kvm *kvm, u32 seconds, u32 pages,
		      struct vmmig_sample_result *res,
		      struct netlink_ext_ack *extack)
{
	struct sample *s;
	int ret;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->n = pages;
	memset(res, 0, sizeof(*res));
	ret = sample_vm(kvm, seconds, s, res, extack);
	if (!ret) {
		res->pages = s->n;
		res->total = s->total;
		res->rate = div64_u64(div64_u64(res->changed * s->total, s->n) * NSEC_PER_SEC,
				      max_t(u64, res->interval_ns, 1));
	}
	kfree(s);
	return ret;
}
