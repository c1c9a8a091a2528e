// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Time in the timeline: the gauges sampled on a grid whose memory is
 * bounded (an automatic interval grows 1-2-5 style, a fixed one is raised
 * when it would not fit), and the gauge intervals due for a live view.
 */
#include <errno.h>
#include <stdlib.h>
#include "timeline_int.h"

#define AUTO_FIRST_NS 1000000ull /* 1 ms */
#define AUTO_MAX_SAMPLES 4096
#define FIXED_MAX_SAMPLES 65536

static void decimate(struct mt_timeline *tl)
{
	uint64_t factor = tl->auto_iv && tl->iv_is_2x ? 5 : 2;
	uint64_t niv = tl->iv * factor, peak = 0, last;
	size_t i, j = 0;

	last = tl->samples[tl->n - 1].t_ns;
	for (i = 0; i < tl->n; i++) {
		struct mt_gauges *s = &tl->samples[i];

		if (s->rss_peak > peak)
			peak = s->rss_peak;
		if ((s->t_ns - tl->t0) % niv)
			continue;
		tl->samples[j] = *s;
		tl->samples[j].rss_peak = peak;
		j++;
		peak = 0;
	}
	/* the peak of dropped trailing samples belongs to the next one */
	if (peak > tl->peak)
		tl->peak = peak;
	tl->n = j;
	if (tl->auto_iv)
		tl->iv_is_2x = !tl->iv_is_2x;
	else
		tl->raised = true;
	tl->iv = niv;
	tl->next_t = add_sat(tl->t0, mul_sat((last - tl->t0) / niv + 1, niv));
}

static int push_sample(struct mt_timeline *tl, uint64_t t)
{
	struct mt_gauges *g;
	uint64_t rss = mt_gauges_rss(&tl->cur);

	if (tl->n == tl->cap) {
		size_t cap = tl->cap ? tl->cap * 2 : 256;

		if (cap > tl->max)
			cap = tl->max;
		g = realloc(tl->samples, cap * sizeof(*g));
		if (!g)
			return -ENOMEM;
		tl->samples = g;
		tl->cap = cap;
	}
	g = &tl->samples[tl->n++];
	*g = tl->cur;
	g->t_ns = t;
	g->rss_peak = tl->peak > rss ? tl->peak : rss;
	tl->peak = rss;
	return 0;
}

/* Take the grid samples due before time t (state after records up to each grid point). */
static int advance(struct mt_timeline *tl, uint64_t t)
{
	while (t > tl->next_t && tl->next_t != UINT64_MAX) {
		uint64_t at = tl->next_t;
		int err = push_sample(tl, at);

		if (err)
			return err;
		if (tl->n >= tl->max)
			decimate(tl);
		else
			tl->next_t = add_sat(at, tl->iv);
	}
	return 0;
}

/* A live view's gauge interval is over before time t: the gauges as they are now. */
static void gauges_due(struct mt_timeline *tl, uint64_t t)
{
	if (!tl->opts.on_gauge || t <= tl->gauge_next)
		return;
	tl->opts.on_gauge(tl->opts.gauge_ctx, tl, tl->gauge_next, &tl->cur, &tl->gauge_prev);
	tl->gauge_prev = tl->cur;
	/* an idle stretch without ticks gets one line, not one per interval missed */
	tl->gauge_next = add_sat(
	    tl->gauge_next, mul_sat((t - tl->gauge_next - 1) / tl->gauge_iv + 1, tl->gauge_iv));
}

static void start(struct mt_timeline *tl, uint64_t t)
{
	tl->started = true;
	tl->t0 = tl->opts.start_ns && tl->opts.start_ns <= t ? tl->opts.start_ns : t;
	tl->last_t = tl->t0;
	tl->next_t = tl->t0; /* the first sample: the state at time zero */
	tl->gauge_next = add_sat(tl->t0, tl->gauge_iv);
	tl->sum.start_ns = tl->t0;
}

int mt_sampler__time_passes(struct mt_timeline *tl, uint64_t t)
{
	int err;

	if (!tl->started)
		start(tl, t);
	if (t < tl->last_t)
		t = tl->last_t; /* records from several CPUs may be slightly out of order */
	err = advance(tl, t);
	if (err)
		return err;
	gauges_due(tl, t);
	tl->last_t = t;
	return 0;
}

void mt_sampler__init(struct mt_timeline *tl)
{
	tl->auto_iv = !tl->opts.interval_ns;
	tl->iv = tl->opts.interval_ns ? tl->opts.interval_ns : AUTO_FIRST_NS;
	tl->max = tl->auto_iv ? AUTO_MAX_SAMPLES : FIXED_MAX_SAMPLES;
	tl->gauge_iv = tl->opts.gauges_interval_ns ? tl->opts.gauges_interval_ns : 1000000000ull;
}

int mt_sampler__finish(struct mt_timeline *tl)
{
	int err = advance(tl, tl->last_t);

	if (!err && (!tl->n || tl->samples[tl->n - 1].t_ns != tl->last_t))
		err = push_sample(tl, tl->last_t);
	return err;
}

void mt_timeline__tick(struct mt_timeline *tl, uint64_t now_ns)
{
	if (tl->err || tl->finished || !tl->started)
		return;
	if (mt_sampler__time_passes(tl, now_ns))
		tl->err = -ENOMEM;
}

const struct mt_gauges *mt_timeline__samples(const struct mt_timeline *tl, size_t *n)
{
	*n = tl->n;
	return tl->samples;
}

uint64_t mt_timeline__interval(const struct mt_timeline *tl)
{
	return tl->iv;
}

bool mt_timeline__interval_raised(const struct mt_timeline *tl)
{
	return tl->raised;
}
