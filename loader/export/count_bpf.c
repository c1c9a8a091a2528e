// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The counting-mode loader: open, configure (count_mode and the watch lists
 * in read-only data, the counter map sized), load, attach. Only sys_exit,
 * sched_process_fork and sched_process_exit run: no exec, exit_mmap or
 * syscall programs, no records, a one-page ring buffer that stays empty.
 * Not thread-safe: the exporter serialises calls under its lock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "madvtrace/record.h"
#include "madvtrace/syscalls.h"
#include "madvtrace.bpf.h"
#include "madvtrace.skel.h"
#include "count_bpf.h"
#include "bpf_helpers.h"

_Static_assert(MT_COUNT_MAX_CGROUPS == MT_MAX_CGROUPS, "watch lists differ");
_Static_assert(MT_COUNT_MAX_COMMS == MT_MAX_COMMS, "watch lists differ");

struct mt_count_bpf {
	struct madvtrace_bpf *skel;
	uint64_t *traced; /* the bitmap, mapped */
	size_t traced_words, map_bytes;
	int ncpu;
	uint32_t max_entries;
	/* read buffers, sized for the whole map */
	struct mt_count_key *keys;
	struct mt_count_val *vals; /* max_entries * ncpu */
	struct mt_counter *out;
};

static int read_pid_max(void)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
	int v = 0;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v > 0 ? v : 4194304;
}

int mt_count_bpf__start(struct mt_count_bpf **out, const struct mt_count_cfg *cfg)
{
	struct mt_count_bpf *cb = calloc(1, sizeof(*cb));
	struct bpf_program *prog;
	uint32_t i;
	int err;

	*out = NULL;
	if (!cb)
		return -ENOMEM;
	mt_bpf__log_setup(cfg->verbose);
	cb->ncpu = libbpf_num_possible_cpus();
	if (cb->ncpu <= 0) {
		err = cb->ncpu ? cb->ncpu : -EINVAL;
		fprintf(stderr, "madvtrace: cannot count the CPUs: %s\n", strerror(-err));
		goto cleanup;
	}
	/* open */
	cb->skel = madvtrace_bpf__open();
	if (!cb->skel) {
		err = -errno;
		fprintf(stderr, "madvtrace: cannot open the BPF object: %s\n", strerror(-err));
		goto cleanup;
	}
	/* configure */
	cb->skel->rodata->count_mode = true;
	cb->skel->rodata->follow_forks = cfg->follow_forks;
	cb->skel->rodata->max_procs = cfg->max_procs;
	cb->skel->rodata->n_cgroups = cfg->n_cgroups;
	for (i = 0; i < cfg->n_cgroups; i++) {
		cb->skel->rodata->cg_ssid[i] = cfg->cg[i].ssid;
		cb->skel->rodata->cg_level[i] = cfg->cg[i].level;
		cb->skel->rodata->cg_id[i] = cfg->cg[i].id;
	}
	cb->skel->rodata->n_comms = cfg->n_comms;
	for (i = 0; i < cfg->n_comms; i++)
		memcpy((char *)cb->skel->rodata->comms[i], cfg->comms[i], 16);
	/* twice the keys of max_procs: exited processes keep theirs for the grace period */
	cb->max_entries = cfg->max_procs * cfg->keys_per_proc * 2;
	bpf_map__set_max_entries(cb->skel->maps.counts, cb->max_entries);
	cb->traced_words = (read_pid_max() + 63) / 64;
	bpf_map__set_max_entries(cb->skel->maps.traced, cb->traced_words);
	/* the records mode's maps must exist for the program to load, not be large */
	bpf_map__set_max_entries(cb->skel->maps.rb, getpagesize());
	bpf_map__set_max_entries(cb->skel->maps.stacks, 1);
	bpf_map__set_max_entries(cb->skel->maps.mms, 1);
	bpf_object__for_each_program(prog, cb->skel->obj) {
		const char *name = bpf_program__name(prog);

		if (strcmp(name, "sys_exit") && strcmp(name, "sched_process_fork") &&
		    (strcmp(name, "sched_process_exit") || cfg->records))
			bpf_program__set_autoload(prog, false);
	}
	/* load */
	err = madvtrace_bpf__load(cb->skel);
	if (err) {
		fprintf(stderr, "madvtrace: cannot load the BPF programs: %s%s\n", strerror(-err),
			err == -EPERM ? " (needs root, or CAP_BPF and CAP_PERFMON)"
				      : " (run with -vv for the verifier log)");
		goto cleanup;
	}
	/* attach */
	err = madvtrace_bpf__attach(cb->skel);
	if (err) {
		fprintf(stderr, "madvtrace: cannot attach the BPF programs: %s\n", strerror(-err));
		goto cleanup;
	}
	cb->map_bytes = (cb->traced_words * sizeof(uint64_t) + 4095) & ~(size_t)4095;
	cb->traced = mmap(NULL, cb->map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
			  bpf_map__fd(cb->skel->maps.traced), 0);
	if (cb->traced == MAP_FAILED) {
		err = -errno;
		cb->traced = NULL;
		fprintf(stderr, "madvtrace: cannot map the traced set: %s\n", strerror(-err));
		goto cleanup;
	}
	cb->keys = calloc(cb->max_entries, sizeof(*cb->keys));
	cb->vals = calloc((size_t)cb->max_entries * cb->ncpu, sizeof(*cb->vals));
	cb->out = calloc(cb->max_entries, sizeof(*cb->out));
	if (!cb->keys || !cb->vals || !cb->out) {
		err = -ENOMEM;
		fprintf(stderr, "madvtrace: out of memory for %u counters\n", cb->max_entries);
		goto cleanup;
	}
	*out = cb;
	return 0;
cleanup:
	mt_count_bpf__destroy(cb);
	return err;
}

