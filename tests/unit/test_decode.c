// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Names and renderings. The expected strings are worked out by hand from the
 * kernel's uapi values (include/uapi/asm-generic/mman-common.h, errno.h) and
 * docs/dump-format.md, not produced by the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include "dump.h"
#include "fmt.h"
#include "xlat.h"
#include "madvtrace/advice.h"

#define ADDR 0x7f3a1c000000ull /* 139887554592768 */
#define T_NS 1000000123ull
#define HDR_JSON "\"t_ns\":1000000123,\"pid\":1234,\"tid\":1240"

static void hdr(void *rec, uint16_t type, uint16_t size)
{
	struct mt_hdr *h = rec;

	memset(rec, 0, size);
	h->type = type;
	h->size = size;
	h->t_ns = T_NS;
	h->pid = 1234;
	h->tid = 1240;
}

/* Render rec as JSON / text into a static buffer. */
static const char *json(const void *rec)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	int n;

	assert_non_null(f);
	n = mt_record_json(f, rec);
	assert_true(n > 0);
	fclose(f);
	assert_int_equal(strlen(buf), n);
	return buf;
}

static const char *text_at(const void *rec, int64_t off)
{
	static char buf[4096];
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	int n;

	assert_non_null(f);
	n = mt_record_text(f, rec, off);
	assert_true(n > 0);
	fclose(f);
	assert_int_equal(strlen(buf), n);
	return buf;
}

static const char *text(const void *rec)
{
	return text_at(rec, 0);
}

static void test_type_table(void **state)
{
	/* sizes of the on-disk records: fixed by include/madvtrace.h's layout */
	static const struct {
		uint16_t type;
		const char *name;
		uint16_t size;
	} want[] = {
		{ 1, "mmap", 80 }, { 2, "munmap", 56 }, { 3, "mremap", 80 },
		{ 4, "madvise", 64 }, { 5, "brk", 48 },	 { 6, "mprotect", 64 },
		{ 7, "rss", 88 },  { 8, "task", 64 },	 { 9, "lost", 48 },
		{ 10, "stack", 40 }, { 11, "info", 32 }, { 12, "gostat", 112 },
		{ 13, "resident", 96 },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct mt_type_info *ti = mt_type_info(want[i].type);

		assert_non_null(ti);
		assert_int_equal(ti->type, want[i].type);
		assert_string_equal(ti->name, want[i].name);
		assert_int_equal(ti->size, want[i].size);
		/* one name, one type */
		for (uint16_t t = 1; t < want[i].type; t++)
			if (mt_type_info(t))
				assert_string_not_equal(mt_type_info(t)->name, want[i].name);
	}
	assert_null(mt_type_info(0));
	assert_null(mt_type_info(MT_TYPE_MAX));
	assert_null(mt_type_info(0xffff));
}

static const struct {
	int v;
	const char *name;
} advices[] = {
	{ 0, "MADV_NORMAL" },
	{ 1, "MADV_RANDOM" },
	{ 2, "MADV_SEQUENTIAL" },
	{ 3, "MADV_WILLNEED" },
	{ 4, "MADV_DONTNEED" },
	{ 8, "MADV_FREE" },
	{ 9, "MADV_REMOVE" },
	{ 10, "MADV_DONTFORK" },
	{ 11, "MADV_DOFORK" },
	{ 12, "MADV_MERGEABLE" },
	{ 13, "MADV_UNMERGEABLE" },
	{ 14, "MADV_HUGEPAGE" },
	{ 15, "MADV_NOHUGEPAGE" },
	{ 16, "MADV_DONTDUMP" },
	{ 17, "MADV_DODUMP" },
	{ 18, "MADV_WIPEONFORK" },
	{ 19, "MADV_KEEPONFORK" },
	{ 20, "MADV_COLD" },
	{ 21, "MADV_PAGEOUT" },
	{ 22, "MADV_POPULATE_READ" },
	{ 23, "MADV_POPULATE_WRITE" },
	{ 24, "MADV_DONTNEED_LOCKED" },
	{ 25, "MADV_COLLAPSE" },
	{ 100, "MADV_HWPOISON" },
	{ 101, "MADV_SOFT_OFFLINE" },
	{ 102, "MADV_GUARD_INSTALL" },
	{ 103, "MADV_GUARD_REMOVE" },
};

static const char *want_advice(int v)
{
	for (size_t i = 0; i < sizeof(advices) / sizeof(advices[0]); i++)
		if (advices[i].v == v)
			return advices[i].name;
	return NULL;
}

static const struct {
	int advice;
	enum mt_advice_class cls;
} classes[] = {
	{ MT_MADV_FREE, MT_AC_LAZY },
	{ MT_MADV_DONTNEED, MT_AC_EAGER },
	{ MT_MADV_DONTNEED_LOCKED, MT_AC_EAGER },
	{ MT_MADV_REMOVE, MT_AC_REMOVE },
	{ MT_MADV_PAGEOUT, MT_AC_PAGEOUT },
	{ MT_MADV_GUARD_INSTALL, MT_AC_GUARD },
	{ MT_MADV_GUARD_REMOVE, MT_AC_HINT },
	{ MT_MADV_COLD, MT_AC_COLD },
	{ MT_MADV_HUGEPAGE, MT_AC_HUGEPAGE },
	{ MT_MADV_POPULATE_WRITE, MT_AC_POPULATE },
	{ MT_MADV_COLLAPSE, MT_AC_COLLAPSE },
	{ MT_MADV_HWPOISON, MT_AC_POISON },
};

