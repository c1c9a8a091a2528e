// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Writes the small, deterministic trace files of the golden tests
 * (tests/data/golden/NAME.mtr) with the writer API, and beside each one
 * NAME.expect.json: what the scenario did, worked out by hand from the
 * calls below (not by running the timeline), which the golden test checks
 * the report's json summary against.
 *
 *	gen_traces OUTDIR
 *	gen_traces --escapes OUTDIR	(escapes.mtr only: names holding any byte)
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
#include "procfs.h"
#include "tracefile.h"

#define KiB 1024ull
#define MiB (1024ull * 1024)
#define MS 1000000ull
#define START_NS 5000000000000ull /* an arbitrary CLOCK_MONOTONIC time */
/* 2023-11-14 22:13:20 UTC at START_NS */
#define CLOCK_OFFSET ((int64_t)1700000000000000000ll - (int64_t)START_NS)
#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

enum { ADV_DONTNEED = 4, ADV_FREE = 8, ADV_HUGEPAGE = 14, ADV_NOHUGEPAGE = 15, ADV_PAGEOUT = 21 };

struct gen {
	struct mt_writer *w;
	uint32_t pid;
	uint32_t stack_id; /* given to the next record written, then 0 again */
	bool synth;	   /* the next record is synthetic (the mappings found at a start) */
	int err;
};

static void emit(struct gen *g, const struct mt_hdr *h)
{
	union {
		struct mt_hdr h;
		uint8_t b[MT_MAX_RECORD_SIZE];
	} u;
	int err;

	if ((g->stack_id || g->synth) && h->size <= sizeof(u)) {
		memcpy(&u, h, h->size);
		if (g->stack_id)
			u.h.stack_id = g->stack_id;
		if (g->synth)
			u.h.flags |= MT_F_SYNTH;
		g->stack_id = 0;
		g->synth = false;
		h = &u.h;
	}
	err = mt_writer__write(g->w, h);

	if (err && !g->err)
		g->err = err;
}

static void hdr(struct mt_hdr *h, uint16_t type, uint16_t size, uint32_t pid, uint64_t t_ms)
{
	mt_record_init(h, type, size, pid, pid, START_NS + t_ms * MS);
}

static void g_mmap(struct gen *g, uint64_t t, uint64_t addr, uint64_t len, uint32_t prot,
		   uint32_t flags, int32_t fd, int64_t ret)
{
	struct mt_mmap r = {0};

	hdr(&r.h, MT_MMAP, sizeof(r), g->pid, t);
	r.addr = addr;
	r.len = len;
	r.prot = prot;
	r.flags = flags;
	r.fd = fd;
	r.ret = ret;
	emit(g, &r.h);
}

static void g_munmap(struct gen *g, uint64_t t, uint64_t addr, uint64_t len, int64_t ret)
{
	struct mt_munmap r = {0};

	hdr(&r.h, MT_MUNMAP, sizeof(r), g->pid, t);
	r.addr = addr;
	r.len = len;
	r.ret = ret;
	emit(g, &r.h);
}

static void g_mremap(struct gen *g, uint64_t t, uint64_t old, uint64_t old_len, uint64_t new_len,
		     uint32_t flags, int64_t ret)
{
	struct mt_mremap r = {0};

	hdr(&r.h, MT_MREMAP, sizeof(r), g->pid, t);
	r.old_addr = old;
	r.old_len = old_len;
	r.new_len = new_len;
	r.flags = flags;
	r.ret = ret;
	emit(g, &r.h);
}

static void g_madvise(struct gen *g, uint64_t t, uint64_t addr, uint64_t len, int advice,
		      int64_t ret)
{
	struct mt_madvise r = {0};

	hdr(&r.h, MT_MADVISE, sizeof(r), g->pid, t);
	r.addr = addr;
	r.len = len;
	r.advice = advice;
	r.ret = ret;
	r.target_pid = g->pid;
	emit(g, &r.h);
}

static void g_brk(struct gen *g, uint64_t t, uint64_t addr, int64_t ret)
{
	struct mt_brk r = {0};

	hdr(&r.h, MT_BRK, sizeof(r), g->pid, t);
	r.addr = addr;
	r.ret = ret;
	emit(g, &r.h);
}

static void g_mprotect(struct gen *g, uint64_t t, uint64_t addr, uint64_t len, uint32_t prot,
		       int64_t ret)
{
	struct mt_mprotect r = {0};

	hdr(&r.h, MT_MPROTECT, sizeof(r), g->pid, t);
	r.addr = addr;
	r.len = len;
	r.prot = prot;
	r.ret = ret;
	emit(g, &r.h);
}

/* rss record; lazyfree == UINT64_MAX: no smaps_rollup values */
static void g_rss(struct gen *g, uint64_t t, uint32_t reason, uint64_t anon, uint64_t file,
		  uint64_t lazyfree)
{
	struct mt_rss r = {0};

	hdr(&r.h, MT_RSS, sizeof(r), g->pid, t);
	r.anon = anon;
	r.file = file;
	r.reason = reason;
	if (lazyfree != UINT64_MAX) {
		r.h.flags |= MT_F_SMAPS | MT_F_SYNTH;
		r.lazyfree = lazyfree;
		r.smaps_rss = anon + file;
	}
	emit(g, &r.h);
}

static void g_task(struct gen *g, uint64_t t, uint32_t event, uint32_t other, int32_t code,
		   const char *comm)
{
	struct mt_task r = {0};

	hdr(&r.h, MT_TASK, sizeof(r), g->pid, t);
	r.event = event;
	r.other_pid = other;
	r.code = code;
	if (comm)
		strncpy(r.comm, comm, MT_COMM_LEN - 1);
	emit(g, &r.h);
}

static void g_info(struct gen *g, uint64_t t, const char *kv)
{
	struct {
		struct mt_info i;
		char text[128];
	} r;

	hdr(&r.i.h, MT_INFO, (uint16_t)(sizeof(r.i) + strlen(kv) + 1), g->pid, t);
	snprintf(r.i.text, sizeof(r.text), "%s", kv);
	emit(g, &r.i.h);
}

/* gostat record: Go's numbers at t (all fields present but num_gc/next_gc) */
static void g_gostat(struct gen *g, uint64_t t, uint64_t released, uint64_t idle, uint64_t inuse,
		     uint64_t heap_sys, uint64_t stack_inuse)
{
	struct mt_gostat r = {0};

	hdr(&r.h, MT_GOSTAT, sizeof(r), g->pid, t);
	r.h.flags = MT_F_SYNTH;
	r.heap_released = released;
	r.heap_idle = idle;
	r.heap_inuse = inuse;
	r.heap_sys = heap_sys;
	r.sys = heap_sys + 8 * MiB;
	r.stack_inuse = stack_inuse;
	r.req_ns = 1 * MS;
	r.source = MT_GOSTAT_PROMETHEUS;
	r.have = MT_GS_HEAP_RELEASED | MT_GS_HEAP_IDLE | MT_GS_HEAP_INUSE | MT_GS_HEAP_SYS |
		 MT_GS_SYS | MT_GS_STACK_INUSE;
	emit(g, &r.h);
}

/* resident record: a pagemap pass over the model's ranges */
static void g_resident(struct gen *g, uint64_t t, const struct mt_resident *v)
{
	struct mt_resident r;

	hdr(&r.h, MT_RESIDENT, sizeof(r), g->pid, t); /* clears the whole record */
	memcpy((char *)&r + sizeof(r.h), (const char *)v + sizeof(r.h), sizeof(r) - sizeof(r.h));
	r.h.flags = MT_F_SYNTH;
	emit(g, &r.h);
}

static struct gen *open_trace_be(const char *dir, const char *name, const char *target,
				 uint32_t pid, uint32_t backend)
{
	struct mt_file_info info = {
	    .page_size = 4096,
	    .clock_id = 1, /* CLOCK_MONOTONIC */
	    .clock_offset_ns = CLOCK_OFFSET,
	    .start_ns = START_NS,
	    .backend = backend,
	    .target_pid = (int32_t)pid,
	    .kernel_release = "6.18.0-golden",
	    .target = target,
	};
	char path[4096], cmd[512];
	struct gen *g = calloc(1, sizeof(*g));
	int fd;

	if (!g)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s.mtr", dir, name);
	snprintf(cmd, sizeof(cmd), "madvtrace -o %s.mtr -- %s", name, target);
	info.cmdline = cmd;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "gen_traces: %s: %s\n", path, strerror(errno));
		free(g);
		return NULL;
	}
	g->w = mt_writer__new(fd, &info);
	if (!g->w) {
		fprintf(stderr, "gen_traces: %s: %s\n", path, strerror(errno));
		close(fd);
		free(g);
		return NULL;
	}
	g->pid = pid;
	return g;
}

