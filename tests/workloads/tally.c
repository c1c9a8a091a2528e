// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * tally: issues a known list of memory syscalls from N threads and prints,
 * at the end, exactly what it issued (one JSON object per process on one
 * line), so a recording can be compared with it call by call.
 *
 * glibc, the dynamic loader and pthread_create make memory syscalls of their
 * own. To tell ours apart, every thread brackets its calls with two marker
 * calls, madvise(TALLY_BEGIN, 0, MADV_NORMAL) and madvise(TALLY_END, 0,
 * MADV_NORMAL) (a zero length madvise succeeds without touching anything),
 * and between the markers it makes no call but the listed ones: no malloc,
 * no stdio. The markers are part of the list. So, per thread, the recorded
 * calls from its begin marker to its end marker must equal the list exactly:
 * same order, arguments and return values.
 *
 * Calls are made with syscall(2) so the return value recorded is the
 * kernel's (-errno on failure), whatever glibc's wrapper would do.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Page aligned and below 4 GiB so the 32-bit build uses the same values. */
#define TALLY_BEGIN 0x5a1e0000UL
#define TALLY_END 0x5a1f0000UL
/* Issued while waiting with -w, so a test can see that tracing is live. */
#define TALLY_PROBE 0x5a1d0000UL
/* Not a madvise advice: the kernel answers EINVAL. */
#define TALLY_BAD_ADVICE 1234

enum call_type { C_MMAP, C_MUNMAP, C_MREMAP, C_MADVISE, C_MPROTECT, C_BRK, C_NTYPES };

static const char *const type_names[C_NTYPES] = {
	"mmap", "munmap", "mremap", "madvise", "mprotect", "brk",
};

struct call {
	enum call_type type;
	pid_t tid;
	uint64_t addr; /* mremap: old_addr */
	uint64_t len; /* mremap: old_len */
	int64_t ret;
	uint64_t new_len; /* mremap */
	uint64_t new_addr; /* mremap */
	uint64_t off; /* mmap */
	uint32_t prot; /* mmap, mprotect */
	uint32_t flags; /* mmap, mremap */
	int32_t fd; /* mmap */
	int32_t advice; /* madvise */
};

struct worker {
	pthread_t thread;
	pid_t tid;
	int index; /* 0: the main thread */
	struct call *calls; /* allocated before the thread starts: no malloc in the window */
	size_t ncalls;
	size_t cap;
	bool do_brk; /* brk is process-wide: only one thread moves it */
};

static long page;
static int iterations = 8;
/* -X: every address a thread maps at is fixed by its index (see work()) */
static bool fixed;
static pthread_barrier_t start_barrier;

/* A raw syscall's result as the kernel returned it: a value or -errno. */
static int64_t kret(long r)
{
	if (r == -1)
		return -(int64_t)errno;
	/* zero-extend: a 32-bit mmap can return addresses above 2 GiB */
	return (int64_t)(uint64_t)(unsigned long)r;
}

static struct call *next_call(struct worker *w, enum call_type type)
{
	struct call *c;

	if (w->ncalls == w->cap) {
		/* cannot happen: cap is computed from the call plan below */
		static const char msg[] = "tally: call list overflow\n";

		if (write(2, msg, sizeof(msg) - 1) < 0)
			_exit(2);
		_exit(2);
	}
	c = &w->calls[w->ncalls++];
	memset(c, 0, sizeof(*c));
	c->type = type;
	c->tid = w->tid;
	return c;
}

static int64_t do_mmap(struct worker *w, uint64_t addr, uint64_t len, uint32_t prot,
		       uint32_t flags, int32_t fd, uint64_t off)
{
	struct call *c = next_call(w, C_MMAP);

	c->addr = addr;
	c->len = len;
	c->prot = prot;
	c->flags = flags;
	c->fd = fd;
	c->off = off;
#ifdef __i386__
	/* i386 mmap(2) takes an argument block; glibc and everyone use mmap2 (offset in pages) */
	c->ret = kret(syscall(SYS_mmap2, (unsigned long)addr, (unsigned long)len, prot, flags, fd,
			      (unsigned long)(off / 4096)));
#else
	c->ret = kret(syscall(SYS_mmap, addr, len, prot, flags, fd, off));
#endif
	return c->ret;
}

