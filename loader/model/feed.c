// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Records into the timeline: each call applied to its process's region
 * model, the gauges and the summary moved along, rss records matched with
 * the call they follow.
 */
#include <errno.h>
#include <string.h>
#include "madvtrace/advice.h"
#include "madvtrace/build.h"
#include "records.h"
#include "timeline_int.h"

static uint64_t rss_total(const struct proc *p)
{
	return p->anon + p->file + p->shmem;
}

static void count_call(struct mt_call_stats *s, bool ok, uint64_t bytes, uint64_t t)
{
	s->calls++;
	if (!ok) {
		s->errors++;
		return;
	}
	s->bytes += bytes;
	if (s->calls - s->errors == 1)
		s->first_ns = t;
	s->last_ns = t;
}

static struct mt_call_stats *advice_stats(struct mt_timeline *tl, int advice)
{
	return &tl->sum.advice[mt_advice_slot(advice)];
}

static void regions_before(const struct proc *p, uint64_t before[MT_RS_NR])
{
	for (int s = 0; s < MT_RS_NR; s++)
		before[s] = mt_regions__bytes(p->rs, s);
}

static void regions_after(struct mt_timeline *tl, const struct proc *p,
			  const uint64_t before[MT_RS_NR])
{
	for (int s = 0; s < MT_RS_NR; s++)
		tl->cur.state[s] += mt_regions__bytes(p->rs, s) - before[s];
}

static void model_result(struct mt_timeline *tl, struct mt_pview *v, int err,
			 const struct mt_rdelta *d, uint64_t t)
{
	struct mt_summary *s = &tl->sum;

	v->rereleased += d->rereleased;
	v->escalated += d->escalated;
	v->recommitted += d->recommitted;
	v->hp_released += d->hp_released;
	if (!v->first_release_ns && d->released + d->rereleased + d->escalated)
		v->first_release_ns = t;

	if (err == -ENOMEM)
		tl->err = err;
	else if (err)
		s->inconsistent++;
	s->released_fresh += d->released;
	s->rereleased += d->rereleased;
	s->escalated += d->escalated;
	s->recommitted += d->recommitted;
	s->hp_released += d->hp_released;
	s->filled += d->filled;
	if (!s->first_release_ns && d->released + d->rereleased + d->escalated)
		s->first_release_ns = t;
}

static void on_mmap(struct mt_timeline *tl, struct proc *p, struct mt_pview *v,
		    const struct mt_mmap *m, uint64_t t)
{
	bool ok = !mt_ret_is_err(m->ret);
	struct mt_rdelta d = {0};
	uint64_t before[MT_RS_NR];
	enum mt_call_class cls = MT_CL_OTHER;
	bool synth = m->h.flags & MT_F_SYNTH;
	int err;

	if (!synth)
		count_call(&tl->sum.syscall[MT_MMAP], ok, m->len, t);
	if (ok && m->h.flags & MT_F_ARGS_UNREAD) {
		tl->sum.inconsistent++; /* mapped, but where and how long is unknown */
	} else if (ok) {
		regions_before(p, before);
		err = mt_regions__mmap(p->rs, t, (uint64_t)m->ret, m->len, m->prot, m->flags, m->fd,
				       &d);
		regions_after(tl, p, before);
		model_result(tl, v, err, &d, t);
		if (d.released + d.escalated) {
			p->release_calls++;
			tl->sum.none_remap_calls++;
			tl->sum.none_remap_bytes += d.released + d.escalated;
			v->none_remap_calls++;
			v->none_remap_bytes += d.released + d.escalated;
			cls = MT_CL_NONE_REMAP;
		}
	}
	if (synth)
		return;
	if (ok) {
		tl->sum.class_calls[cls]++;
		v->class_calls[cls]++;
	}
	mt_tlproc__note_call(p, m->h.tid, m->h.t_ns, cls);
}

