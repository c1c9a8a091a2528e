// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The json report, a stable interface (docs/report-format.md): the trace,
 * the summary with the verdict, the timeline rows, who released the memory
 * and the top regions. Written with the one JSON writer (util/json_writer.h),
 * spaced, one line a member or row as the document's layout has it.
 */
#include <errno.h>
#include <stdlib.h>
#include "json_writer.h"
#include "report_priv.h"
#include "xlat.h"

/* The writer's buffer: the document leaves in pieces this size. */
#define JSON_BUF 65536

#define U64(w, key, v) mt_jw__u64_field(w, key, v)
#define U64_OR_NULL(w, key, v, known)                 \
	do {                                          \
		mt_jw__key_lit(w, key);               \
		mt_jw__u64_or_null(w, v, known);      \
	} while (0)

/* The gauge members shared by summary and timeline samples (no braces). */
static void json_gauges(const struct report *rp, struct mt_jw *w, const struct mt_gauges *g)
{
	uint64_t d = mt_report__t_rel(rp, g->t_ns);

	U64(w, "t_ns", g->t_ns);
	mt_jw__key_lit(w, "t_s");
	mt_jw__decimal(w, d / 1000, 6);
	U64_OR_NULL(w, "rss_bytes", mt_gauges_rss(g), g->have_rss);
	U64_OR_NULL(w, "rss_anon_bytes", g->rss_anon, g->have_rss);
	U64_OR_NULL(w, "rss_file_bytes", g->rss_file, g->have_rss);
	U64_OR_NULL(w, "rss_shmem_bytes", g->rss_shmem, g->have_rss);
	U64_OR_NULL(w, "swap_bytes", g->swap, g->have_rss);
	U64_OR_NULL(w, "rss_peak_bytes", g->rss_peak, g->have_rss);
	U64_OR_NULL(w, "lazyfree_bytes", g->lazyfree, g->have_smaps);
	U64_OR_NULL(w, "smaps_rss_bytes", g->smaps_rss, g->have_smaps);
	U64(w, "reserved_bytes", g->state[MT_RS_RESERVED]);
	U64(w, "committed_bytes", g->state[MT_RS_COMMITTED]);
	U64(w, "released_lazy_bytes", g->state[MT_RS_LAZY]);
	U64(w, "released_eager_bytes", g->state[MT_RS_EAGER]);
	U64(w, "calls", g->calls);
	U64(w, "madv_free_calls", g->free_calls);
	U64(w, "madv_free_bytes", g->free_bytes);
	U64(w, "madv_dontneed_calls", g->dontneed_calls);
	U64(w, "madv_dontneed_bytes", g->dontneed_bytes);
	U64(w, "munmap_calls", g->munmap_calls);
	U64(w, "munmap_bytes", g->munmap_bytes);
	U64(w, "hugepage_calls", g->hugepage_calls);
	U64(w, "reclaimed_bytes", g->reclaimed_bytes);
	/* only in a trace with Go's numbers: the reports of other traces stay as they were */
	if (mt_timeline__summary(rp->tl)->any_go_numbers) {
		U64_OR_NULL(w, "go_heap_released_bytes", g->go_heap_released, g->have_go_released);
		U64_OR_NULL(w, "go_heap_inuse_bytes", g->go_heap_inuse, g->have_go_inuse);
	}
}

static void json_stats(struct mt_jw *w, const char *name, const struct mt_call_stats *c)
{
	bool ok = c->calls > c->errors;

	mt_jw__break(w);
	mt_jw__key(w, name);
	mt_jw__start_object(w);
	U64(w, "calls", c->calls);
	U64(w, "errors", c->errors);
	U64(w, "bytes", c->bytes);
	U64_OR_NULL(w, "first_t_ns", c->first_ns, ok);
	U64_OR_NULL(w, "last_t_ns", c->last_ns, ok);
	mt_jw__end_object(w);
}

