/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The KVM test VM every C test and benchmark builds on: memslots of
 * anonymous memory from guest physical address 0, vCPUs in flat 32-bit
 * protected mode running a small guest loaded at 0x1000, and vCPU 0 on a
 * thread that can be paused.
 *
 * As in the kernel's KVM selftests, each call comes in two forms:
 * __kvm_vm_create(), __vm_ioctl(), ... return the error (-errno), for tests
 * that expect one or skip on it; kvm_vm_create(), vm_ioctl(), ... exit the
 * test, naming the call and where it was made, when it fails.
 */
#ifndef VMMIG_KVM_VM_H
#define VMMIG_KVM_VM_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <linux/kvm.h>

#define KVM_VM_MAX_SLOTS	4
#define KVM_VM_MAX_VCPUS	4
/* Where kvm_vm_load() puts the guest and starts every vCPU. */
#define KVM_VM_GUEST_GPA	0x1000

struct kvm_vcpu {
	int fd;
	struct kvm_run *run;
};

struct kvm_test_vm {
	int kvm_fd, vm_fd;
	struct {
		uint64_t gpa, size;
		void *host;
	} slots[KVM_VM_MAX_SLOTS];
	int nslots;
	struct kvm_vcpu vcpus[KVM_VM_MAX_VCPUS];
	int nvcpus;
	int run_size;		/* of each vCPU's struct kvm_run mapping */
	/* vCPU 0's thread, kvm_vm_start() */
	pthread_t thread;
	volatile bool paused, stop, in_run;
	volatile int exit_reason;
	/* When set, a HLT exit pauses this long and runs the vCPU again. */
	volatile unsigned int hlt_sleep_us;
};

/*
 * A VM with @nslots memslots of @slot_sizes bytes, one after the other, and
 * @nvcpus vCPUs. -ENODEV when there is no /dev/kvm; on any error nothing is
 * left to destroy.
 */
int __kvm_vm_create(struct kvm_test_vm *vm, const uint64_t *slot_sizes, int nslots,
		    int nvcpus);
/* Copies @len bytes of guest code to KVM_VM_GUEST_GPA and points every vCPU at it. */
int __kvm_vm_load(struct kvm_test_vm *vm, const void *code, size_t len);
/* Where guest physical address @gpa is in this process, or NULL. */
void *kvm_vm_gpa(struct kvm_test_vm *vm, uint64_t gpa);
/* Runs vCPU 0 on a thread until it exits for anything but a signal. */
int __kvm_vm_start(struct kvm_test_vm *vm);
/* Returns once vCPU 0 is out of KVM_RUN. */
void kvm_vm_pause(struct kvm_test_vm *vm);
void kvm_vm_resume(struct kvm_test_vm *vm);
void kvm_vm_destroy(struct kvm_test_vm *vm);

static inline int kvm_errno(int ret)
{
	return ret < 0 ? -errno : ret;
}

/* ioctls on /dev/kvm, the VM and a vCPU: the result, or -errno. */
#define __kvm_ioctl(vm, cmd, arg)	kvm_errno(ioctl((vm)->kvm_fd, cmd, arg))
#define __vm_ioctl(vm, cmd, arg)	kvm_errno(ioctl((vm)->vm_fd, cmd, arg))
#define __vcpu_ioctl(vcpu, cmd, arg)	kvm_errno(ioctl((vcpu)->fd, cmd, arg))

/* Exits the test when @ret is an error, naming @what and the caller. */
int kvm_check(int ret, const char *what, const char *file, int line);

#define kvm_ioctl(vm, cmd, arg) \
	kvm_check(__kvm_ioctl(vm, cmd, arg), #cmd, __FILE__, __LINE__)
#define vm_ioctl(vm, cmd, arg) \
	kvm_check(__vm_ioctl(vm, cmd, arg), #cmd, __FILE__, __LINE__)
#define vcpu_ioctl(vcpu, cmd, arg) \
	kvm_check(__vcpu_ioctl(vcpu, cmd, arg), #cmd, __FILE__, __LINE__)
#define kvm_vm_create(vm, slot_sizes, nslots, nvcpus) \
	((void)kvm_check(__kvm_vm_create(vm, slot_sizes, nslots, nvcpus), \
			 "kvm_vm_create", __FILE__, __LINE__))
#define kvm_vm_load(vm, code, len) \
	((void)kvm_check(__kvm_vm_load(vm, code, len), "kvm_vm_load", __FILE__, __LINE__))
#define kvm_vm_start(vm) \
	((void)kvm_check(__kvm_vm_start(vm), "kvm_vm_start", __FILE__, __LINE__))

/* The guests of kvm_guest.S. */
extern const char dirty_guest_start[], dirty_guest_end[];
extern const char rate_guest_start[], rate_guest_end[];
extern const char stride_guest_start[], stride_guest_end[];

#endif