static void test_advice(void **state)
{
	(void)state;
	for (int v = -5; v < 300; v++) {
		const char *want = want_advice(v);
		const char *got = mt_advice_name(v);
		bool rel = v == 4 || v == 8 || v == 9 || v == 21 || v == 24 || v == 102;

		if (want) {
			assert_non_null(got);
			assert_string_equal(got, want);
			/* one name, one value */
			for (int w = 0; w < v; w++)
				if (mt_advice_name(w))
					assert_string_not_equal(mt_advice_name(w), want);
		} else {
			assert_null(got);
		}
		/* the pages leave the program: released (lazily, eagerly, removed), paged out, zapped */
		assert_int_equal(mt_advice_class_releases(mt_advice_class(v)) ||
					 mt_advice_class(v) == MT_AC_PAGEOUT ||
					 mt_advice_class(v) == MT_AC_GUARD,
				 rel);
	}
	/* the class of each releasing advice, from the one table (advice.h) */
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		assert_int_equal(mt_advice_class(classes[i].advice), classes[i].cls);
	assert_int_equal(mt_advice_class(77), MT_AC_HINT); /* unknown: no page moves */
	assert_null(mt_advice_name(INT32_MIN));
	assert_null(mt_advice_name(INT32_MAX));
}

static void test_errno(void **state)
{
	(void)state;
	assert_string_equal(mt_errno_name(1), "EPERM");
	assert_string_equal(mt_errno_name(11), "EAGAIN");
	assert_string_equal(mt_errno_name(12), "ENOMEM");
	assert_string_equal(mt_errno_name(14), "EFAULT");
	assert_string_equal(mt_errno_name(22), "EINVAL");
	assert_string_equal(mt_errno_name(35), "EDEADLK");
	assert_string_equal(mt_errno_name(95), "EOPNOTSUPP");
	assert_string_equal(mt_errno_name(133), "EHWPOISON");
	assert_string_equal(mt_errno_name(512), "ERESTARTSYS");
	assert_string_equal(mt_errno_name(516), "ERESTART_RESTARTBLOCK");
	assert_null(mt_errno_name(0));
	assert_null(mt_errno_name(-12));
	assert_null(mt_errno_name(134));
	assert_null(mt_errno_name(511));
	assert_null(mt_errno_name(4095));
	/* every errno the C library knows has the same name here (a second oracle) */
	for (int e = 1; e < 134; e++) {
		const char *libc = strerrorname_np(e);

		if (!libc || e == 41 || e == 58) /* 41, 58: unused numbers */
			continue;
		assert_non_null(mt_errno_name(e));
		assert_string_equal(mt_errno_name(e), libc);
	}
}

static void check_size(uint64_t v, const char *want)
{
	char buf[32];

	assert_string_equal(mt_size_str(buf, sizeof(buf), v), want);
}

static void test_sizes(void **state)
{
	char small[5];

	(void)state;
	check_size(0, "0 B");
	check_size(1, "1 B");
	check_size(4096, "4096 B");
	check_size(10239, "10239 B");
	check_size(10240, "10 KiB");
	check_size(65536, "64 KiB");
	check_size(65537, "64.0 KiB");
	check_size(100000, "97.7 KiB"); /* 97.656 */
	check_size(1048575, "1.0 MiB"); /* 1023.999 KiB rounds up a unit */
	check_size(1048576, "1 MiB");
	check_size(1572864, "1.5 MiB");
	check_size(3250585, "3.1 MiB");
	check_size(12587008, "12.0 MiB");
	check_size(1610612736ull, "1.5 GiB");
	check_size(1ull << 40, "1 TiB");
	check_size(1ull << 60, "1 EiB");
	check_size(UINT64_MAX, "16.0 EiB");
	/* truncation keeps the buffer terminated */
	assert_string_equal(mt_size_str(small, sizeof(small), 65536), "64 K");
}

static void check_prot(uint32_t v, const char *want)
{
	char buf[128];

	assert_string_equal(mt_prot_str(buf, sizeof(buf), v), want);
}

static void check_map(uint32_t v, const char *want)
{
	char buf[256];

	assert_string_equal(mt_mmap_flags_str(buf, sizeof(buf), v), want);
}

/* mremap's flags as the text line shows them (its fourth argument). */
static void check_mremap(uint32_t v, const char *want)
{
	struct mt_mremap r;
	const char *line, *p;

	hdr(&r, MT_MREMAP, sizeof(r));
	r.old_addr = ADDR;
	r.old_len = 65536;
	r.new_len = 131072;
	r.flags = v;
	line = text(&r);
	p = strstr(line, "mremap(0x7f3a1c000000, 64 KiB, 128 KiB, ");
	assert_non_null(p);
	p += strlen("mremap(0x7f3a1c000000, 64 KiB, 128 KiB, ");
	assert_int_equal(strcspn(p, ",)"), strlen(want));
	assert_memory_equal(p, want, strlen(want));
}

