// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Timeline: per-process region models and RSS, summed into gauges, sampled
 * on a time grid whose memory is bounded, and a verdict built from what the
 * records show (and only that). This file: the lifecycle and the queries;
 * timeline_int.h says where the rest lives.
 */
#include <errno.h>
#include <stdlib.h>
#include "timeline_int.h"

struct mt_timeline *mt_timeline__new(const struct mt_timeline_opts *opts)
{
	struct mt_timeline *tl = calloc(1, sizeof(*tl));

	if (!tl)
		return NULL;
	tl->opts = *opts;
	tl->opts.target = NULL; /* not kept: the caller owns the string */
	tl->sum.target_pid = opts->target_pid;
	mt_pidmap__init(&tl->procs);
	mt_pidmap__init(&tl->facts);
	mt_pidmap__init(&tl->views);
	mt_sampler__init(tl);
	return tl;
}

static void free_findings(struct mt_timeline *tl)
{
	for (size_t i = 0; i < tl->nfindings; i++)
		free(tl->findings[i].text);
	free(tl->findings);
	tl->findings = NULL;
	tl->nfindings = 0;
}

void mt_timeline__free(struct mt_timeline *tl)
{
	if (!tl)
		return;
	mt_tlproc__free_all(tl);
	mt_tally__free(tl);
	mt_pview__free_all(tl);
	free(tl->samples);
	free_findings(tl);
	free(tl);
}

/* The end-of-trace figures that only the live models know. */
static void count_regions(struct mt_timeline *tl)
{
	const struct proc *p;
	uint64_t thp = 0;
	size_t it = 0;
	void *v;

	tl->sum.regions = 0;
	while (mt_pidmap__next(&tl->procs, &it, NULL, &v)) {
		struct mt_pview *pv;

		p = v;
		pv = mt_pview__find(tl, p->pid);
		if (pv && !pv->exited)
			mt_pview__snapshot(pv, p->rs);
		thp += mt_regions__released_thp(p->rs);
		tl->sum.regions += mt_regions__count(p->rs);
	}
	tl->sum.released_thp = thp;
}

/* The Go processes still modelled, with their last RSS (the end record). */
static void reconcile_all(struct mt_timeline *tl)
{
	size_t it = 0;
	void *v;

	while (mt_pidmap__next(&tl->procs, &it, NULL, &v))
		mt_tlgo__reconcile(tl, v);
}

int mt_timeline__finish(struct mt_timeline *tl)
{
	struct mt_summary *s = &tl->sum;
	int err;

	if (tl->finished)
		return tl->err;
	if (tl->err)
		return tl->err;
	tl->finished = true;
	if (!tl->started) {
		mt_verdict__add(tl, "empty", "The trace has no records.");
		return tl->err;
	}
	err = mt_sampler__finish(tl);
	if (err)
		return tl->err = err;
	s->end = tl->cur;
	s->end.t_ns = tl->last_t;
	s->end.rss_peak = tl->samples[tl->n - 1].rss_peak;
	s->end_ns = tl->last_t;
	count_regions(tl);
	reconcile_all(tl);
	mt_verdict__build(tl);
	return tl->err;
}

const struct mt_summary *mt_timeline__summary(const struct mt_timeline *tl)
{
	return &tl->sum;
}

int64_t mt_timeline__clock_offset(const struct mt_timeline *tl)
{
	return tl->opts.clock_offset_ns;
}

const struct mt_finding *mt_timeline__findings(const struct mt_timeline *tl, size_t *n)
{
	*n = tl->nfindings;
	return tl->findings;
}

int mt_timeline__add_finding(struct mt_timeline *tl, const char *kind, const char *text)
{
	if (!tl->finished)
		return -EINVAL;
	mt_verdict__add(tl, kind, "%s", text);
	return tl->err;
}

struct top_ctx {
	struct mt_mapping_info *out;
	size_t max, n;
};

static bool ranks_before(const struct mt_mapping_info *a, const struct mt_mapping_info *b)
{
	uint64_t ra = a->released_lazy + a->released_eager;
	uint64_t rb = b->released_lazy + b->released_eager;

	if (ra != rb)
		return ra > rb;
	if (a->pid != b->pid)
		return a->pid < b->pid;
	return a->start < b->start;
}

static int top_add(void *ctx, const struct mt_mapping_info *m)
{
	struct top_ctx *c = ctx;
	size_t i;

	if (!(m->released_lazy + m->released_eager) || !c->max)
		return 0;
	if (c->n == c->max && !ranks_before(m, &c->out[c->n - 1]))
		return 0;
	i = c->n < c->max ? c->n++ : c->n - 1;
	while (i > 0 && ranks_before(m, &c->out[i - 1])) {
		c->out[i] = c->out[i - 1];
		i--;
	}
	c->out[i] = *m;
	return 0;
}

size_t mt_timeline__top_regions(const struct mt_timeline *tl, struct mt_mapping_info *out,
				size_t max)
{
	struct top_ctx c = {.out = out, .max = max};
	size_t it = 0;
	void *v;

	while (mt_pidmap__next(&tl->procs, &it, NULL, &v))
		mt_regions__foreach_mapping(((const struct proc *)v)->rs, top_add, &c);
	for (size_t i = 0; i < tl->nretired; i++)
		top_add(&c, &tl->retired[i]);
	return c.n;
}
