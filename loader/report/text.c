// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The text report, for people: the header, the verdict (the timeline's
 * findings), the timeline table, the calls, who released the memory and the
 * top regions.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fmt.h"
#include "releasers_verdict.h"
#include "live.h"
#include "report_priv.h"
#include "xlat.h"

#define STACK_FRAMES_SHOWN 6 /* innermost frames of a top stack */
#define UNWOUND_FRAMES_SHOWN 24 /* ... of an unwound one (inlined calls count) */

static void text_header(struct report *rp)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	const struct mt_file_info *fi = rp->info;
	char when[64] = "", dur[32], ps[32];
	uint64_t d = s->end_ns - s->start_ns;

	if (fi->clock_offset_ns) {
		time_t sec = (time_t)(((int64_t)s->start_ns + fi->clock_offset_ns) / 1000000000);
		struct tm tm;

		localtime_r(&sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %Z, ", &tm);
	}
	snprintf(dur, sizeof(dur), "%" PRIu64 ".%03" PRIu64 " s", d / 1000000000,
		 d / 1000000 % 1000);
	fprintf(rp->out, "madvtrace report of %s\n", rp->path);
	fprintf(rp->out, "  target    %s (pid %" PRIu32 "%s%s)\n",
		fi->target && *fi->target ? fi->target : "?", s->target_pid,
		s->target_comm[0] ? ", " : "", s->target_comm);
	fprintf(rp->out, "  recorded  %s%s, backend %s, kernel %s, page size %s\n", when, dur,
		mt_backend_name(fi->backend), fi->kernel_release ? fi->kernel_release : "?",
		mt_fmt_bytes(ps, sizeof(ps), fi->page_size ? fi->page_size : 4096));
	fprintf(rp->out, "  records   %" PRIu64 "; %" PRIu64 " events lost%s\n", s->records,
		s->lost_events, rp->truncated ? "; the file is truncated" : "");
	fputc('\n', rp->out);
}

static void text_timeline(struct report *rp)
{
	uint64_t riv = mt_report__row_interval(rp);
	size_t n;
	struct mt_gauges *rows = mt_report__rows(rp, riv, &n);
	bool go = mt_timeline__summary(rp->tl)->any_go_numbers;
	char iv[32], ts[32];

	if (!rows)
		return;
	fprintf(rp->out,
		"Timeline (a row every %s and at the end; calls, released and reclaimed are since "
		"the previous row)\n",
		mt_fmt_duration(iv, sizeof(iv), riv));
	mt_timeline__print_gauge_header(rp->out, go);
	for (size_t i = 0; i < n; i++) {
		mt_report__fmt_rel(rp, ts, sizeof(ts), rows[i].t_ns);
		mt_gauges_print_row(rp->out, ts, &rows[i], i ? &rows[i - 1] : NULL, go);
	}
	fputc('\n', rp->out);
	free(rows);
}

static void text_calls(struct report *rp)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	static const uint16_t types[] = {MT_MMAP,    MT_MUNMAP, MT_MREMAP,
					 MT_MADVISE, MT_BRK,	MT_MPROTECT};
	char b[32], f[32], l[32];
	bool any = false;

	fprintf(rp->out, "Calls (bytes and times of the successful ones)\n");
	fprintf(rp->out, "  %-22s %8s %7s %11s %9s %9s\n", "call", "calls", "errors", "bytes",
		"first", "last");
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const struct mt_call_stats *c = &s->syscall[types[i]];
		const struct mt_type_info *ti = mt_type_info(types[i]);

		if (!c->calls)
			continue;
		any = true;
		fprintf(rp->out, "  %-22s %8" PRIu64 " %7" PRIu64 " %11s %9s %9s\n",
			ti ? ti->name : "?", c->calls, c->errors,
			mt_fmt_bytes(b, sizeof(b), c->bytes),
			c->calls > c->errors ? mt_report__fmt_rel(rp, f, sizeof(f), c->first_ns) : "-",
			c->calls > c->errors ? mt_report__fmt_rel(rp, l, sizeof(l), c->last_ns) : "-");
		if (types[i] != MT_MADVISE)
			continue;
		for (int a = 0; a < MT_ADVICE_SLOTS; a++) {
			const struct mt_call_stats *c2 = &s->advice[a];
			const char *name = a < MT_ADVICE_SLOTS - 1 ? mt_advice_name(a) : NULL;
			char other[32];

			if (!c2->calls)
				continue;
			if (!name) {
				snprintf(other, sizeof(other),
					 a < MT_ADVICE_SLOTS - 1 ? "advice %d" : "other advice", a);
				name = other;
			}
			fprintf(
			    rp->out, "    %-20s %8" PRIu64 " %7" PRIu64 " %11s %9s %9s\n", name,
			    c2->calls, c2->errors, mt_fmt_bytes(b, sizeof(b), c2->bytes),
			    c2->calls > c2->errors ? mt_report__fmt_rel(rp, f, sizeof(f), c2->first_ns) : "-",
			    c2->calls > c2->errors ? mt_report__fmt_rel(rp, l, sizeof(l), c2->last_ns) : "-");
		}
	}
	if (!any)
		fprintf(rp->out, "  (no calls)\n");
	if (s->process_madvise_records)
		fprintf(rp->out,
			"  (process_madvise counts one call per iovec entry: %" PRIu64 ")\n",
			s->process_madvise_records);
	fputc('\n', rp->out);
}

