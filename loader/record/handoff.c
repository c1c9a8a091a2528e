// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The queue from the recorder's threads to the drain thread, and how those threads start. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "handoff.h"

/* a day of samples of a few processes; more means the drain thread stopped draining */
#define QUEUE_MAX (8u << 20)

void mt_handoff__init(struct mt_handoff *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
}

void mt_handoff__fini(struct mt_handoff *q)
{
	free(q->buf);
	pthread_mutex_destroy(&q->mu);
	q->buf = NULL;
	q->len = q->cap = 0;
}

bool mt_handoff__push(struct mt_handoff *q, const struct mt_hdr *rec)
{
	size_t sz = ((size_t)rec->size + 7) & ~(size_t)7;
	bool ok = true;

	pthread_mutex_lock(&q->mu);
	if (q->len + sz > q->cap) {
		size_t cap = q->cap ? q->cap : 4096;
		unsigned char *b;

		while (cap < q->len + sz)
			cap *= 2;
		b = cap <= QUEUE_MAX ? realloc(q->buf, cap) : NULL;
		if (!b) {
			q->dropped++;
			ok = false;
			goto out;
		}
		q->buf = b;
		q->cap = cap;
	}
	memcpy(q->buf + q->len, rec, rec->size);
	q->len += sz;
	__atomic_add_fetch(&q->pending, 1, __ATOMIC_RELAXED);
out:
	pthread_mutex_unlock(&q->mu);
	return ok;
}

size_t mt_handoff__drain(struct mt_handoff *q, void (*fn)(void *ctx, const struct mt_hdr *rec),
			 void *ctx)
{
	unsigned char *buf;
	size_t len, off, n = 0;

	/* take the whole buffer: fn runs without the lock, workers push into a new one */
	pthread_mutex_lock(&q->mu);
	buf = q->buf;
	len = q->len;
	q->buf = NULL;
	q->len = q->cap = 0;
	__atomic_store_n(&q->pending, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&q->mu);
	for (off = 0; off < len; n++) {
		const struct mt_hdr *rec = (const void *)(buf + off);

		fn(ctx, rec);
		off += ((size_t)rec->size + 7) & ~(size_t)7;
	}
	free(buf);
	return n;
}

void mt_worker__cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

bool mt_worker__wait_until(pthread_mutex_t *mu, pthread_cond_t *cv, const bool *stop,
			   uint64_t t_ns)
{
	struct timespec ts = { (time_t)(t_ns / 1000000000ull), (long)(t_ns % 1000000000ull) };
	bool stopped;

	pthread_mutex_lock(mu);
	while (!*stop && pthread_cond_timedwait(cv, mu, &ts) != ETIMEDOUT)
		;
	stopped = *stop;
	pthread_mutex_unlock(mu);
	return stopped;
}

void mt_worker__stop(pthread_t thr, pthread_mutex_t *mu, pthread_cond_t *cv,
		     pthread_cond_t *also, bool *stop)
{
	pthread_mutex_lock(mu);
	*stop = true;
	pthread_cond_signal(cv);
	if (also)
		pthread_cond_broadcast(also);
	pthread_mutex_unlock(mu);
	pthread_join(thr, NULL);
}

struct tramp {
	void *(*fn)(void *);
	void *arg;
};

static void *trampoline(void *p)
{
	struct tramp t = *(struct tramp *)p;

	free(p);
	return t.fn(t.arg);
}

int mt_worker__create(pthread_t *thr, void *(*fn)(void *), void *arg)
{
	struct tramp *t = malloc(sizeof(*t));
	sigset_t all, old;
	int err;

	if (!t)
		return -ENOMEM;
	t->fn = fn;
	t->arg = arg;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(thr, NULL, trampoline, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(t);
		return -err;
	}
	return 0;
}