static int64_t do_munmap(struct worker *w, uint64_t addr, uint64_t len)
{
	struct call *c = next_call(w, C_MUNMAP);

	c->addr = addr;
	c->len = len;
	c->ret = kret(syscall(SYS_munmap, (unsigned long)addr, (unsigned long)len));
	return c->ret;
}

static int64_t do_mremap(struct worker *w, uint64_t old_addr, uint64_t old_len, uint64_t new_len,
			 uint32_t flags, uint64_t new_addr)
{
	struct call *c = next_call(w, C_MREMAP);

	c->addr = old_addr;
	c->len = old_len;
	c->new_len = new_len;
	c->flags = flags;
	c->new_addr = new_addr;
	c->ret = kret(syscall(SYS_mremap, (unsigned long)old_addr, (unsigned long)old_len,
			      (unsigned long)new_len, flags, (unsigned long)new_addr));
	return c->ret;
}

static int64_t do_madvise(struct worker *w, uint64_t addr, uint64_t len, int32_t advice)
{
	struct call *c = next_call(w, C_MADVISE);

	c->addr = addr;
	c->len = len;
	c->advice = advice;
	c->ret = kret(syscall(SYS_madvise, (unsigned long)addr, (unsigned long)len, advice));
	return c->ret;
}

static int64_t do_mprotect(struct worker *w, uint64_t addr, uint64_t len, uint32_t prot)
{
	struct call *c = next_call(w, C_MPROTECT);

	c->addr = addr;
	c->len = len;
	c->prot = prot;
	c->ret = kret(syscall(SYS_mprotect, (unsigned long)addr, (unsigned long)len, prot));
	return c->ret;
}

static int64_t do_brk(struct worker *w, uint64_t addr)
{
	struct call *c = next_call(w, C_BRK);

	c->addr = addr;
	c->ret = kret(syscall(SYS_brk, (unsigned long)addr));
	return c->ret;
}

/* Calls one iteration makes, and the extra ones of a whole run (markers, brk). */
#define CALLS_PER_ITER 13
#define CALLS_EXTRA 5

/* Larger than the address space, so mmap fails with ENOMEM on either ABI. */
static uint64_t huge_len(void)
{
	return sizeof(long) == 8 ? (1ULL << 62) : 0xfffff000ULL;
}

/*
 * With -X, thread i maps at FIXED_BASE + i * FIXED_STRIDE (iteration n at
 * n MiB above, MAP_FIXED_NOREPLACE) and moves with MREMAP_FIXED to 128 MiB
 * above that: whatever the threads' interleaving, each thread's calls and
 * their results are the same in every run (strace's run and a recorder's).
 */
#define FIXED_BASE (sizeof(long) == 8 ? 0x300000000000ULL : 0x60000000ULL)
#define FIXED_STRIDE (sizeof(long) == 8 ? 0x10000000ULL : 0x800000ULL)
#define FIXED_MOVE (sizeof(long) == 8 ? 0x8000000ULL : 0x400000ULL)
#define FIXED_STEP (sizeof(long) == 8 ? 0x100000ULL : 0x40000ULL)

