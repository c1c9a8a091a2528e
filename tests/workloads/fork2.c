// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A parent that only starts two children and waits: the first touches and
 * releases 8 MiB with MADV_DONTNEED, the second 32 MiB. Each child prints
 * "pid PID released BYTES" on stdout: the oracle of who released what.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int child(size_t mib)
{
	size_t len = mib << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return 1;
	memset(p, 1, len);
	if (madvise(p, len, MADV_DONTNEED))
		return 1;
	printf("pid %d released %zu\n", getpid(), len);
	fflush(stdout);
	return 0;
}

int main(void)
{
	static const size_t mib[] = { 8, 32 };
	int status, rc = 0;

	for (size_t i = 0; i < 2; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (!pid)
			_exit(child(mib[i]));
		/* one after the other: their order in the trace is known */
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
			rc = 1;
	}
	return rc;
}
