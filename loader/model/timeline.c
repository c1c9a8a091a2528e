// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Timeline: per-process region models and RSS, summed into gauges, sampled
 * on a time grid whose memory is bounded, and a verdict built from what the
 * records show (and only that).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "decode.h"
#include "goinfo.h"
#include "timeline.h"

#define AUTO_FIRST_NS 1000000ull /* 1 ms */
#define AUTO_MAX_SAMPLES 4096
#define FIXED_MAX_SAMPLES 65536
#define TOP_KEEP 16
#define TID_SLOTS 8
#define GAUGE_HEADER_EVERY 40
#define EXITED_KEEP 64

/* madvise advice values (uapi); libc headers may lack the newer ones */
enum {
	ADV_DONTNEED = 4,
	ADV_FREE = 8,
	ADV_REMOVE = 9,
	ADV_HUGEPAGE = 14,
	ADV_NOHUGEPAGE = 15,
	ADV_DONTNEED_LOCKED = 24,
	ADV_COLLAPSE = 25,
};

struct last_call {
	uint64_t t_ns;
	uint32_t tid;
	uint8_t cls;
	bool valid;
};

struct proc {
	struct proc *next;
	uint32_t pid;
	struct mt_regions *rs;
	bool exited;
	bool have_rss, have_smaps;
	uint64_t anon, file, shmem, swap, lazyfree, smaps_rss;
	struct last_call calls[TID_SLOTS]; /* the last call of each recent thread */
	unsigned int call_next;
	uint8_t last_cls; /* the process's last call */
	char comm[MT_COMM_LEN];
};

struct mt_timeline {
	struct mt_timeline_opts opts;
	struct proc *procs;
	uint32_t alive;
	uint32_t smaps_procs;
	struct mt_gauges cur; /* totals now, and the cumulative counters */
	struct mt_summary sum;
	bool started, finished;
	uint64_t t0, last_t;
	/* sampling */
	uint64_t iv, next_t;
	bool auto_iv, iv_is_2x, raised;
	struct mt_gauges *samples;
	size_t n, cap, max;
	uint64_t peak; /* RSS peak since the previous sample */
	/* live gauge lines */
	uint64_t gauge_iv, gauge_next;
	struct mt_gauges gauge_prev;
	unsigned int gauge_lines;
	/* unmapped mappings that released the most */
	struct mt_mapping_info retired[TOP_KEEP];
	size_t nretired;
	struct mt_finding *findings;
	size_t nfindings;
	/* processes dropped at exit, so their late records are not taken for a new one */
	uint32_t gone[EXITED_KEEP];
	unsigned int gone_next;
	int err;
};

/* ---- small helpers ---- */

/* "+1.234s": time since the start of the trace. */
static char *fmt_rel(const struct mt_timeline *tl, char *buf, size_t len, uint64_t t)
{
	return mt_fmt_rel(buf, len, t, tl->t0);
}

/* Time arithmetic that stops at the end of time instead of wrapping (a damaged record's t_ns). */
static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static bool is_err_addr(int64_t ret)
{
	return ret < 0 && ret >= -4095;
}

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
	if (advice < 0 || advice >= MT_ADVICE_SLOTS - 1)
		advice = MT_ADVICE_SLOTS - 1;
	return &tl->sum.advice[advice];
}

/* ---- processes ---- */

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

static struct proc *proc_find(struct mt_timeline *tl, uint32_t pid)
{
	struct proc **pp, *p;

	for (pp = &tl->procs; (p = *pp); pp = &p->next) {
		if (p->pid != pid)
			continue;
		/* move to front: records come in runs from one process */
		*pp = p->next;
		p->next = tl->procs;
		tl->procs = p;
		return p;
	}
	return NULL;
}

static struct proc *proc_new(struct mt_timeline *tl, uint32_t pid, const struct proc *parent)
{
	struct proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->pid = pid;
	p->rs =
	    parent ? mt_regions__clone(parent->rs, pid) : mt_regions__new(pid, tl->opts.page_size);
	if (!p->rs) {
		free(p);
		return NULL;
	}
	mt_regions__set_retire(p->rs, retire, tl);
	p->last_cls = MT_CL_OTHER;
	if (parent)
		memcpy(p->comm, parent->comm, sizeof(p->comm));
	p->next = tl->procs;
	tl->procs = p;
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

static struct proc *proc_get(struct mt_timeline *tl, uint32_t pid)
{
	struct proc *p = proc_find(tl, pid);