static struct gen *open_trace(const char *dir, const char *name, const char *target, uint32_t pid)
{
	return open_trace_be(dir, name, target, pid, MT_BACKEND_BPF);
}

static int close_trace(struct gen *g, const char *dir, const char *name, const char *expect)
{
	char path[4096];
	int err = mt_writer__free(g->w);
	FILE *f;

	if (!err)
		err = g->err;
	free(g);
	if (err) {
		fprintf(stderr, "gen_traces: %s: %s\n", name, strerror(-err));
		return 1;
	}
	if (!expect)
		return 0;
	snprintf(path, sizeof(path), "%s/%s.expect.json", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(expect, f) < 0 || fclose(f)) {
		fprintf(stderr, "gen_traces: %s: %s\n", path, strerror(errno));
		return 1;
	}
	return 0;
}

#define ARENA 0xc000000000ull

/*
 * A Go-like heap: reserve 64 MiB, commit 16 MiB in 4 MiB steps while the
 * pages fault in, then release 12 MiB of it (NOHUGEPAGE on the edges, then
 * the release advice), as Go's scavenger does.
 */
static void go_heap(struct gen *g, int advice, bool rss_drops)
{
	g_task(g, 0, MT_TASK_LAUNCH, 0, 0, "spike");
	g_rss(g, 0, MT_RSS_START, 1 * MiB, 2 * MiB, UINT64_MAX);
	g_brk(g, 1, 0, 0x5000000);
	g_brk(g, 1, 0x5021000, 0x5021000);
	g_mmap(g, 2, ARENA, 64 * MiB, PROT_NONE, ANON, -1, (int64_t)ARENA);
	for (int i = 0; i < 4; i++) {
		g_mmap(g, 3 + (uint64_t)i, ARENA + (uint64_t)i * 4 * MiB, 4 * MiB, RW,
		       ANON | MAP_FIXED, -1, (int64_t)(ARENA + (uint64_t)i * 4 * MiB));
		g_rss(g, 3 + (uint64_t)i, MT_RSS_FAULT, (5 + 4 * (uint64_t)i) * MiB, 2 * MiB,
		      UINT64_MAX);
	}
	for (int i = 0; i < 3; i++) {
		uint64_t t = 100 + (uint64_t)i;
		uint64_t a = ARENA + (uint64_t)i * 4 * MiB;

		g_madvise(g, t, a + 4 * MiB - 2 * MiB, 2 * MiB, ADV_NOHUGEPAGE, 0);
		g_madvise(g, t, a, 4 * MiB, advice, 0);
		if (rss_drops)
			g_rss(g, t, MT_RSS_SYSCALL, (17 - 4 * (uint64_t)(i + 1)) * MiB, 2 * MiB,
			      UINT64_MAX);
	}
}

static int go_lazy(const char *dir)
{
	struct gen *g = open_trace(dir, "go-lazy", "./spike -hold 2s", 4242);

	if (!g)
		return 1;
	g_info(g, 0, "go_version=go1.19.8");
	g_info(g, 0, "env.GODEBUG=madvdontneed=0");
	go_heap(g, ADV_FREE, false);
	g_rss(g, 500, MT_RSS_SAMPLE, 17 * MiB, 2 * MiB, 12 * MiB);
	g_rss(g, 1000, MT_RSS_SAMPLE, 17 * MiB, 2 * MiB, 12 * MiB);
	g_rss(g, 1500, MT_RSS_END, 17 * MiB, 2 * MiB, 12 * MiB);
	g_task(g, 1500, MT_TASK_EXIT, 0, 0, NULL);
	/* reserved 64-16, committed 4 MiB + 132 KiB of heap, 12 MiB released with MADV_FREE */
	return close_trace(
	    g, dir, "go-lazy",
	    "{\"rss_bytes\": 19922944, \"lazyfree_bytes\": 12582912, "
	    "\"reserved_bytes\": 50331648, \"committed_bytes\": 4329472, "
	    "\"released_lazy_bytes\": 12582912, \"released_eager_bytes\": 0, "
	    "\"madv_free_calls\": 3, \"madv_free_bytes\": 12582912, "
	    "\"madv_dontneed_calls\": 0, \"reclaimed_bytes\": 0, "
	    "\"calls\": {\"mmap\": 5, \"brk\": 2, \"madvise\": 6}, "
	    "\"lost_events\": 0, \"verdict_names\": [\"MADV_FREE\", \"LazyFree\"]}\n");
}

static int go_eager(const char *dir)
{
	struct gen *g = open_trace(dir, "go-eager", "./spike -hold 2s", 4243);

	if (!g)
		return 1;
	go_heap(g, ADV_DONTNEED, true);
	g_rss(g, 500, MT_RSS_SAMPLE, 5 * MiB, 2 * MiB, 0);
	g_rss(g, 1500, MT_RSS_END, 5 * MiB, 2 * MiB, 0);
	g_task(g, 1500, MT_TASK_EXIT, 0, 0, NULL);
	return close_trace(g, dir, "go-eager",
			   "{\"rss_bytes\": 7340032, \"lazyfree_bytes\": 0, "
			   "\"reserved_bytes\": 50331648, \"committed_bytes\": 4329472, "
			   "\"released_lazy_bytes\": 0, \"released_eager_bytes\": 12582912, "
			   "\"madv_free_calls\": 0, \"madv_dontneed_calls\": 3, "
			   "\"madv_dontneed_bytes\": 12582912, \"reclaimed_bytes\": 0, "
			   "\"calls\": {\"mmap\": 5, \"brk\": 2, \"madvise\": 6}, "
			   "\"lost_events\": 0, \"verdict_names\": [\"MADV_DONTNEED\", \"RSS fell "
			   "by 12.0 MiB\"]}\n");
}

/* Lazily freed, then the kernel takes it back under memory pressure. */
static int reclaim(const char *dir)
{
	struct gen *g = open_trace(dir, "reclaim", "./spike -hold 5s", 4244);

	if (!g)
		return 1;
	go_heap(g, ADV_FREE, false);
	g_rss(g, 1000, MT_RSS_SAMPLE, 17 * MiB, 2 * MiB, 12 * MiB);
	for (int i = 1; i <= 3; i++)
		g_rss(g, 2000 + 100 * (uint64_t)i, MT_RSS_RECLAIM, (17 - 4 * (uint64_t)i) * MiB,
		      2 * MiB, UINT64_MAX);
	g_rss(g, 2600, MT_RSS_SAMPLE, 5 * MiB, 2 * MiB, 0);
	g_rss(g, 3000, MT_RSS_END, 5 * MiB, 2 * MiB, 0);
	g_task(g, 3000, MT_TASK_EXIT, 0, 0, NULL);
	/* the released range stays released (the model's state), its pages are gone */
	return close_trace(
	    g, dir, "reclaim",
	    "{\"rss_bytes\": 7340032, \"lazyfree_bytes\": 0, "
	    "\"reserved_bytes\": 50331648, \"committed_bytes\": 4329472, "
	    "\"released_lazy_bytes\": 12582912, \"released_eager_bytes\": 0, "
	    "\"madv_free_calls\": 3, \"reclaimed_bytes\": 12582912, "
	    "\"calls\": {\"mmap\": 5, \"brk\": 2, \"madvise\": 6}, "
	    "\"lost_events\": 0, \"verdict_names\": [\"Reclaim seen\", \"12.0 MiB\"]}\n");
}

/*
 * The less common paths: file mappings, mremap growth and moves, partial
 * munmap, mprotect, madvise over holes and over memory from before the
 * trace, failures, brk growth, shrink and refusal, a forked child, a
 * process_madvise, lost events and a record type from the future.
 */
