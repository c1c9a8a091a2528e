// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The preload agent's seccomp filter (agent/filter.c):
 *
 * - run by a small classic-BPF interpreter over chosen seccomp_data: which
 *   calls trap, at the edges of each code range (and across a 4 GiB
 *   boundary, where the two 32-bit halves disagree), for the agent's own
 *   instruction, other architectures, and calls trapped only when an
 *   argument is not NULL;
 * - installed for real in a child, watching libc's code: libc's madvise
 *   traps (SIGSYS, the filter's data in si_errno), the same call from the
 *   agent's own instruction (raw.S) does not. This is what the agent relies
 *   on: the kernel reports as instruction pointer the address right after
 *   the syscall instruction, mt_raw_syscall_ret;
 * - the calls the agent traps: the syscall table's, and apart from them
 *   the ones it traps for its own safety.
 */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "filter.h"
#include "madvtrace/syscalls.h"

long mt_raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
extern char mt_raw_syscall_ret[];

#define DATA 0x4d54
#define TRAP (SECCOMP_RET_TRAP | DATA)

/* Classic BPF as seccomp runs it: the instructions filter.c emits. */
static uint32_t run(const struct sock_filter *p, int n, const struct seccomp_data *d)
{
	uint32_t a = 0, mem[16] = { 0 };
	const unsigned char *data = (const void *)d;

	for (int pc = 0; pc < n; pc++) {
		const struct sock_filter *i = &p[pc];

		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			assert_true(i->k + 4 <= sizeof(*d) && i->k % 4 == 0);
			memcpy(&a, data + i->k, 4);
			break;
		case BPF_LD | BPF_MEM:
			a = mem[i->k];
			break;
		case BPF_ST:
			mem[i->k] = a;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += a > i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= i->k ? i->jt : i->jf;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		default:
			fail_msg("unexpected instruction %#x at %d", i->code, pc);
		}
		assert_true(pc + 1 < n || i->code == (BPF_RET | BPF_K));
	}
	fail_msg("ran off the end of the program");
	return 0;
}

static const struct mt_filter_call calls[] = {
	{ SYS_madvise, -1 }, { SYS_munmap, -1 },       { SYS_mmap, -1 },
	{ SYS_ppoll, 3 },    { SYS_rt_sigprocmask, 1 }, { SYS_pselect6, 5 },
};
#define NCALLS ((int)(sizeof(calls) / sizeof(calls[0])))

static const uint64_t OWN = 0x7f0000001234ull;

static struct seccomp_data call(int nr, uint64_t ip)
{
	struct seccomp_data d;

	memset(&d, 0, sizeof(d));
	d.nr = nr;
	d.arch = AUDIT_ARCH_X86_64;
	d.instruction_pointer = ip;
	return d;
}

static void test_ranges(void **state)
{
	const struct mt_code_range r[] = {
		{ 0x7f1200000000ull, 0x7f1200200000ull },
		{ 0x55fffff00000ull, 0x560000100000ull }, /* across 4 GiB boundaries */
		{ 0xfffff000ull, 0x100001000ull },
	};
	struct sock_filter prog[MT_FILTER_MAX];
	struct seccomp_data d;
	int n;

	(void)state;
	n = mt_filter_build(prog, MT_FILTER_MAX, OWN, r, 3, calls, NCALLS, DATA);
	assert_true(n > 0);
	for (int i = 0; i < 3; i++) {
		d = call(SYS_madvise, r[i].start);
		assert_int_equal(run(prog, n, &d), TRAP);
		d = call(SYS_munmap, r[i].end - 1);
		assert_int_equal(run(prog, n, &d), TRAP);
		d = call(SYS_mmap, r[i].start + (r[i].end - r[i].start) / 2);
		assert_int_equal(run(prog, n, &d), TRAP);
		d = call(SYS_madvise, r[i].end);
		assert_int_equal(run(prog, n, &d), SECCOMP_RET_ALLOW);
		d = call(SYS_madvise, r[i].start - 1);
		assert_int_equal(run(prog, n, &d), SECCOMP_RET_ALLOW);
	}
	/* the halves of a 64-bit address compared wrongly would catch these */
	d = call(SYS_madvise, 0x7f1300100000ull);
	assert_int_equal(run(prog, n, &d), SECCOMP_RET_ALLOW);
	d = call(SYS_madvise, 0x7f1100100000ull);
	assert_int_equal(run(prog, n, &d), SECCOMP_RET_ALLOW);
	d = call(SYS_madvise, 0x1000ull);
	assert_int_equal(run(prog, n, &d), SECCOMP_RET_ALLOW);
}

