// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The recorder's workers: residency passes, prompt smaps samples, program descriptions (recworker.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "alloc.h"
#include "mappings.h"
#include "pagemap.h"
#include "procfs.h"
#include "recworker.h"

#define DEF_BUDGET (1ull << 21)
#define DEF_QUIET_NS (10 * 1000000ull)
#define DEF_MAX_WAIT_NS (100 * 1000000ull)
#define QUEUE_COALESCE 16 /* queued passes beyond which a process's newest replaces its older */
#define USER_END (1ull << 57) /* above any user address, 5-level paging included */
/* a process's maps are read at most this often: a burst of library loads is one read or two */
#define MAPS_GAP_NS (20 * 1000000ull)
/*
 * ...but more often in a program's first MAPS_YOUNG_NS, while the dynamic
 * loader maps its libraries: a program that exits within tens of
 * milliseconds (under bpf nothing holds it at its exit) still has them read.
 */
#define MAPS_YOUNG_GAP_NS (2 * 1000000ull)
#define MAPS_YOUNG_NS (100 * 1000000ull)
/*
 * A process that releases has its maps read again when they are this old:
 * its ip is no proof that nothing was loaded (under the preload backend the
 * ip is the agent's, and the dynamic loader's own mmaps are not seen).
 */
#define MAPS_STALE_NS (1000 * 1000000ull)

enum { RS_COMMITTED = 1, RS_LAZY = 2, RS_EAGER = 3 }; /* enum mt_rstate, which we do not include */

struct job {
	pid_t pid;
	struct mt_rw_range *r;
	size_t n;
	struct job *next;
};

/* One process: its pagemap (the worker's alone) and its lazy releases not yet sampled. */
struct wpid {
	pid_t pid;
	struct mt_pagemap *pm; /* worker thread only */
	bool stale; /* exec'd or exited: close pm before it is used again */
	bool no_access; /* pagemap could not be opened: said once, not tried again */
	bool lazy_pending;
	uint64_t lazy_first, lazy_last;
	enum { AL_NONE, AL_ASKED, AL_DONE } alloc; /* its program's allocator */
	bool maps_asked; /* its mappings are to be read */
	bool maps_now; /* read them without waiting out the gap; cleared once read */
	bool maps_reading; /* the worker is reading them */
	uint64_t maps_last; /* when they were last read */
	uint64_t maps_first; /* when they were first read (its program's start, near enough) */
	struct mt_mapset maps; /* the mappings written for it (its current program) */
};

struct mt_recworker {
	struct mt_recworker_opts o;
	pthread_t thr;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* CLOCK_MONOTONIC */
	pthread_cond_t flushed; /* CLOCK_MONOTONIC: a maps_now read is done */
	bool stop;
	struct job *head, *tail;
	size_t queued;
	struct wpid *pids;
	size_t npids, cap;
	struct mt_recworker_stats st;
	struct mt_bidcache *bids; /* worker thread only */
};

struct mt_recworker *mt_recworker__new(const struct mt_recworker_opts *o)
{
	struct mt_recworker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->o = *o;
	if (!w->o.page_budget)
		w->o.page_budget = DEF_BUDGET;
	if (!w->o.quiet_ns)
		w->o.quiet_ns = DEF_QUIET_NS;
	if (!w->o.max_wait_ns)
		w->o.max_wait_ns = DEF_MAX_WAIT_NS;
	w->bids = mt_bidcache__new();
	if (!w->bids) {
		free(w);
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	mt_worker__cond_init(&w->cv);
	mt_worker__cond_init(&w->flushed);
	return w;
}

/* The slot of pid, made if needed (lock held). NULL on ENOMEM. */
static struct wpid *slot(struct mt_recworker *w, pid_t pid)
{
	size_t i;

