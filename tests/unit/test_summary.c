// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The end-of-session table (the timeline's summary, printed by report/live.c)
 * against an independent tally: a pseudo-random session is generated and
 * counted here by the rules of the table's contract, then compared with the
 * timeline's figures and with the printed table.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fmt.h"
#include "records.h"
#include "xlat.h"
#include "live.h"
#include "records.h"
#include "timeline.h"

#define NPIDS 3
#define NREC 20000

static const uint32_t pids[NPIDS] = { 4000, 4001, 4002 };

struct tally {
	uint64_t calls[MT_TYPE_MAX], errors[MT_TYPE_MAX], bytes[MT_TYPE_MAX];
	uint64_t adv_calls[128], adv_errors[128], adv_bytes[128];
	uint64_t records, lost;
	bool has_rss[NPIDS];
	uint64_t first[NPIDS], last[NPIDS], peak[NPIDS], total_peak;
	uint64_t lazyfree[NPIDS];
	bool has_lazy[NPIDS];
	bool has_brk[NPIDS];
	uint64_t brk[NPIDS];
};

/* The table's figures, as the old summary's accessors gave them. */
static struct mt_timeline *table_new(void)
{
	struct mt_timeline_opts o = {0};

	return mt_timeline__new(&o);
}

static const struct mt_summary *sum(const struct mt_timeline *tl)
{
	return mt_timeline__summary(tl);
}

static struct mt_tally type_tally(const struct mt_timeline *tl, uint16_t type)
{
	struct mt_tally none = {0};

	return type < MT_TYPE_MAX ? sum(tl)->delivered[type] : none;
}

static struct mt_tally advice_tally(const struct mt_timeline *tl, int advice)
{
	struct mt_tally t, none = {0};
	int a;

	for (size_t i = 0; mt_timeline__advice_tally(tl, i, &a, &t); i++)
		if (a == advice)
			return t;
	return none;
}

#define table_add(tl, rec) mt_timeline__feed(tl, rec)
#define table_records(tl) (sum(tl)->records)
#define table_lost(tl) (sum(tl)->lost_events)
#define table_main_pid(tl) (sum(tl)->first_pid)
#define table_nr_rss_procs(tl) (sum(tl)->rss_procs)
#define table_calls(tl, ty) (type_tally(tl, ty).calls)
#define table_errors(tl, ty) (type_tally(tl, ty).errors)
#define table_bytes(tl, ty) (type_tally(tl, ty).bytes)
#define table_advice_calls(tl, a) (advice_tally(tl, a).calls)
#define table_advice_errors(tl, a) (advice_tally(tl, a).errors)
#define table_advice_bytes(tl, a) (advice_tally(tl, a).bytes)
#define table_rss(tl, pid, out) mt_timeline__rss(tl, pid, out)
#define table_rss_total(tl, out) mt_timeline__rss_total(tl, out)
#define table_print(tl, f) mt_live__print_summary(tl, f)
#define table_free(tl) mt_timeline__free(tl)

static uint64_t rng_state = 88172645463325252ull;

