// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The eBPF backend: open, configure, load, attach (in that order), then start
 * or adopt the target and drain the ring buffer until the session ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "backend.h"
#include "launch.h"
#include "procfs.h"
#include "madvtrace.bpf.h"
#include "madvtrace.skel.h"
#include "bpf_helpers.h"
#include "recworker.h"

/*
 * Records are submitted without a wakeup below a fill threshold, so this is
 * how late the drain may see a record: the sink's prompt LazyFree sample
 * after an MADV_FREE burst (recworker.h) can come no sooner.
 */
#define POLL_MS 10
#define MAX_STACK_IDS 8192 /* the program's stack map size */
#define STACK_EVERY_NS 1000000000ull
#define DEFAULT_BUFFER (16u << 20)

struct bpf_session {
	struct mt_session *s;
	struct madvtrace_bpf *skel;
	struct ring_buffer *rb;
	uint64_t *traced; /* the program's bitmap of traced tgids, mapped */
	size_t traced_words;
	uint64_t *nowalk; /* its bitmap of tgids known not to run Go, mapped (with stacks) */
	int err; /* first error returned by emit */
	uint64_t records;
	uint64_t lost_reported;
	uint64_t stacks_written[MAX_STACK_IDS / 64]; /* ids already in the trace */
	/* processes whose program wants release stacks (mt_stacks__for_image) */
	pid_t *stack_pids;
	size_t nstack_pids, stack_pids_cap;
	/* programs described off this thread (exec: /proc and the ELF file) */
	struct mt_infowork *info;
};

static bool bpf_available(char *why, size_t whylen)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {};
	bool bpf, perfmon, admin;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		snprintf(why, whylen, "this kernel has no BTF (/sys/kernel/btf/vmlinux)");
		return false;
	}
	if (syscall(SYS_capget, &hdr, data)) {
		snprintf(why, whylen, "cannot read capabilities: %s", strerror(errno));
		return false;
	}
#define HAS(cap) (data[(cap) / 32].effective & (1u << ((cap) % 32)))
	admin = HAS(CAP_SYS_ADMIN);
	bpf = HAS(CAP_BPF);
	perfmon = HAS(CAP_PERFMON);
#undef HAS
	if (!admin && !(bpf && perfmon)) {
		snprintf(why, whylen,
			 "loading BPF programs needs root, or CAP_BPF and CAP_PERFMON");
		return false;
	}
	return true;
}

static int emit(struct bpf_session *bs, const struct mt_hdr *rec)
{
	int err;

	bs->records++;
	err = bs->s->emit(bs->s->emit_ctx, rec);
	if (err && !bs->err)
		bs->err = err;
	return err;
}

static int emit_cb(void *ctx, const struct mt_hdr *rec)
{
	return emit(ctx, rec);
}

static bool wants_stacks(const struct bpf_session *bs, pid_t pid)
{
	for (size_t i = 0; i < bs->nstack_pids; i++)
		if (bs->stack_pids[i] == pid)
			return true;
	return false;
}

/*
 * pid runs a program that wants release stacks, or no longer does. The
 * program's switch is one for all traced processes (see docs/backends.md):
 * on while any of them wants stacks. Stacks are only ever taken for
 * releases, so a C process traced beside a Go one (-f) costs a stack copy
 * per release (no walk: set_go), and a trace without a Go program none at all.
 */
static void set_wants_stacks(struct bpf_session *bs, pid_t pid, bool on)
{
	size_t i;

	for (i = 0; i < bs->nstack_pids && bs->stack_pids[i] != pid; i++)
		;
	if (on && i == bs->nstack_pids) {
		if (bs->nstack_pids == bs->stack_pids_cap) {
			size_t cap = bs->stack_pids_cap ? 2 * bs->stack_pids_cap : 8;
			pid_t *v = realloc(bs->stack_pids, cap * sizeof(*v));

			if (!v)
				return; /* out of memory: this one goes without stacks */
			bs->stack_pids = v;
			bs->stack_pids_cap = cap;
		}
		bs->stack_pids[bs->nstack_pids++] = pid;
	} else if (!on && i < bs->nstack_pids) {
		bs->stack_pids[i] = bs->stack_pids[--bs->nstack_pids];
	}
	bs->skel->bss->capture_stacks =
		bs->s->stacks == MT_STACKS_ALWAYS || (bs->s->stacks != MT_STACKS_NEVER && bs->nstack_pids);
}

/*
 * pid's program is Go or not. The releases of a program that is not Go take
 * their ustack copy without the kernel's frame-pointer walk (the program's
 * nowalk map): the unwinder walks frame pointers from the copy where it has
 * no CFI. Go keeps the walk, which names its frames (docs/performance.md).
 */