static void work(struct worker *w)
{
	const uint32_t rw = PROT_READ | PROT_WRITE;
	const uint32_t anon = MAP_PRIVATE | MAP_ANONYMOUS;
	const uint64_t p = (uint64_t)page;
	const uint64_t tbase = FIXED_BASE + (uint64_t)w->index * FIXED_STRIDE;

	do_madvise(w, TALLY_BEGIN, 0, MADV_NORMAL);
	if (w->do_brk) {
		int64_t cur = do_brk(w, 0);

		if (cur > 0 && do_brk(w, cur + 8 * p) == cur + (int64_t)(8 * p))
			do_brk(w, cur); /* give it back: malloc's heap must end where it did */
	}
	for (int i = 0; i < iterations; i++) {
		/* lengths vary so a test cannot match the wrong call by accident */
		uint64_t len = (16 + (uint64_t)(i % 16)) * p;
		int64_t a, b;

		if (fixed)
			a = do_mmap(w, tbase + (uint64_t)i * FIXED_STEP, len, rw,
				    anon | MAP_FIXED_NOREPLACE, -1, 0);
		else
			a = do_mmap(w, 0, len, rw, anon, -1, 0);

		if (a < 0)
			continue;
		for (uint64_t off = 0; off < len; off += p)
			((volatile char *)(uintptr_t)a)[off] = 1;
		do_mprotect(w, a, p, PROT_READ);
		/* back to one VMA: mremap needs the old range in a single mapping */
		do_mprotect(w, a, p, rw);
		do_madvise(w, a + p, 4 * p, MADV_FREE);
		do_madvise(w, a + 5 * p, 4 * p, MADV_DONTNEED);
		if (fixed)
			b = do_mremap(w, a, len, 2 * len, MREMAP_MAYMOVE | MREMAP_FIXED,
				      tbase + FIXED_MOVE + (uint64_t)i * FIXED_STEP);
		else
			b = do_mremap(w, a, len, 2 * len, MREMAP_MAYMOVE, 0);
		if (b < 0) {
			do_munmap(w, a, len);
			continue;
		}
		do_munmap(w, b, 2 * len);

		/* calls that fail on purpose, before touching any memory */
		do_munmap(w, b + 1, p); /* unaligned: EINVAL */
		do_madvise(w, b, p, TALLY_BAD_ADVICE); /* EINVAL */
		do_mmap(w, 0, 0, rw, anon, -1, 0); /* zero length: EINVAL */
		do_mmap(w, 0, huge_len(), PROT_READ, anon | MAP_NORESERVE, -1, 0); /* ENOMEM */
		do_mprotect(w, b + 1, p, PROT_READ); /* unaligned: EINVAL */
		do_mremap(w, b, p, 0, 0, 0); /* zero new length: EINVAL */
	}
	do_madvise(w, TALLY_END, 0, MADV_NORMAL);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	w->tid = (pid_t)syscall(SYS_gettid);
	pthread_barrier_wait(&start_barrier);
	work(w);
	return NULL;
}

static const char *advice_name(int advice)
{
	switch (advice) {
	case MADV_NORMAL:
		return "MADV_NORMAL";
	case MADV_DONTNEED:
		return "MADV_DONTNEED";
	case MADV_FREE:
		return "MADV_FREE";
	default:
		return NULL;
	}
}

static void print_call(FILE *out, const struct call *c)
{
	const char *name;

	fprintf(out, "{\"type\":\"%s\",\"tid\":%d", type_names[c->type], (int)c->tid);
	switch (c->type) {
	case C_MMAP:
		fprintf(out,
			",\"addr\":%" PRIu64 ",\"len\":%" PRIu64 ",\"prot\":%u,\"flags\":%u"
			",\"fd\":%d,\"off\":%" PRIu64,
			c->addr, c->len, c->prot, c->flags, c->fd, c->off);
		break;
	case C_MUNMAP:
		fprintf(out, ",\"addr\":%" PRIu64 ",\"len\":%" PRIu64, c->addr, c->len);
		break;
	case C_MREMAP:
		fprintf(out,
			",\"old_addr\":%" PRIu64 ",\"old_len\":%" PRIu64 ",\"new_len\":%" PRIu64
			",\"new_addr\":%" PRIu64 ",\"flags\":%u",
			c->addr, c->len, c->new_len, c->new_addr, c->flags);
		break;
	case C_MADVISE:
		fprintf(out, ",\"addr\":%" PRIu64 ",\"len\":%" PRIu64, c->addr, c->len);
		name = advice_name(c->advice);
		if (name)
			fprintf(out, ",\"advice\":\"%s\"", name);
		else
			fprintf(out, ",\"advice\":%d", c->advice);
		break;
	case C_MPROTECT:
		fprintf(out, ",\"addr\":%" PRIu64 ",\"len\":%" PRIu64 ",\"prot\":%u", c->addr,
			c->len, c->prot);
		break;
	case C_BRK:
		fprintf(out, ",\"addr\":%" PRIu64, c->addr);
		break;
	case C_NTYPES:
		break;
	}
	fprintf(out, ",\"ret\":%" PRId64 "}", c->ret);
}

/* Distinct advice values seen (markers, FREE, DONTNEED, the bad one). */
#define MAX_ADVICE 8

