// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * RSS: read from /proc/self (status, smaps_rollup) by the thread that made
 * a release, and periodically; the periodic work (RSS, the lost count, the
 * write-out of quiet buffers), done inline by the program's threads while
 * they make calls, else by the agent thread, started here.
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include "core.h"
#include "madvtrace/advice.h"
#include "text.h"

#define THREAD_STACK (256 * 1024)
#define TLS_AREA 4096

/* The RSS state and the lost count, under rss_lock (below). */
static struct {
	struct mt_counters last;
	uint64_t seen_release, seen_populate; /* release_ns, populate_ns at the last record */
	uint64_t last_emit_ns, next_smaps_ns;
	uint64_t lost_reported;
	char buf[4096];
} at;

/*
 * The RSS reading and what was last recorded: shared by the program's
 * threads (a read right after a release) and the agent thread (the
 * periodic one). Whoever cannot take the lock at once skips its reading.
 */
static int rss_lock;

void mt_rss__open_fds(void)
{
	mt_ag.status_fd = mt_high_fd(
		(int)mt_sys3(SYS_open, "/proc/self/status", O_RDONLY | O_CLOEXEC, 0));
	mt_ag.smaps_fd = mt_high_fd(
		(int)mt_sys3(SYS_open, "/proc/self/smaps_rollup", O_RDONLY | O_CLOEXEC, 0));
}

