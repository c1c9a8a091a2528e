// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * madvtrace report: a reader loop feeding a timeline, then one renderer.
 * Memory stays bounded whatever the number of records: the timeline keeps
 * samples on a bounded grid, and the perfetto events are staged in a
 * temporary file rather than in memory.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "dump.h"
#include "xlat.h"
#include "madvtrace/build.h"
#include "releasers.h"
#include "report.h"
#include "timeline.h"
#include "tracefile.h"

enum format { FMT_TEXT, FMT_JSON, FMT_CSV, FMT_PERFETTO, FMT_SVG, FMT_NR };

static const char *const format_names[FMT_NR] = {"text", "json", "csv", "perfetto", "svg"};

#define TOP_REGIONS 10
#define TOP_STACKS 5
#define STACK_FRAMES_SHOWN 6 /* innermost frames of a top stack in the text report */
/* calls of one kind from one thread less than this apart form one burst (perfetto) */
#define BURST_GAP_NS 1000000ull

struct burst {
	uint32_t pid, tid;
	uint16_t type;
	int32_t advice;
	uint32_t stack_id; /* calls of one burst share their user stack */
	bool used, open;
	uint64_t first_ns, last_ns;
	uint64_t calls, errors, bytes;
	/* the first call, shown in full when the burst has only one */
	uint64_t addr, len;
	int64_t ret;
	uint32_t prot, flags;
};

struct pname {
	uint32_t pid;
	char comm[MT_COMM_LEN];
};

struct report {
	const char *path;
	const char *out_path;
	enum format fmt;
	uint64_t interval_ns;
	struct mt_reader *r;
	const struct mt_file_info *info;
	struct mt_timeline *tl;
	struct mt_releasers *rel;
	FILE *out;
	bool truncated;
	/* perfetto */
	FILE *events;
	uint64_t nevents;
	struct burst *bursts; /* open-addressed by tid */
	size_t nbursts, capbursts;
	struct pname *names;
	size_t nnames;
};

/* ---- small helpers ---- */

static uint64_t t_rel(const struct report *rp, uint64_t t)
{
	uint64_t t0 = mt_timeline__summary(rp->tl)->start_ns;

	return t > t0 ? t - t0 : 0;
}

static char *fmt_rel(const struct report *rp, char *buf, size_t len, uint64_t t)
{
	return mt_fmt_rel(buf, len, t, mt_timeline__summary(rp->tl)->start_ns);
}

static const char *backend_name(uint32_t b)
{
	switch (b) {
	case MT_BACKEND_BPF:
		return "bpf";
	case MT_BACKEND_PTRACE:
		return "ptrace";
	case MT_BACKEND_PRELOAD:
		return "preload";
	default:
		return "unknown";
	}
}

static char *fmt_prot(char *buf, size_t len, uint32_t prot)
{
	snprintf(buf, len, "%c%c%c", prot & 1 ? 'r' : '-', prot & 2 ? 'w' : '-',
		 prot & 4 ? 'x' : '-');
	return buf;
}

/* A JSON string: escapes, and invalid UTF-8 bytes become U+FFFD. */
static void json_str(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	fputc('"', out);
	while (*p) {
		unsigned char c = *p;
		size_t n = 0;

		if (c == '"' || c == '\\') {
			fputc('\\', out);
			fputc(c, out);
			p++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			fprintf(out, "\\u%04x", c);
			p++;
			continue;
		}
		if (c < 0x80) {
			fputc(c, out);
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		for (size_t i = 1; i <= n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		/* reject overlong three- and four-byte forms and surrogates */
		if (n == 2 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0)))
			n = 0;
		if (n == 3 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90)))
			n = 0;
		if (!n) {
			fputs("\\ufffd", out);
			p++;
			continue;
		}
		fwrite(p, 1, n + 1, out);
		p += n + 1;
	}
	fputc('"', out);
}

/* XML text: escapes markup characters; control bytes are dropped. */
static void xml_str(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			if (*p >= 0x20 && *p != 0x7f)
				fputc(*p, out);
		}
	}
}

/* At most max bytes of s (cut at a character boundary, "..." added). */
static void xml_str_max(FILE *out, const char *s, size_t max)
{
	size_t len = strlen(s);
	char *cut;

	if (len <= max) {
		xml_str(out, s);
		return;
	}
	while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--; /* not inside a UTF-8 sequence */
	cut = strndup(s, max);
	if (!cut)
		return;
	xml_str(out, cut);
	fputs("...", out);
	free(cut);
}

/* Header strings may come from a damaged file; never print a NULL. */
static const char *hdr_str(const char *s)
{
	return s ? s : "";
}

/* ---- rows: samples regrouped at the report interval ---- */

/* A round interval (1, 2, 5 x 10^k ns) giving about 20 rows, on the sample grid. */
static uint64_t auto_row_interval(uint64_t dur, uint64_t iv)
{
	static const uint64_t mant[] = {1, 2, 5};
	uint64_t best = iv;
	double best_err = INFINITY;

	if (!dur)
		return iv;
	for (uint64_t dec = 1; dec <= 100000000000000000ull; dec *= 10) {
		for (size_t i = 0; i < 3; i++) {
			uint64_t r = mant[i] * dec;
			double err;

			if (r < iv || r % iv)
				continue;
			err = fabs((double)dur / (double)r - 20.0);
			if (err < best_err) {
				best_err = err;
				best = r;
			}
		}
	}
	return best;
}

/*
 * The rows at every multiple of row_iv from time zero, and the end. Gauges
 * are taken as they are at the row's time; rss_peak is the highest RSS
 * since the previous row.
 */
static struct mt_gauges *pick_rows(const struct report *rp, uint64_t row_iv, size_t *nrows)
{
	size_t n, k = 0;
	const struct mt_gauges *s = mt_timeline__samples(rp->tl, &n);
	uint64_t t0 = mt_timeline__summary(rp->tl)->start_ns, peak = 0;
	struct mt_gauges *rows = malloc((n ? n : 1) * sizeof(*rows));

	if (!rows)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i].rss_peak > peak)
			peak = s[i].rss_peak;
		if (i + 1 < n && (s[i].t_ns - t0) % row_iv)
			continue;
		rows[k] = s[i];
		rows[k].rss_peak = peak;
		k++;
		peak = 0;
	}
	*nrows = k;
	return rows;
}

static uint64_t row_interval(struct report *rp)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	uint64_t iv = mt_timeline__interval(rp->tl);

	if (rp->interval_ns)
		return rp->interval_ns > iv ? rp->interval_ns : iv;
	return auto_row_interval(s->end_ns - s->start_ns, iv);
}

/* ---- text ---- */

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
		backend_name(fi->backend), fi->kernel_release ? fi->kernel_release : "?",
		mt_fmt_bytes(ps, sizeof(ps), fi->page_size ? fi->page_size : 4096));
	fprintf(rp->out, "  records   %" PRIu64 "; %" PRIu64 " events lost%s\n", s->records,
		s->lost_events, rp->truncated ? "; the file is truncated" : "");
	fputc('\n', rp->out);
}

static void text_timeline(struct report *rp)
{
	uint64_t riv = row_interval(rp);
	size_t n;
	struct mt_gauges *rows = pick_rows(rp, riv, &n);
	char iv[32], ts[32];

	if (!rows)
		return;
	fprintf(rp->out,
		"Timeline (a row every %s and at the end; calls, released and reclaimed are since "
		"the previous row)\n",
		mt_fmt_duration(iv, sizeof(iv), riv));
	mt_timeline__print_gauge_header(rp->out);
	for (size_t i = 0; i < n; i++) {
		fmt_rel(rp, ts, sizeof(ts), rows[i].t_ns);
		mt_gauges_print_row(rp->out, ts, &rows[i], i ? &rows[i - 1] : NULL);
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
			c->calls > c->errors ? fmt_rel(rp, f, sizeof(f), c->first_ns) : "-",
			c->calls > c->errors ? fmt_rel(rp, l, sizeof(l), c->last_ns) : "-");
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
			    c2->calls > c2->errors ? fmt_rel(rp, f, sizeof(f), c2->first_ns) : "-",
			    c2->calls > c2->errors ? fmt_rel(rp, l, sizeof(l), c2->last_ns) : "-");
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
			 fmt_prot(prot, sizeof(prot), m->prot), pid, m->unmapped ? " gone" : "");
		if (m->created_ns)
			fmt_rel(rp, when, sizeof(when), m->created_ns);
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

