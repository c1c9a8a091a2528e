// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The verdict: plain-language findings from the summary, each a sentence
 * with a stable kind (docs/report-format.md). It states what the records
 * show and marks what it infers; renderers print the findings
 * (report/live.c wraps them for a terminal).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fmt.h"
#include "records.h"
#include "xlat.h"
#include "goinfo.h"
#include "madvtrace/advice.h"
#include "timeline_int.h"

/* "+1.234s": time since the start of the trace. */
static char *fmt_rel(const struct mt_timeline *tl, char *buf, size_t len, uint64_t t)
{
	return mt_fmt_rel(buf, len, t, tl->t0);
}

void mt_verdict__add(struct mt_timeline *tl, const char *kind, const char *fmt, ...)
{
	struct mt_finding *f;
	va_list ap;
	char *text;
	int n;

	if (tl->err)
		return;
	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		tl->err = -ENOMEM;
		return;
	}
	f = realloc(tl->findings, (tl->nfindings + 1) * sizeof(*f));
	if (!f) {
		free(text);
		tl->err = -ENOMEM;
		return;
	}
	tl->findings = f;
	f[tl->nfindings].kind = kind;
	f[tl->nfindings].text = text;
	tl->nfindings++;
}

/* "in 12 calls between +1.000s and +2.000s" / "in 1 call at +1.000s" */
static char *fmt_calls(const struct mt_timeline *tl, char *buf, size_t len, uint64_t calls,
		       uint64_t first, uint64_t last)
{
	char a[32], b[32];

	if (calls == 1 || first == last)
		snprintf(buf, len, "in %" PRIu64 " call%s at %s", calls, calls == 1 ? "" : "s",
			 fmt_rel(tl, a, sizeof(a), first));
	else
		snprintf(buf, len, "in %" PRIu64 " calls between %s and %s", calls,
			 fmt_rel(tl, a, sizeof(a), first), fmt_rel(tl, b, sizeof(b), last));
	return buf;
}

static uint64_t ok_calls(const struct mt_call_stats *s)
{
	return s->calls - s->errors;
}

static void verdict_scope(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	char a[32], who[64];

	if (s->target_comm[0])
		snprintf(who, sizeof(who), "pid %" PRIu32 " (%s)", s->target_pid, s->target_comm);
	else
		snprintf(who, sizeof(who), "pid %" PRIu32, s->target_pid);
	mt_verdict__add(
	    tl, "scope", "Trace of %s%s over %" PRIu64 ".%03" PRIu64 " s: %" PRIu64 " records%s%s.",
	    who, s->processes > 1 ? " and its children" : "",
	    (s->end_ns - s->start_ns) / 1000000000, (s->end_ns - s->start_ns) / 1000000 % 1000,
	    s->records, s->target_exited ? "; the process exited at " : "",
	    s->target_exited ? fmt_rel(tl, a, sizeof(a), s->target_exit_ns) : "");
	if (s->lost_events)
		mt_verdict__add(tl, "lost",
			    "WARNING: %" PRIu64
			    " events were lost by the recorder (the first at %s): "
			    "calls after that may be missing, so the figures below can be wrong.",
			    s->lost_events, fmt_rel(tl, a, sizeof(a), s->first_lost_ns));
	if (s->unknown_records)
		mt_verdict__add(tl, "unknown_records",
			    "%" PRIu64 " record%s of a type this version does not know %s skipped.",
			    s->unknown_records, s->unknown_records == 1 ? "" : "s",
			    s->unknown_records == 1 ? "was" : "were");
	if (s->inconsistent)
		mt_verdict__add(tl, "inconsistent",
			    "%" PRIu64 " successful calls could not be applied to the region model "
			    "(a range the kernel would have refused, or arguments that were not "
			    "read); the gauges leave them out.",
			    s->inconsistent);
}

