// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A live session's text: gauge lines, the end-of-session table, the verdict. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include "fmt.h"
#include "records.h"
#include "xlat.h"
#include "live.h"
#include "records.h"

#define GAUGE_HEADER_EVERY 40

/* ---- gauges ---- */

static void fmt_col(char *buf, size_t len, uint64_t v, bool known)
{
	if (known)
		mt_fmt_bytes(buf, len, v);
	else
		snprintf(buf, len, "-");
}

void mt_timeline__print_gauge_header(FILE *out, bool go)
{
	fprintf(out, "%-9s %10s %10s %10s %10s %10s %10s %7s %10s %10s", "time", "RSS", "LazyFree",
		"committed", "rel.lazy", "rel.eager", "reserved", "calls", "released", "reclaimed");
	if (go)
		fprintf(out, " %10s %10s", "Go.rel", "Go.inuse");
	fputc('\n', out);
}

void mt_gauges_print_row(FILE *out, const char *time, const struct mt_gauges *g,
			 const struct mt_gauges *prev, bool go)
{
	uint64_t rel = g->free_bytes + g->dontneed_bytes, prel = 0, pcalls = 0, prec = 0;
	char c[8][24];

	if (prev) {
		prel = prev->free_bytes + prev->dontneed_bytes;
		pcalls = prev->calls;
		prec = prev->reclaimed_bytes;
	}
	fmt_col(c[0], sizeof(c[0]), mt_gauges_rss(g), g->have_rss);
	fmt_col(c[1], sizeof(c[1]), g->lazyfree, g->have_smaps);
	mt_fmt_bytes(c[2], sizeof(c[2]), g->state[MT_RS_COMMITTED]);
	mt_fmt_bytes(c[3], sizeof(c[3]), g->state[MT_RS_LAZY]);
	mt_fmt_bytes(c[4], sizeof(c[4]), g->state[MT_RS_EAGER]);
	mt_fmt_bytes(c[5], sizeof(c[5]), g->state[MT_RS_RESERVED]);
	mt_fmt_bytes(c[6], sizeof(c[6]), rel - prel);
	mt_fmt_bytes(c[7], sizeof(c[7]), g->reclaimed_bytes - prec);
	fprintf(out, "%-9s %10s %10s %10s %10s %10s %10s %7" PRIu64 " %10s %10s", time, c[0],
		c[1], c[2], c[3], c[4], c[5], g->calls - pcalls, c[6], c[7]);
	if (go) {
		fmt_col(c[0], sizeof(c[0]), g->go_heap_released, g->have_go_released);
		fmt_col(c[1], sizeof(c[1]), g->go_heap_inuse, g->have_go_inuse);
		fprintf(out, " %10s %10s", c[0], c[1]);
	}
	fputc('\n', out);
}

/* Wall-clock time when the trace has the clock offset, else time since its start. */
static void gauge_time(const struct mt_timeline *tl, char *buf, size_t len, uint64_t t)
{
	int64_t off = mt_timeline__clock_offset(tl);

	if (off) {
		time_t sec = (time_t)(((int64_t)t + off) / 1000000000);
		struct tm tm;

		localtime_r(&sec, &tm);
		strftime(buf, len, "%H:%M:%S", &tm);
	} else {
		mt_fmt_rel(buf, len, t, mt_timeline__summary(tl)->start_ns);
	}
}

void mt_live__gauge(void *ctx, const struct mt_timeline *tl, uint64_t t_ns,
		    const struct mt_gauges *now, const struct mt_gauges *prev)
{
	struct mt_live_gauges *lg = ctx;
	bool go = now->have_go_released || now->have_go_inuse;
	char ts[32];

	/* Go's columns once its numbers are known: the header says so again */
	if (lg->lines % GAUGE_HEADER_EVERY == 0 || go != lg->go) {
		mt_timeline__print_gauge_header(lg->out, go);
		lg->go = go;
	}
	gauge_time(tl, ts, sizeof(ts), t_ns);
	mt_gauges_print_row(lg->out, ts, now, prev, go);
	fflush(lg->out);
	lg->lines++;
}

