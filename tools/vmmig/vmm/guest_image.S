/* SPDX-License-Identifier: GPL-2.0 */
/* The workload guest's flat binary, built from tools/vmmig/guest/. */
	.section .rodata
	.globl vmmig_guest_image, vmmig_guest_image_end
	.balign 16
vmmig_guest_image:
	.incbin GUEST_BIN
vmmig_guest_image_end:
	.section .note.GNU-stack, "", @progbits
