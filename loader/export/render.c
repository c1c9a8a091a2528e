// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One scrape: the counters read from the map now, the gauges of the last
 * collector pass, rendered as OpenMetrics text under the lock, so a scrape
 * never mixes two passes or two reads. Families are written whole (every
 * process's samples of one family together), as the format requires.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "madvtrace/syscalls.h"
#include "madvtrace.bpf.h"
#include "buf.h"
#include "procfs.h"
#include "xlat.h"
#include "gometrics.h"
#include "export_int.h"

#ifndef MT_VERSION
#define MT_VERSION "0.0.0"
#endif

static const char *const sc_names[] = {
#define MT_SC_NAME_(id, n64, nr64, n32, nr32, type) [MT_SC_##id] = n64 ? n64 : n32,
	MT_SYSCALLS(MT_SC_NAME_)
#undef MT_SC_NAME_
};

struct r {
	struct mt_export *x;
	bool om; /* OpenMetrics, else Prometheus text 0.0.4 */
	struct mt_buf b;
	struct mt_eproc **procs; /* by pid */
	size_t nprocs;
	const struct mt_counter *all;
	size_t n;
};

/*
 * A family's metadata. OpenMetrics names the family (the counter "x", its
 * samples "x_total") and has UNIT and info; Prometheus' text format 0.0.4,
 * for clients that do not ask for OpenMetrics (promtool, curl), names the
 * samples and knows neither.
 */
static void family(struct r *r, const char *name, const char *type, const char *help,
		   const char *unit)
{
	struct mt_buf *b = &r->b;
	const char *suffix = "";

	if (!r->om) {
		if (!strcmp(type, "counter"))
			suffix = "_total";
		else if (!strcmp(type, "info")) {
			suffix = "_info";
			type = "gauge";
		}
		unit = NULL;
	}
	mt_buf__lit(b, "# HELP ");
	mt_buf__str(b, name);
	mt_buf__str(b, suffix);
	mt_buf__chr(b, ' ');
	mt_buf__str(b, help);
	mt_buf__lit(b, "\n# TYPE ");
	mt_buf__str(b, name);
	mt_buf__str(b, suffix);
	mt_buf__chr(b, ' ');
	mt_buf__str(b, type);
	mt_buf__chr(b, '\n');
	if (unit) {
		mt_buf__lit(b, "# UNIT ");
		mt_buf__str(b, name);
		mt_buf__chr(b, ' ');
		mt_buf__str(b, unit);
		mt_buf__chr(b, '\n');
	}
}

/* name{labels[,extra]} value */
static void sample(struct mt_buf *b, const char *name, const char *labels, const char *extra,
		   uint64_t v)
{
	mt_buf__str(b, name);
	if ((labels && *labels) || (extra && *extra)) {
		mt_buf__chr(b, '{');
		if (labels)
			mt_buf__str(b, labels);
		if (extra && *extra) {
			if (labels && *labels)
				mt_buf__chr(b, ',');
			mt_buf__str(b, extra);
		}
		mt_buf__chr(b, '}');
	}
	mt_buf__chr(b, ' ');
	mt_buf__u64(b, v);
	mt_buf__chr(b, '\n');
}

static void sample_f(struct mt_buf *b, const char *name, double v)
{
	char num[64];

	snprintf(num, sizeof(num), "%.6f", v);
	mt_buf__str(b, name);
	mt_buf__chr(b, ' ');
	mt_buf__str(b, num);
	mt_buf__chr(b, '\n');
}

/* syscall="madvise",advice="MADV_FREE" */
static void call_labels(char *out, size_t len, const struct mt_counter *c)
{
	struct mt_buf b;

	mt_buf__init_str(&b, out, len);
	mt_buf__lit(&b, "syscall=\"");
	mt_buf__str(&b, c->sc < MT_SC_NR ? sc_names[c->sc] : "unknown");
	mt_buf__chr(&b, '"');
	if (c->advice != MT_COUNT_NO_ADVICE) {
		mt_buf__lit(&b, ",advice=\"");
		if (c->advice == MT_COUNT_ADVICE_OTHER)
			mt_buf__lit(&b, "other");
		else
			mt_xlat__advice(&b, c->advice);
		mt_buf__chr(&b, '"');
	}
	mt_buf__cstr(&b);
}

enum field { F_CALLS, F_BYTES, F_ERRORS, F_LOST };

static void counters(struct r *r, const char *name, enum field f)
{
	char extra[128];
	size_t i, j;

	for (i = 0; i < r->nprocs; i++) {
		struct mt_eproc *p = r->procs[i];

		j = mt_counter__find(r->all, r->n, p->pid);
		for (; j < r->n && r->all[j].tgid == (uint32_t)p->pid; j++) {
			const struct mt_counter *c = &r->all[j];

			if ((f == F_LOST) != (c->sc == MT_COUNT_LOST_SC))
				continue;
			if (f == F_LOST) {
				sample(&r->b, name, p->labels, NULL, c->calls);
				continue;
			}
			call_labels(extra, sizeof(extra), c);
			sample(&r->b, name, p->labels, extra,
			       f == F_CALLS ? c->calls : f == F_BYTES ? c->bytes : c->errors);
		}
	}
}

enum gauge { G_ANON, G_FILE, G_SHMEM, G_SWAP, G_LAZYFREE, G_RSS_MINUS_LAZYFREE };

static void gauges(struct r *r, const char *name, enum gauge g)
{
	static const char *const kinds[] = { "kind=\"anon\"", "kind=\"file\"", "kind=\"shmem\"" };
	size_t i;

	for (i = 0; i < r->nprocs; i++) {
		const struct mt_eproc_gauges *v = &r->procs[i]->g;
		const char *labels = r->procs[i]->labels;

		if (!v->valid)
			continue; /* exited: its gauges went with it */
		switch (g) {
		case G_ANON:
		case G_FILE:
		case G_SHMEM:
			sample(&r->b, name, labels, kinds[g],
			       g == G_ANON ? v->anon : g == G_FILE ? v->file : v->shmem);
			break;
		case G_SWAP:
			sample(&r->b, name, labels, NULL, v->swap);
			break;
		case G_LAZYFREE:
			sample(&r->b, name, labels, NULL, v->lazyfree);
			break;
		case G_RSS_MINUS_LAZYFREE:
			sample(&r->b, name, labels, NULL,
			       v->smaps_rss > v->lazyfree ? v->smaps_rss - v->lazyfree : 0);
			break;
		}
	}
}

/* The region model's gauges (--records): each metric and its field. */
static const struct {
	const char *name, *help;
	size_t off; /* of its uint64_t in struct mt_model_gauges */
} model_metrics[] = {
	{ "madvtrace_released_lazy_bytes",
	  "Region model (--records): released with MADV_FREE and not used or unmapped since; "
	  "resident until reclaim.",
	  offsetof(struct mt_model_gauges, released_lazy) },
	{ "madvtrace_released_eager_bytes",
	  "Region model (--records): released with MADV_DONTNEED, MADV_REMOVE or a PROT_NONE "
	  "remap, still mapped.",
	  offsetof(struct mt_model_gauges, released_eager) },
	{ "madvtrace_committed_bytes", "Region model (--records): mapped accessible and not released.",
	  offsetof(struct mt_model_gauges, committed) },
	{ "madvtrace_reserved_bytes", "Region model (--records): mapped PROT_NONE (address space only).",
	  offsetof(struct mt_model_gauges, reserved) },
};

/* Go's own numbers: each metric, its field in struct mt_go_gauges and its bit in present. */
static const struct {
	const char *name, *help;
	size_t off;
	enum mt_gm_field f;
} go_metrics[] = {
	{ "madvtrace_go_heap_released_bytes",
	  "Go's runtime.MemStats HeapReleased, from the program's own /metrics or /debug/vars.",
	  offsetof(struct mt_go_gauges, heap_released), MT_GM_HEAP_RELEASED },
	{ "madvtrace_go_heap_idle_bytes",
	  "Go's runtime.MemStats HeapIdle, from the program's own endpoint.",
	  offsetof(struct mt_go_gauges, heap_idle), MT_GM_HEAP_IDLE },
	{ "madvtrace_go_heap_inuse_bytes",
	  "Go's runtime.MemStats HeapInuse, from the program's own endpoint.",
	  offsetof(struct mt_go_gauges, heap_inuse), MT_GM_HEAP_INUSE },
};

static uint64_t field_at(const void *g, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)g + off, sizeof(v));
	return v;
}

