/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The exporter's records mode (`--metrics --records`): a second instance of
 * the eBPF program in records mode, sharing the counting instance's bitmap
 * of traced processes (so a process the counting program claims at its
 * first call has that call recorded too), drained on a thread of its own
 * into one region model (a timeline, model/timeline.h) per process. The
 * model's gauges are published to a table that scrapes read under the
 * exporter's lock: the drain thread only ever tries that lock, so a scrape
 * never holds the event path up.
 */
#ifndef MT_EXPORT_RECMODE_H
#define MT_EXPORT_RECMODE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct mt_export;

/* The region model's gauges of one process, as last published (bytes). */
struct mt_model_gauges {
	uint64_t reserved, committed, released_lazy, released_eager;
};

struct mt_export_rec;

/*
 * Load and attach; traced_fd is the counting instance's bitmap. One line
 * on stderr and -errno on failure.
 */
int mt_export_rec__start(struct mt_export_rec **out, struct mt_export *x, int traced_fd);
/*
 * Start the drain thread: after the privilege drop (capabilities are per
 * thread, and the thread is created with the caller's). 0, or -errno said.
 */
int mt_export_rec__run(struct mt_export_rec *r);
/* Stop and join the drain thread, detach, free. NULL is fine. */
void mt_export_rec__stop(struct mt_export_rec *r);
/* Under the exporter's lock: pid's published gauges, or NULL (no model, or exited). */
const struct mt_model_gauges *mt_export_rec__gauges(struct mt_export_rec *r, pid_t pid);
/* Under the exporter's lock: records lost (ring buffer full) so far. */
uint64_t mt_export_rec__lost(struct mt_export_rec *r);

#endif
