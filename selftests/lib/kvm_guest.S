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

/*
 * The paced guest of the sampling test: at each step, increments one word
 * in each of the next 0x2014 pages of the test area (wrapping around), then
 * halts until the host runs it again. 0x2018 holds the next page index,
 * 0x201c counts the pages written.
 */
	.globl rate_guest_start, rate_guest_end
rate_guest_start:
1:	movl	0x2018, %ecx
	movl	0x2014, %ebx
2:	movl	%ecx, %eax
	shll	$12, %eax
	addl	0x2010, %eax
	incl	(%eax)
	incl	0x201c
	incl	%ecx
	cmpl	0x200c, %ecx
	jb	3f
	xorl	%ecx, %ecx
3:	decl	%ebx
	jnz	2b
	movl	%ecx, 0x2018
	hlt
	jmp	1b
rate_guest_end:

/*
 * The guest of the harvest benchmark: each pass writes the pass number
 * (0x2000) into 0x200c pages, 0x2014 bytes apart from 0x2010, then halts.
 */
	.globl stride_guest_start, stride_guest_end
stride_guest_start:
1:	movl	0x2010, %ecx
	movl	0x200c, %ebx
	movl	0x2000, %eax
2:	movl	%eax, (%ecx)
	addl	0x2014, %ecx
	decl	%ebx
	jnz	2b
	hlt
	jmp	1b
stride_guest_end:
	.code64
	.section .note.GNU-stack,"",@progbits
