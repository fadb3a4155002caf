/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The dirtying guest of the harvest tests: 32-bit flat protected mode, no
 * paging, no VM exits. Forever: pick a pseudo-random page of the test area
 * and write the current round number (set by the host) into it.
 *
 *   0x2000  round      u32, written by the host
 *   0x2004  seed       u32, the LCG state
 *   0x2008  writes     u32, incremented after every write
 *   0x200c  npages     u32, pages in the test area (set by the host)
 *   0x2010  base       u32, guest-physical start of the test area
 */
	.section .rodata
	.globl dirty_guest_start, dirty_guest_end
	.code32
dirty_guest_start:
1:	movl	0x2004, %eax
	imull	$1103515245, %eax, %eax
	addl	$12345, %eax
	movl	%eax, 0x2004
	shrl	$8, %eax
	xorl	%edx, %edx
	divl	0x200c
	shll	$12, %edx
	addl	0x2010, %edx
	movl	0x2000, %eax
	movl	%eax, (%edx)
	incl	0x2008
	jmp	1b
dirty_guest_end:
	.code64
	.section .note.GNU-stack,"",@progbits
