// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Trace file writer and reader: round trips, truncation at every byte,
 * corrupt headers and frames, write errors, EINTR and short writes, and
 * the writer on I/O callbacks of its user's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <zlib.h>
#include "records.h"
#include "tracefile.h"

/* Offsets of the v1 header, from docs/trace-format.md. */
#define OFF_VERSION 8
#define OFF_HLEN 12
#define FIXED_LEN 52
/* the end marker's frame: length, then struct mt_tf_end */
#define END_FRAME (4 + sizeof(struct mt_tf_end))

static char tmpdir[] = "/tmp/mt-tracefile-XXXXXX";

static int setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd);
}

static const char *tmp_path(const char *name)
{
	static char path[4][256];
	static int i;

	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", tmpdir, name);
	return path[i];
}

static const struct mt_file_info test_info = {
	.page_size = 4096,
	.clock_id = CLOCK_MONOTONIC,
	.clock_offset_ns = 1700000000123456789ll,
	.start_ns = 987654321012ull,
	.backend = MT_BACKEND_PTRACE,
	.target_pid = 4242,
	.kernel_release = "6.18.0-test",
	.cmdline = "madvtrace -o t.mtr -- ./demo \"a b\"",
	.target = "./demo \"a b\"",
};

/* Every byte of the record set from a seed, then a valid header. */
static void fill(void *rec, uint16_t type, uint16_t size, unsigned seed)
{
	unsigned char *b = rec;
	struct mt_hdr *h = rec;

	for (unsigned i = 0; i < size; i++)
		b[i] = (unsigned char)(seed * 131 + i * 7 + 1);
	h->type = type;
	h->size = size;
}

/* One record of every known type, all fields non-zero, plus an unknown one. */
static size_t make_records(unsigned char recs[][MT_MAX_RECORD_SIZE], unsigned seed)
{
	size_t n = 0;

	for (uint16_t t = 1; t < MT_TYPE_MAX; t++, n++)
		fill(recs[n], t, mt_type_info(t)->size, seed + t);
	fill(recs[n++], 200, 40, seed + 200);
	return n;
}