static void verdict_releases(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	static const struct {
		int advice;
		const char *how;
	} rel[] = {
	    {MT_MADV_FREE, "lazily: the pages stay mapped and counted in RSS (as LazyFree) until "
		       "the kernel reclaims them under memory pressure or the program writes "
		       "to them again"},
	    {MT_MADV_DONTNEED, "eagerly: the pages were dropped at once and leave RSS immediately"},
	    {MT_MADV_DONTNEED_LOCKED, "eagerly, locked pages included"},
	    {MT_MADV_REMOVE, "eagerly, with their backing store"},
	};
	char b[32], c[96];
	bool any = false;

	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		const struct mt_call_stats *a = &s->advice[rel[i].advice];

		if (!a->calls)
			continue;
		if (ok_calls(a)) {
			any = true;
			mt_verdict__add(
			    tl, rel[i].advice == MT_MADV_FREE ? "lazy_release" : "eager_release",
			    "%s released %s %s, %s.", mt_advice_name(rel[i].advice),
			    mt_fmt_bytes(b, sizeof(b), a->bytes),
			    fmt_calls(tl, c, sizeof(c), ok_calls(a), a->first_ns, a->last_ns),
			    rel[i].how);
		}
		if (a->errors)
			mt_verdict__add(tl, "failed_release", "%" PRIu64 " %s call%s failed.",
				    a->errors, mt_advice_name(rel[i].advice),
				    a->errors == 1 ? "" : "s");
	}
	if (s->partial_calls)
		mt_verdict__add(
		    tl, "partial_release",
		    "%" PRIu64 " madvise call%s failed with ENOMEM because the range had "
		    "unmapped holes; the kernel still applied the advice to the mapped parts, "
		    "and the model counts them (%s released that way).",
		    s->partial_calls, s->partial_calls == 1 ? "" : "s",
		    mt_fmt_bytes(b, sizeof(b), s->partial_released));
	if (s->none_remap_calls) {
		any = true;
		mt_verdict__add(
		    tl, "eager_release",
		    "mmap(PROT_NONE, MAP_FIXED) over accessible memory dropped %s in %" PRIu64
		    " call%s (a hard decommit: the pages leave RSS at once).",
		    mt_fmt_bytes(b, sizeof(b), s->none_remap_bytes), s->none_remap_calls,
		    s->none_remap_calls == 1 ? "" : "s");
	}
	if (ok_calls(&s->syscall[MT_MUNMAP])) {
		const struct mt_call_stats *m = &s->syscall[MT_MUNMAP];

		mt_verdict__add(tl, "unmap", "munmap unmapped %s %s.",
			    mt_fmt_bytes(b, sizeof(b), m->bytes),
			    fmt_calls(tl, c, sizeof(c), ok_calls(m), m->first_ns, m->last_ns));
	}
	if (!any)
		mt_verdict__add(
		    tl, "no_release",
		    "No memory was released with madvise: there is no MADV_FREE, "
		    "MADV_DONTNEED or MADV_REMOVE call and no PROT_NONE remap in the trace%s.",
		    ok_calls(&s->syscall[MT_MUNMAP]) ? " (only munmap)" : "");
}

static void verdict_rss_at_release(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	static const struct {
		enum mt_call_class cls;
		const char *name;
	} cl[] = {
	    {MT_CL_FREE, "MADV_FREE"},	   {MT_CL_DONTNEED, "MADV_DONTNEED"},
	    {MT_CL_REMOVE, "MADV_REMOVE"}, {MT_CL_NONE_REMAP, "PROT_NONE remap"},
	    {MT_CL_MUNMAP, "munmap"},
	};
	char b[32], c[48];

	for (size_t i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
		enum mt_call_class k = cl[i].cls;

		if (!s->class_calls[k])
			continue;
		if (!s->rss_records) {
			mt_verdict__add(
			    tl, "rss_at_release",
			    "The trace has no rss records, so what RSS did at the %s calls is "
			    "unknown.",
			    cl[i].name);
			continue;
		}
		if (!s->rss_after[k]) {
			mt_verdict__add(tl, "rss_at_release",
				    k == MT_CL_FREE
					? "RSS did not change at the %s calls (no rss record after "
					  "them): lazily freed pages stay in RSS."
					: "RSS did not change at the %s calls (no rss record after "
					  "them): the pages released were not resident.",
				    cl[i].name);
			continue;
		}
		if (!s->rss_down[k]) {
			mt_verdict__add(tl, "rss_at_release",
				    "RSS did not fall at the %s calls: the %" PRIu64
				    " rss record%s right after them show%s a rise of %s.",
				    cl[i].name, s->rss_after[k], s->rss_after[k] == 1 ? "" : "s",
				    s->rss_after[k] == 1 ? "s" : "",
				    mt_fmt_bytes(b, sizeof(b), s->rss_up[k]));
			continue;
		}
		c[0] = '\0';
		if (s->rss_up[k]) {
			char up[32];

			snprintf(c, sizeof(c), " and rose by %s",
				 mt_fmt_bytes(up, sizeof(up), s->rss_up[k]));
		}
		mt_verdict__add(tl, "rss_at_release",
			    "RSS fell by %s%s at the %s calls (%" PRIu64
			    " rss record%s right after them).",
			    mt_fmt_bytes(b, sizeof(b), s->rss_down[k]), c, cl[i].name,
			    s->rss_after[k], s->rss_after[k] == 1 ? "" : "s");
	}
}