	if (!p) {
		p = proc_new(tl, pid, NULL);
		if (!p)
			tl->err = -ENOMEM;
	}
	return p;
}

/* Take a process's gauges out of the totals and forget it. */
static void proc_drop(struct mt_timeline *tl, struct proc *p, uint64_t t)
{
	struct proc **pp;

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
	for (pp = &tl->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	tl->gone[tl->gone_next++ % EXITED_KEEP] = p->pid;
	mt_regions__free(p->rs);
	free(p);
}

static bool is_gone(const struct mt_timeline *tl, uint32_t pid)
{
	for (unsigned int i = 0; i < EXITED_KEEP; i++)
		if (tl->gone[i] == pid && pid)
			return true;
	return false;
}

static void forget_gone(struct mt_timeline *tl, uint32_t pid)
{
	for (unsigned int i = 0; i < EXITED_KEEP; i++)
		if (tl->gone[i] == pid)
			tl->gone[i] = 0;
}

static void note_call(struct proc *p, uint32_t tid, uint64_t t, enum mt_call_class cls)
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
static enum mt_call_class last_call(const struct proc *p, uint32_t tid, uint64_t t)
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

/* ---- sampling ---- */

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

static void gauge_time(const struct mt_timeline *tl, char *buf, size_t len, uint64_t t)
{
	if (tl->opts.clock_offset_ns) {
		time_t sec = (time_t)(((int64_t)t + tl->opts.clock_offset_ns) / 1000000000);
		struct tm tm;

		localtime_r(&sec, &tm);
		strftime(buf, len, "%H:%M:%S", &tm);
	} else {
		fmt_rel(tl, buf, len, t);
	}
}

static void fmt_col(char *buf, size_t len, uint64_t v, bool known)
{
	if (known)
		mt_fmt_bytes(buf, len, v);
	else
		snprintf(buf, len, "-");
}

void mt_timeline__print_gauge_header(FILE *out)
{
	fprintf(out, "%-9s %10s %10s %10s %10s %10s %10s %7s %10s %10s\n", "time", "RSS",
		"LazyFree", "committed", "rel.lazy", "rel.eager", "reserved", "calls", "released",
		"reclaimed");
}

void mt_gauges_print_row(FILE *out, const char *time, const struct mt_gauges *g,
			 const struct mt_gauges *prev)
{
	uint64_t rel = g->free_bytes + g->dontneed_bytes, prel = 0, pcalls = 0, prec = 0;
	char c[8][24];

	if (prev) {
		prel = prev->free_bytes + prev->dontneed_bytes;
		pcalls = prev->calls;
		prec = prev->reclaimed_bytes;
	}
	fmt_col(c[0], sizeof(c[0]), mt_gauges_rss(g), g->have_rss);
	fmt_col(c[1], sizeof(c[1]), g->lazyfree, g->have_smaps);
	mt_fmt_bytes(c[2], sizeof(c[2]), g->state[MT_RS_COMMITTED]);
	mt_fmt_bytes(c[3], sizeof(c[3]), g->state[MT_RS_LAZY]);
	mt_fmt_bytes(c[4], sizeof(c[4]), g->state[MT_RS_EAGER]);
	mt_fmt_bytes(c[5], sizeof(c[5]), g->state[MT_RS_RESERVED]);
	mt_fmt_bytes(c[6], sizeof(c[6]), rel - prel);
	mt_fmt_bytes(c[7], sizeof(c[7]), g->reclaimed_bytes - prec);
	fprintf(out, "%-9s %10s %10s %10s %10s %10s %10s %7" PRIu64 " %10s %10s\n", time, c[0],
		c[1], c[2], c[3], c[4], c[5], g->calls - pcalls, c[6], c[7]);
}

void mt_timeline__print_gauge_line(const struct mt_timeline *tl, FILE *out)
{
	char ts[32];

	gauge_time(tl, ts, sizeof(ts), tl->last_t);
	mt_gauges_print_row(out, ts, &tl->cur, NULL);
}

/* Live --gauges: one line per elapsed interval, for the gauges before time t. */
static void gauges_due(struct mt_timeline *tl, uint64_t t)
{
	if (!tl->opts.gauges_out || t <= tl->gauge_next)
		return;
	if (tl->gauge_lines % GAUGE_HEADER_EVERY == 0)
		mt_timeline__print_gauge_header(tl->opts.gauges_out);
	{
		char ts[32];

		gauge_time(tl, ts, sizeof(ts), tl->gauge_next);
		mt_gauges_print_row(tl->opts.gauges_out, ts, &tl->cur, &tl->gauge_prev);
	}
	fflush(tl->opts.gauges_out);
	tl->gauge_lines++;
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

static int time_passes(struct mt_timeline *tl, uint64_t t)
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

/* ---- records ---- */

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

static void model_result(struct mt_timeline *tl, int err, const struct mt_rdelta *d, uint64_t t)
{
	struct mt_summary *s = &tl->sum;

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

static void on_mmap(struct mt_timeline *tl, struct proc *p, const struct mt_mmap *m, uint64_t t)
{
	bool ok = !is_err_addr(m->ret);
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
		model_result(tl, err, &d, t);
		if (d.released + d.escalated) {
			tl->sum.none_remap_calls++;
			tl->sum.none_remap_bytes += d.released + d.escalated;
			cls = MT_CL_NONE_REMAP;
		}
	}
	if (synth)
		return;
	if (ok)
		tl->sum.class_calls[cls]++;
	note_call(p, m->h.tid, m->h.t_ns, cls);
}

static void on_munmap(struct mt_timeline *tl, struct proc *p, const struct mt_munmap *m, uint64_t t)
{
	bool ok = m->ret == 0;
	struct mt_rdelta d = {0};
	uint64_t before[MT_RS_NR];
	int err;

	count_call(&tl->sum.syscall[MT_MUNMAP], ok, m->len, t);
	if (ok) {
		tl->cur.munmap_calls++;
		tl->cur.munmap_bytes += m->len;
		tl->sum.class_calls[MT_CL_MUNMAP]++;
		regions_before(p, before);
		err = mt_regions__munmap(p->rs, t, m->addr, m->len, &d);
		regions_after(tl, p, before);
		model_result(tl, err, &d, t);
	}
	note_call(p, m->h.tid, m->h.t_ns, MT_CL_MUNMAP);
}

static void on_mremap(struct mt_timeline *tl, struct proc *p, const struct mt_mremap *m, uint64_t t)
{
	bool ok = !is_err_addr(m->ret);
	struct mt_rdelta d = {0};
	uint64_t before[MT_RS_NR];
	int err;

	count_call(&tl->sum.syscall[MT_MREMAP], ok, m->new_len, t);
	if (ok) {
		tl->sum.class_calls[MT_CL_OTHER]++;
		regions_before(p, before);
		err = mt_regions__mremap(p->rs, t, m->old_addr, m->old_len, (uint64_t)m->ret,
					 m->new_len, m->flags, &d);
		regions_after(tl, p, before);
		model_result(tl, err, &d, t);
	}
	note_call(p, m->h.tid, m->h.t_ns, MT_CL_OTHER);
}

static enum mt_call_class advice_class(int advice)
{
	switch (advice) {
	case ADV_FREE:
		return MT_CL_FREE;
	case ADV_DONTNEED:
	case ADV_DONTNEED_LOCKED:
		return MT_CL_DONTNEED;
	case ADV_REMOVE:
		return MT_CL_REMOVE;
	default:
		return MT_CL_OTHER;
	}
}

static void on_madvise(struct mt_timeline *tl, struct proc *p, const struct mt_madvise *a,
		       uint64_t t)
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
	int err;

	count_call(&tl->sum.syscall[MT_MADVISE], ok, a->len, t);
	count_call(advice_stats(tl, a->advice), ok, a->len, t);
	if (pm)
		tl->sum.process_madvise_records++;
	if (ok) {
		tl->sum.class_calls[cls]++;
		switch (a->advice) {
		case ADV_FREE:
			tl->cur.free_calls++;
			tl->cur.free_bytes += a->len;
			break;
		case ADV_DONTNEED:
		case ADV_DONTNEED_LOCKED:
		case ADV_REMOVE:
			tl->cur.dontneed_calls++;
			tl->cur.dontneed_bytes += a->len;
			break;
		case ADV_HUGEPAGE:
		case ADV_NOHUGEPAGE:
		case ADV_COLLAPSE:
			tl->cur.hugepage_calls++;
			break;
		}
	}
	if (pm && a->target_pid != a->h.pid) {
		tp = proc_find(tl, a->target_pid); /* only a traced target has a model */
		if (tp && tp->exited)
			tp = NULL;
	}
	if (applied && tp) {
		regions_before(tp, before);
		err = mt_regions__madvise(tp->rs, t, a->addr, a->len, a->advice, ok && !pm, &d);
		regions_after(tl, tp, before);
		model_result(tl, err, &d, t);
		if (!ok) {
			tl->sum.partial_calls++;
			tl->sum.partial_released += d.released + d.rereleased + d.escalated;
		}
	}
	note_call(p, a->h.tid, a->h.t_ns, cls);
}

static void on_brk(struct mt_timeline *tl, struct proc *p, const struct mt_brk *b, uint64_t t)
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
		model_result(tl, err, &d, t);
	}
	count_call(&tl->sum.syscall[MT_BRK], ok, d.mapped + d.unmapped, t);
	if (ok)
		tl->sum.class_calls[MT_CL_OTHER]++;
	note_call(p, b->h.tid, b->h.t_ns, MT_CL_OTHER);
}

