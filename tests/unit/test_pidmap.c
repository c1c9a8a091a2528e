// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The pid map against a plain array: random inserts, finds and deletes
 * (clustered pids, so probe runs form and deletion has to shift them back),
 * then a walk that must visit every entry once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <errno.h>
#include <cmocka.h>
#include "pidmap.h"

#define NKEYS 600

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A distinct non-NULL value per pid, to check that values travel with their keys. */
static void *val_of(uint32_t pid)
{
	static char vals[NKEYS];

	return &vals[pid % NKEYS];
}

static size_t count(const struct mt_pidmap *m)
{
	size_t n = 0, it = 0;

	while (mt_pidmap__next(m, &it, NULL, NULL))
		n++;
	return n;
}

static void check_all(const struct mt_pidmap *m, const bool *in, const uint32_t *keys)
{
	size_t n = 0, it = 0;
	uint32_t pid;
	void *v;
	int seen[NKEYS] = {0};

	for (int k = 0; k < NKEYS; k++) {
		assert_ptr_equal(mt_pidmap__find(m, keys[k]), in[k] ? val_of(keys[k]) : NULL);
		n += in[k];
	}
	assert_int_equal(count(m), n);
	while (mt_pidmap__next(m, &it, &pid, &v)) {
		int k = (int)(pid % NKEYS);

		assert_int_equal(keys[k], pid);
		assert_true(in[k]);
		assert_ptr_equal(v, val_of(pid));
		seen[k]++;
	}
	for (int k = 0; k < NKEYS; k++)
		assert_int_equal(seen[k], in[k] ? 1 : 0);
}

static void test_random(void **state)
{
	struct mt_pidmap m;
	uint32_t keys[NKEYS];
	bool in[NKEYS] = {false};

	(void)state;
	/* key k is k + NKEYS * j: the same home slots often, pid 0 included */
	for (int k = 0; k < NKEYS; k++)
		keys[k] = (uint32_t)k + NKEYS * (uint32_t)(rnd() % 3);
	mt_pidmap__init(&m);
	assert_null(mt_pidmap__find(&m, 0));
	assert_null(mt_pidmap__delete(&m, 0));
	for (int step = 0; step < 200000; step++) {
		int k = (int)(rnd() % NKEYS);

		/* grow towards 2/3 of the keys, then shrink, then grow again */
		if ((int)(rnd() % 100) < (step / 50000 % 2 ? 30 : 66)) {
			int err = mt_pidmap__insert(&m, keys[k], val_of(keys[k]));

			assert_int_equal(err, in[k] ? -EEXIST : 0);
			in[k] = true;
		} else {
			assert_ptr_equal(mt_pidmap__delete(&m, keys[k]), in[k] ? val_of(keys[k]) : NULL);
			in[k] = false;
		}
		if (step % 997 == 0)
			check_all(&m, in, keys);
	}
	check_all(&m, in, keys);
	mt_pidmap__fini(&m);
	assert_int_equal(count(&m), 0);
	assert_null(mt_pidmap__find(&m, keys[0]));
}

static void test_edges(void **state)
{
	struct mt_pidmap m;
	size_t it = 0;
	int a;

	(void)state;
	mt_pidmap__init(&m);
	assert_int_equal(mt_pidmap__insert(&m, 5, NULL), -EINVAL);
	assert_false(mt_pidmap__next(&m, &it, NULL, NULL));
	assert_int_equal(mt_pidmap__insert(&m, UINT32_MAX, &a), 0);
	assert_int_equal(mt_pidmap__insert(&m, UINT32_MAX, &a), -EEXIST);
	assert_ptr_equal(mt_pidmap__find(&m, UINT32_MAX), &a);
	assert_int_equal(count(&m), 1);
	assert_true(mt_pidmap__next(&m, &it, NULL, NULL));
	assert_false(mt_pidmap__next(&m, &it, NULL, NULL));
	assert_ptr_equal(mt_pidmap__delete(&m, UINT32_MAX), &a);
	assert_int_equal(count(&m), 0);
	mt_pidmap__fini(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
