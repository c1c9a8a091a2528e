// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The preload agent's record ring (agent/ring.c): what comes out is what
 * went in, in order, in trace-file framing (checked by writing it after a
 * header and reading it back with the trace reader), across the end of the
 * buffer, when full, behind a record still being written, and with several
 * producers and a consumer running at once.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "ring.h"
#include "tracefile.h"

#define SIZE 4096

/* A munmap record whose fields say who wrote it and which one it is. */
static void fill(struct mt_munmap *m, uint32_t tid, uint64_t seq)
{
	memset(m, 0, sizeof(*m));
	m->h.type = MT_MUNMAP;
	m->h.size = sizeof(*m);
	m->h.tid = tid;
	m->h.t_ns = seq;
	m->addr = seq * 4096;
	m->len = tid;
}

static bool put(struct mt_ring *r, uint32_t tid, uint64_t seq)
{
	struct mt_munmap m;
	void *p = mt_ring_reserve(r, sizeof(m));

	if (!p)
		return false;
	fill(&m, tid, seq);
	memcpy(p, &m, sizeof(m));
	mt_ring_commit(p);
	return true;
}

/* Take everything complete out of the ring, appending it to out. */
static size_t take(struct mt_ring *r, unsigned char *out, size_t have, size_t cap)
{
	uint64_t off;
	uint32_t n;

	while ((n = mt_ring_peek(r, &off, 1 << 16))) {
		assert_true(have + n <= cap);
		memcpy(out + have, r->data + off, n);
		have += n;
		mt_ring_release(r, n);
	}
	return have;
}

/* Walk frames: each a 4-byte length equal to the record's size, records in seq order. */
static uint64_t check_frames(const unsigned char *buf, size_t len, uint64_t first)
{
	uint64_t seq = first;
	size_t off = 0;

	while (off < len) {
		struct mt_munmap m;
		uint32_t flen;

		assert_true(off + 4 <= len);
		memcpy(&flen, buf + off, 4);
		assert_int_equal(flen, sizeof(m));
		memcpy(&m, buf + off + 4, sizeof(m));
		assert_int_equal(m.h.size, flen);
		assert_int_equal(m.h.t_ns, seq);
		assert_int_equal(m.addr, seq * 4096);
		seq++;
		off += 4 + flen;
	}
	return seq;
}

static void *ring_mem(size_t size)
{
	void *mem = aligned_alloc(4096, size);

	assert_non_null(mem);
	memset(mem, 0, size);
	return mem;
}

/* The consumer finds nothing complete: with no reservation open, the ring is empty. */
static int empty(struct mt_ring *r)
{
	uint64_t off;

	return mt_ring_peek(r, &off, 1u << 20) == 0;
}

static void test_in_order_and_wrapping(void **state)
{
	struct mt_ring r;
	void *mem = ring_mem(SIZE);
	unsigned char *out = malloc(1 << 20);
	size_t have = 0;
	uint64_t seq = 0, next = 0;

	(void)state;
	mt_ring_init(&r, mem, SIZE);
	/* 60-byte frames do not divide 4096: the end of the buffer is padded, round after round */
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < 40; i++)
			if (put(&r, 1, seq))
				seq++;
		have = take(&r, out, have, 1 << 20);
		assert_int_equal(empty(&r), 1);
	}
	next = check_frames(out, have, 0);
	assert_int_equal(seq, 50 * 40); /* 2000 frames through 4 KiB: the end came round often */
	assert_int_equal(next, seq);
	free(out);
	free(mem);
}

static void test_full(void **state)
{
	struct mt_ring r;
	void *mem = ring_mem(SIZE);
	unsigned char out[SIZE];
	size_t have;
	int n = 0;

	(void)state;
	mt_ring_init(&r, mem, SIZE);
	while (put(&r, 1, (uint64_t)n))
		n++;
	assert_int_equal(n, SIZE / 60);
	/* nothing was half-written: all of it comes out, and then nothing */
	have = take(&r, out, 0, sizeof(out));
	assert_int_equal(check_frames(out, have, 0), (uint64_t)n);
	assert_int_equal(empty(&r), 1);
	assert_true(put(&r, 1, (uint64_t)n));
	free(mem);
}

