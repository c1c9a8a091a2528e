/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * End-of-session summary: calls, errors and bytes per syscall and per
 * advice, RSS at the start and end of each traced process, records and
 * events lost. Fed the same records as the trace file, printed like
 * `strace -c`.
 */
#ifndef MT_SUMMARY_H
#define MT_SUMMARY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "madvtrace/record.h"

struct mt_summary;

/* RSS (anon + file + shmem) of one process, or summed over all of them. */
struct mt_summary_rss {
	uint64_t first; /* at its earliest rss record (by t_ns) */
	uint64_t last; /* at its latest rss record (by t_ns) */
	uint64_t peak; /* largest value seen */
	uint64_t lazyfree; /* LazyFree of the last rss record with smaps values */
	bool has_lazyfree;
};

struct mt_summary *mt_summary__new(void);
/* Count one record. 0, or -ENOMEM. */
int mt_summary__add(struct mt_summary *s, const struct mt_hdr *rec);
/* The table, for humans (stderr at the end of a session). */
void mt_summary__print(const struct mt_summary *s, FILE *out);
void mt_summary__free(struct mt_summary *s);

/* Per syscall record type (MT_MMAP..MT_MPROTECT). */
uint64_t mt_summary__calls(const struct mt_summary *s, uint16_t type);
uint64_t mt_summary__errors(const struct mt_summary *s, uint16_t type);
/* Length of the successful calls (mremap: new_len; brk: how far the break moved). */
uint64_t mt_summary__bytes(const struct mt_summary *s, uint16_t type);
/* Per madvise advice value (process_madvise: one per iovec entry). */
uint64_t mt_summary__advice_calls(const struct mt_summary *s, int advice);
uint64_t mt_summary__advice_errors(const struct mt_summary *s, int advice);
uint64_t mt_summary__advice_bytes(const struct mt_summary *s, int advice);
/* Records seen (all types), and the sum of the counts of lost records. */
uint64_t mt_summary__records(const struct mt_summary *s);
uint64_t mt_summary__lost(const struct mt_summary *s);
/* The first pid seen (the main target); 0 before any record. */
uint32_t mt_summary__main_pid(const struct mt_summary *s);
/* Number of processes with at least one rss record. */
uint32_t mt_summary__nr_rss_procs(const struct mt_summary *s);
/* RSS of pid; false if it had no rss record. */
bool mt_summary__rss(const struct mt_summary *s, uint32_t pid, struct mt_summary_rss *out);
/*
 * RSS summed over all processes: first = sum of first values, last = sum of
 * last values, peak = the largest sum of the most recently received values.
 * false if there was no rss record at all.
 */
bool mt_summary__rss_total(const struct mt_summary *s, struct mt_summary_rss *out);

#endif
