// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A large synthetic trace for the report benchmark, written with the trace
 * writer: a Go-like process (a 4 GiB reservation, 1 GiB of it committed)
 * whose scavenger releases and re-uses scattered ranges from several
 * threads, with mmap/munmap/mprotect/mremap churn beside it and rss records
 * (faults, periodic smaps samples). The scattered releases fragment the
 * region model the way a long-running service does.
 *
 *	gen_bench_trace EVENTS FILE
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "madvtrace/record.h"
#include "tracefile.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define PG 4096ull
#define HEAP 0xc000000000ull
#define HEAP_COMMIT (1024 * MiB)
#define MAPS 0x7f0000000000ull
#define RING 1024
#define PID 7777

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(uint64_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng % n;
}

struct ctx {
	struct mt_writer *w;
	uint64_t t, n, want;
	int err;
};

static void put_flags(struct ctx *c, struct mt_hdr *h, uint16_t type, uint16_t size, uint16_t flags)
{
	int err;

	/* the payload is filled in already: set the header fields only */
	h->type = type;
	h->size = size;
	h->pid = PID;
	h->tid = PID + (uint32_t)rnd(8);
	h->t_ns = c->t;
	h->flags = flags;
	err = mt_writer__write(c->w, h);
	if (err && !c->err)
		c->err = err;
	c->n++;
}

static void put(struct ctx *c, struct mt_hdr *h, uint16_t type, uint16_t size)
{
	put_flags(c, h, type, size, 0);
}

static void madv(struct ctx *c, uint64_t addr, uint64_t len, int advice)
{
	struct mt_madvise r = {0};

	r.addr = addr;
	r.len = len;
	r.advice = advice;
	r.target_pid = PID;
	put(c, &r.h, MT_MADVISE, sizeof(r));
}

static void mmap_rec(struct ctx *c, uint64_t addr, uint64_t len, uint32_t prot, uint32_t flags)
{
	struct mt_mmap r = {0};

	r.addr = flags & MAP_FIXED ? addr : 0;
	r.len = len;
	r.prot = prot;
	r.flags = flags;
	r.fd = -1;
	r.ret = (int64_t)addr;
	put(c, &r.h, MT_MMAP, sizeof(r));
}

static void rss(struct ctx *c, uint32_t reason, uint64_t anon, bool smaps)
{
	struct mt_rss r = {0};

	r.anon = anon;
	r.file = 8 * MiB;
	r.reason = reason;
	if (smaps) {
		r.lazyfree = anon / 3;
		r.smaps_rss = anon + r.file;
	}
	put_flags(c, &r.h, MT_RSS, sizeof(r), smaps ? MT_F_SMAPS : 0);
}

