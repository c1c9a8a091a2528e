// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The agent's stream as madvtrace reads it (loader/format/agent_stream.c):
 * messages built frame by frame as docs/backends.md lays them out, each
 * record checked against what was put in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>
#include "agent_proto.h"
#include "agent_stream.h"
#include "records.h"

struct got {
	int n;
	uint64_t t[16];
	uint16_t type[16];
	int misaligned;
};

static void take(void *ctx, const struct mt_hdr *rec)
{
	struct got *g = ctx;

	if ((uintptr_t)rec % 8)
		g->misaligned++;
	if (g->n < 16) {
		g->t[g->n] = rec->t_ns;
		g->type[g->n] = rec->type;
	}
	g->n++;
}

/* Append one frame (length, then the record's bytes) to msg at *off. */
static void frame(unsigned char *msg, size_t *off, const void *rec, uint32_t flen)
{
	memcpy(msg + *off, &flen, 4);
	memcpy(msg + *off + 4, rec, flen);
	*off += 4 + flen;
}

static struct mt_munmap munmap_rec(uint64_t t)
{
	struct mt_munmap m;

	memset(&m, 0, sizeof(m));
	mt_record_init(&m.h, MT_MUNMAP, sizeof(m), 10, 10, t);
	m.addr = 0x7f0000000000;
	m.len = 4096;
	return m;
}

static void test_frames_in_order(void **state)
{
	static unsigned char msg[4096];
	struct mt_munmap a = munmap_rec(1), b = munmap_rec(2);
	struct got g = { 0 };
	size_t off = 0;

	(void)state;
	assert_int_equal(mt_agent_stream__parse(msg, 0, take, &g), 0);
	frame(msg, &off, &a, sizeof(a));
	frame(msg, &off, &b, sizeof(b));
	assert_int_equal(mt_agent_stream__parse(msg, off, take, &g), 2);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.t[0], 1);
	assert_int_equal(g.t[1], 2);
	assert_int_equal(g.type[0], MT_MUNMAP);
	/* the second frame starts 4 + 40 bytes in: only 4-byte aligned, handed over aligned */
	assert_int_equal(g.misaligned, 0);
}

static void test_size_mismatch_skipped(void **state)
{
	static unsigned char msg[4096];
	struct mt_munmap a = munmap_rec(1), b = munmap_rec(2), c = munmap_rec(3);
	struct got g = { 0 };
	size_t off = 0;

	(void)state;
	b.h.size = sizeof(b) - 8; /* says less than its frame */
	frame(msg, &off, &a, sizeof(a));
	frame(msg, &off, &b, sizeof(b));
	frame(msg, &off, &c, sizeof(c));
	assert_int_equal(mt_agent_stream__parse(msg, off, take, &g), 2);
	assert_int_equal(g.t[0], 1);
	assert_int_equal(g.t[1], 3);
}

static void test_note_without_nul_skipped(void **state)
{
	static unsigned char msg[4096];
	struct mt_agent_note n;
	struct got g = { 0 };
	size_t off = 0;

	(void)state;
	memset(&n, 0, sizeof(n));
	mt_record_init(&n.h, MT_AGENT_NOTE, sizeof(n), 10, 10, 5);
	n.level = MT_NOTE_WARN;
	memset(n.text, 'x', sizeof(n.text));
	frame(msg, &off, &n, sizeof(n));
	n.text[sizeof(n.text) - 1] = '\0';
	n.h.t_ns = 6;
	frame(msg, &off, &n, sizeof(n));
	assert_int_equal(mt_agent_stream__parse(msg, off, take, &g), 1);
	assert_int_equal(g.t[0], 6);
	assert_int_equal(g.type[0], MT_AGENT_NOTE);
}

/* A bad frame length: the frames before it are handed over, nothing after it. */
static void bad_length(uint32_t flen, size_t cut)
{
	static unsigned char msg[1 << 17];
	struct mt_munmap a = munmap_rec(1), c = munmap_rec(3);
	struct got g = { 0 };
	size_t off = 0;

	frame(msg, &off, &a, sizeof(a));
	memcpy(msg + off, &flen, 4);
	memset(msg + off + 4, 0, sizeof(msg) - off - 4 < 65536 ? 0 : 65536);
	off += 4 + (flen <= 65535 ? flen : 0);
	frame(msg, &off, &c, sizeof(c));
	assert_int_equal(mt_agent_stream__parse(msg, cut ? cut : off, take, &g), -EBADMSG);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.t[0], 1);
}

static void test_bad_lengths(void **state)
{
	(void)state;
	bad_length(0, 0);
	bad_length(sizeof(struct mt_hdr) - 1, 0);
	bad_length(65536, 0);
	bad_length(0xffffffffu, 0);
	/* longer than what is left of the message */
	bad_length(1000, 4 + sizeof(struct mt_munmap) + 4 + 999);
}

static void test_trailing_bytes(void **state)
{
	static unsigned char msg[4096];
	struct mt_munmap a = munmap_rec(1);
	struct got g = { 0 };
	size_t off = 0;

	(void)state;
	frame(msg, &off, &a, sizeof(a));
	assert_int_equal(mt_agent_stream__parse(msg, off + 3, take, &g), -EBADMSG);
	assert_int_equal(g.n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_in_order),
		cmocka_unit_test(test_size_mismatch_skipped),
		cmocka_unit_test(test_note_without_nul_skipped),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_trailing_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
