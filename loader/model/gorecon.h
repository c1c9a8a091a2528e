/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Go's own numbers against the kernel's, for one Go process (a process with
 * gostat records): HeapReleased taken apart into what the kernel shows for
 * it (pagemap by model state: resident records), and RSS taken apart into
 * what Go says it holds and the rest. Worked out by the timeline at each
 * gostat and resident record and at the end (model/gorecon.c), said in
 * words by model/gorecon_verdict.c, rendered by the reports
 * (docs/report-format.md, "reconciliation").
 */
#ifndef MT_GORECON_H
#define MT_GORECON_H

#include <stdbool.h>
#include <stdint.h>
#include "madvtrace/record.h"
#include "regions.h"

/* Go processes reconciled; more are counted in mt_recon_set.left_out. */
#define MT_RECON_MAX 16

struct mt_recon {
	uint32_t pid;
	/* the inputs: the last gostat record, the last resident record (if any) */
	struct mt_gostat go;
	struct mt_resident res;
	bool have_res;
	uint64_t gostat_records, resident_records;
	/* the kernel's counters at the time of the reconciliation */
	bool have_rss, have_smaps;
	uint64_t rss, rss_file, lazyfree;
	uint64_t t_ns; /* when it was last worked out */
	/* committed bytes the model holds, by whether they can be Go heap (at the resident record)
	 */
	uint64_t heap_candidates; /* private anonymous (not MAP_STACK), and pre-trace ranges */
	uint64_t not_heap;	  /* MAP_STACK, file, shared and brk-heap ranges */
	uint64_t release_calls;	  /* of this process: MADV_FREE, eager advice, PROT_NONE remaps */
	uint64_t model_lazy, model_eager; /* the model's released states for it, at t_ns */
	/*
	 * HeapReleased, taken apart (have_released: heap_released is known and
	 * there is a resident record). The parts and unexplained sum to
	 * heap_released exactly.
	 */
	bool have_released;
	uint64_t lazy_resident; /* released with MADV_FREE, still resident: min(LazyFree,
				   lazy_present) */
	uint64_t
	    lazy_reclaimed; /* released with MADV_FREE, since taken by the kernel: lazy_absent */
	uint64_t eager_out; /* released eagerly, not touched since: eager_absent */
	uint64_t never_touched; /* committed, never in RAM, can be Go heap: Go counts it released */
	int64_t unexplained;	/* what is left; negative: the kernel shows more released */
	uint64_t absent_other;	/* committed_absent not counted as never-touched heap */
	uint64_t lazy_rewritten; /* lazy_present - lazy_resident: written again since (re-used) */
	/*
	 * RSS, taken apart (have_rss_parts: RSS and HeapInuse known). The parts
	 * sum to rss exactly; other is what Go does not count (signed: Go
	 * counts in-use spans whole, written or not).
	 */
	bool have_rss_parts;
	uint64_t heap_inuse, stack_inuse, idle_kept; /* idle_kept: HeapIdle - HeapReleased */
	uint64_t rss_lazyfree;			     /* LazyFree (0 when not sampled) */
	int64_t other;
	uint64_t faulted_back; /* eager_present: inside the Go figures above, not added */
	bool partial;	       /* the resident pass was capped */
};

static inline bool mt_recon__has(const struct mt_recon *r, uint32_t bit)
{
	return (r->go.have & bit) != 0;
}

/* Work out r's parts from its inputs (go, res and the counters and bytes above). */
void mt_recon__compute(struct mt_recon *r);
/* The committed bytes of rs that can be Go heap, and those that cannot. */
void mt_recon__heap_kinds(const struct mt_regions *rs, uint64_t *candidates, uint64_t *not_heap);

#endif
