/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The timeline: records in (live, record by record, or from a trace file),
 * gauges over time and a plain-language verdict out. One region model per
 * traced process (regions.h) gives the reserved/committed/released gauges;
 * rss records give RSS and smaps_rollup LazyFree. The report and the live
 * view share this one code path: `madvtrace report` is a reader loop that
 * feeds a timeline.
 *
 * The model prints nothing: report/live.c prints for a live session.
 *
 * Live use:
 *	tl = mt_timeline__new(&opts);        (opts.on_gauge = mt_live__gauge for --gauges)
 *	mt_timeline__feed(tl, rec);           for every record
 *	mt_timeline__tick(tl, mt_now_ns());   now and then, so idle intervals are due
 *	mt_live__print_summary(tl, stderr);   the table (report/live.h)
 *	mt_timeline__finish(tl);
 *	mt_timeline__print_verdict(tl, stderr);
 *	mt_timeline__free(tl);
 */
#ifndef MT_TIMELINE_H
#define MT_TIMELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "madvtrace/record.h"
#include "regions.h"
#include "gorecon.h"
#include "fmt.h"

/* Advice values are counted individually below this; larger or negative ones share the last slot.
 */
#define MT_ADVICE_SLOTS 128

/* The slot of an advice value: what a program passes is unbounded, the tables are not. */
static inline int mt_advice_slot(int advice)
{
	return advice < 0 || advice >= MT_ADVICE_SLOTS - 1 ? MT_ADVICE_SLOTS - 1 : advice;
}

/* The gauges at one moment, summed over the traced processes. */
struct mt_gauges {
	uint64_t t_ns;
	uint64_t rss_anon, rss_file, rss_shmem, swap; /* last rss records */
	uint64_t rss_peak;	      /* highest anon+file+shmem since the previous sample */
	uint64_t lazyfree, smaps_rss; /* last smaps_rollup values; valid if have_smaps */
	uint64_t state[MT_RS_NR];     /* reserved, committed, released lazily, released eagerly */
	/* cumulative since the start */
	uint64_t calls;			 /* traced calls (process_madvise: one per iovec entry) */
	uint64_t free_calls, free_bytes; /* MADV_FREE */
	uint64_t dontneed_calls,
	    dontneed_bytes; /* MADV_DONTNEED, MADV_DONTNEED_LOCKED, MADV_REMOVE */
	uint64_t munmap_calls, munmap_bytes;
	uint64_t hugepage_calls;  /* MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_COLLAPSE */
	uint64_t reclaimed_bytes; /* RSS fall outside any call (reclaim records, samples) */
	/* Go's own numbers (last gostat records); valid if have_go_released / have_go_inuse */
	uint64_t go_heap_released, go_heap_inuse;
	bool have_rss, have_smaps;
	bool have_go_released, have_go_inuse;
};

static inline uint64_t mt_gauges_rss(const struct mt_gauges *g)
{
	return g->rss_anon + g->rss_file + g->rss_shmem;
}

struct mt_call_stats {
	uint64_t calls, errors;
	uint64_t bytes; /* successful calls: length (mremap: new length; brk: break movement) */
	uint64_t first_ns, last_ns; /* successful calls */
};

/* Calls grouped by what they did to RSS (rss records right after them). */
enum mt_call_class {
	MT_CL_FREE,	/* MADV_FREE */
	MT_CL_DONTNEED, /* MADV_DONTNEED, MADV_DONTNEED_LOCKED */
	MT_CL_REMOVE,	/* MADV_REMOVE */
	MT_CL_MUNMAP,
	MT_CL_NONE_REMAP, /* mmap(PROT_NONE, MAP_FIXED) over accessible memory */
	MT_CL_OTHER,
	MT_CL_NR,
};

/* Calls as the end-of-session table counts them (records.h's mt_call: failed, bytes). */
struct mt_tally {
	uint64_t calls, errors, bytes;
};

/* RSS (anon + file + shmem) of one process, or summed over all of them. */
struct mt_summary_rss {
	uint64_t first;	   /* at its earliest rss record (by t_ns) */
	uint64_t last;	   /* at its latest rss record (by t_ns) */
	uint64_t peak;	   /* largest value seen */
	uint64_t lazyfree; /* LazyFree of the last rss record with smaps values */
	bool has_lazyfree;
};