static int mixed(const char *dir)
{
	struct gen *g = open_trace(dir, "mixed", "./mixed", 100);
	const uint64_t F = 0x7f0000000000ull, A = 0x7f1000000000ull, B = 0x7f2000000000ull;
	struct {
		struct mt_hdr h;
		uint64_t x[2];
	} future = {0};
	struct mt_madvise pm = {0};
	struct mt_lost lost = {0};

	if (!g)
		return 1;
	g_task(g, 0, MT_TASK_LAUNCH, 0, 0, "mixed");
	g_rss(g, 0, MT_RSS_START, 1 * MiB, 1 * MiB, UINT64_MAX);
	g_brk(g, 1, 0, 0x600000);
	g_brk(g, 2, 0x640000, 0x640000);				  /* heap +256 KiB */
	g_brk(g, 3, 0x620000, 0x620000);				  /* heap -128 KiB */
	g_brk(g, 4, 0x10000000000ull, 0x620000);			  /* refused */
	g_mmap(g, 10, 0, 1 * MiB, PROT_READ, MAP_PRIVATE, 3, (int64_t)F); /* a file */
	g_mmap(g, 11, 0, 8 * MiB, RW, ANON, -1, (int64_t)A);
	g_mmap(g, 12, 0, 1ull << 40, RW, ANON, -1, -ENOMEM);   /* failed */
	g_mremap(g, 20, A, 8 * MiB, 12 * MiB, 0, (int64_t)A);  /* grows in place */
	g_mremap(g, 21, A, 12 * MiB, 16 * MiB, 1, (int64_t)B); /* moves and grows */
	g_mprotect(g, 30, B, 1 * MiB, PROT_NONE, 0);
	g_munmap(g, 31, B + 14 * MiB, 2 * MiB, 0); /* B..B+14 MiB stays */
	g_rss(g, 32, MT_RSS_FAULT, 15 * MiB, 1 * MiB, UINT64_MAX);
	g_madvise(g, 40, B + 4 * MiB, 4 * MiB, ADV_DONTNEED, 0);
	g_rss(g, 40, MT_RSS_SYSCALL, 11 * MiB, 1 * MiB, UINT64_MAX);
	/* over a hole: the 2 mapped MiB are freed, the call fails with ENOMEM */
	g_madvise(g, 41, B + 12 * MiB, 4 * MiB, ADV_FREE, -ENOMEM);
	/* memory mapped before the trace: learned, 1 MiB */
	g_madvise(g, 42, 0x7e0000000000ull, 1 * MiB, ADV_FREE, 0);
	g_madvise(g, 43, F, 1 * MiB, ADV_FREE, -EINVAL); /* file mapping: refused */
	g_task(g, 50, MT_TASK_FORK, 101, 0, NULL);
	g->pid = 101;
	g_munmap(g, 51, B, 2 * MiB, 0); /* the child's copy */
	g_rss(g, 51, MT_RSS_START, 2 * MiB, 1 * MiB, UINT64_MAX);
	g->pid = 100;
	hdr(&pm.h, MT_MADVISE, sizeof(pm), 100, 52);
	pm.h.flags = MT_F_PROCESS_MADVISE;
	pm.addr = B + 2 * MiB;
	pm.len = 2 * MiB;
	pm.advice = ADV_PAGEOUT;
	pm.ret = 2 * MiB;
	pm.target_pid = 101;
	emit(g, &pm.h);
	g->pid = 101;
	g_task(g, 60, MT_TASK_EXIT, 0, 0, NULL);
	g->pid = 100;
	hdr(&lost.h, MT_LOST, sizeof(lost), 0, 70);
	lost.count = 5;
	lost.cpu = ~0u;
	emit(g, &lost.h);
	hdr(&future.h, 60, sizeof(future), 100, 71);
	emit(g, &future.h);
	g_rss(g, 80, MT_RSS_END, 11 * MiB, 1 * MiB, UINT64_MAX);
	g_task(g, 80, MT_TASK_EXIT, 0, 256, NULL);
	/*
	 * parent at the end: heap 128 KiB (0x601000..0x620000 is 124 KiB: the
	 * first break, 0x600000, only marks where the heap ends), the file
	 * 1 MiB, B: 1 MiB reserved (PROT_NONE), 3 MiB committed, 4 MiB eager,
	 * 4 MiB committed, 2 MiB lazy (the ENOMEM madvise), and 1 MiB learned
	 * lazy. The child's figures left with it.
	 */
	return close_trace(g, dir, "mixed",
			   "{\"rss_bytes\": 12582912, \"lazyfree_bytes\": null, "
			   "\"reserved_bytes\": 1048576, "
			   "\"committed_bytes\": 8519680, "
			   "\"released_lazy_bytes\": 3145728, \"released_eager_bytes\": 4194304, "
			   "\"madv_free_calls\": 1, \"madv_dontneed_calls\": 1, "
			   "\"reclaimed_bytes\": 0, "
			   "\"calls\": {\"mmap\": 3, \"munmap\": 2, \"mremap\": 2, \"madvise\": 5, "
			   "\"brk\": 4, \"mprotect\": 1}, "
			   "\"lost_events\": 5, \"verdict_names\": [\"5 events were lost\", "
			   "\"1 record of a type\", \"failed with ENOMEM\"]}\n");
}

static void g_stack(struct gen *g, uint64_t t, uint32_t id, const uint64_t *ips, uint32_t nr)
{
	union {
		struct mt_stack st;
		uint8_t b[sizeof(struct mt_stack) + 8 * sizeof(uint64_t)];
	} u = {0};

	hdr(&u.st.h, MT_STACK, (uint16_t)(sizeof(u.st) + nr * sizeof(uint64_t)), 0, t);
	u.st.id = id;
	u.st.nr = nr;
	memcpy(u.st.ips, ips, nr * sizeof(uint64_t));
	emit(g, &u.st.h);
}

/*
 * Release stacks whose programs are gone from disk: a Go program (run with
 * GODEBUG=madvdontneed=1, yet releasing with MADV_FREE) whose stacks cannot
 * be named (unknown), one stack the trace never writes (missing), a release
 * without a stack, and a forked child that execs a C program whose munmap
 * counts as non-Go code without symbols.
 */
static int stacks(const char *dir)
{
	struct gen *g = open_trace(dir, "stacks", "/nonexistent/goprog", 300);
	static const uint64_t go_ips[] = {0x468a37, 0x4148ee, 0x41a7f0, 0x41aa35, 0x4629c9};
	static const uint64_t c_ips[] = {0x7f00000e5b2b, 0x555555555189};
	const uint64_t A = 0xc000000000ull, C = 0x7f3000000000ull;

	if (!g)
		return 1;
	g_task(g, 0, MT_TASK_LAUNCH, 0, 0, "goprog");
	g_task(g, 0, MT_TASK_EXEC, 300, 0, "goprog");
	g_info(g, 0, "exe=/nonexistent/goprog");
	g_info(g, 0, "exe_base=0x400000");
	g_info(g, 0, "build_id=go:golden/golden");
	g_info(g, 0, "binary=Go go1.19.8, static, not stripped, CGO_ENABLED=0");
	g_info(g, 0, "go_version=go1.19.8");
	g_info(g, 0, "env_read=1");
	g_info(g, 0, "env.GODEBUG=madvdontneed=1");
	g_rss(g, 0, MT_RSS_START, 1 * MiB, 1 * MiB, UINT64_MAX);
	g_mmap(g, 1, A, 64 * MiB, PROT_NONE, ANON, -1, (int64_t)A);
	g_mmap(g, 2, A, 16 * MiB, RW, ANON | MAP_FIXED, -1, (int64_t)A);
	g_rss(g, 3, MT_RSS_FAULT, 17 * MiB, 1 * MiB, UINT64_MAX);
	g->stack_id = 1;
	g_madvise(g, 10, A, 8 * MiB, ADV_FREE, 0);
	g->stack_id = 2;
	g_madvise(g, 11, A + 8 * MiB, 4 * MiB, ADV_DONTNEED, 0);
	g_madvise(g, 12, A + 12 * MiB, 2 * MiB, ADV_DONTNEED, 0);
	g_task(g, 20, MT_TASK_FORK, 301, 0, NULL);
	g->pid = 301;
	g_task(g, 21, MT_TASK_EXEC, 301, 0, "cprog");
	g_info(g, 21, "exe=/nonexistent/cprog");
	g_info(g, 21, "exe_base=0x555555554000");
	g_info(g, 21, "binary=not Go, dynamic PIE");
	g_rss(g, 21, MT_RSS_START, 1 * MiB, 1 * MiB, UINT64_MAX);
	g_mmap(g, 22, 0, 1 * MiB, RW, ANON, -1, (int64_t)C);
	g->stack_id = 3;
	g_munmap(g, 23, C, 1 * MiB, 0);
	g_task(g, 24, MT_TASK_EXIT, 0, 0, NULL);
	g->pid = 300;
	g_rss(g, 30, MT_RSS_END, 17 * MiB, 1 * MiB, UINT64_MAX);
	g_task(g, 30, MT_TASK_EXIT, 0, 0, NULL);
	/* the recorder writes the stacks after the records that use them; id 2 never comes */
	g_stack(g, 31, 1, go_ips, 5);
	g_stack(g, 31, 3, c_ips, 2);
	/*
	 * The Go program's own stacks cannot be named (unknown: 8 MiB MADV_FREE,
	 * and 4 MiB MADV_DONTNEED under the missing stack), 2 MiB has no stack,
	 * the C child unmapped 1 MiB; 14 MiB released, 6 of it eagerly.
	 */
	return close_trace(
	    g, dir, "stacks",
	    "{\"released_lazy_bytes\": 8388608, \"released_eager_bytes\": 6291456, "
	    "\"madv_free_calls\": 1, \"madv_dontneed_calls\": 2, "
	    "\"calls\": {\"mmap\": 3, \"munmap\": 1, \"madvise\": 3}, \"lost_events\": 0, "
	    "\"verdict_names\": [\"Not as expected\", \"GODEBUG=\\\"madvdontneed=1\\\" is set\", "
	    "\"MADV_FREE was observed\", \"unknown (no symbols) 12.0 MiB\"], "
	    "\"releasers\": {\"stacks_recorded\": true, \"calls_with_stack\": 3, "
	    "\"calls_without_stack\": 1, \"stacks\": 3, \"missing_stacks\": 1, "
	    "\"released_bytes\": 14680064, \"unmapped_bytes\": 1048576, "
	    "\"by_releaser\": {"
	    "\"unknown\": {\"released_bytes\": 12582912, \"release_calls\": 2, \"unmap_calls\": 0}, "
	    "\"non_go\": {\"released_bytes\": 0, \"unmapped_bytes\": 1048576, \"unmap_calls\": 1}, "
	    "\"no_stack\": {\"released_bytes\": 2097152, \"release_calls\": 1}}}}\n");
}

