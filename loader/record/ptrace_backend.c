// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The ptrace backend: the same records as the bpf backend, for a user who
 * may not load BPF programs, tracing their own processes.
 *
 * Launch mode: the child is seized (PTRACE_SEIZE) before it execs, installs
 * a seccomp filter whose SECCOMP_RET_TRACE stops it at the recorded calls
 * only, and is resumed with PTRACE_CONT everywhere else; after a seccomp
 * stop one PTRACE_SYSCALL takes it to that call's exit. Every thread, and
 * every child (the filter is inherited), stays traced until it exits: a
 * filtered process without its tracer would see ENOSYS from mmap, so
 * PTRACE_O_EXITKILL makes it die with madvtrace instead.
 *
 * Attach mode: no filter can be added to a running process, so every thread
 * is seized and resumed with PTRACE_SYSCALL (a stop at every call); on the
 * way out every thread is interrupted and detached, running on as before.
 *
 * Signals are passed on exactly once, at their signal-delivery stop; a
 * group-stop is held with PTRACE_LISTEN so the tracee stays stopped until a
 * SIGCONT, as it would untraced. See docs/backends.md.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include "backend.h"
#include "launch.h"
#include "madvtrace/build.h"
#include "procfs.h"
#include "ptrace_calls.h"
#include "seccomp_filter.h"

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

/* ---- tasks and processes ---- */

static struct task **bucket(struct pt *pt, pid_t tid)
{
	return &pt->buckets[(unsigned int)tid % NBUCKETS];
}

static struct task *find_task(struct pt *pt, pid_t tid)
{
	struct task *t;

	for (t = *bucket(pt, tid); t; t = t->next)
		if (t->tid == tid)
			return t;
	return NULL;
}

static struct proc *find_proc(struct pt *pt, pid_t tgid)
{
	struct proc *p;

	for (p = pt->procs; p; p = p->next)
		if (p->tgid == tgid)
			return p;
	return NULL;
}

static struct proc *new_proc(struct pt *pt, pid_t tgid, bool record, bool keep)
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

static void free_proc(struct pt *pt, struct proc *p)
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

static struct task *add_task(struct pt *pt, pid_t tid, struct proc *p, unsigned int flags)
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

static void clear_new(struct pt *pt, struct task *t)
{
	if (t->flags & T_NEW) {
		t->flags &= ~T_NEW;
		pt->nnew--;
	}
}

static void remove_task(struct pt *pt, struct task *t)
{
	struct task **tp;
	struct proc *p = t->proc;

	for (tp = bucket(pt, t->tid); *tp; tp = &(*tp)->next) {
		if (*tp == t) {
			*tp = t->next;
			break;
		}
	}
	clear_new(pt, t);
	pt->ntasks--;
	free(t);
	if (--p->ntasks == 0)
		free_proc(pt, p);
}

/* Move task t to a new tid (exec from a non-leader thread takes the leader's). */
static void rename_task(struct pt *pt, struct task *t, pid_t tid)
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
static void for_each_task(struct pt *pt, void (*fn)(struct pt *, struct task *))
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

/* What the ptrace backend needs of /proc/PID/status. */
struct task_status {
	long tgid;
	long tracer;
	unsigned int uid[3], gid[3]; /* real, effective, saved */
	char comm[MT_COMM_LEN];
};

static int read_status(pid_t tid, struct task_status *st)
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
static struct task *adopt_task(struct pt *pt, pid_t tid)
{
	struct task_status st;
	struct proc *p;
	struct task *t;

	if (read_status(tid, &st) || st.tgid <= 0)
		st.tgid = tid;
	p = find_proc(pt, (pid_t)st.tgid);
	if (!p) {
		/* a new process: recorded only with -f; launch mode keeps it traced regardless */
		bool follow = pt->s->follow_forks && !pt->ending;

		p = new_proc(pt, (pid_t)st.tgid, follow && !pt->err, follow || pt->launch);
		if (!p)
			return NULL;
		memcpy(p->comm, st.comm, sizeof(p->comm));
	}
	t = add_task(pt, tid, p, T_NEW | (pt->ending ? T_DETACH : 0));
	if (!t && p->ntasks == 0)
		free_proc(pt, p);
	return t;
}

/* ---- records ---- */

static void emit(struct pt *pt, const struct mt_hdr *h)
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

static int emit_fn(void *ctx, const struct mt_hdr *h)
{
	struct pt *pt = ctx;

	emit(pt, h);
	return pt->err;
}