/* "runtime.madvise+0x25", or the address when the function is unknown. */
static char *fmt_frame(const struct report *rp, const struct mt_rel_stack *st, uint32_t i,
		       char *buf, size_t len)
{
	uint64_t off = 0;
	const char *name = mt_releasers__frame(rp->rel, st, i, &off);

	if (name)
		snprintf(buf, len, "%s+0x%" PRIx64, name, off);
	else
		snprintf(buf, len, "0x%" PRIx64 " (unknown)", st->ips[i]);
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

static bool any_release(const struct mt_rel_summary *rs)
{
	for (int w = 0; w < MT_WHO_NR; w++)
		for (int k = 0; k < MT_RC_NR; k++)
			if (rs->by[w][k].calls)
				return true;
	return false;
}

/*
 * The verdict's sentence on who released the memory (kind "releasers"), or
 * that the stacks were not recorded and how to get them.
 */
static int releasers_finding(struct report *rp)
{
	const struct mt_rel_summary *rs = mt_releasers__summary(rp->rel);
	uint64_t total = 0, v[MT_WHO_NR] = {0}, c[MT_WHO_NR] = {0};
	char *text = NULL, x[32], y[32];
	size_t len = 0;
	bool released;
	FILE *m;
	int err;

	if (!any_release(rs))
		return 0;
	m = open_memstream(&text, &len);
	if (!m)
		return -ENOMEM;
	if (!rs->calls_with_stack) {
		fputs("Which code released the memory is unknown: the trace has no release stacks "
		      "(recorded without --stacks). Record with `madvtrace --stacks` (the default "
		      "for Go programs) to see it.",
		      m);
		goto done;
	}
	/* releases by the code that made them; only munmap: who unmapped */
	for (int w = 0; w < MT_WHO_NO_STACK; w++)
		total += mt_rel_released(rs->by[w], NULL);
	released = total > 0;
	for (int w = 0; w < MT_WHO_NO_STACK; w++) {
		v[w] = released ? mt_rel_released(rs->by[w], &c[w]) : rs->by[w][MT_RC_MUNMAP].bytes;
		c[w] = released ? c[w] : rs->by[w][MT_RC_MUNMAP].calls;
		total += released ? 0 : v[w];
	}
	fputs(released ? "Who released it (from the user stack of each releasing call):"
		       : "Who unmapped it (from the user stack of each munmap):",
	      m);
	for (int shown = 0;; shown++) {
		int best = -1;

		for (int w = 0; w < MT_WHO_NO_STACK; w++)
			if (v[w] && (best < 0 || v[w] > v[best]))
				best = w;
		if (best < 0)
			break;
		fprintf(m, "%s %s %s in %" PRIu64 " call%s (%.0f%%)", shown ? "," : "",
			mt_releaser_name(best), mt_fmt_bytes(x, sizeof(x), v[best]), c[best],
			c[best] == 1 ? "" : "s", 100.0 * (double)v[best] / (double)total);
		v[best] = 0;
	}
	fputc('.', m);
	if (rs->calls_without_stack) {
		uint64_t rel = mt_rel_released(rs->by[MT_WHO_NO_STACK], NULL);
		uint64_t unm = rs->by[MT_WHO_NO_STACK][MT_RC_MUNMAP].bytes;

		fprintf(m, " %" PRIu64 " releasing call%s (%s%s%s%s%s) %s no stack.",
			rs->calls_without_stack, rs->calls_without_stack == 1 ? "" : "s",
			rel ? mt_fmt_bytes(x, sizeof(x), rel) : "", rel ? " released" : "",
			rel && unm ? ", " : "", unm ? mt_fmt_bytes(y, sizeof(y), unm) : "",
			unm ? " unmapped" : "", rs->calls_without_stack == 1 ? "has" : "have");
	}
done:
	if (fclose(m)) {
		free(text);
		return -ENOMEM;
	}
	err = mt_timeline__add_finding(rp->tl, "releasers", text);
	free(text);
	return err;
}

static void text_releasers(struct report *rp)
{
	const struct mt_rel_summary *rs = mt_releasers__summary(rp->rel);
	struct mt_rel_stack top[TOP_STACKS];
	size_t n;
	char b[32], k[96], f[4200];

	fprintf(rp->out, "Who released it (the user stack of each releasing call)\n");
	if (!any_release(rs)) {
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
	fprintf(rp->out, ")\n\n");

	n = mt_releasers__top(rp->rel, top, TOP_STACKS);
	fprintf(rp->out, "Top release stacks (innermost frame first; > marks the frame that "
			 "decided the releaser)\n");
	for (size_t i = 0; i < n; i++) {
		const struct mt_rel_stack *st = &top[i];
		uint64_t calls, rel = mt_rel_released(st->by, &calls);
		uint32_t shown =
		    st->nframes < STACK_FRAMES_SHOWN ? st->nframes : STACK_FRAMES_SHOWN;

		if (!rel) {
			rel = st->by[MT_RC_MUNMAP].bytes;
			calls = st->by[MT_RC_MUNMAP].calls;
		}
		fprintf(rp->out, "  %zu. %s in %" PRIu64 " call%s (%s): %s; pid %" PRIu32 "\n",
			i + 1, mt_fmt_bytes(b, sizeof(b), rel), calls, calls == 1 ? "" : "s",
			fmt_kinds(st->by, k, sizeof(k)), mt_releaser_name(st->who), st->pid);
		if (!st->nframes)
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
}

static int render_text(struct report *rp)
{
	text_header(rp);
	mt_timeline__print_verdict(rp->tl, rp->out);
	fputc('\n', rp->out);
	text_timeline(rp);
	text_calls(rp);
	text_releasers(rp);
	text_regions(rp);
	return 0;
}

/* ---- json and csv ---- */

static void json_u64_or_null(FILE *out, uint64_t v, bool known)
{
	if (known)
		fprintf(out, "%" PRIu64, v);
	else
		fputs("null", out);
}

static void json_str_or_null(FILE *out, const char *s)
{
	if (s)
		json_str(out, s);
	else
		fputs("null", out);
}

/* The gauge keys shared by summary and timeline samples (no braces). */
static void json_gauges(struct report *rp, const struct mt_gauges *g)
{
	FILE *o = rp->out;
	uint64_t d = t_rel(rp, g->t_ns);

	fprintf(o, "\"t_ns\": %" PRIu64 ", \"t_s\": %" PRIu64 ".%06" PRIu64 ", \"rss_bytes\": ",
		g->t_ns, d / 1000000000, d / 1000 % 1000000);
	json_u64_or_null(o, mt_gauges_rss(g), g->have_rss);
	fputs(", \"rss_anon_bytes\": ", o);
	json_u64_or_null(o, g->rss_anon, g->have_rss);
	fputs(", \"rss_file_bytes\": ", o);
	json_u64_or_null(o, g->rss_file, g->have_rss);
	fputs(", \"rss_shmem_bytes\": ", o);
	json_u64_or_null(o, g->rss_shmem, g->have_rss);
	fputs(", \"swap_bytes\": ", o);
	json_u64_or_null(o, g->swap, g->have_rss);
	fputs(", \"rss_peak_bytes\": ", o);
	json_u64_or_null(o, g->rss_peak, g->have_rss);
	fputs(", \"lazyfree_bytes\": ", o);
	json_u64_or_null(o, g->lazyfree, g->have_smaps);
	fputs(", \"smaps_rss_bytes\": ", o);
	json_u64_or_null(o, g->smaps_rss, g->have_smaps);
	fprintf(o,
		", \"reserved_bytes\": %" PRIu64 ", \"committed_bytes\": %" PRIu64
		", \"released_lazy_bytes\": %" PRIu64 ", \"released_eager_bytes\": %" PRIu64
		", \"calls\": %" PRIu64 ", \"madv_free_calls\": %" PRIu64
		", \"madv_free_bytes\": %" PRIu64 ", \"madv_dontneed_calls\": %" PRIu64
		", \"madv_dontneed_bytes\": %" PRIu64 ", \"munmap_calls\": %" PRIu64
		", \"munmap_bytes\": %" PRIu64 ", \"hugepage_calls\": %" PRIu64
		", \"reclaimed_bytes\": %" PRIu64,
		g->state[MT_RS_RESERVED], g->state[MT_RS_COMMITTED], g->state[MT_RS_LAZY],
		g->state[MT_RS_EAGER], g->calls, g->free_calls, g->free_bytes, g->dontneed_calls,
		g->dontneed_bytes, g->munmap_calls, g->munmap_bytes, g->hugepage_calls,
		g->reclaimed_bytes);
}

static void json_stats(FILE *o, const struct mt_call_stats *c)
{
	fprintf(o, "{\"calls\": %" PRIu64 ", \"errors\": %" PRIu64 ", \"bytes\": %" PRIu64,
		c->calls, c->errors, c->bytes);
	fputs(", \"first_t_ns\": ", o);
	json_u64_or_null(o, c->first_ns, c->calls > c->errors);
	fputs(", \"last_t_ns\": ", o);
	json_u64_or_null(o, c->last_ns, c->calls > c->errors);
	fputc('}', o);
}

static void json_calls(struct report *rp)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	static const uint16_t types[] = {MT_MMAP,    MT_MUNMAP, MT_MREMAP,
					 MT_MADVISE, MT_BRK,	MT_MPROTECT};
	FILE *o = rp->out;
	bool first = true;

	fputs("    \"calls\": {\n      \"by_syscall\": {", o);
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		const struct mt_type_info *ti = mt_type_info(types[i]);

		fprintf(o, "%s\n        ", i ? "," : "");
		json_str(o, ti ? ti->name : "?");
		fputs(": ", o);
		json_stats(o, &s->syscall[types[i]]);
	}
	fputs("\n      },\n      \"by_advice\": {", o);
	for (int a = 0; a < MT_ADVICE_SLOTS; a++) {
		const char *name = a < MT_ADVICE_SLOTS - 1 ? mt_advice_name(a) : "other";
		char buf[32];

		if (!s->advice[a].calls)
			continue;
		if (!name) {
			snprintf(buf, sizeof(buf), "%d", a);
			name = buf;
		}
		fprintf(o, "%s\n        ", first ? "" : ",");
		first = false;
		json_str(o, name);
		fputs(": ", o);
		json_stats(o, &s->advice[a]);
	}
	fputs(first ? "}\n    },\n" : "\n      }\n    },\n", o);
}

static void json_rss_at_calls(struct report *rp)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	static const char *const names[MT_CL_NR] = {"MADV_FREE", "MADV_DONTNEED",   "MADV_REMOVE",
						    "munmap",	 "prot_none_remap", "other"};
	FILE *o = rp->out;

	fputs("    \"rss_at_calls\": {", o);
	for (int k = 0; k < MT_CL_NR; k++) {
		fprintf(o, "%s\n      ", k ? "," : "");
		json_str(o, names[k]);
		fprintf(o,
			": {\"calls\": %" PRIu64 ", \"rss_records\": %" PRIu64
			", \"rss_down_bytes\": %" PRIu64 ", \"rss_up_bytes\": %" PRIu64 "}",
			s->class_calls[k], s->rss_after[k], s->rss_down[k], s->rss_up[k]);
	}
	fputs("\n    },\n", o);
}

