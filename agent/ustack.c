// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The registers and the top of the stack at a release (an MT_USTACK record,
 * --stacks), taken in-process: what the bpf backend copies at the system
 * call, here at the hook. The registers are those of mt_ustack__take's own
 * frame (mt_ustack_regs below returns them as its caller has them), so the
 * unwinder walks from the agent's frames, by their call-frame information,
 * into the program's: the frames inside the agent's mapping are the agent's.
 * The stack is read with process_vm_readv on our own pid, one page per
 * iovec: a page that cannot be read (the stack's end) stops the copy
 * without a fault, keeping the pages before it.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include "core.h"
#include "agent_proto.h"
#include "text.h"
#include "ustack.h"

/*
 * Records being made at once (threads, a signal handler over a hook): each
 * takes a free slot; with none free, that release goes without its stack.
 * In the BSS: untouched, a slot costs no memory.
 */
#define SLOTS 8

static struct {
	int busy;
	union {
		struct mt_ustack us;
		unsigned char b[sizeof(struct mt_ustack) + MT_USTACK_MAX];
	} u;
} slots[SLOTS] __attribute__((aligned(64)));

/* glibc's: where the main thread's stack started (near argc): no frame above it */
extern void *__libc_stack_end;

static uint32_t want_bytes;
static uint64_t page = 4096;

/*
 * void mt_ustack_regs(uint64_t regs[MT_UREG_NR]): the caller's registers as
 * they are at its call of this routine, in DWARF order: rip the return
 * address, rsp the stack pointer once returned. rax is the one it uses.
 */
void mt_ustack_regs(__u64 *regs) MT_HIDDEN;
__asm__(".text\n"
	".globl mt_ustack_regs\n"
	".hidden mt_ustack_regs\n"
	".type mt_ustack_regs, @function\n"
	"mt_ustack_regs:\n"
	".cfi_startproc\n"
	"movq %rax, 0(%rdi)\n"
	"movq %rdx, 8(%rdi)\n"
	"movq %rcx, 16(%rdi)\n"
	"movq %rbx, 24(%rdi)\n"
	"movq %rsi, 32(%rdi)\n"
	"movq %rdi, 40(%rdi)\n"
	"movq %rbp, 48(%rdi)\n"
	"leaq 8(%rsp), %rax\n"
	"movq %rax, 56(%rdi)\n"
	"movq %r8, 64(%rdi)\n"
	"movq %r9, 72(%rdi)\n"
	"movq %r10, 80(%rdi)\n"
	"movq %r11, 88(%rdi)\n"
	"movq %r12, 96(%rdi)\n"
	"movq %r13, 104(%rdi)\n"
	"movq %r14, 112(%rdi)\n"
	"movq %r15, 120(%rdi)\n"
	"movq (%rsp), %rax\n"
	"movq %rax, 128(%rdi)\n"
	"ret\n"
	".cfi_endproc\n"
	".size mt_ustack_regs, .-mt_ustack_regs\n");

_Static_assert(MT_UREG_RIP == 16 && MT_UREG_R15 == 15 && MT_UREG_RSP == 7,
	       "mt_ustack_regs stores in DWARF order");

void mt_ustack__config(void)
{
	const char *v = getenv(MT_ENV_STACK_BYTES);
	uint64_t n = MT_USTACK_DEFAULT;

	long p = sysconf(_SC_PAGESIZE);

	if (v && *v && (!mt_parse_u64(v, &n) || n < 64))
		n = MT_USTACK_DEFAULT;
	want_bytes = (uint32_t)(n > MT_USTACK_MAX ? MT_USTACK_MAX : n);
	if (p > 0)
		page = (uint64_t)p;
	/* a fork's child: slots other threads of the parent held are free here (one thread) */
	for (int i = 0; i < SLOTS; i++)
		mt_lock__drop(&slots[i].busy);
}

struct mt_ustack *mt_ustack__take(uint32_t tid, uint64_t t, const uint64_t *regs)
{
	struct iovec local, remote[MT_USTACK_MAX / 4096 + 1];
	uint64_t at, want = want_bytes, top = (uint64_t)__libc_stack_end;
	struct mt_ustack *u = NULL;
	bool whole = false;
	size_t nr = 0;
	long n;
	int i;

	if (!want)
		return NULL;
	for (i = 0; i < SLOTS && !u; i++)
		if (mt_lock__try(&slots[i].busy))
			u = &slots[i].u.us;
	if (!u)
		return NULL;
	mt_record_init(u, MT_USTACK, sizeof(*u), mt_ag.pid, tid, t);
	if (regs)
		memcpy(u->regs, regs, sizeof(u->regs));
	else
		mt_ustack_regs(u->regs);
	u->sp = u->regs[MT_UREG_RSP];
	/* as the bpf program does: the main thread's stack is copied up to its start only */
	if (u->sp < top && top - u->sp + MT_USTACK_PAST_START < want) {
		want = top - u->sp + MT_USTACK_PAST_START;
		whole = true;
	}
	for (at = u->sp; at < u->sp + want && nr < sizeof(remote) / sizeof(remote[0]);) {
		uint64_t end = (at | (page - 1)) + 1;

		if (end > u->sp + want)
			end = u->sp + want;
		remote[nr].iov_base = (void *)at;
		remote[nr++].iov_len = end - at;
		at = end;
	}
	local.iov_base = u->data;
	local.iov_len = want;
	n = mt_raw_syscall(SYS_process_vm_readv, mt_ag.pid, (long)&local, 1, (long)remote,
			   (long)nr, 0);
	u->len = n > 0 ? (uint32_t)n : 0;
	u->flags = u->len < want ? MT_US_FAULT : whole ? 0 : MT_US_SHORT;
	u->h.size = (uint16_t)((sizeof(*u) + u->len + 7) & ~(size_t)7);
	return u;
}

void mt_ustack__give(struct mt_ustack *u)
{
	for (int i = 0; i < SLOTS; i++)
		if (u == &slots[i].u.us)
			mt_lock__drop(&slots[i].busy);
}
