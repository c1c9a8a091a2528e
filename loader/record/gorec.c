// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Go's own numbers on the recording (gorec.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gorec.h"
#include "procfs.h"

#define DEF_FIND_NS (30 * 1000000000ull)
#define URL_LEN 512

struct mt_gorec {
	struct mt_gorec_opts o;
	char url[URL_LEN];
	pthread_t thr;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	bool stop;
	bool cancelled;
	struct mt_gometrics *gm; /* once sampling; under mu */
	struct mt_gm_stats final; /* the sampler's figures when it was freed */
};

static void no_sample(void *ctx, const struct mt_gm_sample *s, uint64_t t_ns)
{
	(void)ctx;
	(void)s;
	(void)t_ns;
}

int mt_gorec__check_url(const char *url, char *reason, size_t reason_len)
{
	struct mt_gm_opts o = { .url = url, .on_sample = no_sample };
	struct mt_gometrics *g;
	int err = mt_gometrics__new(&o, &g, reason, reason_len);

	mt_gometrics__free(g);
	return err;
}

static void on_sample(void *ctx, const struct mt_gm_sample *s, uint64_t t_ns)
{
	struct mt_gorec *g = ctx;
	struct mt_gostat r = { 0 };

	if (__atomic_load_n(&g->cancelled, __ATOMIC_RELAXED))
		return; /* the program it was about is gone */
	mt_record_init(&r.h, MT_GOSTAT, sizeof(r), g->o.pid, g->o.pid, t_ns);
	r.h.flags = MT_F_SYNTH;
	r.heap_released = s->v[MT_GM_HEAP_RELEASED];
	r.heap_idle = s->v[MT_GM_HEAP_IDLE];
	r.heap_inuse = s->v[MT_GM_HEAP_INUSE];
	r.heap_sys = s->v[MT_GM_HEAP_SYS];
	r.sys = s->v[MT_GM_SYS];
	r.stack_inuse = s->v[MT_GM_STACK_INUSE];
	r.next_gc = s->v[MT_GM_NEXT_GC];
	r.num_gc = s->v[MT_GM_NUM_GC];
	r.req_ns = s->req_ns;
	r.source = s->format == MT_GM_FMT_EXPVAR ? MT_GOSTAT_EXPVAR : MT_GOSTAT_PROMETHEUS;
	/* enum mt_gm_field and enum mt_gostat_have list the eight in the same order */
	r.have = s->present & ((1u << MT_GM__NR) - 1);
	mt_handoff__push(g->o.out, &r.h);
}

/* What kind of failure, in the words a user looks for. */
static const char *failure_kind(int err)
{
	switch (err) {
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
		return "unreachable";
	case -ENOENT:
		return "not found (404)";
	case -EINVAL:
		return "not Go numbers";
	case -EFBIG:
	case -E2BIG:
		return "too big";
	case -ETIMEDOUT:
		return "no answer in time";
	default:
		return "failed";
	}
}

static void on_error(void *ctx, int err, const char *reason)
{
	struct mt_gorec *g = ctx;

	/* a program on its way out closes its listener first: that is no failure */
	if (__atomic_load_n(&g->cancelled, __ATOMIC_RELAXED) || !mt_proc_alive(g->o.pid))
		return;
	/* once per kind (the library dedups by errno): the sampler keeps trying */
	fprintf(stderr, "madvtrace: Go metrics of pid %d: %s: %s; trying again every sample, the "
			"recording goes on\n",
		(int)g->o.pid, failure_kind(err), reason);
}

static void push_info(struct mt_gorec *g)
{
	union {
		struct mt_info i;
		unsigned char b[sizeof(struct mt_info) + MT_MAX_INFO];
	} u;
	int n = snprintf(NULL, 0, "go_metrics=%s", g->url);

	if (n < 0 || n >= MT_MAX_INFO)
		return;
	/* the header's init clears the whole record: the text goes in after */
	mt_record_init(&u.i.h, MT_INFO, (uint16_t)(sizeof(struct mt_info) + n + 1), g->o.pid,
		    g->o.pid, mt_now_ns());
	snprintf((char *)u.b + sizeof(struct mt_info), MT_MAX_INFO, "go_metrics=%s", g->url);
	mt_handoff__push(g->o.out, &u.i.h);
}