static void set_go(struct bpf_session *bs, pid_t pid, bool go)
{
	uint64_t bit = 1ull << (pid % 64);

	if (!bs->nowalk || pid <= 0 || (size_t)pid / 64 >= bs->traced_words)
		return;
	if (go)
		__atomic_fetch_and(&bs->nowalk[pid / 64], ~bit, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_or(&bs->nowalk[pid / 64], bit, __ATOMIC_SEQ_CST);
}

/* The info records of pid's program, and its stacks decided from what they say. */
static void program_info(struct bpf_session *bs, pid_t pid)
{
	struct mt_proc_image img;

	mt_proc_emit_info(pid, &img, emit_cb, bs);
	set_go(bs, pid, img.go);
	set_wants_stacks(bs, pid, mt_stacks__for_image(bs->s->stacks, img.go));
}

/* A program the info worker described: its stacks decided from what it said. */
static void program_described(void *ctx, pid_t pid, bool go)
{
	struct bpf_session *bs = ctx;

	set_go(bs, pid, go);
	set_wants_stacks(bs, pid, mt_stacks__for_image(bs->s->stacks, go));
}

static void drain_info(struct bpf_session *bs)
{
	if (bs->info)
		mt_infowork__drain(bs->info, emit_cb, program_described, bs);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct bpf_session *bs = ctx;
	const struct mt_hdr *rec = data;
	const struct mt_task *t = data;
	int err;

	if (size < sizeof(*rec) || rec->size > size)
		return 0;
	err = emit(bs, rec);
	if (err || rec->type != MT_TASK || rec->size < sizeof(*t))
		return err;
	/* a new program: what it is, read by the info worker while /proc still shows it */
	if (t->event == MT_TASK_EXEC) {
		if (bs->info)
			mt_infowork__ask(bs->info, rec->pid);
		else
			program_info(bs, rec->pid);
	}
	/* a forked child runs its parent's program until it execs */
	else if (t->event == MT_TASK_FORK && wants_stacks(bs, rec->pid))
		set_wants_stacks(bs, (pid_t)t->other_pid, true);
	else if (t->event == MT_TASK_EXIT)
		set_wants_stacks(bs, rec->pid, false);
	return err;
}

/* Turn the kernel's per-CPU drop counters into a lost record. */
static void report_lost(struct bpf_session *bs)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	uint64_t total = 0, vals[ncpu > 0 ? ncpu : 1];
	uint32_t zero = 0;
	struct mt_lost r;

	if (ncpu <= 0 || bpf_map__lookup_elem(bs->skel->maps.lost, &zero, sizeof(zero), vals,
					      sizeof(uint64_t) * ncpu, 0))
		return;
	for (i = 0; i < ncpu; i++)
		total += vals[i];
	if (total <= bs->lost_reported)
		return;
	mt_record_init(&r.h, MT_LOST, sizeof(r), bs->s->target_pid, bs->s->target_pid, mt_now_ns());
	r.count = total - bs->lost_reported;
	r.cpu = ~0u;
	bs->lost_reported = total;
	bs->s->lost = total;
	emit(bs, &r.h);
}

/* Write each user stack the program has captured since the last call, once. */
static void drain_stacks(struct bpf_session *bs)
{
	int fd = bpf_map__fd(bs->skel->maps.stacks);
	uint32_t key, next, *prev = NULL, nr;
	union {
		struct mt_stack st;
		uint8_t b[sizeof(struct mt_stack) + MT_MAX_STACK * sizeof(uint64_t)];
	} u;
	uint64_t ips[MT_MAX_STACK];

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (key >= MAX_STACK_IDS || (bs->stacks_written[key / 64] & (1ull << (key % 64))))
			continue;
		if (bpf_map_lookup_elem(fd, &key, ips))
			continue;
		for (nr = 0; nr < MT_MAX_STACK && ips[nr]; nr++)
			;
		mt_record_init(&u.st.h, MT_STACK, sizeof(u.st) + nr * sizeof(uint64_t), 0, 0,
			    mt_now_ns());
		u.st.id = key + 1; /* as the records refer to it: 0 means none */
		u.st.nr = nr;
		memcpy(u.st.ips, ips, nr * sizeof(uint64_t));
		bs->stacks_written[key / 64] |= 1ull << (key % 64);
		emit(bs, &u.st.h);
	}
}

static void flush_rss(struct bpf_session *bs)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);

	bpf_prog_test_run_opts(bpf_program__fd(bs->skel->progs.flush_rss), &opts);
}