static void json_regions(struct report *rp)
{
	struct mt_mapping_info top[TOP_REGIONS];
	size_t n = mt_timeline__top_regions(rp->tl, top, TOP_REGIONS);
	FILE *o = rp->out;

	fputs("  \"top_regions\": [", o);
	for (size_t i = 0; i < n; i++) {
		const struct mt_mapping_info *m = &top[i];

		fprintf(o,
			"%s\n    {\"pid\": %" PRIu32 ", \"start\": \"0x%" PRIx64
			"\", \"end\": \"0x%" PRIx64 "\", \"size_bytes\": %" PRIu64 ", \"kind\": ",
			i ? "," : "", m->pid, m->start, m->end, m->end - m->start);
		json_str(o, mt_rkind_name(m->kind));
		fprintf(o, ", \"prot\": %" PRIu32 ", \"created_t_ns\": ", m->prot);
		json_u64_or_null(o, m->created_ns, m->created_ns != 0);
		fputs(", \"unmapped_t_ns\": ", o);
		json_u64_or_null(o, m->unmapped_ns, m->unmapped);
		fprintf(o,
			", \"released_lazy_bytes\": %" PRIu64 ", \"released_eager_bytes\": %" PRIu64
			", \"rereleased_bytes\": %" PRIu64 ", \"recommitted_bytes\": %" PRIu64
			", \"release_calls\": %" PRIu64 ", \"first_release_t_ns\": %" PRIu64
			", \"last_release_t_ns\": %" PRIu64
			", \"now\": {\"reserved_bytes\": %" PRIu64 ", \"committed_bytes\": %" PRIu64
			", \"released_lazy_bytes\": %" PRIu64 ", \"released_eager_bytes\": %" PRIu64
			"}}",
			m->released_lazy, m->released_eager, m->rereleased, m->recommitted,
			m->release_calls, m->first_release_ns, m->last_release_ns,
			m->cur[MT_RS_RESERVED], m->cur[MT_RS_COMMITTED], m->cur[MT_RS_LAZY],
			m->cur[MT_RS_EAGER]);
	}
	fputs(n ? "\n  ]\n" : "]\n", o);
}

static void json_rel_calls(FILE *o, const struct mt_rel_tally by[MT_RC_NR])
{
	bool first = true;

	fputs("{", o);
	for (int k = 0; k < MT_RC_NR; k++) {
		if (!by[k].calls)
			continue;
		fprintf(o, "%s\"%s\": {\"calls\": %" PRIu64 ", \"bytes\": %" PRIu64 "}",
			first ? "" : ", ", mt_rel_call_name(k), by[k].calls, by[k].bytes);
		first = false;
	}
	fputs("}", o);
}

/* released_bytes, release_calls, unmapped_bytes, unmap_calls, by_call (no braces) */
static void json_rel_tally(FILE *o, const struct mt_rel_tally by[MT_RC_NR])
{
	uint64_t calls, bytes = mt_rel_released(by, &calls);

	fprintf(o,
		"\"released_bytes\": %" PRIu64 ", \"release_calls\": %" PRIu64
		", \"unmapped_bytes\": %" PRIu64 ", \"unmap_calls\": %" PRIu64 ", \"by_call\": ",
		bytes, calls, by[MT_RC_MUNMAP].bytes, by[MT_RC_MUNMAP].calls);
	json_rel_calls(o, by);
}

static void json_releasers(struct report *rp)
{
	const struct mt_rel_summary *rs = mt_releasers__summary(rp->rel);
	struct mt_rel_stack top[TOP_STACKS];
	size_t n = mt_releasers__top(rp->rel, top, TOP_STACKS);
	struct mt_rel_tally all[MT_RC_NR] = {{0}};
	const char *exe, *src, *err;
	FILE *o = rp->out;
	bool first = true;
	uint32_t pid;

	for (int w = 0; w < MT_WHO_NR; w++)
		for (int k = 0; k < MT_RC_NR; k++) {
			all[k].calls += rs->by[w][k].calls;
			all[k].bytes += rs->by[w][k].bytes;
		}
	fprintf(o,
		"  \"releasers\": {\"stacks_recorded\": %s, \"calls_with_stack\": %" PRIu64
		", \"calls_without_stack\": %" PRIu64 ", \"stacks\": %" PRIu64
		", \"missing_stacks\": %" PRIu64 ", ",
		rs->calls_with_stack ? "true" : "false", rs->calls_with_stack,
		rs->calls_without_stack, rs->stacks, rs->missing_stacks);
	json_rel_tally(o, all);
	fputs(",\n    \"by_releaser\": {", o);
	for (int w = 0; w < MT_WHO_NR; w++) {
		bool any = false;

		for (int k = 0; k < MT_RC_NR; k++)
			any = any || rs->by[w][k].calls;
		if (!any)
			continue;
		fprintf(o, "%s\n      \"%s\": {\"name\": ", first ? "" : ",", mt_releaser_key(w));
		json_str(o, mt_releaser_name(w));
		fputs(", ", o);
		json_rel_tally(o, rs->by[w]);
		fputc('}', o);
		first = false;
	}
	fputs(first ? "},\n    \"top_stacks\": [" : "\n    },\n    \"top_stacks\": [", o);
	for (size_t i = 0; i < n; i++) {
		const struct mt_rel_stack *st = &top[i];

		fprintf(o,
			"%s\n      {\"pid\": %" PRIu32 ", \"stack_id\": %" PRIu32
			", \"releaser\": \"%s\", ",
			i ? "," : "", st->pid, st->stack_id, mt_releaser_key(st->who));
		json_rel_tally(o, st->by);
		fputs(", \"exe\": ", o);
		json_str_or_null(o, st->exe);
		fputs(", \"decisive_frame\": ", o);
		if (st->decisive >= 0)
			fprintf(o, "%d", st->decisive);
		else
			fputs("null", o);
		fputs(", \"frames\": [", o);
		for (uint32_t j = 0; j < st->nframes; j++) {
			uint64_t off = 0;
			const char *name = mt_releasers__frame(rp->rel, st, j, &off);

			fprintf(o, "%s{\"ip\": \"0x%" PRIx64 "\", \"function\": ", j ? ", " : "",
				st->ips[j]);
			json_str_or_null(o, name);
			fputs(", \"offset\": ", o);
			json_u64_or_null(o, off, name != NULL);
			fputc('}', o);
		}
		fputs("]}", o);
	}
	fputs(n ? "\n    ],\n    \"programs\": [" : "],\n    \"programs\": [", o);
	for (size_t i = 0; mt_releasers__program(rp->rel, i, &pid, &exe, &src, &err); i++) {
		fprintf(o, "%s\n      {\"pid\": %" PRIu32 ", \"exe\": ", i ? "," : "", pid);
		json_str_or_null(o, exe);
		fputs(", \"symbols\": ", o);
		json_str_or_null(o, src);
		fputs(", \"error\": ", o);
		json_str_or_null(o, err);
		fputc('}', o);
	}
	fputs(mt_releasers__program(rp->rel, 0, &pid, &exe, &src, &err) ? "\n    ]\n  },\n"
									: "]\n  },\n",
	      o);
}