	for (i = 0; i < w->npids; i++)
		if (w->pids[i].pid == pid)
			return &w->pids[i];
	if (w->npids == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 8;
		struct wpid *v = realloc(w->pids, cap * sizeof(*v));

		if (!v)
			return NULL;
		w->pids = v;
		w->cap = cap;
	}
	w->pids[w->npids] = (struct wpid){ .pid = pid };
	return &w->pids[w->npids++];
}

void mt_recworker__pass(struct mt_recworker *w, pid_t pid, struct mt_rw_range *ranges, size_t n)
{
	struct job *j;

	pthread_mutex_lock(&w->mu);
	/* every sample gets its own pass, unless the worker falls behind */
	for (j = w->queued >= QUEUE_COALESCE ? w->head : NULL; j; j = j->next) {
		if (j->pid == pid) {
			/* not started yet: the newer ranges are the ones that matter */
			free(j->r);
			j->r = ranges;
			j->n = n;
			w->st.coalesced++;
			goto out;
		}
	}
	j = malloc(sizeof(*j));
	if (!j) {
		free(ranges);
		w->st.failed++;
		goto out;
	}
	*j = (struct job){ .pid = pid, .r = ranges, .n = n };
	w->queued++;
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_signal(&w->cv);
out:
	pthread_mutex_unlock(&w->mu);
}

void mt_recworker__lazy(struct mt_recworker *w, pid_t pid, uint64_t t_ns)
{
	struct wpid *p;

	pthread_mutex_lock(&w->mu);
	p = slot(w, pid);
	if (p) {
		if (!p->lazy_pending) {
			p->lazy_pending = true;
			p->lazy_first = t_ns;
			pthread_cond_signal(&w->cv);
		}
		if (t_ns > p->lazy_last || p->lazy_last < p->lazy_first)
			p->lazy_last = t_ns;
	}
	pthread_mutex_unlock(&w->mu);
}

void mt_recworker__alloc(struct mt_recworker *w, pid_t pid)
{
	struct wpid *p;

	pthread_mutex_lock(&w->mu);
	p = slot(w, pid);
	if (p && p->alloc == AL_NONE) {
		p->alloc = AL_ASKED;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
}

void mt_recworker__maps(struct mt_recworker *w, pid_t pid)
{
	struct wpid *p;

	pthread_mutex_lock(&w->mu);
	p = slot(w, pid);
	if (p && !p->maps_asked) {
		p->maps_asked = true;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
}

void mt_recworker__maps_ip(struct mt_recworker *w, pid_t pid, uint64_t ip, uint64_t t_ns)
{
	struct wpid *p;

	pthread_mutex_lock(&w->mu);
	p = slot(w, pid);
	if (p && !p->maps_asked &&
	    (!mt_mapset__covers(&p->maps, ip) ||
	     (t_ns > p->maps_last && t_ns - p->maps_last >= MAPS_STALE_NS))) {
		p->maps_asked = true;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
}

void mt_recworker__maps_flush(struct mt_recworker *w, pid_t pid, uint64_t timeout_ns)
{
	uint64_t end = mt_now_ns() + timeout_ns;
	struct timespec ts = { .tv_sec = (time_t)(end / 1000000000ull),
			       .tv_nsec = (long)(end % 1000000000ull) };
	struct wpid *p;

	pthread_mutex_lock(&w->mu);
	p = slot(w, pid);
	if (p && (p->maps_asked || p->maps_reading) && w->started && !w->stop) {
		p->maps_now = p->maps_asked;
		pthread_cond_signal(&w->cv);
		/* a read under way finishes too; the array may move: pid is looked up each time */
		while ((p = slot(w, pid)) && (p->maps_now || p->maps_reading) && !w->stop &&
		       pthread_cond_timedwait(&w->flushed, &w->mu, &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&w->mu);
}

void mt_recworker__forget(struct mt_recworker *w, pid_t pid)
{
	struct job **pj, *j;
	struct wpid *p;

	pthread_mutex_lock(&w->mu);
	/* passes over the ranges of the program that is gone */
	for (pj = &w->head; (j = *pj);) {
		if (j->pid == pid) {
			*pj = j->next;
			w->queued--;
			free(j->r);
			free(j);
			continue;
		}
		pj = &j->next;
	}
	for (w->tail = w->head; w->tail && w->tail->next; w->tail = w->tail->next)
		;
	for (size_t i = 0; i < w->npids; i++) {
		p = &w->pids[i];
		if (p->pid == pid) {
			p->stale = true;
			p->no_access = false;
			p->lazy_pending = false;
			p->alloc = AL_NONE; /* a new program, or none */
			/* a new address space: its mappings are all new (exec asks for them) */
			mt_mapset__clear(&p->maps);
			p->maps_asked = false;
			p->maps_last = p->maps_first = 0;
			pthread_cond_signal(&w->cv); /* its descriptor is closed now, not at exit */
		}
	}
	pthread_mutex_unlock(&w->mu);
}

static void push(struct mt_recworker *w, const struct mt_hdr *h)
{
	mt_handoff__push(w->o.out, h);
}

/* Count one pass (lock not held). pm is the worker's. */
static void do_pass(struct mt_recworker *w, struct mt_pagemap *pm, const struct job *j)
{
	struct mt_page_counts c[4] = { 0 };
	struct mt_resident r = { 0 };
	uint64_t budget = w->o.page_budget, t0 = mt_now_ns(), dt;
	size_t i;
	int err = 0;

	mt_pagemap__forget(pm);
	for (i = 0; i < j->n && !err; i++) {
		uint32_t s = j->r[i].state;

		/* [vsyscall] and the like: mapped, but past what pagemap covers */
		if (s < RS_COMMITTED || s > RS_EAGER || j->r[i].start >= USER_END)
			continue;
		err = mt_pagemap__count(pm, j->r[i].start, j->r[i].end, &budget, &c[s]);
	}
	dt = mt_now_ns() - t0;
	pthread_mutex_lock(&w->mu);
	if (err && err != -ENOSPC) {
		/* the process is gone (or exec'd): nothing true to say of it */
		w->st.failed++;
		pthread_mutex_unlock(&w->mu);
		return;
	}
	w->st.passes++;
	w->st.capped += err == -ENOSPC;
	w->st.pass_ns_total += dt;
	if (dt > w->st.pass_ns_max)
		w->st.pass_ns_max = dt;
	if (w->o.page_budget - budget > w->st.pages_max)
		w->st.pages_max = w->o.page_budget - budget;
	pthread_mutex_unlock(&w->mu);
	mt_record_init(&r.h, MT_RESIDENT, sizeof(r), j->pid, j->pid, t0);
	r.h.flags = MT_F_SYNTH;
	r.lazy_present = c[RS_LAZY].present;
	r.lazy_absent = c[RS_LAZY].absent;
	r.eager_present = c[RS_EAGER].present;
	r.eager_absent = c[RS_EAGER].absent;
	r.committed_present = c[RS_COMMITTED].present;
	r.committed_absent = c[RS_COMMITTED].absent;
	r.swapped = c[RS_COMMITTED].swapped + c[RS_LAZY].swapped + c[RS_EAGER].swapped;
	r.ranges = (uint32_t)(err == -ENOSPC ? i : j->n);
	r.flags = err == -ENOSPC ? MT_RES_CAPPED : 0;
	push(w, &r.h);
}

static int push_cb(void *ctx, const struct mt_hdr *h)
{
	push(ctx, h);
	return 0;
}

/* Find pid's allocator (lock not held); false: its libraries are not all mapped yet. */
static bool find_alloc(struct mt_recworker *w, pid_t pid)
{
	return mt_alloc__emit(pid, push_cb, w) != 0;
}

static void lazy_sample(struct mt_recworker *w, pid_t pid)
{
	struct mt_rss r = { 0 };

	mt_record_init(&r.h, MT_RSS, sizeof(r), pid, pid, mt_now_ns());
	r.h.flags = MT_F_SYNTH;
	r.reason = MT_RSS_SAMPLE;
	if (mt_proc_rss(pid, &r) || mt_proc_smaps(pid, &r))
		return; /* gone: its exit record says the rest */
	push(w, &r.h);
	pthread_mutex_lock(&w->mu);
	w->st.lazy_samples++;
	pthread_mutex_unlock(&w->mu);
}

struct fresh_ctx {
	struct mt_recworker *w;
	pid_t pid;
	uint64_t written;
};

/* A mapping not yet written for the process is remembered as written (it is about to be). */
static bool map_fresh(void *ctx, const struct mt_mapping *m)
{
	struct fresh_ctx *f = ctx;
	struct wpid *p;
	bool fresh = false;

	pthread_mutex_lock(&f->w->mu);
	p = slot(f->w, f->pid);
	if (p)
		fresh = mt_mapset__add(&p->maps, m->start, m->end, m->ino, m->prot);
	pthread_mutex_unlock(&f->w->mu);
	f->written += fresh;
	return fresh;
}

/* Write pid's new mappings (lock not held). */
static void scan_maps(struct mt_recworker *w, pid_t pid)
{
	struct fresh_ctx f = { .w = w, .pid = pid };

	mt_mappings__scan(pid, w->bids, map_fresh, &f, push_cb, w);
	pthread_mutex_lock(&w->mu);
	w->st.map_scans++;
	w->st.mappings += f.written;
	pthread_mutex_unlock(&w->mu);
}

/*
 * Read the mappings of a process that asks, once its gap since the last
 * read is over; at the end (final) without waiting. Lock held; true if one
 * was read (the array may have changed), else *due is when one will be.
 */
static bool maps_due(struct mt_recworker *w, uint64_t now, bool final, uint64_t *due)
{
	for (size_t i = 0; i < w->npids; i++) {
		struct wpid *p = &w->pids[i];
		bool young = p->maps_first && now - p->maps_first < MAPS_YOUNG_NS;
		uint64_t at = p->maps_last + (young ? MAPS_YOUNG_GAP_NS : MAPS_GAP_NS);
		pid_t pid = p->pid;

		if (!p->maps_asked)
			continue;
		if (at > now && !final && !p->maps_now) {
			if (at < *due)
				*due = at;
			continue;
		}
		p->maps_asked = false;
		p->maps_now = false;
		p->maps_reading = true;
		p->maps_last = now;
		if (!p->maps_first)
			p->maps_first = now;
		pthread_mutex_unlock(&w->mu);
		scan_maps(w, pid);
		pthread_mutex_lock(&w->mu);
		p = slot(w, pid); /* the array may have moved */
		if (p)
			p->maps_reading = false;
		pthread_cond_broadcast(&w->flushed);
		return true;
	}
	return false;
}

/* The pagemap of pid for a pass (lock held on entry and exit; dropped to open). */
static struct mt_pagemap *pagemap_of(struct mt_recworker *w, pid_t pid)
{
	struct mt_pagemap *pm;
	struct wpid *p = slot(w, pid);
	int err;

	if (!p || p->no_access)
		return NULL;
	if (p->pm && !p->stale)
		return p->pm;
	pm = p->pm;
	p->pm = NULL;
	p->stale = false;
	pthread_mutex_unlock(&w->mu);
	mt_pagemap__free(pm);
	pm = mt_pagemap__open(pid);
	err = errno;
	pthread_mutex_lock(&w->mu);
	p = slot(w, pid); /* the array may have moved */
	if (!p) {
		mt_pagemap__free(pm);
		return NULL;
	}
	if (!pm && err != ENOENT && err != ESRCH) {
		p->no_access = true;
		fprintf(stderr, "madvtrace: cannot read /proc/%d/pagemap: %s: no resident records "
				"for it\n", (int)pid, strerror(err));
	}
	p->pm = pm;
	return pm;
}

/* Close the descriptors of processes that exec'd or exited (lock held; pm is ours). */
static void close_stale(struct mt_recworker *w)
{
	for (size_t i = 0; i < w->npids; i++) {
		if (w->pids[i].stale && w->pids[i].pm) {
			mt_pagemap__free(w->pids[i].pm);
			w->pids[i].pm = NULL;
		}
	}
}

static void *worker_main(void *arg)
{
	struct mt_recworker *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		uint64_t now = mt_now_ns(), due = UINT64_MAX;
		struct timespec ts;
		struct job *j = w->head;
		size_t i;

		close_stale(w);
		if (j) {
			struct mt_pagemap *pm;

			w->head = j->next;
			w->queued--;
			if (!w->head)
				w->tail = NULL;
			pm = pagemap_of(w, j->pid);
			if (pm) {
				pthread_mutex_unlock(&w->mu);
				do_pass(w, pm, j);
				pthread_mutex_lock(&w->mu);
			}
			free(j->r);
			free(j);
			continue;
		}
		/* at the end, the mappings asked for still: the report needs them */
		if (w->stop) {
			if (maps_due(w, now, true, &due))
				continue;
			break;
		}
		if (maps_due(w, now, false, &due))
			continue;
		for (i = 0; i < w->npids; i++) {
			struct wpid *p = &w->pids[i];
			uint64_t at;

			if (!p->lazy_pending)
				continue;
			/* a batch still on its way may carry more of the burst */
			at = p->lazy_last + w->o.quiet_ns + w->o.latency_ns;
			if (at > p->lazy_first + w->o.max_wait_ns)
				at = p->lazy_first + w->o.max_wait_ns;
			if (at <= now) {
				pid_t pid = p->pid;

				p->lazy_pending = false;
				pthread_mutex_unlock(&w->mu);
				lazy_sample(w, pid);
				pthread_mutex_lock(&w->mu);
				break; /* the array may have changed: look again */
			}
			if (at < due)
				due = at;
		}
		if (i < w->npids)
			continue;
		for (i = 0; i < w->npids; i++) {
			if (w->pids[i].alloc == AL_ASKED) {
				pid_t pid = w->pids[i].pid;
				bool done;

				w->pids[i].alloc = AL_DONE;
				pthread_mutex_unlock(&w->mu);
				done = find_alloc(w, pid);
				pthread_mutex_lock(&w->mu);
				/* not yet: asked again at its next release or sample */
				for (size_t k = 0; !done && k < w->npids; k++)
					if (w->pids[k].pid == pid && w->pids[k].alloc == AL_DONE)
						w->pids[k].alloc = AL_NONE;
				break;
			}
		}
		if (i < w->npids)
			continue;
		if (due == UINT64_MAX) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		ts.tv_sec = (time_t)(due / 1000000000ull);
		ts.tv_nsec = (long)(due % 1000000000ull);
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int mt_recworker__start(struct mt_recworker *w)
{
	int err;

	if (w->started)
		return -EALREADY;
	err = mt_worker__create(&w->thr, worker_main, w);
	if (!err)
		w->started = true;
	return err;
}

void mt_recworker__stop(struct mt_recworker *w)
{
	if (!w || !w->started)
		return;
	mt_worker__stop(w->thr, &w->mu, &w->cv, &w->flushed, &w->stop);
	w->started = false;
}

void mt_recworker__stats(struct mt_recworker *w, struct mt_recworker_stats *st)
{
	pthread_mutex_lock(&w->mu);
	*st = w->st;
	pthread_mutex_unlock(&w->mu);
}

void mt_recworker__free(struct mt_recworker *w)
{
	struct job *j;

	if (!w)
		return;
	mt_recworker__stop(w);
	while ((j = w->head)) {
		w->head = j->next;
		free(j->r);
		free(j);
	}
	for (size_t i = 0; i < w->npids; i++) {
		mt_pagemap__free(w->pids[i].pm);
		mt_mapset__clear(&w->pids[i].maps);
	}
	free(w->pids);
	mt_bidcache__free(w->bids);
	pthread_cond_destroy(&w->flushed);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* ---- program descriptions (mt_infowork) ---- */

#define INFO_QUEUE_MAX 4096
/* asks that pin their program with a descriptor, at most (the rest read /proc/PID/exe late) */
#define INFO_PINNED_MAX 64

struct info_ask {
	pid_t pid;
	int exe_fd; /* O_PATH of /proc/PID/exe at the ask, or -1 */
};

/* One process's records, back to back (each padded to 8 bytes), and what they said. */
struct info_done {
	pid_t pid;
	bool go;
	unsigned char *buf;
	size_t len, cap;
	struct info_done *next;
};

struct mt_infowork {
	pthread_t thr;
	bool started, stop;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct info_ask *ask; /* queued: a ring of INFO_QUEUE_MAX from ask_head */
	size_t ask_head, nask, npinned;
	struct info_done *done, *done_tail; /* described, not drained */
	uint64_t dropped;
};

static int info_collect(void *ctx, const struct mt_hdr *rec)
{
	struct info_done *d = ctx;
	size_t sz = ((size_t)rec->size + 7) & ~(size_t)7;

	if (d->len + sz > d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 1024;
		unsigned char *b;

		while (cap < d->len + sz)
			cap *= 2;
		b = realloc(d->buf, cap);
		if (!b)
			return 0; /* this record goes; the others still come */
		d->buf = b;
		d->cap = cap;
	}
	memcpy(d->buf + d->len, rec, rec->size);
	memset(d->buf + d->len + rec->size, 0, sz - rec->size);
	d->len += sz;
	return 0;
}

static void *info_main(void *arg)
{
	struct mt_infowork *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct mt_proc_image img;
		struct info_done *d;
		struct info_ask a;

		if (!w->nask) {
			if (w->stop)
				break;
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		a = w->ask[w->ask_head];
		w->ask_head = (w->ask_head + 1) % INFO_QUEUE_MAX;
		w->nask--;
		pthread_mutex_unlock(&w->mu);
		d = calloc(1, sizeof(*d));
		if (d) {
			d->pid = a.pid;
			mt_proc_emit_info_at(a.pid, a.exe_fd, &img, info_collect, d);
			d->go = img.go;
		}
		if (a.exe_fd >= 0)
			close(a.exe_fd);
		pthread_mutex_lock(&w->mu);
		if (a.exe_fd >= 0)
			w->npinned--;
		if (!d)
			continue;
		if (w->done_tail)
			w->done_tail->next = d;
		else
			__atomic_store_n(&w->done, d, __ATOMIC_RELEASE);
		w->done_tail = d;
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct mt_infowork *mt_infowork__start(void)
{
	struct mt_infowork *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return NULL;
	w->ask = malloc(INFO_QUEUE_MAX * sizeof(*w->ask));
	if (!w->ask) {
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	err = mt_worker__create(&w->thr, info_main, w);
	if (err) {
		mt_infowork__free(w);
		errno = -err;
		return NULL;
	}
	w->started = true;
	return w;
}

void mt_infowork__ask(struct mt_infowork *w, pid_t pid)
{
	bool pin, kept = false;
	char link[64];
	int fd = -1;

	/*
	 * One O_PATH open (no read of the file) pins the program while the
	 * process still runs: one that exits at once is still described.
	 */
	pthread_mutex_lock(&w->mu);
	pin = w->npinned < INFO_PINNED_MAX && w->nask < INFO_QUEUE_MAX;
	if (pin)
		w->npinned++;
	pthread_mutex_unlock(&w->mu);
	if (pin) {
		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		fd = open(link, O_PATH | O_CLOEXEC);
	}
	pthread_mutex_lock(&w->mu);
	if (w->nask < INFO_QUEUE_MAX) {
		w->ask[(w->ask_head + w->nask++) % INFO_QUEUE_MAX] =
		    (struct info_ask){ .pid = pid, .exe_fd = fd };
		kept = true;
		pthread_cond_signal(&w->cv);
	} else {
		w->dropped++;
	}
	/* a pin not taken (the open failed) or not queued is given back; the worker, the rest */
	if (pin && (fd < 0 || !kept))
		w->npinned--;
	pthread_mutex_unlock(&w->mu);
	if (fd >= 0 && !kept)
		close(fd);
}

size_t mt_infowork__drain(struct mt_infowork *w, int (*emit)(void *ctx, const struct mt_hdr *rec),
			  void (*done)(void *ctx, pid_t pid, bool go), void *ctx)
{
	struct info_done *d, *next;
	size_t n = 0;

	/* a hint without the lock: most drains find nothing */
	if (!__atomic_load_n(&w->done, __ATOMIC_RELAXED))
		return 0;
	pthread_mutex_lock(&w->mu);
	d = w->done;
	__atomic_store_n(&w->done, NULL, __ATOMIC_RELAXED);
	w->done_tail = NULL;
	pthread_mutex_unlock(&w->mu);
	for (; d; d = next, n++) {
		next = d->next;
		for (size_t off = 0; off < d->len;) {
			const struct mt_hdr *rec = (const void *)(d->buf + off);

			emit(ctx, rec);
			off += ((size_t)rec->size + 7) & ~(size_t)7;
		}
		done(ctx, d->pid, d->go);
		free(d->buf);
		free(d);
	}
	return n;
}

void mt_infowork__finish(struct mt_infowork *w)
{
	if (!w || !w->started)
		return;
	mt_worker__stop(w->thr, &w->mu, &w->cv, NULL, &w->stop);
	w->started = false;
}

uint64_t mt_infowork__dropped(struct mt_infowork *w)
{
	uint64_t n;

	pthread_mutex_lock(&w->mu);
	n = w->dropped;
	pthread_mutex_unlock(&w->mu);
	return n;
}

void mt_infowork__free(struct mt_infowork *w)
{
	struct info_done *d;

	if (!w)
		return;
	mt_infowork__finish(w);
	while ((d = w->done)) {
		w->done = d->next;
		free(d->buf);
		free(d);
	}
	for (; w->nask; w->nask--, w->ask_head = (w->ask_head + 1) % INFO_QUEUE_MAX)
		if (w->ask[w->ask_head].exe_fd >= 0)
			close(w->ask[w->ask_head].exe_fd);
	free(w->ask);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}