static void on_munmap(struct mt_timeline *tl, struct proc *p, struct mt_pview *v,
		      const struct mt_munmap *m, uint64_t t)
{
	bool ok = m->ret == 0;
	struct mt_rdelta d = {0};
	uint64_t before[MT_RS_NR];
	int err;

	count_call(&tl->sum.syscall[MT_MUNMAP], ok, m->len, t);
	count_call(&v->munmap, ok, m->len, t);
	if (ok) {
		v->class_calls[MT_CL_MUNMAP]++;
		tl->cur.munmap_calls++;
		tl->cur.munmap_bytes += m->len;
		tl->sum.class_calls[MT_CL_MUNMAP]++;
		regions_before(p, before);
		err = mt_regions__munmap(p->rs, t, m->addr, m->len, &d);
		regions_after(tl, p, before);
		model_result(tl, v, err, &d, t);
	}
	mt_tlproc__note_call(p, m->h.tid, m->h.t_ns, MT_CL_MUNMAP);
}

static void on_mremap(struct mt_timeline *tl, struct proc *p, struct mt_pview *v,
		      const struct mt_mremap *m, uint64_t t)
{
	bool ok = !mt_ret_is_err(m->ret);
	struct mt_rdelta d = {0};
	uint64_t before[MT_RS_NR];
	int err;

	count_call(&tl->sum.syscall[MT_MREMAP], ok, m->new_len, t);
	if (ok) {
		tl->sum.class_calls[MT_CL_OTHER]++;
		v->class_calls[MT_CL_OTHER]++;
		regions_before(p, before);
		err = mt_regions__mremap(p->rs, t, m->old_addr, m->old_len, (uint64_t)m->ret,
					 m->new_len, m->flags, &d);
		regions_after(tl, p, before);
		model_result(tl, v, err, &d, t);
	}
	mt_tlproc__note_call(p, m->h.tid, m->h.t_ns, MT_CL_OTHER);
}

/* What a call with this advice did, for the rss record after it. */
static enum mt_call_class advice_class(int advice)
{
	switch (mt_advice_class(advice)) {
	case MT_AC_LAZY:
		return MT_CL_FREE;
	case MT_AC_EAGER:
		return MT_CL_DONTNEED;
	case MT_AC_REMOVE:
		return MT_CL_REMOVE;
	default:
		return MT_CL_OTHER;
	}
}

static void on_madvise(struct mt_timeline *tl, struct proc *p, struct mt_pview *v,
		       const struct mt_madvise *a, uint64_t t)
{
	bool pm = a->h.flags & MT_F_PROCESS_MADVISE;
	bool ok = pm ? a->ret >= 0 : a->ret == 0;
	/* madvise(2) applies the advice to the mapped parts of a range with holes, then fails
	 * ENOMEM */
	bool applied = ok || (!pm && a->ret == -ENOMEM);
	enum mt_call_class cls = advice_class(a->advice);
	struct mt_rdelta d = {0};
	uint64_t before[MT_RS_NR];
	struct proc *tp = p;
	struct mt_pview *tv = v;
	int slot = mt_pview__adv_slot(a->advice);
	int err;

	count_call(&tl->sum.syscall[MT_MADVISE], ok, a->len, t);
	count_call(advice_stats(tl, a->advice), ok, a->len, t);
	if (slot >= 0)
		count_call(&v->adv[slot], ok, a->len, t);
	if (pm)
		tl->sum.process_madvise_records++;
	if (ok) {
		tl->sum.class_calls[cls]++;
		v->class_calls[cls]++;
		switch (mt_advice_class(a->advice)) {
		case MT_AC_LAZY:
			tl->cur.free_calls++;
			tl->cur.free_bytes += a->len;
			break;
		case MT_AC_EAGER:
		case MT_AC_REMOVE:
			tl->cur.dontneed_calls++;
			tl->cur.dontneed_bytes += a->len;
			break;
		case MT_AC_HUGEPAGE:
		case MT_AC_COLLAPSE: /* counted with the huge-page calls */
			tl->cur.hugepage_calls++;
			break;
		default:
			break;
		}
	}
	if (pm && a->target_pid != a->h.pid) {
		tp = mt_tlproc__find(tl, a->target_pid); /* only a traced target has a model */
		if (tp && tp->exited)
			tp = NULL;
		tv = tp ? mt_pview__find(tl, tp->pid) : NULL;
	}
	if (applied && tp && tv) {
		regions_before(tp, before);
		err = mt_regions__madvise(tp->rs, t, a->addr, a->len, a->advice, ok && !pm, &d);
		regions_after(tl, tp, before);
		model_result(tl, tv, err, &d, t);
		if (cls == MT_CL_FREE || cls == MT_CL_DONTNEED || cls == MT_CL_REMOVE)
			tp->release_calls++;
		if (!ok) {
			tl->sum.partial_calls++;
			tl->sum.partial_released += d.released + d.rereleased + d.escalated;
			tv->partial_calls++;
			tv->partial_released += d.released + d.rereleased + d.escalated;
		}
	}
	mt_tlproc__note_call(p, a->h.tid, a->h.t_ns, cls);
}