static void emit_task(struct pt *pt, struct proc *p, pid_t tid, uint32_t event, uint32_t other,
		      int32_t code)
{
	struct mt_task r;

	mt_hdr_init(&r.h, MT_TASK, sizeof(r), p->tgid, tid, mt_now_ns());
	r.event = event;
	r.other_pid = other;
	r.code = code;
	/* the thread's own name; once it is gone, the process's last known one */
	if (mt_proc_comm(tid, r.comm))
		memcpy(r.comm, p->comm, sizeof(r.comm));
	else if (tid == p->tgid)
		memcpy(p->comm, r.comm, sizeof(p->comm));
	emit(pt, &r.h);
}

/* RSS of p from /proc/PID/statm, in pages: cheap enough to read after every call. */
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
static void emit_rss(struct pt *pt, struct proc *p, uint32_t reason, bool smaps)
{
	struct mt_rss r;

	mt_hdr_init(&r.h, MT_RSS, sizeof(r), p->tgid, p->tgid, mt_now_ns());
	r.h.flags = MT_F_SYNTH;
	r.reason = reason;
	if (mt_proc_rss(p->tgid, &r))
		return;
	if (smaps)
		mt_proc_smaps(p->tgid, &r);
	emit(pt, &r.h);
	remember_rss(pt, p, &r);
}

/*
 * Has p's RSS moved since its last rss record? Then record it: reason
 * MT_RSS_SYSCALL after a traced call, or (reason 0, the periodic check)
 * MT_RSS_FAULT or MT_RSS_RECLAIM as the bpf backend tells them apart.
 */
static void rss_check(struct pt *pt, struct proc *p, uint32_t reason)
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
		emit_rss(pt, p, reason, false);
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
	emit(pt, &r.h);
	remember_rss(pt, p, &r);
}

/* Is any swap space configured? Without it, no process has swapped pages. */
static bool swap_configured(void)
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

/* ---- resuming ---- */

static void resume(struct pt *pt, struct task *t, int sig)
{
	/* a recorded call in progress: stop again at its exit */
	int req = t->call.active ? PTRACE_SYSCALL : pt->resume_req;

	/* ESRCH: killed meanwhile (SIGKILL); waitpid will report it */
	ptrace(req, t->tid, 0L, (long)sig);
}

enum action { A_RESUME, A_LISTEN, A_NONE };

static void act(struct pt *pt, struct task *t, enum action a, int sig)
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

static void release_held(struct pt *pt, struct task *t)
{
	bool listen = t->flags & T_HELD_LISTEN;

	if (!(t->flags & T_HELD))
		return;
	t->flags &= ~(T_HELD | T_HELD_LISTEN);
	act(pt, t, listen ? A_LISTEN : A_RESUME, t->held_sig);
}

/* ---- calls ---- */

/* The pid a pidfd of process tgid refers to (its fdinfo "Pid:" line), or 0. */
static uint32_t pidfd_pid(pid_t tgid, int fd)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", tgid, fd);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0)
		return 0;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "\nPid:");
	return p ? (uint32_t)strtoul(p + 5, NULL, 10) : 0;
}

static void begin_call(struct pt *pt, struct task *t, uint32_t arch, uint64_t nr,
		       const uint64_t args[6])
{
	unsigned char buf[MT_PT_MAX_IOV * 16];
	struct iovec local, remote;
	uint64_t addr = 0;
	uint8_t abi = 0;
	ssize_t n;
	size_t need;
	int sc;

	t->call.active = false;
	if (!t->proc->record || pt->err)
		return;
	sc = mt_pt_classify(arch, nr, &abi);
	if (sc < 0)
		return;
	mt_pt_call_init(&t->call, sc, abi, args, t->proc->tgid);
	need = mt_pt_call_user_args(&t->call, &addr);
	if (need) {
		/* arguments in tracee memory must be read before the call runs */
		local.iov_base = buf;
		local.iov_len = need < sizeof(buf) ? need : sizeof(buf);
		remote.iov_base = (void *)(uintptr_t)addr;
		remote.iov_len = local.iov_len;
		n = process_vm_readv(t->tid, &local, 1, &remote, 1, 0);
		mt_pt_call_set_user_args(&t->call, buf, n > 0 ? (size_t)n : 0);
	}
	if (sc == MT_SC_PROCESS_MADVISE)
		t->call.target_pid = pidfd_pid(t->proc->tgid, (int)t->call.args[0]);
}

static ssize_t read_tracee(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = {.iov_base = buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};

	return process_vm_readv(*(pid_t *)ctx, &local, 1, &remote, 1, 0);
}

