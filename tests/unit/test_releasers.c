// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * releasers: release tallies per stack, symbolized and classified at the end.
 * The stacks are made of real return addresses into tests/go/binfo (the
 * static build and its stripped twin, which has the same layout), taken
 * from `go tool nm`, so what a frame is named and which releaser it stands
 * for is decided by the Go toolchain, not by the code under test. Stacks,
 * records and info records follow the order the recorders write them in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "goinfo.h"
#include "procfs.h"
#include "releasers.h"
#include "symbolize.h"
#include "elfgo_util.h"

#define KiB 1024ull

/* The distinct stacks, as a renderer walks them. */
static size_t count_stacks(const struct mt_releasers *r)
{
	struct mt_rel_stack st;
	size_t n = 0;

	while (mt_releasers__stack_at(r, n, &st))
		n++;
	return n;
}

static void f_info(struct mt_releasers *r, uint32_t pid, const char *kv)
{
	union {
		struct mt_info i;
		char b[sizeof(struct mt_info) + MT_MAX_INFO];
	} u;

	mt_record_init(&u.i.h, MT_INFO, (uint16_t)(sizeof(u.i) + strlen(kv) + 1), pid, pid, 1);
	strcpy(u.i.text, kv);
	assert_int_equal(mt_releasers__feed(r, &u.i.h, 0), 0);
}

static void f_task(struct mt_releasers *r, uint32_t pid, uint32_t event, uint32_t other)
{
	struct mt_task t = {0};

	mt_record_init(&t.h, MT_TASK, sizeof(t), pid, pid, 1);
	t.event = event;
	t.other_pid = other;
	assert_int_equal(mt_releasers__feed(r, &t.h, 0), 0);
}

static void f_madvise(struct mt_releasers *r, uint32_t pid, uint32_t stack, uint64_t len,
		      int advice, int64_t ret)
{
	struct mt_madvise a = {0};

	mt_record_init(&a.h, MT_MADVISE, sizeof(a), pid, pid, 1);
	a.h.stack_id = stack;
	a.addr = 0xc000000000ull;
	a.len = len;
	a.advice = advice;
	a.ret = ret;
	a.target_pid = pid;
	assert_int_equal(mt_releasers__feed(r, &a.h, 0), 0);
}

static void f_munmap(struct mt_releasers *r, uint32_t pid, uint32_t stack, uint64_t len)
{
	struct mt_munmap m = {0};

	mt_record_init(&m.h, MT_MUNMAP, sizeof(m), pid, pid, 1);
	m.h.stack_id = stack;
	m.addr = 0x7f0000000000ull;
	m.len = len;
	assert_int_equal(mt_releasers__feed(r, &m.h, 0), 0);
}

static void f_remap(struct mt_releasers *r, uint32_t pid, uint32_t stack, uint64_t released)
{
	struct mt_mmap m = {0};

	mt_record_init(&m.h, MT_MMAP, sizeof(m), pid, pid, 1);
	m.h.stack_id = stack;
	m.addr = 0x7f0000000000ull;
	m.len = 64 * KiB;
	m.ret = (int64_t)m.addr;
	m.flags = 0x32; /* MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, PROT_NONE */
	assert_int_equal(mt_releasers__feed(r, &m.h, released), 0);
}

static void f_stack(struct mt_releasers *r, uint32_t id, const uint64_t *ips, uint32_t nr)
{
	union {
		struct mt_stack s;
		uint8_t b[sizeof(struct mt_stack) + MT_MAX_STACK * 8];
	} u;

	mt_record_init(&u.s.h, MT_STACK, (uint16_t)(sizeof(u.s) + nr * 8), 0, 0, 1);
	u.s.id = id;
	u.s.nr = nr;
	memcpy(u.s.ips, ips, nr * 8);
	assert_int_equal(mt_releasers__feed(r, &u.s.h, 0), 0);
}

