/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* The registers and stack top at a release, in-process (ustack.c). */
#ifndef MT_AGENT_USTACK_H
#define MT_AGENT_USTACK_H

#include <stdint.h>
#include "agent.h"
#include "madvtrace/record.h"

/* The stack size from the environment (MADVTRACE_STACK_BYTES), every slot free; at start-up and in a fork's child. */
void mt_ustack__config(void) MT_HIDDEN;
/*
 * An MT_USTACK record of the calling thread, made now (signal-safe): regs
 * (DWARF order) and the stack from their rsp, or with regs NULL the
 * caller's own registers and stack. NULL when every slot is in use. Give it
 * back with mt_ustack__give once written out.
 */
struct mt_ustack *mt_ustack__take(uint32_t tid, uint64_t t, const uint64_t *regs) MT_HIDDEN;
void mt_ustack__give(struct mt_ustack *u) MT_HIDDEN;

#endif