static void verdict_end(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	const struct mt_gauges *e = &s->end;
	char t[32], b[6][32], sw[48] = "";

	fmt_rel(tl, t, sizeof(t), s->end_ns);
	mt_fmt_bytes(b[2], sizeof(b[2]), e->state[MT_RS_LAZY]);
	mt_fmt_bytes(b[3], sizeof(b[3]), e->state[MT_RS_EAGER]);
	mt_fmt_bytes(b[4], sizeof(b[4]), e->state[MT_RS_COMMITTED]);
	mt_fmt_bytes(b[5], sizeof(b[5]), e->state[MT_RS_RESERVED]);
	if (!e->have_rss) {
		mt_verdict__add(
		    tl, "end_state",
		    "At the end (%s) RSS is unknown: the trace has no rss records. The region "
		    "model counts %s released lazily, %s released eagerly, %s committed and "
		    "%s reserved.",
		    t, b[2], b[3], b[4], b[5]);
		return;
	}
	if (e->swap) {
		char x[32];

		snprintf(sw, sizeof(sw), ", swap %s", mt_fmt_bytes(x, sizeof(x), e->swap));
	}
	mt_fmt_bytes(b[0], sizeof(b[0]), mt_gauges_rss(e));
	mt_fmt_bytes(b[1], sizeof(b[1]), e->rss_anon);
	{
		char f[32], sh[32];

		mt_verdict__add(
		    tl, "end_state",
		    "At the end (%s%s) RSS was %s (anon %s, file %s, shmem %s%s). The region "
		    "model counts %s released lazily, %s released eagerly, %s committed and "
		    "%s reserved.",
		    t, s->target_exited ? ", just before the exit teardown" : "", b[0], b[1],
		    mt_fmt_bytes(f, sizeof(f), e->rss_file),
		    mt_fmt_bytes(sh, sizeof(sh), e->rss_shmem), sw, b[2], b[3], b[4], b[5]);
	}
}

static void verdict_lazyfree(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	const struct mt_gauges *e = &s->end;
	char t[32], a[32], b[32], c[32];
	uint64_t lazy = e->state[MT_RS_LAZY];

	if (e->have_smaps && !e->lazyfree && !lazy) {
		mt_verdict__add(
		    tl, "lazyfree",
		    "smaps_rollup at %s (the last sample): Rss %s, LazyFree 0 B: none of RSS "
		    "is lazily freed memory.",
		    fmt_rel(tl, t, sizeof(t), s->lazyfree_last_ns),
		    mt_fmt_bytes(a, sizeof(a), e->smaps_rss));
	} else if (e->have_smaps) {
		uint64_t held = e->smaps_rss > e->lazyfree ? e->smaps_rss - e->lazyfree : 0;

		mt_verdict__add(
		    tl, "lazyfree",
		    "smaps_rollup at %s (the last sample): Rss %s, LazyFree %s. LazyFree is "
		    "memory released with MADV_FREE that is still resident; the kernel can "
		    "take it back at any time without writing anything out. What the process "
		    "really holds is Rss - LazyFree = %s.",
		    fmt_rel(tl, t, sizeof(t), s->lazyfree_last_ns),
		    mt_fmt_bytes(a, sizeof(a), e->smaps_rss),
		    mt_fmt_bytes(b, sizeof(b), e->lazyfree), mt_fmt_bytes(c, sizeof(c), held));
		if (!e->lazyfree && lazy)
			mt_verdict__add(
			    tl, "lazyfree",
			    "LazyFree was 0 although %s is released lazily: those pages were "
			    "reclaimed or written again before the last sample.",
			    mt_fmt_bytes(a, sizeof(a), lazy));
	} else if (lazy) {
		uint64_t bound = lazy < e->rss_anon ? lazy : e->rss_anon;

		mt_verdict__add(
		    tl, "lazyfree",
		    "The trace has no smaps_rollup samples (recorded with --smaps-interval "
		    "0?), so LazyFree is unknown: up to %s of RSS may be lazily freed memory "
		    "(the bytes released lazily, at most the anonymous RSS).",
		    mt_fmt_bytes(a, sizeof(a), e->have_rss ? bound : lazy));
	}
}