/*
 * The user stack of a release at its exit stop, by its frame pointers (Go
 * on amd64 keeps them), as the bpf backend takes it. Returns the stack's
 * id (0: none), with *fresh set when its MT_STACK record is to be written.
 */
static uint32_t call_stack(struct pt *pt, struct task *t, uint64_t ips[MT_MAX_STACK],
			   uint32_t *nr, bool *fresh)
{
	struct user_regs_struct regs;
	pid_t tid = t->tid;

	*fresh = false;
	*nr = 0;
	if (!pt->stacks || !mt_call_may_release(t->call.sc, t->call.args) ||
	    ptrace(PTRACE_GETREGS, tid, 0L, &regs))
		return 0;
	/* an i386 tracee's frames are 4-byte words; x32 pushes 8 bytes like x86-64 */
	*nr = mt_pt_walk_stack(regs.rip, regs.rbp, t->call.abi == MT_ABI_I386 ? 4 : 8,
			       read_tracee, &tid, ips);
	return mt_pt_stacks__id(pt->stacks, ips, *nr, fresh);
}

static void end_call(struct pt *pt, struct task *t, int64_t rval)
{
	union {
		struct mt_stack st;
		uint8_t b[sizeof(struct mt_stack) + MT_MAX_STACK * sizeof(uint64_t)];
	} u;
	uint64_t ips[MT_MAX_STACK], now;
	struct proc *target;
	uint32_t nr;
	bool fresh;

	t->call.stack_id = call_stack(pt, t, ips, &nr, &fresh);
	now = mt_now_ns();
	/* a call's record carries the time it returned: its effect is then in place */
	mt_pt_call_emit(&t->call, rval, t->proc->tgid, t->tid, now, emit_fn, pt);
	/* a new stack is written once, after the first record that refers to it */
	if (fresh) {
		mt_pt_stack_record(&u.st, t->call.stack_id, ips, nr, now);
		emit(pt, &u.st.h);
	}
	rss_check(pt, t->proc, MT_RSS_SYSCALL);
	/* process_madvise can change the RSS of another traced process */
	if (t->call.sc == MT_SC_PROCESS_MADVISE && t->call.target_pid != (uint32_t)t->proc->tgid) {
		target = find_proc(pt, (pid_t)t->call.target_pid);
		if (target)
			rss_check(pt, target, MT_RSS_SYSCALL);
	}
	t->call.active = false;
}

static enum action syscall_stop(struct pt *pt, struct task *t)
{
	struct __ptrace_syscall_info info;

	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof(info), &info) <= 0)
		return A_RESUME;
	if (info.op == PTRACE_SYSCALL_INFO_ENTRY)
		begin_call(pt, t, info.arch, info.entry.nr, info.entry.args);
	else if (info.op == PTRACE_SYSCALL_INFO_EXIT && t->call.active)
		end_call(pt, t, info.exit.rval);
	/* an exit without its entry: the call began before we attached */
	return A_RESUME;
}

static enum action seccomp_stop(struct pt *pt, struct task *t)
{
	struct __ptrace_syscall_info info;

	if (ptrace(PTRACE_GET_SYSCALL_INFO, t->tid, (void *)sizeof(info), &info) > 0 &&
	    info.op == PTRACE_SYSCALL_INFO_SECCOMP)
		begin_call(pt, t, info.arch, info.seccomp.nr, info.seccomp.args);
	return A_RESUME;
}

/* ---- task events ---- */

static void child_event(struct pt *pt, struct task *t, int event)
{
	unsigned long msg = 0;
	struct task *c;

	if (ptrace(PTRACE_GETEVENTMSG, t->tid, 0L, &msg) || !msg)
		return;
	c = find_task(pt, (pid_t)msg);
	if (!c)
		c = adopt_task(pt, (pid_t)msg);
	if (!c || !t->proc->record)
		return;
	if (c->proc == t->proc) {
		emit_task(pt, t->proc, t->tid, MT_TASK_CLONE, c->tid, 0);
		return;
	}
	emit_task(pt, t->proc, t->tid, MT_TASK_FORK, c->proc->tgid, 0);
	/* a followed child's own address space; a vfork child borrows its parent's until exec */
	if (c->proc->record && event != PTRACE_EVENT_VFORK)
		emit_rss(pt, c->proc, MT_RSS_START, false);
}

/*
 * The exec stop comes with the leader's tid. If another thread exec'd, it
 * took over that tid and the old leader vanished without an exit report.
 */
static struct task *exec_event(struct pt *pt, struct task *t)
{
	unsigned long old = 0;
	struct task *o;
	struct proc *p;