static void json_calls(const struct report *rp, struct mt_jw *w)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	static const uint16_t types[] = {MT_MMAP,    MT_MUNMAP, MT_MREMAP,
					 MT_MADVISE, MT_BRK,	MT_MPROTECT};

	mt_jw__break(w);
	mt_jw__key_lit(w, "calls");
	mt_jw__start_object(w);
	mt_jw__break(w);
	mt_jw__key_lit(w, "by_syscall");
	mt_jw__start_object(w);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const struct mt_type_info *ti = mt_type_info(types[i]);

		json_stats(w, ti ? ti->name : "?", &s->syscall[types[i]]);
	}
	mt_jw__end_object(w);
	mt_jw__break(w);
	mt_jw__key_lit(w, "by_advice");
	mt_jw__start_object(w);
	for (int a = 0; a < MT_ADVICE_SLOTS; a++) {
		const char *name = a < MT_ADVICE_SLOTS - 1 ? mt_advice_name(a) : "other";
		char buf[32];

		if (!s->advice[a].calls)
			continue;
		if (!name) {
			snprintf(buf, sizeof(buf), "%d", a);
			name = buf;
		}
		json_stats(w, name, &s->advice[a]);
	}
	mt_jw__end_object(w);
	mt_jw__end_object(w);
}

static void json_rss_at_calls(const struct report *rp, struct mt_jw *w)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	static const char *const names[MT_CL_NR] = {"MADV_FREE", "MADV_DONTNEED",   "MADV_REMOVE",
						    "munmap",	 "prot_none_remap", "other"};

	mt_jw__break(w);
	mt_jw__key_lit(w, "rss_at_calls");
	mt_jw__start_object(w);
	for (int k = 0; k < MT_CL_NR; k++) {
		mt_jw__break(w);
		mt_jw__key(w, names[k]);
		mt_jw__start_object(w);
		U64(w, "calls", s->class_calls[k]);
		U64(w, "rss_records", s->rss_after[k]);
		U64(w, "rss_down_bytes", s->rss_down[k]);
		U64(w, "rss_up_bytes", s->rss_up[k]);
		mt_jw__end_object(w);
	}
	mt_jw__end_object(w);
}

static void json_regions(const struct report *rp, struct mt_jw *w)
{
	struct mt_mapping_info top[TOP_REGIONS];
	size_t n = mt_timeline__top_regions(rp->tl, top, TOP_REGIONS);

	mt_jw__break(w);
	mt_jw__key_lit(w, "top_regions");
	mt_jw__start_array(w);
	for (size_t i = 0; i < n; i++) {
		const struct mt_mapping_info *m = &top[i];

		mt_jw__break(w);
		mt_jw__start_object(w);
		U64(w, "pid", m->pid);
		mt_jw__key_lit(w, "start");
		mt_jw__hex_string(w, m->start);
		mt_jw__key_lit(w, "end");
		mt_jw__hex_string(w, m->end);
		U64(w, "size_bytes", m->end - m->start);
		mt_jw__string_field(w, "kind", mt_rkind_name(m->kind));
		U64(w, "prot", m->prot);
		U64_OR_NULL(w, "created_t_ns", m->created_ns, m->created_ns != 0);
		U64_OR_NULL(w, "unmapped_t_ns", m->unmapped_ns, m->unmapped);
		U64(w, "released_lazy_bytes", m->released_lazy);
		U64(w, "released_eager_bytes", m->released_eager);
		U64(w, "rereleased_bytes", m->rereleased);
		U64(w, "recommitted_bytes", m->recommitted);
		U64(w, "release_calls", m->release_calls);
		U64(w, "first_release_t_ns", m->first_release_ns);
		U64(w, "last_release_t_ns", m->last_release_ns);
		mt_jw__key_lit(w, "now");
		mt_jw__start_object(w);
		U64(w, "reserved_bytes", m->cur[MT_RS_RESERVED]);
		U64(w, "committed_bytes", m->cur[MT_RS_COMMITTED]);
		U64(w, "released_lazy_bytes", m->cur[MT_RS_LAZY]);
		U64(w, "released_eager_bytes", m->cur[MT_RS_EAGER]);
		mt_jw__end_object(w);
		mt_jw__end_object(w);
	}
	mt_jw__end_array(w);
}

