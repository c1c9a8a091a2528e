/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the verdict knows of one traced process, kept after it exits: its
 * calls, its own last RSS figures (the `end` record before the exit
 * teardown included), its region model's end state, and the facts of its
 * info records (Go, allocator, its settings, what the backend could see).
 * The timeline's insides (timeline_int.h); pview.c feeds it, verdict.c and
 * alloc_verdict.c speak from it.
 */
#ifndef MT_PVIEW_H
#define MT_PVIEW_H

#include <stdbool.h>
#include <stdint.h>
#include "timeline.h"

/* The advice values the verdict speaks of, each counted per process. */
enum mt_pv_adv {
	MT_PV_FREE,
	MT_PV_DONTNEED,
	MT_PV_DONTNEED_LOCKED,
	MT_PV_REMOVE,
	MT_PV_HUGEPAGE,
	MT_PV_NOHUGEPAGE,
	MT_PV_COLLAPSE,
	MT_PV_NR,
};

/* The allocator a process uses, from its `allocator` info record. */
enum mt_alloc {
	MT_ALLOC_NONE, /* not recorded: nothing allocator-specific is said */
	MT_ALLOC_GLIBC,
	MT_ALLOC_JEMALLOC,
	MT_ALLOC_TCMALLOC,
	MT_ALLOC_MIMALLOC,
};

/* The environment settings that govern an allocator's release (info `env.KEY`). */
#define MT_ALLOC_ENV(X)                                                                            \
	X(MALLOC_CONF)                                                                             \
	X(JE_MALLOC_CONF)                                                                          \
	X(TCMALLOC_RELEASE_RATE)                                                                   \
	X(TCMALLOC_AGGRESSIVE_DECOMMIT)                                                            \
	X(MIMALLOC_PURGE_DELAY)                                                                    \
	X(MIMALLOC_PURGE_DECOMMITS)                                                                \
	X(MIMALLOC_RESET_DELAY)                                                                    \
	X(MIMALLOC_RESET_DECOMMITS)                                                                \
	X(MALLOC_ARENA_MAX)                                                                        \
	X(MALLOC_TRIM_THRESHOLD_)                                                                  \
	X(MALLOC_MMAP_THRESHOLD_)                                                                  \
	X(MALLOC_TOP_PAD_)                                                                         \
	X(GLIBC_TUNABLES)

#define MT_AENV_ENUM(k) MT_AENV_##k,
enum mt_alloc_env { MT_ALLOC_ENV(MT_AENV_ENUM) MT_AENV_NR };
#undef MT_AENV_ENUM

struct mt_pview {
	uint32_t pid, parent;
	char comm[MT_COMM_LEN];
	bool seen;	   /* it had a record of its own (not only info records) */
	uint32_t children; /* forks seen */
	uint32_t execs;
	bool exited, attached;
	uint64_t attach_ns, exit_ns;
	/* calls (successful ones; failed ones counted in errors) */
	uint64_t calls;
	struct mt_call_stats adv[MT_PV_NR];
	struct mt_call_stats munmap;
	struct mt_call_stats brk_shrink; /* brk calls that gave memory back; bytes: how much */
	uint64_t partial_calls, partial_released;
	uint64_t none_remap_calls, none_remap_bytes;
	uint64_t class_calls[MT_CL_NR];
	uint64_t rss_after[MT_CL_NR], rss_down[MT_CL_NR], rss_up[MT_CL_NR];
	/* the region model's view of its releases */
	uint64_t rereleased, escalated, recommitted, hp_released, released_thp;
	uint64_t first_release_ns;
	/* RSS: its own records */
	uint64_t rss_records;
	struct mt_gauges
	    end; /* rss, smaps and state[] as of its last record (exit: before teardown) */
	uint64_t rss_max;
	uint64_t lazyfree_max, lazyfree_max_ns, lazyfree_last_ns;
	uint64_t reclaim_records, sample_drops, reclaimed_bytes, first_reclaim_ns, last_reclaim_ns;
	uint64_t swap_growth, fault_growth;
	/* facts of its current program (an exec forgets them) */
	char go_version[32];
	char godebug[128];
	bool godebug_known, env_read;
	uint64_t gostat_records;
	enum mt_alloc alloc;
	char alloc_linked[8];
	char alloc_version[24];
	char *env[MT_AENV_NR]; /* NULL: unset (or not recorded, unless env_read) */
	/* the preload agent's own account of what it sees (agent.catch, agent.uncaught) */
	char *agent_catch;
	char *agent_uncaught;
};

/* Bytes a process gave back by any call: the ranking of the verdict. */
uint64_t mt_pview__released(const struct mt_pview *v);
/* The process runs a Go program: a go_version record or Go's own numbers. */
bool mt_pview__is_go(const struct mt_pview *v);

#endif
