// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The svg report: a chart of RSS, LazyFree and the model's released gauges
 * over time, with lanes marking the calls that released memory and the
 * kernel's reclaim. Text comes from the trace (a command name, a command
 * line): escaped as XML, control bytes dropped.
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "fmt.h"
#include "releasers_verdict.h"
#include "report_priv.h"

/* XML text for n bytes of s: markup characters escaped, control bytes dropped. */
static void xml_str_n(FILE *out, const char *s, size_t n)
{
	for (const unsigned char *p = (const unsigned char *)s; n--; p++) {
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

/* At most max bytes of s, cut at a character boundary with "..." added. */
static void xml_str_max(FILE *out, const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max) {
		xml_str_n(out, s, len);
		return;
	}
	while (max && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--; /* not inside a UTF-8 sequence */
	xml_str_n(out, s, max);
	fputs("...", out);
}

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
	return PX0 + (PX1 - PX0) * ((double)mt_report__t_rel(rp, t) / dur);
}

static double svg_y(double max, double v)
{
	return PY1 - (PY1 - PY0) * (v / max);
}

enum svg_series {
	S_RSS,
	S_HELD,
	S_LAZYFREE,
	S_COMMITTED,
	S_LAZY,
	S_EAGER,
	S_GO_RELEASED,
	S_GO_INUSE,
	S_NR
};

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
    [S_GO_RELEASED] = {"HeapReleased (Go)", "#8e44ad", "8 3 2 3", 1.8},
    [S_GO_INUSE] = {"HeapInuse (Go)", "#b03a6e", "1 3", 2.0},
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
	case S_GO_RELEASED:
		*v = g->go_heap_released;
		return g->have_go_released;
	case S_GO_INUSE:
		*v = g->go_heap_inuse;
		return g->have_go_inuse;
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
	int order[MT_WHO_NR];
	size_t n;

	for (int w = 0; w < MT_WHO_NR; w++)
		total += v[w] = mt_rel_released(rs->by[w], NULL);
	if (!rs->calls_with_stack || !total)
		return;
	fputs("; released by ", o);
	n = mt_releasers__rank(v, MT_WHO_NR, order);
	for (size_t i = 0; i < n && i < 3; i++) {
		const char *name = mt_releaser_name(order[i]);

		fputs(i ? ", " : "", o);
		xml_str_n(o, name, strlen(name));
		fprintf(o, " %.0f%%", 100.0 * (double)v[order[i]] / (double)total);
	}
}

int mt_report__svg(struct report *rp)
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
			if (v || k == S_RSS || k == S_LAZYFREE || k == S_HELD ||
			    k == S_GO_RELEASED || k == S_GO_INUSE)
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
	if (e->have_go_released || e->have_go_inuse)
		fprintf(o,
			"<text x=\"%d\" y=\"28\" font-size=\"13\" fill=\"#8e44ad\" "
			"text-anchor=\"end\">Go: HeapReleased %s, HeapInuse %s</text>\n",
			SVG_W - 24,
			e->have_go_released ? mt_fmt_bytes(b[0], sizeof(b[0]), e->go_heap_released)
					    : "unknown",
			e->have_go_inuse ? mt_fmt_bytes(b[1], sizeof(b[1]), e->go_heap_inuse)
					 : "unknown");
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
	static const enum svg_series order[] = {S_COMMITTED, S_EAGER,	  S_LAZY, S_LAZYFREE,
						S_GO_INUSE,  S_GO_RELEASED, S_HELD, S_RSS};
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

