// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ptrace backend's tracee table: processes, their threads, what they emit, resuming them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include "procfs.h"
#include "ptrace_backend.h"

/* ---- tasks and processes ---- */

static struct task **bucket(struct pt *pt, pid_t tid)
{
	return &pt->buckets[(unsigned int)tid % NBUCKETS];
}

struct task *pt_find_task(struct pt *pt, pid_t tid)
{
	struct task *t;

	for (t = *bucket(pt, tid); t; t = t->next)
		if (t->tid == tid)
			return t;
	return NULL;
}

struct proc *pt_find_proc(struct pt *pt, pid_t tgid)
{
	struct proc *p;

	for (p = pt->procs; p; p = p->next)
		if (p->tgid == tgid)
			return p;
	return NULL;
}

struct proc *pt_new_proc(struct pt *pt, pid_t tgid, bool record, bool keep)
{
	struct proc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->tgid = tgid;
	p->record = record;
	p->keep = keep;
	p->statm_fd = -1;
	p->next = pt->procs;
	pt->procs = p;
	return p;
}

void pt_free_proc(struct pt *pt, struct proc *p)
{
	struct proc **pp;

	for (pp = &pt->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	if (p->statm_fd >= 0)
		close(p->statm_fd);
	free(p);
}

struct task *pt_add_task(struct pt *pt, pid_t tid, struct proc *p, unsigned int flags)
{
	struct task *t = calloc(1, sizeof(*t)), **b = bucket(pt, tid);

	if (!t)
		return NULL;
	t->tid = tid;
	t->proc = p;
	t->flags = flags;
	t->next = *b;
	*b = t;
	p->ntasks++;
	pt->ntasks++;
	if (flags & T_NEW)
		pt->nnew++;
	return t;
}

void pt_clear_new(struct pt *pt, struct task *t)
{
	if (t->flags & T_NEW) {
		t->flags &= ~T_NEW;
		pt->nnew--;
	}
}

void pt_remove_task(struct pt *pt, struct task *t)
{
	struct task **tp;
	struct proc *p = t->proc;

	for (tp = bucket(pt, t->tid); *tp; tp = &(*tp)->next) {
		if (*tp == t) {
			*tp = t->next;
			break;
		}
	}
	pt_clear_new(pt, t);
	pt->ntasks--;
	free(t);
	if (--p->ntasks == 0)
		pt_free_proc(pt, p);
}

/* Move task t to a new tid (exec from a non-leader thread takes the leader's). */
void pt_rename_task(struct pt *pt, struct task *t, pid_t tid)
{
	struct task **tp, **b;

	for (tp = bucket(pt, t->tid); *tp; tp = &(*tp)->next) {
		if (*tp == t) {
			*tp = t->next;
			break;
		}
	}
	t->tid = tid;
	b = bucket(pt, tid);
	t->next = *b;
	*b = t;
}

/* Call fn for every task; fn may remove the task it is given. */
void pt_for_each_task(struct pt *pt, void (*fn)(struct pt *, struct task *))
{
	struct task *t, *next;
	size_t i;

	for (i = 0; i < NBUCKETS; i++) {
		for (t = pt->buckets[i]; t; t = next) {
			next = t->next;
			fn(pt, t);
		}
	}
}

int pt_read_status(pid_t tid, struct task_status *st)
{
	char path[64], buf[2048], *p;
	ssize_t n;
	int fd;

	memset(st, 0, sizeof(*st));
	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	for (p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, "Name:\t", 6))
			sscanf(p + 6, "%15[^\n]", st->comm);
		else if (!strncmp(p, "Tgid:", 5))
			st->tgid = strtol(p + 5, NULL, 10);
		else if (!strncmp(p, "TracerPid:", 10))
			st->tracer = strtol(p + 10, NULL, 10);
		else if (!strncmp(p, "Uid:", 4))
			sscanf(p + 4, "%u %u %u", &st->uid[0], &st->uid[1], &st->uid[2]);
		else if (!strncmp(p, "Gid:", 4))
			sscanf(p + 4, "%u %u %u", &st->gid[0], &st->gid[1], &st->gid[2]);
	}
	return 0;
}