static void test_not_trapped(void **state)
{
	const struct mt_code_range r[] = { { 0x1000, 0x7fffffffffffull } };
	struct sock_filter prog[MT_FILTER_MAX];
	struct seccomp_data d;
	int n = mt_filter_build(prog, MT_FILTER_MAX, OWN, r, 1, calls, NCALLS, DATA);

	(void)state;
	assert_true(n > 0);
	/* the agent's own instruction, inside a watched range */
	d = call(SYS_madvise, OWN);
	assert_int_equal(run(prog, n, &d), SECCOMP_RET_ALLOW);
	d = call(SYS_madvise, OWN + 1);
	assert_int_equal(run(prog, n, &d), TRAP);
	/* a call the filter does not look at */
	d = call(SYS_getppid, 0x2000);
	assert_int_equal(run(prog, n, &d), SECCOMP_RET_ALLOW);
	/* another architecture (an int $0x80 call) */
	d = call(SYS_madvise, 0x2000);
	d.arch = AUDIT_ARCH_I386;
	assert_int_equal(run(prog, n, &d), SECCOMP_RET_ALLOW);
}

static void test_argument_condition(void **state)
{
	const struct mt_code_range r[] = { { 0x400000, 0x500000 } };
	struct sock_filter prog[MT_FILTER_MAX];
	struct seccomp_data d;
	int n = mt_filter_build(prog, MT_FILTER_MAX, OWN, r, 1, calls, NCALLS, DATA);

	(void)state;
	assert_true(n > 0);
	/* ppoll traps only with a signal mask (argument 3); pselect6 with argument 5 */
	d = call(SYS_ppoll, 0x401000);
	assert_int_equal(run(prog, n, &d), SECCOMP_RET_ALLOW);
	d.args[3] = 0x7ffd00000000ull; /* only the high half set */
	assert_int_equal(run(prog, n, &d), TRAP);
	d.args[3] = 0x1000; /* only the low half */
	assert_int_equal(run(prog, n, &d), TRAP);
	d.args[2] = 5; /* another argument changes nothing */
	d.args[3] = 0;
	assert_int_equal(run(prog, n, &d), SECCOMP_RET_ALLOW);
	d = call(SYS_rt_sigprocmask, 0x401000);
	d.args[1] = 0x1000;
	assert_int_equal(run(prog, n, &d), TRAP);
	d.instruction_pointer = 0x600000; /* set, but outside the watched code */
	assert_int_equal(run(prog, n, &d), SECCOMP_RET_ALLOW);
	d = call(SYS_pselect6, 0x401000);
	d.args[5] = 0x1000;
	assert_int_equal(run(prog, n, &d), TRAP);
}

static void test_limits(void **state)
{
	static struct mt_code_range r[300];
	static struct sock_filter prog[MT_FILTER_MAX];
	struct seccomp_data d;
	int n;

	(void)state;
	for (int i = 0; i < 300; i++)
		r[i] = (struct mt_code_range){ 0x10000000ull * (i + 1),
					       0x10000000ull * (i + 1) + 0x1000 };
	/* 300 ranges fit in the kernel's 4096 instructions, and the last one still works */
	n = mt_filter_build(prog, MT_FILTER_MAX, OWN, r, 300, calls, NCALLS, DATA);
	assert_true(n > 0 && n <= 4096);
	d = call(SYS_mmap, r[299].start + 8);
	assert_int_equal(run(prog, n, &d), TRAP);
	d = call(SYS_mmap, r[299].end);
	assert_int_equal(run(prog, n, &d), SECCOMP_RET_ALLOW);
	/* too little room: an error, not a cut program */
	assert_int_equal(mt_filter_build(prog, 20, OWN, r, 300, calls, NCALLS, DATA), -1);
}

