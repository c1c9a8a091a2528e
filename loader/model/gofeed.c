// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Go's own numbers (gostat records) and the pagemap passes (resident
 * records) into the timeline: the last of each per process, Go's
 * HeapReleased and HeapInuse as gauges (so the sampler keeps their series
 * in its bounded grid), and each Go process's reconciliation worked out
 * again whenever one of its figures changes.
 */
#include <string.h>
#include "timeline_int.h"

/* A record as this version knows it: a longer one cut, a shorter one zero-filled. */
static void copy_rec(void *dst, size_t size, const struct mt_hdr *rec)
{
	memset(dst, 0, size);
	memcpy(dst, rec, rec->size < size ? rec->size : size);
}

static struct mt_recon *recon_slot(struct mt_timeline *tl, uint32_t pid, bool add)
{
	for (size_t i = 0; i < tl->nrecon; i++)
		if (tl->recon[i].pid == pid)
			return &tl->recon[i];
	if (!add)
		return NULL;
	if (tl->nrecon == MT_RECON_MAX) {
		tl->recon_left_out++;
		return NULL;
	}
	memset(&tl->recon[tl->nrecon], 0, sizeof(tl->recon[0]));
	tl->recon[tl->nrecon].pid = pid;
	return &tl->recon[tl->nrecon++];
}

void mt_tlgo__reconcile(struct mt_timeline *tl, const struct proc *p)
{
	struct mt_recon *r = p->have_go ? recon_slot(tl, p->pid, false) : NULL;

	if (!r)
		return;
	r->go = p->go;
	r->res = p->res;
	r->have_res = p->have_res;
	r->gostat_records = p->gostat_records;
	r->resident_records = p->resident_records;
	r->have_rss = p->have_rss;
	r->have_smaps = p->have_smaps;
	r->rss = p->anon + p->file + p->shmem;
	r->rss_file = p->file;
	r->lazyfree = p->lazyfree;
	r->heap_candidates = p->heap_candidates;
	r->not_heap = p->not_heap;
	r->release_calls = p->release_calls;
	r->model_lazy = mt_regions__bytes(p->rs, MT_RS_LAZY);
	r->model_eager = mt_regions__bytes(p->rs, MT_RS_EAGER);
	r->t_ns = tl->last_t;
	mt_recon__compute(r);
}

/* Take p's Go gauges out of (sign -1) or into (+1) the totals. */
static void go_gauges(struct mt_timeline *tl, const struct proc *p, int sign)
{
	struct mt_gauges *g = &tl->cur;

	if (!p->have_go)
		return;
	if (p->go.have & MT_GS_HEAP_RELEASED) {
		g->go_heap_released += sign > 0 ? p->go.heap_released : -p->go.heap_released;
		tl->go_rel_procs += sign;
	}
	if (p->go.have & MT_GS_HEAP_INUSE) {
		g->go_heap_inuse += sign > 0 ? p->go.heap_inuse : -p->go.heap_inuse;
		tl->go_inuse_procs += sign;
	}
	g->have_go_released = tl->go_rel_procs > 0;
	g->have_go_inuse = tl->go_inuse_procs > 0;
}

void mt_tlgo__drop(struct mt_timeline *tl, const struct proc *p)
{
	mt_tlgo__reconcile(tl, p); /* what it was just before it went */
	go_gauges(tl, p, -1);
}

static void on_gostat(struct mt_timeline *tl, struct proc *p, const struct mt_hdr *rec)
{
	go_gauges(tl, p, -1);
	copy_rec(&p->go, sizeof(p->go), rec);
	p->have_go = true;
	p->gostat_records++;
	tl->sum.gostat_records++;
	if (p->go.have & (MT_GS_HEAP_RELEASED | MT_GS_HEAP_INUSE))
		tl->sum.any_go_numbers = true;
	go_gauges(tl, p, +1);
	recon_slot(tl, p->pid, true);
}

static void on_resident(struct mt_timeline *tl, struct proc *p, const struct mt_hdr *rec)
{
	copy_rec(&p->res, sizeof(p->res), rec);
	p->have_res = true;
	p->resident_records++;
	tl->sum.resident_records++;
	/* what the pass examined is the model now: which of its committed bytes can be heap */
	mt_recon__heap_kinds(p->rs, &p->heap_candidates, &p->not_heap);
}

void mt_tlgo__feed(struct mt_timeline *tl, struct proc *p, const struct mt_hdr *rec)
{
	if (rec->type == MT_GOSTAT)
		on_gostat(tl, p, rec);
	else
		on_resident(tl, p, rec);
	mt_tlgo__reconcile(tl, p);
}

const struct mt_recon *mt_timeline__recon(const struct mt_timeline *tl, size_t *n,
					  uint32_t *left_out)
{
	*n = tl->nrecon;
	if (left_out)
		*left_out = tl->recon_left_out;
	return tl->recon;
}
