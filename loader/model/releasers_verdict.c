// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Who released it, in words: the one sentence of the verdict (kind
 * "releasers") that every report shows, made from the releasers' tallies.
 * The model decides what it says; the renderers only print findings.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include "fmt.h"
#include "releasers_verdict.h"

bool mt_releasers__any(const struct mt_rel_summary *rs)
{
	for (int w = 0; w < MT_WHO_NR; w++)
		for (int k = 0; k < MT_RC_NR; k++)
			if (rs->by[w][k].calls)
				return true;
	return false;
}

size_t mt_releasers__rank(const uint64_t *v, int n, int *order)
{
	size_t k = 0;
	bool taken[MT_WHO_NR] = { false };

	for (;;) {
		int best = -1;

		for (int w = 0; w < n && w < MT_WHO_NR; w++)
			if (v[w] && !taken[w] && (best < 0 || v[w] > v[best]))
				best = w;
		if (best < 0)
			return k;
		taken[best] = true;
		order[k++] = best;
	}
}

int mt_releasers__add_finding(struct mt_timeline *tl, const struct mt_releasers *r)
{
	const struct mt_rel_summary *rs = mt_releasers__summary(r);
	uint64_t total = 0, v[MT_WHO_NR] = {0}, c[MT_WHO_NR] = {0};
	char *text = NULL, x[32], y[32];
	struct mt_rel_group g;
	int order[MT_WHO_NR];
	size_t len = 0, nr;
	bool released;
	FILE *m;
	int err;

	if (!mt_releasers__any(rs))
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
	nr = mt_releasers__rank(v, MT_WHO_NO_STACK, order);
	for (size_t i = 0; i < nr; i++) {
		int w = order[i];

		fprintf(m, "%s %s %s in %" PRIu64 " call%s (%.0f%%)", i ? "," : "",
			mt_releaser_name(w), mt_fmt_bytes(x, sizeof(x), v[w]), c[w],
			c[w] == 1 ? "" : "s", 100.0 * (double)v[w] / (double)total);
	}
	fputc('.', m);
	/* the unwound stacks: which allocator path and which code above it */
	for (size_t i = 0; i < 3 && mt_releasers__group(r, i, &g); i++) {
		uint64_t gc, gb = mt_rel_released(g.by, &gc);

		if (!gb) {
			gb = g.by[MT_RC_MUNMAP].bytes;
			gc = g.by[MT_RC_MUNMAP].calls;
		}
		fprintf(m, "%s%s: %s in %" PRIu64 " call%s%s", i ? "; " : " By allocator and caller: ",
			g.label, mt_fmt_bytes(x, sizeof(x), gb), gc, gc == 1 ? "" : "s",
			mt_rel_released(g.by, NULL) ? "" : " (unmapped)");
	}
	if (mt_releasers__group(r, 0, &g))
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
	err = mt_timeline__add_finding(tl, "releasers", text);
	free(text);
	return err;
}

