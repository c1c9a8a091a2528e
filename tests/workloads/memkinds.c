// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * memkinds: moves each of the kernel's RSS counters in turn, and makes
 * process_madvise(2) calls, so a recording's rss and madvise records can be
 * checked against what the process itself read and did.
 *
 * Phases, each ended by a quiet point (below):
 *   base     nothing yet
 *   anon     maps 48 MiB of anonymous memory and writes every page (RssAnon)
 *   file     maps FILE (-f, shared, read-only) and reads every page (RssFile)
 *   shmem    a 12 MiB memfd, mapped shared, every page written (RssShmem)
 *   swap     (-S) MADV_PAGEOUT of the first 16 MiB of the anonymous memory:
 *            with swap space, RssAnon falls and VmSwap rises by about that
 *   pmadv    process_madvise on itself (a pidfd of its own): MADV_COLD over
 *            three ranges, MADV_PAGEOUT over two, MADV_DONTNEED over one
 *            (allowed on oneself since Linux 6.13, EINVAL before: the result
 *            is recorded either way), MADV_COLD over ten one-page ranges
 *            (more than the 8 entries a recorder keeps)
 *   remote   (-R) prints {"remote":{...}} with a range of its anonymous
 *            memory and waits (at most 60 s) for SIGUSR1, while another
 *            process (memkinds -a) advises it from outside
 *
 * A quiet point: sleep (-q MS, default 300) so every recorder has sampled
 * RSS, read RssAnon, RssFile, RssShmem and VmSwap from /proc/self/status
 * (plain read(2): no memory syscall), then a marker call
 * madvise(MARK + n * page, 0, MADV_NORMAL). The last rss record before the
 * marker must match what /proc said.
 *
 * At the end one JSON object on stdout: pid, page, the anonymous area, the
 * quiet points (name, marker address, anon, file, shmem, swap in bytes) and
 * every process_madvise call (advice, iov [[base, len], ...], ret: bytes or
 * -errno, target pid).
 *
 * memkinds -a PID -v ADVICE BASE:LEN... advises PID from this process (a
 * process the recorder does not trace) and prints {"caller", "target",
 * "advice", "iov", "ret"}.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define MARK 0x5c000000UL
#define MIB (1UL << 20)
#define ANON_LEN (48 * MIB)
#define SHM_LEN (12 * MIB)
#define SWAP_LEN (16 * MIB)
#define MAX_POINTS 16
#define MAX_PMADV 16
#define MAX_IOV 16

struct point {
	const char *name;
	unsigned long marker;
	int64_t anon, file, shmem, swap;
};

struct pmadv {
	int advice;
	int n;
	unsigned long base[MAX_IOV], len[MAX_IOV];
	int64_t ret;
	int target;
};

static long page;
static long quiet_ms = 300;
static struct point points[MAX_POINTS];
static int npoints;
static struct pmadv pmadvs[MAX_PMADV];
static int npmadv;

static int64_t field(const char *buf, const char *key)
{
	size_t klen = strlen(key);

	for (const char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, key, klen) == 0 && l[klen] == ':')
			return (int64_t)strtoll(l + klen + 1, NULL, 10) * 1024;
	}
	return -1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void quiet_point(const char *name)
{
	char buf[8192];
	ssize_t n, got = 0;
	struct point *p = &points[npoints];
	int fd;

	if (npoints == MAX_POINTS)
		return;
	sleep_ms(quiet_ms);
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		perror("memkinds: /proc/self/status");
		exit(1);
	}
	while (got < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	p->name = name;
	p->anon = field(buf, "RssAnon");
	p->file = field(buf, "RssFile");
	p->shmem = field(buf, "RssShmem");
	p->swap = field(buf, "VmSwap");
	p->marker = MARK + (unsigned long)npoints * (unsigned long)page;
	madvise((void *)p->marker, 0, MADV_NORMAL);
	npoints++;
}

