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

void mt_timeline__print_gauge_header(FILE *out)
{
	fprintf(out, "%-9s %10s %10s %10s %10s %10s %10s %7s %10s %10s\n", "time", "RSS",
		"LazyFree", "committed", "rel.lazy", "rel.eager", "reserved", "calls", "released",
		"reclaimed");
}

void mt_gauges_print_row(FILE *out, const char *time, const struct mt_gauges *g,
			 const struct mt_gauges *prev)
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
	fprintf(out, "%-9s %10s %10s %10s %10s %10s %10s %7" PRIu64 " %10s %10s\n", time, c[0],
		c[1], c[2], c[3], c[4], c[5], g->calls - pcalls, c[6], c[7]);
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
	char ts[32];

	if (lg->lines % GAUGE_HEADER_EVERY == 0)
		mt_timeline__print_gauge_header(lg->out);
	gauge_time(tl, ts, sizeof(ts), t_ns);
	mt_gauges_print_row(lg->out, ts, now, prev);
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
			snprintf(label, sizeof(label), "MADV_#%d", advice);
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

