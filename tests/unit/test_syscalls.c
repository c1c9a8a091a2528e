// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Every backend traces the same calls: those of MT_SYSCALLS
 * (include/madvtrace/syscalls.h), checked against libseccomp's own tables.
 *
 * - the table itself: each name, resolved by libseccomp for x86-64, i386
 *   and x32, gives the table's number; and each number 0..1023 of each ABI
 *   whose libseccomp name is one of the table's names for that ABI is traced;
 * - the ptrace decoder: mt_pt_classify() on (AUDIT_ARCH_*, number) says what
 *   the table says, ABI included;
 * - the seccomp filter: the classic BPF program as the ptrace backend
 *   installs it (read back from the kernel in a child), run here on a
 *   seccomp_data for every number of every ABI, returns SECCOMP_RET_TRACE for
 *   exactly the table's calls (and for an unknown architecture);
 * - the eBPF program has no numbers of its own: bpf/madvtrace.bpf.c
 *   classifies with mt_syscall_by_nr() from this same header (and
 *   bpf/CMakeLists.txt rebuilds it when the header changes), so checking
 *   the table is checking it; the integration tests (strace, compat32)
 *   compare what it records with what the workloads did.
 * - the preload agent builds its filter from the table too (agent/).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <seccomp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include "madvtrace/syscalls.h"
#include "ptrace_calls.h"
#include "seccomp_filter.h"

#define MAX_NR 1024

static const struct {
	const char *name;
	uint32_t scmp_arch; /* SCMP_ARCH_* */
	uint32_t audit_arch; /* AUDIT_ARCH_*, what seccomp_data.arch and ptrace report */
	int abi; /* enum mt_abi */
	long bit; /* what the ABI adds to a number (x32) */
} abis[] = {
	{ "x86-64", SCMP_ARCH_X86_64, AUDIT_ARCH_X86_64, MT_ABI_X86_64, 0 },
	{ "i386", SCMP_ARCH_X86, AUDIT_ARCH_I386, MT_ABI_I386, 0 },
	{ "x32", SCMP_ARCH_X32, AUDIT_ARCH_X86_64, MT_ABI_X32, MT_X32_SYSCALL_BIT },
};
#define NABIS (sizeof(abis) / sizeof(abis[0]))