static void on_brk(struct mt_timeline *tl, struct proc *p, struct mt_pview *v,
		   const struct mt_brk *b, uint64_t t)
{
	/* brk returns the break in force: one that differs from the request is a refusal */
	bool ok = !b->addr || (uint64_t)b->ret == b->addr;
	struct mt_rdelta d = {0};
	uint64_t before[MT_RS_NR];
	int err = 0;

	if (b->ret > 0) {
		regions_before(p, before);
		err = mt_regions__brk(p->rs, t, (uint64_t)b->ret, &d);
		regions_after(tl, p, before);
		model_result(tl, v, err, &d, t);
	}
	count_call(&tl->sum.syscall[MT_BRK], ok, d.mapped + d.unmapped, t);
	if (ok && d.unmapped) /* the heap's top given back: how glibc trims */
		count_call(&v->brk_shrink, true, d.unmapped, t);
	if (ok) {
		tl->sum.class_calls[MT_CL_OTHER]++;
		v->class_calls[MT_CL_OTHER]++;
	}
	mt_tlproc__note_call(p, b->h.tid, b->h.t_ns, MT_CL_OTHER);
}

static void on_mprotect(struct mt_timeline *tl, struct proc *p, struct mt_pview *v,
			const struct mt_mprotect *m, uint64_t t)
{
	bool ok = m->ret == 0;
	struct mt_rdelta d = {0};
	uint64_t before[MT_RS_NR];
	int err;

	count_call(&tl->sum.syscall[MT_MPROTECT], ok, m->len, t);
	if (ok || m->ret == -ENOMEM) {
		regions_before(p, before);
		err = mt_regions__mprotect(p->rs, t, m->addr, m->len, m->prot, ok, &d);
		regions_after(tl, p, before);
		model_result(tl, v, err, &d, t);
	}
	if (ok) {
		tl->sum.class_calls[MT_CL_OTHER]++;
		v->class_calls[MT_CL_OTHER]++;
	}
	mt_tlproc__note_call(p, m->h.tid, m->h.t_ns, MT_CL_OTHER);
}

/* The process's own figures, as its last records give them. */
static void view_rss(struct mt_pview *v, const struct proc *p, const struct mt_rss *r, uint64_t t,
		     int64_t delta, uint64_t old_swap, bool had)
{
	struct mt_gauges *e = &v->end;

	v->rss_records++;
	e->have_rss = p->have_rss;
	e->rss_anon = p->anon;
	e->rss_file = p->file;
	e->rss_shmem = p->shmem;
	e->swap = p->swap;
	e->t_ns = t;
	if (p->have_rss && rss_total(p) > v->rss_max)
		v->rss_max = rss_total(p);
	if (r->h.flags & MT_F_SMAPS) {
		e->have_smaps = true;
		e->lazyfree = p->lazyfree;
		e->smaps_rss = p->smaps_rss;
		if (p->lazyfree >= v->lazyfree_max) {
			v->lazyfree_max = p->lazyfree;
			v->lazyfree_max_ns = t;
		}
		v->lazyfree_last_ns = t;
	}
	if (!had || !p->have_rss)
		return;
	switch (r->reason) {
	case MT_RSS_SYSCALL: {
		enum mt_call_class cls = mt_tlproc__last_call(p, r->h.tid, r->h.t_ns);

		v->rss_after[cls]++;
		if (delta < 0)
			v->rss_down[cls] += (uint64_t)-delta;
		else
			v->rss_up[cls] += (uint64_t)delta;
		break;
	}
	case MT_RSS_RECLAIM:
	case MT_RSS_SAMPLE:
	case MT_RSS_END:
		if (delta < 0) {
			if (!(v->reclaim_records + v->sample_drops))
				v->first_reclaim_ns = t;
			if (r->reason == MT_RSS_RECLAIM)
				v->reclaim_records++;
			else
				v->sample_drops++;
			v->last_reclaim_ns = t;
			v->reclaimed_bytes += (uint64_t)-delta;
			if (p->swap > old_swap)
				v->swap_growth += p->swap - old_swap;
		}
		break;
	case MT_RSS_FAULT:
		if (delta > 0 && v->first_release_ns)
			v->fault_growth += (uint64_t)delta;
		break;
	default:
		break;
	}
}