static int render_json(struct report *rp)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	const struct mt_file_info *fi = rp->info;
	const struct mt_finding *f;
	size_t nf, nrows;
	uint64_t riv = row_interval(rp);
	struct mt_gauges *rows = pick_rows(rp, riv, &nrows);
	FILE *o = rp->out;

	if (!rows)
		return -ENOMEM;
	f = mt_timeline__findings(rp->tl, &nf);
	fputs("{\n  \"format\": \"madvtrace-report\",\n  \"format_version\": 1,\n  \"trace\": "
	      "{\"file\": ",
	      o);
	json_str(o, rp->path);
	fprintf(o, ", \"version\": %" PRIu32 ", \"backend\": ", fi->version);
	json_str(o, backend_name(fi->backend));
	fputs(", \"kernel_release\": ", o);
	json_str(o, hdr_str(fi->kernel_release));
	fputs(", \"target\": ", o);
	json_str(o, hdr_str(fi->target));
	fputs(", \"cmdline\": ", o);
	json_str(o, hdr_str(fi->cmdline));
	fprintf(o,
		", \"target_pid\": %" PRId32 ", \"page_size\": %" PRIu32
		", \"clock_offset_ns\": %" PRId64 ", \"start_ns\": %" PRIu64
		", \"end_ns\": %" PRIu64 ", \"duration_ns\": %" PRIu64 ", \"records\": %" PRIu64
		", \"truncated\": %s},\n",
		fi->target_pid, fi->page_size, fi->clock_offset_ns, s->start_ns, s->end_ns,
		s->end_ns - s->start_ns, s->records, rp->truncated ? "true" : "false");

	fputs("  \"summary\": {\n    ", o);
	json_gauges(rp, &s->end);
	fputs(",\n    \"rss_max_bytes\": ", o);
	json_u64_or_null(o, s->rss_max, s->end.have_rss);
	fputs(", \"rss_max_t_ns\": ", o);
	json_u64_or_null(o, s->rss_max_ns, s->end.have_rss);
	fputs(", \"lazyfree_t_ns\": ", o);
	json_u64_or_null(o, s->lazyfree_last_ns, s->end.have_smaps);
	fputs(", \"lazyfree_max_bytes\": ", o);
	json_u64_or_null(o, s->lazyfree_max, s->end.have_smaps);
	fprintf(o,
		",\n    \"released_bytes\": %" PRIu64 ", \"rereleased_bytes\": %" PRIu64
		", \"escalated_bytes\": %" PRIu64 ", \"recommitted_bytes\": %" PRIu64
		", \"hugepage_over_released_bytes\": %" PRIu64 ", \"released_thp_bytes\": %" PRIu64
		", \"fault_growth_bytes\": %" PRIu64 ", \"learned_bytes\": %" PRIu64 ",\n",
		s->released_fresh, s->rereleased, s->escalated, s->recommitted, s->hp_released,
		s->released_thp, s->fault_growth, s->filled);
	fprintf(o,
		"    \"reclaim\": {\"records\": %" PRIu64 ", \"sample_drops\": %" PRIu64
		", \"bytes\": %" PRIu64 ", \"swap_growth_bytes\": %" PRIu64 ", \"first_t_ns\": ",
		s->reclaim_records, s->sample_drops, s->reclaimed_bytes, s->swap_growth);
	json_u64_or_null(o, s->first_reclaim_ns, s->reclaim_records + s->sample_drops > 0);
	fputs(", \"last_t_ns\": ", o);
	json_u64_or_null(o, s->last_reclaim_ns, s->reclaim_records + s->sample_drops > 0);
	fputs("},\n", o);
	json_calls(rp);
	json_rss_at_calls(rp);
	fprintf(o,
		"    \"lost_events\": %" PRIu64 ", \"records\": %" PRIu64
		", \"unknown_records\": %" PRIu64 ", \"inconsistent_records\": %" PRIu64
		", \"after_exit_records\": %" PRIu64 ", \"partial_calls\": %" PRIu64
		", \"rss_records\": %" PRIu64 ", \"smaps_records\": %" PRIu64
		", \"processes\": %" PRIu32 ", \"regions\": %" PRIu64 ", \"info_records\": %" PRIu64
		", \"stack_records\": %" PRIu64 ",\n",
		s->lost_events, s->records, s->unknown_records, s->inconsistent,
		s->after_exit_records, s->partial_calls, s->rss_records, s->smaps_records,
		s->processes, s->regions, s->info_records, s->stack_records);
	fprintf(o, "    \"target\": {\"pid\": %" PRIu32 ", \"comm\": ", s->target_pid);
	json_str(o, s->target_comm);
	fprintf(o, ", \"exited\": %s, \"exit_status\": ", s->target_exited ? "true" : "false");
	if (s->target_exited)
		fprintf(o, "%" PRId32, s->target_status);
	else
		fputs("null", o);
	fputs(", \"exit_t_ns\": ", o);
	json_u64_or_null(o, s->target_exit_ns, s->target_exited);
	fputs(", \"go_version\": ", o);
	if (s->go_version[0])
		json_str(o, s->go_version);
	else
		fputs("null", o);
	fputs(", \"godebug\": ", o);
	if (s->godebug_known)
		json_str(o, s->godebug);
	else
		fputs("null", o);
	fputs("},\n    \"verdict\": \"", o);
	for (size_t i = 0; i < nf; i++) {
		/* one string: the findings joined by newlines */
		char *q = NULL;
		size_t ql = 0;
		FILE *m = open_memstream(&q, &ql);

		if (!m)
			break;
		json_str(m, f[i].text);
		fclose(m);
		if (ql >= 2)
			fprintf(o, "%s%.*s", i ? "\\n" : "", (int)(ql - 2), q + 1);
		free(q);
	}
	fputs("\",\n    \"findings\": [", o);
	for (size_t i = 0; i < nf; i++) {
		fprintf(o, "%s\n      {\"kind\": ", i ? "," : "");
		json_str(o, f[i].kind);
		fputs(", \"text\": ", o);
		json_str(o, f[i].text);
		fputc('}', o);
	}
	fputs(nf ? "\n    ]\n  },\n" : "]\n  },\n", o);

	fprintf(o, "  \"interval_ns\": %" PRIu64 ",\n  \"timeline\": [", riv);
	for (size_t i = 0; i < nrows; i++) {
		fputs(i ? ",\n    {" : "\n    {", o);
		json_gauges(rp, &rows[i]);
		fputc('}', o);
	}
	fputs(nrows ? "\n  ],\n" : "],\n", o);
	json_releasers(rp);
	json_regions(rp);
	fputs("}\n", o);
	free(rows);
	return 0;
}

static void csv_u64(FILE *o, uint64_t v, bool known)
{
	if (known)
		fprintf(o, ",%" PRIu64, v);
	else
		fputc(',', o);
}

static int render_csv(struct report *rp)
{
	size_t n;
	struct mt_gauges *rows = pick_rows(rp, row_interval(rp), &n);
	FILE *o = rp->out;

	if (!rows)
		return -ENOMEM;
	fputs("t_ns,t_s,rss_bytes,rss_anon_bytes,rss_file_bytes,rss_shmem_bytes,swap_bytes,"
	      "rss_peak_bytes,lazyfree_bytes,smaps_rss_bytes,reserved_bytes,committed_bytes,"
	      "released_lazy_bytes,released_eager_bytes,calls,madv_free_calls,madv_free_bytes,"
	      "madv_dontneed_calls,madv_dontneed_bytes,munmap_calls,munmap_bytes,hugepage_calls,"
	      "reclaimed_bytes\n",
	      o);
	for (size_t i = 0; i < n; i++) {
		const struct mt_gauges *g = &rows[i];
		uint64_t d = t_rel(rp, g->t_ns);

		fprintf(o, "%" PRIu64 ",%" PRIu64 ".%06" PRIu64, g->t_ns, d / 1000000000,
			d / 1000 % 1000000);
		csv_u64(o, mt_gauges_rss(g), g->have_rss);
		csv_u64(o, g->rss_anon, g->have_rss);
		csv_u64(o, g->rss_file, g->have_rss);
		csv_u64(o, g->rss_shmem, g->have_rss);
		csv_u64(o, g->swap, g->have_rss);
		csv_u64(o, g->rss_peak, g->have_rss);
		csv_u64(o, g->lazyfree, g->have_smaps);
		csv_u64(o, g->smaps_rss, g->have_smaps);
		fprintf(o,
			",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			",%" PRIu64 "\n",
			g->state[MT_RS_RESERVED], g->state[MT_RS_COMMITTED], g->state[MT_RS_LAZY],
			g->state[MT_RS_EAGER], g->calls, g->free_calls, g->free_bytes,
			g->dontneed_calls, g->dontneed_bytes, g->munmap_calls, g->munmap_bytes,
			g->hugepage_calls, g->reclaimed_bytes);
	}
	free(rows);
	return 0;
}

/* ---- perfetto (Chrome trace-event JSON) ---- */

static void ts_us(FILE *o, uint64_t t)
{
	fprintf(o, "%" PRIu64 ".%03" PRIu64, t / 1000, t % 1000);
}

static void event_sep(struct report *rp, FILE *o)
{
	fputs(rp->nevents++ ? ",\n" : "\n", o);
}