/* Call fn for each traced tgid; returns how many there are. */
static int for_each_traced(struct bpf_session *bs, void (*fn)(struct bpf_session *, pid_t))
{
	size_t i;
	int n = 0;

	for (i = 0; i < bs->traced_words; i++) {
		uint64_t w = __atomic_load_n(&bs->traced[i], __ATOMIC_RELAXED);

		while (w) {
			int bit = __builtin_ctzll(w);

			w &= w - 1;
			n++;
			if (fn)
				fn(bs, i * 64 + bit);
		}
	}
	return n;
}

static int read_pid_max(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v > 0 ? v : 4194304; /* the kernel's upper limit */
}

/* Start mirroring the RSS of an already running process. */
static int adopt(struct bpf_session *bs, pid_t pid)
{
	struct mt_adopt_args args = { .pid = pid };
	/* a syscall program's context is copied back into ctx_in */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &args, .ctx_size_in = sizeof(args));
	int err = bpf_prog_test_run_opts(bpf_program__fd(bs->skel->progs.adopt), &opts);

	return err ? err : args.ret;
}

static void emit_proc_rss(struct bpf_session *bs, pid_t pid, uint32_t reason, bool smaps)
{
	struct mt_rss r;

	mt_record_init(&r.h, MT_RSS, sizeof(r), pid, pid, mt_now_ns());
	r.h.flags = MT_F_SYNTH;
	r.reason = reason;
	if (mt_proc_rss(pid, &r))
		return;
	if (smaps)
		mt_proc_smaps(pid, &r);
	emit(bs, &r.h);
}

static void sample_smaps(struct bpf_session *bs, pid_t pid)
{
	emit_proc_rss(bs, pid, MT_RSS_SAMPLE, true);
}

static void emit_task_rec(struct bpf_session *bs, pid_t pid, uint32_t event);

static void end_traced(struct bpf_session *bs, pid_t pid)
{
	if (!mt_proc_alive(pid))
		return;
	emit_proc_rss(bs, pid, MT_RSS_END, true);
	emit_task_rec(bs, pid, MT_TASK_DETACH);
}

static void emit_task_rec(struct bpf_session *bs, pid_t pid, uint32_t event)
{
	struct mt_task t;

	mt_record_init(&t.h, MT_TASK, sizeof(t), pid, pid, mt_now_ns());
	t.event = event;
	if (event == MT_TASK_LAUNCH) {
		/* still our own fork: name it after the command it is about to become */
		const char *base = strrchr(bs->s->argv[0], '/');

		snprintf(t.comm, sizeof(t.comm), "%s", base ? base + 1 : bs->s->argv[0]);
	} else {
		mt_proc_comm(pid, t.comm);
	}
	emit(bs, &t.h);
}

/*
 * Open the program, configure it for the session and load it. in_ring: the
 * ustack records are reserved in the ring buffer and the stack read straight
 * into them (needs bpf_probe_read_user_dynptr); else through a per-CPU slot.
 * On failure bs->skel is NULL if the object could not be opened.
 */
static int open_load(struct bpf_session *bs, bool in_ring)
{
	struct mt_session *s = bs->s;

	bs->skel = madvtrace_bpf__open();
	if (!bs->skel)
		return -errno;
	bs->skel->rodata->rss_interval_ns = s->rss_interval_ns;
	bs->skel->rodata->follow_forks = s->follow_forks;
	bpf_map__set_max_entries(bs->skel->maps.rb,
				 s->buffer_bytes ? s->buffer_bytes : DEFAULT_BUFFER);
	bs->traced_words = (read_pid_max() + 63) / 64;
	bpf_map__set_max_entries(bs->skel->maps.traced, bs->traced_words);
	bs->skel->rodata->page_shift = __builtin_ctz(sysconf(_SC_PAGESIZE));
	bs->skel->rodata->ustack_in_ring = in_ring;
	if (s->stacks == MT_STACKS_NEVER) { /* the maps must exist for the program to load, not be large */
		bpf_map__set_max_entries(bs->skel->maps.stacks, 1);
		bs->skel->rodata->ustack_bytes = 0;
	} else {
		bpf_map__set_max_entries(bs->skel->maps.nowalk, bs->traced_words);
		bs->skel->rodata->ustack_bytes = s->stack_bytes;
	}
	if (s->stacks != MT_STACKS_NEVER && !in_ring) {
		/* one stack copy slot per CPU (indexed by the CPU's number) */
		int ncpu = libbpf_num_possible_cpus();

		bpf_map__set_max_entries(bs->skel->maps.ustacks, ncpu > 0 ? ncpu : 1);
	}
	bs->skel->rodata->wakeup_bytes = bpf_map__max_entries(bs->skel->maps.rb) / 4;
	return madvtrace_bpf__load(bs->skel);
}

