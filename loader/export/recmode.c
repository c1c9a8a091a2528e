// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `--metrics --records`: the records-mode program beside the counting one,
 * its ring buffer drained on a thread of its own into one timeline per
 * process (the region model behind the live view and the report), whose
 * reserved, committed and released gauges a scrape reads.
 *
 * Which processes: the counting instance's bitmap, shared (bpf_map__reuse_fd).
 * The counting program is attached first, so at a watched process's first
 * call it claims the process and the records program, running next on the
 * same tracepoint, records that very call. The records program's exit
 * handler clears the bit (the counting one's is not loaded in this mode), so
 * the exit record is never lost to the order of the two. A process first
 * seen at a call gets, before that call, what an attach gives a timeline:
 * its mappings from /proc (pre-trace memory) and its program's info.
 *
 * Publishing: the drain thread owns the timelines. Every PUBLISH_NS it
 * brings each changed timeline up to now and copies its gauges to the
 * published table, under the exporter's lock, taken with trylock: a scrape
 * rendering holds that lock, and the drain must not wait for it (the ring
 * buffer would fill). After MAX_SKIPS failed tries it waits, a render being
 * bounded (it writes to memory; the client is served after the unlock).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "madvtrace/record.h"
#include "madvtrace.bpf.h"
#include "madvtrace.skel.h"
#include "pidmap.h"
#include "procfs.h"
#include "recmode.h"
#include "timeline.h"
#include "export_int.h"

#define POLL_MS 10
#define PUBLISH_NS 100000000ull /* 100 ms: a scrape's model gauges lag by at most this */
#define MAX_SKIPS 10
#define REAP_EVERY 100 /* publishes: 10 s */
#define RB_BYTES (16u << 20)
/* the timeline's own samples are the report's, not ours: one an hour keeps them tiny */
#define SAMPLE_NS 3600000000000ull

/* One process's model, the drain thread's. */
struct rproc {
	pid_t pid;
	struct mt_timeline *tl;
	struct mt_model_gauges g; /* from the last on_gauge */
	bool fed;	       /* records fed since the last on_gauge */
	bool changed;	       /* on_gauge since the last publish */
	bool exited;	       /* its exit record came: unpublish, then free */
};

struct mt_export_rec {
	struct mt_export *x;
	struct madvtrace_bpf *skel;
	struct ring_buffer *rb;
	pthread_t thread;
	bool running;
	volatile bool stop;
	struct mt_pidmap procs; /* pid -> struct rproc: the drain thread's */
	bool any_exited;
	uint64_t publishes;
	/* under x->lock */
	struct mt_pidmap pub; /* pid -> struct mt_model_gauges */
	uint64_t lost;
	unsigned skips;
};

static void on_gauge(void *ctx, const struct mt_timeline *tl, uint64_t t_ns,
		     const struct mt_gauges *now, const struct mt_gauges *prev)
{
	struct rproc *p = ctx;

	(void)tl;
	(void)t_ns;
	(void)prev;
	p->g.reserved = now->state[MT_RS_RESERVED];
	p->g.committed = now->state[MT_RS_COMMITTED];
	p->g.released_lazy = now->state[MT_RS_LAZY];
	p->g.released_eager = now->state[MT_RS_EAGER];
	/* called before the record that made time pass is applied: that one is still to come */
	p->fed = false;
	p->changed = true;
}

static int feed_cb(void *ctx, const struct mt_hdr *rec)
{
	struct rproc *p = ctx;

	return mt_timeline__feed(p->tl, rec);
}

/* A process first seen at one of its records: a timeline, started as an attach starts one. */
static struct rproc *rproc_new(struct mt_export_rec *r, pid_t pid, uint64_t t_ns)
{
	struct mt_timeline_opts o = {
		.start_ns = t_ns,
		.interval_ns = SAMPLE_NS,
		.page_size = (uint32_t)sysconf(_SC_PAGESIZE),
		.target_pid = (uint32_t)pid,
		.backend = MT_BACKEND_BPF,
		.on_gauge = on_gauge,
		.gauges_interval_ns = PUBLISH_NS / 2,
	};
	struct rproc *p = calloc(1, sizeof(*p));
	struct mt_task t;

	if (!p)
		return NULL;
	p->pid = pid;
	o.gauge_ctx = p;
	p->tl = mt_timeline__new(&o);
	if (!p->tl || mt_pidmap__insert(&r->procs, (uint32_t)pid, p)) {
		mt_timeline__free(p->tl);
		free(p);
		return NULL;
	}
	mt_record_init(&t.h, MT_TASK, sizeof(t), pid, pid, t_ns);
	t.event = MT_TASK_ATTACH;
	if (mt_proc_comm(pid, t.comm))
		t.comm[0] = '\0';
	mt_timeline__feed(p->tl, &t.h);
	mt_proc_emit_info(pid, NULL, feed_cb, p);
	/* its memory from before: the call being fed next is already in these maps */
	mt_proc_emit_maps(pid, feed_cb, p);
	return p;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct mt_export_rec *r = ctx;
	const struct mt_hdr *rec = data;
	const struct mt_task *t = data;
	struct rproc *p;

	if (size < sizeof(*rec) || rec->size > size || !rec->pid)
		return 0;
	p = mt_pidmap__find(&r->procs, rec->pid);
	if (p && p->exited)
		return 0; /* a late record of a process that has gone */
	if (!p && !(p = rproc_new(r, (pid_t)rec->pid, rec->t_ns)))
		return 0; /* out of memory: this process goes without a model */
	if (mt_timeline__feed(p->tl, rec))
		p->exited = true; /* the timeline is unusable: drop its gauges */
	p->fed = true;
	if (rec->type == MT_TASK && rec->size >= sizeof(*t) && t->event == MT_TASK_EXIT) {
		p->exited = true;
		r->any_exited = true;
	}
	return 0;
}

static uint64_t ring_lost(struct mt_export_rec *r)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	uint64_t total = 0, vals[ncpu > 0 ? ncpu : 1];
	uint32_t zero = 0;

	if (ncpu <= 0 || bpf_map__lookup_elem(r->skel->maps.lost, &zero, sizeof(zero), vals,
					      sizeof(uint64_t) * ncpu, 0))
		return 0;
	for (i = 0; i < ncpu; i++)
		total += vals[i];
	return total;
}