/*
 * The reconciliation, lazily: Go (MADV_FREE, GODEBUG=madvdontneed=0)
 * reports 12 MiB released, and all of it is still resident as LazyFree.
 * Go at +0.500s: HeapReleased 12, HeapIdle 13, HeapInuse 3, StackInuse
 * 0.5 MiB; pagemap: lazy_present 12 MiB, committed_present 4 MiB of arena
 * + 132 KiB of brk heap; RSS 17 + 2 (file) MiB, LazyFree 12 MiB.
 * HeapReleased 12 = 12 (LazyFree) + 0 + 0 + 0 + 0 unexplained;
 * RSS 19 = 3 + 0.5 + 1 (idle 13 - released 12) + 12 + 2.5 (the rest).
 */
static int go_recon_lazy(const char *dir)
{
	struct gen *g = open_trace(dir, "go-recon-lazy", "./service", 4250);
	const struct mt_resident res = {.lazy_present = 12 * MiB,
					.committed_present = 4 * MiB + 132 * KiB,
					.ranges = 3};

	if (!g)
		return 1;
	g_info(g, 0, "go_version=go1.19.8");
	g_info(g, 0, "env.GODEBUG=madvdontneed=0");
	g_info(g, 0, "go_metrics=http://127.0.0.1:6060/metrics");
	go_heap(g, ADV_FREE, false);
	g_gostat(g, 50, 0, 2 * MiB, 14 * MiB, 16 * MiB, 512 * KiB);
	g_rss(g, 500, MT_RSS_SAMPLE, 17 * MiB, 2 * MiB, 12 * MiB);
	g_resident(g, 500, &res);
	g_gostat(g, 501, 12 * MiB, 13 * MiB, 3 * MiB, 16 * MiB, 512 * KiB);
	g_gostat(g, 1000, 12 * MiB, 13 * MiB, 3 * MiB, 16 * MiB, 512 * KiB);
	g_rss(g, 1500, MT_RSS_END, 17 * MiB, 2 * MiB, 12 * MiB);
	g_resident(g, 1500, &res);
	g_task(g, 1500, MT_TASK_EXIT, 0, 0, NULL);
	return close_trace(
	    g, dir, "go-recon-lazy",
	    "{\"rss_bytes\": 19922944, \"lazyfree_bytes\": 12582912, "
	    "\"released_lazy_bytes\": 12582912, \"released_eager_bytes\": 0, "
	    "\"go_heap_released_bytes\": 12582912, \"go_heap_inuse_bytes\": 3145728, "
	    "\"gostat_records\": 3, \"resident_records\": 2, \"unknown_records\": 0, "
	    "\"verdict_names\": [\"RSS is 19.0 MiB although Go reports 12.0 MiB released: 12.0 MiB "
	    "of it was released with MADV_FREE and is still resident (LazyFree)\"], "
	    "\"reconciliation\": {\"left_out\": 0, \"processes\": [{\"pid\": 4250, "
	    "\"heap_released\": {\"lazy_resident_bytes\": 12582912, \"lazy_reclaimed_bytes\": 0, "
	    "\"eager_absent_bytes\": 0, \"never_touched_bytes\": 0, \"unexplained_bytes\": 0}, "
	    "\"rss\": {\"heap_inuse_bytes\": 3145728, \"stack_inuse_bytes\": 524288, "
	    "\"idle_kept_bytes\": 1048576, \"lazyfree_bytes\": 12582912, "
	    "\"other_bytes\": 2621440, \"faulted_back_bytes\": 0}, \"partial\": false}]}}\n");
}

/*
 * Eagerly (MADV_DONTNEED), then 4 MiB faulted back: Go used the first
 * released range again. Go at +0.500s: HeapReleased 8, HeapIdle 8,
 * HeapInuse 8, StackInuse 0.25 MiB; pagemap: eager_present 4, eager_absent
 * 8, committed_present 4 MiB + 132 KiB; RSS 9 + 2 MiB, LazyFree 0.
 * HeapReleased 8 = 0 + 0 + 8 (out of RAM) + 0 + 0;
 * RSS 11 = 8 + 0.25 + 0 + 0 + 2.75; 4 MiB faulted back (in HeapInuse).
 */
static int go_recon_eager(const char *dir)
{
	struct gen *g = open_trace(dir, "go-recon-eager", "./service", 4251);
	const struct mt_resident res = {.eager_present = 4 * MiB,
					.eager_absent = 8 * MiB,
					.committed_present = 4 * MiB + 132 * KiB,
					.ranges = 4};

	if (!g)
		return 1;
	g_info(g, 0, "go_version=go1.19.8");
	g_info(g, 0, "env_read=1");
	g_info(g, 0, "go_metrics=http://127.0.0.1:6060/metrics");
	go_heap(g, ADV_DONTNEED, true);
	g_rss(g, 300, MT_RSS_FAULT, 9 * MiB, 2 * MiB, UINT64_MAX);
	g_rss(g, 500, MT_RSS_SAMPLE, 9 * MiB, 2 * MiB, 0);
	g_resident(g, 500, &res);
	g_gostat(g, 501, 8 * MiB, 8 * MiB, 8 * MiB, 16 * MiB, 256 * KiB);
	g_rss(g, 1500, MT_RSS_END, 9 * MiB, 2 * MiB, 0);
	g_resident(g, 1500, &res);
	g_task(g, 1500, MT_TASK_EXIT, 0, 0, NULL);
	return close_trace(
	    g, dir, "go-recon-eager",
	    "{\"rss_bytes\": 11534336, \"lazyfree_bytes\": 0, "
	    "\"released_lazy_bytes\": 0, \"released_eager_bytes\": 12582912, "
	    "\"go_heap_released_bytes\": 8388608, \"go_heap_inuse_bytes\": 8388608, "
	    "\"gostat_records\": 1, \"resident_records\": 2, "
	    "\"verdict_names\": [\"Go reports 8.0 MiB released: 8.0 MiB of it was released eagerly "
	    "(MADV_DONTNEED) and is out of RAM\", \"4.0 MiB released eagerly has been faulted back "
	    "in since\"], "
	    "\"reconciliation\": {\"processes\": [{\"pid\": 4251, "
	    "\"heap_released\": {\"lazy_resident_bytes\": 0, \"lazy_reclaimed_bytes\": 0, "
	    "\"eager_absent_bytes\": 8388608, \"never_touched_bytes\": 0, "
	    "\"unexplained_bytes\": 0}, "
	    "\"rss\": {\"heap_inuse_bytes\": 8388608, \"stack_inuse_bytes\": 262144, "
	    "\"idle_kept_bytes\": 0, \"lazyfree_bytes\": 0, \"other_bytes\": 2883584, "
	    "\"faulted_back_bytes\": 4194304}}]}}\n");
}

