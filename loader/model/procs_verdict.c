// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Which processes the verdict speaks of, and in which order: in a trace of
 * several, the ones that released the most or hold the most RSS are
 * explained in full (verdict.c), each from its own records; a launcher that
 * only started others is one line, the rest one sum. The verdict opens with
 * the process that matters, not with the first pid.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fmt.h"
#include "timeline_int.h"

#define EXPLAIN_MAX 4  /* processes explained in full */
#define LAUNCHER_MAX 3 /* launchers given their one line */

static uint64_t view_rss(const struct mt_pview *v)
{
	return v->end.have_rss ? mt_gauges_rss(&v->end) : 0;
}

static bool view_is_empty(const struct mt_pview *v)
{
	return !v->seen;
}

static char *fmt_who(const struct mt_pview *v, char *buf, size_t len)
{
	if (v->comm[0])
		snprintf(buf, len, "pid %" PRIu32 " (%s)", v->pid, v->comm);
	else
		snprintf(buf, len, "pid %" PRIu32, v->pid);
	return buf;
}

/* "released 8.0 MiB (RSS 9.0 MiB at its end)" */
static char *fmt_share(const struct mt_pview *v, char *buf, size_t len)
{
	char a[32], b[32];

	snprintf(buf, len, "released %s (RSS %s at its end)",
		 mt_fmt_bytes(a, sizeof(a), mt_pview__released(v)),
		 v->end.have_rss ? mt_fmt_bytes(b, sizeof(b), view_rss(v)) : "unknown");
	return buf;
}

/*
 * Which processes are explained: those that released a tenth of all that was
 * released, up to 3, most first; then those that hold a tenth of the RSS at
 * their ends; the first one always. The rest: launchers one line each, the
 * others summed.
 */
static size_t pick(const struct mt_pview **all, size_t n, const struct mt_pview **out)
{
	uint64_t rel = 0, rss = 0;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		rel += mt_pview__released(all[i]);
		rss += view_rss(all[i]);
	}
	for (size_t i = 0; i < n && k < 3; i++)
		if (mt_pview__released(all[i]) && mt_pview__released(all[i]) * 10 >= rel)
			out[k++] = all[i];
	for (size_t i = 0; i < n && k < EXPLAIN_MAX; i++) {
		bool taken = false;

		for (size_t j = 0; j < k; j++)
			taken |= out[j] == all[i];
		if (!taken && view_rss(all[i]) && view_rss(all[i]) * 10 >= rss)
			out[k++] = all[i];
	}
	if (!k && n)
		out[k++] = all[0];
	/* in the order of what they released (all[] is), so the list reads top down */
	for (size_t i = 1; i < k; i++)
		for (size_t j = i;
		     j > 0 && mt_pview__released(out[j]) == mt_pview__released(out[j - 1]) &&
		     view_rss(out[j]) > view_rss(out[j - 1]);
		     j--) {
			const struct mt_pview *t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return k;
}

static bool picked(const struct mt_pview *const *ex, size_t k, const struct mt_pview *v)
{
	for (size_t j = 0; j < k; j++)
		if (ex[j] == v)
			return true;
	return false;
}

static void verdict_processes(struct mt_timeline *tl, const struct mt_pview **all, size_t n,
			      const struct mt_pview **ex, size_t k)
{
	char list[1024] = "", who[64], share[96], a[32], b[32];
	uint64_t rest_rel = 0, rest_rss = 0;
	size_t off = 0, rest = 0, launchers = 0;

	for (size_t j = 0; j < k && off < sizeof(list); j++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s %s", j ? "; " : "",
					fmt_who(ex[j], who, sizeof(who)),
					fmt_share(ex[j], share, sizeof(share)));
	for (size_t i = 0; i < n; i++) {
		const struct mt_pview *v = all[i];

		if (picked(ex, k, v))
			continue;
		if (v->children && launchers < LAUNCHER_MAX) {
			launchers++;
			continue;
		}
		rest++;
		rest_rel += mt_pview__released(v);
		rest_rss += view_rss(v);
	}
	mt_verdict__add(tl, "processes",
			"%zu processes were traced. Explained below, in order of the memory they "
			"released: %s.",
			n, list);
	launchers = 0;
	for (size_t i = 0; i < n; i++) {
		const struct mt_pview *v = all[i];

		if (picked(ex, k, v) || !v->children || launchers++ >= LAUNCHER_MAX)
			continue;
		if (mt_pview__released(v))
			snprintf(share, sizeof(share), "released %s",
				 mt_fmt_bytes(a, sizeof(a), mt_pview__released(v)));
		else
			snprintf(share, sizeof(share), "released nothing");
		mt_verdict__add(
		    tl, "launcher",
		    "%s started %" PRIu32 " process%s and %s itself (RSS %s at its end).",
		    fmt_who(v, who, sizeof(who)), v->children, v->children == 1 ? "" : "es", share,
		    v->end.have_rss ? mt_fmt_bytes(b, sizeof(b), view_rss(v)) : "unknown");
	}
	if (rest)
		mt_verdict__add(
		    tl, "processes",
		    "The other %zu process%s released %s in all (RSS %s at their ends).", rest,
		    rest == 1 ? "" : "es", mt_fmt_bytes(a, sizeof(a), rest_rel),
		    mt_fmt_bytes(b, sizeof(b), rest_rss));
}

void mt_verdict__build(struct mt_timeline *tl)
{
	const struct mt_pview **all = NULL, *ex[EXPLAIN_MAX];
	size_t n, m = 0, k;

	mt_verdict__scope(tl);
	n = mt_pview__sorted(tl, &all);
	if (!all) {
		tl->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < n; i++) /* a pid known only from an info record */
		if (!view_is_empty(all[i]))
			all[m++] = all[i];
	k = pick(all, m, ex);
	if (m > 1)
		verdict_processes(tl, all, m, ex, k);
	for (size_t j = 0; j < k; j++) {
		char who[64];

		if (m > 1) {
			snprintf(tl->vprefix, sizeof(tl->vprefix),
				 "%s: ", fmt_who(ex[j], who, sizeof(who)));
			tl->vpid = ex[j]->pid;
		}
		mt_verdict__explain(tl, ex[j]);
	}
	tl->vprefix[0] = '\0';
	tl->vpid = 0;
	/* Go processes not explained above still get their reconciliation */
	for (size_t i = 0; i < m; i++)
		if (!picked(ex, k, all[i]))
			mt_gorecon__verdict(tl, all[i]->pid);
	mt_gorecon__left_out(tl);
	free(all);
}