static void test_flags(void **state)
{
	char small[5];

	(void)state;
	check_prot(0, "PROT_NONE");
	check_prot(1, "PROT_READ");
	check_prot(3, "PROT_READ|PROT_WRITE");
	check_prot(7, "PROT_READ|PROT_WRITE|PROT_EXEC");
	check_prot(8, "PROT_SEM");
	check_prot(0x01000001, "PROT_READ|PROT_GROWSDOWN");
	check_prot(0x02000000, "PROT_GROWSUP");
	check_prot(0x10, "0x10");
	check_prot(0x11, "PROT_READ|0x10");
	assert_string_equal(mt_prot_str(small, sizeof(small), 3), "PROT");

	check_map(0x22, "MAP_PRIVATE|MAP_ANONYMOUS");
	check_map(0x01, "MAP_SHARED");
	check_map(0x03, "MAP_SHARED_VALIDATE");
	check_map(0x08, "MAP_DROPPABLE");
	check_map(0x00, "0");
	check_map(0x0f, "0xf");
	check_map(0x32, "MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS");
	check_map(0x42, "MAP_PRIVATE|MAP_32BIT");
	check_map(0x802, "MAP_PRIVATE|MAP_DENYWRITE");
	check_map(0x20122, "MAP_PRIVATE|MAP_ANONYMOUS|MAP_GROWSDOWN|MAP_STACK");
	check_map(0x100022, "MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE");
	check_map(0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x80000 | 0x01,
		  "MAP_SHARED|MAP_EXECUTABLE|MAP_LOCKED|MAP_NORESERVE|MAP_POPULATE|MAP_NONBLOCK|"
		  "MAP_SYNC");
	/* huge page size in bits 26..31: 21 = 2 MiB, 30 = 1 GiB, 16 = 64 KiB */
	check_map(0x40022 | (21u << 26), "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_2MB");
	check_map(0x40022 | (30u << 26), "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_1GB");
	check_map(0x40022 | (16u << 26), "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_64KB");
	check_map(0x40022, "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB");
	/* without MAP_HUGETLB, bit 26 is MAP_UNINITIALIZED */
	check_map(0x4000022, "MAP_PRIVATE|MAP_ANONYMOUS|MAP_UNINITIALIZED");
	check_map(0x80000002, "MAP_PRIVATE|0x80000000");

	check_mremap(0, "0");
	check_mremap(1, "MREMAP_MAYMOVE");
	check_mremap(3, "MREMAP_MAYMOVE|MREMAP_FIXED");
	check_mremap(5, "MREMAP_MAYMOVE|MREMAP_DONTUNMAP");
	check_mremap(8, "0x8");
}

/* The return value as the text line shows it: what follows ") = ". */
static const char *ret_of(const void *rec)
{
	const char *line = text(rec), *p = strstr(line, ") = ");

	assert_non_null(p);
	return p + 4;
}

static void test_ret_and_call(void **state)
{
	struct mt_mmap m;
	struct mt_munmap u;
	struct mt_brk b;
	struct mt_mremap r;
	struct mt_rss rss;
	struct mt_call c;

	(void)state;
	hdr(&m, MT_MMAP, sizeof(m));
	m.ret = (int64_t)ADDR;
	m.len = 4096;
	assert_string_equal(ret_of(&m), "0x7f3a1c000000");
	assert_true(mt_record_call(&m.h, &c));
	assert_int_equal(c.ret, (int64_t)ADDR);
	assert_int_equal(c.err, 0);
	assert_false(c.failed);
	assert_int_equal(c.bytes, 4096);
	m.ret = -12;
	assert_string_equal(ret_of(&m),
			    "-1 ENOMEM (Cannot allocate memory)");
	assert_true(mt_record_call(&m.h, &c));
	assert_int_equal(c.err, 12);
	assert_true(c.failed);

	hdr(&u, MT_MUNMAP, sizeof(u));
	u.ret = -22;
	assert_string_equal(ret_of(&u), "-1 EINVAL (Invalid argument)");
	u.ret = 0;
	assert_string_equal(ret_of(&u), "0");
	u.ret = -600;
	assert_string_equal(ret_of(&u), "-1 E#600 (Unknown error)");
	u.ret = -512;
	assert_string_equal(ret_of(&u),
			    "-1 ERESTARTSYS (To be restarted if SA_RESTART is set)");
	/* -4096 is not an errno value: Linux reserves -4095..-1 */
	u.ret = -4096;
	assert_string_equal(ret_of(&u), "-4096");

	hdr(&r, MT_MREMAP, sizeof(r));
	r.old_addr = ADDR;
	r.old_len = 65536;
	r.new_len = 131072;
	r.ret = (int64_t)ADDR;
	assert_true(mt_record_call(&r.h, &c));
	assert_int_equal(c.addr, ADDR);
	assert_int_equal(c.len, 65536);
	assert_int_equal(c.bytes, 131072);

	hdr(&b, MT_BRK, sizeof(b));
	b.ret = 0x555555559000;
	assert_string_equal(ret_of(&b), "0x555555559000");
	assert_true(mt_record_call(&b.h, &c));
	assert_false(c.failed);
	/* brk fails by returning the old break */
	b.addr = 0x555555600000;
	assert_true(mt_record_call(&b.h, &c));
	assert_true(c.failed);
	assert_int_equal(c.err, 0);

	hdr(&rss, MT_RSS, sizeof(rss));
	assert_false(mt_record_call(&rss.h, &c));
	assert_null(strstr(text(&rss), " = ")); /* not a call: no return value */
}

