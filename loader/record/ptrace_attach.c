// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ptrace backend's attach mode: every thread seized and held until none escaped; detached at the end. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include "bpf_helpers.h"
#include "procfs.h"
#include "ptrace_backend.h"

/* ---- attach mode ---- */

static void explain_attach(pid_t pid, int err)
{
	char comm[MT_COMM_LEN] = "?", tcomm[MT_COMM_LEN] = "?", path[64];
	struct task_status ts;
	bool have = !pt_read_status(pid, &ts);
	struct stat st;
	int i;

	mt_proc_comm(pid, comm);
	if (err == ESRCH) {
		fprintf(stderr, "madvtrace: no such process: %d\n", pid);
		return;
	}
	if (err != EPERM) {
		fprintf(stderr, "madvtrace: cannot trace process %d (%s): %s\n", pid, comm,
			strerror(err));
		return;
	}
	if (pid == getpid()) {
		fprintf(stderr, "madvtrace: cannot trace madvtrace itself (pid %d)\n", pid);
		return;
	}
	if (have && ts.tracer > 0) {
		mt_proc_comm((pid_t)ts.tracer, tcomm);
		fprintf(stderr,
			"madvtrace: cannot trace process %d (%s): it is already traced by process "
			"%ld (%s), and a process has one tracer at a time\n",
			pid, comm, ts.tracer, tcomm);
		return;
	}
	/* the same checks as the kernel's ptrace_may_access, to name the one that failed */
	for (i = 0; have && i < 3; i++) {
		if (ts.uid[i] != getuid()) {
			fprintf(stderr,
				"madvtrace: cannot trace process %d (%s): it runs as user %u and "
				"tracing another user's process needs CAP_SYS_PTRACE (run "
				"madvtrace as root, or as that user)\n",
				pid, comm, ts.uid[1]);
			return;
		}
	}
	for (i = 0; have && i < 3; i++) {
		if (ts.gid[i] != getgid()) {
			fprintf(stderr,
				"madvtrace: cannot trace process %d (%s): it runs with group %u "
				"(setgid?) and tracing it needs CAP_SYS_PTRACE\n",
				pid, comm, ts.gid[1]);
			return;
		}
	}
	/* a zombie has no address space, so no dumpable owner either: first */
	if (!mt_proc_alive(pid)) {
		fprintf(stderr, "madvtrace: cannot trace process %d (%s): it is exiting\n", pid,
			comm);
		return;
	}
	/* a non-dumpable process's /proc files (not its directory) belong to root */
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (!stat(path, &st) && st.st_uid != getuid()) {
		fprintf(stderr,
			"madvtrace: cannot trace process %d (%s): it is not dumpable (a setuid "
			"program, or it called prctl(PR_SET_DUMPABLE, 0)); tracing it needs "
			"CAP_SYS_PTRACE\n",
			pid, comm);
		return;
	}
	fprintf(stderr,
		"madvtrace: cannot trace process %d (%s): not permitted (kernel.yama.ptrace_scope, "
		"a security module or a seccomp filter forbids ptrace here; CAP_SYS_PTRACE may "
		"help)\n",
		pid, comm);
}

/* Seize the threads of p not yet known; returns how many were new. */
static int seize_threads(struct pt *pt, struct proc *p)
{
	struct task_status st;
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", p->tgid);
	dir = opendir(path);
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		pid_t tid = (pid_t)strtol(d->d_name, NULL, 10);

		if (tid <= 0 || pt_find_task(pt, tid))
			continue;
		if (!ptrace(PTRACE_SEIZE, tid, 0L, (long)pt->opts)) {
			if (!pt_add_task(pt, tid, p, T_NEW)) {
				ptrace(PTRACE_DETACH, tid, 0L, 0L);
				continue;
			}
			ptrace(PTRACE_INTERRUPT, tid, 0L, 0L);
			n++;
		} else if (errno == EPERM && !pt_read_status(tid, &st) && st.tracer == getpid()) {
			/* made by a thread we had seized: attached already, its stop is coming */
			if (pt_add_task(pt, tid, p, T_NEW))
				n++;
		}
		/* ESRCH: it exited between the listing and the seize */
	}
	closedir(dir);
	return n;
}