/* The table's rows, spelled out once more through the X-macro. */
static const struct {
	int sc;
	const char *n64, *n32;
	long nr64, nr32;
} rows[] = {
#define ROW_(id, n64, nr64, n32, nr32, type) { MT_SC_##id, n64, n32, nr64, nr32 },
	MT_SYSCALLS(ROW_)
#undef ROW_
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

/* The table's answer for (ABI, number), through its own lookup: MT_SC_* or -1. */
static int table_sc(size_t a, long nr)
{
	return mt_syscall_by_nr(nr, abis[a].abi == MT_ABI_I386);
}

/* Is name one of the table's names for ABI a? */
static bool table_has_name(size_t a, const char *name)
{
	size_t i;

	for (i = 0; i < NROWS; i++) {
		const char *n = abis[a].abi == MT_ABI_I386 ? rows[i].n32 : rows[i].n64;

		if (n && !strcmp(n, name))
			return true;
	}
	return false;
}

static void test_table_matches_libseccomp(void **state)
{
	size_t a, i;
	long nr;

	(void)state;
	assert_int_equal(NROWS, MT_SC_NR);
	for (a = 0; a < NABIS; a++) {
		for (i = 0; i < NROWS; i++) {
			const char *n = abis[a].abi == MT_ABI_I386 ? rows[i].n32 : rows[i].n64;
			long want = abis[a].abi == MT_ABI_I386 ? rows[i].nr32 : rows[i].nr64;

			if (!n) {
				assert_int_equal(want, -1);
				continue;
			}
			if (seccomp_syscall_resolve_name_arch(abis[a].scmp_arch, n) != want + abis[a].bit)
				fail_msg("%s: %s is %d for libseccomp, %ld in the table", abis[a].name,
					 n, seccomp_syscall_resolve_name_arch(abis[a].scmp_arch, n),
					 want);
			assert_int_equal(table_sc(a, want), rows[i].sc);
		}
		/* and every traced number is one of the table's calls, none more */
		for (nr = 0; nr < MAX_NR; nr++) {
			char *name = seccomp_syscall_resolve_num_arch(abis[a].scmp_arch,
								      (int)(nr + abis[a].bit));
			bool named = name && table_has_name(a, name);

			if (named != (table_sc(a, nr) >= 0))
				fail_msg("%s: number %ld (%s) is %straced by the table", abis[a].name,
					 nr, name ? name : "?", named ? "not " : "");
			free(name);
		}
	}
}

static void test_ptrace_classifier(void **state)
{
	uint8_t abi;
	size_t a;
	long nr;
	int sc;

	(void)state;
	for (a = 0; a < NABIS; a++) {
		for (nr = 0; nr < MAX_NR; nr++) {
			abi = 99;
			sc = mt_pt_classify(abis[a].audit_arch, (uint64_t)(nr + abis[a].bit), &abi);
			if (sc != table_sc(a, nr))
				fail_msg("%s: number %ld: ptrace says %d, the table %d", abis[a].name,
					 nr, sc, table_sc(a, nr));
			if (sc >= 0)
				assert_int_equal(abi, abis[a].abi);
		}
	}
	/* an architecture the table does not know is never recorded */
	assert_int_equal(mt_pt_classify(AUDIT_ARCH_AARCH64, 222, &abi), -1);
}

/* ---- the seccomp filter, run on seccomp_data as the kernel would ---- */

/* seccomp_data as 32-bit words, as the filter loads them (little-endian). */
static uint32_t data_word(const struct seccomp_data *d, uint32_t off)
{
	uint32_t w;

	if (off % 4 || off + 4 > sizeof(*d))
		fail_msg("the filter loads at offset %u of seccomp_data", off);
	memcpy(&w, (const unsigned char *)d + off, 4);
	return w;
}

/* Classic BPF as the kernel runs a seccomp filter (the instructions libseccomp emits). */
static uint32_t run_filter(const struct sock_fprog *prog, const struct seccomp_data *d)
{
	uint32_t A = 0, X = 0, mem[BPF_MEMWORDS] = { 0 };
	unsigned int pc = 0;

	while (pc < prog->len) {
		const struct sock_filter *f = &prog->filter[pc++];
		uint32_t k = f->k, src = BPF_SRC(f->code) == BPF_X ? X : k;

		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t v = 0;

			if (f->code == (BPF_LD | BPF_W | BPF_ABS))
				v = data_word(d, k);
			else if (BPF_MODE(f->code) == BPF_IMM)
				v = k;
			else if (BPF_MODE(f->code) == BPF_MEM && k < BPF_MEMWORDS)
				v = mem[k];
			else
				fail_msg("unknown load 0x%x at %u", f->code, pc - 1);
			if (BPF_CLASS(f->code) == BPF_LD)
				A = v;
			else
				X = v;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				fail_msg("store out of scratch memory at %u", pc - 1);
			mem[k] = BPF_CLASS(f->code) == BPF_ST ? A : X;
			break;
		case BPF_ALU:
			switch (BPF_OP(f->code)) {
			case BPF_ADD: A += src; break;
			case BPF_SUB: A -= src; break;
			case BPF_AND: A &= src; break;
			case BPF_OR: A |= src; break;
			case BPF_LSH: A <<= src; break;
			case BPF_RSH: A >>= src; break;
			default: fail_msg("unknown alu op 0x%x at %u", f->code, pc - 1);
			}
			break;
		case BPF_JMP: {
			bool taken;

			switch (BPF_OP(f->code)) {
			case BPF_JA: pc += k; continue;
			case BPF_JEQ: taken = A == src; break;
			case BPF_JGT: taken = A > src; break;
			case BPF_JGE: taken = A >= src; break;
			case BPF_JSET: taken = (A & src) != 0; break;
			default: fail_msg("unknown jump 0x%x at %u", f->code, pc - 1); return 0;
			}
			pc += taken ? f->jt : f->jf;
			break;
		}
		case BPF_RET:
			return BPF_RVAL(f->code) == BPF_A ? A : k;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				X = A;
			else
				A = X;
			break;
		}
	}
	fail_msg("the filter ran off its end");
	return 0;
}

