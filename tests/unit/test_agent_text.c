// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The preload agent's text helpers (agent/text.c): the /proc readers
 * against this process's own /proc/self/status and smaps_rollup (and the
 * same values read by the loader's procfs.c), and the LD_PRELOAD editing
 * the agent does to keep itself out of children it does not follow.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "procfs.h"
#include "text.h"

static void read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, len - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
}

static void test_status(void **state)
{
	char buf[8192];
	struct mt_counters c;
	struct mt_rss r;

	(void)state;
	read_file("/proc/self/status", buf, sizeof(buf));
	assert_true(mt_parse_status(buf, &c));
	/* the loader's reader, on the same file a moment later: the same counters */
	assert_int_equal(mt_proc_rss(getpid(), &r), 0);
	/* (a page or two may come in between the reads: within 1 MiB) */
	assert_true(c.anon > 0 && c.file > 0);
	assert_true(c.anon <= r.anon + (1 << 20) && r.anon <= c.anon + (1 << 20));
	assert_true(c.file <= r.file + (1 << 20) && r.file <= c.file + (1 << 20));
	assert_true(c.shmem <= r.shmem + (1 << 20) && r.shmem <= c.shmem + (1 << 20));
	assert_int_equal(c.swap, r.swap);
	/* a kernel thread's status has no RssAnon */
	assert_false(mt_parse_status("Name:\tkthreadd\nState:\tS\n", &c));
}

static void test_fields(void **state)
{
	const char *t = "Rss:    1234 kB\nPss_Anon: 5 kB\nLazyFree:      8 kB\nRssX: 9 kB\n";
	uint64_t v = 0, rss, lazy;

	(void)state;
	assert_true(mt_kb_field(t, "Rss", &v));
	assert_int_equal(v, 1234 * 1024);
	/* a key is matched whole, at the start of a line */
	assert_false(mt_kb_field(t, "Anon", &v));
	assert_false(mt_kb_field(t, "Pss", &v));
	assert_true(mt_parse_smaps_rollup(t, &rss, &lazy));
	assert_int_equal(rss, 1234 * 1024);
	assert_int_equal(lazy, 8 * 1024);
	assert_false(mt_parse_smaps_rollup("LazyFree: 1 kB\n", &rss, &lazy));
}

static void test_smaps_rollup(void **state)
{
	char buf[8192];
	uint64_t rss, lazy;
	struct mt_rss r;

	(void)state;
	read_file("/proc/self/smaps_rollup", buf, sizeof(buf));
	assert_true(mt_parse_smaps_rollup(buf, &rss, &lazy));
	assert_int_equal(mt_proc_rss(getpid(), &r), 0);
	assert_int_equal(mt_proc_smaps(getpid(), &r), 0);
	/* Rss as the loader reads it (the process may have faulted a page since) */
	assert_true(rss > 0 && rss <= r.smaps_rss + (1 << 20) && r.smaps_rss <= rss + (1 << 20));
}

static void test_numbers(void **state)
{
	char buf[32] = "fd ";
	uint64_t v;

	(void)state;
	mt_cat_u64(buf, sizeof(buf), 0);
	assert_string_equal(buf, "fd 0");
	buf[0] = '\0';
	mt_cat_u64(buf, sizeof(buf), UINT64_MAX);
	assert_string_equal(buf, "18446744073709551615");
	/* truncated, never overflowing */
	buf[0] = '\0';
	mt_cat(buf, 5, "madvtrace");
	assert_string_equal(buf, "madv");
	assert_true(mt_parse_u64("  42 kB", &v));
	assert_int_equal(v, 42);
	assert_false(mt_parse_u64("kB", &v));
}

static void test_preload(void **state)
{
	char v[256];

	(void)state;
	strcpy(v, "/opt/lib/libmadvtrace-agent.so");
	assert_int_equal(mt_preload_strip(v, "libmadvtrace-agent.so"), 0);
	assert_string_equal(v, "");
	strcpy(v, "libfoo.so:/b/libmadvtrace-agent.so libbar.so");
	assert_true(mt_preload_has(v, "libmadvtrace-agent.so"));
	mt_preload_strip(v, "libmadvtrace-agent.so");
	assert_string_equal(v, "libfoo.so:libbar.so");
	assert_false(mt_preload_has(v, "libmadvtrace-agent.so"));
	/* only whole file names: not a library whose name merely ends the same way */
	strcpy(v, "/x/notlibmadvtrace-agent.so::libmadvtrace-agent.so");
	mt_preload_strip(v, "libmadvtrace-agent.so");
	assert_string_equal(v, "/x/notlibmadvtrace-agent.so");
	assert_false(mt_preload_has("libmadvtrace-agent.so.1", "libmadvtrace-agent.so"));
	assert_true(mt_preload_has(" \tlibmadvtrace-agent.so ", "libmadvtrace-agent.so"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),	      cmocka_unit_test(test_fields),
		cmocka_unit_test(test_smaps_rollup), cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_preload),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