	ptrace(PTRACE_GETEVENTMSG, t->tid, 0L, &old);
	if (old && (pid_t)old != t->tid && (o = find_task(pt, (pid_t)old))) {
		pid_t tid = t->tid;

		remove_task(pt, t);
		rename_task(pt, o, tid);
		t = o;
	}
	t->call.active = false;
	p = t->proc;
	p->em_valid = false; /* a new address space */
	p->have_exit_rss = false;
	if (p->tgid == pt->cmd && pt->launch && !pt->cmd_started) {
		/* the launched command starts here; what came before was madvtrace's own */
		pt->cmd_started = true;
		p->record = !pt->err;
		/* past the exec's point of no return: its report pipe is closed, EOF */
		if (pt->child.err_fd >= 0)
			mt_launch__result(&pt->child, NULL);
	}
	if (p->record) {
		emit_task(pt, p, t->tid, MT_TASK_EXEC, old ? (uint32_t)old : (uint32_t)t->tid, 0);
		mt_proc_emit_info(p->tgid, emit_fn, pt);
		emit_rss(pt, p, MT_RSS_START, false);
	}
	return t;
}

/* A thread is about to exit: the address space is still there, read its RSS. */
static void exit_event(struct pt *pt, struct task *t)
{
	struct proc *p = t->proc;

	if (!p->record || pt->err)
		return;
	mt_hdr_init(&p->exit_rss.h, MT_RSS, sizeof(p->exit_rss), p->tgid, p->tgid, mt_now_ns());
	p->exit_rss.h.flags = MT_F_SYNTH;
	p->exit_rss.reason = MT_RSS_END;
	p->have_exit_rss = !mt_proc_rss(p->tgid, &p->exit_rss);
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static void on_stop(struct pt *pt, struct task *t, int status)
{
	int sig = WSTOPSIG(status), event = (unsigned int)status >> 16;

	if (t->flags & T_NEW) {
		clear_new(pt, t);
		if (!t->proc->keep)
			t->flags |= T_DETACH;
	}
	if (t->flags & T_DETACH) {
		/* a signal-delivery stop: the signal goes with the detach, not lost */
		int inject = !event && sig != (SIGTRAP | 0x80) ? sig : 0;

		if (event == PTRACE_EVENT_CLONE || event == PTRACE_EVENT_FORK ||
		    event == PTRACE_EVENT_VFORK)
			child_event(pt, t, event);
		/* in a group-stop the kernel puts it back into the stop on detach */
		ptrace(PTRACE_DETACH, t->tid, 0L, (long)inject);
		remove_task(pt, t);
		return;
	}

	if (sig == (SIGTRAP | 0x80)) {
		act(pt, t, syscall_stop(pt, t), 0);
		return;
	}
	switch (event) {
	case 0:
		/* a signal-delivery stop: deliver it, exactly once */
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT)
			t->proc->term_sig_ns = mt_now_ns();
		act(pt, t, A_RESUME, sig);
		return;
	case PTRACE_EVENT_SECCOMP:
		act(pt, t, seccomp_stop(pt, t), 0);
		return;
	case PTRACE_EVENT_CLONE:
	case PTRACE_EVENT_FORK:
	case PTRACE_EVENT_VFORK:
		child_event(pt, t, event);
		break;
	case PTRACE_EVENT_EXEC:
		t = exec_event(pt, t);
		break;
	case PTRACE_EVENT_EXIT:
		exit_event(pt, t);
		break;
	case PTRACE_EVENT_STOP:
		/* group-stop: stay stopped, as untraced, until SIGCONT */
		if (is_stop_signal(sig)) {
			act(pt, t, A_LISTEN, 0);
			return;
		}
		break; /* PTRACE_INTERRUPT, a new task's first stop, or the end of a LISTEN */
	}
	act(pt, t, A_RESUME, 0);
}

static void task_gone(struct pt *pt, struct task *t, int status)
{
	struct proc *p = t->proc;
	bool leader = t->tid == p->tgid;

	if (p->record && !pt->ending) {
		if (leader) {
			struct mt_rss *r = &p->exit_rss;

			emit_task(pt, p, t->tid, MT_TASK_EXIT, 0, status);
			/* the last value seen before the exit teardown */
			if (!p->have_exit_rss ||
			    (p->em_valid && p->last_rss.h.t_ns > p->exit_rss.h.t_ns))
				r = &p->last_rss;
			if (p->have_exit_rss || p->em_valid) {
				r->reason = MT_RSS_END;
				r->h.flags = MT_F_SYNTH;
				emit(pt, &r->h);
			}
		} else {
			emit_task(pt, p, t->tid, MT_TASK_THREAD_EXIT, 0, status);
		}
	}
	if (leader) {
		p->exited = true;
		if (p->tgid == pt->cmd) {
			pt->cmd_exited = true;
			if (pt->launch)
				pt->s->exit_status = status;
		}
	}
	remove_task(pt, t);
}

