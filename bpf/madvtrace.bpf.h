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

/* Value of the `held` map: a launched command before its exec. */
#define MT_HELD 1
#define MT_HELD_NOT_GO 2 /* its program is not Go: set its nowalk bit at the exec */

/* Argument of the `adopt` program: start mirroring the RSS of this process. */
struct mt_adopt_args {
	__u32 pid;
	__s32 ret;
};

/*
 * Counting mode (the exporter): one counter set per (process, call, advice)
 * in a per-CPU hash. All padding explicit: the key is hashed as bytes.
 */
#define MT_MAX_CGROUPS 4 /* --cgroup directories watched at once */
#define MT_MAX_COMMS 4 /* --comm names watched at once */
#define MT_COUNT_NO_ADVICE (-1) /* calls other than madvise and process_madvise */
#define MT_COUNT_ADVICE_OTHER (-2) /* an advice above MT_COUNT_ADVICE_MAX: one bucket */
#define MT_COUNT_ADVICE_MAX 255
#define MT_COUNT_LOST_SC 0xffff /* sc of the per-process slot that counts lost updates */

/* 8 bytes: the hash of every counted call is over two words */
struct mt_count_key {
	__u32 tgid;
	__u16 sc; /* enum mt_syscall, or MT_COUNT_LOST_SC */
	__s16 advice; /* advice value, MT_COUNT_NO_ADVICE or MT_COUNT_ADVICE_OTHER */
};

struct mt_count_val {
	__u64 calls; /* the lost slot: updates that found the map full */
	__u64 bytes; /* length argument of successful calls (mremap: new length) */
	__u64 errors; /* calls that returned -errno */
};

#endif
