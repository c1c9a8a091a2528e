// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Where the records of a session go: the trace file (flushed on the tick),
 * the live timeline, the live view; and what the recorder adds itself on
 * threads of its own (Go metrics, pagemap residency, prompt LazyFree
 * samples), handed back to the backend's thread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include "madvtrace/advice.h"
#include "cli.h"
#include "dump.h"
#include "goinfo.h"
#include "procfs.h"
#include "ranges.h"
#include "records.h"

static void drained(void *ctx, const struct mt_hdr *rec);

/* ---- the recorder's own threads: Go metrics, residency, LazyFree on time ---- */

_Static_assert(sizeof(struct mt_state_range) == sizeof(struct mt_rw_range) &&
		       __builtin_offsetof(struct mt_state_range, state) ==
			       __builtin_offsetof(struct mt_rw_range, state),
	       "model/ranges.h and record/recworker.h describe a range alike");

static int sink_start_workers(struct sink *k)
{
	struct mt_recworker_opts wo = { .out = &k->q, .verbose = k->o->s.verbose,
					.latency_ns = k->o->s.latency_ns };
	int err;

	/* the start hook runs after the backend's privilege drop: the thread inherits what is kept */
	k->rw = mt_recworker__new(&wo);
	if (!k->rw) {
		fprintf(stderr, "madvtrace: out of memory\n");
		return -ENOMEM;
	}
	err = mt_recworker__start(k->rw);
	if (err) {
		fprintf(stderr, "madvtrace: cannot start the worker thread: %s\n", strerror(-err));
		return err;
	}
	return 0;
}

static void go_retire(struct sink *k)
{
	struct mt_gorec **v;

	if (!k->go.cur)
		return;
	mt_gorec__cancel(k->go.cur);
	v = realloc(k->go.retired, (k->go.nretired + 1) * sizeof(*v));
	if (!v) {
		mt_gorec__free(k->go.cur); /* joins: rare enough to wait for */
	} else {
		k->go.retired = v;
		v[k->go.nretired++] = k->go.cur;
	}
	k->go.cur = NULL;
}

/* The live model: the table and the verdict at the end, --gauges, the residency passes. */
static int sink_timeline_new(struct sink *k)
{
	struct options *o = k->o;
	struct mt_timeline_opts to = {
		.start_ns = mt_now_ns(),
		.clock_offset_ns = k->clock_offset_ns,
		.page_size = sysconf(_SC_PAGESIZE),
		.target_pid = o->s.target_pid,
		.target = k->target,
		.on_gauge = o->gauges ? mt_live__gauge : NULL,
		.gauge_ctx = &k->gauges,
		/* what it could see: the verdict never reads absence from a blind backend */
		.backend = o->be->id,
	};

	k->tl = mt_timeline__new(&to);
	if (!k->tl) {
		fprintf(stderr, "madvtrace: out of memory\n");
		return -ENOMEM;
	}
	return 0;
}

/* The target's new program is known: sample its Go metrics, or stop sampling. */
static void go_decide(struct sink *k)
{
	struct options *o = k->o;
	bool go = k->go.pending_go, first = !k->go.launched_seen;

	k->go.pending = k->go.pending_go = false;
	k->go.launched_seen = true;
	if (o->go_off)
		return;
	if (k->go.cur) {
		if (!go && o->go_url)
			fprintf(stderr,
				"madvtrace: pid %d exec'd a program that is not Go: --go-metrics %s is "
				"no longer sampled\n",
				k->o->s.target_pid, o->go_url);
		go_retire(k);
	}
	/*
	 * A wrapper (env, sh -c, a launcher script) exec'd a Go program: its trace
	 * gets the model its residency passes need, as the program started directly
	 * would (the new address space starts here: nothing before it is lost).
	 */
	if (go && !k->tl && o->output && sink_timeline_new(k))
		return;
	if (go) {
		struct mt_gorec_opts g = {
			.url = o->go_url,
			.pid = o->s.target_pid,
			.interval_ns = o->s.smaps_interval_ns,
			/* attached, a named endpoint should answer now; launched, it starts up */
			.find_ns = o->go_url && !o->s.argv && first ? 1 : 0,
			.out = &k->q,
		};

		k->go.cur = mt_gorec__start(&g);
	}
}

