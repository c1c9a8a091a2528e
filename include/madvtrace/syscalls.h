/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The traced system calls: the one table that the eBPF classifier, the
 * seccomp filter of the ptrace backend, the ptrace decoder and the preload
 * agent are built from. Usable from BPF C (no libc).
 *
 * X(id, x86-64 name, x86-64 number, i386 name, i386 number, record type)
 *   names are libseccomp's and strace's; a number of -1 means the ABI has no
 *   such call. x32 calls use the x86-64 numbers with __X32_SYSCALL_BIT set.
 *
 * To trace another call: add a row here (the eBPF classifier, the seccomp
 * filter and the ptrace classifier follow), then say in build.h how its
 * arguments fill its record (mt_fill_*, mt_build_call, mt_call_may_release,
 * and mt_args_normalise if an ABI passes them oddly); a call whose arguments
 * live in memory also needs reading in each backend. tests/unit/test_syscalls.c
 * checks the table against libseccomp and every classifier against the table.
 */
#ifndef MADVTRACE_SYSCALLS_H
#define MADVTRACE_SYSCALLS_H

#include "record.h"

#define MT_SYSCALLS(X)                                                              \
	X(MMAP, "mmap", 9, "mmap2", 192, MT_MMAP) /* i386: mmap2, offset in pages */    \
	X(OLD_MMAP, NULL, -1, "mmap", 90, MT_MMAP) /* i386: arguments in a block */   \
	X(MPROTECT, "mprotect", 10, "mprotect", 125, MT_MPROTECT)                      \
	X(MUNMAP, "munmap", 11, "munmap", 91, MT_MUNMAP)                               \
	X(BRK, "brk", 12, "brk", 45, MT_BRK)                                           \
	X(MREMAP, "mremap", 25, "mremap", 163, MT_MREMAP)                              \
	X(MADVISE, "madvise", 28, "madvise", 219, MT_MADVISE)                          \
	X(PROCESS_MADVISE, "process_madvise", 440, "process_madvise", 440, MT_MADVISE)

enum mt_syscall {
#define MT_SC_ENUM_(id, n64, nr64, n32, nr32, type) MT_SC_##id,
	MT_SYSCALLS(MT_SC_ENUM_)
#undef MT_SC_ENUM_
	MT_SC_NR,
};

/* x32 calls come through the x86-64 entry, their number marked with this bit (__X32_SYSCALL_BIT). */
#define MT_X32_SYSCALL_BIT 0x40000000

/*
 * The ABI of a call that came through the 64-bit entry, with *nr turned into
 * its number in the x86-64 table (x32 shares those numbers for every traced
 * call: all are "common" in the kernel's table).
 */
static inline int mt_syscall_native_abi(long *nr)
{
	if (*nr >= 0 && (*nr & MT_X32_SYSCALL_BIT)) {
		*nr &= ~(long)MT_X32_SYSCALL_BIT;
		return MT_ABI_X32;
	}
	return MT_ABI_X86_64;
}

/* MT_SC_* for a syscall number of an ABI (MT_ABI_I386 or the x86-64 table), or -1 when not traced. */
static inline int mt_syscall_by_nr(long nr, int i386)
{
#define MT_SC_MATCH_(id, n64, nr64, n32, nr32, type)   \
	if (nr == (i386 ? (long)(nr32) : (long)(nr64))) \
		return MT_SC_##id;
	if (nr < 0)
		return -1;
	MT_SYSCALLS(MT_SC_MATCH_)
#undef MT_SC_MATCH_
	return -1;
}

/* The number of a traced call (MT_SC_*) in an ABI's table, -1 where it has none: a constant for a constant sc. */
static inline long mt_syscall_nr(int sc, int i386)
{
	switch (sc) {
#define MT_SC_NR_(id, n64, nr64, n32, nr32, type) \
	case MT_SC_##id:                          \
		return i386 ? (nr32) : (nr64);
		MT_SYSCALLS(MT_SC_NR_)
#undef MT_SC_NR_
	}
	return -1;
}

/* The record type a traced call produces. */
static inline int mt_syscall_record_type(int sc)
{
	switch (sc) {
#define MT_SC_TYPE_(id, n64, nr64, n32, nr32, type) \
	case MT_SC_##id:                            \
		return type;
		MT_SYSCALLS(MT_SC_TYPE_)
#undef MT_SC_TYPE_
	}
	return 0;
}

#endif /* MADVTRACE_SYSCALLS_H */