static void on_rss(struct mt_timeline *tl, struct proc *p, struct mt_pview *v,
		   const struct mt_rss *r, uint64_t t)
{
	struct mt_summary *s = &tl->sum;
	struct mt_gauges *g = &tl->cur;
	bool smaps = r->h.flags & MT_F_SMAPS;
	bool had = p->have_rss;
	uint64_t old = rss_total(p), old_swap = p->swap, now;
	int64_t delta;

	s->rss_records++;
	/* a record with only smaps_rollup values must not zero the status counters */
	if (!smaps || r->anon || r->file || r->shmem || !r->smaps_rss) {
		if (had) {
			g->rss_anon -= p->anon;
			g->rss_file -= p->file;
			g->rss_shmem -= p->shmem;
			g->swap -= p->swap;
		}
		p->anon = r->anon;
		p->file = r->file;
		p->shmem = r->shmem;
		p->swap = r->swap;
		g->rss_anon += p->anon;
		g->rss_file += p->file;
		g->rss_shmem += p->shmem;
		g->swap += p->swap;
		p->have_rss = g->have_rss = true;
	}
	if (smaps) {
		s->smaps_records++;
		if (p->have_smaps) {
			g->lazyfree -= p->lazyfree;
			g->smaps_rss -= p->smaps_rss;
		} else {
			p->have_smaps = true;
			tl->smaps_procs++;
		}
		p->lazyfree = r->lazyfree;
		p->smaps_rss = r->smaps_rss;
		g->lazyfree += p->lazyfree;
		g->smaps_rss += p->smaps_rss;
		g->have_smaps = true;
		if (g->lazyfree >= s->lazyfree_max) {
			s->lazyfree_max = g->lazyfree;
			s->lazyfree_max_ns = t;
		}
		s->lazyfree_last_ns = t;
	}
	delta = p->have_rss ? (int64_t)(rss_total(p) - old) : 0;
	view_rss(v, p, r, t, delta, old_swap, had);
	if (!p->have_rss)
		return;
	now = rss_total(p);
	if (!s->rss_first_ns && !s->rss_max) {
		s->rss_first = mt_gauges_rss(g);
		s->rss_first_ns = t;
	}
	if (mt_gauges_rss(g) > s->rss_max) {
		s->rss_max = mt_gauges_rss(g);
		s->rss_max_ns = t;
	}
	if (mt_gauges_rss(g) > tl->peak)
		tl->peak = mt_gauges_rss(g);
	if (!had)
		return;
	delta = (int64_t)(now - old);
	switch (r->reason) {
	case MT_RSS_SYSCALL: {
		enum mt_call_class cls = mt_tlproc__last_call(p, r->h.tid, r->h.t_ns);

		s->rss_after[cls]++;
		if (delta < 0)
			s->rss_down[cls] += (uint64_t)-delta;
		else
			s->rss_up[cls] += (uint64_t)delta;
		break;
	}
	case MT_RSS_RECLAIM:
	case MT_RSS_SAMPLE:
	case MT_RSS_END:
		/*
		 * A fall seen outside any traced call (a call would have had its
		 * own rss record): reclaim, whether the recorder caught it as it
		 * happened or a periodic sample found it.
		 */
		if (delta < 0) {
			if (!(s->reclaim_records + s->sample_drops))
				s->first_reclaim_ns = t;
			if (r->reason == MT_RSS_RECLAIM)
				s->reclaim_records++;
			else
				s->sample_drops++;
			s->last_reclaim_ns = t;
			s->reclaimed_bytes += (uint64_t)-delta;
			g->reclaimed_bytes += (uint64_t)-delta;
			if (p->swap > old_swap)
				s->swap_growth += p->swap - old_swap;
		}
		break;
	case MT_RSS_FAULT:
		if (delta > 0 && s->first_release_ns)
			s->fault_growth += (uint64_t)delta;
		break;
	default:
		break;
	}
}

