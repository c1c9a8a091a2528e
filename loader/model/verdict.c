// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The verdict: plain-language findings, each a sentence with a stable kind
 * (docs/report-format.md). It speaks of each process that matters from
 * that process's own records (pview.h), states what the records show,
 * marks what it infers, and says what the backend could not see rather
 * than take an absence it could not see for evidence. Renderers print the
 * findings (report/live.c wraps them for a terminal).
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
	if (tl->vprefix[0]) {
		char *t;

		if (asprintf(&t, "%s%s", tl->vprefix, text) < 0) {
			free(text);
			tl->err = -ENOMEM;
			return;
		}
		free(text);
		text = t;
	}
	f[tl->nfindings].kind = kind;
	f[tl->nfindings].text = text;
	f[tl->nfindings].pid = tl->vpid;
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

void mt_verdict__scope(struct mt_timeline *tl)
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
			    " events were lost by the recorder (the first counted at %s: "
			    "lost before then, since the recorder's previous check): calls may "
			    "be missing, so the figures below can be wrong.",
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

/* ---- what the backend could see of a process ---- */

/*
 * The preload agent sees the calls that go through libc's wrappers; with
 * catching on (info agent.catch=on) also the raw calls of the program and of
 * the libraries loaded at start-up. Catching off, or not said: calls made
 * inside libc (malloc's own) and raw system calls (a Go runtime's, a static
 * program's) are not in the trace (docs/backends.md).
 */
void mt_vis__of(const struct mt_timeline *tl, const struct mt_pview *v, struct mt_vis *vis)
{
	memset(vis, 0, sizeof(*vis));
	vis->preload = tl->opts.backend == MT_BACKEND_PRELOAD ||
		       (!tl->opts.backend && (tl->agent_seen || v->agent_catch));
	if (vis->preload) {
		vis->catch_known = v->agent_catch != NULL;
		vis->raw_blind = !v->agent_catch || strcmp(v->agent_catch, "on");
		vis->why = v->agent_catch;
		vis->uncaught = v->agent_uncaught;
	}
	vis->attached = v->attached;
	vis->attach_ns = v->attach_ns;
	/* events lost after the process exited cannot hide its calls */
	if (tl->sum.lost_events && (!v->exited || tl->sum.first_lost_ns <= v->exit_ns))
		vis->lost = tl->sum.lost_events;
}

bool mt_verdict__blind(const struct mt_timeline *tl, uint32_t pid)
{
	const struct mt_pview *v = mt_pview__find(tl, pid);
	struct mt_vis vis;

	if (!v)
		return false;
	mt_vis__of(tl, v, &vis);
	return vis.raw_blind;
}

static void verdict_blind(struct mt_timeline *tl, const struct mt_pview *v, const struct mt_vis *vis)
{
	char why[160];

	if (vis->raw_blind) {
		if (vis->catch_known)
			snprintf(why, sizeof(why), "here it could not: %s", vis->why);
		else
			snprintf(why, sizeof(why),
				 "the trace does not say that it did (no agent.catch record)");
		mt_verdict__add(
		    tl, "blind",
		    "The preload backend sees the calls this program makes through libc's "
		    "wrappers, and the others only when its seccomp filter catches them; %s. "
		    "Calls made inside libc (glibc malloc's own mmap, munmap, "
		    "madvise and brk; thread stacks) and raw system calls (%s) are not in the "
		    "trace, so it shows at most part of what the program released, and no "
		    "release seen is no evidence that none happened. --backend=bpf or "
		    "--backend=ptrace see every call.",
		    why,
		    mt_pview__is_go(v) ? "every memory call of the Go runtime"
				       : "a Go runtime, static code");
	} else if (vis->preload && vis->uncaught) {
		mt_verdict__add(tl, "blind",
			    "The preload agent caught raw system calls, but not these: %s. What "
			    "they released is not in the trace; --backend=bpf or --backend=ptrace "
			    "see every call.",
			    vis->uncaught);
	}
	if (vis->attached) {
		char a[32];

		mt_verdict__add(tl, "blind",
			    "Tracing began at the attach (%s): calls before then are not in the "
			    "trace (the mappings that existed are), so memory released before the "
			    "attach is not counted as released.",
			    fmt_rel(tl, a, sizeof(a), vis->attach_ns));
	}
}

