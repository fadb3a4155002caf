/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal KVM VM for the module's tests: memslots of anonymous memory and
 * one vCPU running a flat 32-bit guest on a thread that can be paused.
 */
#ifndef VMMIG_KVM_VM_H
#define VMMIG_KVM_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define KVM_VM_MAX_SLOTS 4

struct kvm_test_vm {
	int kvm_fd, vm_fd, vcpu_fd;
	struct {
		uint64_t gpa, size;
		void *host;
	} slots[KVM_VM_MAX_SLOTS];
	int nslots;
	struct kvm_run *run;
	pthread_t thread;
	volatile bool paused, stop, in_run;
	volatile int exit_reason;
	/* When set, a HLT exit pauses this long and runs the vCPU again. */
	volatile unsigned int hlt_sleep_us;
};

/* Returns -errno; -ENODEV when /dev/kvm is missing. */
int kvm_vm_create(struct kvm_test_vm *vm, const uint64_t *slot_sizes, int nslots);
/* Loads @code at 0x1000 and sets up the vCPU in flat protected mode. */
int kvm_vm_load(struct kvm_test_vm *vm, const void *code, size_t len);
void *kvm_vm_gpa(struct kvm_test_vm *vm, uint64_t gpa);
int kvm_vm_start(struct kvm_test_vm *vm);
void kvm_vm_pause(struct kvm_test_vm *vm);
void kvm_vm_resume(struct kvm_test_vm *vm);
void kvm_vm_destroy(struct kvm_test_vm *vm);

extern const char dirty_guest_start[], dirty_guest_end[];
extern const char rate_guest_start[], rate_guest_end[];
extern const char stride_guest_start[], stride_guest_end[];

#endif