static void do_pmadv(int pidfd, int target, int advice, int n, const unsigned long *base,
		     const unsigned long *len)
{
	struct iovec iov[MAX_IOV];
	struct pmadv *m = &pmadvs[npmadv];
	ssize_t r;

	for (int i = 0; i < n; i++) {
		iov[i].iov_base = (void *)base[i];
		iov[i].iov_len = len[i];
		m->base[i] = base[i];
		m->len[i] = len[i];
	}
	m->n = n;
	m->advice = advice;
	m->target = target;
	/* glibc's wrapper: the call a program makes, and the one the preload agent hooks */
	r = process_madvise(pidfd, iov, (size_t)n, advice, 0);
	m->ret = r < 0 ? -(int64_t)errno : (int64_t)r;
	if (npmadv < MAX_PMADV - 1)
		npmadv++;
}

static void print_pmadv(const struct pmadv *m, bool first)
{
	printf("%s{\"advice\":%d,\"target\":%d,\"ret\":%" PRId64 ",\"iov\":[", first ? "" : ",",
	       m->advice, m->target, m->ret);
	for (int i = 0; i < m->n; i++)
		printf("%s[%lu,%lu]", i ? "," : "", m->base[i], m->len[i]);
	printf("]}");
}

static void touch(volatile char *p, size_t len, bool write)
{
	static volatile char sink;

	for (size_t off = 0; off < len; off += (size_t)page) {
		if (write)
			p[off] = 1;
		else
			sink += p[off];
	}
}

/* memkinds -a PID -v ADVICE BASE:LEN...: advise another process */
static int advise_other(int target, int advice, int argc, char **argv)
{
	unsigned long base[MAX_IOV], len[MAX_IOV];
	int n = 0, pidfd = (int)syscall(SYS_pidfd_open, target, 0);

	if (pidfd < 0) {
		fprintf(stderr, "memkinds: pidfd_open %d: %s\n", target, strerror(errno));
		return 1;
	}
	for (; n < argc && n < MAX_IOV; n++) {
		char *colon;

		base[n] = strtoul(argv[n], &colon, 0);
		if (*colon != ':') {
			fprintf(stderr, "memkinds: %s is not BASE:LEN\n", argv[n]);
			return 2;
		}
		len[n] = strtoul(colon + 1, NULL, 0);
	}
	do_pmadv(pidfd, target, advice, n, base, len);
	printf("{\"caller\":%d,\"calls\":[", (int)getpid());
	print_pmadv(&pmadvs[0], true);
	printf("]}\n");
	close(pidfd);
	return 0;
}