int pt_attach(struct pt *pt)
{
	struct mt_session *s = pt->s;
	struct mt_proc_image img;
	struct proc *p;
	int err;

	if (kill(s->pid, 0) && errno == ESRCH) {
		explain_attach(s->pid, ESRCH);
		return -ESRCH;
	}
	p = pt_new_proc(pt, s->pid, true, true);
	if (!p)
		return -ENOMEM;
	pt->cmd = s->pid;
	if (ptrace(PTRACE_SEIZE, s->pid, 0L, (long)pt->opts)) {
		err = errno;
		explain_attach(s->pid, err);
		pt_free_proc(pt, p);
		return -err;
	}
	if (!pt_add_task(pt, s->pid, p, T_NEW)) {
		ptrace(PTRACE_DETACH, s->pid, 0L, 0L);
		pt_free_proc(pt, p);
		return -ENOMEM;
	}
	ptrace(PTRACE_INTERRUPT, s->pid, 0L, 0L);

	/*
	 * Every thread is held at its first stop until all are: then a rescan
	 * that finds no new thread proves none escaped, since any thread made
	 * after it comes from a seized one and is attached automatically.
	 */
	pt->attaching = true;
	for (;;) {
		while (pt->nnew && !*s->stop) {
			err = pt_wait_one(pt);
			if (err)
				return err;
		}
		if (*s->stop || !pt->ntasks || !pt_find_proc(pt, s->pid) || !seize_threads(pt, p))
			break;
	}
	pt->attaching = false;
	if (!pt_find_proc(pt, s->pid) || p->exited || !pt->ntasks) {
		fprintf(stderr, "madvtrace: process %d exited while madvtrace attached to it\n",
			s->pid);
		return -ESRCH;
	}
	if (*s->stop) {
		fprintf(stderr,
			"madvtrace: stopped before the attach to %d was complete: nothing "
			"recorded\n",
			s->pid);
		return -EINTR;
	}
	s->target_pid = s->pid;
	/* attached: root's powers (under sudo) go before any thread starts */
	err = mt_privs__drop_session(s, true);
	if (err)
		return err;
	if (s->on_start && (err = s->on_start(s)))
		return err;
	pt->started = true;
	pt_emit_task(pt, p, p->tgid, MT_TASK_ATTACH, 0, 0);
	mt_proc_emit_info(p->tgid, &img, pt_emit_fn, pt);
	p->stacks = mt_stacks__for_image(s->stacks, img.go);
	mt_proc_emit_maps(p->tgid, pt_emit_fn, pt);
	pt_emit_rss(pt, p, MT_RSS_START, true);
	fprintf(stderr,
		"madvtrace: attached to %d with ptrace: it stops at every system call and runs "
		"slower than under the bpf backend or when launched by madvtrace\n",
		s->pid);
	pt_for_each_task(pt, pt_release_held);
	return 0;
}

/* ---- the end ---- */

static void interrupt_task(struct pt *pt, struct task *t)
{
	t->flags |= T_DETACH;
	if (t->flags & T_HELD) {
		ptrace(PTRACE_DETACH, t->tid, 0L,
		       (long)(t->flags & T_HELD_LISTEN ? 0 : t->held_sig));
		pt_remove_task(pt, t);
		return;
	}
	/* running, or listening in a group-stop: make it stop so it can be detached */
	ptrace(PTRACE_INTERRUPT, t->tid, 0L, 0L);
}

/* Attach mode: every thread runs on (or stays stopped) as if never traced. */
void pt_detach_all(struct pt *pt)
{
	struct proc *p;

	for (p = pt->procs; p; p = p->next) {
		if (!p->record || p->exited || !mt_proc_alive(p->tgid))
			continue;
		pt_emit_rss(pt, p, MT_RSS_END, true);
		pt_emit_task(pt, p, p->tgid, MT_TASK_DETACH, 0, 0);
	}
	pt->ending = true;
	pt_for_each_task(pt, interrupt_task);
	while (pt->ntasks) {
		int err = pt_wait_one(pt);

		if (err == -ECHILD)
			break;
	}
}
