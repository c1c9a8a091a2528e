/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Records made on the recorder's own threads (Go metrics, pagemap passes,
 * prompt smaps samples) reach the trace and the timeline through this
 * queue: any thread pushes, the thread that owns the writer and the
 * timeline (the backend's) drains at its next record or tick. The drain
 * thread never waits on a worker: pushing and draining only swap buffers
 * under a lock.
 */
#ifndef MT_HANDOFF_H
#define MT_HANDOFF_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "madvtrace/record.h"

struct mt_handoff {
	pthread_mutex_t mu;
	unsigned char *buf; /* records back to back, each padded to 8 bytes */
	size_t len, cap;
	int pending; /* records in buf: read without the lock by the drain side */
	uint64_t dropped; /* pushed while the queue was full (the drain side stalled) */
};

void mt_handoff__init(struct mt_handoff *q);
void mt_handoff__fini(struct mt_handoff *q);
/* Copy rec in. Thread-safe. false when it had to be dropped (counted). */
bool mt_handoff__push(struct mt_handoff *q, const struct mt_hdr *rec);
/* Hand each queued record to fn, in push order, on the caller's thread; returns how many. */
size_t mt_handoff__drain(struct mt_handoff *q, void (*fn)(void *ctx, const struct mt_hdr *rec),
			 void *ctx);
/* Anything to drain? (a hint, without the lock: cheap enough for every record) */
static inline bool mt_handoff__pending(struct mt_handoff *q)
{
	return __atomic_load_n(&q->pending, __ATOMIC_RELAXED) != 0;
}

/*
 * Start a worker thread of the recorder: every signal blocked (the
 * backend's thread takes them: its waitpid must be the one interrupted).
 * Credentials are per thread: start workers after the backend's privilege
 * drop (mt_privs__drop, the session's start hook), so they inherit it.
 * 0 or -errno.
 */
int mt_worker__create(pthread_t *thr, void *(*fn)(void *), void *arg);
/* A condition variable whose timed waits are on CLOCK_MONOTONIC (the records' clock). */
void mt_worker__cond_init(pthread_cond_t *cv);
/*
 * A worker's sleep: until t_ns (CLOCK_MONOTONIC, cv made by
 * mt_worker__cond_init) or *stop, set under mu. Lock not held; true when stopped.
 */
bool mt_worker__wait_until(pthread_mutex_t *mu, pthread_cond_t *cv, const bool *stop,
			   uint64_t t_ns);
/* Stop a worker: *stop set, cv signalled (and also broadcast, if not NULL) under mu; then joined. */
void mt_worker__stop(pthread_t thr, pthread_mutex_t *mu, pthread_cond_t *cv,
		     pthread_cond_t *also, bool *stop);

#endif