static void text_regions(struct report *rp)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	struct mt_mapping_info top[TOP_REGIONS];
	size_t n = mt_timeline__top_regions(rp->tl, top, TOP_REGIONS);
	char range[48], size[24], what[40], when[24], b[4][24], prot[8], pid[16] = "";

	fprintf(rp->out,
		"Top regions by released bytes (rel.: released in all; still: at the end)\n");
	if (!n) {
		fprintf(rp->out, "  (nothing was released)\n");
		return;
	}
	fprintf(rp->out, "  %-31s %10s %-24s %9s %10s %10s %6s %10s %10s\n", "range", "size",
		"mapping", "mapped", "rel.lazy", "rel.eager", "calls", "still lazy", "still eager");
	for (size_t i = 0; i < n; i++) {
		const struct mt_mapping_info *m = &top[i];

		if (s->processes > 1)
			snprintf(pid, sizeof(pid), " pid %" PRIu32, m->pid);
		snprintf(range, sizeof(range), "0x%" PRIx64 "-0x%" PRIx64, m->start, m->end);
		snprintf(what, sizeof(what), "%s %s%s%s", mt_rkind_name(m->kind),
			 mt_prot_rwx(prot, sizeof(prot), m->prot), pid, m->unmapped ? " gone" : "");
		if (m->created_ns)
			mt_report__fmt_rel(rp, when, sizeof(when), m->created_ns);
		else
			snprintf(when, sizeof(when), "before");
		fprintf(rp->out, "  %-31s %10s %-24s %9s %10s %10s %6" PRIu64 " %10s %10s\n", range,
			mt_fmt_bytes(size, sizeof(size), m->end - m->start), what, when,
			mt_fmt_bytes(b[0], sizeof(b[0]), m->released_lazy),
			mt_fmt_bytes(b[1], sizeof(b[1]), m->released_eager), m->release_calls,
			mt_fmt_bytes(b[2], sizeof(b[2]), m->cur[MT_RS_LAZY]),
			mt_fmt_bytes(b[3], sizeof(b[3]), m->cur[MT_RS_EAGER]));
	}
}

/* ---- who released it ---- */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/*
 * "runtime.madvise+0x25", "pool_trim+0x12 (app.c:25) [app]", "free (inlined)
 * (malloc.c:3375) [libc.so.6]", "libjemalloc.so.2+0x1f0a0", or the address.
 */
static char *fmt_frame(const struct report *rp, const struct mt_rel_stack *st, uint32_t i,
		       char *buf, size_t len)
{
	struct mt_rel_frame f;
	size_t o;

	if (!mt_releasers__frame_at(rp->rel, st, i, &f)) {
		snprintf(buf, len, "?");
		return buf;
	}
	if (f.function && f.inlined)
		o = (size_t)snprintf(buf, len, "%s (inlined)", f.function);
	else if (f.function)
		o = (size_t)snprintf(buf, len, "%s+0x%" PRIx64, f.function, f.offset);
	else if (f.file && !f.kernel_walk)
		o = (size_t)snprintf(buf, len, "%s+0x%" PRIx64, base_name(f.file), f.file_offset);
	else
		o = (size_t)snprintf(buf, len, "0x%" PRIx64 " (unknown)", f.ip);
	if (o < len && f.src && f.line)
		o += (size_t)snprintf(buf + o, len - o, " (%s:%" PRIu32 ")", base_name(f.src),
				      f.line);
	if (o < len && f.file && f.function && !f.kernel_walk)
		snprintf(buf + o, len - o, " [%s]", base_name(f.file));
	return buf;
}

/* "MADV_DONTNEED" or "MADV_FREE, munmap": the kinds of call a tally has. */
static char *fmt_kinds(const struct mt_rel_tally by[MT_RC_NR], char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int k = 0; k < MT_RC_NR && off < len; k++)
		if (by[k].calls)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
						mt_rel_call_name(k));
	return buf;
}

/* The unwound stacks by allocator path and calling code, and the files that could not help. */
static void text_groups(struct report *rp)
{
	struct mt_rel_group g;
	struct mt_rel_file f;
	char b[32], k[96];

	if (mt_releasers__group(rp->rel, 0, &g)) {
		fprintf(rp->out, "Released by (allocator path \u2190 the code that called it)\n");
		for (size_t i = 0; mt_releasers__group(rp->rel, i, &g); i++) {
			uint64_t calls, rel = mt_rel_released(g.by, &calls);

			if (!rel) {
				rel = g.by[MT_RC_MUNMAP].bytes;
				calls = g.by[MT_RC_MUNMAP].calls;
			}
			fprintf(rp->out, "  %10s in %6" PRIu64 " call%s (%s): %s\n",
				mt_fmt_bytes(b, sizeof(b), rel), calls, calls == 1 ? " " : "s",
				fmt_kinds(g.by, k, sizeof(k)), g.label);
		}
		fputc('\n', rp->out);
	}
	if (mt_releasers__file(rp->rel, 0, &f)) {
		fprintf(rp->out, "Files the stacks went through that could not be used (frames "
				 "shown as file+offset)\n");
		for (size_t i = 0; mt_releasers__file(rp->rel, i, &f); i++)
			fprintf(rp->out, "  %s: %s\n", f.path, f.problem);
		fputc('\n', rp->out);
	}
}

