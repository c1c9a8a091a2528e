/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent's seccomp filter: for the memory calls, SECCOMP_RET_USER_NOTIF
 * when the system call instruction lies in one of the given code ranges and
 * is not the agent's own; SECCOMP_RET_ALLOW for everything else.
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

/*
 * Write the program into prog (room for cap instructions). own_ip: the
 * address right after the agent's own syscall instruction (what the kernel
 * reports as the instruction pointer of a call made from it). nrs: the
 * x86-64 system call numbers to look at. Returns the number of instructions,
 * or -1 if they do not fit in cap.
 */
int mt_filter_build(struct sock_filter *prog, int cap, uint64_t own_ip,
		    const struct mt_code_range *ranges, int nranges, const int *nrs, int nnrs);

#endif
