// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * unwind: the unwinder's memory callback over a copied stack and read-only
 * file mappings, and the address spaces built from MT_MAPPING records
 * (superseded ranges, fork, a file gone before the report). The
 * bytes are the test's own, written to a file it creates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "records.h"
#include "releasers.h"
#include "unwind.h"

#define PID 77
#define SP 0x7ffd00001000ull

struct us_buf {
	struct mt_ustack us;
	uint8_t data[256];
};

/* A stack copy of len bytes (word i holds 0x1000 + i), in a record holding room bytes. */
static void make_stack(struct us_buf *b, uint32_t len, uint32_t room)
{
	memset(b, 0, sizeof(*b));
	mt_record_init(&b->us, MT_USTACK, (uint16_t)(sizeof(b->us) + room), PID, PID, 5);
	b->us.sp = SP;
	b->us.len = len;
	for (uint32_t i = 0; i < sizeof(b->data) / 8; i++) {
		uint64_t v = 0x1000 + i;

		memcpy(b->data + 8 * i, &v, 8);
	}
}

static void feed_map_at(struct mt_uw *u, uint32_t pid, uint64_t start, uint64_t end,
			uint64_t off, uint32_t prot, const char *path, uint64_t t_ns)
{
	union {
		struct mt_mapping m;
		char b[sizeof(struct mt_mapping) + 256];
	} x;

	memset(&x, 0, sizeof(x));
	mt_record_init(&x.m, MT_MAPPING, (uint16_t)(sizeof(x.m) + strlen(path) + 1), pid, pid,
		       t_ns);
	x.m.start = start;
	x.m.end = end;
	x.m.off = off;
	x.m.prot = prot;
	strcpy(x.m.path, path);
	assert_int_equal(mt_uw__mapping(u, &x.m), 0);
}

static void feed_map(struct mt_uw *u, uint32_t pid, uint64_t start, uint64_t end, uint64_t off,
		     uint32_t prot, const char *path)
{
	feed_map_at(u, pid, start, end, off, prot, path, 1);
}

static void test_copy_bounds(void **state)
{
	struct mt_uw *u = mt_uw__new(NULL);
	struct us_buf b;
	uint64_t v;

	(void)state;
	make_stack(&b, 64, 64);
	assert_true(mt_uw__read_word(u, PID, &b.us, SP, &v));
	assert_int_equal(v, 0x1000);
	assert_true(mt_uw__read_word(u, PID, &b.us, SP + 56, &v));
	assert_int_equal(v, 0x1007);
	/* straddling the end of the copy, past it, below sp */
	assert_false(mt_uw__read_word(u, PID, &b.us, SP + 60, &v));
	assert_false(mt_uw__read_word(u, PID, &b.us, SP + 64, &v));
	assert_false(mt_uw__read_word(u, PID, &b.us, SP - 8, &v));
	assert_false(mt_uw__read_word(u, PID, &b.us, SP - 4, &v));
	/* wrapping around the address space */
	assert_false(mt_uw__read_word(u, PID, &b.us, UINT64_MAX - 3, &v));
	mt_uw__free(u);
}

static void test_truncated_record(void **state)
{
	struct mt_uw *u = mt_uw__new(NULL);
	struct us_buf b;
	uint64_t v;

	(void)state;
	/* len says 128 bytes, the record holds 32: only those are read */
	make_stack(&b, 128, 32);
	assert_true(mt_uw__read_word(u, PID, &b.us, SP + 24, &v));
	assert_int_equal(v, 0x1003);
	assert_false(mt_uw__read_word(u, PID, &b.us, SP + 32, &v));
	assert_false(mt_uw__read_word(u, PID, &b.us, SP + 120, &v));
	/* an empty copy */
	make_stack(&b, 0, 0);
	assert_false(mt_uw__read_word(u, PID, &b.us, SP, &v));
	mt_uw__free(u);
}