static void burst_name(FILE *o, const struct burst *b)
{
	const struct mt_type_info *ti = mt_type_info(b->type);
	const char *an = mt_advice_name(b->advice);

	if (b->type == MT_MADVISE) {
		if (an)
			fprintf(o, "\"madvise %s\"", an);
		else
			fprintf(o, "\"madvise %d\"", b->advice);
	} else {
		json_str(o, ti ? ti->name : "?");
	}
}

static void burst_flush(struct report *rp, struct burst *b)
{
	FILE *o = rp->events;
	const struct mt_type_info *ti = mt_type_info(b->type);
	char buf[160];

	if (!b->open)
		return;
	b->open = false;
	event_sep(rp, o);
	fputs("{\"name\": ", o);
	burst_name(o, b);
	fputs(", \"cat\": ", o);
	json_str(o, ti ? ti->name : "?");
	fprintf(o, ", \"pid\": %" PRIu32 ", \"tid\": %" PRIu32 ", \"ts\": ", b->pid, b->tid);
	ts_us(o, b->first_ns);
	if (b->calls == 1) {
		fprintf(o,
			", \"ph\": \"i\", \"s\": \"t\", \"args\": {\"addr\": \"0x%" PRIx64
			"\", \"len\": %" PRIu64 ", \"ret\": ",
			b->addr, b->len);
		if (mt_ret_is_err(b->ret)) {
			const char *en = mt_errno_name((int)-b->ret);

			json_str(o, en ? en : "error");
		} else if (b->type == MT_MMAP || b->type == MT_MREMAP || b->type == MT_BRK) {
			fprintf(o, "\"0x%" PRIx64 "\"", (uint64_t)b->ret);
		} else {
			fprintf(o, "%" PRId64, b->ret);
		}
		if (b->type == MT_MMAP || b->type == MT_MPROTECT) {
			fputs(", \"prot\": ", o);
			json_str(o, mt_prot_str(buf, sizeof(buf), b->prot));
		}
		if (b->type == MT_MMAP) {
			fputs(", \"flags\": ", o);
			json_str(o, mt_mmap_flags_str(buf, sizeof(buf), b->flags));
		}
		if (b->stack_id)
			fprintf(o, ", \"stack_id\": %" PRIu32, b->stack_id);
		fputs("}}", o);
		return;
	}
	fputs(", \"ph\": \"X\", \"dur\": ", o);
	/* at least 1 us, so the slice can be seen and clicked */
	ts_us(o, b->last_ns - b->first_ns > 1000 ? b->last_ns - b->first_ns : 1000);
	fprintf(o,
		", \"args\": {\"calls\": %" PRIu64 ", \"errors\": %" PRIu64 ", \"bytes\": %" PRIu64
		", \"first_addr\": \"0x%" PRIx64 "\"",
		b->calls, b->errors, b->bytes, b->addr);
	if (b->stack_id)
		fprintf(o, ", \"stack_id\": %" PRIu32, b->stack_id);
	fputs("}}", o);
}

static struct burst *burst_slot(struct report *rp, uint32_t tid)
{
	size_t i;

	if ((rp->nbursts + 1) * 2 > rp->capbursts) {
		size_t cap = rp->capbursts ? rp->capbursts * 2 : 64;
		struct burst *nb = calloc(cap, sizeof(*nb));

		if (!nb)
			return NULL;
		for (size_t j = 0; j < rp->capbursts; j++) {
			if (!rp->bursts[j].used)
				continue;
			for (i = rp->bursts[j].tid & (cap - 1); nb[i].used; i = (i + 1) & (cap - 1))
				;
			nb[i] = rp->bursts[j];
		}
		free(rp->bursts);
		rp->bursts = nb;
		rp->capbursts = cap;
	}
	for (i = tid & (rp->capbursts - 1); rp->bursts[i].used; i = (i + 1) & (rp->capbursts - 1))
		if (rp->bursts[i].tid == tid)
			return &rp->bursts[i];
	rp->bursts[i].used = true;
	rp->bursts[i].tid = tid;
	rp->nbursts++;
	return &rp->bursts[i];
}

static void perfetto_name(struct report *rp, uint32_t pid, const char *comm)
{
	struct pname *n;

	for (size_t i = 0; i < rp->nnames; i++) {
		if (rp->names[i].pid == pid) {
			memcpy(rp->names[i].comm, comm, MT_COMM_LEN);
			rp->names[i].comm[MT_COMM_LEN - 1] = '\0';
			return;
		}
	}
	n = realloc(rp->names, (rp->nnames + 1) * sizeof(*n));
	if (!n)
		return; /* a missing name is cosmetic */
	rp->names = n;
	n[rp->nnames].pid = pid;
	memcpy(n[rp->nnames].comm, comm, MT_COMM_LEN);
	n[rp->nnames].comm[MT_COMM_LEN - 1] = '\0';
	rp->nnames++;
}

static void perfetto_instant(struct report *rp, const struct mt_hdr *h, const char *name,
			     const char *scope)
{
	FILE *o = rp->events;

	event_sep(rp, o);
	fputs("{\"name\": ", o);
	json_str(o, name);
	fprintf(o,
		", \"cat\": \"madvtrace\", \"ph\": \"i\", \"s\": \"%s\", \"pid\": %" PRIu32
		", \"tid\": %" PRIu32 ", \"ts\": ",
		scope, h->pid, h->tid);
	ts_us(o, h->t_ns);
}

static int perfetto_record(struct report *rp, const struct mt_hdr *h)
{
	struct burst *b;
	uint64_t addr = 0, len = 0, bytes = 0;
	int64_t ret = 0;
	uint32_t prot = 0, flags = 0;
	int32_t advice = -1;
	bool ok;

	switch (h->type) {
	case MT_MMAP: {
		const struct mt_mmap *m = (const void *)h;

		addr = m->addr, len = m->len, ret = m->ret, prot = m->prot, flags = m->flags;
		ok = !mt_ret_is_err(ret);
		break;
	}
	case MT_MUNMAP: {
		const struct mt_munmap *m = (const void *)h;

		addr = m->addr, len = m->len, ret = m->ret;
		ok = !ret;
		break;
	}
	case MT_MREMAP: {
		const struct mt_mremap *m = (const void *)h;

		addr = m->old_addr, len = m->new_len, ret = m->ret, flags = m->flags;
		ok = !mt_ret_is_err(ret);
		break;
	}
	case MT_MADVISE: {
		const struct mt_madvise *m = (const void *)h;

		addr = m->addr, len = m->len, ret = m->ret, advice = m->advice;
		ok = h->flags & MT_F_PROCESS_MADVISE ? ret >= 0 : !ret;
		break;
	}
	case MT_BRK: {
		const struct mt_brk *m = (const void *)h;

		addr = m->addr, ret = m->ret;
		ok = !m->addr || (uint64_t)m->ret == m->addr;
		break;
	}
	case MT_MPROTECT: {
		const struct mt_mprotect *m = (const void *)h;

		addr = m->addr, len = m->len, ret = m->ret, prot = m->prot;
		ok = !ret;
		break;
	}
	case MT_RSS: {
		const struct mt_rss *r = (const void *)h;

		if (r->reason != MT_RSS_RECLAIM)
			return 0;
		perfetto_instant(rp, h, "reclaim", "p");
		fprintf(rp->events,
			", \"args\": {\"rss_anon\": %" PRIu64 ", \"rss_file\": %" PRIu64
			", \"rss_shmem\": %" PRIu64 ", \"swap\": %" PRIu64 "}}",
			(uint64_t)r->anon, (uint64_t)r->file, (uint64_t)r->shmem,
			(uint64_t)r->swap);
		return 0;
	}
	case MT_TASK: {
		const struct mt_task *k = (const void *)h;
		static const char *const ev[] = {NULL,	 "attach", "launch",	  "fork",  "clone",
						 "exec", "exit",   "thread exit", "detach"};

		if (k->event == MT_TASK_ATTACH || k->event == MT_TASK_LAUNCH ||
		    k->event == MT_TASK_EXEC)
			perfetto_name(rp, h->pid, k->comm);
		if (k->event < 1 || k->event > 8 || k->event == MT_TASK_CLONE ||
		    k->event == MT_TASK_THREAD_EXIT)
			return 0;
		perfetto_instant(rp, h, ev[k->event], "p");
		fprintf(rp->events,
			", \"args\": {\"other_pid\": %" PRIu32 ", \"code\": %" PRId32 "}}",
			k->other_pid, k->code);
		return 0;
	}
	case MT_LOST: {
		const struct mt_lost *l = (const void *)h;

		perfetto_instant(rp, h, "events lost", "g");
		fprintf(rp->events, ", \"args\": {\"count\": %" PRIu64 "}}", (uint64_t)l->count);
		return 0;
	}
	default:
		return 0;
	}
	if (ok)
		bytes = len;
	b = burst_slot(rp, h->tid);
	if (!b)
		return -ENOMEM;
	if (b->open && (b->pid != h->pid || b->type != h->type || b->advice != advice ||
			b->stack_id != h->stack_id || h->t_ns - b->last_ns > BURST_GAP_NS ||
			h->t_ns < b->last_ns))
		burst_flush(rp, b);
	if (!b->open) {
		b->open = true;
		b->pid = h->pid;
		b->type = h->type;
		b->advice = advice;
		b->stack_id = h->stack_id;
		b->first_ns = h->t_ns;
		b->calls = b->errors = b->bytes = 0;
		b->addr = addr;
		b->len = len;
		b->ret = ret;
		b->prot = prot;
		b->flags = flags;
	}
	b->last_ns = h->t_ns;
	b->calls++;
	b->errors += !ok;
	b->bytes += bytes;
	return ferror(rp->events) ? -EIO : 0;
}