static void verdict_reclaim(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	const struct mt_gauges *e = &s->end;
	char a[32], b[32], t1[32], t2[32], sw[96] = "", lf[160] = "";

	if (s->reclaim_records + s->sample_drops) {
		char steps[96];

		if (s->sample_drops)
			snprintf(steps, sizeof(steps),
				 "rss records: %" PRIu64 " with reason reclaim, %" PRIu64
				 " periodic sample%s",
				 s->reclaim_records, s->sample_drops,
				 s->sample_drops == 1 ? "" : "s");
		else
			snprintf(steps, sizeof(steps), "rss records with reason reclaim");
		if (s->swap_growth)
			snprintf(sw, sizeof(sw), "; swap grew by %s, so part of it was swapped out",
				 mt_fmt_bytes(a, sizeof(a), s->swap_growth));
		if (e->have_smaps && s->lazyfree_max > e->lazyfree)
			snprintf(lf, sizeof(lf), "; LazyFree fell from %s (%s) to %s (%s)",
				 mt_fmt_bytes(a, sizeof(a), s->lazyfree_max),
				 fmt_rel(tl, t1, sizeof(t1), s->lazyfree_max_ns),
				 mt_fmt_bytes(b, sizeof(b), e->lazyfree),
				 fmt_rel(tl, t2, sizeof(t2), s->lazyfree_last_ns));
		mt_verdict__add(tl, "reclaim",
			    "Reclaim seen: RSS fell by %s in %" PRIu64
			    " step%s between %s and %s without any call from the process (%s)%s%s.",
			    mt_fmt_bytes(b, sizeof(b), s->reclaimed_bytes),
			    s->reclaim_records + s->sample_drops,
			    s->reclaim_records + s->sample_drops == 1 ? "" : "s",
			    fmt_rel(tl, t1, sizeof(t1), s->first_reclaim_ns),
			    fmt_rel(tl, t2, sizeof(t2), s->last_reclaim_ns), steps, sw, lf);
	} else if (e->state[MT_RS_LAZY]) {
		mt_verdict__add(tl, "no_reclaim",
			    "No reclaim was seen: nothing took the lazily freed pages back during "
			    "the trace, as is usual while the system and the cgroup have memory to "
			    "spare.");
	}
}

static void verdict_reuse(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	char a[32];

	if (s->rereleased)
		mt_verdict__add(tl, "reuse",
			    "%s was released again while already released. A program usually "
			    "releases only memory it has used since, so this points to re-use of "
			    "released ranges (inferred: madvtrace does not see writes).",
			    mt_fmt_bytes(a, sizeof(a), s->rereleased));
	if (s->recommitted)
		mt_verdict__add(tl, "reuse",
			    "%s of released memory was made usable again by explicit calls (mmap "
			    "MAP_FIXED, mprotect, MADV_POPULATE_READ/WRITE or MADV_COLLAPSE over "
			    "released ranges).",
			    mt_fmt_bytes(a, sizeof(a), s->recommitted));
	if (s->fault_growth)
		mt_verdict__add(
		    tl, "reuse",
		    "After the first release RSS grew by %s through page faults outside "
		    "traced calls; writes into released ranges would show this way, as would "
		    "new memory (inferred: RSS does not say which pages were written).",
		    mt_fmt_bytes(a, sizeof(a), s->fault_growth));
}