/*
 * Never touched: an idle cgo service that released nothing, yet Go
 * reports 3.5 MiB released. Arena: 64 MiB reserved, 8 MiB committed of
 * which 4.5 MiB touched; a glibc thread stack (8 MiB, MAP_STACK, a 4 KiB
 * guard page, 64 KiB touched); the binary (2 MiB file mapping, 1 MiB in
 * RAM). Pagemap: committed_present 4.5 + 0.0625 + 1 MiB, committed_absent
 * 3.5 + (8 MiB - 4 KiB - 64 KiB) + 1 MiB = 13037568. Heap candidates: the
 * 8 MiB of arena; not heap: 8 MiB - 4 KiB of stack + 2 MiB of file.
 * HeapReleased 3.5 MiB = 0 + 0 + 0 + 3.5 (never touched) + 0;
 * RSS 5832704 = 4 + 0.25 + 0.5 (idle 4 - released 3.5) + 0 + 832 KiB.
 */
static int go_recon_untouched(const char *dir)
{
	struct gen *g = open_trace(dir, "go-recon-untouched", "./idlesvc", 4252);
	const uint64_t STK = 0x7f5000000000ull, BIN = 0x400000ull;
	const struct mt_resident res = {
	    .committed_present = 4608 * KiB + 64 * KiB + 1 * MiB,
	    .committed_absent = 3584 * KiB + (8 * MiB - 4 * KiB - 64 * KiB) + 1 * MiB,
	    .ranges = 3};

	if (!g)
		return 1;
	g_info(g, 0, "go_version=go1.21.4");
	g_info(g, 0, "env_read=1");
	g_info(g, 0, "go_metrics=http://127.0.0.1:6060/metrics");
	g_task(g, 0, MT_TASK_LAUNCH, 0, 0, "idlesvc");
	g_rss(g, 0, MT_RSS_START, 0, 1 * MiB, UINT64_MAX);
	g_mmap(g, 1, BIN, 2 * MiB, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, 3, (int64_t)BIN);
	g_mmap(g, 2, ARENA, 64 * MiB, PROT_NONE, ANON, -1, (int64_t)ARENA);
	g_mmap(g, 3, ARENA, 8 * MiB, RW, ANON | MAP_FIXED, -1, (int64_t)ARENA);
	g_mmap(g, 4, 0, 8 * MiB, RW, ANON | MAP_STACK, -1, (int64_t)STK);
	g_mprotect(g, 4, STK, 4 * KiB, PROT_NONE, 0);
	g_rss(g, 10, MT_RSS_FAULT, 4608 * KiB + 64 * KiB, 1 * MiB, UINT64_MAX);
	g_rss(g, 1000, MT_RSS_SAMPLE, 4608 * KiB + 64 * KiB, 1 * MiB, 0);
	g_resident(g, 1000, &res);
	g_gostat(g, 1001, 3584 * KiB, 4 * MiB, 4 * MiB, 8 * MiB, 256 * KiB);
	g_rss(g, 2000, MT_RSS_END, 4608 * KiB + 64 * KiB, 1 * MiB, 0);
	g_task(g, 2000, MT_TASK_DETACH, 0, 0, NULL);
	return close_trace(
	    g, dir, "go-recon-untouched",
	    "{\"rss_bytes\": 5832704, \"released_lazy_bytes\": 0, \"released_eager_bytes\": 0, "
	    "\"committed_bytes\": 18870272, \"go_heap_released_bytes\": 3670016, "
	    "\"go_heap_inuse_bytes\": 4194304, \"gostat_records\": 1, \"resident_records\": 1, "
	    "\"verdict_names\": [\"Go reports 3.5 MiB released, but madvise released nothing: that "
	    "is heap Go mapped and never touched, which it counts as released.\"], "
	    "\"reconciliation\": {\"processes\": [{\"pid\": 4252, "
	    "\"kernel\": {\"heap_candidate_bytes\": 8388608, \"not_heap_bytes\": 10481664, "
	    "\"committed_absent_bytes\": 13037568}, "
	    "\"heap_released\": {\"lazy_resident_bytes\": 0, \"lazy_reclaimed_bytes\": 0, "
	    "\"eager_absent_bytes\": 0, \"never_touched_bytes\": 3670016, "
	    "\"unexplained_bytes\": 0, \"absent_other_bytes\": 9367552}, "
	    "\"rss\": {\"heap_inuse_bytes\": 4194304, \"stack_inuse_bytes\": 262144, "
	    "\"idle_kept_bytes\": 524288, \"lazyfree_bytes\": 0, \"other_bytes\": 851968}}]}}\n");
}

/*
 * Not a golden scenario: a command name and an executable path holding
 * bytes that are not UTF-8, control characters, a quote and a backslash,
 * which `dump` and `report --format json` must escape alike
 * (test_golden.py, escapes()). The release has a stack, so the path shows
 * in the report's programs.
 */
static int escapes(const char *dir)
{
	struct gen *g = open_trace(dir, "escapes", "/nonexistent/esc", 400);
	static const uint64_t ips[] = {0x401000};
	const uint64_t A = 0x7f4000000000ull;

	if (!g)
		return 1;
	g_task(g, 0, MT_TASK_LAUNCH, 0, 0, "a\xff" "b\x01\"\\c\xc3\xa9");
	g_info(g, 0, "exe=/opt/\xfe\x7f\tbin\xe2\x82/\xf0\x9f\x98\x80prog");
	g_info(g, 0, "exe_base=0x400000");
	g_mmap(g, 1, 0, 1 * MiB, RW, ANON, -1, (int64_t)A);
	g->stack_id = 1;
	g_madvise(g, 2, A, 1 * MiB, ADV_DONTNEED, 0);
	g_task(g, 3, MT_TASK_EXIT, 0, 0, NULL);
	g_stack(g, 4, 1, ips, 1);
	return close_trace(g, dir, "escapes", NULL);
}

/*
 * A wrapper: a shell (pid 500) runs a helper (501) and starts a logger in the
 * background (502, no rss record of its own), then execs the Go program. Go
 * commits 128 MiB, 124 of it touched, and releases 16 MiB with MADV_DONTNEED
 * in 4 calls: anon 124 -> 108 MiB; its `end` record says anon 108 + file
 * 2 = 110 MiB. The logger exits last, so the summed gauges end at 0 B; the
 * verdict speaks from pid 500's own records.
 */
static int wrapper(const char *dir)
{
	struct gen *g = open_trace(dir, "wrapper", "./run.sh", 500);
	const uint64_t A = ARENA;

	if (!g)
		return 1;
	g_task(g, 0, MT_TASK_LAUNCH, 0, 0, "sh");
	g_rss(g, 0, MT_RSS_START, 1 * MiB, 1 * MiB, UINT64_MAX);
	g_task(g, 1, MT_TASK_FORK, 501, 0, NULL);
	g->pid = 501;
	g_task(g, 2, MT_TASK_EXEC, 0, 0, "sed");
	g_rss(g, 2, MT_RSS_START, 1 * MiB, 1 * MiB, UINT64_MAX);
	g_rss(g, 5, MT_RSS_END, 1 * MiB, 1 * MiB, UINT64_MAX);
	g_task(g, 5, MT_TASK_EXIT, 0, 0, NULL);
	g->pid = 500;
	g_task(g, 6, MT_TASK_FORK, 502, 0, NULL);
	g_task(g, 10, MT_TASK_EXEC, 0, 0, "goprog");
	g_info(g, 10, "exe=/srv/goprog");
	g_info(g, 10, "go_version=go1.21.4");
	g_info(g, 10, "env_read=1");
	g_rss(g, 10, MT_RSS_START, 2 * MiB, 2 * MiB, UINT64_MAX);
	g_mmap(g, 11, A, 256 * MiB, PROT_NONE, ANON, -1, (int64_t)A);
	g_mmap(g, 12, A, 128 * MiB, RW, ANON | MAP_FIXED, -1, (int64_t)A);
	g_rss(g, 20, MT_RSS_FAULT, 124 * MiB, 2 * MiB, UINT64_MAX);
	for (uint64_t i = 0; i < 4; i++) {
		g_madvise(g, 100 + i, A + i * 4 * MiB, 4 * MiB, ADV_DONTNEED, 0);
		g_rss(g, 100 + i, MT_RSS_SYSCALL, (120 - 4 * i) * MiB, 2 * MiB, UINT64_MAX);
	}
	g_rss(g, 1000, MT_RSS_END, 108 * MiB, 2 * MiB, UINT64_MAX);
	g_task(g, 1000, MT_TASK_EXIT, 0, 0, NULL);
	g->pid = 502;
	g_task(g, 1100, MT_TASK_EXIT, 0, 0, NULL);
	return close_trace(
	    g, dir, "wrapper",
	    "{\"rss_bytes\": 0, \"madv_dontneed_calls\": 4, \"madv_dontneed_bytes\": 16777216, "
	    "\"processes\": 3, \"calls\": {\"mmap\": 2, \"madvise\": 4}, "
	    "\"verdict_names\": [\"Explained below, in order of the memory they released: pid 500 "
	    "(goprog) released 16.0 MiB (RSS 110.0 MiB at its end).\", \"The other 2 processes "
	    "released 0 B in all (RSS 2.0 MiB at their ends).\", \"pid 500 (goprog): At the end "
	    "(+1.000s, just before the exit teardown) RSS was 110.0 MiB (anon 108.0 MiB, file 2.0 "
	    "MiB\", \"As expected for go1.21.4 with GODEBUG unset, the releases are "
	    "MADV_DONTNEED\"], \"verdict_not\": [\"RSS was 0 B\", \"pid 500 (sh)\"]}\n");
}