/* released_bytes, release_calls, unmapped_bytes, unmap_calls, by_call (no braces) */
static void json_rel_tally(struct mt_jw *w, const struct mt_rel_tally by[MT_RC_NR])
{
	uint64_t calls, bytes = mt_rel_released(by, &calls);

	U64(w, "released_bytes", bytes);
	U64(w, "release_calls", calls);
	U64(w, "unmapped_bytes", by[MT_RC_MUNMAP].bytes);
	U64(w, "unmap_calls", by[MT_RC_MUNMAP].calls);
	mt_jw__key_lit(w, "by_call");
	mt_jw__start_object(w);
	for (int k = 0; k < MT_RC_NR; k++) {
		if (!by[k].calls)
			continue;
		mt_jw__key(w, mt_rel_call_name(k));
		mt_jw__start_object(w);
		U64(w, "calls", by[k].calls);
		U64(w, "bytes", by[k].bytes);
		mt_jw__end_object(w);
	}
	mt_jw__end_object(w);
}

static void json_stack(const struct report *rp, struct mt_jw *w, const struct mt_rel_stack *st)
{
	mt_jw__break(w);
	mt_jw__start_object(w);
	U64(w, "pid", st->pid);
	U64(w, "stack_id", st->stack_id);
	mt_jw__string_field(w, "releaser", mt_releaser_key(st->who));
	json_rel_tally(w, st->by);
	mt_jw__string_field(w, "exe", st->exe);
	mt_jw__key_lit(w, "decisive_frame");
	if (st->decisive >= 0)
		mt_jw__s64(w, st->decisive);
	else
		mt_jw__null(w);
	mt_jw__string_field(w, "group", st->group);
	mt_jw__key_lit(w, "allocator_frame");
	if (st->alloc_frame >= 0)
		mt_jw__s64(w, st->alloc_frame);
	else
		mt_jw__null(w);
	mt_jw__key_lit(w, "application_frame");
	if (st->app_frame >= 0)
		mt_jw__s64(w, st->app_frame);
	else
		mt_jw__null(w);
	mt_jw__key_lit(w, "unwound");
	mt_jw__bool(w, st->unwound);
	mt_jw__key_lit(w, "frames");
	mt_jw__start_array(w);
	for (uint32_t j = 0; j < st->nframes; j++) {
		struct mt_rel_frame f;

		if (!mt_releasers__frame_at(rp->rel, st, j, &f))
			break;
		mt_jw__start_object(w);
		mt_jw__key_lit(w, "ip");
		mt_jw__hex_string(w, f.ip);
		mt_jw__string_field(w, "function", f.function);
		U64_OR_NULL(w, "offset", f.offset, f.function != NULL && !f.inlined);
		if (st->unwound) {
			mt_jw__string_field(w, "file", f.file);
			mt_jw__key_lit(w, "file_offset");
			if (f.file && !f.kernel_walk)
				mt_jw__hex_string(w, f.file_offset);
			else
				mt_jw__null(w);
			mt_jw__string_field(w, "src", f.src);
			U64_OR_NULL(w, "line", f.line, f.line != 0);
			mt_jw__key_lit(w, "inlined");
			mt_jw__bool(w, f.inlined);
			mt_jw__key_lit(w, "kernel_walk");
			mt_jw__bool(w, f.kernel_walk);
		}
		mt_jw__end_object(w);
	}
	mt_jw__end_array(w);
	mt_jw__end_object(w);
}

