// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The arithmetic of the reconciliation (gorecon.h): HeapReleased and RSS
 * taken apart into parts that each come from one record, so every figure
 * can be checked by hand against the trace.
 */
#include "gorecon.h"

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

struct kinds {
	uint64_t candidates, not_heap;
};

/* Committed ranges that can hold Go heap: private anonymous memory, and memory from before the
 * trace. */
static int add_committed(void *ctx, const struct mt_region_info *r)
{
	struct kinds *k = ctx;

	if (r->state != MT_RS_COMMITTED)
		return 0;
	if (r->kind == MT_RK_ANON || r->kind == MT_RK_UNKNOWN)
		k->candidates += r->end - r->start;
	else
		k->not_heap += r->end - r->start; /* thread stacks, files, shared memory, brk */
	return 0;
}

static void released_parts(struct mt_recon *r)
{
	const struct mt_resident *res = &r->res;
	uint64_t hr = r->go.heap_released, madv, left;

	r->have_released = mt_recon__has(r, MT_GS_HEAP_RELEASED) && r->have_res;
	if (!r->have_released)
		return;
	/* without smaps, all of lazy_present is taken as still lazily free */
	r->lazy_resident =
	    r->have_smaps ? min_u64(r->lazyfree, res->lazy_present) : res->lazy_present;
	r->lazy_rewritten = res->lazy_present - r->lazy_resident;
	r->lazy_reclaimed = res->lazy_absent;
	r->eager_out = res->eager_absent;
	madv = r->lazy_resident + r->lazy_reclaimed + r->eager_out;
	left = hr > madv ? hr - madv : 0;
	/* never touched: what Go still counts, up to what the kernel shows committed, absent and
	 * heap-like */
	r->never_touched = min_u64(left, min_u64(res->committed_absent, r->heap_candidates));
	r->absent_other = res->committed_absent - r->never_touched;
	r->unexplained = (int64_t)(hr - madv - r->never_touched);
}

static void rss_parts(struct mt_recon *r)
{
	const struct mt_gostat *g = &r->go;
	uint64_t sum;

	r->have_rss_parts = r->have_rss && mt_recon__has(r, MT_GS_HEAP_INUSE);
	if (!r->have_rss_parts)
		return;
	r->heap_inuse = g->heap_inuse;
	r->stack_inuse = mt_recon__has(r, MT_GS_STACK_INUSE) ? g->stack_inuse : 0;
	r->idle_kept = mt_recon__has(r, MT_GS_HEAP_IDLE) && mt_recon__has(r, MT_GS_HEAP_RELEASED) &&
			       g->heap_idle > g->heap_released
			   ? g->heap_idle - g->heap_released
			   : 0;
	r->rss_lazyfree = r->have_smaps ? r->lazyfree : 0;
	r->faulted_back = r->have_res ? r->res.eager_present : 0;
	sum = r->heap_inuse + r->stack_inuse + r->idle_kept + r->rss_lazyfree;
	r->other = (int64_t)(r->rss - sum);
}

void mt_recon__heap_kinds(const struct mt_regions *rs, uint64_t *candidates, uint64_t *not_heap)
{
	struct kinds k = {0};

	mt_regions__foreach(rs, add_committed, &k);
	*candidates = k.candidates;
	*not_heap = k.not_heap;
}

void mt_recon__compute(struct mt_recon *r)
{
	r->partial = r->have_res && (r->res.flags & MT_RES_CAPPED);
	released_parts(r);
	rss_parts(r);
}