static void test_mmap(void **state)
{
	struct mt_mmap m;

	(void)state;
	hdr(&m, MT_MMAP, sizeof(m));
	m.len = 65536;
	m.ret = (int64_t)ADDR;
	m.prot = 3;
	m.flags = 0x22;
	m.fd = -1;
	assert_string_equal(json(&m),
			    "{\"type\":\"mmap\"," HDR_JSON ",\"addr\":0,\"len\":65536,"
			    "\"ret\":139887554592768,\"prot\":3,"
			    "\"prot_s\":\"PROT_READ|PROT_WRITE\","
			    "\"flags\":34,\"flags_s\":\"MAP_PRIVATE|MAP_ANONYMOUS\",\"fd\":-1,"
			    "\"off\":0}");
	assert_string_equal(text(&m), "1.000000 1234/1240 mmap(NULL, 64 KiB, PROT_READ|PROT_WRITE, "
				      "MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f3a1c000000");

	/* a file mapping at an offset */
	m.addr = 0x7f0000000000;
	m.len = 8192;
	m.ret = 0x7f0000000000;
	m.prot = 5;
	m.flags = 0x802;
	m.fd = 3;
	m.off = 0x1000;
	assert_string_equal(json(&m),
			    "{\"type\":\"mmap\"," HDR_JSON ",\"addr\":139637976727552,\"len\":8192,"
			    "\"ret\":139637976727552,\"prot\":5,\"prot_s\":\"PROT_READ|PROT_EXEC\","
			    "\"flags\":2050,\"flags_s\":\"MAP_PRIVATE|MAP_DENYWRITE\",\"fd\":3,"
			    "\"off\":4096}");
	assert_string_equal(text(&m),
			    "1.000000 1234/1240 mmap(0x7f0000000000, 8192 B, PROT_READ|PROT_EXEC, "
			    "MAP_PRIVATE|MAP_DENYWRITE, 3, 0x1000) = 0x7f0000000000");

	/* failure; a length that is not a whole unit is shown in bytes */
	m.addr = 0;
	m.len = 65537;
	m.ret = -12;
	m.prot = 0;
	m.flags = 0x22;
	m.fd = -1;
	m.off = 0;
	assert_string_equal(json(&m),
			    "{\"type\":\"mmap\"," HDR_JSON ",\"addr\":0,\"len\":65537,\"ret\":-12,"
			    "\"err\":\"ENOMEM\",\"prot\":0,\"prot_s\":\"PROT_NONE\",\"flags\":34,"
			    "\"flags_s\":\"MAP_PRIVATE|MAP_ANONYMOUS\",\"fd\":-1,\"off\":0}");
	assert_string_equal(text(&m), "1.000000 1234/1240 mmap(NULL, 65537 B, PROT_NONE, "
				      "MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot "
				      "allocate memory)");

	/* i386 old_mmap whose argument block was unreadable */
	m.h.abi = MT_ABI_I386;
	m.h.flags = MT_F_ARGS_UNREAD;
	m.ret = 0xf7f00000;
	m.len = 0;
	m.flags = 0;
	assert_string_equal(json(&m), "{\"type\":\"mmap\"," HDR_JSON ",\"args_unread\":true,"
				      "\"abi\":\"i386\",\"addr\":0,\"len\":0,\"ret\":4159700992,"
				      "\"prot\":0,\"prot_s\":\"PROT_NONE\",\"flags\":0,"
				      "\"flags_s\":\"0\",\"fd\":-1,\"off\":0}");
	assert_string_equal(text(&m), "1.000000 1234/1240 [i386] mmap(?) = 0xf7f00000");
}

static void test_munmap(void **state)
{
	struct mt_munmap u;

	(void)state;
	hdr(&u, MT_MUNMAP, sizeof(u));
	u.addr = ADDR;
	u.len = 65536;
	u.ret = -22;
	assert_string_equal(json(&u), "{\"type\":\"munmap\"," HDR_JSON ",\"addr\":139887554592768,"
				      "\"len\":65536,\"ret\":-22,\"err\":\"EINVAL\"}");
	assert_string_equal(text(&u), "1.000000 1234/1240 munmap(0x7f3a1c000000, 64 KiB) = -1 "
				      "EINVAL (Invalid argument)");
	u.ret = 0;
	u.h.abi = MT_ABI_X32;
	assert_string_equal(json(&u), "{\"type\":\"munmap\"," HDR_JSON ",\"abi\":\"x32\","
				      "\"addr\":139887554592768,\"len\":65536,\"ret\":0}");
	assert_string_equal(text(&u),
			    "1.000000 1234/1240 [x32] munmap(0x7f3a1c000000, 64 KiB) = 0");
	/* exact in KiB but not in MiB */
	u.h.abi = 0;
	u.len = 1400832;
	assert_string_equal(text(&u), "1.000000 1234/1240 munmap(0x7f3a1c000000, 1368 KiB) = 0");
	u.len = 3ull << 30;
	assert_string_equal(text(&u), "1.000000 1234/1240 munmap(0x7f3a1c000000, 3 GiB) = 0");
	u.len = (1ull << 30) + 4096;
	assert_string_equal(text(&u), "1.000000 1234/1240 munmap(0x7f3a1c000000, 1048580 KiB) = 0");
	u.len = UINT64_MAX;
	assert_string_equal(text(&u),
			    "1.000000 1234/1240 munmap(0x7f3a1c000000, 18446744073709551615 B) = 0");
	u.len = 65536;
	u.h.abi = 9;
	assert_string_equal(json(&u), "{\"type\":\"munmap\"," HDR_JSON ",\"abi\":\"#9\","
				      "\"addr\":139887554592768,\"len\":65536,\"ret\":0}");
}

static void test_mremap(void **state)
{
	struct mt_mremap r;

	(void)state;
	hdr(&r, MT_MREMAP, sizeof(r));
	r.old_addr = ADDR;
	r.old_len = 65536;
	r.new_len = 131072;
	r.flags = 1;
	r.ret = 0x7f3a1d000000;
	assert_string_equal(json(&r),
			    "{\"type\":\"mremap\"," HDR_JSON ",\"addr\":139887554592768,"
			    "\"len\":65536,\"ret\":139887571369984,\"old_addr\":139887554592768,"
			    "\"old_len\":65536,\"new_len\":131072,\"new_addr\":0,\"flags\":1,"
			    "\"flags_s\":\"MREMAP_MAYMOVE\"}");
	assert_string_equal(text(&r), "1.000000 1234/1240 mremap(0x7f3a1c000000, 64 KiB, 128 KiB, "
				      "MREMAP_MAYMOVE) = 0x7f3a1d000000");
	r.flags = 3;
	r.new_addr = 0x7f0000100000;
	r.ret = 0x7f0000100000;
	assert_string_equal(json(&r),
			    "{\"type\":\"mremap\"," HDR_JSON ",\"addr\":139887554592768,"
			    "\"len\":65536,\"ret\":139637977776128,\"old_addr\":139887554592768,"
			    "\"old_len\":65536,\"new_len\":131072,\"new_addr\":139637977776128,"
			    "\"flags\":3,\"flags_s\":\"MREMAP_MAYMOVE|MREMAP_FIXED\"}");
	assert_string_equal(text(&r), "1.000000 1234/1240 mremap(0x7f3a1c000000, 64 KiB, 128 KiB, "
				      "MREMAP_MAYMOVE|MREMAP_FIXED, 0x7f0000100000) = "
				      "0x7f0000100000");
	r.flags = 0;
	r.ret = -12;
	assert_string_equal(text(&r), "1.000000 1234/1240 mremap(0x7f3a1c000000, 64 KiB, 128 KiB, "
				      "0) = -1 ENOMEM (Cannot allocate memory)");
}