static void json_releasers(const struct report *rp, struct mt_jw *w)
{
	const struct mt_rel_summary *rs = mt_releasers__summary(rp->rel);
	struct mt_rel_stack top[TOP_STACKS];
	size_t n = mt_releasers__top(rp->rel, top, TOP_STACKS);
	struct mt_rel_tally all[MT_RC_NR] = {{0}};
	const char *exe, *src, *err;
	struct mt_rel_group g;
	struct mt_rel_file f;
	uint32_t pid;

	for (int wh = 0; wh < MT_WHO_NR; wh++)
		for (int k = 0; k < MT_RC_NR; k++) {
			all[k].calls += rs->by[wh][k].calls;
			all[k].bytes += rs->by[wh][k].bytes;
		}
	mt_jw__break(w);
	mt_jw__key_lit(w, "releasers");
	mt_jw__start_object(w);
	mt_jw__key_lit(w, "stacks_recorded");
	mt_jw__bool(w, rs->calls_with_stack != 0);
	U64(w, "calls_with_stack", rs->calls_with_stack);
	U64(w, "calls_without_stack", rs->calls_without_stack);
	U64(w, "stacks", rs->stacks);
	U64(w, "missing_stacks", rs->missing_stacks);
	U64(w, "unwound_calls", rs->unwound_calls);
	U64(w, "unwound_stacks", rs->unwound_stacks);
	U64(w, "unpaired_calls", rs->unpaired_calls);
	U64(w, "unmapped_stacks", rs->unmapped_stacks);
	json_rel_tally(w, all);
	mt_jw__break(w);
	mt_jw__key_lit(w, "by_releaser");
	mt_jw__start_object(w);
	for (int wh = 0; wh < MT_WHO_NR; wh++) {
		bool any = false;

		for (int k = 0; k < MT_RC_NR; k++)
			any = any || rs->by[wh][k].calls;
		if (!any)
			continue;
		mt_jw__break(w);
		mt_jw__key(w, mt_releaser_key(wh));
		mt_jw__start_object(w);
		mt_jw__string_field(w, "name", mt_releaser_name(wh));
		json_rel_tally(w, rs->by[wh]);
		mt_jw__end_object(w);
	}
	mt_jw__end_object(w);
	mt_jw__break(w);
	mt_jw__key_lit(w, "top_stacks");
	mt_jw__start_array(w);
	for (size_t i = 0; i < n; i++)
		json_stack(rp, w, &top[i]);
	mt_jw__end_array(w);
	mt_jw__break(w);
	mt_jw__key_lit(w, "programs");
	mt_jw__start_array(w);
	for (size_t i = 0; mt_releasers__program(rp->rel, i, &pid, &exe, &src, &err); i++) {
		mt_jw__break(w);
		mt_jw__start_object(w);
		U64(w, "pid", pid);
		mt_jw__string_field(w, "exe", exe);
		mt_jw__string_field(w, "symbols", src);
		mt_jw__string_field(w, "error", err);
		mt_jw__end_object(w);
	}
	mt_jw__end_array(w);
	mt_jw__break(w);
	mt_jw__key_lit(w, "groups");
	mt_jw__start_array(w);
	for (size_t i = 0; mt_releasers__group(rp->rel, i, &g); i++) {
		mt_jw__break(w);
		mt_jw__start_object(w);
		mt_jw__string_field(w, "label", g.label);
		mt_jw__string_field(w, "releaser", mt_releaser_key(g.who));
		json_rel_tally(w, g.by);
		mt_jw__end_object(w);
	}
	mt_jw__end_array(w);
	mt_jw__break(w);
	mt_jw__key_lit(w, "files_not_used");
	mt_jw__start_array(w);
	for (size_t i = 0; mt_releasers__file(rp->rel, i, &f); i++) {
		mt_jw__break(w);
		mt_jw__start_object(w);
		mt_jw__string_field(w, "path", f.path);
		mt_jw__string_field(w, "problem", f.problem);
		mt_jw__end_object(w);
	}
	mt_jw__end_array(w);
	mt_jw__end_object(w);
}

/* "key": { (true: the caller fills and ends the object), or "key": null (false). */
static bool object_or_null(struct mt_jw *w, const char *key, bool have)
{
	mt_jw__break(w);
	mt_jw__key(w, key);
	if (have)
		mt_jw__start_object(w);
	else
		mt_jw__null(w);
	return have;
}

/* A Go figure: null when the endpoint did not report it. */
static void json_go(struct mt_jw *w, const char *key, const struct mt_recon *r, uint64_t v,
		    uint32_t bit)
{
	mt_jw__key(w, key);
	mt_jw__u64_or_null(w, v, mt_recon__has(r, bit));
}