/*
 * -f: a server (600) forks two workers; 601 releases 4 MiB with
 * MADV_DONTNEED (anon 18 -> 14 MiB), 602 releases 24 MiB with MADV_FREE
 * (RSS stays 35 MiB, 24 MiB of it LazyFree). Explained in that order: 602,
 * then 601; the server, which only waited, is one line.
 */
static int fork2(const char *dir)
{
	struct gen *g = open_trace(dir, "fork2", "./server", 600);
	const uint64_t A = 0x7f6000000000ull, B = 0x7f7000000000ull;

	if (!g)
		return 1;
	/* in time order, as a recorder writes them */
	g_task(g, 0, MT_TASK_LAUNCH, 0, 0, "server");
	g_rss(g, 0, MT_RSS_START, 2 * MiB, 1 * MiB, UINT64_MAX);
	g_task(g, 10, MT_TASK_FORK, 601, 0, NULL);
	g_task(g, 11, MT_TASK_FORK, 602, 0, NULL);
	g->pid = 601;
	g_task(g, 12, MT_TASK_EXEC, 0, 0, "small");
	g_rss(g, 12, MT_RSS_START, 2 * MiB, 1 * MiB, UINT64_MAX);
	g->pid = 602;
	g_task(g, 13, MT_TASK_EXEC, 0, 0, "big");
	g_rss(g, 13, MT_RSS_START, 2 * MiB, 1 * MiB, UINT64_MAX);
	g->pid = 601;
	g_mmap(g, 20, 0, 16 * MiB, RW, ANON, -1, (int64_t)A);
	g_rss(g, 21, MT_RSS_FAULT, 18 * MiB, 1 * MiB, UINT64_MAX);
	g->pid = 602;
	g_mmap(g, 21, 0, 32 * MiB, RW, ANON, -1, (int64_t)B);
	g_rss(g, 22, MT_RSS_FAULT, 34 * MiB, 1 * MiB, UINT64_MAX);
	g->pid = 601;
	g_madvise(g, 30, A, 4 * MiB, ADV_DONTNEED, 0);
	g_rss(g, 30, MT_RSS_SYSCALL, 14 * MiB, 1 * MiB, UINT64_MAX);
	g->pid = 602;
	g_madvise(g, 31, B, 24 * MiB, ADV_FREE, 0);
	g_rss(g, 35, MT_RSS_SAMPLE, 34 * MiB, 1 * MiB, 24 * MiB);
	g->pid = 601;
	g_rss(g, 40, MT_RSS_END, 14 * MiB, 1 * MiB, UINT64_MAX);
	g_task(g, 40, MT_TASK_EXIT, 0, 0, NULL);
	g->pid = 602;
	g_rss(g, 50, MT_RSS_END, 34 * MiB, 1 * MiB, UINT64_MAX);
	g_task(g, 50, MT_TASK_EXIT, 0, 0, NULL);
	g->pid = 600;
	g_rss(g, 60, MT_RSS_END, 2 * MiB, 1 * MiB, UINT64_MAX);
	g_task(g, 60, MT_TASK_EXIT, 0, 0, NULL);
	return close_trace(
	    g, dir, "fork2",
	    "{\"rss_bytes\": 3145728, \"madv_free_bytes\": 25165824, "
	    "\"madv_dontneed_bytes\": 4194304, \"processes\": 3, "
	    "\"verdict_names\": [\"pid 602 (big) released 24.0 MiB (RSS 35.0 MiB at its end); "
	    "pid 601 (small) released 4.0 MiB (RSS 15.0 MiB at its end).\", "
	    "\"pid 600 (server) started 2 processes and released nothing itself (RSS 3.0 MiB at "
	    "its end).\", \"pid 602 (big): MADV_FREE released 24.0 MiB\", "
	    "\"pid 601 (small): MADV_DONTNEED released 4.0 MiB\", \"pid 602 (big): smaps_rollup "
	    "at +0.035s (the last sample): Rss 35.0 MiB, LazyFree 24.0 MiB\"], "
	    "\"verdict_order\": [\"pid 602 (big):\", \"pid 601 (small):\"], "
	    "\"verdict_not\": [\"GODEBUG\", \"scavenger\"]}\n");
}

/*
 * The preload backend on a Go program that is not position-independent: the
 * agent cannot catch the runtime's raw calls (agent.catch says why), so the
 * trace has no release at all while RSS falls from 60 to 40 MiB of anon
 * memory. The verdict must not conclude that nothing was released.
 */
static int preload_go(const char *dir)
{
	struct gen *g = open_trace_be(dir, "preload-go", "./goapp", 700, MT_BACKEND_PRELOAD);

	if (!g)
		return 1;
	g_task(g, 0, MT_TASK_LAUNCH, 0, 0, "goapp");
	g_task(g, 1, MT_TASK_EXEC, 0, 0, "goapp");
	g->synth = true;
	g_mmap(g, 1, 0x400000, 4 * MiB, PROT_READ | PROT_EXEC, MAP_PRIVATE, 3, 0x400000);
	g_rss(g, 1, MT_RSS_START, 2 * MiB, 2 * MiB, UINT64_MAX);
	g_info(g, 1, "agent.catch=a Go program that is not position-independent (built "
		     "without -buildmode=pie)");
	g_info(g, 1, "exe=/srv/goapp");
	g_info(g, 1, "go_version=go1.21.4");
	g_info(g, 1, "env_read=1");
	g_rss(g, 100, MT_RSS_FAULT, 60 * MiB, 2 * MiB, UINT64_MAX);
	g_rss(g, 600, MT_RSS_RECLAIM, 40 * MiB, 2 * MiB, UINT64_MAX);
	g_rss(g, 1000, MT_RSS_END, 40 * MiB, 2 * MiB, UINT64_MAX);
	g_task(g, 1000, MT_TASK_EXIT, 0, 0, NULL);
	/* the synthetic mmap is state, not a call: the trace has no call at all */
	return close_trace(
	    g, dir, "preload-go",
	    "{\"rss_bytes\": 44040192, \"madv_free_calls\": 0, \"madv_dontneed_calls\": 0, "
	    "\"calls\": {\"mmap\": 0, \"madvise\": 0}, "
	    "\"verdict_names\": [\"built without -buildmode=pie\", \"every memory call of the "
	    "Go runtime\", \"cannot tell whether there was none\", \"--backend=bpf\", "
	    "\"RSS fell outside the calls seen: RSS fell by 20.0 MiB\"], "
	    "\"verdict_not\": [\"No memory was released\", \"Reclaim seen\", "
	    "\"released nothing\", \"madvise released nothing\"]}\n");
}

/* Words no verdict of a C program may say (test_golden.py: verdict_not). */
#define NO_GO "\"verdict_not\": [\"GODEBUG\", \"scavenger\", \"FreeOSMemory\", " \
	      "\"This is a Go program\", \"Go 1.\", \"HeapReleased\"]"

