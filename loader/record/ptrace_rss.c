// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ptrace backend's RSS: read from /proc after calls and periodically, and the tick that paces it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "procfs.h"
#include "ptrace_backend.h"

static int read_statm(struct pt *pt, struct proc *p, uint64_t *resident, uint64_t *shared)
{
	char path[64], buf[160], *end;
	unsigned long long size, res, sh;
	ssize_t n;

	if (p->statm_fd < 0) {
		snprintf(path, sizeof(path), "/proc/%d/statm", p->tgid);
		p->statm_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (p->statm_fd < 0)
			return -errno;
	}
	n = pread(p->statm_fd, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return n < 0 ? -errno : -ESRCH;
	buf[n] = '\0';
	/* "size resident shared text lib data dt" */
	size = strtoull(buf, &end, 10);
	res = strtoull(end, &end, 10);
	sh = strtoull(end, &end, 10);
	if (*end != ' ' || !size)
		return -EINVAL;
	(void)pt;
	*resident = res;
	*shared = sh;
	return 0;
}

static void remember_rss(struct pt *pt, struct proc *p, const struct mt_rss *r)
{
	p->em_valid = true;
	p->em_resident = (r->anon + r->file + r->shmem) / pt->page;
	p->em_shared = (r->file + r->shmem) / pt->page;
	p->last_rss = *r;
}

/*
 * An rss record of p from /proc/PID/status: anon, file and shmem apart, and
 * swap (statm has neither), with smaps_rollup's Rss and LazyFree if asked.
 */
void pt_emit_rss(struct pt *pt, struct proc *p, uint32_t reason, bool smaps)
{
	struct mt_rss r;

	mt_record_init(&r.h, MT_RSS, sizeof(r), p->tgid, p->tgid, mt_now_ns());
	r.h.flags = MT_F_SYNTH;
	r.reason = reason;
	if (mt_proc_rss(p->tgid, &r))
		return;
	if (smaps)
		mt_proc_smaps(p->tgid, &r);
	pt_emit(pt, &r.h);
	remember_rss(pt, p, &r);
}

/*
 * Has p's RSS moved since its last rss record? Then record it: reason
 * MT_RSS_SYSCALL after a traced call, or (reason 0, the periodic check)
 * MT_RSS_FAULT or MT_RSS_RECLAIM as the bpf backend tells them apart.
 */
void pt_rss_check(struct pt *pt, struct proc *p, uint32_t reason)
{
	uint64_t res = 0, sh = 0;
	struct mt_rss r;

	if (!p->record || pt->err || read_statm(pt, p, &res, &sh))
		return;
	if (p->em_valid && res == p->em_resident && sh == p->em_shared)
		return;
	/* outside a call, only another context takes pages away (anon or file/shmem) */
	if (!reason)
		reason = p->em_valid && (sh < p->em_shared ||
					 res - sh < p->em_resident - p->em_shared)
				 ? MT_RSS_RECLAIM
				 : MT_RSS_FAULT;
	if (!pt->no_swap || !p->em_valid || sh != p->em_shared) {
		pt_emit_rss(pt, p, reason, false);
		return;
	}
	/*
	 * Only anonymous memory moved (the usual case: the allocator's calls).
	 * statm's resident - shared is exactly RssAnon; file and shmem stand as
	 * last read, and without swap there is no swap to count: no need for
	 * the ten times dearer /proc/PID/status.
	 */
	r = p->last_rss;
	r.h.t_ns = mt_now_ns();
	r.h.flags = MT_F_SYNTH;
	r.reason = reason;
	r.anon = (res - sh) * pt->page;
	r.lazyfree = r.smaps_rss = 0;
	pt_emit(pt, &r.h);
	remember_rss(pt, p, &r);
}

/* Is any swap space configured? Without it, no process has swapped pages. */
bool pt_swap_configured(void)
{
	char line[128];
	bool swap = true;
	FILE *f = fopen("/proc/meminfo", "re");

	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "SwapTotal:", 10)) {
			swap = strtoull(line + 10, NULL, 10) != 0;
			break;
		}
	}
	if (f)
		fclose(f);
	return swap;
}

/* ---- the tick: waitpid is interrupted at least every TICK_MAX_NS ---- */

static void on_tick(int sig)
{
	(void)sig;
}

int pt_tick_start(struct pt *pt)
{
	struct sigaction sa = { .sa_handler = on_tick };
	struct sigevent sev = { 0 };
	struct itimerspec its = { 0 };
	uint64_t ns = TICK_MAX_NS;
	sigset_t set;

	/* no SA_RESTART: the point is to make waitpid return */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &pt->old_alrm);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_UNBLOCK, &set, &pt->old_mask);
	sev.sigev_notify = SIGEV_THREAD_ID;
	sev.sigev_signo = SIGALRM;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &pt->timer))
		return -errno;
	pt->have_timer = true;
	if (pt->s->rss_interval_ns && pt->s->rss_interval_ns < ns)
		ns = pt->s->rss_interval_ns;
	if (pt->s->smaps_interval_ns && pt->s->smaps_interval_ns < ns)
		ns = pt->s->smaps_interval_ns;
	if (ns < MS)
		ns = MS;
	its.it_value.tv_sec = its.it_interval.tv_sec = ns / 1000000000ull;
	its.it_value.tv_nsec = its.it_interval.tv_nsec = ns % 1000000000ull;
	if (timer_settime(pt->timer, 0, &its, NULL))
		return -errno;
	return 0;
}

void pt_tick_stop(struct pt *pt)
{
	if (pt->have_timer)
		timer_delete(pt->timer);
	pt->have_timer = false;
	sigaction(SIGALRM, &pt->old_alrm, NULL);
	sigprocmask(SIG_SETMASK, &pt->old_mask, NULL);
}

/* ---- periodic work ---- */

static void sample_all(struct pt *pt, bool smaps)
{
	struct proc *p;

	for (p = pt->procs; p; p = p->next) {
		if (!p->record || p->exited)
			continue;
		if (smaps)
			pt_emit_rss(pt, p, MT_RSS_SAMPLE, true);
		else
			pt_rss_check(pt, p, 0);
	}
}

void pt_periodic(struct pt *pt, uint64_t now)
{
	if (pt->s->on_tick)
		pt->s->on_tick(pt->s, now);
	if (now >= pt->next_smaps_ns) {
		pt->no_swap = !pt_swap_configured(); /* swapon may have come since */
		sample_all(pt, true);
		pt->next_smaps_ns = now + pt->s->smaps_interval_ns;
	}
	if (now >= pt->next_rss_ns) {
		sample_all(pt, false);
		pt->next_rss_ns = now + pt->s->rss_interval_ns;
	}
}