/* An ELF file whose bytes the test reads itself: its own program, its path and first words. */
static void own_program(char path[4096], uint64_t words[64])
{
	ssize_t n = readlink("/proc/self/exe", path, 4095);
	FILE *f;

	assert_true(n > 0);
	path[n] = '\0';
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fread(words, 8, 64, f), 64);
	fclose(f);
}

static void test_file_mapping(void **state)
{
	struct mt_uw *u = mt_uw__new(NULL);
	uint64_t words[64], v;
	char path[4096];
	struct us_buf b;

	(void)state;
	own_program(path, words);
	make_stack(&b, 64, 64);
	/* read-only at 0x10000, file offset 256 (word 32); a writable copy at 0x20000 */
	feed_map(u, PID, 0x10000, 0x11000, 256, PROT_READ, path);
	feed_map(u, PID, 0x20000, 0x21000, 0, PROT_READ | PROT_WRITE, path);
	assert_true(mt_uw__read_word(u, PID, &b.us, 0x10008, &v));
	assert_int_equal(v, words[33]);
	/* a writable mapping's contents are not the file's any more */
	assert_false(mt_uw__read_word(u, PID, &b.us, 0x20000, &v));
	/* straddling the mapping's end */
	assert_false(mt_uw__read_word(u, PID, &b.us, 0x11000 - 4, &v));
	/* another process has none of it */
	assert_false(mt_uw__read_word(u, PID + 1, &b.us, 0x10008, &v));
	mt_uw__free(u);
}

/*
 * An exec drops the old program's mappings by the time they were read, in
 * whatever order the records come: a library both programs map, at two
 * places, was unwound through the old program's copy (one module per file).
 */
static void test_exec(void **state)
{
	struct mt_uw *u = mt_uw__new(NULL);
	uint64_t words[64], v;
	char path[4096];
	struct us_buf b;

	(void)state;
	own_program(path, words);
	make_stack(&b, 64, 64);
	/* the old program's, read at 10; the new one's, read at 30 and fed before the exec (20) */
	feed_map_at(u, PID, 0x10000, 0x11000, 256, PROT_READ, path, 10);
	feed_map_at(u, PID, 0x30000, 0x31000, 256, PROT_READ, path, 30);
	assert_true(mt_uw__read_word(u, PID, &b.us, 0x10008, &v));
	assert_int_equal(mt_uw__exec(u, PID, 20), 0);
	assert_false(mt_uw__read_word(u, PID, &b.us, 0x10008, &v));
	assert_true(mt_uw__read_word(u, PID, &b.us, 0x30008, &v));
	assert_int_equal(v, words[33]);
	/* read before the exec, come after its record: the old program's, ignored */
	feed_map_at(u, PID, 0x40000, 0x41000, 256, PROT_READ, path, 15);
	assert_false(mt_uw__read_word(u, PID, &b.us, 0x40008, &v));
	feed_map_at(u, PID, 0x50000, 0x51000, 256, PROT_READ, path, 25);
	assert_true(mt_uw__read_word(u, PID, &b.us, 0x50008, &v));
	/* another process's exec changes nothing here */
	feed_map_at(u, PID + 1, 0x10000, 0x11000, 256, PROT_READ, path, 10);
	assert_int_equal(mt_uw__exec(u, PID, 40), 0);
	assert_true(mt_uw__read_word(u, PID + 1, &b.us, 0x10008, &v));
	mt_uw__free(u);
}