/*
 * A task we have not seen before: a thread or a child auto-attached through
 * PTRACE_O_TRACECLONE/FORK/VFORK, whose first stop may come before its
 * parent's event. Its process is found through its Tgid.
 */
struct task *pt_adopt_task(struct pt *pt, pid_t tid)
{
	struct task_status st;
	struct proc *p;
	struct task *t;

	if (pt_read_status(tid, &st) || st.tgid <= 0)
		st.tgid = tid;
	p = pt_find_proc(pt, (pid_t)st.tgid);
	if (!p) {
		/* a new process: recorded only with -f; launch mode keeps it traced regardless */
		bool follow = pt->s->follow_forks && !pt->ending;

		p = pt_new_proc(pt, (pid_t)st.tgid, follow && !pt->err, follow || pt->launch);
		if (!p)
			return NULL;
		memcpy(p->comm, st.comm, sizeof(p->comm));
	}
	t = pt_add_task(pt, tid, p, T_NEW | (pt->ending ? T_DETACH : 0));
	if (!t && p->ntasks == 0)
		pt_free_proc(pt, p);
	return t;
}

/* ---- records ---- */

void pt_emit(struct pt *pt, const struct mt_hdr *h)
{
	int err;

	if (pt->err || pt->ending || !pt->started)
		return;
	err = pt->s->emit(pt->s->emit_ctx, h);
	if (err) {
		/* the sink said why; trace on without recording, harming nothing */
		pt->err = err;
	}
}

int pt_emit_fn(void *ctx, const struct mt_hdr *h)
{
	struct pt *pt = ctx;

	pt_emit(pt, h);
	return pt->err;
}

void pt_emit_task(struct pt *pt, struct proc *p, pid_t tid, uint32_t event, uint32_t other,
		      int32_t code)
{
	struct mt_task r;

	mt_record_init(&r.h, MT_TASK, sizeof(r), p->tgid, tid, mt_now_ns());
	r.event = event;
	r.other_pid = other;
	r.code = code;
	/* the thread's own name; once it is gone, the process's last known one */
	if (mt_proc_comm(tid, r.comm))
		memcpy(r.comm, p->comm, sizeof(r.comm));
	else if (tid == p->tgid)
		memcpy(p->comm, r.comm, sizeof(p->comm));
	pt_emit(pt, &r.h);
}

/* RSS of p from /proc/PID/statm, in pages: cheap enough to read after every call. */
/* ---- resuming ---- */

static void resume(struct pt *pt, struct task *t, int sig)
{
	/* a recorded call in progress: stop again at its exit */
	int req = t->call.active ? PTRACE_SYSCALL : pt->resume_req;

	/* ESRCH: killed meanwhile (SIGKILL); waitpid will report it */
	ptrace(req, t->tid, 0L, (long)sig);
}


void pt_act(struct pt *pt, struct task *t, enum action a, int sig)
{
	if (a == A_NONE)
		return;
	if (pt->attaching) {
		t->flags |= T_HELD | (a == A_LISTEN ? T_HELD_LISTEN : 0);
		t->held_sig = sig;
		return;
	}
	if (a == A_LISTEN && !ptrace(PTRACE_LISTEN, t->tid, 0L, 0L))
		return;
	resume(pt, t, sig);
}

void pt_release_held(struct pt *pt, struct task *t)
{
	bool listen = t->flags & T_HELD_LISTEN;

	if (!(t->flags & T_HELD))
		return;
	t->flags &= ~(T_HELD | T_HELD_LISTEN);
	pt_act(pt, t, listen ? A_LISTEN : A_RESUME, t->held_sig);
}