static void test_madvise(void **state)
{
	struct mt_madvise a;

	(void)state;
	hdr(&a, MT_MADVISE, sizeof(a));
	a.addr = ADDR;
	a.len = 65536;
	a.advice = 8;
	a.target_pid = 1234;
	assert_string_equal(json(&a), "{\"type\":\"madvise\"," HDR_JSON ",\"addr\":139887554592768,"
				      "\"len\":65536,\"ret\":0,\"advice\":\"MADV_FREE\","
				      "\"advice_n\":8,\"target_pid\":1234}");
	assert_string_equal(text(&a),
			    "1.000000 1234/1240 madvise(0x7f3a1c000000, 64 KiB, MADV_FREE) = 0");

	a.advice = 4;
	a.h.stack_id = 7;
	assert_string_equal(json(&a), "{\"type\":\"madvise\"," HDR_JSON ",\"stack_id\":7,"
				      "\"addr\":139887554592768,\"len\":65536,\"ret\":0,"
				      "\"advice\":\"MADV_DONTNEED\",\"advice_n\":4,"
				      "\"target_pid\":1234}");
	a.h.stack_id = 0;

	/* process_madvise on another process: ret is the call's byte count */
	a.h.flags = MT_F_PROCESS_MADVISE | MT_F_IOV_TRUNC;
	a.advice = 21;
	a.target_pid = 999;
	a.ret = 65536;
	assert_string_equal(json(&a), "{\"type\":\"madvise\"," HDR_JSON ",\"process_madvise\":true,"
				      "\"iov_trunc\":true,\"addr\":139887554592768,\"len\":65536,"
				      "\"ret\":65536,\"advice\":\"MADV_PAGEOUT\",\"advice_n\":21,"
				      "\"target_pid\":999}");
	assert_string_equal(text(&a), "1.000000 1234/1240 process_madvise(pid 999, 0x7f3a1c000000, "
				      "64 KiB, MADV_PAGEOUT) = 65536 [iovec truncated]");

	/* an advice value without a name */
	a.h.flags = 0;
	a.advice = 77;
	a.target_pid = 1234;
	a.ret = -22;
	assert_string_equal(json(&a), "{\"type\":\"madvise\"," HDR_JSON ",\"addr\":139887554592768,"
				      "\"len\":65536,\"ret\":-22,\"err\":\"EINVAL\","
				      "\"advice\":\"MADV_#77\",\"advice_n\":77,"
				      "\"target_pid\":1234}");
	assert_string_equal(text(&a), "1.000000 1234/1240 madvise(0x7f3a1c000000, 64 KiB, "
				      "MADV_#77) = -1 EINVAL (Invalid argument)");
	a.advice = -3;
	a.ret = -22;
	assert_string_equal(json(&a), "{\"type\":\"madvise\"," HDR_JSON ",\"addr\":139887554592768,"
				      "\"len\":65536,\"ret\":-22,\"err\":\"EINVAL\","
				      "\"advice\":\"MADV_#-3\",\"advice_n\":-3,"
				      "\"target_pid\":1234}");
}

static void test_brk_mprotect(void **state)
{
	struct mt_brk b;
	struct mt_mprotect p;

	(void)state;
	hdr(&b, MT_BRK, sizeof(b));
	b.ret = 0x555555559000;
	assert_string_equal(json(&b), "{\"type\":\"brk\"," HDR_JSON ",\"addr\":0,\"len\":0,"
				      "\"ret\":93824992251904}");
	assert_string_equal(text(&b), "1.000000 1234/1240 brk(NULL) = 0x555555559000");
	b.addr = 0x55555557a000;
	b.ret = 0x55555557a000;
	assert_string_equal(text(&b), "1.000000 1234/1240 brk(0x55555557a000) = 0x55555557a000");

	hdr(&p, MT_MPROTECT, sizeof(p));
	p.addr = ADDR;
	p.len = 4096;
	assert_string_equal(json(&p), "{\"type\":\"mprotect\"," HDR_JSON
				      ",\"addr\":139887554592768,\"len\":4096,\"ret\":0,"
				      "\"prot\":0,\"prot_s\":\"PROT_NONE\"}");
	assert_string_equal(text(&p),
			    "1.000000 1234/1240 mprotect(0x7f3a1c000000, 4096 B, PROT_NONE) = 0");
	p.prot = 1;
	p.ret = -13;
	assert_string_equal(text(&p), "1.000000 1234/1240 mprotect(0x7f3a1c000000, 4096 B, "
				      "PROT_READ) = -1 EACCES (Permission denied)");
}