void mt_count_bpf__destroy(struct mt_count_bpf *cb)
{
	if (!cb)
		return;
	if (cb->traced)
		munmap(cb->traced, cb->map_bytes);
	madvtrace_bpf__destroy(cb->skel);
	free(cb->keys);
	free(cb->vals);
	free(cb->out);
	free(cb);
}

static bool in_range(struct mt_count_bpf *cb, pid_t pid)
{
	return pid > 0 && (size_t)pid / 64 < cb->traced_words;
}

bool mt_count_bpf__is_traced(struct mt_count_bpf *cb, pid_t pid)
{
	return in_range(cb, pid) && (__atomic_load_n(&cb->traced[pid / 64], __ATOMIC_RELAXED) &
				     (1ull << (pid % 64)));
}

int mt_count_bpf__trace(struct mt_count_bpf *cb, pid_t pid)
{
	uint64_t bit = 1ull << (pid % 64), old;

	if (!in_range(cb, pid))
		return -EINVAL;
	if (mt_count_bpf__is_traced(cb, pid))
		return 0;
	if (__atomic_load_n(&cb->skel->bss->ntraced, __ATOMIC_RELAXED) >=
	    cb->skel->rodata->max_procs)
		return -ENOSPC;
	old = __atomic_fetch_or(&cb->traced[pid / 64], bit, __ATOMIC_SEQ_CST);
	if (!(old & bit))
		__atomic_fetch_add(&cb->skel->bss->ntraced, 1, __ATOMIC_SEQ_CST);
	return 0;
}

void mt_count_bpf__for_each_traced(struct mt_count_bpf *cb, void (*fn)(void *, pid_t), void *ctx)
{
	size_t i;

	for (i = 0; i < cb->traced_words; i++) {
		uint64_t w = __atomic_load_n(&cb->traced[i], __ATOMIC_RELAXED);

		while (w) {
			int bit = __builtin_ctzll(w);

			w &= w - 1;
			fn(ctx, (pid_t)(i * 64 + bit));
		}
	}
}

uint32_t mt_count_bpf__recount(struct mt_count_bpf *cb)
{
	uint32_t n = 0;
	size_t i;

	for (i = 0; i < cb->traced_words; i++)
		n += __builtin_popcountll(__atomic_load_n(&cb->traced[i], __ATOMIC_RELAXED));
	/* a claim racing with this store is recounted next time */
	__atomic_store_n(&cb->skel->bss->ntraced, n, __ATOMIC_SEQ_CST);
	return n;
}

int mt_count_bpf__add_lost_slot(struct mt_count_bpf *cb, pid_t pid)
{
	struct mt_count_key k = { .tgid = pid, .sc = MT_COUNT_LOST_SC, .advice = MT_COUNT_NO_ADVICE };
	struct mt_count_val zero[cb->ncpu];

	memset(zero, 0, sizeof(zero));
	/* BPF_NOEXIST: a slot the program already counted into stays as it is */
	if (bpf_map_update_elem(bpf_map__fd(cb->skel->maps.counts), &k, zero, BPF_NOEXIST) &&
	    errno != EEXIST)
		return -errno;
	return 0;
}