/* ---- one process ---- */

static void verdict_releases(struct mt_timeline *tl, const struct mt_pview *v,
			     const struct mt_vis *vis)
{
	static const struct {
		int advice, slot;
		const char *how;
	} rel[] = {
	    {MT_MADV_FREE, MT_PV_FREE,
	     "lazily: the pages stay mapped and counted in RSS (as LazyFree) until "
	     "the kernel reclaims them under memory pressure or the program writes "
	     "to them again"},
	    {MT_MADV_DONTNEED, MT_PV_DONTNEED,
	     "eagerly: the pages were dropped at once and leave RSS immediately"},
	    {MT_MADV_DONTNEED_LOCKED, MT_PV_DONTNEED_LOCKED, "eagerly, locked pages included"},
	    {MT_MADV_REMOVE, MT_PV_REMOVE, "eagerly, with their backing store"},
	};
	char b[32], c[96];
	bool any = false;

	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		const struct mt_call_stats *a = &v->adv[rel[i].slot];

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
	if (v->partial_calls)
		mt_verdict__add(
		    tl, "partial_release",
		    "%" PRIu64 " madvise call%s failed with ENOMEM because the range had "
		    "unmapped holes; the kernel still applied the advice to the mapped parts, "
		    "and the model counts them (%s released that way).",
		    v->partial_calls, v->partial_calls == 1 ? "" : "s",
		    mt_fmt_bytes(b, sizeof(b), v->partial_released));
	if (v->none_remap_calls) {
		any = true;
		mt_verdict__add(
		    tl, "eager_release",
		    "mmap(PROT_NONE, MAP_FIXED) over accessible memory dropped %s in %" PRIu64
		    " call%s (a hard decommit: the pages leave RSS at once).",
		    mt_fmt_bytes(b, sizeof(b), v->none_remap_bytes), v->none_remap_calls,
		    v->none_remap_calls == 1 ? "" : "s");
	}
	if (ok_calls(&v->munmap))
		mt_verdict__add(tl, "unmap", "munmap unmapped %s %s.",
			    mt_fmt_bytes(b, sizeof(b), v->munmap.bytes),
			    fmt_calls(tl, c, sizeof(c), ok_calls(&v->munmap), v->munmap.first_ns,
				      v->munmap.last_ns));
	if (v->brk_shrink.calls) /* a heap top given back (glibc's trim) */
		mt_verdict__add(tl, "unmap", "brk gave back %s of the heap top %s.",
			    mt_fmt_bytes(b, sizeof(b), v->brk_shrink.bytes),
			    fmt_calls(tl, c, sizeof(c), v->brk_shrink.calls, v->brk_shrink.first_ns,
				      v->brk_shrink.last_ns));
	if (any)
		return;
	/* an absence the backend could not see, or that lost events may hide, is no evidence */
	if (vis->raw_blind)
		mt_verdict__add(
		    tl, "no_release",
		    "No release by madvise was recorded%s, but this trace cannot tell whether "
		    "there was none: the calls that would make it are the ones the preload "
		    "backend does not see here. Record with --backend=bpf or --backend=ptrace "
		    "to know.",
		    ok_calls(&v->munmap) ? " (only munmap)" : "");
	else if (vis->lost)
		mt_verdict__add(tl, "no_release",
			    "No release by madvise was recorded%s, but %" PRIu64
			    " events were lost: releases may be among them.",
			    ok_calls(&v->munmap) ? " (only munmap)" : "", vis->lost);
	else
		mt_verdict__add(
		    tl, "no_release",
		    "No memory was released with madvise%s: there is no MADV_FREE, "
		    "MADV_DONTNEED or MADV_REMOVE call and no PROT_NONE remap in the trace%s.",
		    vis->attached ? " since the attach" : "",
		    ok_calls(&v->munmap) ? " (only munmap)" : "");
}

