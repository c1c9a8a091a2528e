/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a live session prints from its timeline: the --gauges lines while it
 * runs, then the end-of-session table and the verdict (on stderr).
 *
 *	struct mt_live_gauges lg = {.out = stdout};
 *	opts.on_gauge = mt_live__gauge; opts.gauge_ctx = &lg;
 *	...
 *	mt_live__print_summary(tl, stderr);
 *	mt_timeline__print_verdict(tl, stderr);
 */
#ifndef MT_LIVE_H
#define MT_LIVE_H

#include <stdio.h>
#include "timeline.h"

struct mt_live_gauges {
	FILE *out;
	unsigned int lines; /* printed so far: the header comes back every 40 */
	bool go;	    /* the last header had Go's columns (it comes back when they appear) */
};

/* An mt_gauge_fn: one line for the interval that ended at t_ns (ctx: struct mt_live_gauges). */
void mt_live__gauge(void *ctx, const struct mt_timeline *tl, uint64_t t_ns,
		    const struct mt_gauges *now, const struct mt_gauges *prev);
/* The gauge table's column header, and one row: g at time (already formatted); calls,
 * released and reclaimed counted since prev (NULL: since the start). go: with Go's
 * HeapReleased and HeapInuse columns ("-" while unknown). */
void mt_timeline__print_gauge_header(FILE *out, bool go);
void mt_gauges_print_row(FILE *out, const char *time, const struct mt_gauges *g,
			 const struct mt_gauges *prev, bool go);
/*
 * Go's numbers against the kernel's, one block per Go process (nothing
 * when there is none): the parts of HeapReleased and of RSS, as the
 * reconciliation findings say them, in columns.
 */
void mt_live__print_reconciliation(const struct mt_timeline *tl, FILE *out);

/*
 * The end-of-session table, like `strace -c`: calls, errors and bytes per
 * syscall and per advice, RSS at the start and end of the main process and
 * of all of them, records and events lost.
 */
void mt_live__print_summary(const struct mt_timeline *tl, FILE *out);
/* The verdict as indented, wrapped text (finishes the timeline if needed). */
int mt_timeline__print_verdict(struct mt_timeline *tl, FILE *out);

#endif
