/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The timeline's insides, shared by its files and by no one else:
 *	timeline.c  lifecycle, finish, queries
 *	proc.c      the process table: one region model per traced process
 *	sampler.c   time: the bounded sample grid and the due gauge intervals
 *	feed.c      records applied to the processes, the gauges and the summary
 *	gofeed.c    Go's numbers and the pagemap passes, reconciled per Go process
 *	tally.c     the end-of-session table: calls as delivered, RSS per process
 *	pview.c     what the verdict knows of each process, exited ones too
 *	verdict.c   findings (English sentences) about the trace and about one process
 *	procs_verdict.c  which processes the verdict explains, in which order
 *	alloc_verdict.c  what a C allocator's release explains (verdict.c calls it)
 */
#ifndef MT_TIMELINE_INT_H
#define MT_TIMELINE_INT_H

#include "pidmap.h"
#include "timeline.h"
#include "pview.h"

#define TOP_KEEP 16
#define TID_SLOTS 8
#define EXITED_KEEP 64

struct last_call {
	uint64_t t_ns;
	uint32_t tid;
	uint8_t cls;
	bool valid;
};

struct proc {
	uint32_t pid;
	struct mt_regions *rs;
	bool exited;
	bool have_rss, have_smaps;
	uint64_t anon, file, shmem, swap, lazyfree, smaps_rss;
	struct last_call calls[TID_SLOTS]; /* the last call of each recent thread */
	unsigned int call_next;
	uint8_t last_cls; /* the process's last call */
	char comm[MT_COMM_LEN];
	/* Go's numbers and the pagemap pass (gostat, resident records) */
	bool have_go, have_res;
	struct mt_gostat go;
	struct mt_resident res;
	uint64_t gostat_records, resident_records;
	uint64_t heap_candidates, not_heap; /* the model's committed bytes at the resident record */
	uint64_t release_calls;
};

struct mt_advice_tally {
	int advice;
	struct mt_tally t;
};

struct mt_timeline {
	struct mt_timeline_opts opts;
	struct mt_pidmap procs; /* pid -> struct proc: the processes modelled now */
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
	/* due gauge intervals (live --gauges) */
	uint64_t gauge_iv, gauge_next;
	struct mt_gauges gauge_prev;
	/* unmapped mappings that released the most */
	struct mt_mapping_info retired[TOP_KEEP];
	size_t nretired;
	struct mt_finding *findings;
	size_t nfindings;
	/* processes dropped at exit, so their late records are not taken for a new one */
	uint32_t gone[EXITED_KEEP];
	unsigned int gone_next;
	/* the end-of-session table (tally.c) */
	struct mt_advice_tally *adv; /* sorted by advice value */
	size_t nadv;
	struct mt_pidmap facts; /* pid -> struct pid_facts, for every process seen */
	uint64_t rss_total_cur, rss_total_peak;
	/* Go processes: their reconciliation (gorecon.h), and how many give each Go gauge */
	struct mt_recon recon[MT_RECON_MAX];
	size_t nrecon;
	uint32_t recon_left_out;
	uint32_t go_rel_procs, go_inuse_procs;
	/* the verdict's view of every process seen (pview.c), and whether the agent spoke */
	struct mt_pidmap views;
	bool agent_seen;
	/* while the verdict speaks of one process of several: its findings' prefix and pid */
	char vprefix[72];
	uint32_t vpid;
	int err;
};