static void text_releasers(struct report *rp)
{
	const struct mt_rel_summary *rs = mt_releasers__summary(rp->rel);
	struct mt_rel_stack top[TOP_STACKS];
	size_t n;
	char b[32], k[96], f[4200];

	fprintf(rp->out, "Who released it (the user stack of each releasing call)\n");
	if (!mt_releasers__any(rs)) {
		fprintf(rp->out, "  (nothing was released or unmapped)\n\n");
		return;
	}
	if (!rs->calls_with_stack) {
		fprintf(rp->out,
			"  The release stacks were not recorded. Record with `madvtrace --stacks "
			"...` (the\n  default for Go programs) to see which code released the "
			"memory.\n\n");
		return;
	}
	fprintf(rp->out, "  %-42s %-15s %8s %11s\n", "releaser", "call", "calls", "bytes");
	for (int w = 0; w < MT_WHO_NR; w++)
		for (int c = 0; c < MT_RC_NR; c++) {
			const struct mt_rel_tally *t = &rs->by[w][c];

			if (!t->calls)
				continue;
			fprintf(rp->out, "  %-42s %-15s %8" PRIu64 " %11s\n", mt_releaser_name(w),
				mt_rel_call_name(c), t->calls,
				mt_fmt_bytes(b, sizeof(b), t->bytes));
		}
	fprintf(rp->out, "  (%" PRIu64 " distinct stack%s", rs->stacks, rs->stacks == 1 ? "" : "s");
	if (rs->missing_stacks)
		fprintf(rp->out, ", %" PRIu64 " missing from the trace", rs->missing_stacks);
	if (rs->unsymbolized)
		fprintf(rp->out, "; %" PRIu64 " of %" PRIu64 " program%s without symbols",
			rs->unsymbolized, rs->programs, rs->programs == 1 ? "" : "s");
	if (rs->calls_without_stack)
		fprintf(rp->out, "; %" PRIu64 " releasing call%s without a stack",
			rs->calls_without_stack, rs->calls_without_stack == 1 ? "" : "s");
	if (rs->unmapped_stacks)
		fprintf(rp->out, "; %" PRIu64 " unwound stack%s in no recorded file mapping",
			rs->unmapped_stacks, rs->unmapped_stacks == 1 ? "" : "s");
	fprintf(rp->out, ")\n\n");

	n = mt_releasers__top(rp->rel, top, TOP_STACKS);
	fprintf(rp->out, "Top release stacks (innermost frame first; > marks the frame that "
			 "decided the releaser)\n");
	for (size_t i = 0; i < n; i++) {
		const struct mt_rel_stack *st = &top[i];
		uint64_t calls, rel = mt_rel_released(st->by, &calls);
		uint32_t most = st->unwound ? UNWOUND_FRAMES_SHOWN : STACK_FRAMES_SHOWN;
		uint32_t shown = st->nframes < most ? st->nframes : most;

		if (!rel) {
			rel = st->by[MT_RC_MUNMAP].bytes;
			calls = st->by[MT_RC_MUNMAP].calls;
		}
		fprintf(rp->out, "  %zu. %s in %" PRIu64 " call%s (%s): %s; pid %" PRIu32 "\n",
			i + 1, mt_fmt_bytes(b, sizeof(b), rel), calls, calls == 1 ? "" : "s",
			fmt_kinds(st->by, k, sizeof(k)),
			st->group ? st->group : mt_releaser_name(st->who), st->pid);
		if (!st->nframes && !st->unwound)
			fprintf(rp->out, "       (stack %" PRIu32 " is not in the trace)\n",
				st->stack_id);
		for (uint32_t j = 0; j < shown; j++)
			fprintf(rp->out, "     %s %s\n", (int)j == st->decisive ? ">" : " ",
				fmt_frame(rp, st, j, f, sizeof(f)));
		if (st->decisive >= (int)shown) {
			if (st->decisive > (int)shown)
				fprintf(rp->out, "       ...\n");
			fprintf(rp->out, "     > %s\n",
				fmt_frame(rp, st, (uint32_t)st->decisive, f, sizeof(f)));
		}
		if (st->nframes > shown && st->decisive < (int)st->nframes - 1)
			fprintf(rp->out, "       ... (%" PRIu32 " frames in all)\n", st->nframes);
	}
	fputc('\n', rp->out);
	text_groups(rp);
}

int mt_report__text(struct report *rp)
{
	text_header(rp);
	mt_timeline__print_verdict(rp->tl, rp->out);
	fputc('\n', rp->out);
	mt_live__print_reconciliation(rp->tl, rp->out);
	text_timeline(rp);
	text_calls(rp);
	text_releasers(rp);
	text_regions(rp);
	return 0;
}

