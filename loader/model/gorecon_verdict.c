// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The reconciliation in words (findings of kind "reconciliation"): for each
 * Go process, why RSS is what it is although Go reports memory released,
 * HeapReleased as the sum of its parts, and what the records could not
 * tell. Every figure comes from a record (gorecon.h); nothing is said of a
 * process without gostat records.
 */
#include <inttypes.h>
#include <stdio.h>
#include "timeline_int.h"

#define KIND "reconciliation"

/* "-1.5 MiB" for a signed figure */
static char *fmt_signed(char *buf, size_t len, int64_t v)
{
	size_t neg = v < 0 && len > 1;

	buf[0] = '-';
	mt_fmt_bytes(buf + neg, len - neg, v < 0 ? (uint64_t)-v : (uint64_t)v);
	return buf;
}

/* The one sentence a user asks for: why RSS is what it is although Go reports memory released. */
static void headline(struct mt_timeline *tl, const struct mt_recon *r)
{
	char h[32], a[32], rss[32];
	uint64_t hr = r->go.heap_released;
	uint64_t madv = r->lazy_resident + r->lazy_reclaimed + r->eager_out;

	mt_fmt_bytes(h, sizeof(h), hr);
	if (!r->release_calls && mt_verdict__blind(tl, r->pid)) {
		/* no release seen by a backend that could not see the runtime's calls */
		mt_verdict__add(tl, KIND,
				"Go reports %s released; the trace shows no release by madvise, "
				"but it cannot see the runtime's own calls, so how much of it "
				"madvise released and how much was never touched is unknown.",
				h);
		return;
	}
	if (!r->release_calls && r->never_touched) {
		mt_verdict__add(tl, KIND,
				"Go reports %s released, but madvise released nothing: that is "
				"heap Go mapped and never touched, which it counts as released.",
				h);
		return;
	}
	if (r->lazy_resident && r->lazy_resident >= r->eager_out &&
	    r->lazy_resident >= r->lazy_reclaimed && r->lazy_resident >= r->never_touched) {
		if (r->have_rss)
			mt_verdict__add(
			    tl, KIND,
			    "RSS is %s although Go reports %s released: %s of it was released "
			    "with MADV_FREE and is still resident (LazyFree) — the kernel will "
			    "take it when it needs memory.",
			    mt_fmt_bytes(rss, sizeof(rss), r->rss), h,
			    mt_fmt_bytes(a, sizeof(a), r->lazy_resident));
		else
			mt_verdict__add(
			    tl, KIND,
			    "Go reports %s released: %s of it was released with MADV_FREE "
			    "and is still resident (LazyFree) — the kernel will take it "
			    "when it needs memory.",
			    h, mt_fmt_bytes(a, sizeof(a), r->lazy_resident));
		return;
	}
	if (r->eager_out && r->eager_out >= r->lazy_reclaimed && r->eager_out >= r->never_touched) {
		mt_verdict__add(tl, KIND,
				"Go reports %s released: %s of it was released eagerly "
				"(MADV_DONTNEED) and is out of RAM, so RSS%s%s does not count it.",
				h, mt_fmt_bytes(a, sizeof(a), r->eager_out), r->have_rss ? " " : "",
				r->have_rss ? mt_fmt_bytes(rss, sizeof(rss), r->rss) : "");
		return;
	}
	if (r->lazy_reclaimed && r->lazy_reclaimed >= r->never_touched) {
		mt_verdict__add(tl, KIND,
				"Go reports %s released: %s of it was released with MADV_FREE "
				"and the kernel has taken it since, so RSS no longer counts it.",
				h, mt_fmt_bytes(a, sizeof(a), r->lazy_reclaimed));
		return;
	}
	if (r->never_touched)
		mt_verdict__add(tl, KIND,
				"Go reports %s released, and %s of it was released with madvise "
				"and is still out of RSS or lazily free; the most of it is heap Go "
				"mapped and never touched, which it counts as released.",
				h, mt_fmt_bytes(a, sizeof(a), madv));
	else if (hr)
		mt_verdict__add(tl, KIND,
				"Go reports %s released, and the kernel's figures account for "
				"none of it (see the unexplained part below).",
				h);
	else
		mt_verdict__add(tl, KIND, "Go reports no heap released.");
}