static void on_wait(struct pt *pt, pid_t pid, int status)
{
	struct task *t = find_task(pt, pid);

	if (!t) {
		if (!WIFSTOPPED(status))
			return;
		t = adopt_task(pt, pid);
		if (!t) {
			/* out of memory: never leave it stopped */
			ptrace(pt->launch ? PTRACE_CONT : PTRACE_DETACH, pid, 0L, 0L);
			return;
		}
	}
	if (WIFEXITED(status) || WIFSIGNALED(status))
		task_gone(pt, t, status);
	else if (WIFSTOPPED(status))
		on_stop(pt, t, status);
}

/* ---- the tick: waitpid is interrupted at least every TICK_MAX_NS ---- */

static void on_tick(int sig)
{
	(void)sig;
}

static int tick_start(struct pt *pt)
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

static void tick_stop(struct pt *pt)
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
			emit_rss(pt, p, MT_RSS_SAMPLE, true);
		else
			rss_check(pt, p, 0);
	}
}

static void periodic(struct pt *pt, uint64_t now)
{
	if (pt->s->on_tick)
		pt->s->on_tick(pt->s, now);
	if (now >= pt->next_smaps_ns) {
		pt->no_swap = !swap_configured(); /* swapon may have come since */
		sample_all(pt, true);
		pt->next_smaps_ns = now + pt->s->smaps_interval_ns;
	}
	if (now >= pt->next_rss_ns) {
		sample_all(pt, false);
		pt->next_rss_ns = now + pt->s->rss_interval_ns;
	}
}

/* ---- attach mode ---- */

static void explain_attach(pid_t pid, int err)
{
	char comm[MT_COMM_LEN] = "?", tcomm[MT_COMM_LEN] = "?", path[64];
	struct task_status ts;
	bool have = !read_status(pid, &ts);
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

		if (tid <= 0 || find_task(pt, tid))
			continue;
		if (!ptrace(PTRACE_SEIZE, tid, 0L, (long)pt->opts)) {
			if (!add_task(pt, tid, p, T_NEW)) {
				ptrace(PTRACE_DETACH, tid, 0L, 0L);
				continue;
			}
			ptrace(PTRACE_INTERRUPT, tid, 0L, 0L);
			n++;
		} else if (errno == EPERM && !read_status(tid, &st) && st.tracer == getpid()) {
			/* made by a thread we had seized: attached already, its stop is coming */
			if (add_task(pt, tid, p, T_NEW))
				n++;
		}
		/* ESRCH: it exited between the listing and the seize */
	}
	closedir(dir);
	return n;
}

static int wait_one(struct pt *pt)
{
	int status;
	pid_t pid = waitpid(-1, &status, __WALL);

	if (pid < 0)
		return errno == EINTR ? 0 : -errno;
	on_wait(pt, pid, status);
	return 0;
}

static int attach(struct pt *pt)
{
	struct mt_session *s = pt->s;
	struct proc *p;
	int err;

	if (kill(s->pid, 0) && errno == ESRCH) {
		explain_attach(s->pid, ESRCH);
		return -ESRCH;
	}
	p = new_proc(pt, s->pid, true, true);
	if (!p)
		return -ENOMEM;
	pt->cmd = s->pid;
	if (ptrace(PTRACE_SEIZE, s->pid, 0L, (long)pt->opts)) {
		err = errno;
		explain_attach(s->pid, err);
		free_proc(pt, p);
		return -err;
	}
	if (!add_task(pt, s->pid, p, T_NEW)) {
		ptrace(PTRACE_DETACH, s->pid, 0L, 0L);
		free_proc(pt, p);
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
			err = wait_one(pt);
			if (err)
				return err;
		}
		if (*s->stop || !pt->ntasks || !find_proc(pt, s->pid) || !seize_threads(pt, p))
			break;
	}
	pt->attaching = false;
	if (!find_proc(pt, s->pid) || p->exited || !pt->ntasks) {
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
	if (s->on_start && (err = s->on_start(s)))
		return err;
	pt->started = true;
	emit_task(pt, p, p->tgid, MT_TASK_ATTACH, 0, 0);
	mt_proc_emit_info(p->tgid, emit_fn, pt);
	mt_proc_emit_maps(p->tgid, emit_fn, pt);
	emit_rss(pt, p, MT_RSS_START, true);
	fprintf(stderr,
		"madvtrace: attached to %d with ptrace: it stops at every system call and runs "
		"slower than under the bpf backend or when launched by madvtrace\n",
		s->pid);
	for_each_task(pt, release_held);
	return 0;
}