static void on_task(struct mt_timeline *tl, struct proc *p, struct mt_pview *v,
		    const struct mt_task *k, uint64_t t)
{
	struct proc *child;
	bool target = k->h.pid == tl->sum.target_pid;

	switch (k->event) {
	case MT_TASK_ATTACH:
	case MT_TASK_LAUNCH:
	case MT_TASK_EXEC:
		memcpy(p->comm, k->comm, MT_COMM_LEN);
		p->comm[MT_COMM_LEN - 1] = '\0';
		memcpy(v->comm, p->comm, MT_COMM_LEN);
		if (k->event == MT_TASK_ATTACH && !v->attached) {
			v->attached = true; /* its calls before this are not in the trace */
			v->attach_ns = t;
		}
		if (k->event == MT_TASK_EXEC)
			mt_pview__exec(v);
		if (target)
			memcpy(tl->sum.target_comm, p->comm, MT_COMM_LEN);
		if (k->event == MT_TASK_EXEC && target) {
			/* another program: its info records follow */
			tl->sum.go_version[0] = tl->sum.godebug[0] = '\0';
			tl->sum.godebug_known = tl->sum.go_env_read = false;
		}
		if (k->event == MT_TASK_EXEC) {
			uint64_t before[MT_RS_NR];

			regions_before(p, before);
			mt_regions__clear(p->rs, t); /* a new address space */
			regions_after(tl, p, before);
		}
		break;
	case MT_TASK_FORK:
		mt_tlproc__forget_gone(tl, k->other_pid); /* a pid used again */
		child = mt_tlproc__find(tl, k->other_pid);
		mt_pview__fork(tl, v, k->other_pid);
		if (child)
			break; /* its records came first; its model started empty */
		if (!mt_tlproc__new(tl, k->other_pid, p))
			tl->err = -ENOMEM;
		break;
	case MT_TASK_EXIT:
		if (target) {
			tl->sum.target_exited = true;
			tl->sum.target_status = k->code;
			tl->sum.target_exit_ns = t;
		}
		p->exited = true;
		v->exited = true;
		v->exit_ns = t;
		mt_pview__snapshot(v, p->rs);
		/*
		 * The exit teardown unmaps everything and explains nothing: the
		 * last process keeps its figures as they were just before it.
		 */
		if (tl->alive > 1)
			mt_tlproc__drop(tl, p, t);
		tl->alive--;
		break;
	default:
		break;
	}
}

