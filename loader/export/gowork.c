// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Go's own numbers (gowork.h). One worker thread for all Go processes: each
 * pass (every --interval) it scrapes each known endpoint once, in turn, with
 * short timeouts, so a hung endpoint costs the other processes' freshness at
 * most one request's timeout, and never a scrape of the exporter or the
 * drain of calls. A process whose endpoint is not found yet (a program not
 * listening yet, or one without metrics) is looked for again with a backoff
 * from 5 s to 5 min: discovery asks each of its listening sockets. A failed
 * scrape withdraws the process's numbers (stale ones would mislead) and
 * looks for the endpoint again at the next pass (the port may have moved).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gometrics.h"
#include "handoff.h"
#include "pidmap.h"
#include "procfs.h"
#include "export_int.h"
#include "gowork.h"

#define URL_LEN 512
#define FIND_FIRST_NS (5ull * 1000000000ull)
#define FIND_MAX_NS (300ull * 1000000000ull)
#define JOIN_NS (3ull * 1000000000ull)

struct gproc {
	char url[URL_LEN]; /* "" until found */
	uint64_t next_find_ns;
	uint64_t find_every_ns;
};

struct mt_gowork {
	struct mt_export *x;
	pthread_t thread;
	bool running;
	pthread_mutex_t mu; /* pending, stop, done */
	pthread_cond_t cv;  /* CLOCK_MONOTONIC */
	bool stop, done;
	pid_t *pending;
	size_t npending, cap;
	struct mt_pidmap procs; /* pid -> struct gproc: the worker's */
	/* under x->lock */
	struct mt_pidmap pub; /* pid -> struct mt_go_gauges */
};

static const struct mt_gm_fetch_opts fetch = {
	.connect_timeout_ms = 250,
	.timeout_ms = 1000,
};

/* Publish pid's numbers, or withdraw them (s NULL). */
static void publish(struct mt_gowork *w, pid_t pid, const struct mt_gm_sample *s)
{
	struct mt_go_gauges *g;

	pthread_mutex_lock(&w->x->lock);
	if (!s) {
		free(mt_pidmap__delete(&w->pub, (uint32_t)pid));
		goto unlock;
	}
	g = mt_pidmap__find(&w->pub, (uint32_t)pid);
	if (!g) {
		g = malloc(sizeof(*g));
		if (g && mt_pidmap__insert(&w->pub, (uint32_t)pid, g)) {
			free(g);
			g = NULL;
		}
	}
	if (g) {
		g->heap_released = s->v[MT_GM_HEAP_RELEASED];
		g->heap_idle = s->v[MT_GM_HEAP_IDLE];
		g->heap_inuse = s->v[MT_GM_HEAP_INUSE];
		g->present = s->present;
	}
unlock:
	pthread_mutex_unlock(&w->x->lock);
}

static bool stopping(struct mt_gowork *w)
{
	return __atomic_load_n(&w->stop, __ATOMIC_RELAXED);
}

/* The pids the collector named since the last pass. */
static void take_pending(struct mt_gowork *w, uint64_t now)
{
	size_t i;

	pthread_mutex_lock(&w->mu);
	for (i = 0; i < w->npending; i++) {
		struct gproc *g;

		if (mt_pidmap__find(&w->procs, (uint32_t)w->pending[i]))
			continue;
		g = calloc(1, sizeof(*g));
		if (!g)
			break;
		g->next_find_ns = now;
		g->find_every_ns = FIND_FIRST_NS;
		if (mt_pidmap__insert(&w->procs, (uint32_t)w->pending[i], g))
			free(g);
	}
	w->npending = 0;
	pthread_mutex_unlock(&w->mu);
}

