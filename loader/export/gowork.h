/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Go's own numbers in the exporter: for each watched Go process, its
 * metrics endpoint (/metrics of client_golang, or expvar's /debug/vars)
 * found by itself (gometrics.h) and scraped every interval, on one worker
 * thread of its own: never on the HTTP server's thread nor the collector's.
 * HeapReleased, HeapIdle and HeapInuse are published to a table that
 * scrapes read under the exporter's lock.
 */
#ifndef MT_EXPORT_GOWORK_H
#define MT_EXPORT_GOWORK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct mt_export;

/* Go's numbers of one process, as last scraped (bytes). */
struct mt_go_gauges {
	uint64_t heap_released, heap_idle, heap_inuse;
	uint32_t present; /* bit (1u << enum mt_gm_field) of each value the endpoint gave */
};

struct mt_gowork;

/* Start the worker (with every signal blocked). 0, or -errno said on stderr. */
int mt_gowork__start(struct mt_gowork **out, struct mt_export *x);
/* Stop and join (within a request's timeout). NULL is fine. */
void mt_gowork__stop(struct mt_gowork *w);
/* A Go process to sample (the collector's; any thread). Again for the same pid: nothing. */
void mt_gowork__watch(struct mt_gowork *w, pid_t pid);
/* Under the exporter's lock: pid's published numbers, or NULL. */
const struct mt_go_gauges *mt_gowork__gauges(struct mt_gowork *w, pid_t pid);

#endif
