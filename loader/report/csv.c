// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The csv report: the timeline rows with a header row, one column a gauge
 * (docs/report-format.md); an unknown value is an empty field.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include "report_priv.h"

static void csv_u64(FILE *o, uint64_t v, bool known)
{
	if (known)
		fprintf(o, ",%" PRIu64, v);
	else
		fputc(',', o);
}

int mt_report__csv(struct report *rp)
{
	size_t n;
	struct mt_gauges *rows = mt_report__rows(rp, mt_report__row_interval(rp), &n);
	FILE *o = rp->out;
	/* Go's columns only in a trace with Go's numbers: other traces' csv stays as it was */
	bool go = mt_timeline__summary(rp->tl)->any_go_numbers;

	if (!rows)
		return -ENOMEM;
	fputs("t_ns,t_s,rss_bytes,rss_anon_bytes,rss_file_bytes,rss_shmem_bytes,swap_bytes,"
	      "rss_peak_bytes,lazyfree_bytes,smaps_rss_bytes,reserved_bytes,committed_bytes,"
	      "released_lazy_bytes,released_eager_bytes,calls,madv_free_calls,madv_free_bytes,"
	      "madv_dontneed_calls,madv_dontneed_bytes,munmap_calls,munmap_bytes,hugepage_calls,"
	      "reclaimed_bytes",
	      o);
	fputs(go ? ",go_heap_released_bytes,go_heap_inuse_bytes\n" : "\n", o);
	for (size_t i = 0; i < n; i++) {
		const struct mt_gauges *g = &rows[i];
		uint64_t d = mt_report__t_rel(rp, g->t_ns);

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
			",%" PRIu64,
			g->state[MT_RS_RESERVED], g->state[MT_RS_COMMITTED], g->state[MT_RS_LAZY],
			g->state[MT_RS_EAGER], g->calls, g->free_calls, g->free_bytes,
			g->dontneed_calls, g->dontneed_bytes, g->munmap_calls, g->munmap_bytes,
			g->hugepage_calls, g->reclaimed_bytes);
		if (go) {
			csv_u64(o, g->go_heap_released, g->have_go_released);
			csv_u64(o, g->go_heap_inuse, g->have_go_inuse);
		}
		fputc('\n', o);
	}
	free(rows);
	return 0;
}