static uint64_t rnd(void)
{
	/* xorshift64: deterministic, so a failure reproduces */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static int64_t rnd_ret(bool addr)
{
	static const int errs[] = { 12, 22, 14, 1 };

	if (rnd() % 5 == 0)
		return -errs[rnd() % 4];
	return addr ? (int64_t)(0x7f0000000000ull + (rnd() % 1000) * 4096) : 0;
}

static void gen(struct mt_timeline *s, struct tally *t)
{
	static const int advs[] = { 4, 8, 8, 8, 9, 14, 21, 77, 103 };
	union {
		struct mt_hdr h;
		struct mt_mmap mmap;
		struct mt_munmap munmap;
		struct mt_mremap mremap;
		struct mt_madvise madvise;
		struct mt_brk brk;
		struct mt_mprotect mprotect;
		struct mt_rss rss;
		struct mt_task task;
		struct mt_lost lost;
	} u;

	for (int i = 0; i < NREC; i++) {
		int p = (int)(rnd() % NPIDS);
		uint16_t type = (uint16_t)(rnd() % (MT_TYPE_MAX + 1)); /* incl. unknown types */
		uint64_t len = (rnd() % 4096 + 1) * 4096;
		bool ok;

		if (i == 0) { /* the main target comes first */
			p = 0;
			type = MT_TASK;
		}
		if (type == 0)
			type = 77;
		memset(&u, 0, sizeof(u));
		u.h.type = type;
		u.h.size = sizeof(u);
		u.h.pid = pids[p];
		u.h.tid = pids[p] + 100;
		u.h.t_ns = (uint64_t)i * 1000;
		t->records++;
		switch (type) {
		case MT_MMAP:
			u.mmap.len = len;
			u.mmap.ret = rnd_ret(true);
			ok = u.mmap.ret >= 0;
			break;
		case MT_MUNMAP:
			u.munmap.len = len;
			u.munmap.ret = rnd_ret(false);
			ok = u.munmap.ret >= 0;
			break;
		case MT_MREMAP:
			u.mremap.old_len = len;
			u.mremap.new_len = len * 2;
			u.mremap.ret = rnd_ret(true);
			ok = u.mremap.ret >= 0;
			len *= 2; /* mremap counts the new length */
			break;
		case MT_MADVISE: {
			int a = advs[rnd() % 9];

			u.madvise.len = len;
			u.madvise.advice = a;
			u.madvise.ret = rnd_ret(false);
			ok = u.madvise.ret >= 0;
			t->adv_calls[a]++;
			t->adv_errors[a] += !ok;
			t->adv_bytes[a] += ok ? len : 0;
			break;
		}
		case MT_BRK: {
			uint64_t base = 0x555555000000ull + (rnd() % 64) * 4096;
			int kind = (int)(rnd() % 3);

			/* query, move, or a refused move (the old break comes back) */
			u.brk.addr = kind == 0 ? 0 : base;
			if (kind == 2 && t->has_brk[p] && t->brk[p] != base)
				u.brk.ret = (int64_t)t->brk[p];
			else
				u.brk.ret = (int64_t)(kind == 0 && t->has_brk[p] ? t->brk[p]
										 : base);
			ok = !u.brk.addr || (uint64_t)u.brk.ret == u.brk.addr;
			len = 0;
			if (ok && t->has_brk[p]) {
				uint64_t nb = (uint64_t)u.brk.ret;

				len = nb > t->brk[p] ? nb - t->brk[p] : t->brk[p] - nb;
			}
			t->has_brk[p] = true;
			t->brk[p] = (uint64_t)u.brk.ret;
			break;
		}
		case MT_MPROTECT:
			u.mprotect.len = len;
			u.mprotect.ret = rnd_ret(false);
			ok = u.mprotect.ret >= 0;
			break;
		case MT_RSS: {
			uint64_t v, total = 0;

			u.rss.anon = rnd() % (1ull << 32);
			u.rss.file = rnd() % (1ull << 28);
			u.rss.shmem = rnd() % (1ull << 20);
			u.rss.swap = rnd() % (1ull << 30); /* not part of RSS */
			if (rnd() % 4 == 0) {
				u.h.flags |= MT_F_SMAPS;
				u.rss.lazyfree = rnd() % (1ull << 30);
				t->lazyfree[p] = u.rss.lazyfree;
				t->has_lazy[p] = true;
			}
			v = u.rss.anon + u.rss.file + u.rss.shmem;
			if (!t->has_rss[p]) {
				t->has_rss[p] = true;
				t->first[p] = v;
				t->peak[p] = v;
			}
			t->last[p] = v;
			if (v > t->peak[p])
				t->peak[p] = v;
			for (int k = 0; k < NPIDS; k++)
				total += t->has_rss[k] ? t->last[k] : 0;
			if (total > t->total_peak)
				t->total_peak = total;
			assert_int_equal(table_add(s, &u.h), 0);
			continue;
		}
		case MT_LOST:
			u.lost.count = rnd() % 1000;
			u.lost.cpu = (uint32_t)(rnd() % 2 ? ~0u : 1);
			t->lost += u.lost.count;
			assert_int_equal(table_add(s, &u.h), 0);
			continue;
		default:
			assert_int_equal(table_add(s, &u.h), 0);
			continue;
		}
		t->calls[type]++;
		t->errors[type] += !ok;
		t->bytes[type] += ok ? len : 0;
		assert_int_equal(table_add(s, &u.h), 0);
	}
}

static void test_counts(void **state)
{
	struct mt_timeline *s = table_new();
	struct tally *t = calloc(1, sizeof(*t));
	struct mt_summary_rss r;
	uint64_t first = 0, last = 0, lazy = 0;

	(void)state;
	assert_non_null(s);
	assert_non_null(t);
	assert_int_equal(table_main_pid(s), 0);
	assert_false(table_rss_total(s, &r));
	gen(s, t);

	assert_int_equal(table_records(s), t->records);
	assert_int_equal(table_lost(s), t->lost);
	assert_int_equal(table_main_pid(s), pids[0]);
	for (uint16_t ty = MT_MMAP; ty <= MT_MPROTECT; ty++) {
		assert_true(t->calls[ty] > 0);
		assert_int_equal(table_calls(s, ty), t->calls[ty]);
		assert_int_equal(table_errors(s, ty), t->errors[ty]);
		assert_int_equal(table_bytes(s, ty), t->bytes[ty]);
	}
	assert_true(t->errors[MT_BRK] > 0); /* refused brk moves are errors */
	assert_int_equal(table_calls(s, MT_RSS), 0);
	assert_int_equal(table_calls(s, 500), 0);
	for (int a = 0; a < 128; a++) {
		assert_int_equal(table_advice_calls(s, a), t->adv_calls[a]);
		assert_int_equal(table_advice_errors(s, a), t->adv_errors[a]);
		assert_int_equal(table_advice_bytes(s, a), t->adv_bytes[a]);
	}
	assert_true(t->adv_calls[77] > 0 && t->adv_calls[8] > t->adv_calls[4]);

	assert_int_equal(table_nr_rss_procs(s), NPIDS);
	for (int p = 0; p < NPIDS; p++) {
		assert_true(table_rss(s, pids[p], &r));
		assert_int_equal(r.first, t->first[p]);
		assert_int_equal(r.last, t->last[p]);
		assert_int_equal(r.peak, t->peak[p]);
		assert_int_equal(r.has_lazyfree, t->has_lazy[p]);
		assert_int_equal(r.lazyfree, t->lazyfree[p]);
		first += t->first[p];
		last += t->last[p];
		lazy += t->lazyfree[p];
	}
	assert_false(table_rss(s, 99, &r));
	assert_true(table_rss_total(s, &r));
	assert_int_equal(r.first, first);
	assert_int_equal(r.last, last);
	assert_int_equal(r.peak, t->total_peak);
	assert_int_equal(r.lazyfree, lazy);
	table_free(s);
	free(t);
}

/* The printed table carries the same numbers, one aligned row per name. */
/* The record type a table row names ("mmap"), or 0. */
static uint16_t type_named(const char *name)
{
	for (uint16_t t = 1; t < MT_TYPE_MAX; t++)
		if (mt_type_info(t) && !strcmp(mt_type_info(t)->name, name))
			return t;
	return 0;
}

/* The advice a table row names ("MADV_FREE", "MADV_#77" for a value without a name), or -1. */
static int advice_named(const char *name)
{
	unsigned v;
	char extra;

	if (sscanf(name, "MADV_#%u%c", &v, &extra) == 1)
		return (int)v;
	for (int a = 0; a < 1024; a++)
		if (mt_advice_name(a) && !strcmp(mt_advice_name(a), name))
			return a;
	return -1;
}

static void test_print(void **state)
{
	struct mt_timeline *s = table_new();
	struct tally *t = calloc(1, sizeof(*t));
	char *out = NULL, *line, *save;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);
	int rows = 0, adv_rows = 0, width = -1;
	bool saw_records = false, saw_pid = false, saw_all = false;
	char want_pid[32];

	(void)state;
	assert_non_null(f);
	gen(s, t);
	table_print(s, f);
	fclose(f);
	snprintf(want_pid, sizeof(want_pid), "pid %u ", pids[0]);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[64];
		unsigned long long calls, errors, rec, lost;

		if (sscanf(line, "%63s %llu %llu", name, &calls, &errors) == 3) {
			uint16_t ty = type_named(name);
			int a = advice_named(name);

			if (ty || (a >= 0 && !strncmp(name, "MADV_", 5))) {
				/* the columns line up: same length for every counted row */
				if (width < 0)
					width = (int)strlen(line);
				assert_int_equal((int)strlen(line), width);
			}
			if (ty) {
				assert_int_equal(calls, t->calls[ty]);
				assert_int_equal(errors, t->errors[ty]);
				rows++;
			} else if (a >= 0 && !strncmp(name, "MADV_", 5)) {
				assert_int_equal(calls, t->adv_calls[a]);
				assert_int_equal(errors, t->adv_errors[a]);
				adv_rows++;
			}
		}
		if (sscanf(line, "records: %llu events lost: %llu", &rec, &lost) == 2) {
			assert_int_equal(rec, t->records);
			assert_int_equal(lost, t->lost);
			saw_records = true;
		}
		if (!strncmp(line, want_pid, strlen(want_pid)))
			saw_pid = true;
		if (!strncmp(line, "all 3 processes", 15))
			saw_all = true;
	}
	assert_int_equal(rows, 6);
	assert_int_equal(adv_rows, 7); /* 4 8 9 14 21 77 103 */
	assert_true(saw_records && saw_pid && saw_all);
	free(out);
	table_free(s);
	free(t);
}

