// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Classic BPF only jumps forward, by at most 255 instructions, and compares
 * 32 bits at a time: the 64-bit instruction pointer is kept in scratch
 * memory (M[0] low half, M[1] high half) and each code range is a short
 * block that returns the trap itself, so no jump is long.
 *
 * Calls of every other number return SECCOMP_RET_ALLOW having looked at
 * the number and architecture only, which lets the kernel cache the verdict
 * for them (the program then costs them nothing).
 *
 * The calls the agent traps come from the syscall table (every call it
 * traces) plus, kept apart, the few it traps only for its own safety.
 */
#include <stdbool.h>
#include <stddef.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include "filter.h"
#include "madvtrace/syscalls.h"

/* The traced calls programs make most, ahead of the table's order. */
static const int hot_first[] = { MT_SC_MADVISE, MT_SC_MUNMAP, MT_SC_MMAP };

/* The x86-64 numbers of the table (-1: no such call on x86-64). */
static const int traced_nr[MT_SC_NR] = {
#define MT_SC_NR64_(id, n64, nr64, n32, nr32, type) [MT_SC_##id] = nr64,
	MT_SYSCALLS(MT_SC_NR64_)
#undef MT_SC_NR64_
};

/*
 * Not traced, trapped for the agent's own safety: every call that can block
 * SIGSYS. trap.c makes them with SIGSYS taken out of the mask they set (a
 * trap while SIGSYS is blocked would kill the process, and glibc itself
 * blocks every signal around a thread's exit, where it calls madvise). The
 * argument: the mask, trapped only when it is not NULL.
 */
static const struct mt_filter_call safety[] = {
	{ SYS_rt_sigprocmask, 1 }, { SYS_rt_sigaction, -1 }, { SYS_rt_sigsuspend, -1 },
	{ SYS_ppoll, 3 },	   { SYS_pselect6, 5 },	      { SYS_epoll_pwait, 4 },
	{ SYS_epoll_pwait2, 4 },   { SYS_io_pgetevents, 5 },  { SYS_io_uring_enter, 4 },
};

static int add_call(struct mt_filter_call *calls, int cap, int n, int nr, int arg)
{
	if (n >= 0 && n < cap)
		calls[n] = (struct mt_filter_call){ nr, arg };
	return n >= 0 && n < cap ? n + 1 : -1;
}

static bool is_hot(int sc)
{
	for (size_t i = 0; i < sizeof(hot_first) / sizeof(hot_first[0]); i++)
		if (hot_first[i] == sc)
			return true;
	return false;
}

int mt_filter_agent_calls(struct mt_filter_call *calls, int cap, int *ntraced)
{
	int n = 0;

	for (size_t i = 0; i < sizeof(hot_first) / sizeof(hot_first[0]); i++)
		if (traced_nr[hot_first[i]] >= 0)
			n = add_call(calls, cap, n, traced_nr[hot_first[i]], -1);
	for (int sc = 0; sc < MT_SC_NR; sc++)
		if (traced_nr[sc] >= 0 && !is_hot(sc))
			n = add_call(calls, cap, n, traced_nr[sc], -1);
	if (ntraced)
		*ntraced = n;
	for (size_t i = 0; i < sizeof(safety) / sizeof(safety[0]); i++)
		n = add_call(calls, cap, n, safety[i].nr, safety[i].arg);
	return n;
}

#define IP_LO offsetof(struct seccomp_data, instruction_pointer)
#define IP_HI (offsetof(struct seccomp_data, instruction_pointer) + 4)

struct emitter {
	struct sock_filter *prog;
	int cap, n;
};

static void emit(struct emitter *e, uint16_t code, uint8_t jt, uint8_t jf, uint32_t k)
{
	if (e->n < e->cap)
		e->prog[e->n] = (struct sock_filter){ code, jt, jf, k };
	e->n++;
}

static void stmt(struct emitter *e, uint16_t code, uint32_t k)
{
	emit(e, code, 0, 0, k);
}