static void test_mapping_gone(void **state)
{
	struct mt_uw *u = mt_uw__new(NULL);
	struct mt_uframe f[8];
	struct mt_usym sy[4];
	struct mt_uw_file fi;
	struct us_buf b;
	int n;

	(void)state;
	/* the library was mapped while recording, and is gone when reporting */
	feed_map(u, PID, 0x7f0000000000ull, 0x7f0000010000ull, 0x2000, PROT_READ | PROT_EXEC,
		 "/nonexistent/libgone.so.1");
	make_stack(&b, 64, 64);
	b.us.regs[MT_UREG_RIP] = 0x7f0000000123ull;
	b.us.regs[MT_UREG_RSP] = SP;
	b.us.regs[MT_UREG_RBP] = 0; /* no frame pointer chain either */
	n = mt_uw__unwind(u, &b.us, f, 8);
	assert_int_equal(n, 1);
	assert_int_equal(f[0].pc, 0x7f0000000123ull);
	assert_int_equal(f[0].rel, 0x2123);
	assert_int_not_equal(f[0].file, MT_UW_NOFILE);
	assert_int_equal(mt_uw__symbolize(u, &f[0], sy, 4), 0);
	assert_true(mt_uw__file(u, f[0].file, &fi));
	assert_string_equal(fi.path, "/nonexistent/libgone.so.1");
	assert_int_equal(fi.state, MT_UWF_UNOPENED);
	assert_non_null(strstr(fi.reason, "cannot open"));
	/* a pc in no mapping at all */
	b.us.regs[MT_UREG_RIP] = 0x1234;
	n = mt_uw__unwind(u, &b.us, f, 8);
	assert_int_equal(n, 1);
	assert_int_equal(f[0].file, MT_UW_NOFILE);
	mt_uw__free(u);
}

/* Only a regular file named by a trace is opened: a FIFO would block, a device is not read. */
static void test_not_regular(void **state)
{
	char dir[] = "/tmp/mt-unwind-XXXXXX", fifo[64];
	const char *paths[2] = {fifo, "/dev/zero"};
	struct mt_uw *u = mt_uw__new(NULL);
	struct mt_uframe f[2];
	struct mt_uw_file fi;
	struct us_buf b;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	for (int i = 0; i < 2; i++) {
		feed_map(u, PID, 0x10000, 0x20000, 0, PROT_READ | PROT_EXEC, paths[i]);
		make_stack(&b, 64, 64);
		b.us.regs[MT_UREG_RIP] = 0x10010;
		assert_int_equal(mt_uw__unwind(u, &b.us, f, 2), 1);
		assert_true(mt_uw__file(u, f[0].file, &fi));
		assert_string_equal(fi.path, paths[i]);
		assert_int_equal(fi.state, MT_UWF_UNOPENED);
		assert_non_null(strstr(fi.reason, "not a regular file"));
	}
	unlink(fifo);
	rmdir(dir);
	mt_uw__free(u);
}

/*
 * A trace that names what it likes costs bounded time and memory: 30,000
 * mappings of one process, last first (each one before all the others),
 * and 100,000 files of distinct names.
 */