struct mt_summary {
	struct mt_gauges end; /* at the end of the trace, or just before the exit teardown */
	uint64_t start_ns, end_ns;
	uint64_t records, unknown_records, after_exit_records;
	uint64_t
	    inconsistent; /* records the model had to refuse (e.g. unaligned address with ret 0) */
	uint64_t lost_events, first_lost_ns;
	struct mt_call_stats syscall[MT_TYPE_MAX]; /* by enum mt_type; MT_MMAP..MT_MPROTECT */
	struct mt_call_stats advice[MT_ADVICE_SLOTS];
	uint64_t process_madvise_records;
	/* madvise calls that failed with ENOMEM (holes) after applying to the mapped parts */
	uint64_t partial_calls, partial_released;
	uint64_t none_remap_calls, none_remap_bytes; /* PROT_NONE remaps that dropped pages */
	/* the region model's view of releases (bytes) */
	uint64_t released_fresh; /* committed memory released */
	uint64_t rereleased;  /* released again while released: the program re-used it (inferred) */
	uint64_t escalated;   /* lazily released, then eagerly */
	uint64_t recommitted; /* released memory committed again by a call */
	uint64_t hp_released; /* released memory later advised MADV_HUGEPAGE */
	uint64_t
	    released_thp; /* at the end: released bytes whose last THP advice is MADV_HUGEPAGE */
	uint64_t filled;  /* memory from before the trace learned through calls */
	uint64_t regions; /* at the end: regions in the model (its memory is proportional) */
	/* RSS */
	uint64_t rss_records, smaps_records;
	uint64_t rss_first, rss_first_ns; /* first rss record */
	uint64_t rss_max, rss_max_ns;
	uint64_t rss_down[MT_CL_NR], rss_up[MT_CL_NR]; /* RSS change in rss records after calls */
	uint64_t rss_after[MT_CL_NR];		       /* such rss records */
	uint64_t class_calls[MT_CL_NR];		       /* successful calls per class */
	/* RSS falls seen outside any call: in rss records with reason reclaim, or in samples */
	uint64_t reclaim_records, sample_drops, reclaimed_bytes, first_reclaim_ns, last_reclaim_ns;
	uint64_t swap_growth;  /* swap increase seen in reclaim records */
	uint64_t fault_growth; /* RSS growth by page faults after the first release */
	uint64_t lazyfree_max, lazyfree_max_ns, lazyfree_last_ns;
	uint64_t first_release_ns; /* first call that released memory; 0 if none */
	/* processes */
	uint32_t processes; /* seen */
	uint32_t target_pid;
	char target_comm[MT_COMM_LEN];
	bool target_exited;
	int32_t target_status; /* wait status, valid if target_exited */
	uint64_t target_exit_ns;
	/* facts about the target from info records ("" when none was recorded) */
	char go_version[32]; /* "go1.19.8" */
	char godebug[128];   /* the GODEBUG of its environment */
	bool godebug_known;  /* an env.GODEBUG record was seen */
	bool go_env_read;    /* an env_read record: GODEBUG is unset unless godebug_known */
	uint64_t info_records, stack_records;
	uint64_t gostat_records, resident_records; /* Go's numbers; pagemap passes */
	bool any_go_numbers; /* some gostat record had HeapReleased or HeapInuse: the reports' Go columns */
	/*
	 * The end-of-session table (report/live.c), like `strace -c`: call
	 * records as delivered, those of exited processes included; brk bytes
	 * are how far the break moved. Not syscall[] above, which counts what
	 * the model applied (brk: pages mapped and unmapped).
	 */
	struct mt_tally delivered[MT_TYPE_MAX]; /* by enum mt_type; MT_MMAP..MT_MPROTECT */
	uint32_t first_pid; /* the pid of the first record (the main target); 0 before any */
	uint32_t rss_procs; /* processes with at least one rss record */
};

/* One sentence-sized statement of the verdict. */
struct mt_finding {
	const char *kind; /* stable key, e.g. "lazy_release" (docs/report-format.md) */
	char *text;
	uint32_t pid; /* in a trace of several processes, the one it is about; 0: the trace */
};

struct mt_timeline;

