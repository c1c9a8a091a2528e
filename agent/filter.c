// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Classic BPF only jumps forward, by at most 255 instructions, and compares
 * 32 bits at a time: the 64-bit instruction pointer is kept in scratch
 * memory (M[0] low half, M[1] high half) and each code range is a short
 * block that returns SECCOMP_RET_USER_NOTIF itself, so no jump is long.
 *
 * Calls of every other number return SECCOMP_RET_ALLOW having looked at
 * the number and architecture only, which lets the kernel cache the verdict
 * for them (the program then costs them nothing).
 */
#include <stddef.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include "filter.h"

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

/* The 11 instructions of one range: USER_NOTIF if start <= ip < end, else on to the next. */
static void range_block(struct emitter *e, const struct mt_code_range *r)
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
	stmt(e, BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);	/* 10 */
}

int mt_filter_build(struct sock_filter *prog, int cap, uint64_t own_ip,
		    const struct mt_code_range *ranges, int nranges, const int *nrs, int nnrs)
{
	struct emitter e = { prog, cap, 0 };
	int i;

	if (nnrs > 200)
		return -1; /* the number checks jump over each other: keep them short */
	stmt(&e, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	emit(&e, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, AUDIT_ARCH_X86_64);
	stmt(&e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	stmt(&e, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
	/* number i jumps over the remaining nnrs - 1 - i checks and the ALLOW after them */
	for (i = 0; i < nnrs; i++)
		emit(&e, BPF_JMP | BPF_JEQ | BPF_K, (uint8_t)(nnrs - i), 0, (uint32_t)nrs[i]);
	stmt(&e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);

	stmt(&e, BPF_LD | BPF_W | BPF_ABS, IP_LO);
	stmt(&e, BPF_ST, 0);
	stmt(&e, BPF_LD | BPF_W | BPF_ABS, IP_HI);
	stmt(&e, BPF_ST, 1);
	/* the agent's own calls first: they are the common case */
	emit(&e, BPF_JMP | BPF_JEQ | BPF_K, 0, 3, (uint32_t)(own_ip >> 32));
	stmt(&e, BPF_LD | BPF_MEM, 0);
	emit(&e, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)own_ip);
	stmt(&e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	for (i = 0; i < nranges; i++)
		range_block(&e, &ranges[i]);
	stmt(&e, BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	return e.n <= cap ? e.n : -1;
}