static int bpf_run(struct mt_session *s)
{
	struct bpf_session bs = { .s = s };
	struct mt_launch child = MT_LAUNCH_INIT;
	uint64_t start, next_flush, next_smaps, next_stacks, now;
	uint8_t held = MT_HELD;
	size_t map_bytes = 0;
	uint32_t key;
	bool launched = s->argv != NULL, child_done = false;
	int err, status;

	s->exit_status = -1;
	mt_bpf__log_setup(s->verbose);

	if (!launched && kill(s->pid, 0) && errno == ESRCH) {
		fprintf(stderr, "madvtrace: no such process: %d\n", s->pid);
		return -ESRCH;
	}

	/* open, configure, load */
	mt_bpf__log_quiet(s->stacks != MT_STACKS_NEVER); /* its failure is not the session's */
	err = open_load(&bs, s->stacks != MT_STACKS_NEVER);
	mt_bpf__log_quiet(false);
	/* a kernel older than bpf_probe_read_user_dynptr (6.16): stacks copied through a slot */
	if (err && err != -EPERM && s->stacks != MT_STACKS_NEVER) {
		madvtrace_bpf__destroy(bs.skel);
		bs.skel = NULL;
		err = open_load(&bs, false);
	}
	if (err) {
		if (!bs.skel)
			fprintf(stderr, "madvtrace: cannot open the BPF object: %s\n",
				strerror(-err));
		else
			fprintf(stderr, "madvtrace: cannot load the BPF programs: %s%s\n",
				strerror(-err),
				err == -EPERM ? " (needs root, or CAP_BPF and CAP_PERFMON; "
						"--backend=ptrace works without)"
					      : " (run with -vv for the verifier log)");
		goto cleanup;
	}
	/* attach */
	err = madvtrace_bpf__attach(bs.skel);
	if (err) {
		fprintf(stderr, "madvtrace: cannot attach the BPF programs: %s\n", strerror(-err));
		goto cleanup;
	}
	map_bytes = (bs.traced_words * sizeof(uint64_t) + 4095) & ~(size_t)4095;
	bs.traced = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
			 bpf_map__fd(bs.skel->maps.traced), 0);
	if (bs.traced == MAP_FAILED) {
		err = -errno;
		bs.traced = NULL;
		fprintf(stderr, "madvtrace: cannot map the traced set: %s\n", strerror(-err));
		goto cleanup;
	}
	if (s->stacks != MT_STACKS_NEVER) {
		bs.nowalk = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
				 bpf_map__fd(bs.skel->maps.nowalk), 0);
		if (bs.nowalk == MAP_FAILED) {
			err = -errno;
			bs.nowalk = NULL;
			fprintf(stderr, "madvtrace: cannot map the set of programs not Go: %s\n",
				strerror(-err));
			goto cleanup;
		}
	}
	bs.rb = ring_buffer__new(bpf_map__fd(bs.skel->maps.rb), on_record, &bs, NULL);
	if (!bs.rb) {
		err = -errno;
		fprintf(stderr, "madvtrace: cannot set up the ring buffer: %s\n", strerror(-err));
		goto cleanup;
	}

	if (launched) {
		err = mt_launch__spawn(&child, s, NULL, NULL, NULL);
		if (err) {
			fprintf(stderr, "madvtrace: cannot start %s: %s\n", s->argv[0], strerror(-err));
			goto cleanup;
		}
		s->target_pid = child.pid;
		/* on from its first instruction when the command is known to want them */
		set_wants_stacks(&bs, child.pid, mt_stacks__for_image(s->stacks, s->argv_go));
	} else {
		s->target_pid = s->pid;
	}
	key = s->target_pid;
	if (launched) {
		/* held until its exec: its calls until then are madvtrace's own */
		if (!s->argv_go)
			held |= MT_HELD_NOT_GO;
		err = bpf_map__update_elem(bs.skel->maps.held, &key, sizeof(key), &held,
					   sizeof(held), 0);
		if (err) {
			fprintf(stderr, "madvtrace: cannot register pid %d: %s\n", key,
				strerror(-err));
			goto cleanup;
		}
	} else {
		__atomic_fetch_or(&bs.traced[key / 64], 1ull << (key % 64), __ATOMIC_SEQ_CST);
		err = mt_proc_alive(s->pid) ? adopt(&bs, s->pid) : -ESRCH;
		if (err) {
			if (err == -ESRCH)
				fprintf(stderr, "madvtrace: process %d exited during attach\n",
					s->pid);
			else
				fprintf(stderr, "madvtrace: cannot attach to %d: %s\n", s->pid,
					strerror(-err));
			goto cleanup;
		}
	}
	/* attached, the command spawned: root's powers go before any thread starts */
	err = mt_privs__drop_session(s, false);
	if (err)
		goto cleanup;
	s->latency_ns = POLL_MS * 1000000ull;
	if (s->on_start && (err = s->on_start(s)))
		goto cleanup;
	/* no /proc or ELF work in the ring buffer's callback (docs/security.md) */
	bs.info = mt_infowork__start();
	if (!bs.info) {
		err = -errno;
		fprintf(stderr, "madvtrace: cannot start the info thread: %s\n", strerror(-err));
		goto cleanup;
	}
	if (launched) {
		emit_task_rec(&bs, s->target_pid, MT_TASK_LAUNCH);
		err = mt_launch__release(&child);
		if (err) {
			fprintf(stderr, "madvtrace: cannot run %s: %s\n", s->argv[0], strerror(-err));
			goto cleanup;
		}
	} else {
		/* the program reports its own baseline at the first event; this one has smaps */
		emit_task_rec(&bs, s->target_pid, MT_TASK_ATTACH);
		program_info(&bs, s->target_pid);
		mt_proc_emit_maps(s->target_pid, emit_cb, &bs);
		emit_proc_rss(&bs, s->target_pid, MT_RSS_START, true);
	}
	if (s->verbose)
		fprintf(stderr, "madvtrace: tracing pid %d with the bpf backend\n", s->target_pid);

	start = mt_now_ns();
	next_flush = start + s->rss_interval_ns;
	next_smaps = s->smaps_interval_ns ? start + s->smaps_interval_ns : UINT64_MAX;
	next_stacks = s->stacks != MT_STACKS_NEVER ? start + STACK_EVERY_NS : UINT64_MAX;
	while (!*s->stop && !bs.err) {
		err = ring_buffer__poll(bs.rb, POLL_MS);
		if (err < 0 && err != -EINTR)
			break;
		/* records are submitted without wakeup below a threshold: take them now */
		ring_buffer__consume(bs.rb);
		drain_info(&bs);
		now = mt_now_ns();
		if (s->on_tick)
			s->on_tick(s, now);
		if (now >= next_flush) {
			flush_rss(&bs);
			report_lost(&bs);
			next_flush = now + s->rss_interval_ns;
		}
		if (now >= next_stacks) {
			drain_stacks(&bs);
			next_stacks = now + STACK_EVERY_NS;
		}
		if (now >= next_smaps) {
			for_each_traced(&bs, sample_smaps);
			next_smaps = now + s->smaps_interval_ns;
		}
		if (s->duration_ns && now - start >= s->duration_ns)
			break;
		if (launched && !child_done && waitpid(child.pid, &status, WNOHANG) == child.pid) {
			child_done = true;
			s->exit_status = status;
		}
		/* every traced process has exited (the program removes them) */
		if ((!launched || child_done) && for_each_traced(&bs, NULL) == 0)
			break;
	}
	err = bs.err;
	ring_buffer__consume(bs.rb);
	/* the programs described by now, before the end records */
	mt_infowork__finish(bs.info);
	drain_info(&bs);
	/* from here an exec is described on this thread: nothing waits behind it now */
	mt_infowork__free(bs.info);
	bs.info = NULL;
	flush_rss(&bs);
	ring_buffer__consume(bs.rb);
	report_lost(&bs);
	if (s->stacks != MT_STACKS_NEVER)
		drain_stacks(&bs);
	/* processes still running: their state as we leave them */
	for_each_traced(&bs, end_traced);

cleanup:
	if (child.go_fd >= 0) {
		/* never run the command untraced: it exits without running anything */
		mt_launch__abort(&child);
		child_done = true;
	}
	mt_infowork__free(bs.info);
	ring_buffer__free(bs.rb);
	if (bs.traced)
		munmap(bs.traced, map_bytes);
	if (bs.nowalk)
		munmap(bs.nowalk, map_bytes);
	madvtrace_bpf__destroy(bs.skel);
	free(bs.stack_pids);
	/* launch mode: the command is our child; wait for it unless we were told to stop */
	if (launched && !err && !child_done && child.pid > 0 && !*s->stop && !s->duration_ns) {
		if (waitpid(child.pid, &status, 0) == child.pid)
			s->exit_status = status;
	}
	return err;
}

const struct mt_backend mt_backend_bpf = {
	.id = MT_BACKEND_BPF,
	.available = bpf_available,
	.run = bpf_run,
};
