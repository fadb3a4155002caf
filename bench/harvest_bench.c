// SPDX-License-Identifier: GPL-2.0
/*
 * make bench, inside the test VM: the cost of one in-kernel harvest round
 * (VMMIG_CMD_DIRTY_HARVEST) against the userspace loop KVM_GET_DIRTY_LOG +
 * bitmap scan + KVM_CLEAR_DIRTY_LOG, on the same VM and the same dirty
 * pattern, alternating, for several guest sizes and dirty shares; and the
 * cost of dirty-rate sampling to the guest's own speed. Prints ratios from
 * the same run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#include "bench.h"
#include "kvm_vm.h"
#include "registry.h"

#define MIB	(1024 * 1024ULL)
#define PAGE	4096ULL
#define REPS	5

/* Runs one pass of the stride guest: it writes every stride-th page, halts. */
static int guest_pass(struct kvm_test_vm *vm)
{
	uint32_t *ctl = kvm_vm_gpa(vm, 0x2000);

	ctl[0]++;
	vcpu_ioctl(&vm->vcpus[0], KVM_RUN, 0);
	return vm->vcpus[0].run->exit_reason == KVM_EXIT_HLT ? 0 : -EIO;
}

/* The userspace loop a VMM would run without vmmig.ko. */
static uint64_t user_harvest(struct kvm_test_vm *vm, unsigned long *bitmap,
			     struct vmmig_dirty_range *ranges, uint64_t *nr)
{
	uint64_t npages = vm->slots[0].size / PAGE, t0 = now_ns(), p = 0, n = 0;
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	struct kvm_clear_dirty_log clear = {
		.slot = 0, .first_page = 0, .num_pages = npages,
		.dirty_bitmap = bitmap,
	};

	vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log);
	while (p < npages) {
		uint64_t start;

		if (!(bitmap[p / 64] >> (p % 64) & 1)) {
			p = bitmap[p / 64] >> (p % 64) ? p + 1 : (p | 63) + 1;
			continue;
		}
		start = p;
		while (p < npages && bitmap[p / 64] >> (p % 64) & 1)
			p++;
		ranges[n].gfn = start;
		ranges[n++].npages = p - start;
	}
	vm_ioctl(vm, KVM_CLEAR_DIRTY_LOG, &clear);
	*nr = n;
	return now_ns() - t0;
}


static int bench_size(struct vmmig_nl *nl, uint64_t size, unsigned int stride)
{
	uint64_t a[REPS], b[REPS], k[REPS], nr_user = 0, pages = 0;
	uint64_t npages = size / PAGE;
	unsigned long *bitmap = calloc(npages / 64 + 1, sizeof(long));
	size_t bufsize = (npages / 2 + 1) * sizeof(struct vmmig_dirty_range);
	struct vmmig_dirty_range *buf = malloc(bufsize), *ubuf = malloc(bufsize);
	static const uint8_t uuid[VMMIG_UUID_LEN] = { 0xbe };
	struct vmmig_dirty_stats st;
	struct kvm_test_vm vm;
	uint32_t *ctl;
	int i, err;

	kvm_vm_create(&vm, &size, 1, 1);
	kvm_vm_load(&vm, stride_guest_start, stride_guest_end - stride_guest_start);
	ctl = kvm_vm_gpa(&vm, 0x2000);
	ctl[3] = (npages - 256) / stride;	/* pages written per pass */
	ctl[4] = 1 * MIB;			/* from 1 MiB */
	ctl[5] = stride * PAGE;
	err = vmmig_vm_register(nl, vm.vm_fd, "bench", uuid);
	if (!err)
		err = vmmig_dirty_start(nl, VMMIG_BY_NAME("bench"));
	if (err) {
		fprintf(stderr, "bench: %s\n", vmmig_nl_strerror(nl, err));
		return err;
	}
	/* Warm up: fault everything in, drain the log. */
	guest_pass(&vm);
	vmmig_dirty_harvest(nl, VMMIG_BY_NAME("bench"), buf, bufsize, &st);
	for (i = 0; i < REPS; i++) {
		uint64_t t0;

		if (guest_pass(&vm))
			return -EIO;
		t0 = now_ns();
		err = vmmig_dirty_harvest(nl, VMMIG_BY_NAME("bench"), buf, bufsize, &st);
		a[i] = now_ns() - t0;
		k[i] = st.time_ns;
		pages = st.pages;
		if (err)
			return err;
		if (guest_pass(&vm))
			return -EIO;
		b[i] = user_harvest(&vm, bitmap, ubuf, &nr_user);
	}
	printf("  %5llu MiB  %4.1f%% dirty  %7llu pages  in-kernel %8.1f us (kernel part %8.1f us)  userspace loop %8.1f us  ratio %.2f\n",
	       (unsigned long long)(size / MIB), 100.0 / stride,
	       (unsigned long long)pages, median_u64(a, REPS) / 1e3,
	       median_u64(k, REPS) / 1e3, median_u64(b, REPS) / 1e3,
	       (double)median_u64(a, REPS) / median_u64(b, REPS));
	if (nr_user != st.nr_ranges)
		printf("  warning: %llu ranges from the userspace loop, %u in-kernel\n",
		       (unsigned long long)nr_user, st.nr_ranges);
	vmmig_dirty_stop(nl, VMMIG_BY_NAME("bench"));
	vmmig_vm_unregister(nl, VMMIG_BY_NAME("bench"));
	kvm_vm_destroy(&vm);
	free(bitmap);
	free(buf);
	free(ubuf);
	return 0;
}