static void counter(struct report *rp, const char *name, uint32_t pid, uint64_t t, uint64_t v)
{
	FILE *o = rp->out;

	event_sep(rp, o);
	fputs("{\"name\": ", o);
	json_str(o, name);
	fprintf(o,
		", \"cat\": \"gauge\", \"ph\": \"C\", \"pid\": %" PRIu32 ", \"tid\": %" PRIu32
		", \"ts\": ",
		pid, pid);
	ts_us(o, t);
	fprintf(o, ", \"args\": {\"bytes\": %" PRIu64 "}}", v);
}

/*
 * What the stack_id of the call events stands for: who released, and the
 * function that says so (or the innermost one that has a name).
 */
static void perfetto_stacks(struct report *rp)
{
	struct mt_rel_stack st;
	FILE *o = rp->out;

	fputs(", \"release_stacks\": [", o);
	for (size_t i = 0; mt_releasers__stack_at(rp->rel, i, &st); i++) {
		const char *fn = NULL;

		if (st.decisive >= 0)
			fn = mt_releasers__frame(rp->rel, &st, (uint32_t)st.decisive, NULL);
		for (uint32_t j = 0; !fn && j < st.nframes; j++)
			fn = mt_releasers__frame(rp->rel, &st, j, NULL);
		fprintf(o,
			"%s{\"pid\": %" PRIu32 ", \"stack_id\": %" PRIu32
			", \"releaser\": \"%s\", \"function\": ",
			i ? ", " : "", st.pid, st.stack_id, mt_releaser_key(st.who));
		json_str_or_null(o, fn);
		fputc('}', o);
	}
	fputc(']', o);
}

static int render_perfetto(struct report *rp)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	const struct mt_file_info *fi = rp->info;
	size_t n;
	const struct mt_gauges *g = mt_timeline__samples(rp->tl, &n);
	uint32_t pid = s->target_pid;
	FILE *o = rp->out;
	char buf[65536];
	size_t got;

	for (size_t i = 0; i < rp->capbursts; i++)
		burst_flush(rp, &rp->bursts[i]);
	if (fflush(rp->events) || ferror(rp->events))
		return -EIO;
	fputs("{\"displayTimeUnit\": \"ms\", \"otherData\": {\"producer\": \"madvtrace report\", "
	      "\"trace\": ",
	      o);
	json_str(o, rp->path);
	fputs(", \"target\": ", o);
	json_str(o, hdr_str(fi->target));
	fputs(", \"counters\": \"bytes, summed over the traced processes\"", o);
	perfetto_stacks(rp);
	fputs("},\n\"traceEvents\": [", o);
	/* the staged call events: each already starts with its separator */
	rewind(rp->events);
	while ((got = fread(buf, 1, sizeof(buf), rp->events)) > 0)
		fwrite(buf, 1, got, o);
	if (ferror(rp->events))
		return -EIO;
	for (size_t i = 0; i < rp->nnames; i++) {
		for (int k = 0; k < 2; k++) {
			event_sep(rp, o);
			fprintf(o,
				"{\"name\": \"%s\", \"ph\": \"M\", \"pid\": %" PRIu32
				", \"tid\": %" PRIu32 ", \"args\": {\"name\": ",
				k ? "thread_name" : "process_name", rp->names[i].pid,
				rp->names[i].pid);
			json_str(o, rp->names[i].comm);
			fputs("}}", o);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (g[i].have_rss) {
			counter(rp, "RSS", pid, g[i].t_ns, mt_gauges_rss(&g[i]));
			counter(rp, "RSS anon", pid, g[i].t_ns, g[i].rss_anon);
		}
		if (g[i].have_smaps) {
			counter(rp, "LazyFree", pid, g[i].t_ns, g[i].lazyfree);
			counter(rp, "Rss - LazyFree", pid, g[i].t_ns,
				g[i].smaps_rss > g[i].lazyfree ? g[i].smaps_rss - g[i].lazyfree
							       : 0);
		}
		counter(rp, "committed", pid, g[i].t_ns, g[i].state[MT_RS_COMMITTED]);
		counter(rp, "released lazily", pid, g[i].t_ns, g[i].state[MT_RS_LAZY]);
		counter(rp, "released eagerly", pid, g[i].t_ns, g[i].state[MT_RS_EAGER]);
		counter(rp, "reserved", pid, g[i].t_ns, g[i].state[MT_RS_RESERVED]);
	}
	fputs("\n]}\n", o);
	return 0;
}

/* ---- svg ---- */

#define SVG_W 1000
#define SVG_H 620
#define PX0 116.0
#define PX1 968.0
#define PY0 96.0
#define PY1 414.0
#define LANE0 456.0
#define LANE_H 16.0

struct svg_axis {
	double max;  /* the axis runs 0..max */
	double step; /* tick spacing, in axis units */
};

/* A 1-2-5 step giving about target ticks up to v (v > 0). */
static struct svg_axis nice_axis(double v, int target)
{
	double raw = v / target, mag = pow(10, floor(log10(raw))), step;
	struct svg_axis a;

	if (raw / mag <= 1)
		step = mag;
	else if (raw / mag <= 2)
		step = 2 * mag;
	else if (raw / mag <= 5)
		step = 5 * mag;
	else
		step = 10 * mag;
	a.step = step;
	a.max = ceil(v / step - 1e-9) * step;
	if (a.max <= 0)
		a.max = step;
	return a;
}

static double svg_x(const struct report *rp, double dur, uint64_t t)
{
	return PX0 + (PX1 - PX0) * ((double)t_rel(rp, t) / dur);
}

static double svg_y(double max, double v)
{
	return PY1 - (PY1 - PY0) * (v / max);
}

enum svg_series { S_RSS, S_HELD, S_LAZYFREE, S_COMMITTED, S_LAZY, S_EAGER, S_NR };

static const struct {
	const char *label, *color, *dash;
	double width;
} series[S_NR] = {
    [S_RSS] = {"RSS", "#1f4e9c", NULL, 2.6},
    [S_HELD] = {"Rss - LazyFree (really held)", "#1f4e9c", "6 4", 1.6},
    [S_LAZYFREE] = {"LazyFree (smaps_rollup)", "#e07b00", NULL, 2.2},
    [S_COMMITTED] = {"committed (model)", "#7a7a7a", NULL, 1.6},
    [S_LAZY] = {"released lazily (model)", "#e07b00", "2 3", 1.8},
    [S_EAGER] = {"released eagerly (model)", "#2a9d4b", NULL, 1.8},
};

static bool series_value(enum svg_series k, const struct mt_gauges *g, uint64_t *v)
{
	switch (k) {
	case S_RSS:
		*v = mt_gauges_rss(g);
		return g->have_rss;
	case S_HELD:
		*v = g->smaps_rss > g->lazyfree ? g->smaps_rss - g->lazyfree : 0;
		return g->have_smaps;
	case S_LAZYFREE:
		*v = g->lazyfree;
		return g->have_smaps;
	case S_COMMITTED:
		*v = g->state[MT_RS_COMMITTED];
		return true;
	case S_LAZY:
		*v = g->state[MT_RS_LAZY];
		return true;
	case S_EAGER:
		*v = g->state[MT_RS_EAGER];
		return true;
	default:
		return false;
	}
}

static const char *unit_for(double max, double *div)
{
	if (max >= 2.0 * 1024 * 1024 * 1024) {
		*div = 1024.0 * 1024 * 1024;
		return "GiB";
	}
	if (max >= 2.0 * 1024 * 1024) {
		*div = 1024.0 * 1024;
		return "MiB";
	}
	if (max >= 2.0 * 1024) {
		*div = 1024.0;
		return "KiB";
	}
	*div = 1;
	return "B";
}

static void svg_fmt_num(char *buf, size_t len, double v)
{
	if (fabs(v - round(v)) < 1e-6)
		snprintf(buf, len, "%.0f", v);
	else if (fabs(v * 10 - round(v * 10)) < 1e-6)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.2f", v);
}