static void test_rss(void **state)
{
	struct mt_rss r;

	(void)state;
	hdr(&r, MT_RSS, sizeof(r));
	r.anon = 12587008;
	r.file = 3250585;
	r.reason = MT_RSS_SYSCALL;
	r.lazyfree = 99; /* not valid without MT_F_SMAPS: must not be shown */
	assert_string_equal(json(&r), "{\"type\":\"rss\"," HDR_JSON ",\"anon\":12587008,"
				      "\"file\":3250585,\"shmem\":0,\"swap\":0,"
				      "\"reason\":\"syscall\"}");
	assert_string_equal(text(&r), "1.000000 1234/1240 rss anon=12.0 MiB file=3.1 MiB shmem=0 B "
				      "swap=0 B [syscall]");

	r.h.flags = MT_F_SMAPS | MT_F_SYNTH;
	r.lazyfree = 2097152;
	r.smaps_rss = 15740928;
	r.shmem = 4096;
	r.swap = 1 << 20;
	r.reason = MT_RSS_SAMPLE;
	assert_string_equal(json(&r), "{\"type\":\"rss\"," HDR_JSON ",\"synth\":true,"
				      "\"anon\":12587008,\"file\":3250585,\"shmem\":4096,"
				      "\"swap\":1048576,\"lazyfree\":2097152,"
				      "\"smaps_rss\":15740928,"
				      "\"reason\":\"sample\"}");
	assert_string_equal(text(&r), "1.000000 1234/1240 rss anon=12.0 MiB file=3.1 MiB "
				      "shmem=4096 B swap=1 MiB lazyfree=2 MiB smaps_rss=15.0 MiB "
				      "[sample]");

	static const char *const reasons[] = { NULL,	  "syscall", "fault", "reclaim",
					       "start",	  "end",     "sample" };
	r.h.flags = 0;
	for (uint32_t i = 1; i <= 6; i++) {
		char want[128];

		r.reason = i;
		snprintf(want, sizeof(want), "\"reason\":\"%s\"}", reasons[i]);
		assert_non_null(strstr(json(&r), want));
		assert_string_equal(mt_rss_reason_name(i), reasons[i]);
	}
	r.reason = 9;
	assert_non_null(strstr(json(&r), "\"reason\":\"#9\"}"));
	assert_non_null(strstr(text(&r), " [#9]"));
	assert_null(mt_rss_reason_name(0));
	assert_null(mt_rss_reason_name(7));
}

static void test_task(void **state)
{
	struct mt_task t;

	(void)state;
	hdr(&t, MT_TASK, sizeof(t));
	t.event = MT_TASK_EXIT;
	strcpy(t.comm, "demo");
	assert_string_equal(json(&t), "{\"type\":\"task\"," HDR_JSON ",\"event\":\"exit\","
				      "\"other_pid\":0,\"code\":0,\"exit_status\":0,"
				      "\"comm\":\"demo\"}");
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ exited with 0 +++");
	t.code = 3 << 8; /* wait status: exit(3) */
	assert_string_equal(json(&t), "{\"type\":\"task\"," HDR_JSON ",\"event\":\"exit\","
				      "\"other_pid\":0,\"code\":768,\"exit_status\":3,"
				      "\"comm\":\"demo\"}");
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ exited with 3 +++");
	t.code = 9; /* killed by SIGKILL */
	assert_string_equal(json(&t), "{\"type\":\"task\"," HDR_JSON ",\"event\":\"exit\","
				      "\"other_pid\":0,\"code\":9,\"signal\":\"SIGKILL\","
				      "\"comm\":\"demo\"}");
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ killed by SIGKILL +++");
	t.code = 11 | 0x80; /* SIGSEGV, core dumped */
	assert_string_equal(json(&t), "{\"type\":\"task\"," HDR_JSON ",\"event\":\"exit\","
				      "\"other_pid\":0,\"code\":139,\"signal\":\"SIGSEGV\","
				      "\"core_dumped\":true,\"comm\":\"demo\"}");
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ killed by SIGSEGV (core dumped) +++");

	t.code = 0;
	t.event = MT_TASK_FORK;
	t.other_pid = 1235;
	assert_string_equal(json(&t), "{\"type\":\"task\"," HDR_JSON ",\"event\":\"fork\","
				      "\"other_pid\":1235,\"code\":0,\"comm\":\"demo\"}");
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ fork 1235 +++");
	t.event = MT_TASK_CLONE;
	t.other_pid = 1241;
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ clone 1241 +++");
	t.other_pid = 0;
	t.event = MT_TASK_ATTACH;
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ attached demo +++");
	t.event = MT_TASK_LAUNCH;
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ launched demo +++");
	t.event = MT_TASK_THREAD_EXIT;
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ thread exited +++");
	t.event = MT_TASK_DETACH;
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ detached +++");
	t.event = 42;
	assert_string_equal(json(&t), "{\"type\":\"task\"," HDR_JSON ",\"event\":\"#42\","
				      "\"other_pid\":0,\"code\":0,\"comm\":\"demo\"}");
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ task event 42 demo +++");

	static const char *const events[] = { NULL,   "attach", "launch",	  "fork",  "clone",
					      "exec", "exit",	"thread_exit", "detach" };
	for (uint32_t i = 1; i <= 8; i++)
		assert_string_equal(mt_task_event_name(i), events[i]);
	assert_null(mt_task_event_name(0));
	assert_null(mt_task_event_name(9));

	/* comm can hold any byte: JSON escapes, text shows \xNN */
	t.event = MT_TASK_EXEC;
	memset(t.comm, 0, sizeof(t.comm));
	memcpy(t.comm, "a\"b\\c\n\xff\x7f", 8);
	assert_string_equal(json(&t), "{\"type\":\"task\"," HDR_JSON ",\"event\":\"exec\","
				      "\"other_pid\":0,\"code\":0,"
				      "\"comm\":\"a\\\"b\\\\c\\u000a\\u00ff\\u007f\"}");
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ exec a\"b\\\\c\\x0a\\xff\\x7f +++");
	/* valid UTF-8 passes through JSON; a sequence cut by the 16-byte limit does not */
	memset(t.comm, 0, sizeof(t.comm));
	memcpy(t.comm, "caf\xc3\xa9-\xe2\x82", 8);
	assert_string_equal(json(&t), "{\"type\":\"task\"," HDR_JSON ",\"event\":\"exec\","
				      "\"other_pid\":0,\"code\":0,"
				      "\"comm\":\"caf\xc3\xa9-\\u00e2\\u0082\"}");
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ exec caf\\xc3\\xa9-\\xe2\\x82 +++");
	/* overlong encoding and surrogates are not UTF-8 */
	memset(t.comm, 0, sizeof(t.comm));
	memcpy(t.comm, "\xc0\xaf\xed\xa0\x80", 5);
	assert_non_null(strstr(json(&t), "\"comm\":\"\\u00c0\\u00af\\u00ed\\u00a0\\u0080\"}"));
	/* no NUL at all: exactly 16 bytes */
	memcpy(t.comm, "0123456789abcdefXYZ", 16);
	assert_non_null(strstr(json(&t), "\"comm\":\"0123456789abcdef\"}"));
	assert_string_equal(text(&t), "1.000000 1234/1240 +++ exec 0123456789abcdef +++");
}

