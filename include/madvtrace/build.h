/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Building a record from a traced call's arguments: which argument goes into
 * which field, and how the i386 ABI is normalised. The one home of that
 * knowledge, inlined by every backend: the eBPF program fills records in
 * place in its ring buffer, the ptrace backend and the preload agent in a
 * buffer of their own. Usable from BPF C (no libc).
 *
 * A backend reads the six argument registers (for i386, their low halves),
 * unpacks what the ABI passes in memory (i386 old_mmap's argument block,
 * process_madvise's iovec), then calls mt_args_normalise() and the fill
 * function of the record type; the header (time, ids, flags, stack) is its
 * own.
 */
#ifndef MADVTRACE_BUILD_H
#define MADVTRACE_BUILD_H

#include "record.h"
#include "syscalls.h"

#define MT_BUILD_INLINE static inline __attribute__((always_inline))

/* process_madvise(2) iovec entries recorded per call, one madvise record each (then MT_F_IOV_TRUNC). */
#define MT_MAX_IOV 8

/* The kernel's error returns: -4095..-1 (MAX_ERRNO). Anything else is a result. */
MT_BUILD_INLINE int mt_ret_is_err(__s64 ret)
{
	return ret < 0 && ret >= -4095;
}

/* Every field of a record's header: the rest of the header zero (no flag, no stack, native ABI). */
MT_BUILD_INLINE void mt_hdr_fill(struct mt_hdr *h, __u16 type, __u16 size, __u32 pid, __u32 tid,
				 __u64 t_ns)
{
	h->t_ns = t_ns;
	h->pid = pid;
	h->tid = tid;
	h->type = type;
	h->size = size;
	h->abi = 0;
	h->_pad0 = 0;
	h->flags = 0;
	h->stack_id = 0;
	h->_pad1 = 0;
}

/* Arguments as the record stores them, in place: i386 registers are 32 bits
 * wide (their upper halves are not the caller's), mmap2 counts its offset in
 * 4096-byte units whatever the page size, fds are signed. */
MT_BUILD_INLINE void mt_args_normalise(__u64 a[6], int sc, int abi)
{
	int i;

	if (abi == MT_ABI_I386)
		for (i = 0; i < 6; i++)
			a[i] = (__u32)a[i];
	if (sc == MT_SC_MMAP && abi == MT_ABI_I386)
		a[5] <<= 12;
	if (sc == MT_SC_MMAP || sc == MT_SC_OLD_MMAP)
		a[4] = (__u64)(__s64)(__s32)a[4];
}

/* A result as the record stores it: an i386 address above 2 GiB is not an error. */
MT_BUILD_INLINE __s64 mt_ret_normalise(__s64 ret, int abi)
{
	if (abi == MT_ABI_I386 && !mt_ret_is_err(ret))
		return (__u32)ret;
	return ret;
}

/* i386 old_mmap's argument block (struct mmap_arg_struct: six 32-bit words) into a[]. */
MT_BUILD_INLINE void mt_args_old_mmap(__u64 a[6], const __u32 blk[6])
{
	int i;

	for (i = 0; i < 6; i++)
		a[i] = blk[i];
}

MT_BUILD_INLINE void mt_fill_mmap(struct mt_mmap *r, const __u64 a[6], __s64 ret)
{
	r->addr = a[0];
	r->len = a[1];
	r->prot = (__u32)a[2];
	r->flags = (__u32)a[3];
	r->fd = (__s32)a[4];
	r->off = a[5];
	r->ret = ret;
	r->_pad = 0;
}

MT_BUILD_INLINE void mt_fill_munmap(struct mt_munmap *r, const __u64 a[6], __s64 ret)
{
	r->addr = a[0];
	r->len = a[1];
	r->ret = ret;
}

MT_BUILD_INLINE void mt_fill_mremap(struct mt_mremap *r, const __u64 a[6], __s64 ret)
{
	r->old_addr = a[0];
	r->old_len = a[1];
	r->new_len = a[2];
	r->flags = (__u32)a[3];
	r->new_addr = a[4];
	r->ret = ret;
	r->_pad = 0;
}

/* madvise(2); target is the caller itself. */
MT_BUILD_INLINE void mt_fill_madvise(struct mt_madvise *r, const __u64 a[6], __s64 ret,
				     __u32 target_pid)
{
	r->addr = a[0];
	r->len = a[1];
	r->advice = (__s32)a[2];
	r->ret = ret;
	r->target_pid = target_pid;
}

/* One iovec entry of process_madvise(2): a[3] is the advice; ret is the whole call's. */
MT_BUILD_INLINE void mt_fill_process_madvise(struct mt_madvise *r, const __u64 a[6], __u64 base,
					     __u64 len, __s64 ret, __u32 target_pid)
{
	r->addr = base;
	r->len = len;
	r->advice = (__s32)a[3];
	r->ret = ret;
	r->target_pid = target_pid;
}

MT_BUILD_INLINE void mt_fill_brk(struct mt_brk *r, const __u64 a[6], __s64 ret)
{
	r->addr = a[0];
	r->ret = ret;
}

MT_BUILD_INLINE void mt_fill_mprotect(struct mt_mprotect *r, const __u64 a[6], __s64 ret)
{
	r->addr = a[0];
	r->len = a[1];
	r->prot = (__u32)a[2];
	r->ret = ret;
	r->_pad = 0;
}

/* Any call record, for backends that build in a buffer of their own. */
union mt_call_record {
	struct mt_hdr h;
	struct mt_mmap mmap;
	struct mt_munmap munmap;
	struct mt_mremap mremap;
	struct mt_madvise madvise;
	struct mt_brk brk;
	struct mt_mprotect mprotect;
};

/*
 * The record of one call other than process_madvise (one record per iovec
 * entry: mt_fill_process_madvise), with h.type and h.size set and the rest
 * of the header left to the caller. Returns 0 when sc makes no such record.
 */
MT_BUILD_INLINE int mt_build_call(union mt_call_record *u, int sc, const __u64 a[6], __s64 ret,
				  __u32 self_pid)
{
	switch (sc) {
	case MT_SC_MMAP:
	case MT_SC_OLD_MMAP:
		mt_fill_mmap(&u->mmap, a, ret);
		u->h.size = sizeof(u->mmap);
		break;
	case MT_SC_MUNMAP:
		mt_fill_munmap(&u->munmap, a, ret);
		u->h.size = sizeof(u->munmap);
		break;
	case MT_SC_MREMAP:
		mt_fill_mremap(&u->mremap, a, ret);
		u->h.size = sizeof(u->mremap);
		break;
	case MT_SC_MADVISE:
		mt_fill_madvise(&u->madvise, a, ret, self_pid);
		u->h.size = sizeof(u->madvise);
		break;
	case MT_SC_BRK:
		mt_fill_brk(&u->brk, a, ret);
		u->h.size = sizeof(u->brk);
		break;
	case MT_SC_MPROTECT:
		mt_fill_mprotect(&u->mprotect, a, ret);
		u->h.size = sizeof(u->mprotect);
		break;
	default:
		return 0;
	}
	u->h.type = (__u16)mt_syscall_record_type(sc);
	return 1;
}

/* Calls that give memory back or may replace a mapping: whose stack answers "who released it". */
/*
 * A release's stack copy (MT_USTACK) on the main thread stops this far past
 * where the process started (the start_stack of /proc/PID/stat, where argc
 * is): no frame lies above, only argv and the environment.
 */
#define MT_USTACK_PAST_START 64

MT_BUILD_INLINE int mt_call_may_release(int sc, const __u64 a[6])
{
	switch (sc) {
	case MT_SC_MADVISE:
	case MT_SC_PROCESS_MADVISE:
	case MT_SC_MUNMAP:
	case MT_SC_MREMAP:
		return 1;
	case MT_SC_MMAP:
	case MT_SC_OLD_MMAP:
		return (a[3] & 0x10) != 0; /* MAP_FIXED */
	}
	return 0;
}

#endif /* MADVTRACE_BUILD_H */