/*
 * The program mt_seccomp_filter__install puts in place (as the ptrace
 * backend's child does), read back from the kernel with
 * PTRACE_SECCOMP_GET_FILTER (CAP_SYS_ADMIN) from a child stopped after
 * installing it. Its filter is freed by the caller.
 */
static void installed_prog(const struct mt_seccomp_filter *f, struct sock_fprog *prog)
{
	int status;
	long n;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* only untraced calls from here on: the filter has no tracer to stop for */
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) || mt_seccomp_filter__install(f))
			_exit(1);
		raise(SIGSTOP);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSTOPPED(status))
		fail_msg("the child did not install the filter (status 0x%x)", status);
	/* index 0: the filter installed last */
	n = ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, NULL);
	if (n <= 0) {
		int e = errno;

		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (e == EACCES || e == EPERM)
			skip(); /* not CAP_SYS_ADMIN: CI runs this as root */
		fail_msg("PTRACE_SECCOMP_GET_FILTER: %s", strerror(e));
	}
	prog->len = (unsigned short)n;
	prog->filter = calloc((size_t)n, sizeof(*prog->filter));
	assert_non_null(prog->filter);
	assert_int_equal(ptrace(PTRACE_SECCOMP_GET_FILTER, pid, 0, prog->filter), n);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal((long)mt_seccomp_filter__len(f), n);
}

static void test_seccomp_filter_traces_the_table(void **state)
{
	struct mt_seccomp_filter *f = mt_seccomp_filter__new();
	const uint32_t trace = SECCOMP_RET_TRACE | MT_SECCOMP_DATA;
	struct sock_fprog prog;
	struct seccomp_data d;
	size_t a, i, ntraced = 0, want = 0;
	uint32_t ret;
	long nr;

	(void)state;
	assert_non_null(f);
	installed_prog(f, &prog);
	for (a = 0; a < NABIS; a++) {
		for (nr = 0; nr < MAX_NR; nr++) {
			memset(&d, 0, sizeof(d));
			d.nr = (int)(nr + abis[a].bit);
			d.arch = abis[a].audit_arch;
			ret = run_filter(&prog, &d);
			if ((ret == trace) != (table_sc(a, nr) >= 0))
				fail_msg("%s: number %ld: the filter returns 0x%x, the table says %s",
					 abis[a].name, nr, ret,
					 table_sc(a, nr) >= 0 ? "traced" : "untraced");
			if (ret != trace && ret != SECCOMP_RET_ALLOW)
				fail_msg("%s: number %ld: action 0x%x", abis[a].name, nr, ret);
			ntraced += ret == trace;
		}
	}
	/* x86-64 and x32: the rows with a 64-bit name; i386: those with an i386 one */
	for (i = 0; i < NROWS; i++)
		want += 2 * (rows[i].n64 != NULL) + (rows[i].n32 != NULL);
	assert_int_equal(ntraced, want);
	/* a call from an ABI the filter does not know stops for the tracer, never runs untraced */
	memset(&d, 0, sizeof(d));
	d.arch = AUDIT_ARCH_AARCH64;
	d.nr = 222;
	assert_int_equal(run_filter(&prog, &d), trace);
	free(prog.filter);
	mt_seccomp_filter__free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_matches_libseccomp),
		cmocka_unit_test(test_ptrace_classifier),
		cmocka_unit_test(test_seccomp_filter_traces_the_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