static void test_lost_unknown(void **state)
{
	struct mt_lost l;
	union {
		struct mt_hdr h;
		unsigned char b[40];
	} u;

	(void)state;
	hdr(&l, MT_LOST, sizeof(l));
	l.count = 17;
	l.cpu = ~0u;
	assert_string_equal(json(&l), "{\"type\":\"lost\"," HDR_JSON ",\"count\":17}");
	assert_string_equal(text(&l), "1.000000 1234/1240 !!! 17 events lost !!!");
	l.count = 1;
	l.cpu = 3;
	assert_string_equal(json(&l), "{\"type\":\"lost\"," HDR_JSON ",\"count\":1,\"cpu\":3}");
	assert_string_equal(text(&l), "1.000000 1234/1240 !!! 1 event lost on cpu 3 !!!");

	hdr(&u, 42, sizeof(u));
	u.h.flags = 0x8000 | MT_F_SYNTH;
	assert_string_equal(json(&u), "{\"type\":\"unknown\",\"type_n\":42,\"size\":40," HDR_JSON
				      ",\"synth\":true,\"hdr_flags\":32770}");
	assert_string_equal(text(&u), "1.000000 1234/1240 unknown record type 42 (40 bytes)");
}

static void test_gostat_resident(void **state)
{
	struct mt_gostat g;
	struct mt_resident r;

	(void)state;
	hdr(&g, MT_GOSTAT, sizeof(g));
	g.h.flags = MT_F_SYNTH;
	g.heap_released = 512ull << 20;
	g.heap_idle = 600ull << 20;
	g.num_gc = 7;
	g.req_ns = 1500000;
	g.source = MT_GOSTAT_PROMETHEUS;
	/* what the endpoint did not report is absent, not 0 */
	g.have = MT_GS_HEAP_RELEASED | MT_GS_NUM_GC;
	assert_string_equal(json(&g), "{\"type\":\"gostat\"," HDR_JSON ",\"synth\":true,"
				      "\"heap_released\":536870912,\"num_gc\":7,"
				      "\"req_ns\":1500000,\"source\":\"prometheus\"}");
	assert_string_equal(text(&g), "1.000000 1234/1240 go HeapReleased=512 MiB NumGC=7 [prometheus]");
	g.have |= MT_GS_HEAP_IDLE;
	g.source = 9;
	assert_string_equal(text(&g), "1.000000 1234/1240 go HeapReleased=512 MiB "
				      "HeapIdle=600 MiB NumGC=7 [#9]");

	hdr(&r, MT_RESIDENT, sizeof(r));
	r.lazy_present = 4096;
	r.lazy_absent = 8192;
	r.eager_present = 1;
	r.eager_absent = 2;
	r.committed_present = 3;
	r.committed_absent = 4;
	r.swapped = 5;
	r.ranges = 6;
	assert_string_equal(json(&r), "{\"type\":\"resident\"," HDR_JSON ",\"lazy_present\":4096,"
				      "\"lazy_absent\":8192,\"eager_present\":1,\"eager_absent\":2,"
				      "\"committed_present\":3,\"committed_absent\":4,"
				      "\"swapped\":5,\"ranges\":6}");
	r.flags = MT_RES_CAPPED;
	assert_string_equal(text(&r), "1.000000 1234/1240 resident released-lazily=4096 B/12 KiB "
				      "released-eagerly=1 B/3 B committed=3 B/7 B swapped=5 B (capped)");
}

/* The unwinder's records: addresses written once as hex, the path as bytes. */
static void test_ustack_mapping(void **state)
{
	union {
		struct mt_ustack us;
		unsigned char b[sizeof(struct mt_ustack) + 16];
	} u;
	union {
		struct mt_mapping m;
		unsigned char b[sizeof(struct mt_mapping) + 16];
	} v;

	(void)state;
	memset(&u, 0, sizeof(u));
	hdr(&u, MT_USTACK, sizeof(u));
	u.us.sp = 0x7ffd12345000ull;
	u.us.regs[MT_UREG_RSP] = u.us.sp;
	u.us.regs[MT_UREG_RIP] = 0x7f0011223344ull;
	u.us.len = 16;
	assert_string_equal(text(&u),
			    "1.000000 1234/1240 ustack sp=0x7ffd12345000 ip=0x7f0011223344 len=16");
	memset(&v, 0, sizeof(v));
	hdr(&v, MT_MAPPING, sizeof(v));
	v.m.start = 0x7f0011200000ull;
	v.m.end = 0x7f0011400000ull;
	v.m.off = 0x1000;
	strcpy(v.m.path, "/lib/libc.so.6");
	assert_string_equal(text(&v), "1.000000 1234/1240 mapping 0x7f0011200000-0x7f0011400000 "
				      "off=0x1000 /lib/libc.so.6");
}

