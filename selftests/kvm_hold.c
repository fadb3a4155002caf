// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for another VMM in the CLI tests: holds a small KVM VM whose
 * vCPU dirties pages, until SIGTERM.
 *
 *   kvm_hold [--harvest NAME]
 *
 * With --harvest it also registers its VM with vmmig.ko as NAME and
 * harvests its dirty pages every 50 ms, as vmmig's own VMM will.
 * Prints "ready" on stdout once the VM runs (and, with --harvest, after
 * the first harvest).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kvm_vm.h"
#include "registry.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

int main(int argc, char **argv)
{
	static const uint64_t sizes[] = { 16 << 20 };
	static const uint8_t uuid[VMMIG_UUID_LEN] = { 0x42 };
	const char *name = argc == 3 && !strcmp(argv[1], "--harvest") ? argv[2] : NULL;
	struct vmmig_dirty_stats st;
	struct kvm_test_vm vm;
	struct vmmig_nl nl;
	uint32_t *ctl;
	int err;

	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	kvm_vm_create(&vm, sizes, 1, 1);
	kvm_vm_load(&vm, dirty_guest_start, dirty_guest_end - dirty_guest_start);
	ctl = kvm_vm_gpa(&vm, 0x2000);
	ctl[0] = 1;
	ctl[1] = 7;
	ctl[3] = 15 * 256;	/* 15 MiB of pages above 1 MiB */
	ctl[4] = 1 << 20;
	if (name && ((err = vmmig_nl_open(&nl)) ||
		     (err = vmmig_vm_register(&nl, vm.vm_fd, name, uuid)) ||
		     (err = vmmig_dirty_start(&nl, VMMIG_BY_NAME(name))))) {
		fprintf(stderr, "kvm_hold: vmmig: %s\n", vmmig_nl_strerror(&nl, err));
		return 1;
	}
	kvm_vm_start(&vm);
	if (name && !vmmig_dirty_harvest(&nl, VMMIG_BY_NAME(name), NULL, 0, &st))
		free(st.ranges);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		usleep(50 * 1000);
		if (name && !vmmig_dirty_harvest(&nl, VMMIG_BY_NAME(name), NULL, 0, &st))
			free(st.ranges);
		/* A new value, so that rewritten pages really change. */
		ctl[0]++;
	}
	kvm_vm_destroy(&vm);
	return 0;
}