static void test_hostile_counts(void **state)
{
	struct mt_uw *u = mt_uw__new(NULL);
	struct timespec a, b;
	char path[64];
	double secs;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (uint64_t i = 30000; i > 0; i--)
		feed_map(u, PID, i << 12, (i << 12) + 4096, 0, PROT_READ | PROT_EXEC,
			 "/nonexistent/same");
	for (uint64_t i = 0; i < 100000; i++) {
		snprintf(path, sizeof(path), "/nonexistent/f%llu", (unsigned long long)i);
		feed_map(u, PID + 1 + (uint32_t)(i % 64), 0x10000, 0x11000, 0, PROT_READ, path);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	assert_true(secs < 5.0);
	mt_uw__free(u);
}

/* The frame-pointer chain through the copy, where no file has CFI for the pc. */
static void test_fp_chain(void **state)
{
	struct mt_uw *u = mt_uw__new(NULL);
	struct mt_uframe f[8];
	struct us_buf b;
	uint64_t w[6] = {
	    SP + 16, 0x5000, /* frame 1: saved rbp -> next record, return address */
	    SP + 32, 0x6000, /* frame 2 */
	    0,	     0,	     /* the end */
	};
	int n;

	(void)state;
	make_stack(&b, 64, 64);
	memcpy(b.us.data, w, sizeof(w));
	b.us.regs[MT_UREG_RIP] = 0x4000;
	b.us.regs[MT_UREG_RSP] = SP;
	b.us.regs[MT_UREG_RBP] = SP;
	n = mt_uw__unwind(u, &b.us, f, 8);
	assert_int_equal(n, 3);
	assert_int_equal(f[0].pc, 0x4000);
	assert_false(f[0].caller);
	assert_int_equal(f[1].pc, 0x5000);
	assert_true(f[1].caller);
	assert_int_equal(f[2].pc, 0x6000);
	/* a chain pointing out of the copy stops there */
	w[2] = SP + 4096;
	memcpy(b.us.data, w, sizeof(w));
	n = mt_uw__unwind(u, &b.us, f, 8);
	assert_int_equal(n, 3);
	w[0] = SP + 4096;
	memcpy(b.us.data, w, sizeof(w));
	n = mt_uw__unwind(u, &b.us, f, 8);
	assert_int_equal(n, 2);
	mt_uw__free(u);
}

static void test_supersede_fork(void **state)
{
	struct mt_uw *u = mt_uw__new(NULL);
	struct mt_uframe f[2];
	struct mt_uw_file fi;
	struct us_buf b;

	(void)state;
	feed_map(u, PID, 0x10000, 0x20000, 0, PROT_READ | PROT_EXEC, "/nonexistent/a");
	/* b over the middle of a: a keeps its two ends, at their offsets */
	feed_map(u, PID, 0x14000, 0x18000, 0x1000, PROT_READ | PROT_EXEC, "/nonexistent/b");
	make_stack(&b, 64, 64);
	b.us.regs[MT_UREG_RIP] = 0x15000;
	assert_int_equal(mt_uw__unwind(u, &b.us, f, 1), 1);
	assert_true(mt_uw__file(u, f[0].file, &fi));
	assert_string_equal(fi.path, "/nonexistent/b");
	assert_int_equal(f[0].rel, 0x2000);
	b.us.regs[MT_UREG_RIP] = 0x19000;
	assert_int_equal(mt_uw__unwind(u, &b.us, f, 1), 1);
	assert_true(mt_uw__file(u, f[0].file, &fi));
	assert_string_equal(fi.path, "/nonexistent/a");
	assert_int_equal(f[0].rel, 0x9000);
	/* the child has its parent's mappings; what it maps then is its own */
	assert_int_equal(mt_uw__fork(u, PID, PID + 1), 0);
	b.us.h.pid = b.us.h.tid = PID + 1;
	assert_int_equal(mt_uw__unwind(u, &b.us, f, 1), 1);
	assert_int_equal(f[0].rel, 0x9000);
	feed_map(u, PID + 1, 0x18000, 0x1a000, 0, PROT_READ | PROT_EXEC, "/nonexistent/c");
	assert_int_equal(mt_uw__unwind(u, &b.us, f, 1), 1);
	assert_true(mt_uw__file(u, f[0].file, &fi));
	assert_string_equal(fi.path, "/nonexistent/c");
	assert_int_equal(f[0].rel, 0x1000);
	/* the parent keeps its own */
	b.us.h.pid = b.us.h.tid = PID;
	assert_int_equal(mt_uw__unwind(u, &b.us, f, 1), 1);
	assert_int_not_equal(f[0].file, MT_UW_NOFILE);
	mt_uw__free(u);
}

static void feed_madvise(struct mt_releasers *r, uint32_t tid, uint64_t t, uint16_t flags)
{
	struct mt_madvise m;

	mt_record_init(&m.h, MT_MADVISE, sizeof(m), PID, tid, t);
	m.h.flags = flags;
	m.addr = 0x100000;
	m.len = 4096;
	m.ret = 0;
	m.advice = MADV_DONTNEED;
	m.target_pid = PID;
	assert_int_equal(mt_releasers__feed(r, &m.h, 0), 0);
}

/* A call and its stack paired by pid, tid and t_ns, whatever comes between them. */
static void test_pairing(void **state)
{
	struct mt_releasers *r = mt_releasers__new();
	const struct mt_rel_summary *s;
	struct mt_rel_stack st;
	struct us_buf b;

	(void)state;
	feed_madvise(r, PID, 10, MT_F_USTACK);
	feed_madvise(r, PID + 1, 10, MT_F_USTACK); /* another thread, the same instant */
	feed_madvise(r, PID, 11, MT_F_USTACK);	    /* its stack never comes */
	feed_madvise(r, PID, 12, 0);		    /* no stack at all */
	make_stack(&b, 64, 64);
	b.us.h.t_ns = 10;
	b.us.h.tid = PID + 1;
	b.us.regs[MT_UREG_RIP] = 0x4000;
	assert_int_equal(mt_releasers__feed(r, &b.us.h, 0), 0);
	b.us.h.tid = PID;
	assert_int_equal(mt_releasers__feed(r, &b.us.h, 0), 0);
	/* a stack nobody announced, and a repeat: nothing to pair */
	b.us.h.t_ns = 99;
	assert_int_equal(mt_releasers__feed(r, &b.us.h, 0), 0);
	assert_int_equal(mt_releasers__resolve(r, NULL), 0);
	s = mt_releasers__summary(r);
	assert_int_equal(s->unwound_calls, 2);
	assert_int_equal(s->unwound_stacks, 1); /* the same frames twice */
	assert_int_equal(s->unpaired_calls, 1);
	assert_int_equal(s->calls_without_stack, 2);
	assert_int_equal(s->calls_with_stack, 2);
	assert_true(mt_releasers__stack_at(r, 0, &st));
	assert_true(st.unwound);
	assert_int_equal(st.by[MT_RC_DONTNEED].calls, 2);
	assert_int_equal(st.nframes, 1);
	mt_releasers__free(r);
}

/* Mapping records that come after the stack they explain (the recorder reads them late). */
static void test_mapping_after_stack(void **state)
{
	struct mt_releasers *r = mt_releasers__new();
	struct mt_rel_stack st;
	struct mt_rel_frame f;
	struct us_buf b;
	union {
		struct mt_mapping m;
		char b[sizeof(struct mt_mapping) + 64];
	} x;

	(void)state;
	feed_madvise(r, PID, 10, MT_F_USTACK);
	make_stack(&b, 64, 64);
	b.us.h.t_ns = 10;
	b.us.regs[MT_UREG_RIP] = 0x15123;
	assert_int_equal(mt_releasers__feed(r, &b.us.h, 0), 0);
	memset(&x, 0, sizeof(x));
	mt_record_init(&x.m, MT_MAPPING, sizeof(x), PID, PID, 11);
	x.m.start = 0x10000;
	x.m.end = 0x20000;
	x.m.off = 0x3000;
	x.m.prot = PROT_READ | PROT_EXEC;
	strcpy(x.m.path, "/nonexistent/late.so");
	assert_int_equal(mt_releasers__feed(r, &x.m.h, 0), 0);
	assert_int_equal(mt_releasers__resolve(r, NULL), 0);
	assert_true(mt_releasers__stack_at(r, 0, &st));
	assert_true(mt_releasers__frame_at(r, &st, 0, &f));
	assert_string_equal(f.file, "/nonexistent/late.so");
	assert_int_equal(f.file_offset, 0x8123);
	assert_null(f.function);
	mt_releasers__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_copy_bounds),
	    cmocka_unit_test(test_truncated_record),
	    cmocka_unit_test(test_file_mapping),
	    cmocka_unit_test(test_mapping_gone),
	    cmocka_unit_test(test_fp_chain),
	    cmocka_unit_test(test_supersede_fork),
	    cmocka_unit_test(test_exec),
	    cmocka_unit_test(test_not_regular),
	    cmocka_unit_test(test_hostile_counts),
	    cmocka_unit_test(test_pairing),
	    cmocka_unit_test(test_mapping_after_stack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