static void pass(struct mt_gowork *w)
{
	char reason[MT_GM_REASON_LEN];
	struct mt_gm_sample s;
	uint64_t now = mt_now_ns();
	size_t it;
	uint32_t pid;
	void *val;
	bool again = true;

	take_pending(w, now);
	/* the gone first: deleting shifts the table, so walk again after each */
	while (again) {
		again = false;
		for (it = 0; mt_pidmap__next(&w->procs, &it, &pid, &val);) {
			if (mt_proc_alive((pid_t)pid))
				continue;
			mt_pidmap__delete(&w->procs, pid);
			free(val);
			publish(w, (pid_t)pid, NULL);
			again = true;
			break;
		}
	}
	for (it = 0; !stopping(w) && mt_pidmap__next(&w->procs, &it, &pid, &val);) {
		struct gproc *g = val;

		if (g->url[0]) {
			if (!mt_gm_scrape(g->url, &fetch, &s, reason, sizeof(reason))) {
				publish(w, (pid_t)pid, &s);
				continue;
			}
			g->url[0] = '\0';
			g->next_find_ns = now; /* the port may have moved: look at once */
			g->find_every_ns = FIND_FIRST_NS;
			publish(w, (pid_t)pid, NULL);
			continue;
		}
		if (now < g->next_find_ns)
			continue;
		if (!mt_gm_discover((pid_t)pid, &fetch, g->url, sizeof(g->url), &s, reason,
				    sizeof(reason))) {
			publish(w, (pid_t)pid, &s);
			continue;
		}
		g->url[0] = '\0';
		g->next_find_ns = mt_now_ns() + g->find_every_ns;
		if (g->find_every_ns < FIND_MAX_NS)
			g->find_every_ns *= 2;
	}
}

static void *run(void *arg)
{
	struct mt_gowork *w = arg;
	uint64_t next = mt_now_ns();

	while (!mt_worker__wait_until(&w->mu, &w->cv, &w->stop, next)) {
		uint64_t t0 = mt_now_ns();

		pass(w);
		next = t0 + w->x->o->interval_ns;
	}
	pthread_mutex_lock(&w->mu);
	w->done = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int mt_gowork__start(struct mt_gowork **out, struct mt_export *x)
{
	struct mt_gowork *w = calloc(1, sizeof(*w));
	pthread_condattr_t ca;
	sigset_t all, old;
	int err;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->x = x;
	mt_pidmap__init(&w->procs);
	mt_pidmap__init(&w->pub);
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&w->thread, NULL, run, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		fprintf(stderr, "madvtrace: cannot start the Go metrics worker: %s\n", strerror(-err));
		mt_gowork__stop(w);
		return err;
	}
	w->running = true;
	*out = w;
	return 0;
}

void mt_gowork__stop(struct mt_gowork *w)
{
	struct timespec ts;
	uint64_t t = mt_now_ns() + JOIN_NS;
	size_t it;
	uint32_t pid;
	void *val;
	bool done;

	if (!w)
		return;
	if (w->running) {
		pthread_mutex_lock(&w->mu);
		__atomic_store_n(&w->stop, true, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&w->cv);
		ts.tv_sec = (time_t)(t / 1000000000ull);
		ts.tv_nsec = (long)(t % 1000000000ull);
		while (!w->done && pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
			;
		done = w->done;
		pthread_mutex_unlock(&w->mu);
		/*
		 * A discovery in progress (bounded, but up to 10 s) cannot be
		 * cut short: the process is exiting, leave the worker to it
		 * rather than free what it still uses.
		 */
		if (!done)
			return;
		pthread_join(w->thread, NULL);
	}
	for (it = 0; mt_pidmap__next(&w->procs, &it, &pid, &val);)
		free(val);
	mt_pidmap__fini(&w->procs);
	for (it = 0; mt_pidmap__next(&w->pub, &it, &pid, &val);)
		free(val);
	mt_pidmap__fini(&w->pub);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w->pending);
	free(w);
}

void mt_gowork__watch(struct mt_gowork *w, pid_t pid)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->npending == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		pid_t *v = realloc(w->pending, cap * sizeof(*v));

		if (!v) {
			pthread_mutex_unlock(&w->mu);
			return; /* out of memory: this one goes without Go's numbers */
		}
		w->pending = v;
		w->cap = cap;
	}
	w->pending[w->npending++] = pid;
	pthread_mutex_unlock(&w->mu);
}

const struct mt_go_gauges *mt_gowork__gauges(struct mt_gowork *w, pid_t pid)
{
	return w ? mt_pidmap__find(&w->pub, (uint32_t)pid) : NULL;
}