static void json_recon_one(struct mt_jw *w, const struct mt_recon *r)
{
	const struct mt_resident *res = &r->res;
	const char *src = mt_gostat_source_name(r->go.source);

	mt_jw__break(w);
	mt_jw__start_object(w);
	U64(w, "pid", r->pid);
	U64(w, "t_ns", r->t_ns);
	U64(w, "gostat_records", r->gostat_records);
	U64(w, "resident_records", r->resident_records);
	mt_jw__break(w);
	mt_jw__key_lit(w, "go");
	mt_jw__start_object(w);
	U64(w, "t_ns", r->go.h.t_ns);
	mt_jw__string_field(w, "source", src);
	json_go(w, "heap_released_bytes", r, r->go.heap_released, MT_GS_HEAP_RELEASED);
	json_go(w, "heap_idle_bytes", r, r->go.heap_idle, MT_GS_HEAP_IDLE);
	json_go(w, "heap_inuse_bytes", r, r->go.heap_inuse, MT_GS_HEAP_INUSE);
	json_go(w, "heap_sys_bytes", r, r->go.heap_sys, MT_GS_HEAP_SYS);
	json_go(w, "sys_bytes", r, r->go.sys, MT_GS_SYS);
	json_go(w, "stack_inuse_bytes", r, r->go.stack_inuse, MT_GS_STACK_INUSE);
	mt_jw__end_object(w);
	mt_jw__break(w);
	mt_jw__key_lit(w, "kernel");
	mt_jw__start_object(w);
	U64_OR_NULL(w, "rss_bytes", r->rss, r->have_rss);
	U64_OR_NULL(w, "rss_file_bytes", r->rss_file, r->have_rss);
	U64_OR_NULL(w, "lazyfree_bytes", r->lazyfree, r->have_smaps);
	U64_OR_NULL(w, "resident_t_ns", res->h.t_ns, r->have_res);
	U64_OR_NULL(w, "lazy_present_bytes", res->lazy_present, r->have_res);
	U64_OR_NULL(w, "lazy_absent_bytes", res->lazy_absent, r->have_res);
	U64_OR_NULL(w, "eager_present_bytes", res->eager_present, r->have_res);
	U64_OR_NULL(w, "eager_absent_bytes", res->eager_absent, r->have_res);
	U64_OR_NULL(w, "committed_present_bytes", res->committed_present, r->have_res);
	U64_OR_NULL(w, "committed_absent_bytes", res->committed_absent, r->have_res);
	U64_OR_NULL(w, "swapped_bytes", res->swapped, r->have_res);
	mt_jw__key_lit(w, "capped");
	mt_jw__bool(w, r->partial);
	U64_OR_NULL(w, "heap_candidate_bytes", r->heap_candidates, r->have_res);
	U64_OR_NULL(w, "not_heap_bytes", r->not_heap, r->have_res);
	U64(w, "model_released_lazy_bytes", r->model_lazy);
	U64(w, "model_released_eager_bytes", r->model_eager);
	U64(w, "release_calls", r->release_calls);
	mt_jw__end_object(w);
	if (object_or_null(w, "heap_released", r->have_released)) {
		U64(w, "lazy_resident_bytes", r->lazy_resident);
		U64(w, "lazy_reclaimed_bytes", r->lazy_reclaimed);
		U64(w, "eager_absent_bytes", r->eager_out);
		U64(w, "never_touched_bytes", r->never_touched);
		mt_jw__s64_field(w, "unexplained_bytes", r->unexplained);
		U64(w, "lazy_rewritten_bytes", r->lazy_rewritten);
		U64(w, "absent_other_bytes", r->absent_other);
		mt_jw__end_object(w);
	}
	if (object_or_null(w, "rss", r->have_rss_parts)) {
		U64(w, "heap_inuse_bytes", r->heap_inuse);
		U64(w, "stack_inuse_bytes", r->stack_inuse);
		U64(w, "idle_kept_bytes", r->idle_kept);
		U64(w, "lazyfree_bytes", r->rss_lazyfree);
		mt_jw__s64_field(w, "other_bytes", r->other);
		U64(w, "faulted_back_bytes", r->faulted_back);
		mt_jw__end_object(w);
	}
	mt_jw__key_lit(w, "partial");
	mt_jw__bool(w, r->partial);
	mt_jw__end_object(w);
}