/* A C program: its facts as the recorder writes them, and a 64 MiB region in use. */
static void c_prog(struct gen *g, const char *comm, const char *alloc, const char *version,
		   const char *const *env)
{
	char kv[160];

	g_task(g, 0, MT_TASK_LAUNCH, 0, 0, comm);
	g_task(g, 0, MT_TASK_EXEC, 0, 0, comm);
	snprintf(kv, sizeof(kv), "exe=/usr/bin/%s", comm);
	g_info(g, 0, kv);
	g_info(g, 0, "binary=not Go, dynamic PIE");
	snprintf(kv, sizeof(kv), "allocator=%s", alloc);
	g_info(g, 0, kv);
	g_info(g, 0, "allocator_linked=dynamic");
	if (version) {
		snprintf(kv, sizeof(kv), "allocator_version=%s", version);
		g_info(g, 0, kv);
	}
	g_info(g, 0, "env_read=1");
	for (; env && *env; env++)
		g_info(g, 0, *env);
	g_rss(g, 0, MT_RSS_START, 1 * MiB, 1 * MiB, UINT64_MAX);
}

#define C_REGION 0x7f8000000000ull

/* The allocator's 64 MiB region, written: anon 65 MiB. */
static void c_region(struct gen *g)
{
	g_mmap(g, 10, 0, 64 * MiB, RW, ANON, -1, (int64_t)C_REGION);
	g_rss(g, 11, MT_RSS_FAULT, 65 * MiB, 1 * MiB, UINT64_MAX);
}

static int c_end(struct gen *g, const char *dir, const char *name, uint64_t anon, uint64_t lazy,
		 const char *expect)
{
	g_rss(g, 500, MT_RSS_SAMPLE, anon, 1 * MiB, lazy);
	g_rss(g, 1000, MT_RSS_END, anon, 1 * MiB, UINT64_MAX);
	g_task(g, 1000, MT_TASK_EXIT, 0, 0, NULL);
	return close_trace(g, dir, name, expect);
}

/*
 * glibc, defaults: an 8 MiB heap grown with brk (anon 9 MiB), a 4 MiB block
 * mapped on its own (anon 13) and unmapped at free (anon 9), then the heap
 * top trimmed by 1 MiB (anon 8).
 */
static int c_glibc(const char *dir)
{
	struct gen *g = open_trace(dir, "c-glibc", "./cprog", 810);

	if (!g)
		return 1;
	c_prog(g, "cprog", "glibc", "2.36", NULL);
	g_brk(g, 1, 0, 0x600000);
	g_brk(g, 2, 0xe00000, 0xe00000);
	g_rss(g, 3, MT_RSS_FAULT, 9 * MiB, 1 * MiB, UINT64_MAX);
	g_mmap(g, 10, 0, 4 * MiB, RW, ANON, -1, (int64_t)C_REGION);
	g_rss(g, 11, MT_RSS_FAULT, 13 * MiB, 1 * MiB, UINT64_MAX);
	g_munmap(g, 20, C_REGION, 4 * MiB, 0);
	g_rss(g, 20, MT_RSS_SYSCALL, 9 * MiB, 1 * MiB, UINT64_MAX);
	g_brk(g, 30, 0xd00000, 0xd00000);
	g_rss(g, 30, MT_RSS_SYSCALL, 8 * MiB, 1 * MiB, UINT64_MAX);
	return c_end(g, dir, "c-glibc", 8 * MiB, 0,
		     "{\"rss_bytes\": 9437184, \"munmap_calls\": 1, \"munmap_bytes\": 4194304, "
		     "\"calls\": {\"brk\": 3, \"mmap\": 1, \"munmap\": 1}, "
		     "\"verdict_names\": [\"This program allocates with glibc's malloc 2.36, "
		     "linked dynamic\", \"Seen here: munmap 4.0 MiB in 1 call; brk trimming the "
		     "heap top 1.0 MiB in 1 call.\", \"Its environment sets none of "
		     "MALLOC_TRIM_THRESHOLD_\", \"malloc_trim(0)\"], " NO_GO "}\n");
}

/*
 * glibc with MALLOC_TRIM_THRESHOLD_=131072 and MALLOC_ARENA_MAX=2: the same
 * heap and block, the heap top trimmed by 6 MiB (anon 9 -> 3 MiB), and a
 * thread's arena (a 64 MiB heap, 4 MiB of it usable and written: anon 7)
 * of which malloc_trim releases 2 MiB with MADV_DONTNEED (anon 5).
 */
static int c_glibc_trim(const char *dir)
{
	static const char *const env[] = {"env.MALLOC_TRIM_THRESHOLD_=131072",
					  "env.MALLOC_ARENA_MAX=2", NULL};
	struct gen *g = open_trace(dir, "c-glibc-trim", "./cprog", 811);
	const uint64_t H = 0x7f9000000000ull;

	if (!g)
		return 1;
	c_prog(g, "cprog", "glibc", "2.36", env);
	g_brk(g, 1, 0, 0x600000);
	g_brk(g, 2, 0xe00000, 0xe00000);
	g_rss(g, 3, MT_RSS_FAULT, 9 * MiB, 1 * MiB, UINT64_MAX);
	g_mmap(g, 10, 0, 4 * MiB, RW, ANON, -1, (int64_t)C_REGION);
	g_rss(g, 11, MT_RSS_FAULT, 13 * MiB, 1 * MiB, UINT64_MAX);
	g_munmap(g, 20, C_REGION, 4 * MiB, 0);
	g_rss(g, 20, MT_RSS_SYSCALL, 9 * MiB, 1 * MiB, UINT64_MAX);
	g_brk(g, 30, 0x800000, 0x800000);
	g_rss(g, 30, MT_RSS_SYSCALL, 3 * MiB, 1 * MiB, UINT64_MAX);
	g_mmap(g, 40, 0, 64 * MiB, PROT_NONE, ANON | MAP_NORESERVE, -1, (int64_t)H);
	g_mprotect(g, 41, H, 4 * MiB, RW, 0);
	g_rss(g, 42, MT_RSS_FAULT, 7 * MiB, 1 * MiB, UINT64_MAX);
	g_madvise(g, 50, H + 2 * MiB, 2 * MiB, ADV_DONTNEED, 0);
	g_rss(g, 50, MT_RSS_SYSCALL, 5 * MiB, 1 * MiB, UINT64_MAX);
	return c_end(g, dir, "c-glibc-trim", 5 * MiB, 0,
		     "{\"rss_bytes\": 6291456, \"madv_dontneed_calls\": 1, "
		     "\"madv_dontneed_bytes\": 2097152, \"munmap_bytes\": 4194304, "
		     "\"calls\": {\"brk\": 3, \"mmap\": 2, \"munmap\": 1, \"mprotect\": 1, "
		     "\"madvise\": 1}, "
		     "\"verdict_names\": [\"Seen here: munmap 4.0 MiB in 1 call; brk trimming the "
		     "heap top 6.0 MiB in 1 call; MADV_DONTNEED 2.0 MiB in 1 call.\", \"Its "
		     "environment sets MALLOC_TRIM_THRESHOLD_=131072, MALLOC_ARENA_MAX=2.\", \"As "
		     "MALLOC_TRIM_THRESHOLD_=131072 asks, the heap top was given back with brk "
		     "whenever more than that was free there (6.0 MiB in 1 call).\"], " NO_GO "}\n");
}

/*
 * jemalloc 5.1 (muzzy_decay_ms 10 s by default): 32 MiB purged lazily with
 * MADV_FREE (RSS stays 66 MiB), then 16 MiB of it purged again with
 * MADV_DONTNEED (anon 65 -> 49 MiB); LazyFree 16 MiB at the sample.
 */
static int c_jemalloc(const char *dir)
{
	struct gen *g = open_trace(dir, "c-jemalloc", "./cprog", 820);

	if (!g)
		return 1;
	c_prog(g, "cprog", "jemalloc", "5.1.0", NULL);
	c_region(g);
	g_madvise(g, 100, C_REGION, 32 * MiB, ADV_FREE, 0);
	g_madvise(g, 200, C_REGION, 16 * MiB, ADV_DONTNEED, 0);
	g_rss(g, 200, MT_RSS_SYSCALL, 49 * MiB, 1 * MiB, UINT64_MAX);
	return c_end(g, dir, "c-jemalloc", 49 * MiB, 16 * MiB,
		     "{\"rss_bytes\": 52428800, \"lazyfree_bytes\": 16777216, "
		     "\"madv_free_bytes\": 33554432, \"madv_dontneed_bytes\": 16777216, "
		     "\"released_lazy_bytes\": 16777216, \"released_eager_bytes\": 16777216, "
		     "\"escalated_bytes\": 16777216, "
		     "\"verdict_names\": [\"This program allocates with jemalloc 5.1.0\", "
		     "\"Seen here: MADV_FREE 32.0 MiB in 1 call; MADV_DONTNEED 16.0 MiB in 1 call "
		     "(of the memory released with MADV_FREE, 16.0 MiB was released again with "
		     "MADV_DONTNEED: dirty, then muzzy, then purged).\", \"As expected with "
		     "muzzy_decay_ms not 0 (the default before 5.2)\", "
		     "\"MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0\"], " NO_GO "}\n");
}