static void go_fini(struct sink *k)
{
	struct mt_gm_stats st;

	if (k->go.cur && k->o->s.verbose) {
		mt_gorec__stop(k->go.cur);
		mt_gorec__stats(k->go.cur, &st);
		fprintf(stderr,
			"madvtrace: Go metrics: %llu samples, %llu failures, %.3f ms of CPU on the "
			"sampling thread\n",
			(unsigned long long)st.samples, (unsigned long long)st.failures,
			st.thread_cpu_ns / 1e6);
	}
	mt_gorec__free(k->go.cur);
	k->go.cur = NULL;
	for (size_t i = 0; i < k->go.nretired; i++)
		mt_gorec__free(k->go.retired[i]);
	free(k->go.retired);
	k->go.retired = NULL;
	k->go.nretired = 0;
}

/* The target says what program it runs now (info records come together, exe= first). */
static void go_info(struct sink *k, const struct mt_hdr *rec)
{
	const struct mt_info *i = (const void *)rec;
	size_t len = rec->size - sizeof(*i);

	if (rec->size <= sizeof(*i) || memchr(i->text, '\0', len) == NULL)
		return;
	if (!strncmp(i->text, "exe=", 4)) {
		if (k->go.pending)
			go_decide(k);
		k->go.pending = true;
	} else if (k->go.pending && !strncmp(i->text, "go_version=", 11)) {
		k->go.pending_go = true;
	}
}

/* Copy pid's ranges out of the model for a pass on the worker (this thread: the model's). */
static void resident_request(struct sink *k, uint32_t pid)
{
	struct mt_state_range *r;
	uint64_t t0 = mt_now_ns(), dt;
	size_t n;

	if (mt_ranges__copy(k->tl, pid, &r, &n))
		return;
	dt = mt_now_ns() - t0;
	if (dt > k->resident_copy_ns_max)
		k->resident_copy_ns_max = dt;
	mt_recworker__pass(k->rw, (pid_t)pid, (struct mt_rw_range *)r, n);
}