/* ---- the end-of-session table ---- */

#define NAME_W 22
#define RULE "---------------------- ---------- -------- ------------"

static void print_row(FILE *out, const char *name, const struct mt_tally *c)
{
	char size[32];

	fprintf(out, "%-*s %10" PRIu64 " %8" PRIu64 " %12s\n", NAME_W, name, c->calls, c->errors,
		mt_size_str(size, sizeof(size), c->bytes));
}

static void print_rss_row(FILE *out, const char *label, const struct mt_summary_rss *r)
{
	char a[32], b[32], c[32];

	fprintf(out, "%-*s %12s %12s %12s", NAME_W, label, mt_size_str(a, sizeof(a), r->first),
		mt_size_str(b, sizeof(b), r->last), mt_size_str(c, sizeof(c), r->peak));
	if (r->has_lazyfree)
		fprintf(out, "   (LazyFree %s)", mt_size_str(a, sizeof(a), r->lazyfree));
	fputc('\n', out);
}

void mt_live__print_summary(const struct mt_timeline *tl, FILE *out)
{
	const struct mt_summary *s = mt_timeline__summary(tl);
	struct mt_tally total = {0}, adv;
	struct mt_summary_rss rss;
	char label[48];
	bool any = false, main_rss;
	int advice;

	for (uint16_t t = 1; t < MT_TYPE_MAX; t++) {
		const struct mt_type_info *ti = mt_type_info(t);

		if (!s->delivered[t].calls || !ti)
			continue;
		if (!any) {
			fprintf(out, "%-*s %10s %8s %12s\n%s\n", NAME_W, "syscall", "calls",
				"errors", "bytes", RULE);
			any = true;
		}
		print_row(out, ti->name, &s->delivered[t]);
		total.calls += s->delivered[t].calls;
		total.errors += s->delivered[t].errors;
		total.bytes += s->delivered[t].bytes;
	}
	if (any) {
		fprintf(out, "%s\n", RULE);
		fprintf(out, "%-*s %10" PRIu64 " %8" PRIu64 "\n", NAME_W, "total", total.calls,
			total.errors);
	} else {
		fprintf(out, "no memory syscalls recorded\n");
	}

	for (size_t i = 0; mt_timeline__advice_tally(tl, i, &advice, &adv); i++) {
		const char *name = mt_advice_name(advice);

		if (!i)
			fprintf(out, "\n%-*s %10s %8s %12s\n%s\n", NAME_W, "advice", "calls",
				"errors", "bytes", RULE);
		if (!name) {
			snprintf(label, sizeof(label),
				 advice < MT_ADVICE_SLOTS - 1 ? "MADV_#%d" : "other advice",
				 advice);
			name = label;
		}
		print_row(out, name, &adv);
	}

	if (s->rss_procs) {
		fprintf(out, "\n%-*s %12s %12s %12s\n", NAME_W, "rss (anon+file+shmem)", "start",
			"end", "peak");
		main_rss = mt_timeline__rss(tl, s->first_pid, &rss);
		if (main_rss) {
			snprintf(label, sizeof(label), "pid %" PRIu32, s->first_pid);
			print_rss_row(out, label, &rss);
		}
		if (s->rss_procs > 1 || !main_rss) {
			mt_timeline__rss_total(tl, &rss);
			snprintf(label, sizeof(label), "all %" PRIu32 " processes", s->rss_procs);
			print_rss_row(out, label, &rss);
		}
	}
	fprintf(out, "\nrecords: %" PRIu64 "   events lost: %" PRIu64 "\n", s->records,
		s->lost_events);
	if (s->gostat_records) {
		fputc('\n', out);
		mt_live__print_reconciliation(tl, out);
	}
}

/* ---- Go's numbers against the kernel's ---- */

