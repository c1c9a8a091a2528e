/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent's seccomp filter: SECCOMP_RET_TRAP (a SIGSYS for the agent's
 * handler) for the given calls when their system call instruction lies in
 * one of the given code ranges and is not the agent's own; for a call with
 * a condition, only when that argument (a pointer) is not NULL.
 * SECCOMP_RET_ALLOW for everything else.
 */
#ifndef MT_AGENT_FILTER_H
#define MT_AGENT_FILTER_H

#include <stdint.h>
#include <linux/filter.h>

/* A range of code, [start, end). */
struct mt_code_range {
	uint64_t start, end;
};

/* Longest program mt_filter_build writes (the kernel's limit is 4096). */
#define MT_FILTER_MAX 4096

/* A call the filter traps: its x86-64 number, and the argument that must be non-NULL (or -1). */
struct mt_filter_call {
	int nr;
	int arg;
};

/* Room for every call mt_filter_agent_calls writes. */
#define MT_FILTER_CALLS 32

/*
 * The calls the agent's filter traps, into calls (room for cap): first the
 * traced ones, every x86-64 row of madvtrace/syscalls.h (the most frequent
 * first: each later one costs a comparison more), then the ones trapped only
 * for the agent's own safety (signal masks: see trap.c). Returns how many,
 * or -1 if cap is too small; *ntraced: how many of them, from the first, are
 * traced.
 */
int mt_filter_agent_calls(struct mt_filter_call *calls, int cap, int *ntraced);

/*
 * Write the program into prog (room for cap instructions). own_ip: the
 * address right after the agent's own syscall instruction (what the kernel
 * reports as the instruction pointer of a call made from it). data: the
 * SECCOMP_RET_DATA of the trap (the handler knows its own SIGSYS by it, in
 * si_errno). Returns the number of instructions, or -1 if they do not fit.
 */
int mt_filter_build(struct sock_filter *prog, int cap, uint64_t own_ip,
		    const struct mt_code_range *ranges, int nranges,
		    const struct mt_filter_call *calls, int ncalls, uint16_t data);

#endif
