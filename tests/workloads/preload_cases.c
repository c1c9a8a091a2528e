// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * preload_cases: what an LD_PRELOAD agent could get wrong, each case
 * printing what the program itself saw as JSON on stdout, so a test can
 * compare a run under the agent with a run without it, and a recording
 * with the program's own account:
 *
 *   malloc N MIB     N times: malloc a block of MIB MiB (glibc maps it with its
 *                    own internal mmap, which no preload library interposes),
 *                    touch a page, free it; prints the addresses malloc gave
 *   mallochold N MIB the same, but all blocks are live at once before the frees
 *   errno            calls that fail (and succeed) through libc's wrappers:
 *                    results and errno as the program sees them
 *   spawn            children by posix_spawn, system(), popen(), fork + exec
 *                    and vfork + exec; their exit statuses and output
 *   sigblock T       T threads with every signal blocked allocate 64 MiB blocks
 *                    and exit; the main thread does the same
 *   closefds         closes every descriptor above 2 three ways, then maps and
 *                    unmaps a page at MARK: it prints whether that worked
 *   execenv          execs itself with an environment of one variable
 *                    (FOO=1); the new program prints it and makes a marker call
 *   sighook N        maps and unmaps a page N times while another thread sends
 *                    it SIGUSR1 as fast as it can; the handler maps and unmaps
 *                    two pages: how many of each it made
 *
 * Marker calls are madvise(MARK + n * 4096, 0, MADV_NORMAL), as in
 * ptrace_cases.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define MARK 0x5a200000UL

extern char **environ;

static long marker(unsigned long n)
{
	return madvise((void *)(MARK + n * 4096), 0, MADV_NORMAL);
}

static int case_malloc(int n, size_t mib, int hold)
{
	size_t size = mib << 20;
	void **blocks = calloc((size_t)n, sizeof(void *));
	int i;

	if (!blocks)
		return 1;
	for (i = 0; i < n; i++) {
		blocks[i] = malloc(size);
		if (!blocks[i]) {
			fprintf(stderr, "preload_cases: malloc(%zu) failed\n", size);
			return 1;
		}
		memset(blocks[i], 1, 4096);
		if (!hold)
			free(blocks[i]);
	}
	if (hold)
		for (i = 0; i < n; i++)
			free(blocks[i]);
	printf("{\"case\":\"%s\",\"size\":%zu,\"blocks\":[", hold ? "mallochold" : "malloc", size);
	for (i = 0; i < n; i++)
		printf("%s%" PRIuPTR, i ? "," : "", (uintptr_t)blocks[i]);
	printf("]}\n");
	free(blocks);
	return 0;
}

/* One call's outcome as the program sees it; pointers as 0 (success) or -1. */
static void show(const char *call, long ret, int err)
{
	printf("{\"call\":\"%s\",\"ret\":%ld,\"errno\":%d}\n", call, ret, err);
}

#define CALL(name, expr)                                                                           \
	do {                                                                                       \
		long r_;                                                                           \
		errno = EXDEV; /* a success leaves errno alone: this shows it */                   \
		r_ = (long)(expr);                                                                 \
		show(name, r_, errno);                                                             \
	} while (0)

#define PCALL(name, expr)                                                                          \
	do {                                                                                       \
		void *p_;                                                                          \
		errno = EXDEV;                                                                     \
		p_ = (expr);                                                                       \
		show(name, p_ == MAP_FAILED ? -1 : 0, errno);                                      \
	} while (0)