/* ---- the kernel's view ---- */

static volatile sig_atomic_t traps, bad_data;

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	traps++;
	if (si->si_errno != DATA || si->si_syscall != SYS_madvise)
		bad_data++;
	((ucontext_t *)uc)->uc_mcontext.gregs[REG_RAX] = 0;
}

/* In a child: watch libc's code; libc's madvise traps, the agent's own does not. */
static int child(void)
{
	struct mt_code_range r;
	struct sock_filter prog[MT_FILTER_MAX];
	struct sock_fprog fp;
	struct sigaction sa;
	Dl_info libc;
	int n;

	if (!dladdr((void *)madvise, &libc))
		return 10;
	/* all of libc's mapping: more than its code, which is harmless here */
	r.start = (uint64_t)libc.dli_fbase;
	r.end = r.start + (64 << 20);
	n = mt_filter_build(prog, MT_FILTER_MAX, (uint64_t)mt_raw_syscall_ret, &r, 1, calls,
			    NCALLS, DATA);
	if (n <= 0)
		return 11;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGSYS, &sa, NULL);
	fp.len = (unsigned short)n;
	fp.filter = prog;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp))
		return 12;
	if (madvise(NULL, 0, MADV_NORMAL) != 0 || traps != 1)
		return 13;
	if (mt_raw_syscall(SYS_madvise, 0, 0, MADV_NORMAL, 0, 0, 0) != 0 || traps != 1)
		return 14;
	/* the agent's instruction makes the real call: a bad advice really fails */
	if (mt_raw_syscall(SYS_madvise, 0, 4096, 1234, 0, 0, 0) != -EINVAL || traps != 1)
		return 15;
	return bad_data ? 16 : 0;
}

static void test_kernel(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	if (pid == 0)
		_exit(child());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * What the agent traps: its traced calls are exactly the x86-64 calls of the
 * syscall table, and the calls it traps for its own safety are none of them.
 */
static void test_agent_calls(void **state)
{
	struct mt_filter_call got[MT_FILTER_CALLS], small[4];
	int n, ntraced = -1, table = 0, found, i, j;

	(void)state;
	n = mt_filter_agent_calls(got, MT_FILTER_CALLS, &ntraced);
	assert_true(n > 0 && ntraced > 0 && ntraced < n);
#define COUNT_(id, n64, nr64, n32, nr32, type)                                       \
	if ((nr64) >= 0) {                                                           \
		table++;                                                             \
		for (i = 0, found = 0; i < ntraced; i++)                             \
			found += got[i].nr == (nr64);                                \
		if (found != 1)                                                      \
			fail_msg("%s (%d) trapped %d times as traced", n64, nr64, found); \
	}
	MT_SYSCALLS(COUNT_)
#undef COUNT_
	/* and nothing else is traced */
	assert_int_equal(ntraced, table);
	for (i = 0; i < ntraced; i++) {
		assert_int_equal(got[i].arg, -1);
		assert_true(mt_syscall_by_nr(got[i].nr, 0) >= 0);
	}
	/* the safety calls: not in the table, each once */
	for (i = ntraced; i < n; i++) {
		if (mt_syscall_by_nr(got[i].nr, 0) >= 0)
			fail_msg("call %d trapped for safety is in the syscall table", got[i].nr);
		for (j = 0; j < n; j++)
			assert_true(j == i || got[j].nr != got[i].nr);
	}
	/* SIGSYS must never be blocked without the agent seeing it */
	for (i = ntraced, found = 0; i < n; i++)
		found += got[i].nr == SYS_rt_sigprocmask;
	assert_int_equal(found, 1);
	/* the madvise of a thread's exit is the most frequent: first */
	assert_int_equal(got[0].nr, SYS_madvise);
	assert_int_equal(mt_filter_agent_calls(small, 4, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_not_trapped),
		cmocka_unit_test(test_argument_condition),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_kernel),
		cmocka_unit_test(test_agent_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
