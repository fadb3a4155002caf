// SPDX-License-Identifier: GPL-2.0
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "kvm_vm.h"

int kvm_check(int ret, const char *what, const char *file, int line)
{
	if (ret >= 0)
		return ret;
	fprintf(stderr, "%s:%d: %s: %s\n", file, line, what, strerror(-ret));
	exit(1);
}

static void kick(int sig)
{
}

static int add_slot(struct kvm_test_vm *vm, uint64_t gpa, uint64_t size)
{
	struct kvm_userspace_memory_region r = {
		.slot = vm->nslots,
		.guest_phys_addr = gpa,
		.memory_size = size,
	};
	void *host = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int err;

	if (host == MAP_FAILED)
		return -errno;
	r.userspace_addr = (uintptr_t)host;
	err = __vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
	if (err) {
		munmap(host, size);
		return err;
	}
	vm->slots[vm->nslots].gpa = gpa;
	vm->slots[vm->nslots].size = size;
	vm->slots[vm->nslots].host = host;
	vm->nslots++;
	return 0;
}

static int add_vcpu(struct kvm_test_vm *vm)
{
	struct kvm_vcpu *vcpu = &vm->vcpus[vm->nvcpus];
	int fd = __vm_ioctl(vm, KVM_CREATE_VCPU, vm->nvcpus);

	if (fd < 0)
		return fd;
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (vcpu->run == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	vcpu->fd = fd;
	vm->nvcpus++;
	return 0;
}

int __kvm_vm_create(struct kvm_test_vm *vm, const uint64_t *slot_sizes, int nslots,
		    int nvcpus)
{
	uint64_t gpa = 0;
	int i, err;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = -1;
	if (nslots > KVM_VM_MAX_SLOTS || nvcpus > KVM_VM_MAX_VCPUS)
		return -E2BIG;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	err = vm->vm_fd = __kvm_ioctl(vm, KVM_CREATE_VM, 0);
	if (err < 0)
		goto fail;
	for (i = 0; i < nslots; i++) {
		err = add_slot(vm, gpa, slot_sizes[i]);
		if (err)
			goto fail;
		gpa += slot_sizes[i];
	}
	err = vm->run_size = __kvm_ioctl(vm, KVM_GET_VCPU_MMAP_SIZE, 0);
	for (i = 0; i < nvcpus && err >= 0; i++)
		err = add_vcpu(vm);
	if (err < 0)
		goto fail;
	signal(SIGUSR1, kick);
	return 0;
fail:
	kvm_vm_destroy(vm);
	return err;
}

void *kvm_vm_gpa(struct kvm_test_vm *vm, uint64_t gpa)
{
	int i;

	for (i = 0; i < vm->nslots; i++)
		if (gpa >= vm->slots[i].gpa && gpa < vm->slots[i].gpa + vm->slots[i].size)
			return (char *)vm->slots[i].host + gpa - vm->slots[i].gpa;
	return NULL;
}

int __kvm_vm_load(struct kvm_test_vm *vm, const void *code, size_t len)
{
	struct kvm_segment cs = {
		.base = 0, .limit = 0xffffffff, .selector = 8, .type = 11,
		.present = 1, .s = 1, .db = 1, .g = 1,
	};
	struct kvm_segment ds = cs;
	struct kvm_regs regs = { .rip = KVM_VM_GUEST_GPA, .rflags = 2 };
	void *dst = kvm_vm_gpa(vm, KVM_VM_GUEST_GPA);
	struct kvm_sregs sregs;
	int i, err;

	if (!dst || !kvm_vm_gpa(vm, KVM_VM_GUEST_GPA + len - 1))
		return -ERANGE;
	memcpy(dst, code, len);
	ds.selector = 16;
	ds.type = 3;
	for (i = 0; i < vm->nvcpus; i++) {
		err = __vcpu_ioctl(&vm->vcpus[i], KVM_GET_SREGS, &sregs);
		if (err)
			return err;
		sregs.cs = cs;
		sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = ds;
		sregs.cr0 |= 1;
		err = __vcpu_ioctl(&vm->vcpus[i], KVM_SET_SREGS, &sregs);
		if (!err)
			err = __vcpu_ioctl(&vm->vcpus[i], KVM_SET_REGS, &regs);
		if (err)
			return err;
	}
	return 0;
}

static void *vcpu_thread(void *arg)
{
	struct kvm_test_vm *vm = arg;
	struct kvm_vcpu *vcpu = &vm->vcpus[0];

	while (!vm->stop) {
		if (vm->paused) {
			usleep(1000);
			continue;
		}
		vm->in_run = true;
		if (__vcpu_ioctl(vcpu, KVM_RUN, 0) == 0)
			vm->exit_reason = vcpu->run->exit_reason;
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

int __kvm_vm_start(struct kvm_test_vm *vm)
{
	if (!vm->nvcpus)
		return -EINVAL;
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
	for (i = 0; i < vm->nvcpus; i++) {
		munmap(vm->vcpus[i].run, vm->run_size);
		close(vm->vcpus[i].fd);
	}
	vm->nvcpus = 0;
	for (i = 0; i < vm->nslots; i++)
		munmap(vm->slots[i].host, vm->slots[i].size);
	vm->nslots = 0;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
}
