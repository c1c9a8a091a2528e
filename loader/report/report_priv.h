/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the renderers of `madvtrace report` share: the state of one report
 * (struct report: the trace read into a timeline and the releasers) and the
 * helpers every format uses. report.c reads the trace and picks one
 * renderer: text.c, json.c, csv.c, perfetto.c or svg.c. Not installed, not
 * for the rest of madvtrace: report.h is the command's interface.
 */
#ifndef MT_REPORT_PRIV_H
#define MT_REPORT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "madvtrace/record.h"
#include "records.h"
#include "releasers.h"
#include "timeline.h"
#include "tracefile.h"

#define TOP_REGIONS 10 /* regions listed by text and json */
#define TOP_STACKS 5 /* release stacks listed by text and json */

enum mt_report_format { FMT_TEXT, FMT_JSON, FMT_CSV, FMT_PERFETTO, FMT_SVG, FMT_NR };

struct mt_perfetto;

struct report {
	const char *path;
	const char *out_path;
	const char *debug_dir; /* --debug-dir, or MADVTRACE_DEBUGINFO_PATH */
	enum mt_report_format fmt;
	uint64_t interval_ns;
	struct mt_reader *r;
	const struct mt_file_info *info;
	struct mt_timeline *tl;
	struct mt_releasers *rel;
	FILE *out;
	bool truncated;
	struct mt_perfetto *pf; /* perfetto: the call events, staged while reading */
};

/* ---- shared helpers (report.c) ---- */

/* t relative to the start of the trace (0 before it). */
uint64_t mt_report__t_rel(const struct report *rp, uint64_t t);
/* "+1.234s" relative to the start of the trace. */
char *mt_report__fmt_rel(const struct report *rp, char *buf, size_t len, uint64_t t);
/* Header strings may come from a damaged file; never a NULL. */
static inline const char *mt_report__hdr_str(const char *s)
{
	return s ? s : "";
}
/* The interval of the timeline rows: --interval, or about 20 rows. */
uint64_t mt_report__row_interval(const struct report *rp);
/*
 * The samples at every multiple of row_iv from time zero, and the end, in
 * a malloc'ed array (NULL when out of memory); rss_peak is the highest RSS
 * since the previous row.
 */
struct mt_gauges *mt_report__rows(const struct report *rp, uint64_t row_iv, size_t *nrows);

/* ---- the renderers: 0, or -errno ---- */

int mt_report__text(struct report *rp);
int mt_report__json(struct report *rp);
int mt_report__csv(struct report *rp);
int mt_report__svg(struct report *rp);

/* perfetto: events are staged in a temporary file while the trace is read. */
struct mt_perfetto *mt_perfetto__new(void);
int mt_perfetto__record(struct mt_perfetto *pf, const struct mt_hdr *rec);
int mt_report__perfetto(struct report *rp);
void mt_perfetto__free(struct mt_perfetto *pf);

#endif
