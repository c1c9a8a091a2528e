/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent's own system call instruction. Every call the agent makes on the
 * program's behalf goes through mt_raw_syscall, so the seccomp filter can
 * tell them apart from the program's by the instruction pointer alone: it
 * lets through exactly the calls whose return address is mt_raw_syscall_ret.
 */
	.text

/* long mt_raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6) */
	.globl	mt_raw_syscall
	.hidden	mt_raw_syscall
	.type	mt_raw_syscall, @function
	.p2align 4
mt_raw_syscall:
	.cfi_startproc
	movq	%rdi, %rax
	movq	%rsi, %rdi
	movq	%rdx, %rsi
	movq	%rcx, %rdx
	movq	%r8, %r10
	movq	%r9, %r8
	movq	8(%rsp), %r9
	syscall
	.globl	mt_raw_syscall_ret
	.hidden	mt_raw_syscall_ret
mt_raw_syscall_ret:
	ret
	.cfi_endproc
	.size	mt_raw_syscall, .-mt_raw_syscall

/*
 * long mt_raw_clone(unsigned long flags, void *stack_top, void *tls,
 *                   int (*fn)(void *), void *arg)
 * A thread glibc knows nothing of: it runs fn(arg) on stack_top (16-byte
 * aligned) and exits with its return value; it never returns here. The
 * parent gets the new tid or -errno. clone is not a call the filter looks at.
 */
	.globl	mt_raw_clone
	.hidden	mt_raw_clone
	.type	mt_raw_clone, @function
	.p2align 4
mt_raw_clone:
	.cfi_startproc
	/* fn and arg travel on the child's stack */
	subq	$16, %rsi
	movq	%rcx, (%rsi)
	movq	%r8, 8(%rsi)
	movq	%rdx, %r8		/* tls */
	xorl	%edx, %edx		/* parent_tid */
	xorl	%r10d, %r10d		/* child_tid */
	movl	$56, %eax		/* __NR_clone */
	syscall
	testq	%rax, %rax
	jz	1f
	ret
1:
	/* the child: no caller frame to unwind into */
	.cfi_undefined rip
	xorl	%ebp, %ebp
	popq	%rax
	popq	%rdi
	call	*%rax
	movq	%rax, %rdi
	movl	$60, %eax		/* __NR_exit: this thread only */
	syscall
	hlt
	.cfi_endproc
	.size	mt_raw_clone, .-mt_raw_clone

	.section .note.GNU-stack, "", @progbits
