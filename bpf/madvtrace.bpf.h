/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Map value types shared by madvtrace.bpf.c and the loader's bpf backend. */
#ifndef MADVTRACE_BPF_H
#define MADVTRACE_BPF_H

#define MT_NR_RSS 4 /* MM_FILEPAGES, MM_ANONPAGES, MM_SWAPENTS, MM_SHMEMPAGES */

/* Per traced mm: the kernel's own RSS counters, mirrored at each change. */
struct mt_mm_state {
	__u32 tgid;
	__u32 exiting; /* teardown began (exit or exec): no further rss records */
	__u64 last_emit_ns;
	__u64 cur_ns; /* time of the last change seen */
	__s64 cur[MT_NR_RSS]; /* pages, indexed by the kernel's MM_* member */
	__s64 emitted[MT_NR_RSS];
	__u32 pending; /* enum mt_rss_reason of an unreported change, 0: none */
	__u32 _pad;
};

/* Argument of the `adopt` program: start mirroring the RSS of this process. */
struct mt_adopt_args {
	__u32 pid;
	__s32 ret;
};

#endif
