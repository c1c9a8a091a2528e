// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ptrace_cases: the situations a ptrace tracer gets wrong, each checking its
 * own outcome and printing it as one JSON object (and exiting non-zero when
 * the outcome is wrong), so a test can tell a traced run from an untraced one
 * by the program's own account:
 *
 *   signals N       SIGUSR1 raised N times, and a SIGSEGV from a PROT_NONE
 *                   page, each handled exactly once
 *   wait S          prints "ready PID", then every 20 ms maps and unmaps a page
 *                   and prints "tick N", counting SIGUSR1, SIGCONT and SIGINT;
 *                   SIGUSR2 makes it touch a PROT_NONE page (one SIGSEGV,
 *                   handled); ends on SIGTERM or SIGINT, or after S seconds
 *   execthread      a second thread execs this program ("exec-done"), which
 *                   makes a marker call
 *   fork | vfork    a child (fork, or vfork + exec) makes marker calls and
 *                   fails if any of them fails (a child left with a seccomp
 *                   filter and no tracer gets ENOSYS)
 *   churn S FILE    64 threads keep creating short-lived threads for S
 *                   seconds; each short thread makes 4 marker calls numbered
 *                   seq..seq+3; FILE gets one "tid seq" line per short thread
 *   ownfilter       installs its own seccomp filter failing madvise with
 *                   EPERM, then calls madvise and mmap
 *   oldmmap         (i386 build) the old mmap call with its argument block,
 *                   and with a block that cannot be read
 *   nodump S        makes itself non-dumpable, prints "ready PID", sleeps S s
 *   zombie S        forks a child that exits at once and is not reaped;
 *                   prints "ready CHILD", sleeps S s
 *
 * Marker calls are madvise(MARK + n * 4096, 0, MADV_NORMAL): a zero length
 * madvise succeeds and changes nothing, and n identifies the call.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/audit.h>

#if UINTPTR_MAX > 0xffffffffu
#define MARK 0x100000000000UL
#else
#define MARK 0x60000000UL
#endif
#define EXEC_MARK 0x5a2e0000UL

static volatile sig_atomic_t n_usr1, n_usr2, n_segv, n_cont, n_term, n_int;
static char *guard_page;
static long page;

static long marker(unsigned long n)
{
	return syscall(SYS_madvise, MARK + n * (unsigned long)page, 0UL, MADV_NORMAL);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		n_usr1++;
	else if (sig == SIGCONT)
		n_cont++;
	else if (sig == SIGTERM)
		n_term++;
	else if (sig == SIGINT)
		n_int++;
	else if (sig == SIGUSR2)
		n_usr2++;
}

/* Make the faulting page accessible: the access is retried and succeeds. */
static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	n_segv++;
	if ((char *)si->si_addr != guard_page ||
	    mprotect(guard_page, page, PROT_READ | PROT_WRITE))
		_exit(3);
}