int main(int argc, char **argv)
{
	const char *file = NULL;
	bool swap = false, remote = false;
	int opt, target = 0, advice = -1, fd, pidfd;
	char *anon, *shm;
	const char *fmap;
	struct stat st;
	sigset_t usr1;

	while ((opt = getopt(argc, argv, "f:SRq:a:v:h")) != -1) {
		switch (opt) {
		case 'f':
			file = optarg;
			break;
		case 'S':
			swap = true;
			break;
		case 'R':
			remote = true;
			break;
		case 'q':
			quiet_ms = atol(optarg);
			break;
		case 'a':
			target = atoi(optarg);
			break;
		case 'v':
			advice = atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: memkinds -f FILE [-S] [-R] [-q MS]\n"
					"       memkinds -a PID -v ADVICE BASE:LEN...\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	page = sysconf(_SC_PAGESIZE);
	if (target)
		return advise_other(target, advice, argc - optind, argv + optind);
	if (!file || optind != argc) {
		fprintf(stderr, "memkinds: -f FILE is needed\n");
		return 2;
	}
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	quiet_point("base");

	anon = mmap(NULL, ANON_LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED) {
		perror("memkinds: mmap");
		return 1;
	}
	/* distinct, non-zero contents: no page is a candidate for the zero page or KSM */
	for (size_t off = 0; off < ANON_LEN; off += (size_t)page)
		memset(anon + off, (int)(off / (size_t)page) | 1, 64);
	quiet_point("anon");

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "memkinds: %s: %s\n", file, strerror(errno));
		return 1;
	}
	fmap = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (fmap == MAP_FAILED) {
		perror("memkinds: mmap file");
		return 1;
	}
	close(fd);
	touch((volatile char *)fmap, (size_t)st.st_size, false);
	quiet_point("file");

	fd = memfd_create("memkinds", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, SHM_LEN)) {
		perror("memkinds: memfd");
		return 1;
	}
	shm = mmap(NULL, SHM_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (shm == MAP_FAILED) {
		perror("memkinds: mmap memfd");
		return 1;
	}
	close(fd);
	touch(shm, SHM_LEN, true);
	quiet_point("shmem");

	if (swap) {
		if (madvise(anon, SWAP_LEN, MADV_PAGEOUT)) {
			perror("memkinds: MADV_PAGEOUT");
			return 1;
		}
		quiet_point("swap");
	}

	pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	if (pidfd < 0) {
		perror("memkinds: pidfd_open");
		return 1;
	}
	{
		unsigned long a = (unsigned long)anon;
		unsigned long cb[] = { a + 16 * MIB, a + 18 * MIB, a + 21 * MIB };
		unsigned long cl[] = { 1 * MIB, 2 * MIB, 3 * MIB };
		unsigned long pb[] = { a + 24 * MIB, a + 29 * MIB };
		unsigned long pl[] = { 4 * MIB, 1 * MIB };
		unsigned long db[] = { a + 32 * MIB };
		unsigned long dl[] = { 2 * MIB };
		unsigned long tb[10], tl[10];

		for (int i = 0; i < 10; i++) {
			tb[i] = a + 40 * MIB + (unsigned long)i * 2 * (unsigned long)page;
			tl[i] = (unsigned long)page * (unsigned long)(i % 2 + 1);
		}
		do_pmadv(pidfd, getpid(), MADV_COLD, 3, cb, cl);
		do_pmadv(pidfd, getpid(), MADV_PAGEOUT, 2, pb, pl);
		do_pmadv(pidfd, getpid(), MADV_DONTNEED, 1, db, dl);
		do_pmadv(pidfd, getpid(), MADV_COLD, 10, tb, tl);
	}
	close(pidfd);
	quiet_point("pmadv");

	if (remote) {
		struct timespec limit = { 60, 0 };

		printf("{\"remote\":{\"pid\":%d,\"addr\":%lu,\"len\":%lu}}\n", (int)getpid(),
		       (unsigned long)anon + 34 * MIB, 6 * MIB);
		if (sigtimedwait(&usr1, NULL, &limit) != SIGUSR1) {
			fprintf(stderr, "memkinds: no SIGUSR1 within 60 s\n");
			return 1;
		}
		quiet_point("remote");
	}

	printf("{\"pid\":%d,\"page\":%ld,\"anon\":{\"addr\":%lu,\"len\":%lu},\"file_len\":%lld,"
	       "\"shm_len\":%lu,\"swap_len\":%lu,\"points\":[",
	       (int)getpid(), page, (unsigned long)anon, ANON_LEN, (long long)st.st_size, SHM_LEN,
	       swap ? SWAP_LEN : 0);
	for (int i = 0; i < npoints; i++) {
		const struct point *p = &points[i];

		printf("%s{\"name\":\"%s\",\"marker\":%lu,\"anon\":%" PRId64 ",\"file\":%" PRId64
		       ",\"shmem\":%" PRId64 ",\"swap\":%" PRId64 "}",
		       i ? "," : "", p->name, p->marker, p->anon, p->file, p->shmem, p->swap);
	}
	printf("],\"calls\":[");
	for (int i = 0; i < npmadv; i++)
		print_pmadv(&pmadvs[i], i == 0);
	printf("]}\n");
	munmap(anon, ANON_LEN);
	munmap(shm, SHM_LEN);
	munmap((void *)fmap, (size_t)st.st_size);
	return 0;
}