/*
 * A gauge interval is over (live view): t_ns is its end, now the gauges
 * then, prev those at the previous call (all zero the first time).
 */
typedef void (*mt_gauge_fn)(void *ctx, const struct mt_timeline *tl, uint64_t t_ns,
			    const struct mt_gauges *now, const struct mt_gauges *prev);

struct mt_timeline_opts {
	uint64_t start_ns;	 /* time zero of the report (trace header); 0: the first record */
	int64_t clock_offset_ns; /* realtime - monotonic, for wall-clock times in gauge lines */
	uint64_t interval_ns; /* sample interval; 0: automatic, bounded (1 ms growing as needed) */
	uint32_t page_size;   /* 0: 4096 */
	uint32_t target_pid;  /* the traced command's pid (the scope); 0: the first seen */
	uint32_t backend;     /* enum mt_backend_id (what it could see); 0: unknown */
	const char *target;   /* the traced command line, for messages; may be NULL */
	/* live --gauges: on_gauge (may be NULL) is called once per elapsed gauges_interval_ns */
	mt_gauge_fn on_gauge;
	void *gauge_ctx;
	uint64_t gauges_interval_ns; /* 0: 1 s */
};

struct mt_timeline *mt_timeline__new(const struct mt_timeline_opts *opts);
/* Apply one record. 0, or -ENOMEM (the timeline is then unusable). */
int mt_timeline__feed(struct mt_timeline *tl, const struct mt_hdr *rec);
/* Let time pass without a record (live mode): samples and gauge lines up to now. */
void mt_timeline__tick(struct mt_timeline *tl, uint64_t now_ns);
/* The end of the trace: take the final sample and work out the verdict. Idempotent. */
int mt_timeline__finish(struct mt_timeline *tl);
void mt_timeline__free(struct mt_timeline *tl);

/* The summary; complete after finish, the end-of-session table's figures at any time. */
const struct mt_summary *mt_timeline__summary(const struct mt_timeline *tl);
/* opts.clock_offset_ns: wall-clock time of a record is t_ns + this (0: unknown). */
int64_t mt_timeline__clock_offset(const struct mt_timeline *tl);
/* The table's calls per madvise advice slot (mt_advice_slot: the last one holds every larger or
 * negative value), i-th in increasing order; false past the last. */
bool mt_timeline__advice_tally(const struct mt_timeline *tl, size_t i, int *advice,
			       struct mt_tally *t);
/* RSS of pid from its rss records, exited or not; false if it had none. */
bool mt_timeline__rss(const struct mt_timeline *tl, uint32_t pid, struct mt_summary_rss *out);
/*
 * RSS summed over all processes: first = sum of first values, last = sum of
 * last values, peak = the largest sum of the most recently received values.
 * false if there was no rss record at all.
 */
bool mt_timeline__rss_total(const struct mt_timeline *tl, struct mt_summary_rss *out);
/* The samples, oldest first; the last one is the end of the trace. */
const struct mt_gauges *mt_timeline__samples(const struct mt_timeline *tl, size_t *n);
/* Sample interval in use (it grows when automatic, or when a fixed one would not fit). */
uint64_t mt_timeline__interval(const struct mt_timeline *tl);
/* True when a fixed interval had to be raised to bound memory. */
bool mt_timeline__interval_raised(const struct mt_timeline *tl);
const struct mt_finding *mt_timeline__findings(const struct mt_timeline *tl, size_t *n);
/*
 * After finish: append a finding made elsewhere in the model (model/releasers_verdict.c);
 * kind must outlive the timeline, text is copied. 0, or -ENOMEM.
 */
int mt_timeline__add_finding(struct mt_timeline *tl, const char *kind, const char *text);
/*
 * The reconciliation of each Go process (a process with gostat records),
 * by pid; left_out (may be NULL): Go processes past MT_RECON_MAX. Worked out
 * at every gostat and resident record, and at finish.
 */
const struct mt_recon *mt_timeline__recon(const struct mt_timeline *tl, size_t *n,
					  uint32_t *left_out);
/* Top mappings by released bytes (live and unmapped), up to max; returns how many. */
size_t mt_timeline__top_regions(const struct mt_timeline *tl, struct mt_mapping_info *out,
				size_t max);
#endif
