/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Entered in 64-bit mode with interrupts off, at VMMIG_GUEST_LOAD. The first
 * thing is one port write, so the VMM can time start-up to the first guest
 * instruction.
 */
#include "guest.h"

	.section .text.entry, "ax"
	.globl _start
_start:
	mov	$VMMIG_GUEST_STACK_TOP, %rsp
	mov	$VMMIG_GUEST_PORT, %dx
	mov	$VMMIG_GUEST_STARTED, %al
	outb	%al, %dx
	call	guest_main
1:	cli
	hlt
	jmp	1b

	/* The timer: the PIC is in auto-EOI mode, so nothing to acknowledge. */
	.text
	.globl timer_irq
timer_irq:
	incq	VMMIG_GUEST_PAGE + 13 * 8
	iretq

	.section .note.GNU-stack, "", @progbits
