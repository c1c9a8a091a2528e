// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * vfork and clone children around known madvise calls, for the preload
 * agent (test_sec2_vfork.py). The parent releases PARENT_LEN with
 * MADV_DONTNEED twice around each child; each child calls
 * madvise(CHILD_LEN, MADV_NORMAL) (harmless to the shared memory of a
 * vfork child) and then:
 *
 *   1. vfork, _exit(0)
 *   2. vfork, exec of a path that does not exist, _exit(127)
 *   3. vfork, exec /bin/true
 *   4. clone(2) through glibc without CLONE_VM (a fork that runs no fork handlers)
 *
 * Prints "parent PID releases N" and "child PID" per child: the tally.
 */
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define PARENT_LEN (3 * 4096)
#define CHILD_LEN (5 * 4096)

static char *buf;
static int releases;

static void release(void)
{
	buf[0] = 1;
	if (madvise(buf, PARENT_LEN, MADV_DONTNEED) == 0)
		releases++;
}

static int clone_child(void *arg)
{
	(void)arg;
	madvise(buf, CHILD_LEN, MADV_NORMAL);
	return 0;
}

static void reap(pid_t pid)
{
	int st;

	printf("child %d\n", pid);
	waitpid(pid, &st, __WALL);
}

int main(void)
{
	static char stack[64 * 1024];
	pid_t pid;

	buf = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	for (volatile int step = 0; step < 4; step++) {
		release();
		switch (step) {
		case 0:
			pid = vfork();
			if (pid == 0) {
				madvise(buf, CHILD_LEN, MADV_NORMAL);
				_exit(0);
			}
			break;
		case 1:
			pid = vfork();
			if (pid == 0) {
				madvise(buf, CHILD_LEN, MADV_NORMAL);
				execl("/nonexistent/sec2", "sec2", (char *)NULL);
				_exit(127);
			}
			break;
		case 2:
			pid = vfork();
			if (pid == 0) {
				madvise(buf, CHILD_LEN, MADV_NORMAL);
				execl("/bin/true", "true", (char *)NULL);
				_exit(127);
			}
			break;
		default:
			pid = clone(clone_child, stack + sizeof(stack), SIGCHLD, NULL);
			break;
		}
		if (pid < 0) {
			perror("sec2_vfork");
			return 1;
		}
		reap(pid);
		release();
	}
	printf("parent %d releases %d\n", getpid(), releases);
	return 0;
}