/* What the recorder's threads are told of a record, before the model takes it. */
static void recorder_side(struct sink *k, const struct mt_hdr *rec)
{
	uint32_t target = (uint32_t)k->o->s.target_pid;

	/* the recorder's mapping records may land between exe= and go_version=: they say nothing of it */
	if (k->go.pending && rec->pid == target && rec->type != MT_INFO && rec->type != MT_MAPPING)
		go_decide(k);
	if (!k->rw)
		return;
	switch (rec->type) {
	case MT_MADVISE: {
		const struct mt_madvise *m = (const void *)rec;

		if (rec->size >= sizeof(*m) && m->ret >= 0 && k->o->s.smaps_interval_ns &&
		    mt_advice_class(m->advice) == MT_AC_LAZY)
			mt_recworker__lazy(k->rw, (pid_t)m->target_pid, rec->t_ns);
		/* a release: the program runs, its libraries are mapped (or nearly) */
		mt_recworker__alloc(k->rw, (pid_t)rec->pid);
		break;
	}
	case MT_MUNMAP:
		mt_recworker__alloc(k->rw, (pid_t)rec->pid);
		break;
	case MT_MMAP: {
		const struct mt_mmap *m = (const void *)rec;

		/* new code in the process (a library loaded): its mappings, for the unwinder */
		if (k->o->s.stacks != MT_STACKS_NEVER && rec->size >= sizeof(*m) &&
		    !(rec->flags & MT_F_SYNTH) && m->fd >= 0 && m->ret >= 0 && (m->prot & PROT_EXEC))
			mt_recworker__maps(k->rw, (pid_t)rec->pid);
		break;
	}
	case MT_USTACK: {
		const struct mt_ustack *u = (const void *)rec;
		unsigned slot = rec->pid % (sizeof(k->us_seen) / sizeof(k->us_seen[0]));

		if (rec->size < sizeof(*u))
			break;
		/* the same call site as the last release, lately: the worker knows (most releases) */
		if (k->us_seen[slot].pid == rec->pid && k->us_seen[slot].ip == u->regs[MT_UREG_RIP] &&
		    rec->t_ns - k->us_seen[slot].t_ns < 100000000ull)
			break;
		k->us_seen[slot].pid = rec->pid;
		k->us_seen[slot].ip = u->regs[MT_UREG_RIP];
		k->us_seen[slot].t_ns = rec->t_ns;
		/* a release in code mapped since the last read (dlopen, a JIT's file) */
		mt_recworker__maps_ip(k->rw, (pid_t)rec->pid, u->regs[MT_UREG_RIP], rec->t_ns);
		break;
	}
	case MT_RSS: {
		const struct mt_rss *r = (const void *)rec;

		/* at each smaps sample and at the end; before the model takes an end record */
		if (k->tl && rec->size >= sizeof(*r) && (rec->flags & MT_F_SMAPS) &&
		    (r->reason == MT_RSS_SAMPLE || r->reason == MT_RSS_END))
			resident_request(k, rec->pid);
		if (rec->flags & MT_F_SMAPS)
			mt_recworker__alloc(k->rw, (pid_t)rec->pid);
		break;
	}
	case MT_TASK: {
		const struct mt_task *t = (const void *)rec;

		if (rec->size >= sizeof(*t) &&
		    (t->event == MT_TASK_EXEC || t->event == MT_TASK_EXIT))
			mt_recworker__forget(k->rw, (pid_t)rec->pid);
		/* a program to unwind and symbolize: what it has mapped (the libraries come later) */
		if (k->o->s.stacks != MT_STACKS_NEVER && rec->size >= sizeof(*t) &&
		    (t->event == MT_TASK_EXEC || t->event == MT_TASK_ATTACH ||
		     t->event == MT_TASK_DETACH))
			mt_recworker__maps(k->rw, (pid_t)rec->pid);
		/* a forked child (-f) maps what its parent did */
		if (k->o->s.stacks != MT_STACKS_NEVER && rec->size >= sizeof(*t) &&
		    t->event == MT_TASK_FORK && k->o->s.follow_forks)
			mt_recworker__maps(k->rw, (pid_t)t->other_pid);
		/* its endpoint is gone with it */
		if (rec->size >= sizeof(*t) && t->event == MT_TASK_EXIT && rec->pid == target)
			go_retire(k);
		break;
	}
	case MT_INFO:
		if (rec->pid == target)
			go_info(k, rec);
		break;
	}
}

/* The session is over: the workers' last records into the trace, then they go. */
void mt_sink__stop_workers(struct sink *k)
{
	struct mt_recworker_stats st;

	go_fini(k);
	if (k->rw) {
		mt_recworker__stop(k->rw); /* the passes of the end records are done */
		if (k->o->s.verbose) {
			mt_recworker__stats(k->rw, &st);
			fprintf(stderr,
				"madvtrace: residency: %llu passes (%llu capped, %llu failed), %.2f ms "
				"at most (%llu pages), %.2f ms at most to copy the ranges; %llu prompt "
				"smaps samples; %llu reads of maps, %llu mapping records\n",
				(unsigned long long)st.passes, (unsigned long long)st.capped,
				(unsigned long long)st.failed, st.pass_ns_max / 1e6,
				(unsigned long long)st.pages_max, k->resident_copy_ns_max / 1e6,
				(unsigned long long)st.lazy_samples, (unsigned long long)st.map_scans,
				(unsigned long long)st.mappings);
		}
	}
	mt_handoff__drain(&k->q, drained, k);
	if (k->q.dropped)
		fprintf(stderr, "madvtrace: %llu records of the recorder's own threads were dropped "
				"(the queue to the trace was full)\n",
			(unsigned long long)k->q.dropped);
	mt_recworker__free(k->rw);
	k->rw = NULL;
}