/* The region model's gauges, each of the processes that have a model now. */
static void model_gauges(struct r *r)
{
	size_t m, i;

	for (m = 0; m < sizeof(model_metrics) / sizeof(model_metrics[0]); m++) {
		family(r, model_metrics[m].name, "gauge", model_metrics[m].help, "bytes");
		for (i = 0; i < r->nprocs; i++) {
			const struct mt_model_gauges *g =
				mt_export_rec__gauges(r->x->rec, r->procs[i]->pid);

			if (!g || r->procs[i]->exited_ns)
				continue;
			sample(&r->b, model_metrics[m].name, r->procs[i]->labels, NULL,
			       field_at(g, model_metrics[m].off));
		}
	}
}

/* Go's own numbers, each of the Go processes whose endpoint answered at the worker's last pass. */
static void go_gauges(struct r *r)
{
	size_t m, i;

	for (m = 0; m < sizeof(go_metrics) / sizeof(go_metrics[0]); m++) {
		family(r, go_metrics[m].name, "gauge", go_metrics[m].help, "bytes");
		for (i = 0; i < r->nprocs; i++) {
			const struct mt_go_gauges *g = mt_gowork__gauges(r->x->gow, r->procs[i]->pid);

			if (!g || r->procs[i]->exited_ns || !(g->present & (1u << go_metrics[m].f)))
				continue;
			sample(&r->b, go_metrics[m].name, r->procs[i]->labels, NULL,
			       field_at(g, go_metrics[m].off));
		}
	}
}