static void verdict_rss_at_release(struct mt_timeline *tl, const struct mt_pview *v)
{
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

		if (!v->class_calls[k])
			continue;
		if (!v->rss_records) {
			mt_verdict__add(
			    tl, "rss_at_release",
			    "The trace has no rss records, so what RSS did at the %s calls is "
			    "unknown.",
			    cl[i].name);
			continue;
		}
		if (!v->rss_after[k]) {
			mt_verdict__add(tl, "rss_at_release",
				    k == MT_CL_FREE
					? "RSS did not change at the %s calls (no rss record after "
					  "them): lazily freed pages stay in RSS."
					: "RSS did not change at the %s calls (no rss record after "
					  "them): either the pages released were not resident, or "
					  "page faults since the previous rss record (madvtrace "
					  "records growth at most once per --rss-interval) made up "
					  "for them.",
				    cl[i].name);
			continue;
		}
		if (!v->rss_down[k]) {
			mt_verdict__add(tl, "rss_at_release",
				    "RSS did not fall at the %s calls: the %" PRIu64
				    " rss record%s right after them show%s a rise of %s since "
				    "the record before, page faults in between included "
				    "(madvtrace records growth at most once per --rss-interval), "
				    "so what the calls themselves took off is not measured here.",
				    cl[i].name, v->rss_after[k], v->rss_after[k] == 1 ? "" : "s",
				    v->rss_after[k] == 1 ? "s" : "",
				    mt_fmt_bytes(b, sizeof(b), v->rss_up[k]));
			continue;
		}
		c[0] = '\0';
		if (v->rss_up[k]) {
			char up[32];

			snprintf(c, sizeof(c), " and rose by %s",
				 mt_fmt_bytes(up, sizeof(up), v->rss_up[k]));
		}
		mt_verdict__add(tl, "rss_at_release",
			    "RSS fell by %s%s at the %s calls (%" PRIu64
			    " rss record%s right after them).",
			    mt_fmt_bytes(b, sizeof(b), v->rss_down[k]), c, cl[i].name,
			    v->rss_after[k], v->rss_after[k] == 1 ? "" : "s");
	}
}

/* When the process's figures end: its exit, or the end of the trace. */
static uint64_t view_end_ns(const struct mt_timeline *tl, const struct mt_pview *v)
{
	return v->exited ? v->exit_ns : tl->sum.end_ns;
}

static void verdict_end(struct mt_timeline *tl, const struct mt_pview *v)
{
	const struct mt_gauges *e = &v->end;
	char t[32], b[6][32], sw[48] = "";

	fmt_rel(tl, t, sizeof(t), view_end_ns(tl, v));
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
		    t, v->exited ? ", just before the exit teardown" : "", b[0], b[1],
		    mt_fmt_bytes(f, sizeof(f), e->rss_file),
		    mt_fmt_bytes(sh, sizeof(sh), e->rss_shmem), sw, b[2], b[3], b[4], b[5]);
	}
}