int mt_sink__start(struct mt_session *s)
{
	struct sink *k = s->emit_ctx;
	struct options *o = k->o;
	struct mt_file_info info = { 0 };
	struct timespec rt, mono;
	struct utsname u;
	char comm[MT_COMM_LEN] = "", tbuf[64];

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	k->clock_offset_ns = ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000ll +
			     (rt.tv_nsec - mono.tv_nsec);
	if (!s->argv) {
		mt_proc_comm(s->target_pid, comm);
		snprintf(tbuf, sizeof(tbuf), "pid %d (%s)", s->target_pid, comm);
		k->target = strdup(tbuf);
	}
	/* the residency passes need the model: kept for a Go target's trace even with -q */
	if ((!o->quiet || o->gauges || (o->output && o->go_target)) && sink_timeline_new(k))
		return -ENOMEM;
	if (!o->output)
		return sink_start_workers(k);
	uname(&u);
	info.page_size = sysconf(_SC_PAGESIZE);
	info.clock_id = CLOCK_MONOTONIC;
	info.clock_offset_ns = k->clock_offset_ns;
	info.start_ns = mt_now_ns();
	info.backend = o->be->id;
	info.target_pid = s->target_pid;
	info.kernel_release = u.release;
	info.cmdline = k->cmdline;
	info.target = k->target ? k->target : "";
	k->w = mt_writer__new(k->out_fd, &info);
	if (!k->w) {
		fprintf(stderr, "madvtrace: cannot write %s: %s\n", o->output, strerror(errno));
		return -errno;
	}
	k->out_fd = -1; /* the writer owns it */
	return sink_start_workers(k);
}

static void go_decide(struct sink *k);
static void recorder_side(struct sink *k, const struct mt_hdr *rec);

/* The writer keeps its first error: say it once. */
static int sink_write_failed(struct sink *k, int err)
{
	if (!k->write_failed)
		fprintf(stderr, "madvtrace: writing %s: %s\n", k->o->output, strerror(-err));
	k->write_failed = true;
	return err;
}

static int sink_record(struct sink *k, const struct mt_hdr *rec)
{
	int err;

	recorder_side(k, rec);
	if (k->tl)
		mt_timeline__feed(k->tl, rec);
	if (k->w) {
		err = mt_writer__write(k->w, rec);
		if (err)
			return sink_write_failed(k, err);
	}
	/* the mappings found at attach, files mapped, stack bytes: in the file, not worth a screenful */
	if (k->print && !k->stdout_broken &&
	    (k->o->s.verbose || !((rec->type == MT_MMAP && (rec->flags & MT_F_SYNTH)) ||
				  rec->type == MT_MAPPING || rec->type == MT_USTACK))) {
		if (k->o->json)
			mt_record_json(stdout, rec);
		else
			mt_record_text(stdout, rec, k->clock_offset_ns);
		if (putchar('\n') == EOF) {
			/* the reader went away (`| head`): stop printing, keep recording */
			k->stdout_broken = true;
			if (!k->w)
				mt_stop_requests++;
		}
	}
	return 0;
}

static void drained(void *ctx, const struct mt_hdr *rec)
{
	sink_record(ctx, rec);
}

int mt_sink__emit(void *ctx, const struct mt_hdr *rec)
{
	struct sink *k = ctx;

	/* the workers' records first: they are older than this one, or about as old */
	if (mt_handoff__pending(&k->q))
		mt_handoff__drain(&k->q, drained, k);
	return sink_record(k, rec);
}

/* The process is held at its exit: the mappings it was to have read, now (its stacks need them). */
void mt_sink__exiting(struct mt_session *s, pid_t pid)
{
	struct sink *k = s->emit_ctx;

	if (k->rw && s->stacks != MT_STACKS_NEVER)
		mt_recworker__maps_flush(k->rw, pid, 500 * 1000000ull);
}

/* Every few tens of milliseconds: the workers' records, the model's time, the writer's flush. */
void mt_sink__tick(struct mt_session *s, uint64_t now_ns)
{
	struct sink *k = s->emit_ctx;
	int err;

	if (k->go.pending)
		go_decide(k);
	if (mt_handoff__pending(&k->q))
		mt_handoff__drain(&k->q, drained, k);
	if (k->tl)
		mt_timeline__tick(k->tl, now_ns);
	/* a killed recording keeps all but its last half second (docs/trace-format.md) */
	if (k->w && !k->write_failed) {
		err = mt_writer__flush_if_due(k->w, now_ns);
		if (err)
			sink_write_failed(k, err);
	}
}

