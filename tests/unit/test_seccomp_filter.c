// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The launch-mode seccomp filter, installed in a child with no tracer: there
 * SECCOMP_RET_TRACE fails a call with ENOSYS, so each traced call must fail
 * so (it would have stopped for a tracer) and every other call must work.
 * The i386 entry (int $0x80 from this 64-bit process) is checked too.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "seccomp_filter.h"

/* A raw i386 system call from 64-bit code; its result, or -errno. */
static long int80(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;

	/* ebp carries the sixth argument: saved by hand, clobbers cannot name it */
	__asm__ volatile("push %%rbp\n\t"
			 "mov %7, %%rbp\n\t"
			 "int $0x80\n\t"
			 "pop %%rbp"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e), "r"(f)
			 : "memory", "cc", "r8", "r9", "r10", "r11");
	return ret;
}

/* Does this kernel take i386 calls (CONFIG_IA32_EMULATION, not disabled)? */
static bool have_int80(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(int80(20 /* getpid */, 0, 0, 0, 0, 0, 0) == getpid() ? 0 : 1);
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

/* What each call returned in the filtered child: >= 0, or -errno. */
enum { R_MMAP, R_MUNMAP, R_MREMAP, R_MADVISE, R_PMADVISE, R_BRK, R_MPROTECT, R_GETPPID,
       R_MMAP_PAGE, R_I386_MMAP2, R_I386_OLD_MMAP, R_I386_MADVISE, R_I386_GETPPID, R_NNP, R_N };

static long sys(long r)
{
	return r == -1 ? -errno : r;
}

static void filtered_child(const struct mt_seccomp_filter *f, int fd, bool i386)
{
	long r[R_N];
	void *page;

	memset(r, 0, sizeof(r));
	/* mapped before the filter, to give munmap and friends a valid target */
	page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED || mt_seccomp_filter__install(f))
		_exit(2);
	r[R_MMAP] =
		sys(syscall(SYS_mmap, 0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	r[R_MUNMAP] = sys(syscall(SYS_munmap, page, 4096));
	r[R_MREMAP] = sys(syscall(SYS_mremap, page, 4096, 8192, MREMAP_MAYMOVE));
	r[R_MADVISE] = sys(syscall(SYS_madvise, page, 4096, MADV_DONTNEED));
	r[R_PMADVISE] = sys(syscall(SYS_process_madvise, -1, NULL, 0, MADV_COLD, 0));
	r[R_BRK] = sys(syscall(SYS_brk, 0));
	r[R_MPROTECT] = sys(syscall(SYS_mprotect, page, 4096, PROT_READ));
	r[R_GETPPID] = sys(syscall(SYS_getppid));
	r[R_MMAP_PAGE] = ((volatile char *)page)[0] == 0; /* still mapped: munmap did not run */
	if (i386) {
		r[R_I386_MMAP2] =
			int80(192, 0, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		r[R_I386_OLD_MMAP] = int80(90, 0, 0, 0, 0, 0, 0);
		r[R_I386_MADVISE] = int80(219, 0, 0, 0, 0, 0, 0);
		r[R_I386_GETPPID] = int80(64, 0, 0, 0, 0, 0, 0);
	}
	r[R_NNP] = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	if (write(fd, r, sizeof(r)) != sizeof(r))
		_exit(3);
	_exit(0);
}

static void test_build(void **state)
{
	struct mt_seccomp_filter *f = mt_seccomp_filter__new();

	(void)state;
	assert_non_null(f);
	/* three architectures, eight calls, the arch checks: more than a handful */
	assert_true(mt_seccomp_filter__len(f) > 10);
	mt_seccomp_filter__free(f);
	mt_seccomp_filter__free(NULL);
}

static void test_untraced_calls_fail_with_enosys(void **state)
{
	struct mt_seccomp_filter *f = mt_seccomp_filter__new();
	bool i386 = have_int80();
	long r[R_N];
	int fds[2], status, i;
	pid_t pid;

	(void)state;
	assert_non_null(f);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		filtered_child(f, fds[1], i386);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], r, sizeof(r)), sizeof(r));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	for (i = R_MMAP; i <= R_MPROTECT; i++)
		assert_int_equal(r[i], -ENOSYS);
	assert_int_equal(r[R_GETPPID], getpid()); /* untraced calls run untouched */
	assert_int_equal(r[R_MMAP_PAGE], 1);
	if (i386) {
		assert_int_equal(r[R_I386_MMAP2], -ENOSYS);
		assert_int_equal(r[R_I386_OLD_MMAP], -ENOSYS);
		assert_int_equal(r[R_I386_MADVISE], -ENOSYS);
		assert_int_equal(r[R_I386_GETPPID], getpid());
	} else {
		print_message("no i386 system calls on this kernel: int $0x80 part skipped\n");
	}
	/* no_new_privs only when the kernel demands it (no CAP_SYS_ADMIN) */
	if (geteuid() != 0)
		assert_int_equal(r[R_NNP], 1);
	mt_seccomp_filter__free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_untraced_calls_fail_with_enosys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