/* Go's numbers against the kernel's, per Go process: only in a trace with gostat records. */
static void json_reconciliation(const struct report *rp, struct mt_jw *w)
{
	uint32_t left_out;
	size_t n;
	const struct mt_recon *r = mt_timeline__recon(rp->tl, &n, &left_out);

	if (!mt_timeline__summary(rp->tl)->gostat_records)
		return;
	mt_jw__break(w);
	mt_jw__key_lit(w, "reconciliation");
	mt_jw__start_object(w);
	U64(w, "left_out", left_out);
	mt_jw__break(w);
	mt_jw__key_lit(w, "processes");
	mt_jw__start_array(w);
	for (size_t i = 0; i < n; i++)
		json_recon_one(w, &r[i]);
	mt_jw__end_array(w);
	mt_jw__end_object(w);
}

static void json_trace(const struct report *rp, struct mt_jw *w)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	const struct mt_file_info *fi = rp->info;

	mt_jw__break(w);
	mt_jw__key_lit(w, "trace");
	mt_jw__start_object(w);
	mt_jw__string_field(w, "file", rp->path);
	U64(w, "version", fi->version);
	mt_jw__string_field(w, "backend", mt_backend_name(fi->backend));
	mt_jw__string_field(w, "kernel_release", mt_report__hdr_str(fi->kernel_release));
	mt_jw__string_field(w, "target", mt_report__hdr_str(fi->target));
	mt_jw__string_field(w, "cmdline", mt_report__hdr_str(fi->cmdline));
	mt_jw__s64_field(w, "target_pid", fi->target_pid);
	U64(w, "page_size", fi->page_size);
	mt_jw__s64_field(w, "clock_offset_ns", fi->clock_offset_ns);
	U64(w, "start_ns", s->start_ns);
	U64(w, "end_ns", s->end_ns);
	U64(w, "duration_ns", s->end_ns - s->start_ns);
	U64(w, "records", s->records);
	mt_jw__key_lit(w, "truncated");
	mt_jw__bool(w, rp->truncated);
	mt_jw__end_object(w);
}

static void json_target(const struct mt_summary *s, struct mt_jw *w)
{
	mt_jw__break(w);
	mt_jw__key_lit(w, "target");
	mt_jw__start_object(w);
	U64(w, "pid", s->target_pid);
	mt_jw__string_field(w, "comm", s->target_comm);
	mt_jw__key_lit(w, "exited");
	mt_jw__bool(w, s->target_exited);
	mt_jw__key_lit(w, "exit_status");
	if (s->target_exited)
		mt_jw__s64(w, s->target_status);
	else
		mt_jw__null(w);
	U64_OR_NULL(w, "exit_t_ns", s->target_exit_ns, s->target_exited);
	mt_jw__string_field(w, "go_version", s->go_version[0] ? s->go_version : NULL);
	mt_jw__string_field(w, "godebug", s->godebug_known ? s->godebug : NULL);
	mt_jw__end_object(w);
}

/* The verdict, one string (the findings joined by newlines), then each finding. */
static void json_findings(const struct report *rp, struct mt_jw *w)
{
	size_t nf;
	const struct mt_finding *f = mt_timeline__findings(rp->tl, &nf);

	mt_jw__break(w);
	mt_jw__key_lit(w, "verdict");
	mt_jw__string_begin(w);
	for (size_t i = 0; i < nf; i++) {
		if (i)
			mt_jw__string_raw(w, "\\n");
		mt_jw__string_part(w, f[i].text);
	}
	mt_jw__string_end(w);
	mt_jw__break(w);
	mt_jw__key_lit(w, "findings");
	mt_jw__start_array(w);
	for (size_t i = 0; i < nf; i++) {
		mt_jw__break(w);
		mt_jw__start_object(w);
		mt_jw__string_field(w, "kind", f[i].kind);
		mt_jw__string_field(w, "text", f[i].text);
		if (f[i].pid) /* a trace of several processes: the one it is about */
			mt_jw__u64_field(w, "pid", f[i].pid);
		mt_jw__end_object(w);
	}
	mt_jw__end_array(w);
}

