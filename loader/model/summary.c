// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "decode.h"
#include "summary.h"

struct counts {
	uint64_t calls, errors, bytes;
};

struct advice_counts {
	int advice;
	struct counts c;
};

/* Per-process state; an open-addressing hash keyed by pid (-f can trace thousands). */
struct proc {
	uint32_t pid;
	bool used;
	bool has_rss;
	bool has_brk;
	struct mt_summary_rss rss;
	uint64_t first_t, last_t, lazy_t; /* t_ns of rss.first, rss.last, rss.lazyfree */
	uint64_t cur; /* latest rss value, part of the running total */
	uint64_t brk; /* latest break */
};

struct mt_summary {
	uint64_t records;
	uint64_t lost;
	uint32_t main_pid;
	bool has_main;
	struct counts sys[MT_TYPE_MAX];
	struct advice_counts *adv; /* sorted by advice value */
	size_t nadv;
	struct proc *procs;
	size_t cap; /* power of two */
	size_t nprocs;
	uint32_t nr_rss_procs;
	/* sum of every process's latest rss value, and its maximum */
	uint64_t total_cur, total_peak;
};

struct mt_summary *mt_summary__new(void)
{
	struct mt_summary *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->cap = 64;
	s->procs = calloc(s->cap, sizeof(*s->procs));
	if (!s->procs) {
		free(s);
		return NULL;
	}
	return s;
}

void mt_summary__free(struct mt_summary *s)
{
	if (!s)
		return;
	free(s->adv);
	free(s->procs);
	free(s);
}

static size_t pid_slot(const struct proc *t, size_t cap, uint32_t pid)
{
	size_t i = (pid * 2654435761u) & (cap - 1);

	while (t[i].used && t[i].pid != pid)
		i = (i + 1) & (cap - 1);
	return i;
}

static const struct proc *proc_find(const struct mt_summary *s, uint32_t pid)
{
	size_t i = pid_slot(s->procs, s->cap, pid);

	return s->procs[i].used ? &s->procs[i] : NULL;
}

static struct proc *proc_get(struct mt_summary *s, uint32_t pid)
{
	size_t i = pid_slot(s->procs, s->cap, pid);

	if (s->procs[i].used)
		return &s->procs[i];
	if ((s->nprocs + 1) * 2 > s->cap) {
		size_t ncap = s->cap * 2;
		struct proc *n = calloc(ncap, sizeof(*n));

		if (!n)
			return NULL;
		for (size_t k = 0; k < s->cap; k++)
			if (s->procs[k].used)
				n[pid_slot(n, ncap, s->procs[k].pid)] = s->procs[k];
		free(s->procs);
		s->procs = n;
		s->cap = ncap;
		i = pid_slot(s->procs, s->cap, pid);
	}
	s->procs[i].used = true;
	s->procs[i].pid = pid;
	s->nprocs++;
	return &s->procs[i];
}

static struct counts *advice_get(struct mt_summary *s, int advice)
{
	struct advice_counts *a;
	size_t i;

	for (i = 0; i < s->nadv && s->adv[i].advice < advice; i++)
		;
	if (i < s->nadv && s->adv[i].advice == advice)
		return &s->adv[i].c;
	a = realloc(s->adv, (s->nadv + 1) * sizeof(*a));
	if (!a)
		return NULL;
	s->adv = a;
	memmove(&a[i + 1], &a[i], (s->nadv - i) * sizeof(*a));
	memset(&a[i], 0, sizeof(*a));
	a[i].advice = advice;
	s->nadv++;
	return &a[i].c;
}

static const struct counts *advice_find(const struct mt_summary *s, int advice)
{
	for (size_t i = 0; i < s->nadv; i++)
		if (s->adv[i].advice == advice)
			return &s->adv[i].c;
	return NULL;
}

static int add_rss(struct mt_summary *s, const struct mt_rss *r)
{
	uint64_t v = r->anon + r->file + r->shmem;
	struct proc *p = proc_get(s, r->h.pid);

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
		s->nr_rss_procs++;
	}
	if (v > p->rss.peak)
		p->rss.peak = v;
	if ((r->h.flags & MT_F_SMAPS) && (!p->rss.has_lazyfree || r->h.t_ns >= p->lazy_t)) {
		p->lazy_t = r->h.t_ns;
		p->rss.lazyfree = r->lazyfree;
		p->rss.has_lazyfree = true;
	}
	s->total_cur = s->total_cur - p->cur + v;
	p->cur = v;
	if (s->total_cur > s->total_peak)
		s->total_peak = s->total_cur;
	return 0;
}

int mt_summary__add(struct mt_summary *s, const struct mt_hdr *rec)
{
	struct mt_call c;

	s->records++;
	if (!s->has_main) {
		s->has_main = true;
		s->main_pid = rec->pid;
	}
	/* a synthetic mmap (the mappings found at attach) describes state, not a call */
	if (mt_record_call(rec, &c) && !(rec->flags & MT_F_SYNTH)) {
		struct counts *k = &s->sys[rec->type];
		uint64_t bytes = c.failed ? 0 : c.bytes;

		if (rec->type == MT_BRK) {
			struct proc *p = proc_get(s, rec->pid);

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
			struct counts *a = advice_get(s, m->advice);

			if (!a)
				return -ENOMEM;
			a->calls++;
			a->errors += c.failed;
			a->bytes += bytes;
		}
		return 0;
	}
	switch (rec->type) {
	case MT_RSS:
		return add_rss(s, (const void *)rec);
	case MT_LOST:
		s->lost += ((const struct mt_lost *)(const void *)rec)->count;
		return 0;
	default:
		return 0;
	}
}