/* The address of a function in `go tool nm` output (".abi0" dropped), or fail. */
static uint64_t nm_addr(const char *nm, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = nm; (p = strstr(p, name)); p += n) {
		const char *line = p;

		if (p - nm < 3 || strncmp(p - 3, " T ", 3) ||
		    (p[n] != '\n' && strncmp(p + n, ".abi0\n", 6)))
			continue;
		while (line > nm && line[-1] != '\n')
			line--;
		return strtoull(line, NULL, 16);
	}
	fail_msg("%s is not in go tool nm's output", name);
	return 0;
}

/* The name nm gives the function just below addr (where a call ending there lives). */
static char *nm_before(const char *nm, uint64_t addr)
{
	unsigned long long best = 0, a;
	char name[512], *out = NULL, t;
	const char *p = nm;

	while (*p) {
		if (sscanf(p, "%llx %c %511s", &a, &t, name) == 3 && (t == 'T' || t == 't') &&
		    a < addr && a >= best) {
			best = a;
			free(out);
			out = strdup(name);
		}
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	if (out && strstr(out, ".abi0"))
		*strstr(out, ".abi0") = '\0';
	return out;
}

static size_t count_lines(const char *s, const char *prefix)
{
	size_t n = 0;

	for (const char *p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		n += !strncmp(p, prefix, strlen(prefix));
	return n;
}

static void check_go(const char *variant)
{
	const char *bin = binfo(variant), *twin = binfo("static");
	char cmd[1024], kv[600], err[256], *nm, *below;
	struct mt_releasers *r;
	const struct mt_rel_summary *s;
	struct mt_rel_stack top[8], st;
	struct mt_goinfo *g;
	struct {
		FILE *f;
		char *buf;
		size_t len;
	} w = {0};
	uint64_t madv, unused, bgscav, freeos, alloc, stackfree, release, mainf;
	int status;
	size_t n;

	if (!bin || !twin || !gotool("nm"))
		skip();
	snprintf(cmd, sizeof(cmd), "'%s' '%s'", gotool("nm"), twin);
	nm = run(cmd, &status);
	assert_int_equal(status, 0);
	madv = nm_addr(nm, "runtime.madvise");
	unused = nm_addr(nm, "runtime.sysUnused");
	bgscav = nm_addr(nm, "runtime.bgscavenge");
	freeos = nm_addr(nm, "runtime/debug.FreeOSMemory");
	alloc = nm_addr(nm, "runtime.(*mheap).allocSpan");
	stackfree = nm_addr(nm, "runtime.stackfree");
	release = nm_addr(nm, "main.release");
	mainf = nm_addr(nm, "main.main");
	g = mt_goinfo__open(bin, err, sizeof(err));
	assert_non_null(g);

	r = mt_releasers__new();
	assert_non_null(r);
	f_task(r, 10, MT_TASK_LAUNCH, 0);
	f_task(r, 10, MT_TASK_EXEC, 10);
	snprintf(kv, sizeof(kv), "exe=%s", bin);
	f_info(r, 10, kv);
	f_info(r, 10, "exe_base=0x400000");
	snprintf(kv, sizeof(kv), "build_id=%s", mt_goinfo__build_id(g));
	f_info(r, 10, kv);
	f_info(r, 10, "go_version=go1.19.8");
	f_info(r, 10, "not a key-value record");
	/* the scavenger: 3 x 64 KiB MADV_DONTNEED, one failed call that does not count */
	for (int i = 0; i < 3; i++)
		f_madvise(r, 10, 1, 64 * KiB, 4, 0);
	f_madvise(r, 10, 1, 64 * KiB, 4, -22);
	/* debug.FreeOSMemory: 1 MiB MADV_FREE; MADV_NOHUGEPAGE does not release */
	f_madvise(r, 10, 2, 1024 * KiB, 8, 0);
	f_madvise(r, 10, 2, 2048 * KiB, 15, 0);
	f_madvise(r, 10, 3, 8 * KiB, 4, 0);   /* heap growth */
	f_munmap(r, 10, 4, 32 * KiB);	      /* stack freeing */
	f_madvise(r, 10, 5, 4 * KiB, 9, 0);   /* MADV_REMOVE from runtime.madvise alone */
	f_remap(r, 10, 6, 16 * KiB);	      /* the Go program itself */
	f_remap(r, 10, 6, 0);		      /* a remap that released nothing */
	f_munmap(r, 10, 7, 12 * KiB);	      /* libc, called from main */
	f_madvise(r, 10, 99, 20 * KiB, 4, 0); /* its stack never comes */
	f_madvise(r, 10, 0, 40 * KiB, 4, 0);  /* recorded without a stack */
	f_task(r, 10, MT_TASK_FORK, 11);
	f_madvise(r, 11, 1, 64 * KiB, 4, 0); /* the child runs the same program */
	/* the parent becomes a C program that is gone from disk */
	f_task(r, 10, MT_TASK_EXEC, 10);
	f_info(r, 10, "exe=/nonexistent/c-program");
	f_info(r, 10, "binary=not Go, dynamic PIE");
	f_munmap(r, 10, 7, 4 * KiB);
	/* a process the trace says nothing about */
	f_madvise(r, 12, 1, 4 * KiB, 8, 0);
	{
		/* return addresses point after their call; frame 0 is where the call is */
		const uint64_t scav[] = {madv + 0x17, unused + 0x2e, bgscav + 0x30, 0};
		const uint64_t fos[] = {madv + 0x17, unused + 0x2e, freeos + 0x12, release + 0x40,
					mainf + 0x30};
		const uint64_t grow[] = {madv + 0x17, unused + 0x2e, alloc + 0x100, mainf + 0x30};
		const uint64_t stk[] = {madv + 0x17, stackfree + 0x80, bgscav + 0x30};
		const uint64_t rt[] = {madv + 0x17, unused + 0x2e};
		/* a return address at a function's start belongs to the one before it */
		const uint64_t prog[] = {release + 0x20, mainf};
		const uint64_t libc[] = {0x7f00000e5b2b, mainf + 0x30};

		f_stack(r, 1, scav, 3);
		f_stack(r, 2, fos, 5);
		f_stack(r, 3, grow, 4);
		f_stack(r, 4, stk, 3);
		f_stack(r, 5, rt, 2);
		f_stack(r, 6, prog, 2);
		f_stack(r, 7, libc, 2);
		f_stack(r, 1, libc, 2); /* a second record for id 1 changes nothing */
	}
	w.f = open_memstream(&w.buf, &w.len);
	assert_int_equal(mt_releasers__resolve(r, w.f), 0);
	assert_int_equal(mt_releasers__resolve(r, w.f), 0); /* idempotent */
	fclose(w.f);
	/* one line per program without symbols, one for the missing stack */
	assert_int_equal(count_lines(w.buf, "madvtrace: warning: "), 3);
	assert_non_null(strstr(w.buf, "/nonexistent/c-program"));
	assert_non_null(strstr(w.buf, "pid 12"));

	s = mt_releasers__summary(r);
	assert_int_equal(s->by[MT_WHO_SCAVENGER][MT_RC_DONTNEED].calls, 4);
	assert_int_equal(s->by[MT_WHO_SCAVENGER][MT_RC_DONTNEED].bytes, 4 * 64 * KiB);
	assert_int_equal(s->by[MT_WHO_FREE_OS_MEMORY][MT_RC_FREE].bytes, 1024 * KiB);
	assert_int_equal(s->by[MT_WHO_FREE_OS_MEMORY][MT_RC_FREE].calls, 1);
	assert_int_equal(s->by[MT_WHO_HEAP_GROWTH][MT_RC_DONTNEED].bytes, 8 * KiB);
	assert_int_equal(s->by[MT_WHO_STACK_SPAN][MT_RC_MUNMAP].bytes, 32 * KiB);
	assert_int_equal(s->by[MT_WHO_GO_RUNTIME][MT_RC_REMOVE].bytes, 4 * KiB);
	assert_int_equal(s->by[MT_WHO_GO_PROGRAM][MT_RC_PROT_NONE].bytes, 16 * KiB);
	assert_int_equal(s->by[MT_WHO_GO_PROGRAM][MT_RC_PROT_NONE].calls, 1);
	/* libc from the Go program, and from the C program without its symbols */
	assert_int_equal(s->by[MT_WHO_NON_GO][MT_RC_MUNMAP].bytes, 16 * KiB);
	assert_int_equal(s->by[MT_WHO_NON_GO][MT_RC_MUNMAP].calls, 2);
	/* the missing stack, and pid 12 */
	assert_int_equal(s->by[MT_WHO_UNKNOWN][MT_RC_DONTNEED].bytes, 20 * KiB);
	assert_int_equal(s->by[MT_WHO_UNKNOWN][MT_RC_FREE].bytes, 4 * KiB);
	assert_int_equal(s->by[MT_WHO_NO_STACK][MT_RC_DONTNEED].bytes, 40 * KiB);
	assert_int_equal(s->calls_without_stack, 1);
	assert_int_equal(s->calls_with_stack, 13);
	assert_int_equal(s->missing_stacks, 1);
	assert_int_equal(s->stack_records, 8);
	/* entries: stacks 1-7 and 99 of the Go program, 7 of the C program, 1 of pid 12 */
	assert_int_equal(s->stacks, 10);
	assert_int_equal(count_stacks(r), 10);
	assert_int_equal(s->programs, 3);
	assert_int_equal(s->unsymbolized, 2);

	/* the biggest first; frames named as nm names them */
	n = mt_releasers__top(r, top, 8);
	assert_int_equal(n, 8);
	assert_int_equal(top[0].who, MT_WHO_FREE_OS_MEMORY);
	assert_int_equal(top[0].stack_id, 2);
	assert_int_equal(top[0].decisive, 2);
	assert_int_equal(top[0].nframes, 5);
	assert_string_equal(mt_releasers__frame(r, &top[0], 0, NULL), "runtime.madvise");
	assert_string_equal(mt_releasers__frame(r, &top[0], 2, NULL), "runtime/debug.FreeOSMemory");
	{
		uint64_t off = 0;

		assert_string_equal(mt_releasers__frame(r, &top[0], 1, &off), "runtime.sysUnused");
		assert_int_equal(off, 0x2e);
	}
	assert_int_equal(top[1].who, MT_WHO_SCAVENGER);
	assert_int_equal(top[1].by[MT_RC_DONTNEED].calls, 4); /* the forked child's too */
	assert_int_equal(top[1].decisive, 2);
	for (size_t i = 0; i < n; i++) {
		if (top[i].stack_id != 6)
			continue;
		below = nm_before(nm, mainf);
		assert_non_null(below);
		assert_string_equal(mt_releasers__frame(r, &top[i], 1, NULL), below);
		assert_int_equal(top[i].who, MT_WHO_GO_PROGRAM);
		free(below);
	}
	for (size_t i = 0; mt_releasers__stack_at(r, i, &st); i++) {
		if (st.stack_id == 99) {
			assert_int_equal(st.nframes, 0);
			assert_int_equal(st.who, MT_WHO_UNKNOWN);
			assert_null(mt_releasers__frame(r, &st, 0, NULL));
		}
		if (st.stack_id == 5)
			assert_int_equal(st.decisive, -1);
	}
	{
		uint32_t pid;
		const char *exe, *src, *e;

		assert_true(mt_releasers__program(r, 0, &pid, &exe, &src, &e));
		assert_int_equal(pid, 10);
		assert_string_equal(exe, bin);
		assert_non_null(strstr(src, "gopclntab"));
		assert_null(e);
	}
	mt_releasers__free(r);
	mt_goinfo__free(g);
	free(w.buf);
	free(nm);
}

static void test_go_static(void **state)
{
	(void)state;
	check_go("static");
}

/* A stripped build (-ldflags=-s -w) names the same runtime functions from .gopclntab. */
static void test_go_stripped(void **state)
{
	(void)state;
	check_go("stripped");
}

/*
 * The link-time start of a function of a PIE, by the symbolizer at an
 * unrelocated base (0): what it names was checked against `go tool
 * addr2line` by test_symbolize; here only the load bases are under test.
 */
static uint64_t link_addr(const struct mt_symbolizer *s, const char *name)
{
	uint64_t off;

	/* Go aligns functions to 32 bytes on amd64 */
	for (uint64_t a = 0; a < 256ull << 20; a += 32) {
		const char *n = mt_symbolizer__name(s, a, &off);

		if (n && !off && !strcmp(n, name))
			return a;
	}
	fail_msg("%s not found", name);
	return 0;
}

/*
 * Processes of one PIE, each loaded elsewhere, share one symbolizer: their
 * addresses are moved by the difference of their load bases. A process
 * whose base was not recorded has unrelocated addresses: a program apart.
 */
static void test_pie_shared(void **state)
{
	const char *bin = binfo("pie_stripped");
	static const uint64_t base[2] = {0x555500000000ull, 0x7f1200000000ull};
	struct mt_releasers *r;
	struct mt_symbolizer *sym;
	struct mt_goinfo *g;
	const struct mt_rel_summary *s;
	struct mt_rel_stack top[4];
	uint64_t madv, bgscav, freeos, lb;
	char kv[600], err[256];

	(void)state;
	if (!bin || !MT_TEST_READELF[0])
		skip();
	/* a process maps the first PT_LOAD (file offset 0) at its load base */
	{
		char cmd[1024], *out, *load;
		unsigned long long off, vaddr;
		int st;

		snprintf(cmd, sizeof(cmd), "'%s' -lW '%s'", MT_TEST_READELF, bin);
		out = run(cmd, &st);
		load = strstr(out, "LOAD");
		assert_non_null(load);
		assert_int_equal(sscanf(load, "LOAD %llx %llx", &off, &vaddr), 2);
		assert_int_equal(off, 0);
		lb = vaddr & ~0xfffull;
		free(out);
	}
	{
		/* as the tool opens one: through a cache, which may go before the handle */
		struct mt_symcache *c = mt_symcache__new(0);

		assert_non_null(c);
		sym = mt_symcache__open(c, bin, 0, NULL, err, sizeof(err));
		mt_symcache__free(c);
	}
	assert_non_null(sym);
	madv = link_addr(sym, "runtime.madvise");
	bgscav = link_addr(sym, "runtime.bgscavenge");
	freeos = link_addr(sym, "runtime/debug.FreeOSMemory");
	g = mt_goinfo__open(bin, err, sizeof(err));
	assert_non_null(g);
	r = mt_releasers__new();
	for (uint32_t pid = 30; pid < 33; pid++) {
		snprintf(kv, sizeof(kv), "exe=%s", bin);
		f_info(r, pid, kv);
		if (pid < 32) {
			snprintf(kv, sizeof(kv), "exe_base=0x%llx",
				 (unsigned long long)base[pid - 30]);
			f_info(r, pid, kv);
		}
		snprintf(kv, sizeof(kv), "build_id=%s", mt_goinfo__build_id(g));
		f_info(r, pid, kv);
		f_info(r, pid, "go_version=go1.19.8");
	}
	f_madvise(r, 30, 1, 64 * KiB, 4, 0);
	f_madvise(r, 31, 2, 128 * KiB, 4, 0);
	f_madvise(r, 32, 3, 32 * KiB, 4, 0);
	{
		const uint64_t a[] = {base[0] - lb + madv + 0x17, base[0] - lb + bgscav + 0x30};
		const uint64_t b[] = {base[1] - lb + madv + 0x17, base[1] - lb + freeos + 0x12};
		const uint64_t c[] = {madv + 0x17, bgscav + 0x30};

		f_stack(r, 1, a, 2);
		f_stack(r, 2, b, 2);
		f_stack(r, 3, c, 2);
	}
	assert_int_equal(mt_releasers__resolve(r, NULL), 0);
	s = mt_releasers__summary(r);
	assert_int_equal(s->programs, 2);
	assert_int_equal(s->unsymbolized, 0);
	assert_int_equal(s->by[MT_WHO_SCAVENGER][MT_RC_DONTNEED].bytes, 96 * KiB);
	assert_int_equal(s->by[MT_WHO_FREE_OS_MEMORY][MT_RC_DONTNEED].bytes, 128 * KiB);
	assert_int_equal(mt_releasers__top(r, top, 4), 3);
	for (int i = 0; i < 3; i++)
		assert_string_equal(mt_releasers__frame(r, &top[i], 0, NULL), "runtime.madvise");
	mt_releasers__free(r);
	mt_goinfo__free(g);
	mt_symbolizer__free(sym);
}

/* A binary that changed since recording is not used (the build id guard). */
static void test_changed_binary(void **state)
{
	const char *bin = binfo("static");
	struct mt_releasers *r;
	const struct mt_rel_summary *s;
	const uint64_t ips[] = {0x401000};
	char kv[600], *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	if (!bin)
		skip();
	r = mt_releasers__new();
	snprintf(kv, sizeof(kv), "exe=%s", bin);
	f_info(r, 20, kv);
	f_info(r, 20, "build_id=go:not/the/same");
	f_info(r, 20, "go_version=go1.19.8");
	f_madvise(r, 20, 1, 4 * KiB, 4, 0);
	f_stack(r, 1, ips, 1);
	f = open_memstream(&buf, &len);
	assert_int_equal(mt_releasers__resolve(r, f), 0);
	fclose(f);
	assert_int_equal(count_lines(buf, "madvtrace: warning: "), 1);
	assert_non_null(strstr(buf, "changed"));
	s = mt_releasers__summary(r);
	assert_int_equal(s->by[MT_WHO_UNKNOWN][MT_RC_DONTNEED].calls, 1);
	assert_int_equal(s->unsymbolized, 1);
	mt_releasers__free(r);
	free(buf);
}

/* Damaged records neither crash nor count: a stack longer than its record, odd info. */
static void test_garbage(void **state)
{
	struct mt_releasers *r = mt_releasers__new();
	union {
		struct mt_stack s;
		uint8_t b[sizeof(struct mt_stack) + 16];
	} u = {0};
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	mt_record_init(&u.s.h, MT_STACK, sizeof(u.s) + 8, 0, 0, 1);
	u.s.id = 5;
	u.s.nr = 1000; /* more frames than the record holds: only one is read */
	u.s.ips[0] = 0x1234;
	assert_int_equal(mt_releasers__feed(r, &u.s.h, 0), 0);
	u.s.id = 0; /* id 0 is "no stack" */
	assert_int_equal(mt_releasers__feed(r, &u.s.h, 0), 0);
	f_info(r, 1, "exe=");
	f_info(r, 1, "exe_base=zzz");
	f_info(r, 1, "=");
	for (int i = 0; i < 2000; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		f_madvise(r, (uint32_t)(x % 7), (uint32_t)(x >> 40) % 9, x % 100000, (int)(x % 30),
			  0);
		if (x % 5 == 0)
			f_task(r, (uint32_t)(x % 7), (uint32_t)(x >> 8) % 9,
			       (uint32_t)(x >> 16) % 7);
	}
	assert_int_equal(mt_releasers__resolve(r, NULL), 0);
	assert_int_equal(mt_releasers__summary(r)->stack_records, 2);
	mt_releasers__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_go_static),  cmocka_unit_test(test_go_stripped),
	    cmocka_unit_test(test_pie_shared), cmocka_unit_test(test_changed_binary),
	    cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