/* "key=value" facts; the verdict uses what it knows about the target. */
static void on_info(struct mt_timeline *tl, const struct mt_hdr *rec)
{
	const struct mt_info *r = (const void *)rec;
	struct mt_summary *s = &tl->sum;
	size_t n = rec->size > sizeof(*r) ? rec->size - sizeof(*r) : 0;
	struct mt_pview *v;
	const char *eq;
	size_t klen;

	s->info_records++;
	n = strnlen(r->text, n);
	eq = memchr(r->text, '=', n);
	if (!eq)
		return;
	klen = (size_t)(eq - r->text);
	if (klen > 6 && !memcmp(r->text, "agent.", 6))
		tl->agent_seen = true; /* the preload agent speaks only in a preload trace */
	if (!mt_pidmap__find(&tl->views, rec->pid) && mt_tlproc__is_gone(tl, rec->pid))
		return; /* a late fact of an exited process */
	v = mt_pview__get(tl, rec->pid);
	if (!v || mt_pview__info(v, r->text, klen, eq + 1, n - klen - 1)) {
		tl->err = -ENOMEM;
		return;
	}
	if (s->target_pid && rec->pid != s->target_pid)
		return;
	eq++;
	if (klen == 10 && !memcmp(r->text, "go_version", 10)) {
		snprintf(s->go_version, sizeof(s->go_version), "%.*s", (int)(n - klen - 1), eq);
	} else if (klen == 11 && !memcmp(r->text, "env.GODEBUG", 11)) {
		snprintf(s->godebug, sizeof(s->godebug), "%.*s", (int)(n - klen - 1), eq);
		s->godebug_known = true;
	} else if (klen == 8 && !memcmp(r->text, "env_read", 8)) {
		/* the environment was read again: a GODEBUG record follows if it is set */
		s->go_env_read = true;
		s->godebug[0] = '\0';
		s->godebug_known = false;
	}
}

int mt_timeline__feed(struct mt_timeline *tl, const struct mt_hdr *rec)
{
	uint64_t t;
	struct proc *p = NULL;
	struct mt_pview *v;
	int err;

	if (tl->err)
		return tl->err;
	if (tl->finished)
		return -EINVAL;
	err = mt_sampler__time_passes(tl, rec->t_ns);
	if (err)
		return tl->err = err;
	t = tl->last_t;
	tl->sum.records++;
	/* the session table counts every record as delivered, before any is set aside */
	err = mt_tally__add(tl, rec);
	if (err)
		return tl->err = err;
	if (rec->type == MT_LOST) {
		const struct mt_lost *l = (const void *)rec;

		if (!tl->sum.lost_events)
			tl->sum.first_lost_ns = t;
		tl->sum.lost_events += l->count;
		return 0;
	}
	if (rec->type == MT_STACK) {
		tl->sum.stack_records++; /* call sites: not used by the timeline */
		return 0;
	}
	if (rec->type == MT_INFO) {
		on_info(tl, rec);
		return 0;
	}
	if (!mt_type_info(rec->type)) {
		tl->sum.unknown_records++;
		return 0;
	}
	if (rec->type == MT_USTACK || rec->type == MT_MAPPING)
		return 0; /* for the unwinder (model/releasers_us.c), not the timeline */
	p = mt_tlproc__find(tl, rec->pid);
	if ((p && p->exited) || (!p && mt_tlproc__is_gone(tl, rec->pid))) {
		tl->sum.after_exit_records++;
		return 0;
	}
	if (!p && !(p = mt_tlproc__new(tl, rec->pid, NULL)))
		return tl->err = -ENOMEM;
	v = mt_pview__get(tl, rec->pid);
	if (!v)
		return tl->err;
	v->seen = true;
	/* a synthetic mmap (the mappings found at attach) is state, not a call */
	if (rec->type >= MT_MMAP && rec->type <= MT_MPROTECT && !(rec->flags & MT_F_SYNTH)) {
		tl->cur.calls++;
		v->calls++;
	}
	switch (rec->type) {
	case MT_MMAP:
		on_mmap(tl, p, v, (const void *)rec, t);
		break;
	case MT_MUNMAP:
		on_munmap(tl, p, v, (const void *)rec, t);
		break;
	case MT_MREMAP:
		on_mremap(tl, p, v, (const void *)rec, t);
		break;
	case MT_MADVISE:
		on_madvise(tl, p, v, (const void *)rec, t);
		break;
	case MT_BRK:
		on_brk(tl, p, v, (const void *)rec, t);
		break;
	case MT_MPROTECT:
		on_mprotect(tl, p, v, (const void *)rec, t);
		break;
	case MT_RSS:
		on_rss(tl, p, v, (const void *)rec, t);
		break;
	case MT_TASK:
		on_task(tl, p, v, (const void *)rec, t);
		break;
	case MT_GOSTAT:
		v->gostat_records++;
		/* fall through */
	case MT_RESIDENT:
		mt_tlgo__feed(tl, p, rec);
		break;
	}
	return tl->err;
}

