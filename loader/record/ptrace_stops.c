// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The ptrace backend's stops: a recorded call's entry and exit, clones, exec, exit, signals. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include "madvtrace/build.h"
#include "procfs.h"
#include "ptrace_backend.h"

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
	unsigned char buf[MT_MAX_IOV * 16];
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
 * The MT_USTACK record of a release at its exit stop (pt->ustack): the
 * registers in DWARF order and the stack from rsp up, read one page per
 * remote iovec so that a read stops at the first unreadable page with the
 * pages before it kept (process_vm_readv's partial reads are per iovec).
 * The stack size is --stack-size. False when there is nothing to send.
 */
static bool call_ustack(struct pt *pt, struct task *t, const struct user_regs_struct *r,
			uint64_t t_ns)
{
	struct iovec local, remote[MT_USTACK_MAX / 4096 + 1];
	uint64_t want = pt->s->stack_bytes, page = (uint64_t)sysconf(_SC_PAGESIZE), at = r->rsp;
	struct proc *p = t->proc;
	struct mt_ustack *u;
	bool whole = false;
	size_t nr = 0;
	ssize_t n;

	if (t->call.abi != MT_ABI_X86_64 || !want)
		return false;
	if (want > MT_USTACK_MAX)
		want = MT_USTACK_MAX;
	/* the main thread's stack holds no frame above its start (as the bpf program does) */
	if (!p->start_stack && mt_proc_start_stack(p->tgid, &p->start_stack))
		p->start_stack = UINT64_MAX;
	if (r->rsp < p->start_stack && p->start_stack - r->rsp + MT_USTACK_PAST_START < want) {
		want = p->start_stack - r->rsp + MT_USTACK_PAST_START;
		whole = true;
	}
	if (!pt->ustack && !(pt->ustack = malloc(sizeof(*u) + MT_USTACK_MAX)))
		return false;
	u = pt->ustack;
	mt_record_init(u, MT_USTACK, sizeof(*u), t->proc->tgid, t->tid, t_ns);
	u->h.abi = MT_ABI_X86_64;
	u->regs[MT_UREG_RAX] = r->rax;
	u->regs[MT_UREG_RDX] = r->rdx;
	u->regs[MT_UREG_RCX] = r->rcx;
	u->regs[MT_UREG_RBX] = r->rbx;
	u->regs[MT_UREG_RSI] = r->rsi;
	u->regs[MT_UREG_RDI] = r->rdi;
	u->regs[MT_UREG_RBP] = r->rbp;
	u->regs[MT_UREG_RSP] = r->rsp;
	u->regs[MT_UREG_R8] = r->r8;
	u->regs[MT_UREG_R9] = r->r9;
	u->regs[MT_UREG_R10] = r->r10;
	u->regs[MT_UREG_R11] = r->r11;
	u->regs[MT_UREG_R12] = r->r12;
	u->regs[MT_UREG_R13] = r->r13;
	u->regs[MT_UREG_R14] = r->r14;
	u->regs[MT_UREG_R15] = r->r15;
	u->regs[MT_UREG_RIP] = r->rip;
	u->sp = r->rsp;
	while (at < r->rsp + want && nr < sizeof(remote) / sizeof(remote[0])) {
		uint64_t end = (at | (page - 1)) + 1;

		if (end > r->rsp + want)
			end = r->rsp + want;
		remote[nr].iov_base = (void *)(uintptr_t)at;
		remote[nr++].iov_len = end - at;
		at = end;
	}
	local.iov_base = u->data;
	local.iov_len = want;
	n = process_vm_readv(t->tid, &local, 1, remote, nr, 0);
	u->len = n > 0 ? (uint32_t)n : 0;
	u->flags = u->len < want ? MT_US_FAULT : whole ? 0 : MT_US_SHORT;
	u->h.size = (uint16_t)((sizeof(*u) + u->len + 7) & ~(size_t)7);
	return true;
}

/*
 * The user stack of a release at its exit stop, by its frame pointers (Go
 * on amd64 keeps them), as the bpf backend takes it. Returns the stack's
 * id (0: none), with *fresh set when its MT_STACK record is to be written.
 */
static uint32_t call_stack(struct pt *pt, struct task *t, const struct user_regs_struct *r,
			   uint64_t ips[MT_MAX_STACK], uint32_t *nr, bool *fresh)
{
	struct user_regs_struct regs = *r;
	pid_t tid = t->tid;

	*fresh = false;
	*nr = 0;
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
	struct user_regs_struct regs;
	struct proc *target;
	uint32_t nr = 0;
	bool fresh = false, us = false;

	t->call.stack_id = 0;
	now = mt_now_ns();
	if (pt->stacks && t->proc->stacks && mt_call_may_release(t->call.sc, t->call.args) &&
	    !ptrace(PTRACE_GETREGS, t->tid, 0L, &regs)) {
		t->call.stack_id = call_stack(pt, t, &regs, ips, &nr, &fresh);
		us = call_ustack(pt, t, &regs, now);
		if (us)
			t->call.flags |= MT_F_USTACK;
	}
	/* a call's record carries the time it returned: its effect is then in place */
	mt_pt_call_emit(&t->call, rval, t->proc->tgid, t->tid, now, pt_emit_fn, pt);
	/* the stack bytes after the call they belong to */
	if (us)
		pt_emit(pt, &pt->ustack->h);
	/* a new stack is written once, after the first record that refers to it */
	if (fresh) {
		mt_pt_stack_record(&u.st, t->call.stack_id, ips, nr, now);
		pt_emit(pt, &u.st.h);
	}
	pt_rss_check(pt, t->proc, MT_RSS_SYSCALL);
	/* process_madvise can change the RSS of another traced process */
	if (t->call.sc == MT_SC_PROCESS_MADVISE && t->call.target_pid != (uint32_t)t->proc->tgid) {
		target = pt_find_proc(pt, (pid_t)t->call.target_pid);
		if (target)
			pt_rss_check(pt, target, MT_RSS_SYSCALL);
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
	c = pt_find_task(pt, (pid_t)msg);
	if (!c)
		c = pt_adopt_task(pt, (pid_t)msg);
	if (!c || !t->proc->record)
		return;
	if (c->proc == t->proc) {
		pt_emit_task(pt, t->proc, t->tid, MT_TASK_CLONE, c->tid, 0);
		return;
	}
	pt_emit_task(pt, t->proc, t->tid, MT_TASK_FORK, c->proc->tgid, 0);
	/* it runs its parent's program until it execs */
	c->proc->stacks = t->proc->stacks;
	/* a followed child's own address space; a vfork child borrows its parent's until exec */
	if (c->proc->record && event != PTRACE_EVENT_VFORK)
		pt_emit_rss(pt, c->proc, MT_RSS_START, false);
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
	if (old && (pid_t)old != t->tid && (o = pt_find_task(pt, (pid_t)old))) {
		pid_t tid = t->tid;

		pt_remove_task(pt, t);
		pt_rename_task(pt, o, tid);
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
		struct mt_proc_image img;

		pt_emit_task(pt, p, t->tid, MT_TASK_EXEC, old ? (uint32_t)old : (uint32_t)t->tid, 0);
		mt_proc_emit_info(p->tgid, &img, pt_emit_fn, pt);
		/* decided at the exec stop: the new program's first release is walked */
		p->stacks = mt_stacks__for_image(pt->s->stacks, img.go);
		p->start_stack = 0; /* a new stack: read again at its first release */
		pt_emit_rss(pt, p, MT_RSS_START, false);
	}
	return t;
}

/* A thread is about to exit: the address space is still there, read its RSS. */
static void exit_event(struct pt *pt, struct task *t)
{
	struct proc *p = t->proc;

	if (!p->record || pt->err)
		return;
	mt_record_init(&p->exit_rss.h, MT_RSS, sizeof(p->exit_rss), p->tgid, p->tgid, mt_now_ns());
	p->exit_rss.h.flags = MT_F_SYNTH;
	p->exit_rss.reason = MT_RSS_END;
	p->have_exit_rss = !mt_proc_rss(p->tgid, &p->exit_rss);
	/* the last chance to read what it maps: a short-lived program's libraries */
	if (t->tid == p->tgid && pt->s->on_exiting)
		pt->s->on_exiting(pt->s, p->tgid);
}

static bool is_stop_signal(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static void on_stop(struct pt *pt, struct task *t, int status)
{
	int sig = WSTOPSIG(status), event = (unsigned int)status >> 16;

	if (t->flags & T_NEW) {
		pt_clear_new(pt, t);
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
		pt_remove_task(pt, t);
		return;
	}

	if (sig == (SIGTRAP | 0x80)) {
		pt_act(pt, t, syscall_stop(pt, t), 0);
		return;
	}
	switch (event) {
	case 0:
		/* a signal-delivery stop: deliver it, exactly once */
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT)
			t->proc->term_sig_ns = mt_now_ns();
		pt_act(pt, t, A_RESUME, sig);
		return;
	case PTRACE_EVENT_SECCOMP:
		pt_act(pt, t, seccomp_stop(pt, t), 0);
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
			pt_act(pt, t, A_LISTEN, 0);
			return;
		}
		break; /* PTRACE_INTERRUPT, a new task's first stop, or the end of a LISTEN */
	}
	pt_act(pt, t, A_RESUME, 0);
}

static void task_gone(struct pt *pt, struct task *t, int status)
{
	struct proc *p = t->proc;
	bool leader = t->tid == p->tgid;

	if (p->record && !pt->ending) {
		if (leader) {
			struct mt_rss *r = &p->exit_rss;

			pt_emit_task(pt, p, t->tid, MT_TASK_EXIT, 0, status);
			/* the last value seen before the exit teardown */
			if (!p->have_exit_rss ||
			    (p->em_valid && p->last_rss.h.t_ns > p->exit_rss.h.t_ns))
				r = &p->last_rss;
			if (p->have_exit_rss || p->em_valid) {
				r->reason = MT_RSS_END;
				r->h.flags = MT_F_SYNTH;
				pt_emit(pt, &r->h);
			}
		} else {
			pt_emit_task(pt, p, t->tid, MT_TASK_THREAD_EXIT, 0, status);
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
	pt_remove_task(pt, t);
}

void pt_on_wait(struct pt *pt, pid_t pid, int status)
{
	struct task *t = pt_find_task(pt, pid);

	if (!t) {
		if (!WIFSTOPPED(status))
			return;
		t = pt_adopt_task(pt, pid);
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

int pt_wait_one(struct pt *pt)
{
	int status;
	pid_t pid = waitpid(-1, &status, __WALL);

	if (pid < 0)
		return errno == EINTR ? 0 : -errno;
	pt_on_wait(pt, pid, status);
	return 0;
}