static void recon_row(FILE *out, const char *label, uint64_t v, bool known)
{
	char b[32];

	fmt_col(b, sizeof(b), v, known);
	fprintf(out, "    %-48s %10s\n", label, b);
}

static void recon_signed(FILE *out, const char *label, int64_t v)
{
	char b[40];

	b[0] = '-';
	mt_fmt_bytes(b + (v < 0), sizeof(b) - 1, v < 0 ? (uint64_t)-v : (uint64_t)v);
	fprintf(out, "    %-48s %10s\n", label, b);
}

void mt_live__print_reconciliation(const struct mt_timeline *tl, FILE *out)
{
	uint64_t t0 = mt_timeline__summary(tl)->start_ns;
	uint32_t left_out;
	size_t n;
	const struct mt_recon *rc = mt_timeline__recon(tl, &n, &left_out);
	char a[32], b[32];

	for (size_t i = 0; i < n; i++) {
		const struct mt_recon *r = &rc[i];
		bool rel = mt_recon__has(r, MT_GS_HEAP_RELEASED);

		fprintf(out, "Go's numbers against the kernel's (pid %" PRIu32 "; Go at %s, pagemap %s%s)\n",
			r->pid, mt_fmt_rel(a, sizeof(a), r->go.h.t_ns, t0), r->have_res ? "at " : "",
			r->have_res ? mt_fmt_rel(b, sizeof(b), r->res.h.t_ns, t0) : "not read");
		recon_row(out, "HeapReleased (Go)", r->go.heap_released, rel);
		if (r->have_released) {
			recon_row(out, "  released with MADV_FREE, still resident", r->lazy_resident,
				  true);
			recon_row(out, "  released with MADV_FREE, taken by the kernel",
				  r->lazy_reclaimed, true);
			recon_row(out, "  released eagerly, not touched since", r->eager_out, true);
			recon_row(out, "  mapped and never touched", r->never_touched, true);
			recon_signed(out, "  unexplained", r->unexplained);
		}
		recon_row(out, "RSS (kernel)", r->rss, r->have_rss);
		if (r->have_rss_parts) {
			recon_row(out, "  HeapInuse", r->heap_inuse, true);
			recon_row(out, "  StackInuse", r->stack_inuse, true);
			recon_row(out, "  idle heap not yet released", r->idle_kept, true);
			recon_row(out, "  released, still resident (LazyFree)", r->rss_lazyfree, true);
			recon_signed(out, "  the rest (runtime, binary, libraries, C)", r->other);
		}
		if (r->have_res && r->res.eager_present)
			recon_row(out, "(released eagerly, faulted back: in Go's figures)",
				  r->res.eager_present, true);
		if (r->partial)
			fprintf(out, "    (the pagemap pass was capped: the kernel's parts are partial)\n");
		fputc('\n', out);
	}
	if (left_out)
		fprintf(out, "(%" PRIu32 " more Go processes not reconciled)\n\n", left_out);
}

/* ---- the verdict ---- */

static void print_wrapped(FILE *out, const char *text, const char *first, const char *rest,
			  size_t width)
{
	const char *p = text, *indent = first;

	while (*p) {
		size_t avail = width - strlen(indent), len = strlen(p), cut = len;

		if (len > avail) {
			cut = avail;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (!cut) { /* one long word */
				cut = avail;
				while (p[cut] && p[cut] != ' ')
					cut++;
			}
		}
		fprintf(out, "%s%.*s\n", indent, (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
		indent = rest;
	}
}

int mt_timeline__print_verdict(struct mt_timeline *tl, FILE *out)
{
	int err = mt_timeline__finish(tl);
	const struct mt_finding *f;
	size_t n;

	if (err)
		return err;
	f = mt_timeline__findings(tl, &n);
	fprintf(out, "Verdict\n");
	for (size_t i = 0; i < n; i++)
		print_wrapped(out, f[i].text, "  * ", "    ", 79);
	return ferror(out) ? -EIO : 0;
}

