// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/kvm.h>

#include "kvm_vm.h"

static void kick(int sig)
{
}

int kvm_vm_create(struct kvm_test_vm *vm, const uint64_t *sizes, int nslots)
{
	uint64_t gpa = 0;
	int i, mmap_size;

	memset(vm, 0, sizeof(*vm));
	vm->vm_fd = vm->vcpu_fd = -1;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		return -errno;
	for (i = 0; i < nslots && i < KVM_VM_MAX_SLOTS; i++) {
		struct kvm_userspace_memory_region r = {
			.slot = i,
			.guest_phys_addr = gpa,
			.memory_size = sizes[i],
		};
		void *host = mmap(NULL, sizes[i], PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

		if (host == MAP_FAILED)
			return -errno;
		r.userspace_addr = (uintptr_t)host;
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r))
			return -errno;
		vm->slots[i].gpa = gpa;
		vm->slots[i].size = sizes[i];
		vm->slots[i].host = host;
		vm->nslots++;
		gpa += sizes[i];
	}
	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		return -errno;
	mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED)
		return -errno;
	signal(SIGUSR1, kick);
	return 0;
}

void *kvm_vm_gpa(struct kvm_test_vm *vm, uint64_t gpa)
{
	int i;

	for (i = 0; i < vm->nslots; i++)
		if (gpa >= vm->slots[i].gpa && gpa < vm->slots[i].gpa + vm->slots[i].size)
			return (char *)vm->slots[i].host + gpa - vm->slots[i].gpa;
	return NULL;
}

int kvm_vm_load(struct kvm_test_vm *vm, const void *code, size_t len)
{
	struct kvm_segment cs = {
		.base = 0, .limit = 0xffffffff, .selector = 8, .type = 11,
		.present = 1, .s = 1, .db = 1, .g = 1,
	};
	struct kvm_segment ds = cs;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	struct kvm_sregs sregs;

	memcpy(kvm_vm_gpa(vm, 0x1000), code, len);
	if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs))
		return -errno;
	ds.selector = 16;
	ds.type = 3;
	sregs.cs = cs;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = ds;
	sregs.cr0 |= 1;
	if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) ||
	    ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs))
		return -errno;
	return 0;
}

static void *vcpu_thread(void *arg)
{
	struct kvm_test_vm *vm = arg;

	while (!vm->stop) {
		if (vm->paused) {
			usleep(1000);
			continue;
		}
		vm->in_run = true;
		if (ioctl(vm->vcpu_fd, KVM_RUN, 0) == 0)
			vm->exit_reason = vm->run->exit_reason;
		vm->in_run = false;
		if (vm->exit_reason == KVM_EXIT_HLT && vm->hlt_sleep_us) {
			usleep(vm->hlt_sleep_us);
			vm->exit_reason = 0;
			continue;
		}
		if (vm->exit_reason && vm->exit_reason != KVM_EXIT_INTR)
			break;
	}
	vm->in_run = false;
	return NULL;
}

int kvm_vm_start(struct kvm_test_vm *vm)
{
	return -pthread_create(&vm->thread, NULL, vcpu_thread, vm);
}

void kvm_vm_pause(struct kvm_test_vm *vm)
{
	vm->paused = true;
	/* KVM_RUN returns -EINTR on a signal; repeat until it is out. */
	do {
		pthread_kill(vm->thread, SIGUSR1);
		usleep(1000);
	} while (vm->in_run);
}

void kvm_vm_resume(struct kvm_test_vm *vm)
{
	vm->paused = false;
}

void kvm_vm_destroy(struct kvm_test_vm *vm)
{
	int i;

	if (vm->thread) {
		vm->stop = true;
		kvm_vm_pause(vm);
		pthread_join(vm->thread, NULL);
		vm->thread = 0;
	}
	for (i = 0; i < vm->nslots; i++)
		munmap(vm->slots[i].host, vm->slots[i].size);
	vm->nslots = 0;
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vcpu_fd = vm->vm_fd = vm->kvm_fd = -1;
}
