// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What the preload agent leaves in a program, and what it does to calls the
 * kernel would refuse (issue 13, defect 11; tests/integration/test_sec11_agent.py).
 * Each case prints one JSON line of what the program itself saw.
 *
 *   sec11_agent fds              its open descriptors above 2, and whether the agent
 *                                is mapped in it
 *   sec11_agent exec PROG ARG... exec PROG (a program that does not load the agent:
 *                                the static build of this one) with ARG...
 *   sec11_agent sigmask          syscall(SYS_rt_sigprocmask) with a mask pointer the
 *                                kernel answers with EFAULT, then a good one
 *   sec11_agent work             a few mmap/munmap/madvise (a program that must survive
 *                                the filter it inherited), then fds
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

static int agent_mapped(void)
{
	char line[4096];
	FILE *f = fopen("/proc/self/maps", "re");
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "madvtrace-agent") != NULL;
	fclose(f);
	return found;
}

static int case_fds(const char *what)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int first = 1, dfd = d ? dirfd(d) : -1;

	if (!d)
		return 1;
	printf("{\"case\":\"%s\",\"agent\":%d,\"fds\":[", what, agent_mapped());
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		char target[256] = "";
		char path[64];
		ssize_t n;

		if (e->d_name[0] == '.' || fd <= 2 || fd == dfd)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		printf("%s{\"fd\":%d,\"target\":\"%s\"}", first ? "" : ",", fd, target);
		first = 0;
	}
	printf("]}\n");
	closedir(d);
	return 0;
}

static int case_sigmask(void)
{
	uint64_t good = 1ull << (SIGUSR1 - 1), old = 0;
	long bad, ok;
	int bad_errno;

	errno = 0;
	/* an address nothing maps: the kernel says EFAULT */
	bad = syscall(SYS_rt_sigprocmask, SIG_BLOCK, (void *)16, NULL, 8);
	bad_errno = errno;
	ok = syscall(SYS_rt_sigprocmask, SIG_BLOCK, &good, &old, 8);
	printf("{\"case\":\"sigmask\",\"bad_ret\":%ld,\"bad_errno\":%d,\"good_ret\":%ld}\n", bad,
	       bad_errno, ok);
	return 0;
}

static int case_work(void)
{
	for (int i = 0; i < 64; i++) {
		void *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			       -1, 0);

		if (p == MAP_FAILED)
			return 1;
		memset(p, 1, 1 << 20);
		madvise(p, 1 << 20, MADV_DONTNEED);
		munmap(p, 1 << 20);
	}
	return case_fds("work");
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "fds"))
		return case_fds("fds");
	if (argc >= 3 && !strcmp(argv[1], "exec")) {
		fflush(stdout);
		execv(argv[2], argv + 2);
		return 127;
	}
	if (argc == 2 && !strcmp(argv[1], "sigmask"))
		return case_sigmask();
	if (argc == 2 && !strcmp(argv[1], "work"))
		return case_work();
	fprintf(stderr, "usage: sec11_agent fds | exec PROG ARG... | sigmask | work\n");
	return 2;
}