/* HeapReleased = its parts, every one given, so the sum can be checked. */
static void released_sum(struct mt_timeline *tl, const struct mt_recon *r)
{
	char h[32], p[5][32], t1[32], t2[32];

	mt_verdict__add(
	    tl, KIND,
	    "Go's HeapReleased of pid %" PRIu32 " (%s, at %s; pagemap at %s) = %s released with "
	    "MADV_FREE and still resident (LazyFree) + %s released with MADV_FREE and taken by "
	    "the kernel since + %s released eagerly and not touched since + %s mapped and never "
	    "touched + %s unexplained.",
	    r->pid, mt_fmt_bytes(h, sizeof(h), r->go.heap_released),
	    mt_fmt_rel(t1, sizeof(t1), r->go.h.t_ns, tl->t0),
	    mt_fmt_rel(t2, sizeof(t2), r->res.h.t_ns, tl->t0),
	    mt_fmt_bytes(p[0], sizeof(p[0]), r->lazy_resident),
	    mt_fmt_bytes(p[1], sizeof(p[1]), r->lazy_reclaimed),
	    mt_fmt_bytes(p[2], sizeof(p[2]), r->eager_out),
	    mt_fmt_bytes(p[3], sizeof(p[3]), r->never_touched),
	    fmt_signed(p[4], sizeof(p[4]), r->unexplained));
}

/* What the parts leave out, and what the records cannot tell apart. */
static void released_notes(struct mt_timeline *tl, const struct mt_recon *r)
{
	char a[32], b[32], c[32], d[32], e[32];

	if (!r->have_smaps && r->res.lazy_present)
		mt_verdict__add(
		    tl, KIND,
		    "smaps_rollup was not sampled, so all %s of lazily released "
		    "memory still in RAM is taken as LazyFree; some of it may have been "
		    "written again.",
		    mt_fmt_bytes(a, sizeof(a), r->res.lazy_present));
	if (r->lazy_rewritten)
		mt_verdict__add(
		    tl, KIND,
		    "%s released with MADV_FREE was written again since (it is no "
		    "longer LazyFree): Go used it again, so HeapReleased does not count "
		    "it.",
		    mt_fmt_bytes(a, sizeof(a), r->lazy_rewritten));
	if (r->res.eager_present)
		mt_verdict__add(tl, KIND,
				"%s released eagerly has been faulted back in since: Go used it "
				"again, so HeapReleased does not count it (it is in RSS, within "
				"HeapInuse or idle heap).",
				mt_fmt_bytes(a, sizeof(a), r->res.eager_present));
	if (r->res.committed_absent)
		mt_verdict__add(
		    tl, KIND,
		    "Committed memory not in RAM: %s; %s of it is counted above as never-touched "
		    "heap. The rest (%s) is not in HeapReleased: up to %s of it lies in thread "
		    "stacks (MAP_STACK), file and shared mappings and the brk heap, which are not "
		    "Go heap; what else it holds (runtime metadata, stacks mapped without "
		    "MAP_STACK, in-use spans not yet written: %s of committed memory can be heap) "
		    "the records cannot tell apart.",
		    mt_fmt_bytes(a, sizeof(a), r->res.committed_absent),
		    mt_fmt_bytes(b, sizeof(b), r->never_touched),
		    mt_fmt_bytes(c, sizeof(c), r->absent_other),
		    mt_fmt_bytes(d, sizeof(d), r->not_heap),
		    mt_fmt_bytes(e, sizeof(e), r->heap_candidates));
	if (r->unexplained > 0)
		mt_verdict__add(
		    tl, KIND,
		    "Go counts %s more as released than the kernel shows released or "
		    "never touched: memory refilled without a call (khugepaged), or the "
		    "heap changed between Go's figure and the pagemap pass.",
		    fmt_signed(a, sizeof(a), r->unexplained));
	else if (r->unexplained < 0)
		mt_verdict__add(
		    tl, KIND,
		    "The kernel shows %s more released than Go counts: releases by other "
		    "code in the process (cgo, a C allocator), or the heap changed "
		    "between Go's figure and the pagemap pass.",
		    fmt_signed(a, sizeof(a), -r->unexplained));
	if (r->partial)
		mt_verdict__add(
		    tl, KIND,
		    "The pagemap pass stopped at its page budget (capped): the kernel's "
		    "figures cover part of the ranges only, so the parts above are "
		    "partial.");
}