/* Time arithmetic that stops at the end of time instead of wrapping (a damaged record's t_ns). */
static inline uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static inline uint64_t mul_sat(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* proc.c */
struct proc *mt_tlproc__find(struct mt_timeline *tl, uint32_t pid);
/* A new process; parent (may be NULL) is a fork's: its model is copied. */
struct proc *mt_tlproc__new(struct mt_timeline *tl, uint32_t pid, const struct proc *parent);
/* Take a process's gauges out of the totals and forget it. */
void mt_tlproc__drop(struct mt_timeline *tl, struct proc *p, uint64_t t);
/* Dropped recently (its late records are ignored), and a pid used again. */
bool mt_tlproc__is_gone(const struct mt_timeline *tl, uint32_t pid);
void mt_tlproc__forget_gone(struct mt_timeline *tl, uint32_t pid);
void mt_tlproc__note_call(struct proc *p, uint32_t tid, uint64_t t, enum mt_call_class cls);
enum mt_call_class mt_tlproc__last_call(const struct proc *p, uint32_t tid, uint64_t t);
void mt_tlproc__free_all(struct mt_timeline *tl);

/* sampler.c */
/* Time moves to t (clamped to never go back): grid samples and gauge intervals due. */
int mt_sampler__time_passes(struct mt_timeline *tl, uint64_t t);
/* Sampling as the options ask. */
void mt_sampler__init(struct mt_timeline *tl);
/* The final sample, at the last time seen. */
int mt_sampler__finish(struct mt_timeline *tl);

/* tally.c */
int mt_tally__add(struct mt_timeline *tl, const struct mt_hdr *rec);
void mt_tally__free(struct mt_timeline *tl);

/* gofeed.c: gostat and resident records, and the reconciliation of each Go process */
void mt_tlgo__feed(struct mt_timeline *tl, struct proc *p, const struct mt_hdr *rec);
/* Work out p's reconciliation again from its latest figures (a Go process only). */
void mt_tlgo__reconcile(struct mt_timeline *tl, const struct proc *p);
/* A process's Go gauges out of the totals (it is dropped). */
void mt_tlgo__drop(struct mt_timeline *tl, const struct proc *p);

/* gorecon_verdict.c: the reconciliation in words, of pid (nothing unless it is a Go process) */
void mt_gorecon__verdict(struct mt_timeline *tl, uint32_t pid);
/* The Go processes past MT_RECON_MAX, in one sentence. */
void mt_gorecon__left_out(struct mt_timeline *tl);

/* pview.c */
struct mt_pview *mt_pview__find(const struct mt_timeline *tl, uint32_t pid);
/* The view of pid, made on first use (NULL and tl->err set when out of memory). */
struct mt_pview *mt_pview__get(struct mt_timeline *tl, uint32_t pid);
/* A fork: the child's view (a new one when its pid was an exited process's). */
struct mt_pview *mt_pview__fork(struct mt_timeline *tl, struct mt_pview *parent, uint32_t child);
/* An exec: the facts of the old program go. */
void mt_pview__exec(struct mt_pview *v);
/* An info record's key and value (not NUL-terminated). 0 or -ENOMEM. */
int mt_pview__info(struct mt_pview *v, const char *key, size_t klen, const char *val, size_t vlen);
/* The region model's state as the process leaves it (its exit, or the end of the trace). */
void mt_pview__snapshot(struct mt_pview *v, const struct mt_regions *rs);
/* The slot of an advice value in mt_pview.adv, or -1 when the verdict does not count it. */
int mt_pview__adv_slot(int advice);
const char *mt_pview__env_name(enum mt_alloc_env k);
/* Every view, most important first (released the most, then most RSS): *out is to free. */
size_t mt_pview__sorted(const struct mt_timeline *tl, const struct mt_pview ***out);
void mt_pview__free_all(struct mt_timeline *tl);

/* What the backend could see of one process (verdict.c). */
struct mt_vis {
	bool preload;	    /* recorded by the preload agent */
	bool raw_blind;	    /* calls inside libc and raw system calls are not in the trace */
	bool catch_known;   /* the agent said whether it caught them (agent.catch) */
	const char *why;    /* agent.catch: "on", or why not */
	const char *uncaught; /* agent.uncaught: what it leaves out even when catching */
	bool attached;	    /* the trace began at an attach: earlier calls are not in it */
	uint64_t attach_ns;
	uint64_t lost; /* events lost in the trace */
};
void mt_vis__of(const struct mt_timeline *tl, const struct mt_pview *v, struct mt_vis *vis);
/* The process's raw system calls may be missing from the trace (gorecon_verdict.c asks). */
bool mt_verdict__blind(const struct mt_timeline *tl, uint32_t pid);

/* alloc_verdict.c: the allocator's findings for one process (nothing when none is recorded) */
void mt_alloc__verdict(struct mt_timeline *tl, const struct mt_pview *v, const struct mt_vis *vis);

/* verdict.c: the trace's scope and warnings; every finding about one process */
void mt_verdict__scope(struct mt_timeline *tl);
void mt_verdict__explain(struct mt_timeline *tl, const struct mt_pview *v);
/* procs_verdict.c: the whole verdict, the processes that matter first */
void mt_verdict__build(struct mt_timeline *tl);
void __attribute__((format(printf, 3, 4)))
mt_verdict__add(struct mt_timeline *tl, const char *kind, const char *fmt, ...);

#endif
