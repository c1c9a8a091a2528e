// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The end-of-session table's figures, like `strace -c`: every call record
 * as the recorder delivered it (those of exited processes included, which
 * the model sets aside), per syscall and per advice value, and the RSS of
 * every process seen, exited ones too. Counted in the timeline's one pass;
 * printed by report/live.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "records.h"
#include "timeline_int.h"

/* What the table keeps of each process, for as long as the timeline lives. */
struct pid_facts {
	bool has_rss, has_brk;
	struct mt_summary_rss rss;
	uint64_t first_t, last_t, lazy_t; /* t_ns of rss.first, rss.last, rss.lazyfree */
	uint64_t cur;			  /* latest rss value, part of the running total */
	uint64_t brk;			  /* latest break */
};

static struct pid_facts *facts_get(struct mt_timeline *tl, uint32_t pid)
{
	struct pid_facts *f = mt_pidmap__find(&tl->facts, pid);

	if (f)
		return f;
	f = calloc(1, sizeof(*f));
	if (f && mt_pidmap__insert(&tl->facts, pid, f)) {
		free(f);
		f = NULL;
	}
	return f;
}

/*
 * A program chooses how many distinct values it passes (100,000 invalid ones
 * made this table quadratic and the summary 100,000 lines): it keeps the
 * report's slots, at most MT_ADVICE_SLOTS entries.
 */
static struct mt_tally *advice_get(struct mt_timeline *tl, int advice)
{
	struct mt_advice_tally *a;
	size_t i;

	advice = mt_advice_slot(advice);
	for (i = 0; i < tl->nadv && tl->adv[i].advice < advice; i++)
		;
	if (i < tl->nadv && tl->adv[i].advice == advice)
		return &tl->adv[i].t;
	a = realloc(tl->adv, (tl->nadv + 1) * sizeof(*a));
	if (!a)
		return NULL;
	tl->adv = a;
	memmove(&a[i + 1], &a[i], (tl->nadv - i) * sizeof(*a));
	memset(&a[i], 0, sizeof(*a));
	a[i].advice = advice;
	tl->nadv++;
	return &a[i].t;
}

static int add_rss(struct mt_timeline *tl, const struct mt_rss *r)
{
	uint64_t v = r->anon + r->file + r->shmem;
	struct pid_facts *p = facts_get(tl, r->h.pid);

	if (!p)
		return -ENOMEM;
	/* records come nearly, not strictly, in time order: first and last go by t_ns */
	if (!p->has_rss || r->h.t_ns < p->first_t) {
		p->rss.first = v;
		p->first_t = r->h.t_ns;
	}
	if (!p->has_rss || r->h.t_ns >= p->last_t) {
		p->rss.last = v;
		p->last_t = r->h.t_ns;
	}
	if (!p->has_rss) {
		p->has_rss = true;
		p->rss.peak = v;
		tl->sum.rss_procs++;
	}
	if (v > p->rss.peak)
		p->rss.peak = v;
	if ((r->h.flags & MT_F_SMAPS) && (!p->rss.has_lazyfree || r->h.t_ns >= p->lazy_t)) {
		p->lazy_t = r->h.t_ns;
		p->rss.lazyfree = r->lazyfree;
		p->rss.has_lazyfree = true;
	}
	tl->rss_total_cur = tl->rss_total_cur - p->cur + v;
	p->cur = v;
	if (tl->rss_total_cur > tl->rss_total_peak)
		tl->rss_total_peak = tl->rss_total_cur;
	return 0;
}

int mt_tally__add(struct mt_timeline *tl, const struct mt_hdr *rec)
{
	struct mt_call c;

	if (tl->sum.records == 1)
		tl->sum.first_pid = rec->pid;
	/* a synthetic mmap (the mappings found at attach) describes state, not a call */
	if (mt_record_call(rec, &c) && !(rec->flags & MT_F_SYNTH)) {
		struct mt_tally *k = &tl->sum.delivered[rec->type];
		uint64_t bytes = c.failed ? 0 : c.bytes;

		if (rec->type == MT_BRK) {
			struct pid_facts *p = facts_get(tl, rec->pid);

			if (!p)
				return -ENOMEM;
			/* brk has no length: count how far the break moved since we last saw it */
			if (p->has_brk && !c.failed)
				bytes = (uint64_t)c.ret > p->brk ? (uint64_t)c.ret - p->brk
								 : p->brk - (uint64_t)c.ret;
			p->brk = (uint64_t)c.ret;
			p->has_brk = true;
		}
		k->calls++;
		k->errors += c.failed;
		k->bytes += bytes;
		if (rec->type == MT_MADVISE) {
			const struct mt_madvise *m = (const void *)rec;
			struct mt_tally *a = advice_get(tl, m->advice);

			if (!a)
				return -ENOMEM;
			a->calls++;
			a->errors += c.failed;
			a->bytes += bytes;
		}
		return 0;
	}
	if (rec->type == MT_RSS)
		return add_rss(tl, (const void *)rec);
	return 0;
}

void mt_tally__free(struct mt_timeline *tl)
{
	size_t it = 0;
	void *f;

	while (mt_pidmap__next(&tl->facts, &it, NULL, &f))
		free(f);
	mt_pidmap__fini(&tl->facts);
	free(tl->adv);
	tl->adv = NULL;
	tl->nadv = 0;
}

bool mt_timeline__advice_tally(const struct mt_timeline *tl, size_t i, int *advice,
			       struct mt_tally *t)
{
	if (i >= tl->nadv)
		return false;
	*advice = tl->adv[i].advice;
	*t = tl->adv[i].t;
	return true;
}

bool mt_timeline__rss(const struct mt_timeline *tl, uint32_t pid, struct mt_summary_rss *out)
{
	const struct pid_facts *p = mt_pidmap__find(&tl->facts, pid);

	if (!p || !p->has_rss)
		return false;
	*out = p->rss;
	return true;
}

bool mt_timeline__rss_total(const struct mt_timeline *tl, struct mt_summary_rss *out)
{
	const struct pid_facts *p;
	size_t it = 0;
	void *v;

	memset(out, 0, sizeof(*out));
	if (!tl->sum.rss_procs)
		return false;
	while (mt_pidmap__next(&tl->facts, &it, NULL, &v)) {
		p = v;
		if (!p->has_rss)
			continue;
		out->first += p->rss.first;
		out->last += p->rss.last;
		if (p->rss.has_lazyfree) {
			out->lazyfree += p->rss.lazyfree;
			out->has_lazyfree = true;
		}
	}
	out->peak = tl->rss_total_peak;
	return true;
}