static void handle(int sig, void (*fn)(int))
{
	struct sigaction sa = { .sa_handler = fn };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* A PROT_NONE page whose first touch raises SIGSEGV, handled by on_segv. */
static int arm_guard(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	guard_page = mmap(NULL, page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return guard_page == MAP_FAILED ? -1 : 0;
}

static int case_signals(int n)
{
	int i;

	handle(SIGUSR1, on_signal);
	/* a signal sent to oneself is delivered before kill returns */
	for (i = 0; i < n; i++)
		kill(getpid(), SIGUSR1);
	if (arm_guard())
		return 2;
	*(volatile char *)guard_page = 42; /* SIGSEGV once; the handler opens the page */
	printf("{\"case\":\"signals\",\"usr1\":%d,\"usr1_sent\":%d,\"segv\":%d,\"value\":%d}\n",
	       (int)n_usr1, n, (int)n_segv, guard_page[0]);
	return n_usr1 == n && n_segv == 1 && guard_page[0] == 42 ? 0 : 1;
}

static int case_wait(double seconds)
{
	double end = mono() + seconds;
	unsigned long ticks = 0;
	int failed = 0;

	bool touched = false;

	handle(SIGUSR1, on_signal);
	handle(SIGUSR2, on_signal);
	handle(SIGCONT, on_signal);
	handle(SIGTERM, on_signal);
	handle(SIGINT, on_signal);
	if (arm_guard())
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	fprintf(stderr, "ready %d\n", (int)getpid());
	while (!n_term && !n_int && mono() < end) {
		void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			       0);

		if (p == MAP_FAILED || munmap(p, page))
			failed++;
		if (n_usr2 && !touched) {
			*(volatile char *)guard_page = 42; /* SIGSEGV once; the handler opens the page */
			touched = true;
		}
		printf("tick %lu\n", ++ticks);
		usleep(20000);
	}
	printf("{\"case\":\"wait\",\"ticks\":%lu,\"usr1\":%d,\"usr2\":%d,\"segv\":%d,"
	       "\"cont\":%d,\"term\":%d,\"int\":%d,\"failed\":%d}\n",
	       ticks, (int)n_usr1, (int)n_usr2, (int)n_segv, (int)n_cont, (int)n_term, (int)n_int,
	       failed);
	return failed || (touched && n_segv != 1) ? 1 : 0;
}

static char *self_path;

static void *exec_thread(void *arg)
{
	char *argv[] = { self_path, "exec-done", arg, NULL };

	execv("/proc/self/exe", argv);
	_exit(4);
}

static int case_execthread(void)
{
	pthread_t t;
	char tid[32];

	snprintf(tid, sizeof(tid), "%d", (int)getpid());
	if (pthread_create(&t, NULL, exec_thread, tid))
		return 2;
	pthread_join(t, NULL); /* never returns: the exec ends this image */
	return 5;
}

static int case_exec_done(const char *old_pid)
{
	long r = syscall(SYS_madvise, EXEC_MARK, 0UL, MADV_NORMAL);

	printf("{\"case\":\"exec-done\",\"pid\":%d,\"before\":%s,\"tid\":%ld,\"ret\":%ld}\n",
	       (int)getpid(), old_pid, (long)syscall(SYS_gettid), r);
	return r == 0 && atoi(old_pid) == getpid() ? 0 : 1;
}

/* Marker calls 100.. in the child, 200.. in the parent; any failure is fatal. */
static int child_calls(void)
{
	void *p = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || marker(100) || marker(101) || munmap(p, 4 * page))
		return 1;
	return 0;
}

static int case_fork(bool use_vfork)
{
	int status = -1;
	pid_t pid;

	if (use_vfork) {
		char *argv[] = { self_path, "child", NULL };

		pid = vfork();
		if (pid == 0) {
			execv("/proc/self/exe", argv);
			_exit(4);
		}
	} else {
		pid = fork();
		if (pid == 0)
			_exit(child_calls());
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 2;
	if (marker(200))
		return 1;
	printf("{\"case\":\"%s\",\"pid\":%d,\"child\":%d,\"child_status\":%d}\n",
	       use_vfork ? "vfork" : "fork", (int)getpid(), (int)pid, status);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/* ---- churn ---- */

#define CHURNERS 64
#define CALLS_PER_SHORT 4

struct short_rec {
	int tid;
	unsigned long seq;
};

static atomic_ulong next_seq;
static atomic_ulong n_short;
static atomic_int churn_failed;
static struct short_rec *shorts;
static unsigned long max_shorts;
static double churn_end;

static void *short_thread(void *arg)
{
	unsigned long seq = atomic_fetch_add(&next_seq, CALLS_PER_SHORT);
	unsigned long slot = atomic_fetch_add(&n_short, 1);
	int i;

	(void)arg;
	if (slot < max_shorts) {
		shorts[slot].tid = (int)syscall(SYS_gettid);
		shorts[slot].seq = seq;
	}
	for (i = 0; i < CALLS_PER_SHORT; i++)
		if (marker(seq + i))
			atomic_fetch_add(&churn_failed, 1);
	return NULL;
}

static void *churner(void *arg)
{
	(void)arg;
	while (mono() < churn_end) {
		pthread_t t;

		if (pthread_create(&t, NULL, short_thread, NULL)) {
			usleep(1000);
			continue;
		}
		pthread_join(t, NULL);
	}
	return NULL;
}

static int case_churn(double seconds, const char *out)
{
	pthread_t th[CHURNERS];
	unsigned long i, n;
	FILE *f;

	max_shorts = 4u << 20;
	shorts = calloc(max_shorts, sizeof(*shorts));
	if (!shorts)
		return 2;
	churn_end = mono() + seconds;
	for (i = 0; i < CHURNERS; i++)
		if (pthread_create(&th[i], NULL, churner, NULL))
			return 2;
	fprintf(stderr, "ready %d\n", (int)getpid());
	for (i = 0; i < CHURNERS; i++)
		pthread_join(th[i], NULL);
	n = atomic_load(&n_short);
	f = fopen(out, "w");
	if (!f)
		return 2;
	for (i = 0; i < n && i < max_shorts; i++)
		fprintf(f, "%d %lu\n", shorts[i].tid, shorts[i].seq);
	fclose(f);
	printf("{\"case\":\"churn\",\"short_threads\":%lu,\"calls\":%lu,\"failed\":%d}\n", n,
	       n * CALLS_PER_SHORT, atomic_load(&churn_failed));
	return n <= max_shorts && !atomic_load(&churn_failed) ? 0 : 1;
}

/* ---- a program with its own seccomp filter ---- */

static int case_ownfilter(void)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(insns) / sizeof(insns[0]), insns };
	long before, after, e;
	void *p;

	before = marker(300);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		return 2;
	after = marker(301);
	e = errno;
	p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("{\"case\":\"ownfilter\",\"before\":%ld,\"after\":%ld,\"errno\":%ld,\"mmap\":%s}\n",
	       before, after, after ? e : 0, p == MAP_FAILED ? "false" : "true");
	return before == 0 && after == -1 && e == EPERM && p != MAP_FAILED ? 0 : 1;
}