static void test_stack_info(void **state)
{
	union {
		struct mt_stack st;
		unsigned char b[sizeof(struct mt_stack) + 3 * 8];
	} u;
	union {
		struct mt_info in;
		unsigned char b[sizeof(struct mt_info) + 32];
	} v;

	(void)state;
	hdr(&u, MT_STACK, sizeof(u));
	u.st.id = 7;
	u.st.nr = 3;
	u.st.ips[0] = 0x401000;
	u.st.ips[1] = 0x402000;
	u.st.ips[2] = 18446744073709551615ull;
	assert_string_equal(json(&u), "{\"type\":\"stack\"," HDR_JSON
				      ",\"id\":7,\"ips\":[4198400,4202496,18446744073709551615]}");
	assert_string_equal(text(&u), "1.000000 1234/1240 stack #7 (3 frames)");
	/* a frame count the record cannot hold is cut to what it holds */
	u.st.nr = 1000;
	assert_string_equal(json(&u), "{\"type\":\"stack\"," HDR_JSON
				      ",\"id\":7,\"ips\":[4198400,4202496,18446744073709551615]}");

	hdr(&v, MT_INFO, sizeof(v));
	memset(v.in.text, 0, 32);
	strcpy(v.in.text, "env.GODEBUG=madvdontneed=1");
	assert_string_equal(json(&v), "{\"type\":\"info\"," HDR_JSON
				      ",\"key\":\"env.GODEBUG\",\"value\":\"madvdontneed=1\"}");
	assert_string_equal(text(&v), "1.000000 1234/1240 info env.GODEBUG=madvdontneed=1");
	/* no NUL within the record: bounded by its size */
	memset(v.in.text, 'a', 32);
	v.in.text[3] = '=';
	assert_non_null(strstr(json(&v), "\"key\":\"aaa\",\"value\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}"));
}

static void test_wall_clock(void **state)
{
	struct mt_munmap u;
	/* 2023-11-14 14:03:07 UTC is 1699970587 s after the epoch */
	int64_t off = (1699970587ll - 5000) * 1000000000ll;

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	hdr(&u, MT_MUNMAP, sizeof(u));
	u.h.t_ns = 5000123456789ull;
	u.addr = ADDR;
	u.len = 65536;
	assert_string_equal(text_at(&u, off),
			    "14:03:07.123456 1234/1240 munmap(0x7f3a1c000000, 64 KiB) = 0");
	/* the next second (the formatting caches the current one) */
	u.h.t_ns += 1000000000ull;
	assert_string_equal(text_at(&u, off),
			    "14:03:08.123456 1234/1240 munmap(0x7f3a1c000000, 64 KiB) = 0");
	/* no offset: seconds of CLOCK_MONOTONIC */
	assert_string_equal(text_at(&u, 0),
			    "5001.123456 1234/1240 munmap(0x7f3a1c000000, 64 KiB) = 0");
}

/*
 * A record longer than the renderer's line buffer (4 KiB): an info record of
 * 60000 bytes that are not UTF-8, 6 bytes each once escaped. Every byte must
 * come out, in order; nothing is cut.
 */
static void test_long_record(void **state)
{
	enum { TEXT = 60000 };
	size_t size = sizeof(struct mt_info) + TEXT, cap = 6 * TEXT + 256;
	struct mt_info *in = calloc(1, size);
	char *buf = calloc(1, cap), *p;
	FILE *f;
	int n;

	(void)state;
	assert_non_null(in);
	assert_non_null(buf);
	hdr(in, MT_INFO, (uint16_t)size);
	in->text[0] = 'k';
	in->text[1] = '=';
	memset(in->text + 2, 0xff, TEXT - 3);
	in->text[TEXT - 1] = 'z';
	f = fmemopen(buf, cap, "w");
	assert_non_null(f);
	n = mt_record_json(f, &in->h);
	fclose(f);
	assert_int_equal(n, strlen(buf));
	p = strstr(buf, "\"key\":\"k\",\"value\":\"");
	assert_non_null(p);
	p += strlen("\"key\":\"k\",\"value\":\"");
	for (size_t i = 0; i < TEXT - 3; i++, p += 6)
		assert_memory_equal(p, "\\u00ff", 6);
	assert_string_equal(p, "z\"}");
	/* the text line too: "info k=" then \xff for each byte */
	f = fmemopen(buf, cap, "w");
	assert_non_null(f);
	n = mt_record_text(f, &in->h, 0);
	fclose(f);
	assert_int_equal(n, strlen(buf));
	assert_int_equal(n, strlen("1.000000 1234/1240 info k=") + 4 * (TEXT - 3) + 1);
	assert_int_equal(buf[n - 1], 'z');
	free(buf);
	free(in);
}

/* A write error must be reported, not swallowed. */
static void test_write_error(void **state)
{
	struct mt_munmap u;
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	assert_non_null(f);
	setvbuf(f, NULL, _IONBF, 0);
	hdr(&u, MT_MUNMAP, sizeof(u));
	assert_true(mt_record_json(f, &u.h) < 0);
	assert_true(mt_record_text(f, &u.h, 0) < 0);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_table), cmocka_unit_test(test_advice),
		cmocka_unit_test(test_errno),	   cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_flags),	   cmocka_unit_test(test_ret_and_call),
		cmocka_unit_test(test_mmap),	   cmocka_unit_test(test_munmap),
		cmocka_unit_test(test_mremap),	   cmocka_unit_test(test_madvise),
		cmocka_unit_test(test_brk_mprotect), cmocka_unit_test(test_rss),
		cmocka_unit_test(test_task),	   cmocka_unit_test(test_lost_unknown),
		cmocka_unit_test(test_gostat_resident), cmocka_unit_test(test_stack_info),
		cmocka_unit_test(test_ustack_mapping),
		cmocka_unit_test(test_wall_clock), cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_long_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
