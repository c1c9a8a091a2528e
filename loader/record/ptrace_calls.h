/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The calls the ptrace backend records, decoded from what
 * PTRACE_GET_SYSCALL_INFO reports: which (architecture, number) pairs are
 * traced (the table, include/madvtrace/syscalls.h), the arguments a call
 * keeps in tracee memory (old_mmap's block, process_madvise's iovec), and the
 * records a finished call turns into (include/madvtrace/build.h, as every
 * backend builds them). No tracee needed: the tracer reads tracee memory and
 * hands the bytes in.
 */
#ifndef MT_PTRACE_CALLS_H
#define MT_PTRACE_CALLS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "backend.h"
#include "madvtrace/build.h"

struct mt_pt_iov {
	uint64_t base;
	uint64_t len;
};

/* A traced call between its entry and its exit. */
struct mt_pt_call {
	__u64 args[6]; /* as records store them (mt_args_normalise) */
	bool active; /* a recorded call is in progress */
	uint8_t sc; /* enum mt_syscall */
	uint8_t abi; /* enum mt_abi */
	uint16_t flags; /* enum mt_hdr_flags */
	uint32_t target_pid; /* madvise: the caller's tgid; process_madvise: the pidfd's */
	uint32_t stack_id; /* hdr.stack_id of its records (0: no stack) */
	uint32_t niov;
	struct mt_pt_iov iov[MT_MAX_IOV];
};

/*
 * The MT_SC_* of syscall nr made through the AUDIT_ARCH_* arch, its ABI in
 * *abi; -1 for a call that is not recorded.
 */
int mt_pt_classify(uint32_t arch, uint64_t nr, uint8_t *abi);

/* Start c (active) from an entry (or seccomp) stop; args as the kernel passed them. */
void mt_pt_call_init(struct mt_pt_call *c, int sc, uint8_t abi, const uint64_t args[6],
		     uint32_t tgid);

/*
 * Tracee memory the call's arguments live in, to be read at entry: old_mmap's
 * block or process_madvise's iovec array. Returns the number of bytes to read
 * at *addr (0: nothing to read).
 */
size_t mt_pt_call_user_args(const struct mt_pt_call *c, uint64_t *addr);
/*
 * Hand in what was read (len bytes of buf; len < what was asked, even 0,
 * when the memory could not be read: the arguments then stay zero and the
 * record is flagged MT_F_ARGS_UNREAD).
 */
void mt_pt_call_set_user_args(struct mt_pt_call *c, const void *buf, size_t len);

/*
 * Emit the record(s) of the finished call c of thread tid of process pid,
 * which returned at t_ns; rval is the return value as PTRACE_GET_SYSCALL_INFO
 * reports it (a value or -errno). Returns 0 or the first error of emit.
 */
int mt_pt_call_emit(const struct mt_pt_call *c, int64_t rval, uint32_t pid, uint32_t tid,
		    uint64_t t_ns, mt_emit_fn emit, void *ctx);

/* Reads len bytes of tracee memory at addr; returns the bytes read (short at a fault), or -1. */
typedef ssize_t (*mt_pt_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

/*
 * The user stack at a stop, as the kernel's frame-pointer walk for
 * bpf_get_stackid(BPF_F_USER_STACK) takes it: ip first, then the return
 * address saved above each frame pointer from fp on (word: 8, or 4 for an
 * i386 tracee), until a frame cannot be read, a return address is 0, or
 * MT_MAX_STACK frames. Returns the number of frames in ips.
 */
uint32_t mt_pt_walk_stack(uint64_t ip, uint64_t fp, unsigned int word, mt_pt_read_fn read,
			  void *ctx, uint64_t ips[MT_MAX_STACK]);

/*
 * Distinct stacks, numbered from 1 in the order first seen (the id a
 * record's hdr.stack_id refers to), at most max of them.
 */
struct mt_pt_stacks;
struct mt_pt_stacks *mt_pt_stacks__new(uint32_t max);
/*
 * The id of the stack ips[0..nr), with *fresh set when it was not seen
 * before (its MT_STACK record is then to be written); 0 when the table is
 * full, nr is 0 or memory ran out.
 */
uint32_t mt_pt_stacks__id(struct mt_pt_stacks *t, const uint64_t *ips, uint32_t nr, bool *fresh);
/* Stacks that did not fit (their calls were recorded without a stack). */
uint64_t mt_pt_stacks__dropped(const struct mt_pt_stacks *t);
void mt_pt_stacks__free(struct mt_pt_stacks *t);
/* Fill rec (room for MT_MAX_STACK frames) with the MT_STACK record of a stack; t_ns: now. */
void mt_pt_stack_record(struct mt_stack *rec, uint32_t id, const uint64_t *ips, uint32_t nr,
			uint64_t t_ns);

#endif