/* Copy the changed gauges to the published table; false when the lock was busy. */
static bool publish(struct mt_export_rec *r, uint64_t now)
{
	struct rproc *p;
	struct mt_model_gauges *g;
	uint64_t lost = ring_lost(r);
	size_t it;
	uint32_t pid;
	void *val;

	/* an exit record lost to a full ring buffer: found gone now and then */
	if (++r->publishes % REAP_EVERY == 0)
		for (it = 0; mt_pidmap__next(&r->procs, &it, &pid, &val);)
			if (!((struct rproc *)val)->exited && !mt_proc_alive((pid_t)pid)) {
				((struct rproc *)val)->exited = true;
				r->any_exited = true;
			}
	for (it = 0; mt_pidmap__next(&r->procs, &it, &pid, &val);) {
		p = val;
		if (p->fed && !p->exited)
			mt_timeline__tick(p->tl, now); /* on_gauge: the state after every record fed */
	}
	if (r->skips < MAX_SKIPS ? pthread_mutex_trylock(&r->x->lock)
				 : pthread_mutex_lock(&r->x->lock)) {
		r->skips++;
		return false;
	}
	r->skips = 0;
	r->lost = lost;
	for (it = 0; mt_pidmap__next(&r->procs, &it, &pid, &val);) {
		p = val;
		if (!p->changed || p->exited)
			continue;
		g = mt_pidmap__find(&r->pub, pid);
		if (!g && (g = malloc(sizeof(*g))) && mt_pidmap__insert(&r->pub, pid, g)) {
			free(g);
			g = NULL;
		}
		if (g) {
			*g = p->g;
			p->changed = false;
		}
	}
	/* exited: its model gauges go at once, as its /proc gauges do */
	for (it = 0; r->any_exited && mt_pidmap__next(&r->procs, &it, &pid, &val);) {
		p = val;
		if (p->exited)
			free(mt_pidmap__delete(&r->pub, pid));
	}
	pthread_mutex_unlock(&r->x->lock);
	while (r->any_exited) {
		r->any_exited = false;
		for (it = 0; mt_pidmap__next(&r->procs, &it, &pid, &val);) {
			p = val;
			if (!p->exited)
				continue;
			/* deletion shifts entries: walk again from the start */
			mt_pidmap__delete(&r->procs, pid);
			mt_timeline__free(p->tl);
			free(p);
			r->any_exited = true;
			break;
		}
	}
	return true;
}