/* jemalloc 5.3 with MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0: 32 MiB purged with MADV_DONTNEED. */
static int c_jemalloc_decay0(const char *dir)
{
	static const char *const env[] = {"env.MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0",
					  NULL};
	struct gen *g = open_trace(dir, "c-jemalloc-decay0", "./cprog", 821);

	if (!g)
		return 1;
	c_prog(g, "cprog", "jemalloc", "5.3.0", env);
	c_region(g);
	for (uint64_t i = 0; i < 2; i++) {
		g_madvise(g, 100 + i, C_REGION + i * 16 * MiB, 16 * MiB, ADV_DONTNEED, 0);
		g_rss(g, 100 + i, MT_RSS_SYSCALL, (49 - 16 * i) * MiB, 1 * MiB, UINT64_MAX);
	}
	return c_end(g, dir, "c-jemalloc-decay0", 33 * MiB, 0,
		     "{\"rss_bytes\": 35651584, \"madv_free_calls\": 0, "
		     "\"madv_dontneed_calls\": 2, \"madv_dontneed_bytes\": 33554432, "
		     "\"verdict_names\": [\"Seen here: MADV_DONTNEED 32.0 MiB in 2 calls.\", "
		     "\"Its environment sets MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0.\", "
		     "\"As expected with muzzy_decay_ms 0 (MALLOC_CONF)\", \"dirty_decay_ms:0 "
		     "(MALLOC_CONF) purges at once\"], " NO_GO "}\n");
}

/* tcmalloc, defaults: 8 MiB released with MADV_DONTNEED (anon 65 -> 57 MiB). */
static int c_tcmalloc(const char *dir)
{
	struct gen *g = open_trace(dir, "c-tcmalloc", "./cprog", 830);

	if (!g)
		return 1;
	c_prog(g, "cprog", "tcmalloc", "2.10", NULL);
	c_region(g);
	g_madvise(g, 100, C_REGION, 8 * MiB, ADV_DONTNEED, 0);
	g_rss(g, 100, MT_RSS_SYSCALL, 57 * MiB, 1 * MiB, UINT64_MAX);
	return c_end(g, dir, "c-tcmalloc", 57 * MiB, 0,
		     "{\"rss_bytes\": 60817408, \"madv_dontneed_calls\": 1, "
		     "\"madv_dontneed_bytes\": 8388608, "
		     "\"verdict_names\": [\"This program allocates with tcmalloc 2.10\", "
		     "\"Seen here: MADV_DONTNEED 8.0 MiB in 1 call.\", \"Its environment sets "
		     "none of TCMALLOC_RELEASE_RATE or TCMALLOC_AGGRESSIVE_DECOMMIT\", \"raise "
		     "TCMALLOC_RELEASE_RATE\"], " NO_GO "}\n");
}

/* tcmalloc with TCMALLOC_RELEASE_RATE=10: 48 MiB released in 6 calls (anon 65 -> 17 MiB). */
static int c_tcmalloc_rate(const char *dir)
{
	static const char *const env[] = {"env.TCMALLOC_RELEASE_RATE=10", NULL};
	struct gen *g = open_trace(dir, "c-tcmalloc-rate", "./cprog", 831);

	if (!g)
		return 1;
	c_prog(g, "cprog", "tcmalloc", "2.10", env);
	c_region(g);
	for (uint64_t i = 0; i < 6; i++) {
		g_madvise(g, 100 + i, C_REGION + i * 8 * MiB, 8 * MiB, ADV_DONTNEED, 0);
		g_rss(g, 100 + i, MT_RSS_SYSCALL, (57 - 8 * i) * MiB, 1 * MiB, UINT64_MAX);
	}
	return c_end(g, dir, "c-tcmalloc-rate", 17 * MiB, 0,
		     "{\"rss_bytes\": 18874368, \"madv_dontneed_calls\": 6, "
		     "\"madv_dontneed_bytes\": 50331648, "
		     "\"verdict_names\": [\"Seen here: MADV_DONTNEED 48.0 MiB in 6 calls.\", "
		     "\"As expected with TCMALLOC_RELEASE_RATE=10: tcmalloc released with "
		     "MADV_DONTNEED (48.0 MiB)\", \"RSS fell by 48.0 MiB at the MADV_DONTNEED "
		     "calls\"], " NO_GO "}\n");
}

/* mimalloc 2.1, defaults: 16 MiB purged with MADV_DONTNEED (anon 65 -> 49 MiB). */
static int c_mimalloc(const char *dir)
{
	struct gen *g = open_trace(dir, "c-mimalloc", "./cprog", 840);

	if (!g)
		return 1;
	c_prog(g, "cprog", "mimalloc", "2.1.2", NULL);
	c_region(g);
	g_madvise(g, 100, C_REGION, 16 * MiB, ADV_DONTNEED, 0);
	g_rss(g, 100, MT_RSS_SYSCALL, 49 * MiB, 1 * MiB, UINT64_MAX);
	return c_end(g, dir, "c-mimalloc", 49 * MiB, 0,
		     "{\"rss_bytes\": 52428800, \"madv_dontneed_bytes\": 16777216, "
		     "\"verdict_names\": [\"This program allocates with mimalloc 2.1.2\", "
		     "\"Seen here: MADV_DONTNEED 16.0 MiB in 1 call.\", \"As expected by "
		     "default: the purges are MADV_DONTNEED, and RSS falls at each.\"], " NO_GO
		     "}\n");
}

/*
 * mimalloc 2.1 with MIMALLOC_PURGE_DELAY=0 and MIMALLOC_PURGE_DECOMMITS=0:
 * 48 MiB purged at once, with MADV_FREE (3 calls): RSS stays, LazyFree 48 MiB.
 */
static int c_mimalloc_purge(const char *dir)
{
	static const char *const env[] = {"env.MIMALLOC_PURGE_DELAY=0",
					  "env.MIMALLOC_PURGE_DECOMMITS=0", NULL};
	struct gen *g = open_trace(dir, "c-mimalloc-purge", "./cprog", 841);

	if (!g)
		return 1;
	c_prog(g, "cprog", "mimalloc", "2.1.2", env);
	c_region(g);
	for (uint64_t i = 0; i < 3; i++)
		g_madvise(g, 100 + i, C_REGION + i * 16 * MiB, 16 * MiB, ADV_FREE, 0);
	return c_end(g, dir, "c-mimalloc-purge", 65 * MiB, 48 * MiB,
		     "{\"rss_bytes\": 69206016, \"lazyfree_bytes\": 50331648, "
		     "\"madv_free_calls\": 3, \"madv_free_bytes\": 50331648, "
		     "\"verdict_names\": [\"Seen here: MADV_FREE 48.0 MiB in 3 calls.\", \"Its "
		     "environment sets MIMALLOC_PURGE_DELAY=0, MIMALLOC_PURGE_DECOMMITS=0.\", "
		     "\"As expected with MIMALLOC_PURGE_DELAY=0, MIMALLOC_PURGE_DECOMMITS=0: the "
		     "purges are MADV_FREE\", \"LazyFree 48.0 MiB\"], " NO_GO "}\n");
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--escapes"))
		return escapes(argv[2]);
	if (argc != 2) {
		fprintf(stderr, "usage: gen_traces OUTDIR | gen_traces --escapes OUTDIR\n");
		return 2;
	}
	if (go_lazy(argv[1]) || go_eager(argv[1]) || reclaim(argv[1]) || mixed(argv[1]) ||
	    stacks(argv[1]) || go_recon_lazy(argv[1]) || go_recon_eager(argv[1]) ||
	    go_recon_untouched(argv[1]) || wrapper(argv[1]) || fork2(argv[1]) ||
	    preload_go(argv[1]) || c_glibc(argv[1]) || c_glibc_trim(argv[1]) ||
	    c_jemalloc(argv[1]) || c_jemalloc_decay0(argv[1]) || c_tcmalloc(argv[1]) ||
	    c_tcmalloc_rate(argv[1]) || c_mimalloc(argv[1]) || c_mimalloc_purge(argv[1]))
		return 1;
	return 0;
}
