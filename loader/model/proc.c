// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The timeline's process table: one region model per traced process, its
 * last RSS figures, and the last call of each of its recent threads (what an
 * rss record after a call is about).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "timeline_int.h"

/* A mapping went away: keep it if it is among the ones that released the most. */
static void retire(void *ctx, const struct mt_mapping_info *m)
{
	struct mt_timeline *tl = ctx;
	uint64_t rel = m->released_lazy + m->released_eager;
	size_t i, min = 0;

	if (!rel)
		return;
	if (tl->nretired < TOP_KEEP) {
		tl->retired[tl->nretired++] = *m;
		return;
	}
	for (i = 1; i < TOP_KEEP; i++)
		if (tl->retired[i].released_lazy + tl->retired[i].released_eager <
		    tl->retired[min].released_lazy + tl->retired[min].released_eager)
			min = i;
	if (tl->retired[min].released_lazy + tl->retired[min].released_eager < rel)
		tl->retired[min] = *m;
}

struct proc *mt_tlproc__find(struct mt_timeline *tl, uint32_t pid)
{
	return mt_pidmap__find(&tl->procs, pid);
}

struct proc *mt_tlproc__new(struct mt_timeline *tl, uint32_t pid, const struct proc *parent)
{
	struct proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	p->rs =
	    parent ? mt_regions__clone(parent->rs, pid) : mt_regions__new(pid, tl->opts.page_size);
	if (!p->rs || mt_pidmap__insert(&tl->procs, pid, p)) {
		mt_regions__free(p->rs);
		free(p);
		return NULL;
	}
	mt_regions__set_retire(p->rs, retire, tl);
	p->last_cls = MT_CL_OTHER;
	if (parent)
		memcpy(p->comm, parent->comm, sizeof(p->comm));
	tl->alive++;
	tl->sum.processes++;
	if (!tl->sum.target_pid)
		tl->sum.target_pid = pid;
	if (parent) {
		for (int s = 0; s < MT_RS_NR; s++)
			tl->cur.state[s] += mt_regions__bytes(p->rs, s);
	}
	return p;
}

void mt_tlproc__drop(struct mt_timeline *tl, struct proc *p, uint64_t t)
{
	mt_tlgo__drop(tl, p);
	for (int s = 0; s < MT_RS_NR; s++)
		tl->cur.state[s] -= mt_regions__bytes(p->rs, s);
	if (p->have_rss) {
		tl->cur.rss_anon -= p->anon;
		tl->cur.rss_file -= p->file;
		tl->cur.rss_shmem -= p->shmem;
		tl->cur.swap -= p->swap;
	}
	if (p->have_smaps) {
		tl->cur.lazyfree -= p->lazyfree;
		tl->cur.smaps_rss -= p->smaps_rss;
		tl->smaps_procs--;
		tl->cur.have_smaps = tl->smaps_procs > 0;
	}
	mt_regions__clear(p->rs, t); /* retires its mappings into the top list */
	mt_pidmap__delete(&tl->procs, p->pid);
	tl->gone[tl->gone_next++ % EXITED_KEEP] = p->pid;
	mt_regions__free(p->rs);
	free(p);
}

bool mt_tlproc__is_gone(const struct mt_timeline *tl, uint32_t pid)
{
	for (unsigned int i = 0; i < EXITED_KEEP; i++)
		if (tl->gone[i] == pid && pid)
			return true;
	return false;
}

void mt_tlproc__forget_gone(struct mt_timeline *tl, uint32_t pid)
{
	for (unsigned int i = 0; i < EXITED_KEEP; i++)
		if (tl->gone[i] == pid)
			tl->gone[i] = 0;
}

void mt_tlproc__note_call(struct proc *p, uint32_t tid, uint64_t t, enum mt_call_class cls)
{
	unsigned int i;

	p->last_cls = (uint8_t)cls;
	for (i = 0; i < TID_SLOTS; i++)
		if (p->calls[i].valid && p->calls[i].tid == tid)
			break;
	if (i == TID_SLOTS) {
		i = p->call_next;
		p->call_next = (p->call_next + 1) % TID_SLOTS;
	}
	p->calls[i] = (struct last_call){.t_ns = t, .tid = tid, .cls = (uint8_t)cls, .valid = true};
}

/*
 * The call an rss record with reason syscall follows. The recorder stamps it
 * with the call's time (and may name the process, not the thread, as tid):
 * match the time first, then the thread, else the process's last call.
 */
enum mt_call_class mt_tlproc__last_call(const struct proc *p, uint32_t tid, uint64_t t)
{
	const struct last_call *same_tid = NULL;

	for (unsigned int i = 0; i < TID_SLOTS; i++) {
		const struct last_call *c = &p->calls[i];

		if (!c->valid)
			continue;
		if (c->t_ns == t)
			return c->cls;
		if (c->tid == tid)
			same_tid = c;
	}
	return same_tid ? same_tid->cls : p->last_cls;
}

void mt_tlproc__free_all(struct mt_timeline *tl)
{
	size_t it = 0;
	void *v;

	while (mt_pidmap__next(&tl->procs, &it, NULL, &v)) {
		struct proc *p = v;

		mt_regions__free(p->rs);
		free(p);
	}
	mt_pidmap__fini(&tl->procs);
}