/* The target's Go version, or NULL when the trace does not say (or says "unknown"). */
static const char *go_version(const struct mt_summary *s)
{
	return s->go_version[0] && strcmp(s->go_version, "unknown") ? s->go_version : NULL;
}

/* The GODEBUG the target's runtime read: NULL when unset (or not recorded: taken as unset). */
static const char *go_godebug(const struct mt_summary *s)
{
	return s->godebug_known ? s->godebug : NULL;
}

/* ' with GODEBUG="..."', ' with GODEBUG unset', or ' (GODEBUG not recorded: taken as unset)' */
static char *fmt_godebug(const struct mt_summary *s, char *buf, size_t len)
{
	if (s->godebug_known)
		snprintf(buf, len, " with GODEBUG=\"%s\"", s->godebug);
	else if (s->go_env_read)
		snprintf(buf, len, " with GODEBUG unset");
	else
		snprintf(buf, len, " (its GODEBUG was not recorded: taken as unset)");
	return buf;
}

static uint64_t ok_advice(const struct mt_summary *s, int advice)
{
	return ok_calls(&s->advice[advice]);
}

/* Whether the huge-page advice seen is what the target's Go runtime issues. */
static void verdict_go_thp(struct mt_timeline *tl)
{
	static const int hp[] = {MT_MADV_HUGEPAGE, MT_MADV_NOHUGEPAGE, MT_MADV_COLLAPSE};
	const struct mt_summary *s = &tl->sum;
	const char *ver = go_version(s), *why;
	uint64_t expect;
	char odd[96] = "";
	size_t off = 0;

	if (!ver)
		return;
	expect = mt_go_thp_advice(ver, &why);
	for (size_t i = 0; i < sizeof(hp) / sizeof(hp[0]); i++)
		if (ok_advice(s, hp[i]) && !(expect & (1ull << hp[i])) && off < sizeof(odd))
			off += (size_t)snprintf(odd + off, sizeof(odd) - off, "%s%s",
						off ? " and " : "", mt_advice_name(hp[i]));
	if (!off)
		mt_verdict__add(tl, "hugepage", "As expected for %s: %s.", ver, why);
	else
		mt_verdict__add(tl, "hugepage",
			    "Not expected from the runtime of %s (%s): the %s calls come from "
			    "other code in the process, or from a runtime built differently.",
			    ver, why, odd);
}

static void verdict_hugepages(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	static const int hp[] = {MT_MADV_HUGEPAGE, MT_MADV_NOHUGEPAGE, MT_MADV_COLLAPSE};
	char list[256] = "", a[32];
	size_t off = 0;

	for (size_t i = 0; i < sizeof(hp) / sizeof(hp[0]); i++) {
		const struct mt_call_stats *c = &s->advice[hp[i]];

		if (!ok_calls(c) || off >= sizeof(list))
			continue;
		off += (size_t)snprintf(
		    list + off, sizeof(list) - off, "%s%s %" PRIu64 " call%s over %s",
		    off ? ", " : "", mt_advice_name(hp[i]), ok_calls(c),
		    ok_calls(c) == 1 ? "" : "s", mt_fmt_bytes(a, sizeof(a), c->bytes));
	}
	if (!off)
		return;
	mt_verdict__add(tl, "hugepage", "Huge-page advice: %s.", list);
	verdict_go_thp(tl);
	if (s->hp_released)
		mt_verdict__add(
		    tl, "hugepage",
		    "%s of released memory was later advised MADV_HUGEPAGE. Go 1.12 to 1.20 "
		    "does this when it takes released memory back into use; and with "
		    "transparent huge pages, khugepaged may fill such ranges with huge pages, "
		    "making them resident again.",
		    mt_fmt_bytes(a, sizeof(a), s->hp_released));
	if (s->released_thp)
		mt_verdict__add(
		    tl, "hugepage",
		    "At the end %s of released memory lies in ranges whose last huge-page "
		    "advice is MADV_HUGEPAGE: khugepaged may collapse it into huge pages and "
		    "bring it back into RSS.",
		    mt_fmt_bytes(a, sizeof(a), s->released_thp));
	if (ok_calls(&s->advice[MT_MADV_COLLAPSE]))
		mt_verdict__add(
		    tl, "hugepage",
		    "MADV_COLLAPSE makes its range resident at once as huge pages, released "
		    "parts included.");
}