static void rss_sum(struct mt_timeline *tl, const struct mt_recon *r)
{
	char p[7][32];

	if (!r->have_rss_parts)
		return;
	mt_verdict__add(
	    tl, KIND,
	    "RSS %s = HeapInuse %s + StackInuse %s + idle heap not yet released %s + released "
	    "but still resident (LazyFree) %s + the rest %s: runtime structures and memory "
	    "that is not Go's (the binary and libraries, %s of file RSS; C allocations)%s.",
	    mt_fmt_bytes(p[0], sizeof(p[0]), r->rss),
	    mt_fmt_bytes(p[1], sizeof(p[1]), r->heap_inuse),
	    mt_fmt_bytes(p[2], sizeof(p[2]), r->stack_inuse),
	    mt_fmt_bytes(p[3], sizeof(p[3]), r->idle_kept),
	    mt_fmt_bytes(p[4], sizeof(p[4]), r->rss_lazyfree),
	    fmt_signed(p[5], sizeof(p[5]), r->other), mt_fmt_bytes(p[6], sizeof(p[6]), r->rss_file),
	    r->other < 0 ? "; negative: Go counts its in-use spans whole, written or not" : "");
}

void mt_gorecon__verdict(struct mt_timeline *tl, uint32_t pid)
{
	char a[32], b[32], c[32], t[32];

	for (size_t i = 0; i < tl->nrecon; i++) {
		const struct mt_recon *r = &tl->recon[i];

		if (r->pid != pid)
			continue;
		if (!mt_recon__has(r, MT_GS_HEAP_RELEASED)) {
			mt_verdict__add(tl, KIND,
					"Go's numbers for pid %" PRIu32 " (%" PRIu64
					" gostat record%s) do not include HeapReleased, so what it "
					"released cannot be set against the kernel's figures.",
					r->pid, r->gostat_records,
					r->gostat_records == 1 ? "" : "s");
		} else if (!r->have_res) {
			mt_verdict__add(
			    tl, KIND,
			    "Go reports %s released (pid %" PRIu32 ", at %s), but the trace has no "
			    "pagemap pass (resident records) for it, so which part is out of RAM "
			    "is unknown; the region model holds %s released lazily and %s released "
			    "eagerly.",
			    mt_fmt_bytes(a, sizeof(a), r->go.heap_released), r->pid,
			    mt_fmt_rel(t, sizeof(t), r->go.h.t_ns, tl->t0),
			    mt_fmt_bytes(b, sizeof(b), r->model_lazy),
			    mt_fmt_bytes(c, sizeof(c), r->model_eager));
		} else {
			headline(tl, r);
			released_sum(tl, r);
			released_notes(tl, r);
		}
		rss_sum(tl, r);
	}
}

void mt_gorecon__left_out(struct mt_timeline *tl)
{
	if (tl->recon_left_out)
		mt_verdict__add(
		    tl, KIND,
		    "%" PRIu32 " more Go process%s had gostat records; only the first %d "
		    "are reconciled.",
		    tl->recon_left_out, tl->recon_left_out == 1 ? "" : "es", MT_RECON_MAX);
}