static int create(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	return fd;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = create(path);

	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static unsigned char *read_whole(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

static void test_round_trip(void **state)
{
	_Alignas(8) unsigned char recs[16][MT_MAX_RECORD_SIZE];
	const char *path = tmp_path("rt.mtr");
	const struct mt_file_info *info;
	struct mt_writer *w;
	struct mt_reader *r;
	const struct mt_hdr *rec;
	char err[256];
	size_t n = make_records(recs, 1);

	(void)state;
	w = mt_writer__new(create(path), &test_info);
	assert_non_null(w);
	assert_int_equal(mt_writer__set(w, "go_version", "go1.19.8"), 0);
	assert_int_equal(mt_writer__set(w, "empty", ""), 0);
	/* a second set replaces the value */
	assert_int_equal(mt_writer__set(w, "target", "pid 4242 (demo)"), 0);
	/* numeric fields are not entries; keys must be non-empty */
	assert_int_equal(mt_writer__set(w, "page_size", "1"), -EINVAL);
	assert_int_equal(mt_writer__set(w, "", "x"), -EINVAL);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(mt_writer__write(w, (const struct mt_hdr *)recs[i]), 0);
	assert_int_equal(mt_writer__set(w, "late", "x"), -EBUSY);
	assert_int_equal(mt_writer__free(w), 0);

	r = mt_reader__open(path, err, sizeof(err));
	assert_non_null(r);
	info = mt_reader__info(r);
	assert_int_equal(info->version, 1);
	assert_int_equal(info->page_size, 4096);
	assert_int_equal(info->clock_id, CLOCK_MONOTONIC);
	assert_true(info->clock_offset_ns == 1700000000123456789ll);
	assert_true(info->start_ns == 987654321012ull);
	assert_int_equal(info->backend, MT_BACKEND_PTRACE);
	assert_int_equal(info->target_pid, 4242);
	assert_string_equal(info->kernel_release, "6.18.0-test");
	assert_string_equal(info->cmdline, "madvtrace -o t.mtr -- ./demo \"a b\"");
	assert_string_equal(info->target, "pid 4242 (demo)");
	assert_string_equal(mt_reader__get(r, "go_version"), "go1.19.8");
	assert_string_equal(mt_reader__get(r, "empty"), "");
	assert_string_equal(mt_reader__get(r, "page_size"), "4096");
	assert_string_equal(mt_reader__get(r, "clock_offset_ns"), "1700000000123456789");
	assert_string_equal(mt_reader__get(r, "target_pid"), "4242");
	assert_string_equal(mt_reader__get(r, "version"), "1");
	assert_null(mt_reader__get(r, "late"));
	assert_null(mt_reader__get(r, "nope"));
	for (size_t i = 0; i < n; i++) {
		const struct mt_hdr *want = (const struct mt_hdr *)recs[i];

		assert_int_equal(mt_reader__next(r, &rec), 1);
		assert_int_equal(rec->size, want->size);
		assert_memory_equal(rec, want, want->size);
	}
	assert_int_equal(mt_reader__next(r, &rec), 0);
	assert_false(mt_reader__truncated(r));
	assert_int_equal(mt_reader__next(r, &rec), 0);
	mt_reader__free(r);
}

/* Shorter records are zero-filled to their contract size; longer ones accepted. */
static void test_short_long_records(void **state)
{
	const char *path = tmp_path("sl.mtr");
	_Alignas(8) unsigned char buf[MT_MAX_RECORD_SIZE];
	struct mt_mmap m;
	struct mt_writer *w;
	struct mt_reader *r;
	const struct mt_hdr *rec;
	const struct mt_mmap *mr;
	char err[256];

	(void)state;
	w = mt_writer__new(create(path), &test_info);
	assert_non_null(w);
	/* an mmap record from an older writer: header and addr, len only */
	fill(&m, MT_MMAP, 48, 3);
	assert_int_equal(mt_writer__write(w, &m.h), 0);
	/* a madvise record from a newer writer: 16 more bytes */
	fill(buf, MT_MADVISE, 80, 4);
	assert_int_equal(mt_writer__write(w, (struct mt_hdr *)buf), 0);
	/* a header-only record of a known type */
	fill(buf + 128, MT_RSS, 32, 5);
	assert_int_equal(mt_writer__write(w, (struct mt_hdr *)(buf + 128)), 0);
	assert_int_equal(mt_writer__free(w), 0);

	r = mt_reader__open(path, err, sizeof(err));
	assert_non_null(r);
	assert_int_equal(mt_reader__next(r, &rec), 1);
	assert_int_equal(rec->size, 48);
	mr = (const struct mt_mmap *)rec;
	assert_memory_equal(rec, &m, 48);
	assert_true(mr->addr == m.addr && mr->len == m.len);
	assert_true(mr->ret == 0 && mr->off == 0 && mr->prot == 0 && mr->flags == 0 && mr->fd == 0);
	assert_int_equal(mt_reader__next(r, &rec), 1);
	assert_int_equal(rec->size, 80);
	assert_memory_equal(rec, buf, 80);
	assert_int_equal(mt_reader__next(r, &rec), 1);
	assert_int_equal(rec->type, MT_RSS);
	assert_int_equal(rec->size, 32);
	for (size_t i = 32; i < sizeof(struct mt_rss); i++)
		assert_int_equal(((const unsigned char *)rec)[i], 0);
	assert_int_equal(mt_reader__next(r, &rec), 0);
	mt_reader__free(r);
}

static void test_bad_records_rejected_by_writer(void **state)
{
	struct mt_writer *w;
	struct mt_hdr h = { .type = MT_MMAP, .size = 16 };

	(void)state;
	w = mt_writer__new(create(tmp_path("bad.mtr")), &test_info);
	assert_non_null(w);
	assert_int_equal(mt_writer__write(w, &h), -EINVAL);
	assert_int_equal(mt_writer__free(w), 0);
	errno = 0;
	assert_null(mt_writer__new(-1, &test_info));
	assert_int_equal(errno, EINVAL);
	assert_null(mt_writer__new(1, NULL));
}

/* A header-only trace: no records, a clean end. */
static void test_empty_trace(void **state)
{
	const char *path = tmp_path("empty.mtr");
	struct mt_file_info info = { 0 };
	struct mt_reader *r;
	const struct mt_hdr *rec;
	char err[256], note[256];
	size_t len;
	unsigned char *data;

	(void)state;
	assert_int_equal(mt_writer__free(mt_writer__new(create(path), &info)), 0);
	data = read_whole(path, &len);
	/* fixed part, the end_marker entry, CRC; then the end marker */
	assert_int_equal(len, FIXED_LEN + 6 + 10 + 1 + 4 + END_FRAME);
	free(data);
	r = mt_reader__open(path, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(mt_reader__info(r)->target, "");
	assert_string_equal(mt_reader__info(r)->cmdline, "");
	assert_null(mt_reader__get(r, "target"));
	/* the header read to its end: the end marker follows, found */
	assert_int_equal(mt_reader__next(r, &rec), 0);
	assert_false(mt_reader__truncated(r));
	assert_null(mt_reader__end_note(r, note, sizeof(note)));
	mt_reader__free(r);
}

/*
 * Cut the file at every byte offset across its last records: the reader
 * must return exactly the records that are complete before the cut, and
 * report truncation unless the cut falls on a record boundary.
 */
static void test_truncation(void **state)
{
	_Alignas(8) unsigned char recs[16][MT_MAX_RECORD_SIZE];
	const char *path = tmp_path("full.mtr"), *cut_path = tmp_path("cut.mtr");
	size_t n = make_records(recs, 9), len, ends[16], hlen;
	struct mt_writer *w;
	struct mt_reader *r;
	const struct mt_hdr *rec;
	unsigned char *data;
	char err[256];

	(void)state;
	w = mt_writer__new(create(path), &test_info);
	assert_non_null(w);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(mt_writer__write(w, (const struct mt_hdr *)recs[i]), 0);
	assert_int_equal(mt_writer__free(w), 0);
	data = read_whole(path, &len);

	/* where the header and each record end: the length of the file of the records before */
	for (size_t i = 0; i <= n; i++) {
		size_t l;

		w = mt_writer__new(create(cut_path), &test_info);
		assert_non_null(w);
		for (size_t j = 0; j < i; j++)
			assert_int_equal(mt_writer__write(w, (const struct mt_hdr *)recs[j]), 0);
		assert_int_equal(mt_writer__free(w), 0);
		free(read_whole(cut_path, &l));
		if (i)
			ends[i - 1] = l - END_FRAME;
		else
			hlen = l - END_FRAME;
	}
	assert_int_equal(ends[n - 1] + END_FRAME, len);

	/* from inside the header: open fails with a message */
	for (size_t cut = 0; cut < hlen; cut++) {
		write_file(cut_path, data, cut);
		err[0] = '\0';
		assert_null(mt_reader__open(cut_path, err, sizeof(err)));
		assert_true(strlen(err) > 0);
		assert_null(strchr(err, '\n'));
		if (cut >= 8)
			assert_non_null(strstr(err, "truncated header"));
	}
	/*
	 * At every byte after the header: the records before the cut, and the
	 * cut said (inside a record, or between two without the end marker);
	 * only the whole file is complete.
	 */
	for (size_t cut = hlen; cut <= len; cut++) {
		size_t complete = 0, got = 0;
		bool boundary = cut == hlen;
		char note[256];
		int ret;

		for (size_t i = 0; i < n; i++) {
			if (ends[i] <= cut)
				complete = i + 1;
			if (ends[i] == cut)
				boundary = true;
		}
		write_file(cut_path, data, cut);
		r = mt_reader__open(cut_path, err, sizeof(err));
		assert_non_null(r);
		while ((ret = mt_reader__next(r, &rec)) == 1) {
			const struct mt_hdr *want = (const struct mt_hdr *)recs[got];

			assert_true(got < complete);
			assert_memory_equal(rec, want, want->size);
			got++;
		}
		assert_int_equal(ret, 0);
		assert_int_equal(got, complete);
		if (cut == len) {
			assert_false(mt_reader__truncated(r));
			assert_null(mt_reader__end_note(r, note, sizeof(note)));
		} else {
			char said[64];

			assert_true(mt_reader__truncated(r));
			assert_non_null(mt_reader__end_note(r, note, sizeof(note)));
			assert_non_null(strstr(note, "cut short"));
			assert_non_null(strstr(note, boundary ? "ends without its end marker"
							      : "ends inside a record"));
			/* the records handed out, as the note counts them */
			snprintf(said, sizeof(said), "after %zu %s", complete,
				 boundary ? "records" : "complete records");
			assert_non_null(strstr(note, said));
			assert_null(strchr(note, '\n'));
		}
		mt_reader__free(r);
	}
	free(data);
}

/* A file from before end markers (no "end_marker" entry) ends cleanly between records. */
static void test_no_end_marker(void **state)
{
	const char *path = tmp_path("noend.mtr");
	struct mt_munmap u;
	struct mt_writer *w;
	struct mt_reader *r;
	const struct mt_hdr *rec;
	char err[256], note[256];

	(void)state;
	w = mt_writer__new(create(path), &test_info);
	assert_non_null(w);
	assert_int_equal(mt_writer__no_end_marker(w), 0);
	fill(&u, MT_MUNMAP, sizeof(u), 1);
	assert_int_equal(mt_writer__write(w, &u.h), 0);
	assert_int_equal(mt_writer__no_end_marker(w), -EBUSY);
	assert_int_equal(mt_writer__free(w), 0);
	r = mt_reader__open(path, err, sizeof(err));
	assert_non_null(r);
	assert_null(mt_reader__get(r, "end_marker"));
	assert_int_equal(mt_reader__next(r, &rec), 1);
	assert_int_equal(mt_reader__next(r, &rec), 0);
	assert_false(mt_reader__truncated(r));
	assert_null(mt_reader__end_note(r, note, sizeof(note)));
	mt_reader__free(r);
}

/* Records reach the file once MT_WRITER_FLUSH_NS passed since the last flush, not before. */
static void test_flush_if_due(void **state)
{
	const char *path = tmp_path("due.mtr");
	struct mt_munmap u;
	struct mt_writer *w;
	struct stat st;
	off_t hdr;

	(void)state;
	w = mt_writer__new(create(path), &test_info);
	assert_non_null(w);
	/* the first call starts the clock, and writes the header: a file that is a trace at once */
	assert_int_equal(mt_writer__flush_if_due(w, 1000), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_int_equal(mt_writer__flush_if_due(w, 1000 + MT_WRITER_FLUSH_NS), 0);
	assert_int_equal(stat(path, &st), 0);
	hdr = st.st_size;
	assert_true(hdr > FIXED_LEN);
	fill(&u, MT_MUNMAP, sizeof(u), 1);
	assert_int_equal(mt_writer__write(w, &u.h), 0);
	assert_int_equal(mt_writer__flush_if_due(w, 1000 + MT_WRITER_FLUSH_NS + 1), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, hdr);
	assert_int_equal(mt_writer__flush_if_due(w, 1000 + 2 * MT_WRITER_FLUSH_NS), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, hdr + 4 + (off_t)sizeof(u));
	assert_int_equal(mt_writer__free(w), 0);
}

static void expect_open_error(const char *path, const char *want)
{
	char err[256];
	struct mt_reader *r = mt_reader__open(path, err, sizeof(err));

	assert_null(r);
	if (!strstr(err, want))
		fail_msg("error \"%s\" does not contain \"%s\"", err, want);
}

static void test_corrupt_header(void **state)
{
	const char *path = tmp_path("hdr.mtr"), *bad = tmp_path("hdrbad.mtr");
	unsigned char *data, *copy;
	struct mt_writer *w;
	char want[512];
	size_t len;
	uint32_t hlen;

	(void)state;
	w = mt_writer__new(create(path), &test_info);
	assert_non_null(w);
	assert_int_equal(mt_writer__set(w, "go_version", "go1.19"), 0);
	assert_int_equal(mt_writer__free(w), 0);
	data = read_whole(path, &len);
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(&hlen, data + OFF_HLEN, 4);
	assert_int_equal(hlen + END_FRAME, len);

	expect_open_error(tmp_path("missing.mtr"), "No such file or directory");
	write_file(bad, "", 0);
	expect_open_error(bad, "empty file");
	write_file(bad, "MADV", 4);
	expect_open_error(bad, "not a madvtrace trace");
	write_file(bad, "#!/bin/sh\necho hello\n", 21);
	expect_open_error(bad, "not a madvtrace trace (bad magic)");
	write_file(bad, data, 12);
	expect_open_error(bad, "truncated header");

	/* a newer version: the exact one-line message */
	memcpy(copy, data, len);
	copy[OFF_VERSION] = 7;
	write_file(bad, copy, len);
	snprintf(want, sizeof(want),
		 "%s: trace format version 7 is newer than this madvtrace supports (1)", bad);
	expect_open_error(bad, want);
	/* magic and version are enough to tell */
	write_file(bad, copy, 12);
	expect_open_error(bad, want);
	copy[OFF_VERSION] = 0;
	write_file(bad, copy, len);
	expect_open_error(bad, "unsupported trace format version 0");

	/* header length out of range */
	memcpy(copy, data, len);
	copy[OFF_HLEN] = 8;
	copy[OFF_HLEN + 1] = 0;
	write_file(bad, copy, len);
	expect_open_error(bad, "corrupt header");
	memcpy(copy, data, len);
	copy[OFF_HLEN + 3] = 0x7f;
	write_file(bad, copy, len);
	expect_open_error(bad, "corrupt header");

	/* every single flipped bit after the magic, in the header, is detected */
	for (size_t i = 8; i < hlen; i++) {
		for (int bit = 0; bit < 8; bit++) {
			char err[256];

			memcpy(copy, data, len);
			copy[i] ^= (unsigned char)(1 << bit);
			write_file(bad, copy, len);
			assert_null(mt_reader__open(bad, err, sizeof(err)));
			assert_true(strlen(err) > 0);
		}
	}
	/* and one in a string entry is reported as a checksum mismatch */
	memcpy(copy, data, len);
	copy[hlen - 8] ^= 0x20;
	write_file(bad, copy, len);
	expect_open_error(bad, "corrupt header (checksum mismatch)");
	free(copy);
	free(data);
}

static void append(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* A corrupt frame stops the reader with a message naming the byte offset. */
static void test_corrupt_frame(void **state)
{
	const char *path = tmp_path("frame.mtr");
	struct mt_munmap u;
	struct mt_writer *w;
	struct mt_reader *r;
	const struct mt_hdr *rec;
	char err[256], want[128];
	uint64_t off;
	size_t flen;
	static const struct {
		uint32_t len;
		uint16_t size;
		const char *msg;
	} cases[] = {
		{ 5, 5, "frame length 5 out of range (32..65535)" },
		{ 31, 31, "frame length 31 out of range (32..65535)" },
		{ 65536, 0, "frame length 65536 out of range (32..65535)" },
		{ 0xffffffff, 0, "frame length 4294967295 out of range (32..65535)" },
		{ 56, 48, "record size 48 does not match its frame length 56" },
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		unsigned char frame[4 + 64] = { 0 };
		struct mt_munmap bad;

		w = mt_writer__new(create(path), &test_info);
		assert_non_null(w);
		/* the bad frame right after the good one */
		assert_int_equal(mt_writer__no_end_marker(w), 0);
		fill(&u, MT_MUNMAP, sizeof(u), 1);
		assert_int_equal(mt_writer__write(w, &u.h), 0);
		assert_int_equal(mt_writer__free(w), 0);
		/* the bad frame starts where the file ends now */
		free(read_whole(path, &flen));
		off = flen;
		memcpy(frame, &cases[c].len, 4);
		fill(&bad, MT_MUNMAP, sizeof(bad), 2);
		bad.h.size = cases[c].size;
		memcpy(frame + 4, &bad, sizeof(bad));
		append(path, frame, sizeof(frame));

		r = mt_reader__open(path, err, sizeof(err));
		assert_non_null(r);
		assert_int_equal(mt_reader__next(r, &rec), 1);
		assert_int_equal(mt_reader__next(r, &rec), -1);
		snprintf(want, sizeof(want), "corrupt record at byte offset %llu: %s",
			 (unsigned long long)off, cases[c].msg);
		assert_string_equal(mt_reader__error(r), want);
		/* no path: the caller prefixes it, as for any file error */
		assert_null(strstr(mt_reader__error(r), path));
		/* the error sticks */
		assert_int_equal(mt_reader__next(r, &rec), -1);
		assert_false(mt_reader__truncated(r));
		mt_reader__free(r);
	}
}

/* A full disk must surface as -ENOSPC, from write, flush or free. */
static void test_enospc(void **state)
{
	_Alignas(8) unsigned char recs[16][MT_MAX_RECORD_SIZE];
	size_t n = make_records(recs, 5);
	struct mt_writer *w;
	int fd = open("/dev/full", O_WRONLY | O_CLOEXEC), ret = 0;

	(void)state;
	assert_true(fd >= 0);
	w = mt_writer__new(fd, &test_info);
	assert_non_null(w);
	/* enough to overflow the writer's buffer several times */
	for (int i = 0; i < 20000 && !ret; i++)
		ret = mt_writer__write(w, (const struct mt_hdr *)recs[i % n]);
	assert_int_equal(ret, -ENOSPC);
	assert_int_equal(mt_writer__flush(w), -ENOSPC);
	assert_int_equal(mt_writer__free(w), -ENOSPC);

	/* a small trace fails at flush time */
	fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	w = mt_writer__new(fd, &test_info);
	assert_int_equal(mt_writer__write(w, (const struct mt_hdr *)recs[0]), -ENOSPC);
	assert_int_equal(mt_writer__free(w), -ENOSPC);

	fd = open("/dev/full", O_WRONLY | O_CLOEXEC);
	w = mt_writer__new(fd, &test_info);
	assert_int_equal(mt_writer__free(w), -ENOSPC);
}

/* An error after the header (reader gone): records fail with -EPIPE, and it sticks. */
static void test_error_after_header(void **state)
{
	_Alignas(8) unsigned char recs[16][MT_MAX_RECORD_SIZE];
	size_t n = make_records(recs, 6);
	struct mt_writer *w;
	int p[2], ret = 0, i;

	(void)state;
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(pipe(p), 0);
	w = mt_writer__new(p[1], &test_info);
	assert_non_null(w);
	assert_int_equal(mt_writer__flush(w), 0); /* the header fits in the pipe */
	close(p[0]);
	for (i = 0; i < 20000 && !ret; i++)
		ret = mt_writer__write(w, (const struct mt_hdr *)recs[i % n]);
	assert_int_equal(ret, -EPIPE);
	assert_true(i > 1); /* failed when the buffer was pushed, not at once */
	assert_int_equal(mt_writer__write(w, (const struct mt_hdr *)recs[0]), -EPIPE);
	assert_int_equal(mt_writer__free(w), -EPIPE);
	signal(SIGPIPE, SIG_DFL);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/*
 * Write into a pipe drained slowly by a child while a timer interrupts
 * write(2) (no SA_RESTART): the writer sees EINTR and short writes and must
 * still produce an intact file.
 */
static void test_interrupted_writes(void **state)
{
	const char *path = tmp_path("pipe.mtr");
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { { 0, 500 }, { 0, 500 } }, off = { 0 };
	struct mt_munmap u;
	struct mt_writer *w;
	struct mt_reader *r;
	const struct mt_hdr *rec;
	char err[256];
	int p[2], status;
	const uint64_t nrec = 200000;
	uint64_t got = 0;
	pid_t child;

	(void)state;
	assert_int_equal(pipe(p), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char buf[4096];
		int out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		ssize_t n;
		unsigned k = 0;

		close(p[1]);
		while ((n = read(p[0], buf, sizeof(buf))) > 0) {
			if (write(out, buf, (size_t)n) != n)
				_exit(1);
			if (++k % 64 == 0)
				usleep(5000); /* keep the pipe full so writes block */
		}
		_exit(n < 0 ? 1 : 0);
	}
	close(p[0]);
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	w = mt_writer__new(p[1], &test_info);
	assert_non_null(w);
	for (uint64_t i = 0; i < nrec; i++) {
		fill(&u, MT_MUNMAP, sizeof(u), (unsigned)i);
		u.h.t_ns = i;
		assert_int_equal(mt_writer__write(w, &u.h), 0);
	}
	assert_int_equal(mt_writer__free(w), 0);
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* the test only means something if write(2) was interrupted */
	assert_true(alarms > 0);

	r = mt_reader__open(path, err, sizeof(err));
	assert_non_null(r);
	while (mt_reader__next(r, &rec) == 1) {
		fill(&u, MT_MUNMAP, sizeof(u), (unsigned)got);
		u.h.t_ns = got;
		assert_memory_equal(rec, &u, sizeof(u));
		got++;
	}
	assert_false(mt_reader__truncated(r));
	assert_int_equal(got, nrec);
	mt_reader__free(r);
}

/* Many records stream through the reader's fixed buffer. */
static void test_many_records(void **state)
{
	const char *path = tmp_path("many.mtr");
	const uint64_t nrec = 1000000;
	struct mt_madvise a;
	struct mt_writer *w;
	struct mt_reader *r;
	const struct mt_hdr *rec;
	uint64_t i = 0, len_sum = 0, want_sum = 0;
	char err[256];

	(void)state;
	w = mt_writer__new(create(path), &test_info);
	assert_non_null(w);
	memset(&a, 0, sizeof(a));
	a.h.type = MT_MADVISE;
	a.h.size = sizeof(a);
	for (i = 0; i < nrec; i++) {
		a.h.t_ns = i;
		a.len = i * 4096;
		want_sum += a.len;
		assert_int_equal(mt_writer__write(w, &a.h), 0);
	}
	assert_int_equal(mt_writer__free(w), 0);
	r = mt_reader__open(path, err, sizeof(err));
	assert_non_null(r);
	i = 0;
	while (mt_reader__next(r, &rec) == 1) {
		assert_true(rec->t_ns == i);
		len_sum += ((const struct mt_madvise *)rec)->len;
		i++;
	}
	assert_true(i == nrec);
	assert_true(len_sum == want_sum);
	assert_false(mt_reader__truncated(r));
	mt_reader__free(r);
}

/* A writer's own I/O (what the preload agent gives it): the callbacks see every byte, once. */
struct sink {
	unsigned char *data;
	size_t len, cap;
	int fail_after; /* calls before write_all fails with -EIO; <0: never */
	int writes, closes, close_err;
};

static int sink_write(void *ctx, const void *buf, size_t len)
{
	struct sink *s = ctx;

	if (s->fail_after >= 0 && s->writes >= s->fail_after)
		return -EIO;
	s->writes++;
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->data = realloc(s->data, s->cap);
		assert_non_null(s->data);
	}
	memcpy(s->data + s->len, buf, len);
	s->len += len;
	return 0;
}

static int sink_close(void *ctx)
{
	struct sink *s = ctx;

	s->closes++;
	return s->close_err;
}

static const struct mt_writer_io sink_io = { .write_all = sink_write, .close = sink_close };

static void test_writer_io(void **state)
{
	_Alignas(8) unsigned char recs[16][MT_MAX_RECORD_SIZE];
	const char *path = tmp_path("io.mtr");
	struct sink s = { .fail_after = -1 };
	const struct mt_writer_io no_close = { .write_all = sink_write };
	struct mt_writer *w;
	unsigned char *want;
	size_t n = make_records(recs, 9), len;

	(void)state;
	/* the same trace through the callbacks and through a descriptor: the same bytes */
	w = mt_writer__new_io(&sink_io, &s, &test_info);
	assert_non_null(w);
	assert_int_equal(mt_writer__set(w, "go_version", "go1.19.8"), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(mt_writer__write(w, (const struct mt_hdr *)recs[i]), 0);
	assert_int_equal(s.writes, 1); /* the header; the records wait in the buffer */
	assert_int_equal(mt_writer__free(w), 0);
	assert_int_equal(s.closes, 1);
	w = mt_writer__new(create(path), &test_info);
	assert_non_null(w);
	assert_int_equal(mt_writer__set(w, "go_version", "go1.19.8"), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(mt_writer__write(w, (const struct mt_hdr *)recs[i]), 0);
	assert_int_equal(mt_writer__free(w), 0);
	want = read_whole(path, &len);
	assert_int_equal(s.len, len);
	assert_memory_equal(s.data, want, len);
	free(want);

	/* a write error sticks; a close error is returned when nothing failed before it */
	s.len = 0;
	s.writes = s.closes = 0;
	s.fail_after = 1;
	w = mt_writer__new_io(&sink_io, &s, &test_info);
	assert_int_equal(mt_writer__flush(w), 0); /* the header */
	assert_int_equal(mt_writer__write(w, (const struct mt_hdr *)recs[0]), 0);
	assert_int_equal(mt_writer__flush(w), -EIO);
	assert_int_equal(mt_writer__write(w, (const struct mt_hdr *)recs[0]), -EIO);
	s.close_err = -EBADF;
	assert_int_equal(mt_writer__free(w), -EIO);
	assert_int_equal(s.closes, 1);
	s.fail_after = -1;
	w = mt_writer__new_io(&sink_io, &s, &test_info);
	assert_int_equal(mt_writer__free(w), -EBADF);

	/* no close callback: the destination stays the caller's */
	s.closes = 0;
	w = mt_writer__new_io(&no_close, &s, &test_info);
	assert_int_equal(mt_writer__free(w), 0);
	assert_int_equal(s.closes, 0);
	/* refused: no callbacks, no info */
	errno = 0;
	assert_null(mt_writer__new_io(NULL, &s, &test_info));
	assert_int_equal(errno, EINVAL);
	assert_null(mt_writer__new_io(&sink_io, &s, NULL));
	assert_int_equal(s.closes, 0);
	free(s.data);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Put a u32 little-endian. */
static void le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/*
 * A 1 MiB header of 116000 distinct keys (anyone can hand madvtrace one):
 * each entry was looked up among all the others, 37 s for `dump`. The last
 * of two equal keys still wins.
 */
static void test_many_header_entries(void **state)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const uint32_t n = 116000;
	size_t hlen = FIXED_LEN + (size_t)n * 9 + 2 * 9 + 4;
	unsigned char *h = calloc(1, hlen), *p;
	const char *path = tmp_path("keys.mtr");
	struct mt_reader *r;
	char err[256];
	double t0;

	(void)state;
	assert_non_null(h);
	memcpy(h, "MADVTRC", 8);
	le32(h + OFF_VERSION, 1);
	le32(h + OFF_HLEN, (uint32_t)hlen);
	le32(h + 16, 4096);
	le32(h + 20, 1);
	le32(h + 48, n + 2);
	p = h + FIXED_LEN;
	for (uint32_t i = 0; i < n + 2; i++) {
		uint32_t k = i < n ? i : 0; /* two more of key 0, the last says "z" */

		p[0] = 3;
		le32(p + 2, 0);
		p[6] = (unsigned char)digits[k % 64];
		p[7] = (unsigned char)digits[k / 64 % 64];
		p[8] = (unsigned char)digits[k / 4096 % 64];
		if (i >= n) {
			le32(p + 2, 1);
			p[9] = i == n ? 'y' : 'z';
			p++;
		}
		p += 9;
	}
	hlen = (size_t)(p - h) + 4;
	le32(h + OFF_HLEN, (uint32_t)hlen);
	le32(p, (uint32_t)crc32(0L, h, (uInt)(hlen - 4)));
	write_file(path, h, hlen);
	free(h);
	t0 = now_s();
	r = mt_reader__open(path, err, sizeof(err));
	if (!r)
		fail_msg("%s", err);
	if (now_s() - t0 > 1.0)
		fail_msg("opening a header of %u entries took %.2f s", n, now_s() - t0);
	assert_string_equal(mt_reader__get(r, "AAA"), "z");
	assert_string_equal(mt_reader__get(r, "BAA"), "");
	assert_string_equal(mt_reader__get(r, "page_size"), "4096");
	mt_reader__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_short_long_records),
		cmocka_unit_test(test_bad_records_rejected_by_writer),
		cmocka_unit_test(test_empty_trace),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_corrupt_header),
		cmocka_unit_test(test_corrupt_frame),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_error_after_header),
		cmocka_unit_test(test_interrupted_writes),
		cmocka_unit_test(test_many_records),
		cmocka_unit_test(test_writer_io),
		cmocka_unit_test(test_many_header_entries),
		cmocka_unit_test(test_no_end_marker),
		cmocka_unit_test(test_flush_if_due),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