/* Marks along a lane where a cumulative counter grew, merging touching marks. */
static void svg_lane(struct report *rp, FILE *o, const struct mt_gauges *g, size_t n, double dur,
		     int lane, const char *color, uint64_t (*get)(const struct mt_gauges *))
{
	double y = LANE0 + lane * (LANE_H + 6), open_x0 = -1, open_x1 = -1;

	for (size_t i = 1; i <= n; i++) {
		bool mark = i < n && get(&g[i]) > get(&g[i - 1]);
		double x0, x1;

		if (mark) {
			x0 = svg_x(rp, dur, g[i - 1].t_ns);
			x1 = svg_x(rp, dur, g[i].t_ns);
			if (x1 - x0 < 2)
				x1 = x0 + 2;
			if (open_x0 >= 0 && x0 <= open_x1 + 0.5) {
				open_x1 = x1 > open_x1 ? x1 : open_x1;
				continue;
			}
		}
		if (open_x0 >= 0)
			fprintf(o,
				"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
				"fill=\"%s\"/>\n",
				open_x0, y, open_x1 - open_x0, LANE_H, color);
		open_x0 = mark ? x0 : -1;
		open_x1 = mark ? x1 : -1;
	}
}

static uint64_t get_free(const struct mt_gauges *g)
{
	return g->free_calls;
}

static uint64_t get_dontneed(const struct mt_gauges *g)
{
	return g->dontneed_calls;
}

static uint64_t get_munmap(const struct mt_gauges *g)
{
	return g->munmap_calls;
}

static uint64_t get_reclaim(const struct mt_gauges *g)
{
	return g->reclaimed_bytes;
}

/* "; released by debug.FreeOSMemory 91%, ..." for the subtitle, when stacks were recorded */
static void svg_releasers(struct report *rp, FILE *o)
{
	const struct mt_rel_summary *rs = mt_releasers__summary(rp->rel);
	uint64_t v[MT_WHO_NR], total = 0;
	int shown = 0;

	for (int w = 0; w < MT_WHO_NR; w++)
		total += v[w] = mt_rel_released(rs->by[w], NULL);
	if (!rs->calls_with_stack || !total)
		return;
	fputs("; released by ", o);
	while (shown < 3) {
		int best = -1;

		for (int w = 0; w < MT_WHO_NR; w++)
			if (v[w] && (best < 0 || v[w] > v[best]))
				best = w;
		if (best < 0)
			break;
		fputs(shown++ ? ", " : "", o);
		xml_str(o, mt_releaser_name(best));
		fprintf(o, " %.0f%%", 100.0 * (double)v[best] / (double)total);
		v[best] = 0;
	}
}

static int render_svg(struct report *rp)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	const struct mt_gauges *e = &s->end;
	size_t n;
	const struct mt_gauges *g = mt_timeline__samples(rp->tl, &n);
	double dur = (double)(s->end_ns - s->start_ns), ymax = 0, div, tdiv;
	struct svg_axis ya, xa;
	const char *unit, *tunit;
	bool shown[S_NR] = {false};
	FILE *o = rp->out;
	char b[5][32];

	if (dur <= 0)
		dur = 1;
	for (size_t i = 0; i < n; i++) {
		for (int k = 0; k < S_NR; k++) {
			uint64_t v;

			if (!series_value(k, &g[i], &v))
				continue;
			/* a model gauge that stays 0 is only clutter (the subtitle gives it) */
			if (v || k == S_RSS || k == S_LAZYFREE || k == S_HELD)
				shown[k] = true;
			if ((double)v > ymax)
				ymax = (double)v;
		}
		if (g[i].have_rss && (double)g[i].rss_peak > ymax)
			ymax = (double)g[i].rss_peak;
	}
	unit = unit_for(ymax, &div);
	ya = nice_axis(ymax > 0 ? ymax / div : 1, 6);
	if (dur >= 2e9) {
		tdiv = 1e9;
		tunit = "s";
	} else {
		tdiv = 1e6;
		tunit = "ms";
	}
	xa = nice_axis(dur / tdiv, 10);

	fprintf(
	    o,
	    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
	    "viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
	    SVG_W, SVG_H, SVG_W, SVG_H);
	fputs("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n", o);
	/* the command name is the title; the command line, shortened, goes below */
	fputs("<text x=\"24\" y=\"28\" font-size=\"18\" font-weight=\"bold\">madvtrace: ", o);
	if (s->target_comm[0]) {
		xml_str_max(o, s->target_comm, MT_COMM_LEN);
		fputc(' ', o);
	}
	fprintf(o, "(pid %" PRIu32 ")</text>\n", s->target_pid);
	fputs("<text x=\"24\" y=\"46\" font-size=\"11\" fill=\"#666\">", o);
	xml_str_max(o, rp->info->target && *rp->info->target ? rp->info->target : "", 140);
	fputs("</text>\n", o);
	fprintf(o,
		"<text x=\"24\" y=\"64\" font-size=\"13\" fill=\"#333\">At the end%s: RSS %s, "
		"LazyFree %s, released lazily %s, released eagerly %s</text>\n",
		s->target_exited ? " (before exit)" : "",
		e->have_rss ? mt_fmt_bytes(b[0], sizeof(b[0]), mt_gauges_rss(e)) : "unknown",
		e->have_smaps ? mt_fmt_bytes(b[1], sizeof(b[1]), e->lazyfree) : "not sampled",
		mt_fmt_bytes(b[2], sizeof(b[2]), e->state[MT_RS_LAZY]),
		mt_fmt_bytes(b[3], sizeof(b[3]), e->state[MT_RS_EAGER]));
	fprintf(o,
		"<text x=\"24\" y=\"80\" font-size=\"11\" fill=\"#666\">reserved (PROT_NONE) "
		"address space, not drawn: %s at the end",
		mt_fmt_bytes(b[4], sizeof(b[4]), e->state[MT_RS_RESERVED]));
	svg_releasers(rp, o);
	fputs("</text>\n", o);

	/* grid and axes */
	for (double v = 0; v <= ya.max + ya.step / 2; v += ya.step) {
		double y = svg_y(ya.max, v);

		svg_fmt_num(b[0], sizeof(b[0]), v);
		fprintf(
		    o,
		    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n"
		    "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\">%s "
		    "%s</text>\n",
		    PX0, y, PX1, y, PX0 - 8, y + 4, b[0], unit);
	}
	for (double v = 0; v <= xa.max + xa.step / 2; v += xa.step) {
		double x = PX0 + (PX1 - PX0) * (v * tdiv / dur);

		if (x > PX1 + 0.5)
			break;
		svg_fmt_num(b[0], sizeof(b[0]), v);
		fprintf(
		    o,
		    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n"
		    "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\">%s "
		    "%s</text>\n",
		    x, PY0, x, PY1, x, PY1 + 17, b[0], tunit);
	}
	fprintf(o,
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
		"stroke=\"#444\"/>\n",
		PX0, PY0, PX1 - PX0, PY1 - PY0);
	fprintf(o,
		"<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" text-anchor=\"middle\" "
		"fill=\"#333\">time "
		"since the start of the trace</text>\n",
		(PX0 + PX1) / 2, PY1 + 33);
	fprintf(
	    o,
	    "<text x=\"18\" y=\"%.1f\" font-size=\"12\" fill=\"#333\" transform=\"rotate(-90 18 "
	    "%.1f)\" text-anchor=\"middle\">memory</text>\n",
	    (PY0 + PY1) / 2, (PY0 + PY1) / 2);

	/* series, drawn least important first */
	static const enum svg_series order[] = {S_COMMITTED, S_EAGER, S_LAZY,
						S_LAZYFREE,  S_HELD,  S_RSS};
	for (size_t oi = 0; oi < sizeof(order) / sizeof(order[0]); oi++) {
		enum svg_series k = order[oi];
		bool open = false;

		if (!shown[k])
			continue;
		for (size_t i = 0; i < n; i++) {
			uint64_t v;

			if (!series_value(k, &g[i], &v)) {
				if (open)
					fputs("\"/>\n", o);
				open = false;
				continue;
			}
			if (!open) {
				fprintf(o,
					"<polyline fill=\"none\" stroke=\"%s\" "
					"stroke-width=\"%.1f\"%s%s%s "
					"stroke-linejoin=\"round\" points=\"",
					series[k].color, series[k].width,
					series[k].dash ? " stroke-dasharray=\"" : "",
					series[k].dash ? series[k].dash : "",
					series[k].dash ? "\"" : "");
				open = true;
			}
			fprintf(o, "%.1f,%.1f ", svg_x(rp, dur, g[i].t_ns),
				svg_y(ya.max, (double)v / div));
		}
		if (open)
			fputs("\"/>\n", o);
	}
	if (s->target_exited) {
		double x = svg_x(rp, dur, s->target_exit_ns);

		fprintf(o,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#a00\" "
			"stroke-dasharray=\"3 3\"/>\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" "
			"fill=\"#a00\" text-anchor=\"end\">exit</text>\n",
			x, PY0, x, PY1, x - 3, PY0 + 12);
	}

	/* calls along the time axis */
	static const struct {
		const char *label, *color;
		uint64_t (*get)(const struct mt_gauges *);
	} lanes[] = {
	    {"MADV_FREE", "#e07b00", get_free},
	    {"MADV_DONTNEED", "#2a9d4b", get_dontneed},
	    {"munmap", "#7a7a7a", get_munmap},
	    {"reclaim", "#c0392b", get_reclaim},
	};
	for (size_t l = 0; l < sizeof(lanes) / sizeof(lanes[0]); l++) {
		double y = LANE0 + l * (LANE_H + 6);

		fprintf(
		    o,
		    "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
		    "fill=\"#f4f4f4\"/>\n"
		    "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>\n",
		    PX0, y, PX1 - PX0, LANE_H, PX0 - 8, y + 12, lanes[l].label);
		svg_lane(rp, o, g, n, dur, (int)l, lanes[l].color, lanes[l].get);
	}
	fprintf(o,
		"<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"#666\">calls that released "
		"memory, and reclaim by the kernel (rss records), over time</text>\n",
		PX0, LANE0 + 4 * (LANE_H + 6) + 10);

	/* legend */
	double lx = PX0, ly = LANE0 + 4 * (LANE_H + 6) + 34;
	for (int k = 0; k < S_NR; k++) {
		if (!shown[k])
			continue;
		if (lx > PX1 - 250) {
			lx = PX0;
			ly += 18;
		}
		fprintf(o,
			"<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			"stroke-width=\"%.1f\"%s%s%s/>\n<text x=\"%.1f\" y=\"%.1f\" "
			"font-size=\"12\">%s</text>\n",
			lx, ly, lx + 26, ly, series[k].color, series[k].width,
			series[k].dash ? " stroke-dasharray=\"" : "",
			series[k].dash ? series[k].dash : "", series[k].dash ? "\"" : "", lx + 32,
			ly + 4, series[k].label);
		lx += 44 + 7.0 * (double)strlen(series[k].label);
	}
	fputs("</svg>\n", o);
	return 0;
}

