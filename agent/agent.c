// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libmadvtrace-agent.so: madvtrace's recorder inside the traced program,
 * loaded with LD_PRELOAD. No privilege, no ptrace.
 *
 * - The hooks (hooks.c) make the memory calls themselves, through the one
 *   system call instruction of raw.S, and record them in the calling
 *   thread's own buffer, which that thread writes out (see "records").
 * - Calls no hook can see (glibc's own: malloc's mmap/munmap, thread stacks;
 *   raw syscall instructions in the program) are caught by a seccomp filter
 *   that answers them with SECCOMP_RET_TRAP (filter.c): the kernel skips the
 *   call and raises SIGSYS, and the agent's handler (trap.c) makes the call
 *   itself, records it and hands its result back in the saved registers.
 *   The filter only looks at code that was loaded when the agent started
 *   and lies at a random address (see catch.c).
 * - RSS is read from /proc/self by the thread that made a release (at most
 *   every 10 ms) and periodically, by the program's threads while they make
 *   calls, else by the agent thread: a bare clone() thread glibc knows
 *   nothing about, asleep while the program is busy. It uses no thread-local
 *   storage and no libc function that could, so it can also be started in
 *   the child of a fork, before anything else runs there.
 *
 * Everything that can run on the program's threads after start-up (hooks,
 * fork and exit handlers, the SIGSYS handler) makes no allocation, waits on
 * no lock a signal handler on the same thread could hold, and uses only
 * async-signal-safe calls.
 */
/*
 * This file: the state the parts share (core.h says which file does what)
 * and the small helpers every part uses.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "core.h"

/* recording (atomic); read inline by the hooks (mt_recording) */
int mt_agent_on;
/* >0: the agent's own work on this thread; its calls are not the program's */
MT_TLS int mt_tls_internal;
/* used: vfork's assembly (hooks.c) writes it, which link-time optimisation cannot see */
__attribute__((used)) MT_TLS int mt_tls_vfork;

struct mt_agent mt_ag = {
	.out_fd = -1,
	.timer_fd = -1,
	.status_fd = -1,
	.smaps_fd = -1,
};

/* this thread's id, once asked (mt_tid) */
MT_TLS uint32_t mt_tls_tid;

uint32_t mt_tid(void)
{
	if (!mt_tls_tid)
		mt_tls_tid = (uint32_t)mt_sys0(SYS_gettid);
	return mt_tls_tid;
}

int mt_agent_fds(int fds[5])
{
	int all[4] = { mt_ag.out_fd, mt_ag.timer_fd, mt_ag.status_fd, mt_ag.smaps_fd }, n = 0;

	for (int i = 0; i < 4; i++)
		if (all[i] >= 0)
			fds[n++] = all[i];
	return n;
}

bool mt_is_agent_fd(int fd)
{
	return fd >= 0 && (fd == mt_ag.out_fd || fd == mt_ag.timer_fd || fd == mt_ag.status_fd ||
			   fd == mt_ag.smaps_fd);
}

/* CLOCK_MONOTONIC on the program's threads: the vDSO, no system call. */
uint64_t mt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The same clock from the agent thread, which stays out of libc. */
uint64_t mt_raw_now_ns(void)
{
	struct timespec ts;

	mt_sys2(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void mt_raw_sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	mt_sys2(SYS_nanosleep, &ts, NULL);
}

/*
 * How long a wait for one of the agent's locks may last. Bounded: a signal
 * handler that calls exit() on a thread interrupted while it held one would
 * otherwise wait for itself; after this, what the lock guards is skipped.
 */
#define LOCK_WAIT_NS (200 * MS)

/* Spin on try(); false if it never succeeded within LOCK_WAIT_NS. */
bool mt_wait_for(bool (*try)(void *), void *arg)
{
	uint64_t start = 0;

	for (unsigned int i = 0;; i++) {
		if (try(arg))
			return true;
		if (i % 64 == 63) {
			uint64_t now = mt_raw_now_ns();

			if (!start)
				start = now;
			else if (now - start > LOCK_WAIT_NS)
				return false;
		}
		mt_sys0(SYS_sched_yield);
	}
}

static bool lock_try(void *lock)
{
	return mt_lock__try(lock);
}

bool mt_lock__wait(int *lock)
{
	return mt_wait_for(lock_try, lock);
}

/* Move fd up to AGENT_FD_MIN or above, close-on-exec; returns the new number (or fd). */
int mt_high_fd(int fd)
{
	long n;

	if (fd < 0 || fd >= AGENT_FD_MIN)
		return fd;
	n = mt_sys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, AGENT_FD_MIN);
	if (n < 0)
		return fd; /* a low RLIMIT_NOFILE: keep it where it is */
	mt_sys1(SYS_close, fd);
	return (int)n;
}

void mt_set_cloexec(int fd, bool on)
{
	mt_sys3(SYS_fcntl, fd, F_SETFD, on ? FD_CLOEXEC : 0);
}

/* write(2) all of buf, from the agent's instruction: 0 or -errno. */
int mt_raw_write_all(int fd, const void *buf, size_t len)
{
	const char *s = buf;

	while (len) {
		long r = mt_sys3(SYS_write, fd, s, len);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EIO;
		s += r;
		len -= (size_t)r;
	}
	return 0;
}

/* The agent's own close: libc's close() is its hook (hooks.c), which it must not call. */
void mt_raw_close(int fd)
{
	mt_sys1(SYS_close, fd);
}

void mt_get_comm(char comm[MT_COMM_LEN])
{
	memset(comm, 0, MT_COMM_LEN);
	mt_sys2(SYS_prctl, PR_GET_NAME, comm);
}
