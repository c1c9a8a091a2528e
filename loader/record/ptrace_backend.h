/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The ptrace backend's own parts, private to loader/record/ptrace_*.c:
 *   ptrace_backend.c  launch mode, the session loop, the end of a session
 *   ptrace_tasks.c    the tracee table (processes and their threads), records, resuming
 *   ptrace_stops.c    what each ptrace stop means: calls, clones, exec, exit
 *   ptrace_attach.c   attach mode: seizing every thread, detaching them all
 *   ptrace_rss.c      RSS from /proc, the tick and the periodic samples
 */
#ifndef MT_PTRACE_BACKEND_H
#define MT_PTRACE_BACKEND_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>
#include "backend.h"
#include "launch.h"
#include "ptrace_calls.h"


#define NBUCKETS 1024
#define MS (1000 * 1000ull)
/* longest wait in waitpid before the deadlines and the stop flag are looked at again */
#define TICK_MAX_NS (100 * MS)
/* launch mode: how long a stop request waits for the command to get its own signal */
#define STOP_GRACE_NS (100 * MS)
/* distinct user stacks kept with --stacks (the bpf backend's stack map holds as many) */
#define MAX_STACKS 8192

enum task_flags {
	T_NEW = 1 << 0, /* seized or auto-attached: its first stop is still to come */
	T_HELD = 1 << 1, /* stopped, resumed once the attach is complete */
	T_HELD_LISTEN = 1 << 2, /* held in a group-stop: resume with PTRACE_LISTEN */
	T_DETACH = 1 << 3, /* detach at its next stop */
};

struct proc {
	pid_t tgid;
	unsigned int ntasks;
	bool record; /* false: the launched command before its exec, children without -f */
	bool keep; /* stays traced (attach mode: a child we do not follow is detached) */
	bool exited; /* its leader's exit was reported */
	bool stacks; /* its program wants release stacks (mt_stacks__for_image) */
	uint64_t start_stack; /* where its main stack started (0: not read yet, ~0: unknown) */
	int statm_fd;
	/* the last rss record's values, in pages, to see whether RSS changed */
	bool em_valid;
	uint64_t em_resident, em_shared;
	struct mt_rss last_rss; /* valid when em_valid */
	struct mt_rss exit_rss; /* read at a thread's PTRACE_EVENT_EXIT stop */
	bool have_exit_rss;
	uint64_t term_sig_ns; /* when the last SIGINT/SIGTERM/SIGHUP/SIGQUIT reached it */
	char comm[MT_COMM_LEN]; /* for records of threads already gone */
	struct proc *next;
};

struct task {
	pid_t tid;
	unsigned int flags;
	int held_sig;
	struct proc *proc;
	struct mt_pt_call call; /* call.active: a recorded call is in progress */
	struct task *next;
};

struct pt {
	struct mt_session *s;
	bool launch;
	int opts;
	int resume_req; /* launch: PTRACE_CONT; attach: PTRACE_SYSCALL */
	struct task *buckets[NBUCKETS];
	size_t ntasks;
	size_t nnew; /* tasks with T_NEW */
	struct proc *procs;
	pid_t cmd; /* the launched command or the attached process */
	bool cmd_started; /* launch: the command has exec'd */
	bool cmd_exited;
	int err; /* first error from emit: recording stops there */
	struct mt_launch child; /* launch: its pipes, until it exec'd */
	bool attaching; /* hold every task at its first stop */
	bool started; /* on_start done: records may flow */
	bool ending; /* detaching or killing: no records, no new attachments kept */
	bool no_swap; /* no swap space configured: statm suffices to follow RSS */
	long page;
	struct mt_pt_stacks *stacks; /* with --stacks: the distinct user stacks so far */
	struct mt_ustack *ustack; /* with --stacks: room for one MT_USTACK record, made at first use */
	/* launch mode after a stop request */
	bool stopping;
	bool forwarded;
	uint64_t stop_ns, forward_ns;
	bool told_leftovers;
	/* deadlines */
	uint64_t start_ns, next_rss_ns, next_smaps_ns;
	/* the tick that breaks waitpid */
	timer_t timer;
	bool have_timer;
	struct sigaction old_alrm, old_chld;
	sigset_t old_mask;
};


/* What the ptrace backend needs of /proc/PID/status. */

/* What the ptrace backend needs of /proc/PID/status. */
struct task_status {
	long tgid;
	long tracer;
	unsigned int uid[3], gid[3]; /* real, effective, saved */
	char comm[MT_COMM_LEN];
};

/* What to do with a stopped task once its stop is handled. */
enum action { A_RESUME, A_LISTEN, A_NONE };

/* ptrace_tasks.c */
struct task *pt_find_task(struct pt *pt, pid_t tid);
struct proc *pt_find_proc(struct pt *pt, pid_t tgid);
struct proc *pt_new_proc(struct pt *pt, pid_t tgid, bool record, bool keep);
void pt_free_proc(struct pt *pt, struct proc *p);
struct task *pt_add_task(struct pt *pt, pid_t tid, struct proc *p, unsigned int flags);
void pt_clear_new(struct pt *pt, struct task *t);
void pt_remove_task(struct pt *pt, struct task *t);
void pt_rename_task(struct pt *pt, struct task *t, pid_t tid);
void pt_for_each_task(struct pt *pt, void (*fn)(struct pt *, struct task *));
int pt_read_status(pid_t tid, struct task_status *st);
struct task *pt_adopt_task(struct pt *pt, pid_t tid);
void pt_emit(struct pt *pt, const struct mt_hdr *h);
int pt_emit_fn(void *ctx, const struct mt_hdr *h);
void pt_emit_task(struct pt *pt, struct proc *p, pid_t tid, uint32_t event, uint32_t other,
		  int32_t code);
void pt_act(struct pt *pt, struct task *t, enum action a, int sig);
void pt_release_held(struct pt *pt, struct task *t);

/* ptrace_stops.c */
void pt_on_wait(struct pt *pt, pid_t pid, int status);
int pt_wait_one(struct pt *pt);

/* ptrace_attach.c */
int pt_attach(struct pt *pt);
void pt_detach_all(struct pt *pt);

/* ptrace_rss.c */
void pt_emit_rss(struct pt *pt, struct proc *p, uint32_t reason, bool smaps);
void pt_rss_check(struct pt *pt, struct proc *p, uint32_t reason);
bool pt_swap_configured(void);
int pt_tick_start(struct pt *pt);
void pt_tick_stop(struct pt *pt);
void pt_periodic(struct pt *pt, uint64_t now);

#endif