static int case_errno(void)
{
	const int rw = PROT_READ | PROT_WRITE, anon = MAP_PRIVATE | MAP_ANONYMOUS;
	long page = sysconf(_SC_PAGESIZE);
	struct iovec iov;
	size_t len = 2 * (size_t)page;
	char *p, *q, *cur;

	PCALL("mmap zero length", mmap(NULL, 0, rw, anon, -1, 0));
	PCALL("mmap huge", mmap(NULL, 1ULL << 62, PROT_READ, anon | MAP_NORESERVE, -1, 0));
	PCALL("mmap unaligned offset", mmap(NULL, page, PROT_READ, anon, -1, 1));
	PCALL("mmap bad fd", mmap(NULL, page, PROT_READ, MAP_PRIVATE, 12345, 0));
	p = mmap(NULL, 2 * page, rw, anon, -1, 0);
	if (p == MAP_FAILED)
		return 1;
	show("mmap", 0, 0);
	CALL("munmap unaligned", munmap(p + 1, page));
	CALL("madvise bad advice", madvise(p, page, 1234));
	CALL("madvise unaligned", madvise(p + 1, page, MADV_DONTNEED));
	CALL("madvise dontneed", madvise(p, page, MADV_DONTNEED));
	CALL("madvise free", madvise(p, page, MADV_FREE));
	CALL("mprotect unaligned", mprotect(p + 1, page, PROT_READ));
	CALL("mprotect bad prot", mprotect(p, page, 0x40000000));
	CALL("mprotect", mprotect(p, page, PROT_READ));
	/* one mapping again: mremap wants its range in a single one */
	CALL("mprotect back", mprotect(p, page, rw));
	PCALL("mremap zero length", mremap(p, page, 0, 0));
	PCALL("mremap bad flags", mremap(p, page, 2 * page, 99));
	PCALL("mremap fixed without maymove", mremap(p, page, page, MREMAP_FIXED, p + page));
	errno = EXDEV;
	q = mremap(p, len, 2 * len, MREMAP_MAYMOVE);
	show("mremap grow", q == MAP_FAILED ? -1 : 0, errno);
	if (q != MAP_FAILED) {
		p = q;
		len *= 2;
	}
	CALL("posix_madvise bad advice", posix_madvise(p, page, 1234));
	CALL("posix_madvise dontneed", posix_madvise(p, page, POSIX_MADV_DONTNEED));
	CALL("posix_madvise willneed", posix_madvise(p, page, POSIX_MADV_WILLNEED));
	CALL("syscall madvise bad advice", syscall(SYS_madvise, p, page, 1234));
	CALL("syscall getppid matches", syscall(SYS_getppid) == getppid());
	iov.iov_base = p;
	iov.iov_len = (size_t)page;
	CALL("process_madvise bad pidfd", syscall(SYS_process_madvise, 12345, &iov, 1,
						  MADV_COLD, 0));
	CALL("munmap", munmap(p, len));
	CALL("munmap unmapped", munmap(p, len));

	/* the break: glibc keeps its own idea of it (__curbrk) that sbrk relies on */
	cur = sbrk(0);
	CALL("brk current", brk(cur));
	CALL("sbrk grow returns old", (char *)sbrk(page) == cur);
	CALL("sbrk shrink returns grown", (char *)sbrk(-page) == cur + page);
	CALL("sbrk zero is current", (char *)sbrk(0) == cur);
	errno = EXDEV;
	q = sbrk((intptr_t)1 << 46);
	show("sbrk huge", q == (void *)-1 ? -1 : 0, errno);
	CALL("sbrk still current", (char *)sbrk(0) == cur);
	/* and malloc, which uses it, still works */
	q = malloc(1 << 20);
	CALL("malloc after sbrk", q != NULL);
	free(q);
	return 0;
}