/* ---- main ---- */

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: madvtrace report [--format text|json|csv|perfetto|svg] [--interval DUR] "
	    "[-o OUT] FILE\n"
	    "  -f, --format FMT     text (default): verdict, timeline table, calls, top regions\n"
	    "                       json: summary + timeline (docs/report-format.md)\n"
	    "                       csv: the timeline with a header row\n"
	    "                       perfetto: Chrome trace-event JSON (ui.perfetto.dev, "
	    "chrome://tracing)\n"
	    "                       svg: a chart of RSS, LazyFree and the released gauges\n"
	    "  -i, --interval DUR   timeline rows every DUR (100ms, 1s, ...); default: about "
	    "20 rows\n"
	    "  -o, --output OUT     write to OUT instead of stdout\n"
	    "  -h, --help\n");
}

static int parse_args(struct report *rp, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"interval", required_argument, NULL, 'i'},
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, i;

	optind = 0; /* GNU: full re-initialisation; main may have parsed options before */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+f:i:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			for (i = 0; i < FMT_NR; i++)
				if (!strcmp(optarg, format_names[i]))
					break;
			if (i == FMT_NR) {
				fprintf(stderr,
					"madvtrace: unknown report format '%s' (text, json, csv, "
					"perfetto, svg)\n",
					optarg);
				return 2;
			}
			rp->fmt = i;
			break;
		case 'i':
			if (mt_parse_duration(optarg, &rp->interval_ns)) {
				fprintf(stderr,
					"madvtrace: bad --interval '%s' (a duration such as 100ms, "
					"2s)\n",
					optarg);
				return 2;
			}
			break;
		case 'o':
			rp->out_path = optarg;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case ':':
			fprintf(stderr, "madvtrace: report: option %s needs a value\n",
				argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr,
				"madvtrace: report: unknown option '%s' (see madvtrace report "
				"--help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr,
			"madvtrace: report: %s (usage: madvtrace report [--format FMT] "
			"[--interval DUR] [-o OUT] FILE)\n",
			optind >= argc ? "no trace file given" : "more than one trace file given");
		return 2;
	}
	rp->path = argv[optind];
	return 0;
}

static int read_trace(struct report *rp)
{
	const struct mt_hdr *rec;
	int rc, err;

	while ((rc = mt_reader__next(rp->r, &rec)) == 1) {
		/* what the model says an mmap took out of use (a PROT_NONE remap) */
		uint64_t remap = mt_timeline__summary(rp->tl)->none_remap_bytes;

		err = mt_timeline__feed(rp->tl, rec);
		remap = mt_timeline__summary(rp->tl)->none_remap_bytes - remap;
		if (!err)
			err = mt_releasers__feed(rp->rel, rec, remap);
		if (!err && rp->events)
			err = perfetto_record(rp, rec);
		if (err) {
			fprintf(stderr, "madvtrace: %s: %s\n", rp->path, strerror(-err));
			return 1;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "madvtrace: %s: %s\n", rp->path, mt_reader__error(rp->r));
		return 1;
	}
	if (mt_reader__truncated(rp->r)) {
		rp->truncated = true;
		fprintf(stderr,
			"madvtrace: warning: %s is truncated: reporting up to its last complete "
			"record (offset %" PRIu64 ")\n",
			rp->path, mt_reader__offset(rp->r));
	}
	return 0;
}

int mt_report_main(int argc, char **argv)
{
	struct report rp = {.fmt = FMT_TEXT};
	struct mt_timeline_opts to = {0};
	char err[512];
	int ret = 1, rc;

	rc = parse_args(&rp, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	rp.r = mt_reader__open(rp.path, err, sizeof(err));
	if (!rp.r) {
		fprintf(stderr, "madvtrace: %s\n", err);
		return 1;
	}
	rp.info = mt_reader__info(rp.r);
	to.start_ns = rp.info->start_ns;
	to.clock_offset_ns = rp.info->clock_offset_ns;
	to.page_size = rp.info->page_size;
	to.target_pid = rp.info->target_pid > 0 ? (uint32_t)rp.info->target_pid : 0;
	/* the chart and counters want the fine grid; rows are regrouped from it */
	to.interval_ns = rp.fmt == FMT_SVG || rp.fmt == FMT_PERFETTO ? 0 : rp.interval_ns;
	rp.tl = mt_timeline__new(&to);
	rp.rel = mt_releasers__new();
	if (!rp.tl || !rp.rel) {
		fprintf(stderr, "madvtrace: %s\n", strerror(ENOMEM));
		goto cleanup;
	}
	if (rp.fmt == FMT_PERFETTO) {
		rp.events = tmpfile();
		if (!rp.events) {
			fprintf(stderr, "madvtrace: a temporary file for the events: %s\n",
				strerror(errno));
			goto cleanup;
		}
	}
	if (read_trace(&rp))
		goto cleanup;
	if (!mt_timeline__summary(rp.tl)->records) {
		fprintf(stderr, "madvtrace: %s: the trace has no records%s\n", rp.path,
			rp.truncated ? " (the file is cut short before the first one)" : "");
		goto cleanup;
	}
	rc = mt_timeline__finish(rp.tl);
	if (!rc)
		rc = mt_releasers__resolve(rp.rel, stderr);
	if (!rc)
		rc = releasers_finding(&rp);
	if (rc) {
		fprintf(stderr, "madvtrace: %s\n", strerror(-rc));
		goto cleanup;
	}
	if (rp.interval_ns && mt_timeline__interval_raised(rp.tl)) {
		char a[32], b[32];

		fprintf(stderr, "madvtrace: warning: --interval %s gives too many rows; using %s\n",
			mt_fmt_duration(a, sizeof(a), rp.interval_ns),
			mt_fmt_duration(b, sizeof(b), mt_timeline__interval(rp.tl)));
	}
	rp.out = rp.out_path ? fopen(rp.out_path, "w") : stdout;
	if (!rp.out) {
		fprintf(stderr, "madvtrace: %s: %s\n", rp.out_path, strerror(errno));
		goto cleanup;
	}
	switch (rp.fmt) {
	case FMT_TEXT:
		rc = render_text(&rp);
		break;
	case FMT_JSON:
		rc = render_json(&rp);
		break;
	case FMT_CSV:
		rc = render_csv(&rp);
		break;
	case FMT_PERFETTO:
		rc = render_perfetto(&rp);
		break;
	default:
		rc = render_svg(&rp);
		break;
	}
	if (!rc && (fflush(rp.out) || ferror(rp.out)))
		rc = -errno ? -errno : -EIO;
	if (rp.out != stdout && fclose(rp.out) && !rc)
		rc = -errno;
	rp.out = NULL;
	if (rc) {
		fprintf(stderr, "madvtrace: writing the report to %s: %s\n",
			rp.out_path ? rp.out_path : "stdout", strerror(-rc));
		goto cleanup;
	}
	ret = 0;
cleanup:
	if (rp.out && rp.out != stdout)
		fclose(rp.out);
	if (rp.events)
		fclose(rp.events);
	free(rp.bursts);
	free(rp.names);
	mt_releasers__free(rp.rel);
	mt_timeline__free(rp.tl);
	mt_reader__free(rp.r);
	return ret;
}