static void verdict_lazyfree(struct mt_timeline *tl, const struct mt_pview *v)
{
	const struct mt_gauges *e = &v->end;
	char t[32], a[32], b[32], c[32];
	uint64_t lazy = e->state[MT_RS_LAZY];

	if (e->have_smaps && !e->lazyfree && !lazy) {
		mt_verdict__add(
		    tl, "lazyfree",
		    "smaps_rollup at %s (the last sample): Rss %s, LazyFree 0 B: none of RSS "
		    "is lazily freed memory.",
		    fmt_rel(tl, t, sizeof(t), v->lazyfree_last_ns),
		    mt_fmt_bytes(a, sizeof(a), e->smaps_rss));
	} else if (e->have_smaps) {
		uint64_t held = e->smaps_rss > e->lazyfree ? e->smaps_rss - e->lazyfree : 0;

		mt_verdict__add(
		    tl, "lazyfree",
		    "smaps_rollup at %s (the last sample): Rss %s, LazyFree %s. LazyFree is "
		    "memory released with MADV_FREE that is still resident; the kernel can "
		    "take it back at any time without writing anything out. What the process "
		    "really holds is Rss - LazyFree = %s.",
		    fmt_rel(tl, t, sizeof(t), v->lazyfree_last_ns),
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

static void verdict_reclaim(struct mt_timeline *tl, const struct mt_pview *v, bool blind)
{
	const struct mt_gauges *e = &v->end;
	char a[32], b[32], t1[32], t2[32], sw[96] = "", lf[160] = "";

	if (v->reclaim_records + v->sample_drops) {
		char steps[96];

		if (v->sample_drops)
			snprintf(steps, sizeof(steps),
				 "rss records: %" PRIu64 " with reason reclaim, %" PRIu64
				 " periodic sample%s",
				 v->reclaim_records, v->sample_drops,
				 v->sample_drops == 1 ? "" : "s");
		else
			snprintf(steps, sizeof(steps), "rss records with reason reclaim");
		if (v->swap_growth)
			snprintf(sw, sizeof(sw), "; swap grew by %s, so part of it was swapped out",
				 mt_fmt_bytes(a, sizeof(a), v->swap_growth));
		if (e->have_smaps && v->lazyfree_max > e->lazyfree)
			snprintf(lf, sizeof(lf), "; LazyFree fell from %s (%s) to %s (%s)",
				 mt_fmt_bytes(a, sizeof(a), v->lazyfree_max),
				 fmt_rel(tl, t1, sizeof(t1), v->lazyfree_max_ns),
				 mt_fmt_bytes(b, sizeof(b), e->lazyfree),
				 fmt_rel(tl, t2, sizeof(t2), v->lazyfree_last_ns));
		mt_verdict__add(tl, "reclaim",
			    "%s: RSS fell by %s in %" PRIu64
			    " step%s between %s and %s without any call %s (%s)%s%s.",
			    blind ? "RSS fell outside the calls seen" : "Reclaim seen",
			    mt_fmt_bytes(b, sizeof(b), v->reclaimed_bytes),
			    v->reclaim_records + v->sample_drops,
			    v->reclaim_records + v->sample_drops == 1 ? "" : "s",
			    fmt_rel(tl, t1, sizeof(t1), v->first_reclaim_ns),
			    fmt_rel(tl, t2, sizeof(t2), v->last_reclaim_ns),
			    blind ? "the trace saw: the kernel's reclaim, or releases by calls this "
				    "backend does not see"
				  : "from the process",
			    steps, sw, lf);
	} else if (e->state[MT_RS_LAZY]) {
		mt_verdict__add(tl, "no_reclaim",
			    "No reclaim was seen: nothing took the lazily freed pages back during "
			    "the trace, as is usual while the system and the cgroup have memory to "
			    "spare.");
	}
}

static void verdict_reuse(struct mt_timeline *tl, const struct mt_pview *v)
{
	char a[32];

	if (v->rereleased)
		mt_verdict__add(tl, "reuse",
			    "%s was released again while already released. A program usually "
			    "releases only memory it has used since, so this points to re-use of "
			    "released ranges (inferred: madvtrace does not see writes).",
			    mt_fmt_bytes(a, sizeof(a), v->rereleased));
	if (v->recommitted)
		mt_verdict__add(tl, "reuse",
			    "%s of released memory was made usable again by explicit calls (mmap "
			    "MAP_FIXED, mprotect, MADV_POPULATE_READ/WRITE or MADV_COLLAPSE over "
			    "released ranges).",
			    mt_fmt_bytes(a, sizeof(a), v->recommitted));
	if (v->fault_growth)
		mt_verdict__add(
		    tl, "reuse",
		    "After the first release RSS grew by %s through page faults outside "
		    "traced calls; writes into released ranges would show this way, as would "
		    "new memory (inferred: RSS does not say which pages were written).",
		    mt_fmt_bytes(a, sizeof(a), v->fault_growth));
}

/* The process's Go version, or NULL when the trace does not say (or says "unknown"). */
static const char *go_version(const struct mt_pview *v)
{
	return v->go_version[0] && strcmp(v->go_version, "unknown") ? v->go_version : NULL;
}

/* The GODEBUG the runtime read: NULL when unset (or not recorded: taken as unset). */
static const char *go_godebug(const struct mt_pview *v)
{
	return v->godebug_known ? v->godebug : NULL;
}

/* ' with GODEBUG="..."', ' with GODEBUG unset', or ' (GODEBUG not recorded: taken as unset)' */
static char *fmt_godebug(const struct mt_pview *v, char *buf, size_t len)
{
	if (v->godebug_known)
		snprintf(buf, len, " with GODEBUG=\"%s\"", v->godebug);
	else if (v->env_read)
		snprintf(buf, len, " with GODEBUG unset");
	else
		snprintf(buf, len, " (its GODEBUG was not recorded: taken as unset)");
	return buf;
}

static uint64_t ok_advice(const struct mt_pview *v, enum mt_pv_adv slot)
{
	return ok_calls(&v->adv[slot]);
}

/* Whether the huge-page advice seen is what the process's Go runtime issues. */
static void verdict_go_thp(struct mt_timeline *tl, const struct mt_pview *v)
{
	static const int hp[] = {MT_MADV_HUGEPAGE, MT_MADV_NOHUGEPAGE, MT_MADV_COLLAPSE};
	static const enum mt_pv_adv slot[] = {MT_PV_HUGEPAGE, MT_PV_NOHUGEPAGE, MT_PV_COLLAPSE};
	const char *ver = go_version(v), *why;
	uint64_t expect;
	char odd[96] = "";
	size_t off = 0;

	if (!ver)
		return;
	expect = mt_go_thp_advice(ver, &why);
	for (size_t i = 0; i < sizeof(hp) / sizeof(hp[0]); i++)
		if (ok_advice(v, slot[i]) && !(expect & (1ull << hp[i])) && off < sizeof(odd))
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

static void verdict_hugepages(struct mt_timeline *tl, const struct mt_pview *v)
{
	static const int hp[] = {MT_MADV_HUGEPAGE, MT_MADV_NOHUGEPAGE, MT_MADV_COLLAPSE};
	static const enum mt_pv_adv slot[] = {MT_PV_HUGEPAGE, MT_PV_NOHUGEPAGE, MT_PV_COLLAPSE};
	char list[256] = "", a[32];
	size_t off = 0;

	for (size_t i = 0; i < sizeof(hp) / sizeof(hp[0]); i++) {
		const struct mt_call_stats *c = &v->adv[slot[i]];

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
	verdict_go_thp(tl, v);
	if (v->hp_released)
		mt_verdict__add(tl, "hugepage",
			    "%s of released memory was later advised MADV_HUGEPAGE.%s With "
			    "transparent huge pages, khugepaged may fill such ranges with huge "
			    "pages, making them resident again.",
			    mt_fmt_bytes(a, sizeof(a), v->hp_released),
			    mt_pview__is_go(v) ? " Go 1.12 to 1.20 does this when it takes "
						 "released memory back into use."
					       : "");
	if (v->released_thp)
		mt_verdict__add(
		    tl, "hugepage",
		    "At the end %s of released memory lies in ranges whose last huge-page "
		    "advice is MADV_HUGEPAGE: khugepaged may collapse it into huge pages and "
		    "bring it back into RSS.",
		    mt_fmt_bytes(a, sizeof(a), v->released_thp));
	if (ok_advice(v, MT_PV_COLLAPSE))
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
static void verdict_go(struct mt_timeline *tl, const struct mt_pview *v, const struct mt_vis *vis)
{
	const char *ver = go_version(v);
	uint64_t free_calls = ok_advice(v, MT_PV_FREE);
	uint64_t dn_calls = ok_advice(v, MT_PV_DONTNEED) + ok_advice(v, MT_PV_DONTNEED_LOCKED);
	uint64_t other, other_bytes;
	char why[256], gd[192], who[320], a[32];
	int expect;

	if (!ver)
		return;
	expect = mt_go_release_advice(ver, go_godebug(v), why, sizeof(why));
	if (expect < 0)
		return;
	fmt_godebug(v, gd, sizeof(gd));
	if (!free_calls && !dn_calls) {
		mt_verdict__add(tl, "go_release",
			    "%s%s should release memory with %s (%s); %s", ver, gd,
			    mt_advice_name(expect), why,
			    vis->raw_blind
				? "this trace cannot show its runtime's calls (see above), so "
				  "that cannot be checked here."
				: "the trace has no MADV_FREE or MADV_DONTNEED call to check that "
				  "against.");
		return;
	}
	other = expect == MT_MADV_FREE ? dn_calls : free_calls;
	if (!other) {
		mt_verdict__add(tl, "go_release", "As expected for %s%s, the releases are %s: %s.", ver,
			    gd, mt_advice_name(expect), why);
		return;
	}
	other_bytes = expect == MT_MADV_FREE
			  ? v->adv[MT_PV_DONTNEED].bytes + v->adv[MT_PV_DONTNEED_LOCKED].bytes
			  : v->adv[MT_PV_FREE].bytes;
	if (v->godebug_known)
		snprintf(who, sizeof(who), "GODEBUG=\"%s\" is set, so %s", v->godebug, ver);
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
	    : v->godebug_known
		? "Either the runtime did not see this GODEBUG (it reads the environment once, at "
		  "startup; a GODEBUG set at build time has no effect here), or other code in the "
		  "process (cgo, a C allocator) released the memory: see who released it."
		: "Other code in the process (cgo, a C allocator) released that memory, or the "
		  "runtime got a GODEBUG the trace does not show: see who released it.");
}

/* What to do, for memory released lazily that is still released at the end. */
static void advice_lazy(struct mt_timeline *tl, const struct mt_pview *v)
{
	const char *ver = go_version(v);
	struct mt_go_version gv;
	int expect = -1, dflt = -1;
	char why[256], gd[160] = "";

	if (ver) {
		expect = mt_go_release_advice(ver, go_godebug(v), why, sizeof(why));
		dflt = mt_go_release_advice(ver, NULL, why, sizeof(why));
	}
	if (v->godebug_known)
		snprintf(gd, sizeof(gd), " with GODEBUG=\"%s\"", v->godebug);
	mt_verdict__add(
	    tl, "advice",
	    "What to do: count RSS - LazyFree (smaps_rollup) as the memory the process "
	    "uses; LazyFree goes back to the system as soon as the kernel needs it. "
	    "To make RSS fall at release instead, release with MADV_DONTNEED.");
	if (expect == MT_MADV_FREE && dflt == MT_MADV_DONTNEED)
		mt_verdict__add(tl, "advice",
			    "This is a Go program (%s) running%s: GODEBUG=madvdontneed=0 is "
			    "why it releases with MADV_FREE. Without it (or with "
			    "madvdontneed=1) Go 1.16 and later release with MADV_DONTNEED and "
			    "RSS falls at release.",
			    ver, gd);
	else if (expect == MT_MADV_FREE)
		mt_verdict__add(tl, "advice",
			    "This is a Go program (%s)%s. Go 1.12 to 1.15 release heap with "
			    "MADV_FREE by default: run it with GODEBUG=madvdontneed=1 to release "
			    "with MADV_DONTNEED, or move to Go 1.16 or later, where that is the "
			    "default.",
			    ver, gd);
	else if (expect == MT_MADV_DONTNEED && !mt_go_version_parse(ver, &gv) &&
		 mt_go_version_cmp(&gv, 1, 12, 0) < 0)
		mt_verdict__add(tl, "advice",
			    "This is a Go program (%s): Go up to 1.11 releases heap with "
			    "MADV_DONTNEED, so the MADV_FREE calls come from other code in the "
			    "process (cgo, a C allocator).",
			    ver);
	else if (expect == MT_MADV_DONTNEED)
		mt_verdict__add(tl, "advice",
			    "This is a Go program (%s)%s. Go 1.16 and later release heap with "
			    "MADV_DONTNEED unless GODEBUG=madvdontneed=0 is set%s; the MADV_FREE "
			    "calls may come from other code in the process (cgo, a C "
			    "allocator).",
			    ver, gd, v->godebug_known || v->env_read ? ", which it is not" : "");
	else if (mt_pview__is_go(v))
		mt_verdict__add(tl, "advice",
			    "This is a Go program of a version the trace does not give: Go 1.12 "
			    "to 1.15 release with MADV_FREE, and GODEBUG=madvdontneed=1 switches "
			    "them to MADV_DONTNEED; Go 1.16 and later use MADV_DONTNEED unless "
			    "GODEBUG=madvdontneed=0 is set, so look for that setting in the "
			    "environment of this process; Go up to 1.11 always used "
			    "MADV_DONTNEED.");
	else if (v->alloc == MT_ALLOC_NONE)
		mt_verdict__add(tl, "advice",
			    "The trace does not say which runtime or allocator released with "
			    "MADV_FREE (no go_version or allocator record for this process), so "
			    "which of its settings would switch it to MADV_DONTNEED cannot be "
			    "named here; who released it, below, names the code when stacks were "
			    "recorded.");
}

static void verdict_advice(struct mt_timeline *tl, const struct mt_pview *v,
			   const struct mt_vis *vis)
{
	const struct mt_gauges *e = &v->end;
	char a[32], b[32], c[32];

	/* its own releases: a forked child's copy of its parent's released ranges is not one */
	uint64_t eager = ok_advice(v, MT_PV_DONTNEED) + ok_advice(v, MT_PV_DONTNEED_LOCKED) +
			 ok_advice(v, MT_PV_REMOVE) + v->none_remap_calls;

	if (ok_advice(v, MT_PV_FREE) && e->state[MT_RS_LAZY]) {
		advice_lazy(tl, v);
	} else if ((e->state[MT_RS_EAGER] && eager) || v->none_remap_calls) {
		mt_verdict__add(
		    tl, "advice",
		    "Released memory left RSS at once, so the RSS that remains (%s, of it %s "
		    "of file pages) is memory in use, within the %s the model counts as "
		    "committed. Eager release%s costs page faults when the memory is used "
		    "again.",
		    e->have_rss ? mt_fmt_bytes(c, sizeof(c), mt_gauges_rss(e)) : "unknown",
		    mt_fmt_bytes(b, sizeof(b), e->rss_file),
		    mt_fmt_bytes(a, sizeof(a), e->state[MT_RS_COMMITTED]),
		    mt_pview__is_go(v) ? " (the Go default from 1.16, GODEBUG=madvdontneed=1)" : "");
	} else if (e->state[MT_RS_LAZY] && (ok_advice(v, MT_PV_FREE) || !v->parent)) {
		mt_verdict__add(
		    tl, "advice",
		    "What to do: count RSS - LazyFree (smaps_rollup) as the memory the process "
		    "uses.");
	} else if (vis->raw_blind) {
		mt_verdict__add(tl, "advice",
			    "Whether RSS is memory in use or memory released but still counted "
			    "cannot be told from this trace: the calls that would release it are "
			    "not in it.%s",
			    mt_pview__is_go(v) ? " Record the Go program with --backend=bpf or "
						 "--backend=ptrace."
					       : "");
	} else {
		mt_verdict__add(tl, "advice",
			    "RSS is memory in use or not yet released: the program released "
			    "nothing that is still released at the end%s.%s",
			    vis->attached ? " of those calls the trace saw" : "",
			    mt_pview__is_go(v)
				? " A Go program releases idle heap through its background "
				  "scavenger over time, or at once with debug.FreeOSMemory()."
				: "");
	}
}

/* Every finding about one process, in the order of the text report. */
void mt_verdict__explain(struct mt_timeline *tl, const struct mt_pview *v)
{
	struct mt_vis vis;

	mt_vis__of(tl, v, &vis);
	verdict_blind(tl, v, &vis);
	verdict_releases(tl, v, &vis);
	verdict_go(tl, v, &vis);
	verdict_rss_at_release(tl, v);
	verdict_end(tl, v);
	verdict_lazyfree(tl, v);
	mt_gorecon__verdict(tl, v->pid);
	verdict_reclaim(tl, v, vis.raw_blind);
	verdict_reuse(tl, v);
	verdict_hugepages(tl, v);
	verdict_advice(tl, v, &vis);
	mt_alloc__verdict(tl, v, &vis);
}