static void test_uncommitted_holds_back(void **state)
{
	struct mt_ring r;
	void *mem = ring_mem(SIZE);
	unsigned char out[SIZE];
	struct mt_munmap m;
	uint64_t off;
	size_t have;
	void *held;

	(void)state;
	mt_ring_init(&r, mem, SIZE);
	assert_true(put(&r, 1, 0));
	held = mt_ring_reserve(&r, sizeof(m)); /* record 1, still being written */
	assert_non_null(held);
	assert_true(put(&r, 1, 2));
	/* only what comes before the record being written is complete */
	assert_int_equal(mt_ring_peek(&r, &off, 1 << 16), 4 + sizeof(m));
	have = take(&r, out, 0, sizeof(out));
	assert_int_equal(check_frames(out, have, 0), 1);
	assert_int_equal(mt_ring_peek(&r, &off, 1 << 16), 0);
	fill(&m, 1, 1);
	memcpy(held, &m, sizeof(m));
	mt_ring_commit(held);
	have = take(&r, out, 0, sizeof(out));
	assert_int_equal(check_frames(out, have, 1), 3);
	free(mem);
}

/* The ring's output after a header is a trace file the reader reads back whole. */
static void test_trace_file(void **state)
{
	char path[] = "/tmp/mt-ring-XXXXXX";
	struct mt_file_info info = { .page_size = 4096, .clock_id = 1, .backend = MT_BACKEND_PRELOAD };
	const struct mt_hdr *rec;
	struct mt_reader *rd;
	struct mt_writer *w;
	struct mt_ring r;
	void *mem = ring_mem(SIZE);
	unsigned char out[SIZE];
	char err[256];
	size_t have;
	uint64_t n = 0;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	w = mt_writer__new(dup(fd), &info);
	assert_non_null(w);
	/* as the agent's create_trace: the records follow from other writers, no end marker */
	assert_int_equal(mt_writer__no_end_marker(w), 0);
	assert_int_equal(mt_writer__flush(w), 0);
	assert_int_equal(mt_writer__free(w), 0);
	mt_ring_init(&r, mem, SIZE);
	for (uint64_t i = 0; i < 30; i++)
		assert_true(put(&r, 7, i));
	have = take(&r, out, 0, sizeof(out));
	assert_int_equal(write(fd, out, have), (ssize_t)have);
	close(fd);
	rd = mt_reader__open(path, err, sizeof(err));
	assert_non_null(rd);
	assert_int_equal(mt_reader__info(rd)->backend, MT_BACKEND_PRELOAD);
	while (mt_reader__next(rd, &rec) == 1) {
		const struct mt_munmap *m = (const void *)rec;

		assert_int_equal(rec->type, MT_MUNMAP);
		assert_int_equal(rec->tid, 7);
		assert_int_equal(m->addr, n * 4096);
		n++;
	}
	assert_false(mt_reader__truncated(rd));
	assert_int_equal(n, 30);
	mt_reader__free(rd);
	unlink(path);
	free(mem);
}

#define PRODUCERS 4
#define PER_PRODUCER 200000

static struct mt_ring shared;
static volatile int producers_done;

static void *producer(void *arg)
{
	uint32_t tid = (uint32_t)(uintptr_t)arg;

	for (uint64_t i = 0; i < PER_PRODUCER; i++)
		while (!put(&shared, tid, i))
			sched_yield(); /* full: the consumer will make room */
	__atomic_add_fetch(&producers_done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Several threads at once: every record once, each thread's in its order. */
static void test_concurrent(void **state)
{
	uint64_t next[PRODUCERS + 1] = { 0 }, total = 0;
	pthread_t t[PRODUCERS];
	void *mem = ring_mem(1 << 16);
	uint64_t off;
	uint32_t n;

	(void)state;
	mt_ring_init(&shared, mem, 1 << 16);
	for (uintptr_t i = 0; i < PRODUCERS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, producer, (void *)(i + 1)), 0);
	for (;;) {
		bool done = __atomic_load_n(&producers_done, __ATOMIC_ACQUIRE) == PRODUCERS;

		while ((n = mt_ring_peek(&shared, &off, 1 << 14))) {
			for (uint32_t pos = 0; pos < n;) {
				struct mt_munmap m;
				uint32_t flen;

				memcpy(&flen, shared.data + off + pos, 4);
				assert_int_equal(flen, sizeof(m));
				memcpy(&m, shared.data + off + pos + 4, sizeof(m));
				assert_true(m.h.tid >= 1 && m.h.tid <= PRODUCERS);
				assert_int_equal(m.len, m.h.tid);
				assert_int_equal(m.h.t_ns, next[m.h.tid]);
				next[m.h.tid]++;
				total++;
				pos += 4 + flen;
			}
			mt_ring_release(&shared, n);
		}
		if (done && empty(&shared))
			break;
	}
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(total, (uint64_t)PRODUCERS * PER_PRODUCER);
	free(mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order_and_wrapping),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_uncommitted_holds_back),
		cmocka_unit_test(test_trace_file),
		cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