static int cmp_proc(const void *a, const void *b)
{
	pid_t x = (*(struct mt_eproc *const *)a)->pid, y = (*(struct mt_eproc *const *)b)->pid;

	return x < y ? -1 : x > y;
}

char *mt_export__render(struct mt_export *x, bool om, size_t *len)
{
	uint64_t t0 = mt_now_ns();
	struct r r = { .x = x, .om = om };
	char stack[16384], *body = NULL;
	size_t it, size = 0;
	uint32_t pid;
	void *val;
	FILE *f = open_memstream(&body, &size);
	int err;

	if (!f)
		return NULL;
	mt_buf__init(&r.b, stack, sizeof(stack), f);
	pthread_mutex_lock(&x->lock);
	err = mt_count_bpf__read(x->cb, &r.all, &r.n);
	if (err)
		r.n = 0;
	r.procs = calloc(x->procs.n ? x->procs.n : 1, sizeof(*r.procs));
	if (r.procs) {
		for (it = 0; mt_pidmap__next(&x->procs, &it, &pid, &val);)
			r.procs[r.nprocs++] = val;
		qsort(r.procs, r.nprocs, sizeof(*r.procs), cmp_proc);
	}

	family(&r, "madvtrace_calls", "counter",
	       "Calls made by the process, by syscall and madvise advice.", NULL);
	counters(&r, "madvtrace_calls_total", F_CALLS);
	family(&r, "madvtrace_call_bytes", "counter",
	       "Length argument of the process's successful calls (mremap: the new length; "
	       "process_madvise: bytes advised), by syscall and advice.", "bytes");
	counters(&r, "madvtrace_call_bytes_total", F_BYTES);
	family(&r, "madvtrace_call_errors", "counter",
	       "Calls that failed (returned -errno), by syscall and advice.", NULL);
	counters(&r, "madvtrace_call_errors_total", F_ERRORS);
	family(&r, "madvtrace_process_events_lost", "counter",
	       "Calls of the process not counted: the counter map was full.", NULL);
	counters(&r, "madvtrace_process_events_lost_total", F_LOST);
	family(&r, "madvtrace_rss_bytes", "gauge",
	       "Resident memory by kind, from /proc/PID/status (RssAnon, RssFile, RssShmem).",
	       "bytes");
	gauges(&r, "madvtrace_rss_bytes", G_ANON);
	gauges(&r, "madvtrace_rss_bytes", G_FILE);
	gauges(&r, "madvtrace_rss_bytes", G_SHMEM);
	family(&r, "madvtrace_swap_bytes", "gauge", "Swapped-out memory (VmSwap).", "bytes");
	gauges(&r, "madvtrace_swap_bytes", G_SWAP);
	family(&r, "madvtrace_lazyfree_bytes", "gauge",
	       "Released with MADV_FREE but still resident until reclaim (smaps_rollup LazyFree).",
	       "bytes");
	gauges(&r, "madvtrace_lazyfree_bytes", G_LAZYFREE);
	family(&r, "madvtrace_rss_minus_lazyfree_bytes", "gauge",
	       "smaps_rollup Rss minus LazyFree: what the process would keep after reclaim.",
	       "bytes");
	gauges(&r, "madvtrace_rss_minus_lazyfree_bytes", G_RSS_MINUS_LAZYFREE);
	if (x->rec)
		model_gauges(&r);
	if (x->gow)
		go_gauges(&r);
	family(&r, "madvtrace_events_lost", "counter",
	       "Counter updates lost because the counter map was full (all processes).", NULL);
	sample(&r.b, "madvtrace_events_lost_total", NULL, NULL, mt_count_bpf__lost(x->cb));
	if (x->rec) {
		family(&r, "madvtrace_records_lost", "counter",
		       "Records lost because the ring buffer was full (--records): the models "
		       "miss those calls.", NULL);
		sample(&r.b, "madvtrace_records_lost_total", NULL, NULL, mt_export_rec__lost(x->rec));
	}
	family(&r, "madvtrace_processes_tracked", "gauge",
	       "Processes with series now (traced, or exited within the grace period).", NULL);
	sample(&r.b, "madvtrace_processes_tracked", NULL, NULL, x->procs.n);
	family(&r, "madvtrace_processes_traced", "gauge",
	       "Processes traced in the kernel at the last collector pass.", NULL);
	sample(&r.b, "madvtrace_processes_traced", NULL, NULL, x->traced_now);
	family(&r, "madvtrace_processes_max", "gauge",
	       "Cap on processes traced at once (--max-processes).", NULL);
	sample(&r.b, "madvtrace_processes_max", NULL, NULL, x->o->max_procs);
	family(&r, "madvtrace_processes_refused", "gauge",
	       "Watched processes left untraced by the cap at the last collector pass.", NULL);
	sample(&r.b, "madvtrace_processes_refused", NULL, NULL, x->refused_procs);
	family(&r, "madvtrace_cap_refused_calls", "counter",
	       "Calls of watched processes not traced because the cap was reached.", NULL);
	sample(&r.b, "madvtrace_cap_refused_calls_total", NULL, NULL, mt_count_bpf__refused(x->cb));
	family(&r, "madvtrace_processes_expired", "counter",
	       "Exited processes whose series were dropped after the grace period.", NULL);
	sample(&r.b, "madvtrace_processes_expired_total", NULL, NULL, x->expired);
	family(&r, "madvtrace_sample_duration_seconds", "gauge",
	       "Time the last collector pass took (/proc reads, discovery).", "seconds");
	sample_f(&r.b, "madvtrace_sample_duration_seconds", x->sample_seconds);
	family(&r, "madvtrace_build", "info", "madvtrace's version.", NULL);
	mt_buf__lit(&r.b, "madvtrace_build_info{version=\"" MT_VERSION "\",mode=\"");
	mt_buf__str(&r.b, x->rec ? "records" : "counting");
	mt_buf__lit(&r.b, "\"} 1\n");
	family(&r, "madvtrace_scrape_duration_seconds", "gauge",
	       "Time this scrape took to read the counters and render, up to this line.",
	       "seconds");
	x->scrape_seconds = (mt_now_ns() - t0) / 1e9;
	x->scrapes++;
	sample_f(&r.b, "madvtrace_scrape_duration_seconds", x->scrape_seconds);
	pthread_mutex_unlock(&x->lock);
	if (om)
		mt_buf__lit(&r.b, "# EOF\n");
	free(r.procs);
	if (mt_buf__flush(&r.b) < 0 || fclose(f)) {
		free(body);
		return NULL;
	}
	*len = size;
	return body;
}