/*
 * What the Go runtime should have released with (its version and GODEBUG),
 * against what the trace shows: a mismatch (e.g. GODEBUG=madvdontneed=1 set
 * but MADV_FREE observed) means the setting did not take effect or other
 * code released memory.
 */
static void verdict_go(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	const char *ver = go_version(s);
	uint64_t free_calls = ok_advice(s, MT_MADV_FREE);
	uint64_t dn_calls = ok_advice(s, MT_MADV_DONTNEED) + ok_advice(s, MT_MADV_DONTNEED_LOCKED);
	uint64_t other, other_bytes;
	char why[256], gd[192], who[320], a[32];
	int expect;

	if (!ver)
		return;
	expect = mt_go_release_advice(ver, go_godebug(s), why, sizeof(why));
	if (expect < 0)
		return;
	fmt_godebug(s, gd, sizeof(gd));
	if (!free_calls && !dn_calls) {
		mt_verdict__add(tl, "go_release",
			    "%s%s should release memory with %s (%s); the trace has no MADV_FREE "
			    "or MADV_DONTNEED call to check that against.",
			    ver, gd, mt_advice_name(expect), why);
		return;
	}
	other = expect == MT_MADV_FREE ? dn_calls : free_calls;
	if (!other) {
		mt_verdict__add(tl, "go_release", "As expected for %s%s, the releases are %s: %s.", ver,
			    gd, mt_advice_name(expect), why);
		return;
	}
	other_bytes = expect == MT_MADV_FREE
			  ? s->advice[MT_MADV_DONTNEED].bytes + s->advice[MT_MADV_DONTNEED_LOCKED].bytes
			  : s->advice[MT_MADV_FREE].bytes;
	if (s->godebug_known)
		snprintf(who, sizeof(who), "GODEBUG=\"%s\" is set, so %s", s->godebug, ver);
	else
		snprintf(who, sizeof(who), "%s%s", ver, gd);
	mt_verdict__add(
	    tl, "go_mismatch",
	    "Not as expected: %s should release memory with %s, but %s was observed "
	    "(%" PRIu64 " call%s over %s%s). Expected because %s. %s",
	    who, mt_advice_name(expect), expect == MT_MADV_FREE ? "MADV_DONTNEED" : "MADV_FREE", other,
	    other == 1 ? "" : "s", mt_fmt_bytes(a, sizeof(a), other_bytes),
	    (expect == MT_MADV_FREE ? free_calls : dn_calls) ? ", beside the expected advice" : "", why,
	    expect == MT_MADV_FREE
		? "Either the kernel refused MADV_FREE (before Linux 4.5 the runtime falls back to "
		  "MADV_DONTNEED), or other code in the process released the memory."
	    : s->godebug_known
		? "Either the runtime did not see this GODEBUG (it reads the environment once, at "
		  "startup; a GODEBUG set at build time has no effect here), or other code in the "
		  "process (cgo, a C allocator) released the memory: see who released it."
		: "Other code in the process (cgo, a C allocator) released that memory, or the "
		  "runtime got a GODEBUG the trace does not show: see who released it.");
}