static void print_tally(FILE *out, const char *role, struct worker *ws, int nthreads)
{
	unsigned long counts[C_NTYPES] = { 0 };
	int advice[MAX_ADVICE];
	unsigned long advice_n[MAX_ADVICE] = { 0 };
	int nadvice = 0;
	unsigned long einval = 0, enomem = 0, other_err = 0;
	bool first = true;

	for (int t = 0; t < nthreads; t++) {
		for (size_t i = 0; i < ws[t].ncalls; i++) {
			const struct call *c = &ws[t].calls[i];
			int k;

			counts[c->type]++;
			if (c->ret == -EINVAL)
				einval++;
			else if (c->ret == -ENOMEM)
				enomem++;
			else if (c->ret < 0 && c->ret > -4096)
				other_err++;
			if (c->type != C_MADVISE)
				continue;
			for (k = 0; k < nadvice && advice[k] != c->advice; k++)
				;
			if (k == nadvice && nadvice < MAX_ADVICE)
				advice[nadvice++] = c->advice;
			if (k < nadvice)
				advice_n[k]++;
		}
	}

	fprintf(out,
		"{\"role\":\"%s\",\"pid\":%d,\"ppid\":%d,\"threads\":%d,\"iterations\":%d,"
		"\"page_size\":%ld,\"abi\":\"%s\",\"markers\":{\"begin\":%lu,\"end\":%lu,"
		"\"probe\":%lu},\"counts\":{",
		role, (int)getpid(), (int)getppid(), nthreads, iterations, page,
		sizeof(long) == 8 ? "x86_64" : "i386", TALLY_BEGIN, TALLY_END, TALLY_PROBE);
	for (int i = 0; i < C_NTYPES; i++)
		fprintf(out, "%s\"%s\":%lu", i ? "," : "", type_names[i], counts[i]);
	fprintf(out, "},\"advice\":{");
	for (int k = 0; k < nadvice; k++) {
		const char *name = advice_name(advice[k]);

		if (name)
			fprintf(out, "%s\"%s\":%lu", k ? "," : "", name, advice_n[k]);
		else
			fprintf(out, "%s\"%d\":%lu", k ? "," : "", advice[k], advice_n[k]);
	}
	fprintf(out, "},\"errors\":{\"EINVAL\":%lu,\"ENOMEM\":%lu,\"other\":%lu},\"tids\":[",
		einval, enomem, other_err);
	for (int t = 0; t < nthreads; t++)
		fprintf(out, "%s%d", t ? "," : "", (int)ws[t].tid);
	fprintf(out, "],\"calls\":[");
	for (int t = 0; t < nthreads; t++) {
		for (size_t i = 0; i < ws[t].ncalls; i++) {
			if (!first)
				fputc(',', out);
			first = false;
			print_call(out, &ws[t].calls[i]);
		}
	}
	fprintf(out, "]}\n");
}

static int alloc_worker(struct worker *w, bool do_brk)
{
	w->cap = (size_t)iterations * CALLS_PER_ITER + CALLS_EXTRA;
	w->calls = calloc(w->cap, sizeof(*w->calls));
	w->do_brk = do_brk;
	return w->calls ? 0 : -1;
}

/* Open the tally output: stdout, or FILE in append mode (parent and child share it). */
static FILE *open_out(const char *path)
{
	FILE *f;
	int fd;

	if (!path)
		return stdout;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "a");
	if (!f)
		close(fd);
	return f;
}

static int write_tally(const char *path, const char *role, struct worker *ws, int n)
{
	FILE *out = open_out(path);

	if (!out) {
		fprintf(stderr, "tally: cannot open %s: %s\n", path, strerror(errno));
		return -1;
	}
	print_tally(out, role, ws, n);
	if (out == stdout)
		return fflush(out) ? -1 : 0;
	return fclose(out) ? -1 : 0;
}

/* The forked child's run: its own markers and list, single-threaded. */
static int child_run(const char *out_path)
{
	struct worker w = { 0 };

	w.tid = (pid_t)syscall(SYS_gettid);
	if (alloc_worker(&w, false))
		return 1;
	work(&w);
	return write_tally(out_path, "child", &w, 1) ? 1 : 0;
}

/*
 * Attach support: say we are ready, then wait for SIGUSR1 (blocked in every
 * thread, so it is only ever taken here) or until the delay runs out. The
 * probe call lets a tracer's live output show it is attached.
 */
