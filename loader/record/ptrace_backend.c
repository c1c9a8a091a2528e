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
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include "bpf_helpers.h"
#include "procfs.h"
#include "ptrace_backend.h"
#include "seccomp_filter.h"

/* ---- launch mode ---- */

/* Still our own fork: named after the command it is about to become. */
static void emit_launch(struct pt *pt, struct proc *p)
{
	const char *base = strrchr(pt->s->argv[0], '/');
	struct mt_task r;

	mt_record_init(&r.h, MT_TASK, sizeof(r), p->tgid, p->tgid, mt_now_ns());
	r.event = MT_TASK_LAUNCH;
	snprintf(r.comm, sizeof(r.comm), "%s", base ? base + 1 : pt->s->argv[0]);
	pt_emit(pt, &r.h);
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
		traced = !pt_read_status(pid, &st) && st.tracer > 0;
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
	p = pt_new_proc(pt, pid, false, true);
	if (!p || !pt_add_task(pt, pid, p, 0)) {
		err = -ENOMEM;
		if (p)
			pt_free_proc(pt, p);
		kill(pid, SIGKILL);
		mt_launch__abort(&pt->child);
		goto cleanup;
	}
	pt->cmd = pid;
	s->target_pid = pid;
	/* attached to the spawned command: root's powers (under sudo) go before any thread starts */
	if ((err = mt_privs__drop_session(s, true)) || (s->on_start && (err = s->on_start(s)))) {
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
	pt_for_each_task(pt, kill_task);
	while (pt->ntasks) {
		int err = pt_wait_one(pt);

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
	struct proc *p = pt_find_proc(pt, pt->cmd);

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
	pt->no_swap = !pt_swap_configured();
	if (s->stacks != MT_STACKS_NEVER && !(pt->stacks = mt_pt_stacks__new(MAX_STACKS))) {
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
	err = pt_tick_start(pt);
	if (err) {
		fprintf(stderr, "madvtrace: timer: %s\n", strerror(-err));
		goto cleanup;
	}

	err = pt->launch ? launch(pt) : pt_attach(pt);
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
		pt_periodic(pt, now);
		err = pt_wait_one(pt);
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
			pt_detach_all(pt);
	}
	/* gone from under us (ECHILD): only our bookkeeping is left */
	pt_for_each_task(pt, pt_remove_task);
	while (pt->procs)
		pt_free_proc(pt, pt->procs);
	if (!err && pt->err)
		err = pt->err;
	if (pt->child.go_fd >= 0)
		close(pt->child.go_fd);
	if (pt->child.err_fd >= 0)
		close(pt->child.err_fd);
	pt_tick_stop(pt);
	sigaction(SIGCHLD, &pt->old_chld, NULL);
	if (pt->stacks && mt_pt_stacks__dropped(pt->stacks))
		fprintf(stderr,
			"madvtrace: warning: more than %d distinct release stacks: %llu calls were "
			"recorded without their stack\n",
			MAX_STACKS, (unsigned long long)mt_pt_stacks__dropped(pt->stacks));
	mt_pt_stacks__free(pt->stacks);
	free(pt->ustack);
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
	.id = MT_BACKEND_PTRACE,
	.available = ptrace_available,
	.run = ptrace_run,
};