static void *drain(void *arg)
{
	struct mt_export_rec *r = arg;
	uint64_t next = mt_now_ns() + PUBLISH_NS, now;
	int err;

	while (!r->stop) {
		err = ring_buffer__poll(r->rb, POLL_MS);
		if (err < 0 && err != -EINTR)
			break;
		/* records are submitted without a wakeup below a fill threshold */
		ring_buffer__consume(r->rb);
		now = mt_now_ns();
		if (now >= next && publish(r, now))
			next = now + PUBLISH_NS;
	}
	return NULL;
}

int mt_export_rec__start(struct mt_export_rec **out, struct mt_export *x, int traced_fd)
{
	struct mt_export_rec *r = calloc(1, sizeof(*r));
	int err;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->x = x;
	mt_pidmap__init(&r->procs);
	mt_pidmap__init(&r->pub);
	r->skel = madvtrace_bpf__open();
	if (!r->skel) {
		err = -errno;
		fprintf(stderr, "madvtrace: cannot open the BPF object: %s\n", strerror(-err));
		goto cleanup;
	}
	r->skel->rodata->follow_forks = x->o->follow_forks;
	r->skel->rodata->page_shift = __builtin_ctz(sysconf(_SC_PAGESIZE));
	r->skel->rodata->rss_interval_ns = x->o->interval_ns;
	bpf_map__set_max_entries(r->skel->maps.rb, RB_BYTES);
	r->skel->rodata->wakeup_bytes = RB_BYTES / 4;
	bpf_map__set_max_entries(r->skel->maps.stacks, 1); /* no stacks: the model needs none */
	err = bpf_map__reuse_fd(r->skel->maps.traced, traced_fd);
	if (!err)
		err = madvtrace_bpf__load(r->skel);
	if (err) {
		fprintf(stderr, "madvtrace: cannot load the records-mode BPF programs: %s\n",
			strerror(-err));
		goto cleanup;
	}
	err = madvtrace_bpf__attach(r->skel);
	if (err) {
		fprintf(stderr, "madvtrace: cannot attach the records-mode BPF programs: %s\n",
			strerror(-err));
		goto cleanup;
	}
	r->rb = ring_buffer__new(bpf_map__fd(r->skel->maps.rb), on_record, r, NULL);
	if (!r->rb) {
		err = -errno;
		fprintf(stderr, "madvtrace: cannot set up the ring buffer: %s\n", strerror(-err));
		goto cleanup;
	}
	*out = r;
	return 0;
cleanup:
	mt_export_rec__stop(r);
	return err;
}

int mt_export_rec__run(struct mt_export_rec *r)
{
	sigset_t all, old;
	int err;

	/* signals go to the main thread, which stops everything */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&r->thread, NULL, drain, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		fprintf(stderr, "madvtrace: cannot start the drain thread: %s\n", strerror(-err));
		return err;
	}
	r->running = true;
	return 0;
}

void mt_export_rec__stop(struct mt_export_rec *r)
{
	size_t it;
	uint32_t pid;
	void *val;

	if (!r)
		return;
	if (r->running) {
		r->stop = true;
		pthread_join(r->thread, NULL);
	}
	ring_buffer__free(r->rb);
	madvtrace_bpf__destroy(r->skel);
	for (it = 0; mt_pidmap__next(&r->procs, &it, &pid, &val);) {
		mt_timeline__free(((struct rproc *)val)->tl);
		free(val);
	}
	mt_pidmap__fini(&r->procs);
	for (it = 0; mt_pidmap__next(&r->pub, &it, &pid, &val);)
		free(val);
	mt_pidmap__fini(&r->pub);
	free(r);
}

const struct mt_model_gauges *mt_export_rec__gauges(struct mt_export_rec *r, pid_t pid)
{
	return r ? mt_pidmap__find(&r->pub, (uint32_t)pid) : NULL;
}

uint64_t mt_export_rec__lost(struct mt_export_rec *r)
{
	return r ? r->lost : 0;
}