static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void wait_for_start(double seconds, const sigset_t *usr1)
{
	const struct timespec step = { 0, 50 * 1000 * 1000 };
	uint64_t end = mono_ns() + (uint64_t)(seconds * 1e9);

	fprintf(stderr, "ready %d\n", (int)getpid());
	do {
		syscall(SYS_madvise, TALLY_PROBE, 0UL, MADV_NORMAL);
		if (sigtimedwait(usr1, NULL, &step) == SIGUSR1)
			return;
	} while (mono_ns() < end);
}

static void start_threads(struct worker *ws, int nthreads)
{
	for (int t = 1; t < nthreads; t++) {
		if (pthread_create(&ws[t].thread, NULL, worker_main, &ws[t])) {
			fprintf(stderr, "tally: pthread_create failed\n");
			/* the barrier would never open: nothing sane to do but leave */
			_exit(1);
		}
	}
}

static void usage(void)
{
	static const char text[] =
		"usage: tally [-t THREADS] [-n ITERATIONS] [-w SECONDS] [-F] [-L] [-X] [-o FILE]\n"
		"  -t N   threads making calls, the main thread included (default 1)\n"
		"  -n N   iterations per thread (default 8)\n"
		"  -w S   print \"ready PID\" on stderr, then wait for SIGUSR1 (at most S s)\n"
		"  -F     fork a child that makes its own calls and prints its own tally\n"
		"  -L     create the other threads late: after the wait of -w\n"
		"  -X     fixed addresses per thread, no brk: each thread's calls are the same\n"
		"         in every run, whatever the interleaving (for strace as an oracle)\n"
		"  -o F   append the tally to F instead of printing it on stdout\n";

	fputs(text, stderr);
}

int main(int argc, char **argv)
{
	int nthreads = 1, opt, status, ret = 1;
	double wait_s = -1;
	bool fork_child = false;
	const char *out_path = NULL;
	struct worker *ws = NULL;
	sigset_t usr1;
	pid_t child = -1;
	bool late = false;

	while ((opt = getopt(argc, argv, "t:n:w:FLXo:h")) != -1) {
		switch (opt) {
		case 't':
			nthreads = atoi(optarg);
			break;
		case 'n':
			iterations = atoi(optarg);
			break;
		case 'w':
			wait_s = atof(optarg);
			break;
		case 'F':
			fork_child = true;
			break;
		case 'L':
			late = true;
			break;
		case 'X':
			fixed = true;
			break;
		case 'o':
			out_path = optarg;
			break;
		default:
			usage();
			return opt == 'h' ? 0 : 2;
		}
	}
	if (nthreads < 1 || nthreads > 1024 || iterations < 0 || optind != argc) {
		usage();
		return 2;
	}
	page = sysconf(_SC_PAGESIZE);

	/* before any thread exists, so every thread inherits the mask */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);

	ws = calloc((size_t)nthreads, sizeof(*ws));
	if (!ws)
		goto cleanup;
	for (int t = 0; t < nthreads; t++) {
		ws[t].index = t;
		if (alloc_worker(&ws[t], t == 0 && !fixed))
			goto cleanup;
	}
	if (pthread_barrier_init(&start_barrier, NULL, (unsigned)nthreads))
		goto cleanup;
	ws[0].tid = (pid_t)syscall(SYS_gettid);
	if (!late)
		start_threads(ws, nthreads);
	if (wait_s >= 0)
		wait_for_start(wait_s, &usr1);
	if (late)
		start_threads(ws, nthreads);

	if (fork_child) {
		fflush(NULL); /* nothing buffered may be written twice */
		child = fork();
		if (child < 0) {
			fprintf(stderr, "tally: fork: %s\n", strerror(errno));
			_exit(1);
		}
		if (child == 0)
			_exit(child_run(out_path));
	}

	pthread_barrier_wait(&start_barrier);
	work(&ws[0]);
	for (int t = 1; t < nthreads; t++)
		pthread_join(ws[t].thread, NULL);

	if (child > 0) {
		if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr, "tally: child %d failed\n", (int)child);
			goto cleanup;
		}
	}
	ret = write_tally(out_path, "main", ws, nthreads) ? 1 : 0;

cleanup:
	if (ws) {
		for (int t = 0; t < nthreads; t++)
			free(ws[t].calls);
		free(ws);
	}
	return ret;
}
