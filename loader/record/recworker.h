/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The recorder's worker thread: the work that must not run on the event
 * path (the thread that drains the ring buffer or waits on the tracees).
 *
 *  - Residency passes: the drain thread copies a process's ranges out of
 *    the model (model/ranges.h: cheap) and hands them over; the worker
 *    counts their pages in /proc/PID/pagemap within a page budget and
 *    pushes an MT_RESIDENT record.
 *  - LazyFree on time: the drain thread tells it of every lazy release
 *    (MADV_FREE); once a burst is over (no lazy release for quiet_ns, or
 *    max_wait_ns after the first unsampled one) it reads smaps_rollup and
 *    pushes an MT_RSS sample, so LazyFree is on the timeline within tens of
 *    milliseconds instead of up to one smaps interval later. Every backend's
 *    records go through the sink, so this is the one place that decides.
 *
 *  - The C allocator of each program (alloc.h): asked for at the first
 *    smaps sample or release of a process's program, and again until the
 *    dynamic loader has mapped its libraries; once per program.
 *
 *  - The file mappings of each process (mappings.h): read when asked (at
 *    attach and exec, at a new executable file mapping, at a release stack
 *    whose ip is in no mapping written yet, or at a release stack a second
 *    after the last read, and at detach), at most once per MAPS_GAP_NS per
 *    process, each mapping written once.
 *
 * Records go to the handoff queue (handoff.h), never straight to the trace.
 */
#ifndef MT_RECWORKER_H
#define MT_RECWORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "handoff.h"
#include "madvtrace/record.h"

/* What the worker needs of a range: the model's struct mt_state_range has this layout. */
struct mt_rw_range {
	uint64_t start, end;
	uint32_t state; /* enum mt_rstate (1 committed, 2 lazy, 3 eager) */
	uint32_t _pad;
};

struct mt_recworker_opts {
	struct mt_handoff *out;
	uint64_t page_budget; /* pages read per pass at most; 0: 2^21 (8 GiB of 4 KiB pages) */
	uint64_t quiet_ns; /* 0: 10 ms */
	uint64_t max_wait_ns; /* 0: 100 ms */
	/* how late the backend's records reach us: a burst is over after quiet_ns plus this */
	uint64_t latency_ns;
	int verbose;
};

struct mt_recworker_stats {
	uint64_t passes, capped, failed; /* residency passes done, cut at the budget, failed */
	uint64_t pass_ns_total, pass_ns_max; /* their wall time */
	uint64_t pages_max; /* most pages read by one pass */
	uint64_t lazy_samples; /* prompt smaps samples taken */
	uint64_t coalesced; /* passes replaced by a newer one before they ran */
	uint64_t map_scans, mappings; /* /proc/PID/maps reads, mapping records written */
};

struct mt_recworker;

struct mt_recworker *mt_recworker__new(const struct mt_recworker_opts *o);
/* Start the thread (mt_worker__create: signals blocked, read-only powers). 0 or -errno. */
int mt_recworker__start(struct mt_recworker *w);
/*
 * Count pid's pages over ranges (in address order; taken over, freed by the
 * worker). When the worker falls behind (16 passes queued), a pass still
 * queued for pid is replaced: only the newest counts.
 */
void mt_recworker__pass(struct mt_recworker *w, pid_t pid, struct mt_rw_range *ranges, size_t n);
/* pid released memory lazily at t_ns (the record's time). */
void mt_recworker__lazy(struct mt_recworker *w, pid_t pid, uint64_t t_ns);
/* pid's program is running (it released, or was sampled): find its allocator once. */
void mt_recworker__alloc(struct mt_recworker *w, pid_t pid);
/* Read pid's file mappings soon and write the new ones (MT_MAPPING). */
void mt_recworker__maps(struct mt_recworker *w, pid_t pid);
/* A release stack of pid at t_ns is at ip: read its mappings if none written holds ip, or they are old. */
void mt_recworker__maps_ip(struct mt_recworker *w, pid_t pid, uint64_t ip, uint64_t t_ns);
/*
 * pid is held where its address space is still there (a ptrace exit stop):
 * the mappings asked for and not yet read are read now, and the caller waits
 * for them, up to timeout_ns (a short-lived program's libraries are otherwise
 * never read: the gap between reads outlasts it).
 */
void mt_recworker__maps_flush(struct mt_recworker *w, pid_t pid, uint64_t timeout_ns);
/* pid exec'd or exited: its pagemap is another address space's, or none. */
void mt_recworker__forget(struct mt_recworker *w, pid_t pid);
/* Finish the queued passes (not the pending lazy samples), stop and join. */
void mt_recworker__stop(struct mt_recworker *w);
void mt_recworker__stats(struct mt_recworker *w, struct mt_recworker_stats *st);
/* Stops first if needed. NULL is fine. */
void mt_recworker__free(struct mt_recworker *w);

/*
 * A program's description (mt_proc_emit_info: /proc/PID/exe, its ELF file,
 * its environment) on a thread of its own, off the thread that drains the
 * kernel: asked for at an exec, read by the worker while the process runs,
 * handed back whole (one process's records together, as the sink expects
 * them: exe= first) at the drain thread's next drain.
 */
struct mt_infowork;

/* Start its thread (mt_worker__create: after the privilege drop). NULL with errno set. */
struct mt_infowork *mt_infowork__start(void);
/* Describe pid's program (cheap: queued; beyond 4096 queued, dropped and counted). */
void mt_infowork__ask(struct mt_infowork *w, pid_t pid);
/*
 * On the drain thread: each described process's records to emit (in the
 * order made), then done(ctx, pid, image). Returns how many processes.
 */
size_t mt_infowork__drain(struct mt_infowork *w, int (*emit)(void *ctx, const struct mt_hdr *rec),
			  void (*done)(void *ctx, pid_t pid, bool go), void *ctx);
/* Describe what is queued, then stop the thread (records still to drain). */
void mt_infowork__finish(struct mt_infowork *w);
/* How many asks were dropped (the queue full). */
uint64_t mt_infowork__dropped(struct mt_infowork *w);
/* Finishes first if needed; NULL is fine. */
void mt_infowork__free(struct mt_infowork *w);

#endif