/* ---- launch mode ---- */

/* Still our own fork: named after the command it is about to become. */
static void emit_launch(struct pt *pt, struct proc *p)
{
	const char *base = strrchr(pt->s->argv[0], '/');
	struct mt_task r;

	mt_hdr_init(&r.h, MT_TASK, sizeof(r), p->tgid, p->tgid, mt_now_ns());
	r.event = MT_TASK_LAUNCH;
	snprintf(r.comm, sizeof(r.comm), "%s", base ? base + 1 : pt->s->argv[0]);
	emit(pt, &r.h);
}

/*
 * The child exited, or is about to, before its command ran: print what it
 * reported and return it as -errno; 0 if it reported nothing.
 */
static int launch_report(struct pt *pt)
{
	enum mt_launch_stage stage = 0;
	const char *cmd = pt->s->argv[0];
	int err = pt->child.err_fd >= 0 ? mt_launch__result(&pt->child, &stage) : 0;

	if (!err)
		return 0;
	if (stage == MT_LAUNCH_SETUP)
		fprintf(stderr, "madvtrace: cannot install the seccomp filter for %s: %s\n", cmd,
			strerror(-err));
	else if (stage == MT_LAUNCH_USER)
		fprintf(stderr, "madvtrace: cannot run %s as uid %u: %s\n", cmd, pt->s->uid,
			strerror(-err));
	else
		fprintf(stderr, "madvtrace: cannot run %s: %s\n", cmd, strerror(-err));
	return err;
}

/* The command exited before it ran: say why. */
static int launch_failed(struct pt *pt)
{
	int err = launch_report(pt);

	if (err)
		return err;
	fprintf(stderr, "madvtrace: %s exited before it started\n", pt->s->argv[0]);
	return -ECHILD;
}

/*
 * In the child, before the switch to its user: while still privileged, if we
 * are, a filter needs no no_new_privs. The child makes none of the filtered
 * calls before its exec, which waits until it is traced.
 */
static int install_filter(void *arg)
{
	return mt_seccomp_filter__install(arg);
}

static int launch(struct pt *pt)
{
	struct mt_session *s = pt->s;
	struct mt_seccomp_filter *filter;
	struct task_status st;
	bool traced;
	struct proc *p;
	pid_t pid;
	int err;

	filter = mt_seccomp_filter__new();
	if (!filter) {
		err = -errno;
		fprintf(stderr, "madvtrace: cannot build the seccomp filter: %s\n", strerror(-err));
		return err;
	}
	if (s->verbose)
		fprintf(stderr, "madvtrace: seccomp filter of %u instructions\n",
			mt_seccomp_filter__len(filter));
	err = mt_launch__spawn_checked(&pt->child, s, NULL, install_filter, filter);
	if (err) {
		fprintf(stderr, "madvtrace: cannot start %s: %s\n", s->argv[0], strerror(-err));
		goto cleanup;
	}
	pid = pt->child.pid;

	/* seized while it waits on the pipe: no stop needed to attach */
	if (ptrace(PTRACE_SEIZE, pid, 0L, (long)pt->opts)) {
		int report;

		err = -errno;
		traced = !read_status(pid, &st) && st.tracer > 0;
		/* a child whose setup failed has exited: that is why, not the seize */
		close(pt->child.go_fd);
		pt->child.go_fd = -1;
		report = launch_report(pt);
		if (report)
			err = report;
		else if (traced)
			fprintf(stderr,
				"madvtrace: cannot trace %s: it is already traced by process %ld "
				"(is madvtrace itself run under a tracer?)\n",
				s->argv[0], st.tracer);
		else
			fprintf(stderr, "madvtrace: cannot trace %s: %s%s\n", s->argv[0],
				strerror(-err),
				err == -EPERM ? " (kernel.yama.ptrace_scope or a seccomp filter "
						"forbids ptrace here)"
					      : "");
		waitpid(pid, NULL, 0);
		goto cleanup;
	}
	p = new_proc(pt, pid, false, true);
	if (!p || !add_task(pt, pid, p, 0)) {
		err = -ENOMEM;
		if (p)
			free_proc(pt, p);
		kill(pid, SIGKILL);
		mt_launch__abort(&pt->child);
		goto cleanup;
	}
	pt->cmd = pid;
	s->target_pid = pid;
	if (s->on_start && (err = s->on_start(s))) {
		/* closing the pipe makes the child exit before it runs anything */
		close(pt->child.go_fd);
		pt->child.go_fd = -1;
		goto cleanup;
	}
	pt->started = true;
	emit_launch(pt, p);
	/* the exec stop, or its exit, tells how it went: no waiting here on a tracee */
	err = mt_launch__go(&pt->child);
cleanup:
	mt_seccomp_filter__free(filter);
	return err;
}