/* The 11 instructions of one range: trap if start <= ip < end, else on to the next. */
static void range_block(struct emitter *e, const struct mt_code_range *r, uint32_t trap)
{
	uint32_t s_hi = r->start >> 32, s_lo = (uint32_t)r->start;
	uint32_t e_hi = r->end >> 32, e_lo = (uint32_t)r->end;

	/* offsets are relative to the next instruction; the block's next range is at +11 */
	stmt(e, BPF_LD | BPF_MEM, 1);				/* 0: A = hi */
	emit(e, BPF_JMP | BPF_JGT | BPF_K, 3, 0, s_hi);		/* 1: hi > s_hi: at or after start */
	emit(e, BPF_JMP | BPF_JEQ | BPF_K, 0, 8, s_hi);		/* 2: hi < s_hi: before */
	stmt(e, BPF_LD | BPF_MEM, 0);				/* 3: A = lo */
	emit(e, BPF_JMP | BPF_JGE | BPF_K, 0, 6, s_lo);		/* 4: lo < s_lo: before */
	stmt(e, BPF_LD | BPF_MEM, 1);				/* 5: A = hi */
	emit(e, BPF_JMP | BPF_JGT | BPF_K, 4, 0, e_hi);		/* 6: hi > e_hi: after */
	emit(e, BPF_JMP | BPF_JEQ | BPF_K, 0, 2, e_hi);		/* 7: hi < e_hi: inside */
	stmt(e, BPF_LD | BPF_MEM, 0);				/* 8: A = lo */
	emit(e, BPF_JMP | BPF_JGE | BPF_K, 1, 0, e_lo);		/* 9: lo >= e_lo: after */
	stmt(e, BPF_RET | BPF_K, trap);			/* 10 */
}

#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define ARG_BLOCK 5

int mt_filter_build(struct sock_filter *prog, int cap, uint64_t own_ip,
		    const struct mt_code_range *ranges, int nranges,
		    const struct mt_filter_call *calls, int ncalls, uint16_t data)
{
	struct emitter e = { prog, cap, 0 };
	int i, nargs = 0, a, ip_check;

	for (i = 0; i < ncalls; i++)
		nargs += calls[i].arg >= 0;
	/* every jump below stays within the 255 instructions cBPF allows */
	if (ncalls + 1 + nargs * ARG_BLOCK > 250)
		return -1;
	stmt(&e, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	emit(&e, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, AUDIT_ARCH_X86_64);
	stmt(&e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	stmt(&e, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	/*
	 * Layout: the number checks, ALLOW, one argument block per call with a
	 * condition, then the instruction pointer checks. Call i jumps to its
	 * argument block or straight to the pointer checks.
	 */
	ip_check = 4 + ncalls + 1 + nargs * ARG_BLOCK;
	for (i = 0, a = 0; i < ncalls; i++) {
		int target = calls[i].arg >= 0 ? 4 + ncalls + 1 + ARG_BLOCK * a++ : ip_check;

		emit(&e, BPF_JMP | BPF_JEQ | BPF_K, (uint8_t)(target - (4 + i + 1)), 0,
		     (uint32_t)calls[i].nr);
	}
	stmt(&e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	for (i = 0, a = 0; i < ncalls; i++) {
		int base, arg = calls[i].arg;

		if (arg < 0)
			continue;
		base = 4 + ncalls + 1 + ARG_BLOCK * a++;
		/* a NULL pointer (both halves zero) changes nothing: allowed */
		stmt(&e, BPF_LD | BPF_W | BPF_ABS, ARG_LO(arg));
		emit(&e, BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)(ip_check - (base + 2)), 0);
		stmt(&e, BPF_LD | BPF_W | BPF_ABS, ARG_LO(arg) + 4);
		emit(&e, BPF_JMP | BPF_JEQ | BPF_K, 0, (uint8_t)(ip_check - (base + 4)), 0);
		stmt(&e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	}

	/* the agent's own calls first, in as few instructions as possible: the common case */
	stmt(&e, BPF_LD | BPF_W | BPF_ABS, IP_LO);
	emit(&e, BPF_JMP | BPF_JEQ | BPF_K, 0, 3, (uint32_t)own_ip);
	stmt(&e, BPF_LD | BPF_W | BPF_ABS, IP_HI);
	emit(&e, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)(own_ip >> 32));
	stmt(&e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	stmt(&e, BPF_LD | BPF_W | BPF_ABS, IP_LO);
	stmt(&e, BPF_ST, 0);
	stmt(&e, BPF_LD | BPF_W | BPF_ABS, IP_HI);
	stmt(&e, BPF_ST, 1);
	for (i = 0; i < nranges; i++)
		range_block(&e, &ranges[i], SECCOMP_RET_TRAP | data);
	stmt(&e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	return e.n <= cap ? e.n : -1;
}