static int counter_cmp(const void *pa, const void *pb)
{
	const struct mt_counter *a = pa, *b = pb;

	if (a->tgid != b->tgid)
		return a->tgid < b->tgid ? -1 : 1;
	if (a->sc != b->sc)
		return a->sc < b->sc ? -1 : 1;
	return a->advice < b->advice ? -1 : a->advice > b->advice;
}

int mt_count_bpf__read(struct mt_count_bpf *cb, const struct mt_counter **out, size_t *n)
{
	int fd = bpf_map__fd(cb->skel->maps.counts);
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint32_t total = 0, batch, cnt;
	void *in = NULL;
	size_t i, m = 0;
	int c, err;

	/* whole buckets at a time; the buffers hold the whole map */
	for (;;) {
		cnt = cb->max_entries - total;
		if (!cnt)
			break;
		err = bpf_map_lookup_batch(fd, in, &batch, cb->keys + total,
					   cb->vals + (size_t)total * cb->ncpu, &cnt, &opts);
		total += cnt;
		if (err) {
			if (err == -ENOENT)
				break;
			return err;
		}
		in = &batch;
	}
	for (i = 0; i < total; i++) {
		struct mt_counter *o = &cb->out[i];
		const struct mt_count_val *v = cb->vals + i * cb->ncpu;

		o->tgid = cb->keys[i].tgid;
		/* i386's old mmap is mmap to whoever reads the metrics */
		o->sc = cb->keys[i].sc == MT_SC_OLD_MMAP ? MT_SC_MMAP : cb->keys[i].sc;
		o->advice = cb->keys[i].advice;
		o->calls = o->bytes = o->errors = 0;
		for (c = 0; c < cb->ncpu; c++) {
			o->calls += v[c].calls;
			o->bytes += v[c].bytes;
			o->errors += v[c].errors;
		}
	}
	qsort(cb->out, total, sizeof(*cb->out), counter_cmp);
	for (i = 0; i < total; i++) {
		if (m && !counter_cmp(&cb->out[m - 1], &cb->out[i])) {
			cb->out[m - 1].calls += cb->out[i].calls;
			cb->out[m - 1].bytes += cb->out[i].bytes;
			cb->out[m - 1].errors += cb->out[i].errors;
		} else {
			cb->out[m++] = cb->out[i];
		}
	}
	*out = cb->out;
	*n = m;
	return 0;
}

size_t mt_counter__find(const struct mt_counter *all, size_t n, uint32_t tgid)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (all[mid].tgid < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && all[lo].tgid == tgid ? lo : n;
}

void mt_count_bpf__forget(struct mt_count_bpf *cb, pid_t pid, const struct mt_counter *all,
			  size_t n)
{
	int fd = bpf_map__fd(cb->skel->maps.counts);
	size_t i = mt_counter__find(all, n, pid);

	for (; i < n && all[i].tgid == (uint32_t)pid; i++) {
		struct mt_count_key k = { .tgid = pid, .sc = all[i].sc, .advice = all[i].advice };

		bpf_map_delete_elem(fd, &k);
		if (all[i].sc == MT_SC_MMAP) { /* folded in at read: delete both */
			k.sc = MT_SC_OLD_MMAP;
			bpf_map_delete_elem(fd, &k);
		}
	}
}

static uint64_t percpu_sum(struct mt_count_bpf *cb, struct bpf_map *map)
{
	uint64_t vals[cb->ncpu], total = 0;
	uint32_t zero = 0;
	int i;

	if (bpf_map__lookup_elem(map, &zero, sizeof(zero), vals, sizeof(vals), 0))
		return 0;
	for (i = 0; i < cb->ncpu; i++)
		total += vals[i];
	return total;
}

int mt_count_bpf__traced_fd(struct mt_count_bpf *cb)
{
	return bpf_map__fd(cb->skel->maps.traced);
}

uint64_t mt_count_bpf__lost(struct mt_count_bpf *cb)
{
	return percpu_sum(cb, cb->skel->maps.count_lost);
}

uint64_t mt_count_bpf__refused(struct mt_count_bpf *cb)
{
	return __atomic_load_n(&cb->skel->bss->cap_refused, __ATOMIC_RELAXED);
}