/* ---- the end ---- */

static void interrupt_task(struct pt *pt, struct task *t)
{
	t->flags |= T_DETACH;
	if (t->flags & T_HELD) {
		ptrace(PTRACE_DETACH, t->tid, 0L,
		       (long)(t->flags & T_HELD_LISTEN ? 0 : t->held_sig));
		remove_task(pt, t);
		return;
	}
	/* running, or listening in a group-stop: make it stop so it can be detached */
	ptrace(PTRACE_INTERRUPT, t->tid, 0L, 0L);
}

/* Attach mode: every thread runs on (or stays stopped) as if never traced. */
static void detach_all(struct pt *pt)
{
	struct proc *p;

	for (p = pt->procs; p; p = p->next) {
		if (!p->record || p->exited || !mt_proc_alive(p->tgid))
			continue;
		emit_rss(pt, p, MT_RSS_END, true);
		emit_task(pt, p, p->tgid, MT_TASK_DETACH, 0, 0);
	}
	pt->ending = true;
	for_each_task(pt, interrupt_task);
	while (pt->ntasks) {
		int err = wait_one(pt);

		if (err == -ECHILD)
			break;
	}
}

static void kill_task(struct pt *pt, struct task *t)
{
	(void)pt;
	kill(t->tid, SIGKILL);
}

/*
 * Launch mode, the command gone and a stop asked for: what it left running
 * cannot run on without us (its calls would fail with ENOSYS); end it as
 * PTRACE_O_EXITKILL would, but with its exit recorded.
 */
static void kill_all(struct pt *pt)
{
	for_each_task(pt, kill_task);
	while (pt->ntasks) {
		int err = wait_one(pt);

		if (err == -ECHILD)
			break;
	}
}

/* Is the process in a group-stop (state T, or t while we hold it listening)? */
static bool proc_stopped(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strrchr(buf, ')'); /* the state follows the command name, which may hold ')' */
	return p && p[1] == ' ' && (p[2] == 'T' || p[2] == 't');
}

/*
 * Launch mode: a stop request does not end tracing while the command runs
 * (it cannot run untraced). The command is asked to stop instead: Ctrl-C
 * reaches it from the terminal already, so it gets SIGTERM from us only if
 * no SIGINT, SIGTERM, SIGHUP or SIGQUIT reached it within STOP_GRACE_NS.
 */
static void launch_stopping(struct pt *pt, uint64_t now, bool duration)
{
	struct proc *p = find_proc(pt, pt->cmd);

	if (!pt->stopping) {
		pt->stopping = true;
		pt->stop_ns = now;
		pt->forward_ns = duration ? now : now + STOP_GRACE_NS;
	}
	if (pt->forwarded || now < pt->forward_ns)
		return;
	pt->forwarded = true;
	if (!p || p->exited)
		return;
	if (p->term_sig_ns && p->term_sig_ns + STOP_GRACE_NS >= pt->stop_ns)
		return;
	if (pt->s->verbose)
		fprintf(stderr, "madvtrace: sending SIGTERM to %d\n", p->tgid);
	kill(p->tgid, SIGTERM);
	if (proc_stopped(p->tgid))
		kill(p->tgid, SIGCONT); /* a stopped command would not act on it */
}

static bool session_over(struct pt *pt, uint64_t now)
{
	struct mt_session *s = pt->s;
	bool duration = s->duration_ns && now - pt->start_ns >= s->duration_ns;

	if (!pt->ntasks)
		return true;
	if (!pt->launch)
		return *s->stop || duration || pt->err;
	if (*s->stop || duration)
		launch_stopping(pt, now, duration && !*s->stop);
	if (pt->cmd_exited && pt->stopping)
		return true;
	if (pt->cmd_exited && !pt->told_leftovers) {
		pt->told_leftovers = true;
		fprintf(stderr,
			"madvtrace: %s exited; processes it started still run and stay traced "
			"until they exit (Ctrl-C ends them)\n",
			s->argv[0]);
	}
	return false;
}