static bool pread_text(int fd, char *buf, size_t len)
{
	long n;

	if (fd < 0)
		return false;
	n = mt_sys4(SYS_pread64, fd, buf, len - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

static bool read_counters(struct mt_counters *c)
{
	return pread_text(mt_ag.status_fd, at.buf, sizeof(at.buf)) && mt_parse_status(at.buf, c);
}

static void emit_rss(const struct mt_counters *c, uint32_t reason, uint64_t t, uint16_t flags,
		     uint64_t smaps_rss, uint64_t lazyfree, bool agent)
{
	struct mt_rss r;

	/* a process-wide value: pid and tid are the process's, as the bpf backend has them */
	mt_record_init(&r.h, MT_RSS, sizeof(r), mt_ag.pid, mt_ag.pid, t);
	r.h.flags = MT_F_SYNTH | flags;
	r.anon = c->anon;
	r.file = c->file;
	r.shmem = c->shmem;
	r.swap = c->swap;
	r.smaps_rss = smaps_rss;
	r.lazyfree = lazyfree;
	r.reason = reason;
	mt_out__put(&r.h, agent);
}

static bool same_counters(const struct mt_counters *a, const struct mt_counters *b)
{
	return a->anon == b->anon && a->file == b->file && a->shmem == b->shmem &&
	       a->swap == b->swap;
}

/*
 * A new reading c (rss lock held): record it if it changed, with the
 * reason the bpf backend would give. A fall that follows a release
 * (munmap, madvise, ...) is that call's (MT_RSS_SYSCALL, stamped with the
 * call's time so the timeline pairs them); a fall with no call since is
 * reclaim; growth is page faults unless a populating call came since.
 * any_time: not rate-limited (the caller is about to record a sample or
 * the end and wants no delta in it).
 */
static void rss_update(const struct mt_counters *c, uint64_t now, bool any_time, bool agent)
{
	uint64_t rel = __atomic_load_n(&mt_ag.release_ns, __ATOMIC_RELAXED);
	uint64_t pop = __atomic_load_n(&mt_ag.populate_ns, __ATOMIC_RELAXED);
	bool dec, inc;
	uint32_t reason;
	uint64_t t = now;

	if (same_counters(c, &at.last)) {
		/* a release that changed nothing (MADV_FREE) explains no later fall */
		at.seen_release = rel;
		at.seen_populate = pop;
		return;
	}
	dec = c->anon < at.last.anon || c->file < at.last.file || c->shmem < at.last.shmem ||
	      c->swap < at.last.swap;
	inc = c->anon > at.last.anon || c->file > at.last.file || c->shmem > at.last.shmem ||
	      c->swap > at.last.swap;
	if (dec && rel != at.seen_release) {
		reason = MT_RSS_SYSCALL;
		t = rel;
	} else if (inc && !dec && pop != at.seen_populate) {
		reason = MT_RSS_SYSCALL;
		t = pop;
	} else {
		if (!any_time && now - at.last_emit_ns < mt_ag.rss_ns)
			return; /* the change stays pending until the next interval */
		reason = dec ? MT_RSS_RECLAIM : MT_RSS_FAULT;
	}
	emit_rss(c, reason, t, 0, 0, 0, agent);
	at.last = *c;
	at.seen_release = rel;
	at.seen_populate = pop;
	at.last_emit_ns = now;
}

/* Calls that may bring pages in themselves. */
static bool is_populate(int sc, const __u64 a[6])
{
	switch (sc) {
	case MT_SC_MMAP:
		return a[3] & (MAP_POPULATE | MAP_LOCKED);
	case MT_SC_MADVISE:
		return (int)a[2] == MT_MADV_WILLNEED ||
		       mt_advice_class((int)a[2]) == MT_AC_POPULATE;
	case MT_SC_MREMAP:
		return true;
	}
	return false;
}

/*
 * After a call on a program thread: note what it may explain, and at most
 * once per rss_gap_ns read RSS right here, so a fall it caused is recorded
 * at its exit (like the bpf backend does), in this thread's buffer right
 * after the call.
 */
void mt_rss__after_call(int sc, const __u64 a[6], uint64_t t)
{
	struct mt_counters now;

	/* a plain store: the agent only needs to see that it changed since the last reading */
	if (mt_call_may_release(sc, a) || sc == MT_SC_BRK)
		__atomic_store_n(&mt_ag.release_ns, t, __ATOMIC_RELAXED);
	else if (is_populate(sc, a))
		__atomic_store_n(&mt_ag.populate_ns, t, __ATOMIC_RELAXED);
	else
		return;
	if (t - __atomic_load_n(&mt_ag.rss_read_ns, __ATOMIC_RELAXED) < mt_ag.rss_gap_ns ||
	    mt_ag.exiting || !mt_lock__try(&rss_lock))
		return;
	__atomic_store_n(&mt_ag.rss_read_ns, t, __ATOMIC_RELAXED);
	if (read_counters(&now))
		rss_update(&now, t, false, false);
	mt_lock__drop(&rss_lock);
}

/* The periodic reading (rss lock held), and every smaps interval a sample with smaps_rollup. */
static void rss_periodic(uint64_t now, bool agent)
{
	struct mt_counters c;
	uint64_t rss = 0, lazy = 0;
	uint16_t flags = 0;

	mt_ag.rss_read_ns = now;
	if (!read_counters(&c))
		return;
	if (now < at.next_smaps_ns) {
		rss_update(&c, now, false, agent);
		return;
	}
	at.next_smaps_ns = now + mt_ag.smaps_ns;
	if (pread_text(mt_ag.smaps_fd, at.buf, sizeof(at.buf)) &&
	    mt_parse_smaps_rollup(at.buf, &rss, &lazy))
		flags = MT_F_SMAPS;
	rss_update(&c, now, true, agent);
	emit_rss(&c, MT_RSS_SAMPLE, now, flags, rss, lazy, agent);
	at.last = c;
	at.last_emit_ns = now;
}

/* The baseline of a newly traced address space (a program thread). */
void mt_rss__start(uint64_t now)
{
	struct mt_counters c;

	if (!mt_lock__wait(&rss_lock))
		return;
	if (read_counters(&c)) {
		emit_rss(&c, MT_RSS_START, now, 0, 0, 0, false);
		at.last = c;
		at.seen_release = __atomic_load_n(&mt_ag.release_ns, __ATOMIC_RELAXED);
		at.seen_populate = __atomic_load_n(&mt_ag.populate_ns, __ATOMIC_RELAXED);
		at.last_emit_ns = now;
	}
	at.next_smaps_ns = mt_ag.smaps_ns ? now + mt_ag.smaps_ns : UINT64_MAX;
	mt_lock__drop(&rss_lock);
}

static void report_lost(bool agent)
{
	uint64_t lost = __atomic_load_n(&mt_ag.ring.lost, __ATOMIC_RELAXED);
	struct mt_lost l;

	if (lost <= at.lost_reported)
		return;
	mt_record_init(&l.h, MT_LOST, sizeof(l), mt_ag.pid, mt_ag.pid, mt_raw_now_ns());
	l.count = lost - at.lost_reported;
	l.cpu = ~0u;
	mt_out__put(&l.h, agent);
	at.lost_reported = lost;
}

void mt_rss__end(uint64_t now)
{
	struct mt_counters c;

	if (!mt_lock__wait(&rss_lock))
		return;
	if (read_counters(&c)) {
		rss_update(&c, now, true, false);
		emit_rss(&c, MT_RSS_END, now, 0, 0, 0, false);
	}
	report_lost(false);
	mt_lock__drop(&rss_lock);
}

void mt_rss__fork_child(void)
{
	memset(&at, 0, sizeof(at));
	rss_lock = 0;
}

/*
 * The periodic work (RSS every rss interval, smaps_rollup every smaps
 * interval, the lost count, buffers of threads gone quiet, the ring) is
 * done by whichever program thread records a call first once it is due,
 * inline (a few microseconds every rss interval), and otherwise by the agent
 * thread. The agent thread sleeps on a timer that every round of periodic
 * work pushes further: while the program is busy the agent thread never
 * runs. (When it ran on another CPU, every munmap and madvise of a
 * single-threaded program had to flush that CPU's TLB as well: on the
 * benchmark loop this cost more than the recording.)
 */
void mt_periodic__arm(uint64_t at_ns)
{
	struct itimerspec its = { { 0, 0 },
				  { (time_t)(at_ns / 1000000000ull),
				    (long)(at_ns % 1000000000ull) } };

	if (mt_ag.timer_fd >= 0)
		mt_sys4(SYS_timerfd_settime, mt_ag.timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Is the periodic work due, and is it ours to do (one taker per round)? */
bool mt_periodic__claim(uint64_t now)
{
	uint64_t due = __atomic_load_n(&mt_ag.next_work_ns, __ATOMIC_RELAXED);

	return now >= due &&
	       __atomic_compare_exchange_n(&mt_ag.next_work_ns, &due, now + mt_ag.rss_ns, false,
					   __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

void mt_periodic__run(uint64_t now, bool agent)
{
	if (!__atomic_load_n(&mt_agent_on, __ATOMIC_RELAXED) || mt_ag.exiting)
		return;
	if (agent ? mt_lock__wait(&rss_lock) : mt_lock__try(&rss_lock)) {
		rss_periodic(now, agent);
		report_lost(agent);
		mt_lock__drop(&rss_lock);
	}
	/* threads gone quiet: their records should not wait for their next call */
	mt_out__flush_idle(now, agent);
	/* the agent thread takes over only if no call comes for two intervals */
	mt_periodic__arm(now + (agent ? mt_ag.rss_ns : 2 * mt_ag.rss_ns));
}

/* ---- the agent thread ---- */

static int agent_thread(void *arg)
{
	uint64_t expired, now;

	(void)arg;
	for (;;) {
		/* blocks until the timer fires: only once the program has gone quiet */
		if (mt_sys3(SYS_read, mt_ag.timer_fd, &expired, sizeof(expired)) < 0) {
			/* never a busy loop, whatever happened to the timer */
			mt_raw_sleep_ns(mt_ag.rss_ns);
			continue;
		}
		now = mt_raw_now_ns();
		if (mt_periodic__claim(now))
			mt_periodic__run(now, true);
		else if (__atomic_load_n(&mt_agent_on, __ATOMIC_RELAXED) && !mt_ag.exiting)
			mt_periodic__arm(__atomic_load_n(&mt_ag.next_work_ns, __ATOMIC_RELAXED) +
					 mt_ag.rss_ns);
	}
	return 0;
}

/*
 * Start fn on a thread of its own: a stack and a small thread-control block
 * of our own (the thread never touches thread-local storage, but the stack
 * protector reads its canary at %fs:0x28), every signal blocked so that no
 * program handler ever runs on it.
 */
static int start_bare_thread(int (*fn)(void *), size_t stack_len)
{
	uint64_t all = ~0ull, old = 0, *tcb, guard, pguard;
	size_t total = stack_len + TLS_AREA;
	long base, tid;
	char *top;

	base = mt_raw_syscall(SYS_mmap, 0, (long)total, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (mt_ret_is_err(base))
		return (int)base;
	tcb = (uint64_t *)(base + TLS_AREA - 256);
	__asm__ volatile("mov %%fs:0x28, %0" : "=r"(guard));
	__asm__ volatile("mov %%fs:0x30, %0" : "=r"(pguard));
	tcb[0] = (uint64_t)tcb;
	tcb[5] = guard;
	tcb[6] = pguard;
	top = (char *)base + total;
	mt_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, 8);
	tid = mt_raw_clone(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
				   CLONE_SYSVSEM | CLONE_SETTLS,
			   top, tcb, fn, NULL);
	mt_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
	if (tid < 0) {
		mt_sys2(SYS_munmap, base, total);
		return (int)tid;
	}
	return 0;
}

int mt_agent_thread__start(void)
{
	return start_bare_thread(agent_thread, THREAD_STACK);
}