static int wait_status(pid_t pid)
{
	int st = -1;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

static int case_spawn(void)
{
	char *sh_argv[] = { "sh", "-c", "exit 3", NULL };
	char line[64] = "";
	pid_t pid;
	FILE *f;
	int r;

	r = posix_spawn(&pid, "/bin/sh", NULL, NULL, sh_argv, environ);
	printf("{\"spawn\":\"posix_spawn\",\"ret\":%d,\"status\":%d}\n", r, r ? -1 : wait_status(pid));
	sh_argv[2] = "exit 2";
	r = posix_spawnp(&pid, "sh", NULL, NULL, sh_argv, environ);
	printf("{\"spawn\":\"posix_spawnp\",\"ret\":%d,\"status\":%d}\n", r, r ? -1 : wait_status(pid));
	printf("{\"spawn\":\"system\",\"status\":%d}\n", system("exit 4"));
	f = popen("echo popen-output", "r");
	if (f) {
		if (!fgets(line, sizeof(line), f))
			line[0] = '\0';
		line[strcspn(line, "\n")] = '\0';
		printf("{\"spawn\":\"popen\",\"line\":\"%s\",\"status\":%d}\n", line, pclose(f));
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exit 5", (char *)NULL);
		_exit(127);
	}
	printf("{\"spawn\":\"fork+exec\",\"status\":%d}\n", wait_status(pid));
	fflush(stdout);
	pid = vfork();
	if (pid == 0) {
		execlp("sh", "sh", "-c", "exit 6", (char *)NULL);
		_exit(127);
	}
	printf("{\"spawn\":\"vfork+exec\",\"status\":%d}\n", wait_status(pid));
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(marker(1) == 0 ? 7 : 1);
	printf("{\"spawn\":\"fork\",\"status\":%d}\n", wait_status(pid));
	return 0;
}

static void *blocked_thread(void *arg)
{
	sigset_t all;
	void *p;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	p = malloc(64 << 20);
	if (p)
		memset(p, 1, 4096);
	free(p);
	return p ? (void *)1 : NULL;
}

static int case_sigblock(int n)
{
	pthread_t t[64];
	sigset_t all;
	int ok = 0, i;
	void *r;

	if (n > 64)
		n = 64;
	for (i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, blocked_thread, NULL))
			return 1;
	for (i = 0; i < n; i++) {
		pthread_join(t[i], &r);
		ok += r != NULL;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	r = blocked_thread(NULL);
	printf("{\"case\":\"sigblock\",\"threads\":%d,\"ok\":%d,\"main_ok\":%d}\n", n, ok,
	       r != NULL);
	return ok == n && r ? 0 : 1;
}

static int case_closefds(void)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;
	int ok;

	closefrom(3);
	close_range(3, ~0u, 0);
	for (int fd = 3; fd < 4096; fd++)
		close(fd);
	p = mmap((void *)MARK, (size_t)page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok = p != MAP_FAILED && munmap(p, (size_t)page) == 0 && marker(2) == 0;
	printf("{\"case\":\"closefds\",\"ok\":%d}\n", ok);
	return ok ? 0 : 1;
}

static volatile sig_atomic_t handled, handler_failed, loop_done;
static pthread_t looper;

static void on_usr1(int sig)
{
	void *p;

	(void)sig;
	/* a recorded call made while the interrupted code may be in the middle of one */
	p = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || munmap(p, 8192))
		handler_failed = 1;
	handled++;
}

static void *signaller(void *arg)
{
	(void)arg;
	while (!loop_done) {
		pthread_kill(looper, SIGUSR1);
		usleep(20);
	}
	return NULL;
}

static int case_sighook(int n)
{
	struct sigaction sa;
	pthread_t t;
	int loop = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	looper = pthread_self();
	if (pthread_create(&t, NULL, signaller, NULL))
		return 1;
	for (int i = 0; i < n; i++) {
		void *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p != MAP_FAILED && munmap(p, 4096) == 0)
			loop++;
	}
	loop_done = 1;
	pthread_join(t, NULL);
	/* no more signals: what the handler did is final */
	printf("{\"case\":\"sighook\",\"loop\":%d,\"handled\":%d,\"failed\":%d}\n", loop,
	       (int)handled, (int)handler_failed);
	return loop == n && !handler_failed ? 0 : 1;
}

static int case_execenv(const char *self)
{
	char *argv[] = { (char *)self, "execenv-done", NULL };
	char *envp[] = { "FOO=1", NULL };

	fflush(stdout);
	/* through /proc: argv[0] may be a bare name found in PATH */
	execve("/proc/self/exe", argv, envp);
	perror("preload_cases: execve");
	return 1;
}

static int case_execenv_done(void)
{
	const char *foo = getenv("FOO");

	printf("{\"case\":\"execenv-done\",\"foo\":\"%s\",\"marker\":%ld}\n", foo ? foo : "",
	       marker(3));
	return 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(c, "malloc") && argc == 4)
		return case_malloc(atoi(argv[2]), (size_t)atoi(argv[3]), 0);
	if (!strcmp(c, "mallochold") && argc == 4)
		return case_malloc(atoi(argv[2]), (size_t)atoi(argv[3]), 1);
	if (!strcmp(c, "errno"))
		return case_errno();
	if (!strcmp(c, "spawn"))
		return case_spawn();
	if (!strcmp(c, "sigblock") && argc == 3)
		return case_sigblock(atoi(argv[2]));
	if (!strcmp(c, "closefds"))
		return case_closefds();
	if (!strcmp(c, "execenv"))
		return case_execenv(argv[0]);
	if (!strcmp(c, "execenv-done"))
		return case_execenv_done();
	if (!strcmp(c, "sighook") && argc == 3)
		return case_sighook(atoi(argv[2]));
	fprintf(stderr, "usage: preload_cases malloc|mallochold N MIB | errno | spawn | "
			"sigblock T | closefds | execenv | sighook N\n");
	return 2;
}
