// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The /proc parsers (loader/record/procparse.c): texts laid out as the
 * kernel writes them (fs/proc/array.c, task_mmu.c), keys that only look
 * like the ones read, and every line of this process's own maps against
 * the trace format's maps-line parse (format/records.c), which the agent
 * and the backends use for their mmap records.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "procparse.h"
#include "records.h"

static void test_status(void **state)
{
	struct mt_rss r;
	const char *st = "Name:\tcat\nVmRSS:\t    2048 kB\nRssAnon:\t     100 kB\n"
			 "RssFile:\t    1948 kB\nRssShmem:\t       0 kB\nVmSwap:\t      12 kB\n";

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(mt_procparse__status(st, &r), 0);
	assert_int_equal(r.anon, 100 * 1024);
	assert_int_equal(r.file, 1948 * 1024);
	assert_int_equal(r.shmem, 0);
	assert_int_equal(r.swap, 12 * 1024);
	/* a zombie's status has no Rss lines */
	assert_int_equal(mt_procparse__status("Name:\tz\nState:\tZ (zombie)\n", &r), -ESRCH);
	/* a key inside another line's value, or a longer key, is not the key */
	assert_int_equal(mt_procparse__kb("Name:\tRssAnon: 5 kB\nXRssAnon:\t7 kB\n", "RssAnon"), 0);
	assert_int_equal(mt_procparse__kb("RssAnonX:\t7 kB\nRssAnon:\t9 kB\n", "RssAnon"), 9 * 1024);
	assert_int_equal(mt_procparse__kb("RssAnon:", "RssAnon"), 0);
}

static void test_smaps_rollup(void **state)
{
	struct mt_rss r;
	const char *sm = "55d0c0a00000-7ffd5a3f1000 ---p 00000000 00:00 0   [rollup]\n"
			 "Rss:                3072 kB\nPss:                1000 kB\n"
			 "LazyFree:            512 kB\n";

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(mt_procparse__smaps_rollup(sm, &r), 0);
	assert_int_equal(r.smaps_rss, 3072 * 1024);
	assert_int_equal(r.lazyfree, 512 * 1024);
	assert_true(r.h.flags & MT_F_SMAPS);
	assert_int_equal(mt_procparse__smaps_rollup("", &r), -ESRCH);
}

static void test_maps_lines(void **state)
{
	struct mt_maps_file f;

	(void)state;
	assert_true(mt_procparse__maps_line(
		"7f1c2a000000-7f1c2a028000 r--p 00001000 fd:01 1835211                    "
		"/usr/lib/x86_64-linux-gnu/libc.so.6\n",
		&f));
	assert_int_equal(f.start, 0x7f1c2a000000);
	assert_int_equal(f.end, 0x7f1c2a028000);
	assert_int_equal(f.off, 0x1000);
	assert_int_equal(f.dev_major, 0xfd);
	assert_int_equal(f.dev_minor, 1);
	assert_int_equal(f.ino, 1835211);
	assert_int_equal(f.prot, PROT_READ);
	assert_int_equal(f.path_len, strlen("/usr/lib/x86_64-linux-gnu/libc.so.6"));
	assert_memory_equal(f.path, "/usr/lib/x86_64-linux-gnu/libc.so.6", f.path_len);
	/* a path with spaces, and a deleted file */
	assert_true(mt_procparse__maps_line(
		"400000-401000 r-xp 00000000 08:02 42 /tmp/a b (deleted)", &f));
	assert_int_equal(f.prot, PROT_READ | PROT_EXEC);
	assert_int_equal(f.path_len, strlen("/tmp/a b (deleted)"));
	/* anonymous: no path at all */
	assert_true(mt_procparse__maps_line("7f0000000000-7f0000001000 rw-p 00000000 00:00 0\n", &f));
	assert_int_equal(f.path_len, 0);
	assert_false(mt_procparse__maps_line("", &f));
	assert_false(mt_procparse__maps_line("7f00-7f01 rw-p", &f));
	assert_false(mt_procparse__maps_line("garbage\n", &f));
}

/* Every line of our own maps: what both parsers say of it agrees. */
static void test_own_maps(void **state)
{
	char line[4352], copy[4352];
	FILE *f = fopen("/proc/self/maps", "re");
	int n = 0;

	(void)state;
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		struct mt_maps_file m;
		struct mt_mmap r;

		memcpy(copy, line, sizeof(line));
		assert_true(mt_procparse__maps_line(line, &m));
		assert_true(mt_maps_line__mmap(copy, &r));
		assert_int_equal(m.start, r.addr);
		assert_int_equal(m.end - m.start, r.len);
		assert_int_equal(m.off, r.off);
		assert_int_equal(m.prot, r.prot);
		assert_int_equal(m.path_len == 0 || m.path[0] == '[', !!(r.flags & MAP_ANONYMOUS));
		n++;
	}
	fclose(f);
	assert_true(n > 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_smaps_rollup),
		cmocka_unit_test(test_maps_lines),
		cmocka_unit_test(test_own_maps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