static volatile int bumping;

/* New values for the guest to write, so that rewritten pages change. */
static void *bump(void *arg)
{
	uint32_t *round = arg;

	while (bumping) {
		(*round)++;
		usleep(10 * 1000);
	}
	return NULL;
}

/* Guest writes per second, with and without sampling going on. */
static int bench_sampling(struct vmmig_nl *nl)
{
	static const uint64_t size = 64 * MIB;
	struct vmmig_dirty_rate r;
	struct kvm_test_vm vm;
	pthread_t bumper;
	uint32_t *ctl, w0;
	uint64_t t0, quiet, busy;
	int err;

	kvm_vm_create(&vm, &size, 1, 1);
	/* Touch every page once, so that first-touch faults do not count. */
	ctl = kvm_vm_gpa(&vm, 0x2000);
	ctl[3] = (size - MIB) / PAGE;
	ctl[4] = MIB;
	ctl[5] = PAGE;
	kvm_vm_load(&vm, stride_guest_start, stride_guest_end - stride_guest_start);
	err = guest_pass(&vm);
	if (err)
		return err;
	kvm_vm_load(&vm, dirty_guest_start, dirty_guest_end - dirty_guest_start);
	ctl[0] = 1;
	ctl[1] = 99;
	kvm_vm_start(&vm);
	bumping = 1;
	pthread_create(&bumper, NULL, bump, &ctl[0]);
	sleep(1);

	w0 = ctl[2];
	t0 = now_ns();
	sleep(3);
	quiet = (uint64_t)(ctl[2] - w0) * 1000000000ULL / (now_ns() - t0);

	w0 = ctl[2];
	t0 = now_ns();
	err = vmmig_dirty_sample(nl, VMMIG_BY_FD(vm.vm_fd), 3, 8192, &r);
	busy = (uint64_t)(ctl[2] - w0) * 1000000000ULL / (now_ns() - t0);
	if (err)
		return err;
	bumping = 0;
	pthread_join(bumper, NULL);
	printf("  guest writes/s: %llu alone, %llu while 8192 of its %llu pages are sampled (ratio %.2f); estimated dirty rate %llu pages/s\n",
	       (unsigned long long)quiet, (unsigned long long)busy,
	       (unsigned long long)(size / PAGE), (double)busy / quiet,
	       (unsigned long long)r.rate);
	kvm_vm_destroy(&vm);
	return 0;
}

int main(int argc, char **argv)
{
	static const uint64_t sizes[] = { 64 * MIB, 256 * MIB, 1024 * MIB };
	static const unsigned int strides[] = { 100, 10 };
	struct vmmig_nl nl;
	int err;

	err = vmmig_nl_open(&nl);
	if (err) {
		fprintf(stderr, "bench: %s\n", vmmig_nl_strerror(&nl, err));
		return 1;
	}
	printf("dirty harvest, one round, median of %d (ratio: in-kernel / userspace loop; target <= 0.5):\n",
	       REPS);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		for (size_t j = 0; j < 2; j++)
			if ((err = bench_size(&nl, sizes[i], strides[j]))) {
				fprintf(stderr, "bench: %s\n", strerror(-err));
				return 1;
			}
	printf("kernel memory of a harvest: one bitmap copy, 32 KiB per GiB of guest (plus 32 KiB per GiB mapped in the VMM for the ioctl arguments)\n");
	printf("dirty-rate sampling:\n");
	err = bench_sampling(&nl);
	if (err) {
		fprintf(stderr, "bench: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