static void test_empty(void **state)
{
	struct mt_timeline *s = table_new();
	char *out = NULL;
	size_t outlen = 0;
	FILE *f = open_memstream(&out, &outlen);

	(void)state;
	table_print(s, f);
	fclose(f);
	assert_non_null(strstr(out, "no memory syscalls recorded"));
	assert_non_null(strstr(out, "records: 0   events lost: 0"));
	assert_null(strstr(out, "rss"));
	free(out);
	table_free(s);
	table_free(NULL);
}

/* Records come nearly in time order: first and last go by t_ns, not arrival. */
static void test_out_of_order(void **state)
{
	struct mt_timeline *s = table_new();
	struct mt_summary_rss got;
	static const struct {
		uint64_t t, anon, lazy;
		bool smaps;
	} recs[] = {
		{ 1000, 10 << 20, 0, false }, { 900, 7 << 20, 1 << 20, true }, /* a late sample */
		{ 3000, 30 << 20, 0, false }, { 5000, 20 << 20, 0, false },
		{ 4000, 40 << 20, 3 << 20, true }, /* arrives after t=5000 */
	};
	struct mt_rss r;

	(void)state;
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.h.type = MT_RSS;
		r.h.size = sizeof(r);
		r.h.pid = 7;
		r.h.t_ns = recs[i].t;
		r.anon = recs[i].anon;
		if (recs[i].smaps) {
			r.h.flags = MT_F_SMAPS;
			r.lazyfree = recs[i].lazy;
		}
		assert_int_equal(table_add(s, &r.h), 0);
	}
	assert_true(table_rss(s, 7, &got));
	assert_int_equal(got.first, 7 << 20);
	assert_int_equal(got.last, 20 << 20);
	assert_int_equal(got.peak, 40 << 20);
	assert_true(got.has_lazyfree);
	assert_int_equal(got.lazyfree, 3 << 20);
	table_free(s);
}

/* Thousands of processes (-f on a forking server) grow the pid table. */
static void test_many_pids(void **state)
{
	struct mt_timeline *s = table_new();
	struct mt_rss r;
	struct mt_summary_rss got;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.h.type = MT_RSS;
	r.h.size = sizeof(r);
	for (uint32_t pid = 1; pid <= 5000; pid++) {
		r.h.pid = pid * 7;
		r.anon = pid;
		assert_int_equal(table_add(s, &r.h), 0);
		r.anon = pid * 2;
		assert_int_equal(table_add(s, &r.h), 0);
	}
	assert_int_equal(table_nr_rss_procs(s), 5000);
	for (uint32_t pid = 1; pid <= 5000; pid++) {
		assert_true(table_rss(s, pid * 7, &got));
		assert_int_equal(got.first, pid);
		assert_int_equal(got.last, pid * 2);
	}
	assert_true(table_rss_total(s, &got));
	assert_int_equal(got.first, 5000ull * 5001 / 2);
	assert_int_equal(got.last, 5000ull * 5001);
	assert_int_equal(got.peak, 5000ull * 5001);
	table_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_many_pids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