static void on_mprotect(struct mt_timeline *tl, struct proc *p, const struct mt_mprotect *m,
			uint64_t t)
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
		model_result(tl, err, &d, t);
	}
	if (ok)
		tl->sum.class_calls[MT_CL_OTHER]++;
	note_call(p, m->h.tid, m->h.t_ns, MT_CL_OTHER);
}

static void on_rss(struct mt_timeline *tl, struct proc *p, const struct mt_rss *r, uint64_t t)
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
		enum mt_call_class cls = last_call(p, r->h.tid, r->h.t_ns);

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

static void on_task(struct mt_timeline *tl, struct proc *p, const struct mt_task *k, uint64_t t)
{
	struct proc *child;
	bool target = k->h.pid == tl->sum.target_pid;

	switch (k->event) {
	case MT_TASK_ATTACH:
	case MT_TASK_LAUNCH:
	case MT_TASK_EXEC:
		memcpy(p->comm, k->comm, MT_COMM_LEN);
		p->comm[MT_COMM_LEN - 1] = '\0';
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
		forget_gone(tl, k->other_pid); /* a pid used again */
		child = proc_find(tl, k->other_pid);
		if (child)
			break; /* its records came first; its model started empty */
		if (!proc_new(tl, k->other_pid, p))
			tl->err = -ENOMEM;
		break;
	case MT_TASK_EXIT:
		if (target) {
			tl->sum.target_exited = true;
			tl->sum.target_status = k->code;
			tl->sum.target_exit_ns = t;
		}
		p->exited = true;
		/*
		 * The exit teardown unmaps everything and explains nothing: the
		 * last process keeps its figures as they were just before it.
		 */
		if (tl->alive > 1)
			proc_drop(tl, p, t);
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
	const char *eq;
	size_t klen;

	s->info_records++;
	n = strnlen(r->text, n);
	eq = memchr(r->text, '=', n);
	if (!eq || (s->target_pid && rec->pid != s->target_pid))
		return;
	klen = (size_t)(eq - r->text);
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
	int err;

	if (tl->err)
		return tl->err;
	if (tl->finished)
		return -EINVAL;
	err = time_passes(tl, rec->t_ns);
	if (err)
		return tl->err = err;
	t = tl->last_t;
	tl->sum.records++;
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
	if (rec->type < MT_MMAP || rec->type > MT_TASK) {
		tl->sum.unknown_records++;
		return 0;
	}
	p = proc_find(tl, rec->pid);
	if ((p && p->exited) || (!p && is_gone(tl, rec->pid))) {
		tl->sum.after_exit_records++;
		return 0;
	}
	if (!p && !(p = proc_get(tl, rec->pid)))
		return tl->err;
	/* a synthetic mmap (the mappings found at attach) is state, not a call */
	if (rec->type >= MT_MMAP && rec->type <= MT_MPROTECT && !(rec->flags & MT_F_SYNTH))
		tl->cur.calls++;
	switch (rec->type) {
	case MT_MMAP:
		on_mmap(tl, p, (const void *)rec, t);
		break;
	case MT_MUNMAP:
		on_munmap(tl, p, (const void *)rec, t);
		break;
	case MT_MREMAP:
		on_mremap(tl, p, (const void *)rec, t);
		break;
	case MT_MADVISE:
		on_madvise(tl, p, (const void *)rec, t);
		break;
	case MT_BRK:
		on_brk(tl, p, (const void *)rec, t);
		break;
	case MT_MPROTECT:
		on_mprotect(tl, p, (const void *)rec, t);
		break;
	case MT_RSS:
		on_rss(tl, p, (const void *)rec, t);
		break;
	case MT_TASK:
		on_task(tl, p, (const void *)rec, t);
		break;
	}
	return tl->err;
}

void mt_timeline__tick(struct mt_timeline *tl, uint64_t now_ns)
{
	if (tl->err || tl->finished || !tl->started)
		return;
	if (time_passes(tl, now_ns))
		tl->err = -ENOMEM;
}

/* ---- lifecycle ---- */

struct mt_timeline *mt_timeline__new(const struct mt_timeline_opts *opts)
{
	struct mt_timeline *tl = calloc(1, sizeof(*tl));

	if (!tl)
		return NULL;
	tl->opts = *opts;
	tl->opts.target = NULL; /* not kept: the caller owns the string */
	tl->sum.target_pid = opts->target_pid;
	tl->auto_iv = !opts->interval_ns;
	tl->iv = opts->interval_ns ? opts->interval_ns : AUTO_FIRST_NS;
	tl->max = tl->auto_iv ? AUTO_MAX_SAMPLES : FIXED_MAX_SAMPLES;
	tl->gauge_iv = opts->gauges_interval_ns ? opts->gauges_interval_ns : 1000000000ull;
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
	struct proc *p, *next;

	if (!tl)
		return;
	for (p = tl->procs; p; p = next) {
		next = p->next;
		mt_regions__free(p->rs);
		free(p);
	}
	free(tl->samples);
	free_findings(tl);
	free(tl);
}

const struct mt_summary *mt_timeline__summary(const struct mt_timeline *tl)
{
	return &tl->sum;
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

const struct mt_finding *mt_timeline__findings(const struct mt_timeline *tl, size_t *n)
{
	*n = tl->nfindings;
	return tl->findings;
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

	for (const struct proc *p = tl->procs; p; p = p->next)
		mt_regions__foreach_mapping(p->rs, top_add, &c);
	for (size_t i = 0; i < tl->nretired; i++)
		top_add(&c, &tl->retired[i]);
	return c.n;
}

/* ---- the verdict ---- */

static void __attribute__((format(printf, 3, 4)))
add_finding(struct mt_timeline *tl, const char *kind, const char *fmt, ...)
{
	struct mt_finding *f;
	va_list ap;
	char *text;
	int n;

	if (tl->err)
		return;
	va_start(ap, fmt);
	n = vasprintf(&text, fmt, ap);
	va_end(ap);
	if (n < 0) {
		tl->err = -ENOMEM;
		return;
	}
	f = realloc(tl->findings, (tl->nfindings + 1) * sizeof(*f));
	if (!f) {
		free(text);
		tl->err = -ENOMEM;
		return;
	}
	tl->findings = f;
	f[tl->nfindings].kind = kind;
	f[tl->nfindings].text = text;
	tl->nfindings++;
}

int mt_timeline__add_finding(struct mt_timeline *tl, const char *kind, const char *text)
{
	if (!tl->finished)
		return -EINVAL;
	add_finding(tl, kind, "%s", text);
	return tl->err;
}

/* "in 12 calls between +1.000s and +2.000s" / "in 1 call at +1.000s" */
static char *fmt_calls(const struct mt_timeline *tl, char *buf, size_t len, uint64_t calls,
		       uint64_t first, uint64_t last)
{
	char a[32], b[32];

	if (calls == 1 || first == last)
		snprintf(buf, len, "in %" PRIu64 " call%s at %s", calls, calls == 1 ? "" : "s",
			 fmt_rel(tl, a, sizeof(a), first));
	else
		snprintf(buf, len, "in %" PRIu64 " calls between %s and %s", calls,
			 fmt_rel(tl, a, sizeof(a), first), fmt_rel(tl, b, sizeof(b), last));
	return buf;
}

static uint64_t ok_calls(const struct mt_call_stats *s)
{
	return s->calls - s->errors;
}

static void verdict_scope(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	char a[32], who[64];

	if (s->target_comm[0])
		snprintf(who, sizeof(who), "pid %" PRIu32 " (%s)", s->target_pid, s->target_comm);
	else
		snprintf(who, sizeof(who), "pid %" PRIu32, s->target_pid);
	add_finding(
	    tl, "scope", "Trace of %s%s over %" PRIu64 ".%03" PRIu64 " s: %" PRIu64 " records%s%s.",
	    who, s->processes > 1 ? " and its children" : "",
	    (s->end_ns - s->start_ns) / 1000000000, (s->end_ns - s->start_ns) / 1000000 % 1000,
	    s->records, s->target_exited ? "; the process exited at " : "",
	    s->target_exited ? fmt_rel(tl, a, sizeof(a), s->target_exit_ns) : "");
	if (s->lost_events)
		add_finding(tl, "lost",
			    "WARNING: %" PRIu64
			    " events were lost by the recorder (the first at %s): "
			    "calls after that may be missing, so the figures below can be wrong.",
			    s->lost_events, fmt_rel(tl, a, sizeof(a), s->first_lost_ns));
	if (s->unknown_records)
		add_finding(tl, "unknown_records",
			    "%" PRIu64 " record%s of a type this version does not know %s skipped.",
			    s->unknown_records, s->unknown_records == 1 ? "" : "s",
			    s->unknown_records == 1 ? "was" : "were");
	if (s->inconsistent)
		add_finding(tl, "inconsistent",
			    "%" PRIu64 " successful calls could not be applied to the region model "
			    "(a range the kernel would have refused, or arguments that were not "
			    "read); the gauges leave them out.",
			    s->inconsistent);
}

static void verdict_releases(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	static const struct {
		int advice;
		const char *how;
	} rel[] = {
	    {ADV_FREE, "lazily: the pages stay mapped and counted in RSS (as LazyFree) until "
		       "the kernel reclaims them under memory pressure or the program writes "
		       "to them again"},
	    {ADV_DONTNEED, "eagerly: the pages were dropped at once and leave RSS immediately"},
	    {ADV_DONTNEED_LOCKED, "eagerly, locked pages included"},
	    {ADV_REMOVE, "eagerly, with their backing store"},
	};
	char b[32], c[96];
	bool any = false;

	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		const struct mt_call_stats *a = &s->advice[rel[i].advice];

		if (!a->calls)
			continue;
		if (ok_calls(a)) {
			any = true;
			add_finding(
			    tl, rel[i].advice == ADV_FREE ? "lazy_release" : "eager_release",
			    "%s released %s %s, %s.", mt_advice_name(rel[i].advice),
			    mt_fmt_bytes(b, sizeof(b), a->bytes),
			    fmt_calls(tl, c, sizeof(c), ok_calls(a), a->first_ns, a->last_ns),
			    rel[i].how);
		}
		if (a->errors)
			add_finding(tl, "failed_release", "%" PRIu64 " %s call%s failed.",
				    a->errors, mt_advice_name(rel[i].advice),
				    a->errors == 1 ? "" : "s");
	}
	if (s->partial_calls)
		add_finding(
		    tl, "partial_release",
		    "%" PRIu64 " madvise call%s failed with ENOMEM because the range had "
		    "unmapped holes; the kernel still applied the advice to the mapped parts, "
		    "and the model counts them (%s released that way).",
		    s->partial_calls, s->partial_calls == 1 ? "" : "s",
		    mt_fmt_bytes(b, sizeof(b), s->partial_released));
	if (s->none_remap_calls) {
		any = true;
		add_finding(
		    tl, "eager_release",
		    "mmap(PROT_NONE, MAP_FIXED) over accessible memory dropped %s in %" PRIu64
		    " call%s (a hard decommit: the pages leave RSS at once).",
		    mt_fmt_bytes(b, sizeof(b), s->none_remap_bytes), s->none_remap_calls,
		    s->none_remap_calls == 1 ? "" : "s");
	}
	if (ok_calls(&s->syscall[MT_MUNMAP])) {
		const struct mt_call_stats *m = &s->syscall[MT_MUNMAP];

		add_finding(tl, "unmap", "munmap unmapped %s %s.",
			    mt_fmt_bytes(b, sizeof(b), m->bytes),
			    fmt_calls(tl, c, sizeof(c), ok_calls(m), m->first_ns, m->last_ns));
	}
	if (!any)
		add_finding(
		    tl, "no_release",
		    "No memory was released with madvise: there is no MADV_FREE, "
		    "MADV_DONTNEED or MADV_REMOVE call and no PROT_NONE remap in the trace%s.",
		    ok_calls(&s->syscall[MT_MUNMAP]) ? " (only munmap)" : "");
}

static void verdict_rss_at_release(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	static const struct {
		enum mt_call_class cls;
		const char *name;
	} cl[] = {
	    {MT_CL_FREE, "MADV_FREE"},	   {MT_CL_DONTNEED, "MADV_DONTNEED"},
	    {MT_CL_REMOVE, "MADV_REMOVE"}, {MT_CL_NONE_REMAP, "PROT_NONE remap"},
	    {MT_CL_MUNMAP, "munmap"},
	};
	char b[32], c[48];

	for (size_t i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
		enum mt_call_class k = cl[i].cls;

		if (!s->class_calls[k])
			continue;
		if (!s->rss_records) {
			add_finding(
			    tl, "rss_at_release",
			    "The trace has no rss records, so what RSS did at the %s calls is "
			    "unknown.",
			    cl[i].name);
			continue;
		}
		if (!s->rss_after[k]) {
			add_finding(tl, "rss_at_release",
				    k == MT_CL_FREE
					? "RSS did not change at the %s calls (no rss record after "
					  "them): lazily freed pages stay in RSS."
					: "RSS did not change at the %s calls (no rss record after "
					  "them): the pages released were not resident.",
				    cl[i].name);
			continue;
		}
		if (!s->rss_down[k]) {
			add_finding(tl, "rss_at_release",
				    "RSS did not fall at the %s calls: the %" PRIu64
				    " rss record%s right after them show%s a rise of %s.",
				    cl[i].name, s->rss_after[k], s->rss_after[k] == 1 ? "" : "s",
				    s->rss_after[k] == 1 ? "s" : "",
				    mt_fmt_bytes(b, sizeof(b), s->rss_up[k]));
			continue;
		}
		c[0] = '\0';
		if (s->rss_up[k]) {
			char up[32];

			snprintf(c, sizeof(c), " and rose by %s",
				 mt_fmt_bytes(up, sizeof(up), s->rss_up[k]));
		}
		add_finding(tl, "rss_at_release",
			    "RSS fell by %s%s at the %s calls (%" PRIu64
			    " rss record%s right after them).",
			    mt_fmt_bytes(b, sizeof(b), s->rss_down[k]), c, cl[i].name,
			    s->rss_after[k], s->rss_after[k] == 1 ? "" : "s");
	}
}

static void verdict_end(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	const struct mt_gauges *e = &s->end;
	char t[32], b[6][32], sw[48] = "";

	fmt_rel(tl, t, sizeof(t), s->end_ns);
	mt_fmt_bytes(b[2], sizeof(b[2]), e->state[MT_RS_LAZY]);
	mt_fmt_bytes(b[3], sizeof(b[3]), e->state[MT_RS_EAGER]);
	mt_fmt_bytes(b[4], sizeof(b[4]), e->state[MT_RS_COMMITTED]);
	mt_fmt_bytes(b[5], sizeof(b[5]), e->state[MT_RS_RESERVED]);
	if (!e->have_rss) {
		add_finding(
		    tl, "end_state",
		    "At the end (%s) RSS is unknown: the trace has no rss records. The region "
		    "model counts %s released lazily, %s released eagerly, %s committed and "
		    "%s reserved.",
		    t, b[2], b[3], b[4], b[5]);
		return;
	}
	if (e->swap) {
		char x[32];

		snprintf(sw, sizeof(sw), ", swap %s", mt_fmt_bytes(x, sizeof(x), e->swap));
	}
	mt_fmt_bytes(b[0], sizeof(b[0]), mt_gauges_rss(e));
	mt_fmt_bytes(b[1], sizeof(b[1]), e->rss_anon);
	{
		char f[32], sh[32];

		add_finding(
		    tl, "end_state",
		    "At the end (%s%s) RSS was %s (anon %s, file %s, shmem %s%s). The region "
		    "model counts %s released lazily, %s released eagerly, %s committed and "
		    "%s reserved.",
		    t, s->target_exited ? ", just before the exit teardown" : "", b[0], b[1],
		    mt_fmt_bytes(f, sizeof(f), e->rss_file),
		    mt_fmt_bytes(sh, sizeof(sh), e->rss_shmem), sw, b[2], b[3], b[4], b[5]);
	}
}

static void verdict_lazyfree(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	const struct mt_gauges *e = &s->end;
	char t[32], a[32], b[32], c[32];
	uint64_t lazy = e->state[MT_RS_LAZY];

	if (e->have_smaps && !e->lazyfree && !lazy) {
		add_finding(
		    tl, "lazyfree",
		    "smaps_rollup at %s (the last sample): Rss %s, LazyFree 0 B: none of RSS "
		    "is lazily freed memory.",
		    fmt_rel(tl, t, sizeof(t), s->lazyfree_last_ns),
		    mt_fmt_bytes(a, sizeof(a), e->smaps_rss));
	} else if (e->have_smaps) {
		uint64_t held = e->smaps_rss > e->lazyfree ? e->smaps_rss - e->lazyfree : 0;

		add_finding(
		    tl, "lazyfree",
		    "smaps_rollup at %s (the last sample): Rss %s, LazyFree %s. LazyFree is "
		    "memory released with MADV_FREE that is still resident; the kernel can "
		    "take it back at any time without writing anything out. What the process "
		    "really holds is Rss - LazyFree = %s.",
		    fmt_rel(tl, t, sizeof(t), s->lazyfree_last_ns),
		    mt_fmt_bytes(a, sizeof(a), e->smaps_rss),
		    mt_fmt_bytes(b, sizeof(b), e->lazyfree), mt_fmt_bytes(c, sizeof(c), held));
		if (!e->lazyfree && lazy)
			add_finding(
			    tl, "lazyfree",
			    "LazyFree was 0 although %s is released lazily: those pages were "
			    "reclaimed or written again before the last sample.",
			    mt_fmt_bytes(a, sizeof(a), lazy));
	} else if (lazy) {
		uint64_t bound = lazy < e->rss_anon ? lazy : e->rss_anon;

		add_finding(
		    tl, "lazyfree",
		    "The trace has no smaps_rollup samples (recorded with --smaps-interval "
		    "0?), so LazyFree is unknown: up to %s of RSS may be lazily freed memory "
		    "(the bytes released lazily, at most the anonymous RSS).",
		    mt_fmt_bytes(a, sizeof(a), e->have_rss ? bound : lazy));
	}
}

static void verdict_reclaim(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	const struct mt_gauges *e = &s->end;
	char a[32], b[32], t1[32], t2[32], sw[96] = "", lf[160] = "";

	if (s->reclaim_records + s->sample_drops) {
		char steps[96];

		if (s->sample_drops)
			snprintf(steps, sizeof(steps),
				 "rss records: %" PRIu64 " with reason reclaim, %" PRIu64
				 " periodic sample%s",
				 s->reclaim_records, s->sample_drops,
				 s->sample_drops == 1 ? "" : "s");
		else
			snprintf(steps, sizeof(steps), "rss records with reason reclaim");
		if (s->swap_growth)
			snprintf(sw, sizeof(sw), "; swap grew by %s, so part of it was swapped out",
				 mt_fmt_bytes(a, sizeof(a), s->swap_growth));
		if (e->have_smaps && s->lazyfree_max > e->lazyfree)
			snprintf(lf, sizeof(lf), "; LazyFree fell from %s (%s) to %s (%s)",
				 mt_fmt_bytes(a, sizeof(a), s->lazyfree_max),
				 fmt_rel(tl, t1, sizeof(t1), s->lazyfree_max_ns),
				 mt_fmt_bytes(b, sizeof(b), e->lazyfree),
				 fmt_rel(tl, t2, sizeof(t2), s->lazyfree_last_ns));
		add_finding(tl, "reclaim",
			    "Reclaim seen: RSS fell by %s in %" PRIu64
			    " step%s between %s and %s without any call from the process (%s)%s%s.",
			    mt_fmt_bytes(b, sizeof(b), s->reclaimed_bytes),
			    s->reclaim_records + s->sample_drops,
			    s->reclaim_records + s->sample_drops == 1 ? "" : "s",
			    fmt_rel(tl, t1, sizeof(t1), s->first_reclaim_ns),
			    fmt_rel(tl, t2, sizeof(t2), s->last_reclaim_ns), steps, sw, lf);
	} else if (e->state[MT_RS_LAZY]) {
		add_finding(tl, "no_reclaim",
			    "No reclaim was seen: nothing took the lazily freed pages back during "
			    "the trace, as is usual while the system and the cgroup have memory to "
			    "spare.");
	}
}

static void verdict_reuse(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	char a[32];

	if (s->rereleased)
		add_finding(tl, "reuse",
			    "%s was released again while already released. A program usually "
			    "releases only memory it has used since, so this points to re-use of "
			    "released ranges (inferred: madvtrace does not see writes).",
			    mt_fmt_bytes(a, sizeof(a), s->rereleased));
	if (s->recommitted)
		add_finding(tl, "reuse",
			    "%s of released memory was made usable again by explicit calls (mmap "
			    "MAP_FIXED, mprotect, MADV_POPULATE_READ/WRITE or MADV_COLLAPSE over "
			    "released ranges).",
			    mt_fmt_bytes(a, sizeof(a), s->recommitted));
	if (s->fault_growth)
		add_finding(
		    tl, "reuse",
		    "After the first release RSS grew by %s through page faults outside "
		    "traced calls; writes into released ranges would show this way, as would "
		    "new memory (inferred: RSS does not say which pages were written).",
		    mt_fmt_bytes(a, sizeof(a), s->fault_growth));
}

/* The target's Go version, or NULL when the trace does not say (or says "unknown"). */
static const char *go_version(const struct mt_summary *s)
{
	return s->go_version[0] && strcmp(s->go_version, "unknown") ? s->go_version : NULL;
}

/* The GODEBUG the target's runtime read: NULL when unset (or not recorded: taken as unset). */
static const char *go_godebug(const struct mt_summary *s)
{
	return s->godebug_known ? s->godebug : NULL;
}

/* ' with GODEBUG="..."', ' with GODEBUG unset', or ' (GODEBUG not recorded: taken as unset)' */
static char *fmt_godebug(const struct mt_summary *s, char *buf, size_t len)
{
	if (s->godebug_known)
		snprintf(buf, len, " with GODEBUG=\"%s\"", s->godebug);
	else if (s->go_env_read)
		snprintf(buf, len, " with GODEBUG unset");
	else
		snprintf(buf, len, " (its GODEBUG was not recorded: taken as unset)");
	return buf;
}

static uint64_t ok_advice(const struct mt_summary *s, int advice)
{
	return ok_calls(&s->advice[advice]);
}

/* Whether the huge-page advice seen is what the target's Go runtime issues. */
static void verdict_go_thp(struct mt_timeline *tl)
{
	static const int hp[] = {ADV_HUGEPAGE, ADV_NOHUGEPAGE, ADV_COLLAPSE};
	const struct mt_summary *s = &tl->sum;
	const char *ver = go_version(s), *why;
	uint64_t expect;
	char odd[96] = "";
	size_t off = 0;

	if (!ver)
		return;
	expect = mt_go_thp_advice(ver, &why);
	for (size_t i = 0; i < sizeof(hp) / sizeof(hp[0]); i++)
		if (ok_advice(s, hp[i]) && !(expect & (1ull << hp[i])) && off < sizeof(odd))
			off += (size_t)snprintf(odd + off, sizeof(odd) - off, "%s%s",
						off ? " and " : "", mt_advice_name(hp[i]));
	if (!off)
		add_finding(tl, "hugepage", "As expected for %s: %s.", ver, why);
	else
		add_finding(tl, "hugepage",
			    "Not expected from the runtime of %s (%s): the %s calls come from "
			    "other code in the process, or from a runtime built differently.",
			    ver, why, odd);
}

static void verdict_hugepages(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	static const int hp[] = {ADV_HUGEPAGE, ADV_NOHUGEPAGE, ADV_COLLAPSE};
	char list[256] = "", a[32];
	size_t off = 0;

	for (size_t i = 0; i < sizeof(hp) / sizeof(hp[0]); i++) {
		const struct mt_call_stats *c = &s->advice[hp[i]];

		if (!ok_calls(c) || off >= sizeof(list))
			continue;
		off += (size_t)snprintf(
		    list + off, sizeof(list) - off, "%s%s %" PRIu64 " call%s over %s",
		    off ? ", " : "", mt_advice_name(hp[i]), ok_calls(c),
		    ok_calls(c) == 1 ? "" : "s", mt_fmt_bytes(a, sizeof(a), c->bytes));
	}
	if (!off)
		return;
	add_finding(tl, "hugepage", "Huge-page advice: %s.", list);
	verdict_go_thp(tl);
	if (s->hp_released)
		add_finding(
		    tl, "hugepage",
		    "%s of released memory was later advised MADV_HUGEPAGE. Go 1.12 to 1.20 "
		    "does this when it takes released memory back into use; and with "
		    "transparent huge pages, khugepaged may fill such ranges with huge pages, "
		    "making them resident again.",
		    mt_fmt_bytes(a, sizeof(a), s->hp_released));
	if (s->released_thp)
		add_finding(
		    tl, "hugepage",
		    "At the end %s of released memory lies in ranges whose last huge-page "
		    "advice is MADV_HUGEPAGE: khugepaged may collapse it into huge pages and "
		    "bring it back into RSS.",
		    mt_fmt_bytes(a, sizeof(a), s->released_thp));
	if (ok_calls(&s->advice[ADV_COLLAPSE]))
		add_finding(
		    tl, "hugepage",
		    "MADV_COLLAPSE makes its range resident at once as huge pages, released "
		    "parts included.");
}

/*
 * What the Go runtime should have released with (its version and GODEBUG),
 * against what the trace shows: a mismatch (e.g. GODEBUG=madvdontneed=1 set
 * but MADV_FREE observed) means the setting did not take effect or other
 * code released memory.
 */
static void verdict_go(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	const char *ver = go_version(s);
	uint64_t free_calls = ok_advice(s, ADV_FREE);
	uint64_t dn_calls = ok_advice(s, ADV_DONTNEED) + ok_advice(s, ADV_DONTNEED_LOCKED);
	uint64_t other, other_bytes;
	char why[256], gd[192], who[320], a[32];
	int expect;

	if (!ver)
		return;
	expect = mt_go_release_advice(ver, go_godebug(s), why, sizeof(why));
	if (expect < 0)
		return;
	fmt_godebug(s, gd, sizeof(gd));
	if (!free_calls && !dn_calls) {
		add_finding(tl, "go_release",
			    "%s%s should release memory with %s (%s); the trace has no MADV_FREE "
			    "or MADV_DONTNEED call to check that against.",
			    ver, gd, mt_advice_name(expect), why);
		return;
	}
	other = expect == ADV_FREE ? dn_calls : free_calls;
	if (!other) {
		add_finding(tl, "go_release", "As expected for %s%s, the releases are %s: %s.", ver,
			    gd, mt_advice_name(expect), why);
		return;
	}
	other_bytes = expect == ADV_FREE
			  ? s->advice[ADV_DONTNEED].bytes + s->advice[ADV_DONTNEED_LOCKED].bytes
			  : s->advice[ADV_FREE].bytes;
	if (s->godebug_known)
		snprintf(who, sizeof(who), "GODEBUG=\"%s\" is set, so %s", s->godebug, ver);
	else
		snprintf(who, sizeof(who), "%s%s", ver, gd);
	add_finding(
	    tl, "go_mismatch",
	    "Not as expected: %s should release memory with %s, but %s was observed "
	    "(%" PRIu64 " call%s over %s%s). Expected because %s. %s",
	    who, mt_advice_name(expect), expect == ADV_FREE ? "MADV_DONTNEED" : "MADV_FREE", other,
	    other == 1 ? "" : "s", mt_fmt_bytes(a, sizeof(a), other_bytes),
	    (expect == ADV_FREE ? free_calls : dn_calls) ? ", beside the expected advice" : "", why,
	    expect == ADV_FREE
		? "Either the kernel refused MADV_FREE (before Linux 4.5 the runtime falls back to "
		  "MADV_DONTNEED), or other code in the process released the memory."
	    : s->godebug_known
		? "Either the runtime did not see this GODEBUG (it reads the environment once, at "
		  "startup; a GODEBUG set at build time has no effect here), or other code in the "
		  "process (cgo, a C allocator) released the memory: see who released it."
		: "Other code in the process (cgo, a C allocator) released that memory, or the "
		  "runtime got a GODEBUG the trace does not show: see who released it.");
}

static void verdict_advice(struct mt_timeline *tl)
{
	const struct mt_summary *s = &tl->sum;
	const struct mt_gauges *e = &s->end;
	const char *ver = go_version(s);
	struct mt_go_version v;
	int expect = -1, dflt = -1;
	char a[32], b[32], c[32], why[256], gd[160] = "";

	if (ver) {
		expect = mt_go_release_advice(ver, go_godebug(s), why, sizeof(why));
		dflt = mt_go_release_advice(ver, NULL, why, sizeof(why));
	}
	if (s->godebug_known)
		snprintf(gd, sizeof(gd), " with GODEBUG=\"%s\"", s->godebug);
	if (ok_calls(&s->advice[ADV_FREE]) && e->state[MT_RS_LAZY]) {
		add_finding(
		    tl, "advice",
		    "What to do: count RSS - LazyFree (smaps_rollup) as the memory the process "
		    "uses; LazyFree goes back to the system as soon as the kernel needs it. "
		    "To make RSS fall at release instead, release with MADV_DONTNEED.");
		if (expect == ADV_FREE && dflt == ADV_DONTNEED)
			add_finding(
			    tl, "advice",
			    "This is a Go program (%s) running%s: GODEBUG=madvdontneed=0 is "
			    "why it releases with MADV_FREE. Without it (or with "
			    "madvdontneed=1) Go 1.16 and later release with MADV_DONTNEED and "
			    "RSS falls at release.",
			    ver, gd);
		else if (expect == ADV_FREE)
			add_finding(
			    tl, "advice",
			    "This is a Go program (%s)%s. Go 1.12 to 1.15 release heap with "
			    "MADV_FREE by default: run it with GODEBUG=madvdontneed=1 to release "
			    "with MADV_DONTNEED, or move to Go 1.16 or later, where that is the "
			    "default.",
			    ver, gd);
		else if (expect == ADV_DONTNEED && !mt_go_version_parse(ver, &v) &&
			 mt_go_version_cmp(&v, 1, 12, 0) < 0)
			add_finding(
			    tl, "advice",
			    "This is a Go program (%s): Go up to 1.11 releases heap with "
			    "MADV_DONTNEED, so the MADV_FREE calls come from other code in the "
			    "process (cgo, a C allocator).",
			    ver);
		else if (expect == ADV_DONTNEED)
			add_finding(
			    tl, "advice",
			    "This is a Go program (%s)%s. Go 1.16 and later release heap with "
			    "MADV_DONTNEED unless GODEBUG=madvdontneed=0 is set%s; the MADV_FREE "
			    "calls may come from other code in the process (cgo, a C "
			    "allocator).",
			    ver, gd, s->godebug_known || s->go_env_read ? ", which it is not" : "");
		else
			add_finding(
			    tl, "advice",
			    "If the program is written in Go: Go 1.12 to 1.15 release with "
			    "MADV_FREE, and GODEBUG=madvdontneed=1 switches them to "
			    "MADV_DONTNEED; Go 1.16 and later use MADV_DONTNEED unless "
			    "GODEBUG=madvdontneed=0 is set, so look for that setting in the "
			    "environment of this process; Go up to 1.11 always used "
			    "MADV_DONTNEED.");
	} else if (e->state[MT_RS_EAGER] || s->none_remap_calls) {
		add_finding(
		    tl, "advice",
		    "Released memory left RSS at once, so the RSS that remains (%s, of it %s "
		    "of file pages) is memory in use, within the %s the model counts as "
		    "committed. Eager release (the Go default from 1.16, "
		    "GODEBUG=madvdontneed=1) costs page faults when the memory is used again.",
		    e->have_rss ? mt_fmt_bytes(c, sizeof(c), mt_gauges_rss(e)) : "unknown",
		    mt_fmt_bytes(b, sizeof(b), e->rss_file),
		    mt_fmt_bytes(a, sizeof(a), e->state[MT_RS_COMMITTED]));
	} else if (e->state[MT_RS_LAZY]) {
		add_finding(
		    tl, "advice",
		    "What to do: count RSS - LazyFree (smaps_rollup) as the memory the process "
		    "uses.");
	} else {
		add_finding(
		    tl, "advice",
		    "RSS is memory in use or not yet released: the program released nothing "
		    "that is still released at the end. A Go program releases idle heap "
		    "through its background scavenger over time, or at once with "
		    "debug.FreeOSMemory().");
	}
}

static int count_thp(struct mt_timeline *tl)
{
	uint64_t sum = 0;

	tl->sum.regions = 0;
	for (const struct proc *p = tl->procs; p; p = p->next) {
		sum += mt_regions__released_thp(p->rs);
		tl->sum.regions += mt_regions__count(p->rs);
	}
	tl->sum.released_thp = sum;
	return 0;
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
		add_finding(tl, "empty", "The trace has no records.");
		return tl->err;
	}
	err = advance(tl, tl->last_t);
	if (!err && (!tl->n || tl->samples[tl->n - 1].t_ns != tl->last_t))
		err = push_sample(tl, tl->last_t);
	if (err)
		return tl->err = err;
	s->end = tl->cur;
	s->end.t_ns = tl->last_t;
	s->end.rss_peak = tl->samples[tl->n - 1].rss_peak;
	s->end_ns = tl->last_t;
	count_thp(tl);
	verdict_scope(tl);
	verdict_releases(tl);
	verdict_go(tl);
	verdict_rss_at_release(tl);
	verdict_end(tl);
	verdict_lazyfree(tl);
	verdict_reclaim(tl);
	verdict_reuse(tl);
	verdict_hugepages(tl);
	verdict_advice(tl);
	return tl->err;
}

/* Print text wrapped at width with a hanging indent. */
static void print_wrapped(FILE *out, const char *text, const char *first, const char *rest,
			  size_t width)
{
	const char *p = text, *indent = first;

	while (*p) {
		size_t avail = width - strlen(indent), len = strlen(p), cut = len;

		if (len > avail) {
			cut = avail;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (!cut) { /* one long word */
				cut = avail;
				while (p[cut] && p[cut] != ' ')
					cut++;
			}
		}
		fprintf(out, "%s%.*s\n", indent, (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
		indent = rest;
	}
}

int mt_timeline__print_verdict(struct mt_timeline *tl, FILE *out)
{
	int err = mt_timeline__finish(tl);

	if (err)
		return err;
	fprintf(out, "Verdict\n");
	for (size_t i = 0; i < tl->nfindings; i++)
		print_wrapped(out, tl->findings[i].text, "  * ", "    ", 79);
	return ferror(out) ? -EIO : 0;
}