/* Find the endpoint (or wait for the given one to listen). true to sample g->url. */
static bool find(struct mt_gorec *g)
{
	/* short: a stop waits for the request under way */
	const struct mt_gm_fetch_opts fo = { .connect_timeout_ms = 250, .timeout_ms = 1000 };
	uint64_t deadline = mt_now_ns() + g->o.find_ns, next;
	char reason[MT_GM_REASON_LEN] = "";
	struct mt_gm_sample s;
	int err;

	for (;;) {
		next = mt_now_ns() + g->o.interval_ns;
		if (g->o.url) {
			/* only "nothing listens yet" is worth waiting out: the sampler says the rest */
			err = mt_gm_scrape(g->url, &fo, &s, reason, sizeof(reason));
			if (err != -ECONNREFUSED)
				return true;
		} else {
			err = mt_gm_discover(g->o.pid, &fo, g->url, sizeof(g->url), NULL, reason,
					     sizeof(reason));
			if (!err) {
				fprintf(stderr, "madvtrace: Go metrics of pid %d: reading %s every %llu ms\n",
					(int)g->o.pid, g->url,
					(unsigned long long)(g->o.interval_ns / 1000000));
				return true;
			}
			if (err != -ENOENT)
				break; /* not ours to read, another namespace, gone: waiting will not help */
		}
		if (mt_now_ns() >= deadline)
			break;
		if (mt_worker__wait_until(&g->mu, &g->cv, &g->stop, next)) {
			if (g->o.url || __atomic_load_n(&g->cancelled, __ATOMIC_RELAXED))
				return false;
			break; /* the session ended first: say what was found so far */
		}
	}
	if (g->o.url)
		return true; /* it never listened: the sampler reports it unreachable */
	if (err != -ESRCH)
		fprintf(stderr,
			"madvtrace: no Go metrics endpoint found for pid %d (%s); name one with "
			"--go-metrics URL\n",
			(int)g->o.pid, reason);
	return false;
}

static void *gorec_main(void *arg)
{
	struct mt_gorec *g = arg;
	struct mt_gm_opts o = {
		.url = g->url,
		.interval_ns = g->o.interval_ns,
		.on_sample = on_sample,
		.on_error = on_error,
		.ctx = g,
	};
	char reason[MT_GM_REASON_LEN];
	struct mt_gometrics *gm = NULL;
	int err;

	if (!find(g))
		return NULL;
	err = mt_gometrics__new(&o, &gm, reason, sizeof(reason));
	if (err) {
		fprintf(stderr, "madvtrace: Go metrics of pid %d: %s\n", (int)g->o.pid, reason);
		return NULL;
	}
	push_info(g);
	pthread_mutex_lock(&g->mu);
	if (!g->stop && !(err = mt_gometrics__start(gm)))
		g->gm = gm; /* its own thread samples; stop() stops it */
	pthread_mutex_unlock(&g->mu);
	if (!g->gm) {
		if (err)
			fprintf(stderr, "madvtrace: Go metrics of pid %d: cannot start: %s\n",
				(int)g->o.pid, strerror(-err));
		mt_gometrics__free(gm);
	}
	return NULL;
}

struct mt_gorec *mt_gorec__start(const struct mt_gorec_opts *o)
{
	struct mt_gorec *g = calloc(1, sizeof(*g));
	int err;

	if (!g) {
		fprintf(stderr, "madvtrace: out of memory\n");
		return NULL;
	}
	g->o = *o;
	if (!g->o.interval_ns)
		g->o.interval_ns = 1000000000ull;
	if (!g->o.find_ns)
		g->o.find_ns = DEF_FIND_NS;
	if (o->url)
		snprintf(g->url, sizeof(g->url), "%s", o->url);
	pthread_mutex_init(&g->mu, NULL);
	mt_worker__cond_init(&g->cv);
	err = mt_worker__create(&g->thr, gorec_main, g);
	if (err)
		fprintf(stderr, "madvtrace: cannot start the Go metrics thread: %s\n",
			strerror(-err));
	else
		g->started = true;
	return g;
}

void mt_gorec__cancel(struct mt_gorec *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	__atomic_store_n(&g->cancelled, true, __ATOMIC_RELAXED);
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

void mt_gorec__stop(struct mt_gorec *g)
{
	struct mt_gometrics *gm;

	if (!g || !g->started)
		return;
	mt_worker__stop(g->thr, &g->mu, &g->cv, NULL, &g->stop);
	g->started = false;
	gm = g->gm;
	g->gm = NULL;
	if (gm) {
		mt_gometrics__stop(gm);
		mt_gometrics__stats(gm, &g->final);
		mt_gometrics__free(gm);
	}
}

void mt_gorec__stats(struct mt_gorec *g, struct mt_gm_stats *st)
{
	pthread_mutex_lock(&g->mu);
	if (g->gm)
		mt_gometrics__stats(g->gm, st);
	else
		*st = g->final;
	pthread_mutex_unlock(&g->mu);
}

void mt_gorec__free(struct mt_gorec *g)
{
	if (!g)
		return;
	mt_gorec__stop(g);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	free(g);
}