uint64_t mt_summary__calls(const struct mt_summary *s, uint16_t type)
{
	return type < MT_TYPE_MAX ? s->sys[type].calls : 0;
}

uint64_t mt_summary__errors(const struct mt_summary *s, uint16_t type)
{
	return type < MT_TYPE_MAX ? s->sys[type].errors : 0;
}

uint64_t mt_summary__bytes(const struct mt_summary *s, uint16_t type)
{
	return type < MT_TYPE_MAX ? s->sys[type].bytes : 0;
}

uint64_t mt_summary__advice_calls(const struct mt_summary *s, int advice)
{
	const struct counts *c = advice_find(s, advice);

	return c ? c->calls : 0;
}

uint64_t mt_summary__advice_errors(const struct mt_summary *s, int advice)
{
	const struct counts *c = advice_find(s, advice);

	return c ? c->errors : 0;
}

uint64_t mt_summary__advice_bytes(const struct mt_summary *s, int advice)
{
	const struct counts *c = advice_find(s, advice);

	return c ? c->bytes : 0;
}

uint64_t mt_summary__records(const struct mt_summary *s)
{
	return s->records;
}

uint64_t mt_summary__lost(const struct mt_summary *s)
{
	return s->lost;
}

uint32_t mt_summary__main_pid(const struct mt_summary *s)
{
	return s->main_pid;
}

uint32_t mt_summary__nr_rss_procs(const struct mt_summary *s)
{
	return s->nr_rss_procs;
}

bool mt_summary__rss(const struct mt_summary *s, uint32_t pid, struct mt_summary_rss *out)
{
	const struct proc *p = proc_find(s, pid);

	if (!p || !p->has_rss)
		return false;
	*out = p->rss;
	return true;
}

bool mt_summary__rss_total(const struct mt_summary *s, struct mt_summary_rss *out)
{
	memset(out, 0, sizeof(*out));
	if (!s->nr_rss_procs)
		return false;
	for (size_t i = 0; i < s->cap; i++) {
		const struct proc *p = &s->procs[i];

		if (!p->used || !p->has_rss)
			continue;
		out->first += p->rss.first;
		out->last += p->rss.last;
		if (p->rss.has_lazyfree) {
			out->lazyfree += p->rss.lazyfree;
			out->has_lazyfree = true;
		}
	}
	out->peak = s->total_peak;
	return true;
}

/* ---- printing ---- */

#define NAME_W 22
#define RULE "---------------------- ---------- -------- ------------"

static void print_row(FILE *out, const char *name, const struct counts *c)
{
	char size[32];

	fprintf(out, "%-*s %10" PRIu64 " %8" PRIu64 " %12s\n", NAME_W, name, c->calls, c->errors,
		mt_size_str(size, sizeof(size), c->bytes));
}

static void print_rss_row(FILE *out, const char *label, const struct mt_summary_rss *r)
{
	char a[32], b[32], c[32];

	fprintf(out, "%-*s %12s %12s %12s", NAME_W, label, mt_size_str(a, sizeof(a), r->first),
		mt_size_str(b, sizeof(b), r->last), mt_size_str(c, sizeof(c), r->peak));
	if (r->has_lazyfree)
		fprintf(out, "   (LazyFree %s)", mt_size_str(a, sizeof(a), r->lazyfree));
	fputc('\n', out);
}

void mt_summary__print(const struct mt_summary *s, FILE *out)
{
	struct counts total = { 0 };
	struct mt_summary_rss rss;
	char label[48];
	bool any = false;

	for (uint16_t t = 1; t < MT_TYPE_MAX; t++) {
		const struct mt_type_info *ti = mt_type_info(t);

		if (!s->sys[t].calls || !ti)
			continue;
		if (!any) {
			fprintf(out, "%-*s %10s %8s %12s\n%s\n", NAME_W, "syscall", "calls",
				"errors", "bytes", RULE);
			any = true;
		}
		print_row(out, ti->name, &s->sys[t]);
		total.calls += s->sys[t].calls;
		total.errors += s->sys[t].errors;
		total.bytes += s->sys[t].bytes;
	}
	if (any) {
		fprintf(out, "%s\n", RULE);
		fprintf(out, "%-*s %10" PRIu64 " %8" PRIu64 "\n", NAME_W, "total", total.calls,
			total.errors);
	} else {
		fprintf(out, "no memory syscalls recorded\n");
	}

	if (s->nadv) {
		fprintf(out, "\n%-*s %10s %8s %12s\n%s\n", NAME_W, "advice", "calls", "errors",
			"bytes", RULE);
		for (size_t i = 0; i < s->nadv; i++) {
			const char *name = mt_advice_name(s->adv[i].advice);

			if (!name) {
				snprintf(label, sizeof(label), "MADV_#%d", s->adv[i].advice);
				name = label;
			}
			print_row(out, name, &s->adv[i].c);
		}
	}

	if (s->nr_rss_procs) {
		fprintf(out, "\n%-*s %12s %12s %12s\n", NAME_W, "rss (anon+file+shmem)", "start",
			"end", "peak");
		if (mt_summary__rss(s, s->main_pid, &rss)) {
			snprintf(label, sizeof(label), "pid %" PRIu32, s->main_pid);
			print_rss_row(out, label, &rss);
		}
		if (s->nr_rss_procs > 1 || !proc_find(s, s->main_pid) ||
		    !proc_find(s, s->main_pid)->has_rss) {
			mt_summary__rss_total(s, &rss);
			snprintf(label, sizeof(label), "all %" PRIu32 " processes",
				 s->nr_rss_procs);
			print_rss_row(out, label, &rss);
		}
	}
	fprintf(out, "\nrecords: %" PRIu64 "   events lost: %" PRIu64 "\n", s->records, s->lost);
}