static void verdict_advice(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	const struct mt_gauges *e = &s->end;
	const char *ver = go_version(s);
	struct mt_go_version v;
	int expect = -1, dflt = -1;
	char a[32], b[32], c[32], why[256], gd[160] = "";

	if (ver) {
		expect = mt_go_release_advice(ver, go_godebug(s), why, sizeof(why));
		dflt = mt_go_release_advice(ver, NULL, why, sizeof(why));
	}
	if (s->godebug_known)
		snprintf(gd, sizeof(gd), " with GODEBUG=\"%s\"", s->godebug);
	if (ok_calls(&s->advice[MT_MADV_FREE]) && e->state[MT_RS_LAZY]) {
		mt_verdict__add(
		    tl, "advice",
		    "What to do: count RSS - LazyFree (smaps_rollup) as the memory the process "
		    "uses; LazyFree goes back to the system as soon as the kernel needs it. "
		    "To make RSS fall at release instead, release with MADV_DONTNEED.");
		if (expect == MT_MADV_FREE && dflt == MT_MADV_DONTNEED)
			mt_verdict__add(
			    tl, "advice",
			    "This is a Go program (%s) running%s: GODEBUG=madvdontneed=0 is "
			    "why it releases with MADV_FREE. Without it (or with "
			    "madvdontneed=1) Go 1.16 and later release with MADV_DONTNEED and "
			    "RSS falls at release.",
			    ver, gd);
		else if (expect == MT_MADV_FREE)
			mt_verdict__add(
			    tl, "advice",
			    "This is a Go program (%s)%s. Go 1.12 to 1.15 release heap with "
			    "MADV_FREE by default: run it with GODEBUG=madvdontneed=1 to release "
			    "with MADV_DONTNEED, or move to Go 1.16 or later, where that is the "
			    "default.",
			    ver, gd);
		else if (expect == MT_MADV_DONTNEED && !mt_go_version_parse(ver, &v) &&
			 mt_go_version_cmp(&v, 1, 12, 0) < 0)
			mt_verdict__add(
			    tl, "advice",
			    "This is a Go program (%s): Go up to 1.11 releases heap with "
			    "MADV_DONTNEED, so the MADV_FREE calls come from other code in the "
			    "process (cgo, a C allocator).",
			    ver);
		else if (expect == MT_MADV_DONTNEED)
			mt_verdict__add(
			    tl, "advice",
			    "This is a Go program (%s)%s. Go 1.16 and later release heap with "
			    "MADV_DONTNEED unless GODEBUG=madvdontneed=0 is set%s; the MADV_FREE "
			    "calls may come from other code in the process (cgo, a C "
			    "allocator).",
			    ver, gd, s->godebug_known || s->go_env_read ? ", which it is not" : "");
		else
			mt_verdict__add(
			    tl, "advice",
			    "If the program is written in Go: Go 1.12 to 1.15 release with "
			    "MADV_FREE, and GODEBUG=madvdontneed=1 switches them to "
			    "MADV_DONTNEED; Go 1.16 and later use MADV_DONTNEED unless "
			    "GODEBUG=madvdontneed=0 is set, so look for that setting in the "
			    "environment of this process; Go up to 1.11 always used "
			    "MADV_DONTNEED.");
	} else if (e->state[MT_RS_EAGER] || s->none_remap_calls) {
		mt_verdict__add(
		    tl, "advice",
		    "Released memory left RSS at once, so the RSS that remains (%s, of it %s "
		    "of file pages) is memory in use, within the %s the model counts as "
		    "committed. Eager release (the Go default from 1.16, "
		    "GODEBUG=madvdontneed=1) costs page faults when the memory is used again.",
		    e->have_rss ? mt_fmt_bytes(c, sizeof(c), mt_gauges_rss(e)) : "unknown",
		    mt_fmt_bytes(b, sizeof(b), e->rss_file),
		    mt_fmt_bytes(a, sizeof(a), e->state[MT_RS_COMMITTED]));
	} else if (e->state[MT_RS_LAZY]) {
		mt_verdict__add(
		    tl, "advice",
		    "What to do: count RSS - LazyFree (smaps_rollup) as the memory the process "
		    "uses.");
	} else {
		mt_verdict__add(
		    tl, "advice",
		    "RSS is memory in use or not yet released: the program released nothing "
		    "that is still released at the end. A Go program releases idle heap "
		    "through its background scavenger over time, or at once with "
		    "debug.FreeOSMemory().");
	}
}

void mt_verdict__build(struct mt_timeline *tl)
{
	verdict_scope(tl);
	verdict_releases(tl);
	verdict_go(tl);
	verdict_rss_at_release(tl);
	verdict_end(tl);
	verdict_lazyfree(tl);
	mt_gorecon__verdict(tl);
	verdict_reclaim(tl);
	verdict_reuse(tl);
	verdict_hugepages(tl);
	verdict_advice(tl);
}