static void json_summary(const struct report *rp, struct mt_jw *w)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	bool reclaim = s->reclaim_records + s->sample_drops > 0;

	mt_jw__break(w);
	mt_jw__key_lit(w, "summary");
	mt_jw__start_object(w);
	mt_jw__break(w);
	json_gauges(rp, w, &s->end);
	mt_jw__break(w);
	U64_OR_NULL(w, "rss_max_bytes", s->rss_max, s->end.have_rss);
	U64_OR_NULL(w, "rss_max_t_ns", s->rss_max_ns, s->end.have_rss);
	U64_OR_NULL(w, "lazyfree_t_ns", s->lazyfree_last_ns, s->end.have_smaps);
	U64_OR_NULL(w, "lazyfree_max_bytes", s->lazyfree_max, s->end.have_smaps);
	mt_jw__break(w);
	U64(w, "released_bytes", s->released_fresh);
	U64(w, "rereleased_bytes", s->rereleased);
	U64(w, "escalated_bytes", s->escalated);
	U64(w, "recommitted_bytes", s->recommitted);
	U64(w, "hugepage_over_released_bytes", s->hp_released);
	U64(w, "released_thp_bytes", s->released_thp);
	U64(w, "fault_growth_bytes", s->fault_growth);
	U64(w, "learned_bytes", s->filled);
	mt_jw__break(w);
	mt_jw__key_lit(w, "reclaim");
	mt_jw__start_object(w);
	U64(w, "records", s->reclaim_records);
	U64(w, "sample_drops", s->sample_drops);
	U64(w, "bytes", s->reclaimed_bytes);
	U64(w, "swap_growth_bytes", s->swap_growth);
	U64_OR_NULL(w, "first_t_ns", s->first_reclaim_ns, reclaim);
	U64_OR_NULL(w, "last_t_ns", s->last_reclaim_ns, reclaim);
	mt_jw__end_object(w);
	json_calls(rp, w);
	json_rss_at_calls(rp, w);
	mt_jw__break(w);
	U64(w, "lost_events", s->lost_events);
	U64(w, "records", s->records);
	U64(w, "unknown_records", s->unknown_records);
	U64(w, "inconsistent_records", s->inconsistent);
	U64(w, "after_exit_records", s->after_exit_records);
	U64(w, "partial_calls", s->partial_calls);
	U64(w, "rss_records", s->rss_records);
	U64(w, "smaps_records", s->smaps_records);
	U64(w, "processes", s->processes);
	U64(w, "regions", s->regions);
	U64(w, "info_records", s->info_records);
	U64(w, "stack_records", s->stack_records);
	if (s->gostat_records || s->resident_records) {
		U64(w, "gostat_records", s->gostat_records);
		U64(w, "resident_records", s->resident_records);
	}
	json_target(s, w);
	json_findings(rp, w);
	mt_jw__end_object(w);
}

int mt_report__json(struct report *rp)
{
	size_t nrows;
	uint64_t riv = mt_report__row_interval(rp);
	struct mt_gauges *rows = mt_report__rows(rp, riv, &nrows);
	char buf[JSON_BUF];
	struct mt_jw w;
	int64_t n;

	if (!rows)
		return -ENOMEM;
	mt_jw__init(&w, buf, sizeof(buf), rp->out, true);
	mt_jw__start_object(&w);
	mt_jw__break(&w);
	mt_jw__string_field(&w, "format", "madvtrace-report");
	mt_jw__break(&w);
	U64(&w, "format_version", 1);
	json_trace(rp, &w);
	json_summary(rp, &w);
	json_reconciliation(rp, &w);
	mt_jw__break(&w);
	U64(&w, "interval_ns", riv);
	mt_jw__break(&w);
	mt_jw__key_lit(&w, "timeline");
	mt_jw__start_array(&w);
	for (size_t i = 0; i < nrows; i++) {
		mt_jw__break(&w);
		mt_jw__start_object(&w);
		json_gauges(rp, &w, &rows[i]);
		mt_jw__end_object(&w);
	}
	mt_jw__end_array(&w);
	json_releasers(rp, &w);
	json_regions(rp, &w);
	mt_jw__end_object(&w);
	mt_jw__verbatim_lit(&w, "\n");
	n = mt_jw__flush(&w);
	free(rows);
	return n < 0 ? -EIO : 0;
}
