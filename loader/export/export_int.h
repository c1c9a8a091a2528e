/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The exporter's shared state: the options, the process table the collector
 * fills every interval, and the lock that a scrape holds while it reads the
 * counters and renders (so each scrape sees one consistent snapshot).
 */
#ifndef MT_EXPORT_INT_H
#define MT_EXPORT_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "pidmap.h"
#include "count_bpf.h"
#include "cgroup.h"
#include "recmode.h"
#include "gowork.h"

struct mt_export_opts {
	const char *listen; /* ADDR:PORT */
	bool any_address;
	pid_t *pids;
	size_t npids;
	struct mt_cgroup_watch cgroups[MT_COUNT_MAX_CGROUPS];
	uint32_t ncgroups;
	char comms[MT_COUNT_MAX_COMMS][16];
	uint32_t ncomms;
	bool follow_forks;
	bool records; /* --records: the region model's gauges too (recmode.h) */
	bool no_go_metrics; /* --go-metrics off: never ask a Go program for its numbers */
	uint32_t max_procs;
	uint64_t grace_ns;
	uint64_t interval_ns;
	int verbose;
};

/* The /proc gauges of one process, from one read of status and smaps_rollup. */
struct mt_eproc_gauges {
	bool valid;
	uint64_t anon, file, shmem, swap, smaps_rss, lazyfree;
};

struct mt_eproc {
	pid_t pid;
	uint64_t exited_ns; /* 0 while it runs */
	bool gone; /* the collector's: found gone this pass */
	int status_fd, smaps_fd; /* kept open: a pass re-reads them with pread, -1: not open */
	char comm[16];
	bool go; /* a Go program (its build info said so): Go's numbers are asked for */
	/*
	 * MADV_FREE calls counted at the collector's last counter read, and at
	 * its last smaps_rollup read (UINT64_MAX: never read): LazyFree only
	 * grows through this process's own MADV_FREE, so while it was 0 and no
	 * such call came, smaps_rollup (the costly read) is skipped.
	 */
	uint64_t free_calls, free_calls_smaps;
	/* the label set, rendered once: pid="1",comm="x",... (escaped) */
	char *labels;
	struct mt_eproc_gauges g; /* committed under the lock */
	struct mt_eproc_gauges next; /* the collector's, unlocked */
};

struct mt_export {
	struct mt_export_opts *o;
	struct mt_count_bpf *cb;
	struct mt_export_rec *rec; /* --records; NULL without */
	struct mt_gowork *gow; /* Go's numbers; NULL with --go-metrics off */
	pthread_mutex_t lock;
	/* under lock */
	struct mt_pidmap procs; /* pid -> struct mt_eproc */
	uint64_t expired; /* processes whose series were dropped */
	uint32_t traced_now;
	uint32_t refused_procs; /* watched processes left untraced by the cap at the last pass */
	double sample_seconds; /* the last collector pass */
	double scrape_seconds; /* the last scrape */
	uint64_t scrapes;
};

/* One collector pass: watch lists, discovery, /proc reads, expiry. */
void mt_export__collect(struct mt_export *x, uint64_t now);
/* Release the table. */
void mt_export__free_procs(struct mt_export *x);
/*
 * The body of one scrape (malloc'd, *len bytes): OpenMetrics, or with om
 * false Prometheus' text format 0.0.4; NULL when out of memory.
 */
char *mt_export__render(struct mt_export *x, bool om, size_t *len);

#endif