int main(int argc, char **argv)
{
	struct mt_file_info info = {
	    .page_size = 4096,
	    .clock_id = 1,
	    .start_ns = 1000000000000ull,
	    .backend = MT_BACKEND_BPF,
	    .target_pid = PID,
	    .kernel_release = "bench",
	    .cmdline = "gen_bench_trace",
	    .target = "synthetic Go-like service",
	};
	struct ctx c = {0};
	uint64_t ring_addr[RING] = {0}, ring_len[RING] = {0}, next_map = MAPS, anon = 64 * MiB;
	struct mt_task launch = {0};
	char *end;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: gen_bench_trace EVENTS FILE\n");
		return 2;
	}
	c.want = strtoull(argv[1], &end, 10);
	if (*end || !c.want) {
		fprintf(stderr, "gen_bench_trace: bad event count '%s'\n", argv[1]);
		return 2;
	}
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "gen_bench_trace: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	c.w = mt_writer__new(fd, &info);
	if (!c.w) {
		fprintf(stderr, "gen_bench_trace: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	c.t = info.start_ns;
	launch.event = MT_TASK_LAUNCH;
	strcpy(launch.comm, "service");
	put(&c, &launch.h, MT_TASK, sizeof(launch));
	mmap_rec(&c, HEAP, 4096 * MiB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS);
	for (uint64_t off = 0; off < HEAP_COMMIT; off += 64 * MiB)
		mmap_rec(&c, HEAP + off, 64 * MiB, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED);
	while (c.n < c.want && !c.err) {
		uint64_t r = rnd(100), i = rnd(RING);

		c.t += 20000 + rnd(80000); /* 20-100 us apart: ~1M events a minute */
		if (r < 40) {
			/* the scavenger: a scattered release, lazy or eager */
			uint64_t len = (1 + rnd(16)) * PG;
			uint64_t addr = HEAP + rnd((HEAP_COMMIT - len) / PG) * PG;

			madv(&c, addr, len, rnd(4) ? 8 /* FREE */ : 4 /* DONTNEED */);
		} else if (r < 50) {
			/* huge-page advice on 2 MiB blocks, as Go's sysUsed/sysUnused */
			madv(&c, HEAP + rnd(HEAP_COMMIT / (2 * MiB)) * 2 * MiB, 2 * MiB,
			     rnd(2) ? 14 : 15);
		} else if (r < 65) {
			anon += rnd(2) ? 64 * KiB : 0;
			anon -= anon > 128 * MiB && rnd(3) == 0 ? 64 * KiB : 0;
			rss(&c, MT_RSS_FAULT, anon, false);
		} else if (r < 77) {
			uint64_t len = (1 + rnd(64)) * 16 * PG;

			if (ring_len[i]) {
				struct mt_munmap u = {.addr = ring_addr[i], .len = ring_len[i]};

				put(&c, &u.h, MT_MUNMAP, sizeof(u));
			}
			ring_addr[i] = next_map;
			ring_len[i] = len;
			next_map += len + PG; /* a guard gap: mappings do not merge */
			mmap_rec(&c, ring_addr[i], len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS);
		} else if (r < 87 && ring_len[i]) {
			/* unmap the tail half */
			struct mt_munmap u = {.addr = ring_addr[i] + ring_len[i] / 2 / PG * PG};

			u.len = ring_addr[i] + ring_len[i] - u.addr;
			if (u.len) {
				put(&c, &u.h, MT_MUNMAP, sizeof(u));
				ring_len[i] -= u.len;
			}
		} else if (r < 93 && ring_len[i]) {
			struct mt_mprotect p = {.addr = ring_addr[i], .len = PG};

			p.prot = rnd(2) ? PROT_READ : PROT_READ | PROT_WRITE;
			put(&c, &p.h, MT_MPROTECT, sizeof(p));
		} else if (r < 96 && ring_len[i]) {
			/* move it elsewhere, one page bigger */
			struct mt_mremap m = {.old_addr = ring_addr[i], .old_len = ring_len[i]};

			m.new_len = ring_len[i] + PG;
			m.flags = MREMAP_MAYMOVE;
			m.ret = (int64_t)next_map;
			put(&c, &m.h, MT_MREMAP, sizeof(m));
			ring_addr[i] = next_map;
			ring_len[i] = m.new_len;
			next_map += m.new_len + PG;
		} else if (r < 98) {
			/* re-use: Go commits a released range by writing to it; here an explicit
			 * refill */
			madv(&c, HEAP + rnd(HEAP_COMMIT / (16 * KiB)) * 16 * KiB, 16 * KiB,
			     23 /* MADV_POPULATE_WRITE */);
		} else {
			rss(&c, MT_RSS_SAMPLE, anon, true);
		}
	}
	if (!c.err) {
		struct mt_task exit_rec = {.event = MT_TASK_EXIT};

		rss(&c, MT_RSS_END, anon, true);
		put(&c, &exit_rec.h, MT_TASK, sizeof(exit_rec));
	}
	if (mt_writer__free(c.w) && !c.err)
		c.err = -EIO;
	if (c.err) {
		fprintf(stderr, "gen_bench_trace: %s: %s\n", argv[2], strerror(-c.err));
		return 1;
	}
	printf("%" PRIu64 "\n", c.n);
	return 0;
}