#if UINTPTR_MAX == 0xffffffffu
/* i386 only: mmap(2) number 90 reads its six arguments from a block in memory. */
static int case_oldmmap(void)
{
	uint32_t blk[6] = { 0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			    (uint32_t)-1, 0 };
	long good = syscall(90, blk), bad;
	int e;

	bad = syscall(90, (void *)16); /* unreadable: EFAULT */
	e = errno;
	printf("{\"case\":\"oldmmap\",\"ret\":%lu,\"bad_errno\":%d,\"len\":%u}\n",
	       (unsigned long)good, bad == -1 ? e : 0, blk[1]);
	return good != -1 && bad == -1 && e == EFAULT ? 0 : 1;
}
#endif

static int case_nodump(double seconds)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0))
		return 2;
	fprintf(stderr, "ready %d\n", (int)getpid());
	usleep((useconds_t)(seconds * 1e6));
	return 0;
}

static int case_zombie(double seconds)
{
	pid_t pid = fork();

	if (pid < 0)
		return 2;
	if (pid == 0)
		_exit(0);
	fprintf(stderr, "ready %d\n", (int)pid);
	usleep((useconds_t)(seconds * 1e6));
	return waitpid(pid, NULL, 0) == pid ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	page = sysconf(_SC_PAGESIZE);
	self_path = argv[0];
	if (!strcmp(c, "signals") && argc == 3)
		return case_signals(atoi(argv[2]));
	if (!strcmp(c, "wait") && argc == 3)
		return case_wait(atof(argv[2]));
	if (!strcmp(c, "execthread"))
		return case_execthread();
	if (!strcmp(c, "exec-done") && argc == 3)
		return case_exec_done(argv[2]);
	if (!strcmp(c, "fork"))
		return case_fork(false);
	if (!strcmp(c, "vfork"))
		return case_fork(true);
	if (!strcmp(c, "child"))
		return child_calls();
	if (!strcmp(c, "churn") && argc == 4)
		return case_churn(atof(argv[2]), argv[3]);
	if (!strcmp(c, "ownfilter"))
		return case_ownfilter();
	if (!strcmp(c, "nodump") && argc == 3)
		return case_nodump(atof(argv[2]));
	if (!strcmp(c, "zombie") && argc == 3)
		return case_zombie(atof(argv[2]));
#if UINTPTR_MAX == 0xffffffffu
	if (!strcmp(c, "oldmmap"))
		return case_oldmmap();
#endif
	fprintf(stderr, "usage: ptrace_cases signals N | wait S | execthread | fork | vfork |\n"
			"       churn S FILE | ownfilter | oldmmap (i386) | nodump S | zombie S\n");
	return 2;
}