static int ptrace_run(struct mt_session *s)
{
	struct pt *pt;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	uint64_t now;
	int err;

	s->exit_status = -1;
	pt = calloc(1, sizeof(*pt));
	if (!pt) {
		fprintf(stderr, "madvtrace: out of memory\n");
		return -ENOMEM;
	}
	pt->s = s;
	pt->launch = s->argv != NULL;
	pt->child = (struct mt_launch)MT_LAUNCH_INIT;
	pt->page = sysconf(_SC_PAGESIZE);
	pt->no_swap = !swap_configured();
	if (s->stacks && !(pt->stacks = mt_pt_stacks__new(MAX_STACKS))) {
		fprintf(stderr, "madvtrace: out of memory\n");
		free(pt);
		return -ENOMEM;
	}
	pt->opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT |
		   PTRACE_O_TRACECLONE;
	if (pt->launch) {
		/* children inherit the filter: they must stay traced, -f or not */
		pt->opts |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACESECCOMP |
			    PTRACE_O_EXITKILL;
		pt->resume_req = PTRACE_CONT;
	} else {
		if (s->follow_forks)
			pt->opts |= PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK;
		pt->resume_req = PTRACE_SYSCALL;
	}
	/* waitpid must see our tracees: not if SIGCHLD were ignored */
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGCHLD, &dfl, &pt->old_chld);
	err = tick_start(pt);
	if (err) {
		fprintf(stderr, "madvtrace: timer: %s\n", strerror(-err));
		goto cleanup;
	}

	err = pt->launch ? launch(pt) : attach(pt);
	if (err)
		goto cleanup;
	if (s->verbose)
		fprintf(stderr, "madvtrace: tracing pid %d with the ptrace backend\n",
			s->target_pid);

	pt->start_ns = mt_now_ns();
	pt->next_rss_ns = pt->start_ns + s->rss_interval_ns;
	pt->next_smaps_ns = s->smaps_interval_ns ? pt->start_ns + s->smaps_interval_ns
						 : UINT64_MAX;
	for (;;) {
		now = mt_now_ns();
		if (session_over(pt, now))
			break;
		periodic(pt, now);
		err = wait_one(pt);
		if (err == -ECHILD) {
			err = 0;
			break;
		}
		if (err) {
			fprintf(stderr, "madvtrace: waitpid: %s\n", strerror(-err));
			break;
		}
		if (pt->launch && !pt->cmd_started && pt->cmd_exited) {
			err = launch_failed(pt);
			break;
		}
	}

cleanup:
	if (pt->ntasks) {
		if (pt->launch)
			kill_all(pt);
		else
			detach_all(pt);
	}
	/* gone from under us (ECHILD): only our bookkeeping is left */
	for_each_task(pt, remove_task);
	while (pt->procs)
		free_proc(pt, pt->procs);
	if (!err && pt->err)
		err = pt->err;
	if (pt->child.go_fd >= 0)
		close(pt->child.go_fd);
	if (pt->child.err_fd >= 0)
		close(pt->child.err_fd);
	tick_stop(pt);
	sigaction(SIGCHLD, &pt->old_chld, NULL);
	if (pt->stacks && mt_pt_stacks__dropped(pt->stacks))
		fprintf(stderr,
			"madvtrace: warning: more than %d distinct release stacks: %llu calls were "
			"recorded without their stack\n",
			MAX_STACKS, (unsigned long long)mt_pt_stacks__dropped(pt->stacks));
	mt_pt_stacks__free(pt->stacks);
	free(pt);
	return err;
}

static bool ptrace_available(char *why, size_t whylen)
{
	struct utsname u;
	unsigned int major = 0, minor = 0;
	char buf[16] = "";
	FILE *f;

	/* PTRACE_GET_SYSCALL_INFO */
	if (!uname(&u) && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
	    (major < 5 || (major == 5 && minor < 3))) {
		snprintf(why, whylen, "it needs Linux 5.3 or later (this is %s)", u.release);
		return false;
	}
	f = fopen("/proc/sys/kernel/yama/ptrace_scope", "re");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
		if (atoi(buf) == 3) {
			snprintf(why, whylen, "ptrace is disabled (kernel.yama.ptrace_scope = 3)");
			return false;
		}
	}
	return true;
}

const struct mt_backend mt_backend_ptrace = {
	.name = "ptrace",
	.available = ptrace_available,
	.run = ptrace_run,
};
