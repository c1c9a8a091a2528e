// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libmadvtrace-agent.so: madvtrace's recorder inside the traced program,
 * loaded with LD_PRELOAD. No privilege, no ptrace.
 *
 * - The hooks (hooks.c) make the memory calls themselves, through the one
 *   system call instruction of raw.S, and record them in the calling
 *   thread's own buffer, which that thread writes out (see "records").
 * - Calls no hook can see (glibc's own: malloc's mmap/munmap, thread stacks;
 *   raw syscall instructions in the program) are caught by a seccomp filter
 *   that answers them with SECCOMP_RET_TRAP (filter.c): the kernel skips the
 *   call and raises SIGSYS, and the agent's handler (trap.c) makes the call
 *   itself, records it and hands its result back in the saved registers.
 *   The filter only looks at code that was loaded when the agent started
 *   and lies at a random address (see catch_setup()).
 * - RSS is read from /proc/self by the thread that made a release (at most
 *   every 10 ms) and periodically, by the program's threads while they make
 *   calls, else by the agent thread: a bare clone() thread glibc knows
 *   nothing about, asleep while the program is busy. It uses no thread-local
 *   storage and no libc function that could, so it can also be started in
 *   the child of a fork, before anything else runs there.
 *
 * Everything that can run on the program's threads after start-up (hooks,
 * fork and exit handlers, the SIGSYS handler) makes no allocation, waits on
 * no lock a signal handler on the same thread could hold, and uses only
 * async-signal-safe calls.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <sys/auxv.h>
#include <sys/timerfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include "agent.h"
#include "madvtrace/advice.h"
#include "agent_proto.h"
#include "filter.h"
#include "ring.h"
#include "text.h"
#include "tracefile.h"

#define MS (1000 * 1000ull)
/* the agent's descriptors live up here, out of the way of the program's own numbering */
#define AGENT_FD_MIN 700
#define THREAD_STACK (256 * 1024)
#define TLS_AREA 4096
/* longest a record waits in a buffer, once the program makes calls again */
#define DRAIN_NS (20 * MS)
/* one write or one message (a SOCK_SEQPACKET socket takes it whole) */
#define SEND_MAX (60 * 1024)
#define DEFAULT_RING (1024 * 1024)
/* a hook finding the ring full waits this long for room, then drops the record */
#define FULL_WAIT_NS (20 * MS)
#define MAX_RANGES 256
#define STACK_SLOTS 4095
#define ENV_SAVE 4096

enum { OUT_NONE, OUT_SOCKET, OUT_FILE };

/* recording (atomic); read inline by the hooks (mt_recording) */
int mt_agent_on;
/* >0: the agent's own work on this thread; its calls are not the program's */
MT_TLS int mt_tls_internal;

static struct {
	bool follow, quiet, stacks, by_hand;
	bool exiting; /* an exit was recorded: nothing after it */
	int out_fd, out_kind, out_err;
	uint32_t pid;
	uint64_t rss_ns, smaps_ns, rss_gap_ns;
	struct mt_ring ring;
	void *ring_mem;
	size_t ring_len;
	int timer_fd, status_fd, smaps_fd;
	/* catching: the filter is in place and SIGSYS is the agent's */
	int catching;
	struct sock_filter filter[MT_FILTER_MAX];
	int filter_len;
	int consumer; /* lock: who is writing the ring out (atomic) */
	uint32_t fork_tid; /* the thread that forked, for the child's fork record */
	/* the RSS change a call may explain (written by every thread) */
	/* times of the last release, the last populating call, the last reading */
	uint64_t release_ns, populate_ns, rss_read_ns;
	uint64_t next_work_ns; /* when the periodic work is next due (see periodic()) */
	uint64_t caught; /* calls the filter trapped and the handler made */
	uint32_t stack_prefix;
	uint64_t stack_ips[STACK_SLOTS];
	pthread_key_t key;
	bool have_key;
	/* "KEY=VALUE\0" strings exec must pass on for the next program to be traced */
	char env_save[ENV_SAVE];
	size_t env_used;
} ag = {
	.out_fd = -1,
	.timer_fd = -1,
	.status_fd = -1,
	.smaps_fd = -1,
};

/* The RSS state and the lost count, under rss_lock (below). */
static struct {
	struct mt_counters last;
	uint64_t seen_release, seen_populate; /* release_ns, populate_ns at the last record */
	uint64_t last_emit_ns, next_smaps_ns;
	uint64_t lost_reported;
	char buf[4096];
} at;

static MT_TLS uint32_t tls_tid;

/* ---- small things ---- */

uint32_t mt_tid(void)
{
	if (!tls_tid)
		tls_tid = (uint32_t)mt_sys0(SYS_gettid);
	return tls_tid;
}

int mt_agent_fds(int fds[5])
{
	int all[4] = { ag.out_fd, ag.timer_fd, ag.status_fd, ag.smaps_fd }, n = 0;

	for (int i = 0; i < 4; i++)
		if (all[i] >= 0)
			fds[n++] = all[i];
	return n;
}

bool mt_is_agent_fd(int fd)
{
	return fd >= 0 &&
	       (fd == ag.out_fd || fd == ag.timer_fd || fd == ag.status_fd || fd == ag.smaps_fd);
}

/* CLOCK_MONOTONIC on the program's threads: the vDSO, no system call. */
static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The same clock from the agent thread, which stays out of libc. */
static uint64_t raw_now_ns(void)
{
	struct timespec ts;

	mt_sys2(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void raw_sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	mt_sys2(SYS_nanosleep, &ts, NULL);
}

/*
 * How long a wait for one of the agent's locks may last. Bounded: a signal
 * handler that calls exit() on a thread interrupted while it held one would
 * otherwise wait for itself; after this, what the lock guards is skipped.
 */
#define LOCK_WAIT_NS (200 * MS)

static uint64_t raw_now_ns(void);

/* Spin on try(); false if it never succeeded within LOCK_WAIT_NS. */
static bool wait_for(bool (*try)(void *), void *arg)
{
	uint64_t start = 0;

	for (unsigned int i = 0;; i++) {
		if (try(arg))
			return true;
		if (i % 64 == 63) {
			uint64_t now = raw_now_ns();

			if (!start)
				start = now;
			else if (now - start > LOCK_WAIT_NS)
				return false;
		}
		mt_sys0(SYS_sched_yield);
	}
}

static bool consumer_trylock(void)
{
	int zero = 0;

	return __atomic_compare_exchange_n(&ag.consumer, &zero, 1, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static bool consumer_try(void *arg)
{
	(void)arg;
	return consumer_trylock();
}

static bool lock_consumer(void)
{
	return wait_for(consumer_try, NULL);
}

static void unlock_consumer(void)
{
	__atomic_store_n(&ag.consumer, 0, __ATOMIC_RELEASE);
}

/* Move fd up to AGENT_FD_MIN or above, close-on-exec; returns the new number (or fd). */
static int high_fd(int fd)
{
	long n;

	if (fd < 0 || fd >= AGENT_FD_MIN)
		return fd;
	n = mt_sys3(SYS_fcntl, fd, F_DUPFD_CLOEXEC, AGENT_FD_MIN);
	if (n < 0)
		return fd; /* a low RLIMIT_NOFILE: keep it where it is */
	mt_sys1(SYS_close, fd);
	return (int)n;
}

static void set_cloexec(int fd, bool on)
{
	mt_sys3(SYS_fcntl, fd, F_SETFD, on ? FD_CLOEXEC : 0);
}

/* write(2) all of buf, from the agent's instruction: 0 or -errno. */
static int raw_write_all(int fd, const void *buf, size_t len)
{
	const char *s = buf;

	while (len) {
		long r = mt_sys3(SYS_write, fd, s, len);

		if (r == -EINTR)
			continue;
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EIO;
		s += r;
		len -= (size_t)r;
	}
	return 0;
}

/* The agent's own close: libc's close() is its hook (hooks.c), which it must not call. */
static void raw_close(int fd)
{
	mt_sys1(SYS_close, fd);
}

static const char *errno_text(int e)
{
	switch (e) {
	case ENOSPC:
		return "No space left on device";
	case EDQUOT:
		return "Disk quota exceeded";
	case EFBIG:
		return "File too large";
	case EIO:
		return "Input/output error";
	case EBADF:
		return "Bad file descriptor (closed by the program?)";
	case EPIPE:
		return "Broken pipe";
	default:
		return "I/O error";
	}
}

/* ---- records ---- */

/*
 * Every record is built on the stack and copied whole into one of:
 *
 * - the calling thread's own buffer (struct tbuf, mapped on its first
 *   record): no lock, no shared cache line, written out by the thread itself
 *   with one write(2) when full or when its oldest record is DRAIN_NS old.
 *   The buffers are in a registry so that exit, exec and fork can write out
 *   every thread's, and the agent thread those of threads gone quiet; each
 *   has a state word saying who holds it (its thread appending, or another
 *   thread writing it out), so a signal handler that interrupts an append
 *   on the same thread finds it held and uses the ring instead.
 * - the ring: for the agent thread's own records (periodic RSS, lost counts,
 *   notes), for those interrupted appends, and for what a thread records
 *   after it gave its buffer back at its exit. Whoever does the periodic
 *   work writes it out.
 *
 * (A ring shared by all threads was the first design: its cache lines then
 * cross cores between the threads writing records and the one writing them
 * out, which cost about 80 ns per call on the benchmark loop.)
 */
enum { TB_IDLE, TB_OWNER, TB_STEAL };

#define TBUF_DATA (60 * 1024) /* one write, one SOCK_SEQPACKET message */
#define MAX_TBUFS 4096

struct tbuf {
	int state;
	uint32_t owner; /* tid of the thread it belongs to; 0: free for the next new thread */
	uint32_t used;
	uint32_t index; /* in tbufs */
	uint64_t first_ns, last_ns; /* times of its oldest and newest records */
	unsigned char data[TBUF_DATA];
};

static struct tbuf *tbufs[MAX_TBUFS];
static unsigned int ntbufs;
static MT_TLS struct tbuf *tls_buf;
/* this thread is writing buffers out (holds one it may not own) */
static MT_TLS int tls_writing;

static void output_failed(int err);

static void out_write(const unsigned char *buf, size_t len)
{
	long r;

	while (len && !ag.out_err) {
		if (ag.out_kind == OUT_SOCKET)
			r = mt_raw_syscall(SYS_sendto, ag.out_fd, (long)buf, (long)len, MSG_NOSIGNAL,
					   0, 0);
		else
			r = mt_sys3(SYS_write, ag.out_fd, buf, len);
		if (r == -EINTR)
			continue;
		if (r < 0) {
			output_failed((int)-r);
			return;
		}
		if (r == 0) {
			output_failed(EIO);
			return;
		}
		buf += r;
		len -= (size_t)r;
	}
}

/*
 * Buffers of threads that ended, for the next new thread (indexes into
 * tbufs), under a spin lock held for a few instructions. A signal handler
 * that interrupts its holder on the same thread (tls_in_free) must not wait
 * for it: it uses the ring. glibc still makes calls on a thread after its
 * destructors ran (the madvise of its stack, frees of its arena cache): by
 * then the thread has given its buffer back (tls_exited) and those few
 * records go through the ring.
 */
static unsigned int free_tbufs[MAX_TBUFS], nfree;
static int free_lock;
static MT_TLS int tls_in_free, tls_exited;

static void free_lock_take(void)
{
	int zero;

	tls_in_free = 1;
	for (;;) {
		zero = 0;
		if (__atomic_compare_exchange_n(&free_lock, &zero, 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
		mt_sys0(SYS_sched_yield);
	}
}

static void free_lock_drop(void)
{
	__atomic_store_n(&free_lock, 0, __ATOMIC_RELEASE);
	tls_in_free = 0;
}

static void tb_mine(void);

/* This thread's buffer, a free one taken over or a new one mapped; NULL if none. */
static struct tbuf *tb_get(void)
{
	struct tbuf *b = tls_buf;
	uint32_t tid;
	unsigned int i;
	long mem;

	if (b)
		return b;
	if (tls_in_free || tls_exited)
		return NULL;
	tid = mt_tid();
	free_lock_take();
	b = nfree ? tbufs[free_tbufs[--nfree]] : NULL;
	free_lock_drop();
	if (b) {
		__atomic_store_n(&b->owner, tid, __ATOMIC_RELEASE);
		tls_buf = b;
		tb_mine();
		return b;
	}
	/* that many threads at once: the ring for the others */
	if (__atomic_load_n(&ntbufs, __ATOMIC_RELAXED) >= MAX_TBUFS)
		return NULL;
	mem = mt_raw_syscall(SYS_mmap, 0, sizeof(struct tbuf), PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mt_ret_is_err(mem))
		return NULL;
	b = (struct tbuf *)mem;
	b->owner = tid;
	i = __atomic_fetch_add(&ntbufs, 1, __ATOMIC_ACQ_REL);
	if (i >= MAX_TBUFS) {
		mt_sys2(SYS_munmap, mem, sizeof(struct tbuf));
		return NULL;
	}
	b->index = i;
	__atomic_store_n(&tbufs[i], b, __ATOMIC_RELEASE);
	tls_buf = b;
	tb_mine();
	return b;
}

/* At a thread's exit: its buffer, records and all (each names its thread), for the next one. */
static void tb_put_back(struct tbuf *b)
{
	tls_exited = 1;
	tls_buf = NULL;
	free_lock_take();
	__atomic_store_n(&b->owner, 0, __ATOMIC_RELEASE);
	free_tbufs[nfree++] = b->index;
	free_lock_drop();
}

/* Write out what b holds; the caller holds b. */
static void tb_out(struct tbuf *b)
{
	if (b->used)
		out_write(b->data, b->used);
	b->used = 0;
}

static bool tb_try_own(void *arg)
{
	struct tbuf *b = arg;
	int idle = TB_IDLE;

	return __atomic_compare_exchange_n(&b->state, &idle, TB_OWNER, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static bool tb_try_steal(void *arg)
{
	struct tbuf *b = arg;
	int idle = TB_IDLE;

	return __atomic_compare_exchange_n(&b->state, &idle, TB_STEAL, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

/*
 * Take b from another thread to write it out: wait: also while its thread
 * is in the middle of an append (a few instructions), else only if idle.
 */
static bool tb_steal(struct tbuf *b, bool wait)
{
	return wait ? wait_for(tb_try_steal, b) : tb_try_steal(b);
}

static void tb_release(struct tbuf *b)
{
	__atomic_store_n(&b->state, TB_IDLE, __ATOMIC_RELEASE);
}

/*
 * Write out the buffers of every thread (all: exit, exec, fork), or only
 * those with nothing added for DRAIN_NS (the agent thread, now).
 */
static void tb_flush(bool all, uint64_t now, bool agent)
{
	unsigned int n = __atomic_load_n(&ntbufs, __ATOMIC_ACQUIRE);

	/* (the agent thread has no thread-local storage, and never appends) */
	if (!agent)
		tls_writing = 1;
	for (unsigned int i = 0; i < n && i < MAX_TBUFS; i++) {
		struct tbuf *b = __atomic_load_n(&tbufs[i], __ATOMIC_ACQUIRE);

		if (!b || !__atomic_load_n(&b->used, __ATOMIC_RELAXED))
			continue;
		if (!all && now - __atomic_load_n(&b->last_ns, __ATOMIC_RELAXED) < DRAIN_NS)
			continue;
		if (!tb_steal(b, all))
			continue;
		tb_out(b);
		tb_release(b);
	}
	if (!agent)
		tls_writing = 0;
}

static bool consumer_trylock(void);
static void unlock_consumer(void);
static void drain(void);

/* Write the ring out now, unless someone else is at it. */
static void drain_if_free(void)
{
	if (consumer_trylock()) {
		drain();
		unlock_consumer();
	}
}

/* Put rec (rec->size bytes, a multiple of 4) into the ring. */
static void ring_put(const struct mt_hdr *rec, bool agent)
{
	uint64_t waited = 0;
	void *p = mt_ring_reserve(&ag.ring, rec->size);

	/* a full ring: write it out, or wait a little for whoever is writing it */
	while (!p && waited < FULL_WAIT_NS && !ag.out_err) {
		drain_if_free();
		p = mt_ring_reserve(&ag.ring, rec->size);
		if (p)
			break;
		raw_sleep_ns(200 * 1000);
		waited += 200 * 1000;
		p = mt_ring_reserve(&ag.ring, rec->size);
	}
	if (!p) {
		__atomic_add_fetch(&ag.ring.lost, 1, __ATOMIC_RELAXED);
		return;
	}
	memcpy(p, rec, rec->size);
	mt_ring_commit(p);
	(void)agent;
}

/*
 * Record rec. agent: from the agent thread (no thread-local storage: the
 * ring). Variable-size records come with room to round size up to 4.
 */
static void put(struct mt_hdr *rec, bool agent)
{
	uint32_t size = (rec->size + 3u) & ~3u;
	struct tbuf *b = agent ? NULL : tb_get();
	int idle = TB_IDLE;

	rec->size = (uint16_t)size;
	if (b && !__atomic_compare_exchange_n(&b->state, &idle, TB_OWNER, false, __ATOMIC_ACQUIRE,
					      __ATOMIC_RELAXED)) {
		/*
		 * Held: by this thread, interrupted in an append or while writing
		 * buffers out (then the ring), or being written out by another
		 * thread (a write's time: wait).
		 */
		if (idle == TB_OWNER || tls_writing || !wait_for(tb_try_own, b))
			b = NULL;
	}
	if (!b) {
		ring_put(rec, agent);
		return;
	}
	if (b->used + 4 + size > TBUF_DATA || (b->used && rec->t_ns > b->first_ns + DRAIN_NS))
		tb_out(b);
	if (!b->used)
		b->first_ns = rec->t_ns;
	memcpy(b->data + b->used, &size, 4);
	memcpy(b->data + b->used + 4, rec, size);
	b->used += 4 + size;
	b->last_ns = rec->t_ns;
	tb_release(b);
}

static void hdr(struct mt_hdr *h, uint16_t type, uint32_t size, uint64_t t, uint32_t pid,
		uint32_t tid)
{
	memset(h, 0, size);
	h->t_ns = t;
	h->pid = pid;
	h->tid = tid;
	h->type = type;
	h->size = (uint16_t)size;
}

static void note(int level, const char *text)
{
	struct mt_agent_note n;
	char line[MT_NOTE_LEN + 32] = "madvtrace-agent: ";

	if (ag.out_kind == OUT_SOCKET && !ag.out_err && ag.ring_mem) {
		hdr(&n.h, MT_AGENT_NOTE, sizeof(n), raw_now_ns(), ag.pid, ag.pid);
		n.level = (uint32_t)level;
		mt_cat(n.text, sizeof(n.text), text);
		ring_put(&n.h, false);
		return;
	}
	if (level < MT_NOTE_WARN || ag.quiet)
		return;
	mt_cat(line, sizeof(line), text);
	mt_cat(line, sizeof(line), "\n");
	raw_write_all(2, line, strlen(line));
}

/* An MT_INFO "key=value" record: facts about this process for the report. */
static void info(const char *key, const char *value)
{
	union {
		struct mt_info in;
		char b[sizeof(struct mt_info) + 516];
	} u;
	char *text = u.b + sizeof(struct mt_info);

	hdr(&u.in.h, MT_INFO, sizeof(u), raw_now_ns(), ag.pid, ag.pid);
	mt_cat(text, 500, key);
	mt_cat(text, 500, "=");
	mt_cat(text, 500, value);
	u.in.h.size = (uint16_t)(sizeof(struct mt_info) + strlen(text) + 1);
	put(&u.in.h, false);
}

static void output_failed(int err)
{
	char msg[160] = "writing the trace: ";

	if (ag.out_err)
		return;
	ag.out_err = err;
	__atomic_store_n(&mt_agent_on, 0, __ATOMIC_RELAXED);
	/* madvtrace going away (Ctrl-C, --duration) ends the recording: nothing to say */
	if (ag.out_kind == OUT_SOCKET && (err == EPIPE || err == ECONNRESET))
		return;
	mt_cat(msg, sizeof(msg), errno_text(err));
	mt_cat(msg, sizeof(msg), "; recording stopped");
	ag.out_kind = OUT_NONE; /* the note goes to stderr */
	note(MT_NOTE_WARN, msg);
}

/* Write out everything complete in the ring. The consumer lock is held. */
static void drain(void)
{
	uint64_t off;
	uint32_t n;

	while ((n = mt_ring_peek(&ag.ring, &off, SEND_MAX))) {
		out_write(ag.ring.data + off, n);
		mt_ring_release(&ag.ring, n);
	}
}

/* This thread's buffer, out now (records madvtrace should see at once: a start, a fork). */
static void flush_own(void)
{
	struct tbuf *b = tls_buf;

	tls_writing = 1;
	if (b && tb_steal(b, true)) {
		tb_out(b);
		tb_release(b);
	}
	tls_writing = 0;
}

/* Everything recorded so far, out: every thread's buffer and the ring. */
static void flush_all(void)
{
	tb_flush(true, 0, false);
	if (lock_consumer()) {
		drain();
		unlock_consumer();
	}
}

static void get_comm(char comm[MT_COMM_LEN])
{
	memset(comm, 0, MT_COMM_LEN);
	mt_sys2(SYS_prctl, PR_GET_NAME, comm);
}

static void emit_task(uint32_t event, uint32_t pid, uint32_t tid, uint32_t other, int32_t code,
		      uint64_t t)
{
	struct mt_task k;

	hdr(&k.h, MT_TASK, sizeof(k), t, pid, tid);
	k.event = event;
	k.other_pid = other;
	k.code = code;
	get_comm(k.comm);
	put(&k.h, false);
}

/* The id of a one-frame stack holding ip; written to the trace the first time. */
static uint32_t stack_id(uint64_t ip, uint64_t t)
{
	uint32_t h = (uint32_t)((ip * 0x9e3779b97f4a7c15ull) >> 40) % STACK_SLOTS;

	for (int i = 0; i < 64; i++) {
		uint32_t slot = (h + (uint32_t)i) % STACK_SLOTS, id = ag.stack_prefix | (slot + 1);
		uint64_t cur = __atomic_load_n(&ag.stack_ips[slot], __ATOMIC_ACQUIRE);
		union {
			struct mt_stack st;
			char b[sizeof(struct mt_stack) + 8];
		} u;

		if (cur == ip)
			return id;
		if (cur)
			continue;
		if (!__atomic_compare_exchange_n(&ag.stack_ips[slot], &cur, ip, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			if (cur == ip)
				return id;
			continue;
		}
		/* ids are shared by every process of a trace: the pid is in the id's high bits */
		hdr(&u.st.h, MT_STACK, sizeof(u), t, 0, 0);
		u.st.id = id;
		u.st.nr = 1;
		u.st.ips[0] = ip;
		put(&u.st.h, false);
		return id;
	}
	return 0;
}

/* Calls that may bring pages in themselves. */
static bool is_populate(int sc, const __u64 a[6])
{
	switch (sc) {
	case MT_SC_MMAP:
		return a[3] & (MAP_POPULATE | MAP_LOCKED);
	case MT_SC_MADVISE:
		return (int)a[2] == MT_MADV_WILLNEED || mt_advice_class((int)a[2]) == MT_AC_POPULATE;
	case MT_SC_MREMAP:
		return true;
	}
	return false;
}

/* The pid behind a pidfd of this process (its fdinfo "Pid:" line), or 0. */
static uint32_t pidfd_pid(int fd)
{
	char path[64] = "/proc/self/fdinfo/", buf[512];
	const char *p;
	uint64_t v = 0;
	long f, n;

	if (fd < 0)
		return 0;
	mt_cat_u64(path, sizeof(path), (uint64_t)fd);
	f = mt_sys3(SYS_open, path, O_RDONLY | O_CLOEXEC, 0);
	if (f < 0)
		return 0;
	n = mt_sys3(SYS_read, f, buf, sizeof(buf) - 1);
	mt_sys1(SYS_close, f);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "\nPid:");
	if (!p || !mt_parse_u64(p + 5, &v))
		return 0;
	return (uint32_t)v;
}

#define MAX_IOV 8 /* as the other backends: madvise records per process_madvise call */

static void record_process_madvise(const struct mt_call_args *c, const __u64 a[6], uint32_t tid,
				   uint64_t t, uint32_t stack)
{
	struct iovec iov[MAX_IOV], local, remote;
	size_t vlen = (size_t)a[2], n = vlen < MAX_IOV ? vlen : MAX_IOV;
	uint32_t target = pidfd_pid((int)a[0]);
	struct mt_madvise m;
	long got;

	memset(iov, 0, sizeof(iov));
	/* the vector is the caller's: read it without trusting it (no fault here) */
	local.iov_base = iov;
	local.iov_len = n * sizeof(struct iovec);
	remote.iov_base = (void *)a[1];
	remote.iov_len = local.iov_len;
	got = mt_raw_syscall(SYS_process_vm_readv, ag.pid, (long)&local, 1, (long)&remote, 1, 0);
	if (got < 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		hdr(&m.h, MT_MADVISE, sizeof(m), t, ag.pid, tid);
		m.h.flags = MT_F_PROCESS_MADVISE | (vlen > MAX_IOV ? MT_F_IOV_TRUNC : 0);
		m.h.stack_id = stack;
		mt_fill_process_madvise(&m, a, (uint64_t)iov[i].iov_base, iov[i].iov_len, c->ret,
					target);
		put(&m.h, false);
	}
}

static void rss_after_call(int sc, const __u64 a[6], uint64_t t);
static bool work_claim(uint64_t now);
static void periodic(uint64_t now, bool agent);

/* One call as the bpf backend records it, from the thread that made it. */
static void record(const struct mt_call_args *c, uint32_t tid, uint64_t t)
{
	union mt_call_record u;
	uint32_t stack = 0;
	__u64 a[6];

	for (int i = 0; i < 6; i++)
		a[i] = (__u64)c->a[i];
	mt_args_normalise(a, c->sc, MT_ABI_X86_64);
	if (ag.stacks && c->caller && mt_call_may_release(c->sc, a))
		stack = stack_id(c->caller, t);
	if (c->sc == MT_SC_PROCESS_MADVISE) {
		record_process_madvise(c, a, tid, t, stack);
		rss_after_call(c->sc, a, t);
		return;
	}
	/* the builder fills every field of the record but the header's */
	memset(&u.h, 0, sizeof(u.h));
	if (!mt_build_call(&u, c->sc, a, c->ret, ag.pid))
		return;
	u.h.t_ns = t;
	u.h.pid = ag.pid;
	u.h.tid = tid;
	u.h.stack_id = stack;
	put(&u.h, false);
	rss_after_call(c->sc, a, t);
	if (work_claim(t))
		periodic(t, false);
}

void mt_agent_record(const struct mt_call_args *c)
{
	record(c, mt_tid(), now_ns());
}

/* ---- RSS ---- */

/*
 * The RSS reading and what was last recorded: shared by the program's
 * threads (a read right after a release) and the agent thread (the
 * periodic one). Whoever cannot take the lock at once skips its reading.
 */
static int rss_lock;

static bool rss_trylock(void)
{
	int zero = 0;

	return __atomic_compare_exchange_n(&rss_lock, &zero, 1, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static bool rss_try(void *arg)
{
	(void)arg;
	return rss_trylock();
}

static bool rss_lock_wait(void)
{
	return wait_for(rss_try, NULL);
}

static void rss_unlock(void)
{
	__atomic_store_n(&rss_lock, 0, __ATOMIC_RELEASE);
}

static bool pread_text(int fd, char *buf, size_t len)
{
	long n;

	if (fd < 0)
		return false;
	n = mt_sys4(SYS_pread64, fd, buf, len - 1, 0);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

static bool read_counters(struct mt_counters *c)
{
	return pread_text(ag.status_fd, at.buf, sizeof(at.buf)) && mt_parse_status(at.buf, c);
}

static void emit_rss(const struct mt_counters *c, uint32_t reason, uint64_t t, uint16_t flags,
		     uint64_t smaps_rss, uint64_t lazyfree, bool agent)
{
	struct mt_rss r;

	/* a process-wide value: pid and tid are the process's, as the bpf backend has them */
	hdr(&r.h, MT_RSS, sizeof(r), t, ag.pid, ag.pid);
	r.h.flags = MT_F_SYNTH | flags;
	r.anon = c->anon;
	r.file = c->file;
	r.shmem = c->shmem;
	r.swap = c->swap;
	r.smaps_rss = smaps_rss;
	r.lazyfree = lazyfree;
	r.reason = reason;
	put(&r.h, agent);
}

static bool same_counters(const struct mt_counters *a, const struct mt_counters *b)
{
	return a->anon == b->anon && a->file == b->file && a->shmem == b->shmem &&
	       a->swap == b->swap;
}

/*
 * A new reading c (rss lock held): record it if it changed, with the
 * reason the bpf backend would give. A fall that follows a release
 * (munmap, madvise, ...) is that call's (MT_RSS_SYSCALL, stamped with the
 * call's time so the timeline pairs them); a fall with no call since is
 * reclaim; growth is page faults unless a populating call came since.
 * any_time: not rate-limited (the caller is about to record a sample or
 * the end and wants no delta in it).
 */
static void rss_update(const struct mt_counters *c, uint64_t now, bool any_time, bool agent)
{
	uint64_t rel = __atomic_load_n(&ag.release_ns, __ATOMIC_RELAXED);
	uint64_t pop = __atomic_load_n(&ag.populate_ns, __ATOMIC_RELAXED);
	bool dec, inc;
	uint32_t reason;
	uint64_t t = now;

	if (same_counters(c, &at.last)) {
		/* a release that changed nothing (MADV_FREE) explains no later fall */
		at.seen_release = rel;
		at.seen_populate = pop;
		return;
	}
	dec = c->anon < at.last.anon || c->file < at.last.file || c->shmem < at.last.shmem ||
	      c->swap < at.last.swap;
	inc = c->anon > at.last.anon || c->file > at.last.file || c->shmem > at.last.shmem ||
	      c->swap > at.last.swap;
	if (dec && rel != at.seen_release) {
		reason = MT_RSS_SYSCALL;
		t = rel;
	} else if (inc && !dec && pop != at.seen_populate) {
		reason = MT_RSS_SYSCALL;
		t = pop;
	} else {
		if (!any_time && now - at.last_emit_ns < ag.rss_ns)
			return; /* the change stays pending until the next interval */
		reason = dec ? MT_RSS_RECLAIM : MT_RSS_FAULT;
	}
	emit_rss(c, reason, t, 0, 0, 0, agent);
	at.last = *c;
	at.seen_release = rel;
	at.seen_populate = pop;
	at.last_emit_ns = now;
}

/*
 * After a call on a program thread: note what it may explain, and at most
 * once per rss_gap_ns read RSS right here, so a fall it caused is recorded
 * at its exit (like the bpf backend does), in this thread's buffer right
 * after the call.
 */
static void rss_after_call(int sc, const __u64 a[6], uint64_t t)
{
	struct mt_counters now;

	/* a plain store: the agent only needs to see that it changed since the last reading */
	if (mt_call_may_release(sc, a) || sc == MT_SC_BRK)
		__atomic_store_n(&ag.release_ns, t, __ATOMIC_RELAXED);
	else if (is_populate(sc, a))
		__atomic_store_n(&ag.populate_ns, t, __ATOMIC_RELAXED);
	else
		return;
	if (t - __atomic_load_n(&ag.rss_read_ns, __ATOMIC_RELAXED) < ag.rss_gap_ns || ag.exiting ||
	    !rss_trylock())
		return;
	__atomic_store_n(&ag.rss_read_ns, t, __ATOMIC_RELAXED);
	if (read_counters(&now))
		rss_update(&now, t, false, false);
	rss_unlock();
}

/* The periodic reading (rss lock held), and every smaps interval a sample with smaps_rollup. */
static void rss_periodic(uint64_t now, bool agent)
{
	struct mt_counters c;
	uint64_t rss = 0, lazy = 0;
	uint16_t flags = 0;

	ag.rss_read_ns = now;
	if (!read_counters(&c))
		return;
	if (now < at.next_smaps_ns) {
		rss_update(&c, now, false, agent);
		return;
	}
	at.next_smaps_ns = now + ag.smaps_ns;
	if (pread_text(ag.smaps_fd, at.buf, sizeof(at.buf)) &&
	    mt_parse_smaps_rollup(at.buf, &rss, &lazy))
		flags = MT_F_SMAPS;
	rss_update(&c, now, true, agent);
	emit_rss(&c, MT_RSS_SAMPLE, now, flags, rss, lazy, agent);
	at.last = c;
	at.last_emit_ns = now;
}

/* The baseline of a newly traced address space (a program thread). */
static void rss_start(uint64_t now)
{
	struct mt_counters c;

	if (!rss_lock_wait())
		return;
	if (read_counters(&c)) {
		emit_rss(&c, MT_RSS_START, now, 0, 0, 0, false);
		at.last = c;
		at.seen_release = __atomic_load_n(&ag.release_ns, __ATOMIC_RELAXED);
		at.seen_populate = __atomic_load_n(&ag.populate_ns, __ATOMIC_RELAXED);
		at.last_emit_ns = now;
	}
	at.next_smaps_ns = ag.smaps_ns ? now + ag.smaps_ns : UINT64_MAX;
	rss_unlock();
}

static void report_lost(bool agent)
{
	uint64_t lost = __atomic_load_n(&ag.ring.lost, __ATOMIC_RELAXED);
	struct mt_lost l;

	if (lost <= at.lost_reported)
		return;
	hdr(&l.h, MT_LOST, sizeof(l), raw_now_ns(), ag.pid, ag.pid);
	l.count = lost - at.lost_reported;
	l.cpu = ~0u;
	put(&l.h, agent);
	at.lost_reported = lost;
}

/*
 * The periodic work (RSS every rss interval, smaps_rollup every smaps
 * interval, the lost count, buffers of threads gone quiet, the ring) is
 * done by whichever program thread records a call first once it is due,
 * inline (a few microseconds every rss interval), and otherwise by the agent
 * thread. The agent thread sleeps on a timer that every round of periodic
 * work pushes further: while the program is busy the agent thread never
 * runs. (When it ran on another CPU, every munmap and madvise of a
 * single-threaded program had to flush that CPU's TLB as well: on the
 * benchmark loop this cost more than the recording.)
 */
static void arm_timer(uint64_t at_ns)
{
	struct itimerspec its = { { 0, 0 },
				  { (time_t)(at_ns / 1000000000ull), (long)(at_ns % 1000000000ull) } };

	if (ag.timer_fd >= 0)
		mt_sys4(SYS_timerfd_settime, ag.timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* Is the periodic work due, and is it ours to do (one taker per round)? */
static bool work_claim(uint64_t now)
{
	uint64_t due = __atomic_load_n(&ag.next_work_ns, __ATOMIC_RELAXED);

	return now >= due && __atomic_compare_exchange_n(&ag.next_work_ns, &due, now + ag.rss_ns,
							 false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED);
}

static void periodic(uint64_t now, bool agent)
{
	if (!__atomic_load_n(&mt_agent_on, __ATOMIC_RELAXED) || ag.exiting)
		return;
	if (agent ? rss_lock_wait() : rss_trylock()) {
		rss_periodic(now, agent);
		report_lost(agent);
		rss_unlock();
	}
	/* threads gone quiet: their records should not wait for their next call */
	tb_flush(false, now, agent);
	drain_if_free();
	/* the agent thread takes over only if no call comes for two intervals */
	arm_timer(now + (agent ? ag.rss_ns : 2 * ag.rss_ns));
}

/* ---- catching: calls the filter traps (trap.c hands them over) ---- */

bool mt_catching(void)
{
	return __atomic_load_n(&ag.catching, __ATOMIC_RELAXED);
}

void mt_trapped_call(const struct mt_call_args *c)
{
	__atomic_add_fetch(&ag.caught, 1, __ATOMIC_RELAXED);
	if (mt_recording())
		record(c, mt_tid(), now_ns());
}

/* ---- the agent thread ---- */

static int agent_thread(void *arg)
{
	uint64_t expired, now;

	(void)arg;
	for (;;) {
		/* blocks until the timer fires: only once the program has gone quiet */
		if (mt_sys3(SYS_read, ag.timer_fd, &expired, sizeof(expired)) < 0) {
			raw_sleep_ns(ag.rss_ns); /* never a busy loop, whatever happened to the timer */
			continue;
		}
		now = raw_now_ns();
		if (work_claim(now))
			periodic(now, true);
		else if (__atomic_load_n(&mt_agent_on, __ATOMIC_RELAXED) && !ag.exiting)
			arm_timer(__atomic_load_n(&ag.next_work_ns, __ATOMIC_RELAXED) + ag.rss_ns);
	}
	return 0;
}

/*
 * Start fn on a thread of its own: a stack and a small thread-control block
 * of our own (the thread never touches thread-local storage, but the stack
 * protector reads its canary at %fs:0x28), every signal blocked so that no
 * program handler ever runs on it.
 */
static int start_bare_thread(int (*fn)(void *), size_t stack_len, void **mem, size_t *len)
{
	uint64_t all = ~0ull, old = 0, *tcb, guard, pguard;
	size_t total = stack_len + TLS_AREA;
	long base, tid;
	char *top;

	base = mt_raw_syscall(SYS_mmap, 0, (long)total, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (mt_ret_is_err(base))
		return (int)base;
	tcb = (uint64_t *)(base + TLS_AREA - 256);
	__asm__ volatile("mov %%fs:0x28, %0" : "=r"(guard));
	__asm__ volatile("mov %%fs:0x30, %0" : "=r"(pguard));
	tcb[0] = (uint64_t)tcb;
	tcb[5] = guard;
	tcb[6] = pguard;
	top = (char *)base + total;
	mt_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, 8);
	tid = mt_raw_clone(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
				   CLONE_SYSVSEM | CLONE_SETTLS,
			   top, tcb, fn, NULL);
	mt_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
	if (tid < 0) {
		mt_sys2(SYS_munmap, base, total);
		return (int)tid;
	}
	*mem = (void *)base;
	*len = total;
	return 0;
}

/* ---- catching: set-up ---- */

struct range_scan {
	struct mt_code_range *r;
	int n;
	uintptr_t self, interp, vdso;
	bool exe_fixed; /* the program is not position-independent */
	bool too_many;
};

/*
 * The code the filter watches: executable segments of the objects loaded
 * now, but not the agent's own, not the dynamic loader's (it maps the
 * libraries of the next program after an exec) and not the vDSO's. Nor a
 * program linked at a fixed address: the filter outlives exec, and a next
 * program linked at the same fixed address, if no agent runs in it to
 * handle SIGSYS, would be killed by its first trap there. Everything
 * watched lies at an address ASLR chose, which the next program's code is
 * vanishingly unlikely to occupy.
 */
static int scan_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct range_scan *s = data;
	bool main_prog = !info->dlpi_name || !info->dlpi_name[0];
	uintptr_t lo = UINTPTR_MAX, hi = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if ((s->self >= lo && s->self < hi) || (s->interp >= lo && s->interp < hi) ||
	    (s->vdso >= lo && s->vdso < hi))
		return 0;
	if (main_prog && info->dlpi_addr == 0) {
		s->exe_fixed = true;
		return 0;
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t start, end;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		if (s->n >= MAX_RANGES) {
			s->too_many = true;
			break;
		}
		start = (info->dlpi_addr + ph->p_vaddr) & ~4095ull;
		end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + 4095) & ~4095ull;
		s->r[s->n++] = (struct mt_code_range){ start, end };
	}
	return 0;
}

static bool aslr_on(void)
{
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/randomize_va_space", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		raw_close(fd);
		if (n > 0 && buf[0] == '0')
			return false;
	}
	return !(personality(0xffffffff) & ADDR_NO_RANDOMIZE);
}

static long install_filter(unsigned long flags)
{
	struct sock_fprog prog = { (unsigned short)ag.filter_len, ag.filter };

	return mt_sys3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* Is the program a Go program (its runtime makes its own system calls)? */
static bool exe_is_go(void)
{
	char buf[64 * 1024];
	ElfW(Ehdr) eh;
	ElfW(Shdr) sh, strs;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	bool go = false;

	if (fd < 0)
		return false;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || eh.e_shentsize != sizeof(sh) ||
	    eh.e_shstrndx >= eh.e_shnum ||
	    pread(fd, &strs, sizeof(strs), (off_t)(eh.e_shoff + eh.e_shstrndx * sizeof(sh))) !=
		    sizeof(strs) ||
	    strs.sh_size >= sizeof(buf) ||
	    pread(fd, buf, strs.sh_size, (off_t)strs.sh_offset) != (ssize_t)strs.sh_size)
		goto out;
	buf[strs.sh_size] = '\0';
	for (int i = 0; i < eh.e_shnum && !go; i++) {
		if (pread(fd, &sh, sizeof(sh), (off_t)(eh.e_shoff + i * sizeof(sh))) != sizeof(sh))
			break;
		go = sh.sh_name < strs.sh_size && (!strcmp(buf + sh.sh_name, ".go.buildinfo") ||
						   !strcmp(buf + sh.sh_name, ".gopclntab"));
	}
out:
	raw_close(fd);
	return go;
}

/*
 * Build and install the filter, SIGSYS handler first. Returns 0, or fills
 * why (for the note and the trace) and returns -1: the agent then records
 * what its hooks see.
 */
static int catch_setup(char *why, size_t whylen)
{
	static struct mt_code_range ranges[MAX_RANGES];
	struct mt_filter_call calls[MT_FILTER_CALLS];
	struct range_scan s = { .r = ranges };
	Dl_info self;
	int ncalls;
	long r;

	if (!aslr_on()) {
		snprintf(why, whylen, "address space layout randomization is off");
		return -1;
	}
	if (!dladdr((void *)catch_setup, &self)) {
		snprintf(why, whylen, "cannot find the agent in memory");
		return -1;
	}
	s.self = (uintptr_t)self.dli_fbase;
	s.interp = getauxval(AT_BASE);
	s.vdso = getauxval(AT_SYSINFO_EHDR);
	dl_iterate_phdr(scan_object, &s);
	/*
	 * Go's runtime sets signal handlers and masks with its own system calls;
	 * in a program at a fixed address (not watched, see scan_object) it
	 * would take SIGSYS back and leave it blocked.
	 */
	if (s.exe_fixed && exe_is_go()) {
		snprintf(why, whylen, "a Go program that is not position-independent (built "
				      "without -buildmode=pie)");
		return -1;
	}
	if (s.exe_fixed)
		info("agent.uncaught", "calls made by the program's own code (not position-"
				       "independent), unless through libc");
	if (s.too_many)
		info("agent.uncaught", "calls made by some libraries (too many to watch)");
	ncalls = mt_filter_agent_calls(calls, MT_FILTER_CALLS, NULL);
	ag.filter_len = ncalls < 0 ? -1
				   : mt_filter_build(ag.filter, MT_FILTER_MAX,
						     (uint64_t)mt_raw_syscall_ret, ranges, s.n,
						     calls, ncalls, MT_TRAP_DATA);
	if (ag.filter_len < 0) {
		snprintf(why, whylen, "the filter does not fit");
		return -1;
	}
	r = mt_trap_install();
	if (r < 0) {
		snprintf(why, whylen, "cannot handle SIGSYS: %s", strerror((int)-r));
		return -1;
	}
	/*
	 * TSYNC: every thread, should an earlier constructor have started one.
	 * SPEC_ALLOW: the agent is no sandbox; without it a kernel booted with
	 * spec_store_bypass_disable=seccomp would slow the whole program down.
	 */
	r = install_filter(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
	if (r == -EACCES) {
		/* without CAP_SYS_ADMIN the kernel wants no_new_privs first */
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		r = install_filter(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
	}
	if (r != 0) {
		mt_trap_uninstall();
		if (r > 0)
			snprintf(why, whylen, "thread %ld cannot take the seccomp filter", r);
		else
			snprintf(why, whylen, "cannot install a seccomp filter: %s",
				 strerror((int)-r));
		return -1;
	}
	__atomic_store_n(&ag.catching, 1, __ATOMIC_RELEASE);
	return 0;
}

/* ---- process events ---- */

/* The parts of the environment a child we do not follow must not pass on. */
static void strip_env(void)
{
	extern char **environ;
	char **r, **w;

	if (!environ)
		return;
	for (r = w = environ; *r; r++) {
		if (!strncmp(*r, "LD_PRELOAD=", 11))
			mt_preload_strip(*r + 11, MT_AGENT_LIB);
		else if (!strncmp(*r, "MADVTRACE_", 10))
			continue;
		*w++ = *r;
	}
	*w = NULL;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		mt_sys1(SYS_close, *fd);
	*fd = -1;
}

/* A fork record, written straight out (the child's ring is not there yet). */
static void write_fork_record(uint32_t parent, uint32_t parent_tid, uint32_t child)
{
	struct {
		uint32_t len;
		struct mt_task k;
	} __attribute__((packed)) f;

	if (ag.out_err || ag.out_fd < 0)
		return;
	memset(&f, 0, sizeof(f));
	f.len = sizeof(f.k);
	f.k.h.type = MT_TASK;
	f.k.h.size = sizeof(f.k);
	f.k.h.t_ns = raw_now_ns();
	f.k.h.pid = parent;
	f.k.h.tid = parent_tid;
	f.k.event = MT_TASK_FORK;
	f.k.other_pid = child;
	get_comm(f.k.comm);
	out_write((const unsigned char *)&f, sizeof(f));
}

static void open_proc_fds(void)
{
	ag.status_fd = high_fd((int)mt_sys3(SYS_open, "/proc/self/status", O_RDONLY | O_CLOEXEC, 0));
	ag.smaps_fd = high_fd((int)mt_sys3(SYS_open, "/proc/self/smaps_rollup",
					   O_RDONLY | O_CLOEXEC, 0));
}

/*
 * In a new child (single-threaded; async-signal-safe calls only). It
 * inherited a copy of the parent's ring and descriptors: the ring's
 * records are the parent's to write, and the /proc descriptors are the
 * parent's files. A child we follow gets its own of each; one we do not
 * follow stops recording. The filter and the SIGSYS handler come with the
 * fork: the child's trapped calls are made (and recorded if followed) by
 * the handler in the child itself.
 */
static void fork_child(void)
{
	uint32_t parent = ag.pid, parent_tid = ag.fork_tid ? ag.fork_tid : tls_tid;
	void *mem;
	size_t len;

	tls_tid = 0;
	ag.pid = (uint32_t)mt_sys0(SYS_getpid);
	ag.consumer = 0;
	ag.fork_tid = 0;
	ag.caught = 0;
	if (!parent_tid)
		parent_tid = parent;
	if (!__atomic_load_n(&mt_agent_on, __ATOMIC_RELAXED))
		return;
	mt_tls_internal++;
	if (!ag.follow) {
		write_fork_record(parent, parent_tid, ag.pid);
		__atomic_store_n(&mt_agent_on, 0, __ATOMIC_RELAXED);
		close_fd(&ag.out_fd);
		close_fd(&ag.timer_fd);
		close_fd(&ag.status_fd);
		close_fd(&ag.smaps_fd);
		mt_sys2(SYS_munmap, ag.ring_mem, ag.ring_len);
		ag.ring_mem = NULL;
		strip_env();
		mt_tls_internal--;
		return;
	}

	/* followed: a recorder of its own */
	ag.ring_mem = (void *)mt_raw_syscall(SYS_mmap, 0, (long)ag.ring_len,
					     PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
					     -1, 0);
	if (mt_ret_is_err((long)ag.ring_mem)) {
		ag.ring_mem = NULL;
		__atomic_store_n(&mt_agent_on, 0, __ATOMIC_RELAXED);
		mt_tls_internal--;
		return;
	}
	mt_ring_init(&ag.ring, ag.ring_mem, ag.ring_len);
	close_fd(&ag.timer_fd);
	ag.timer_fd = high_fd((int)mt_sys2(SYS_timerfd_create, CLOCK_MONOTONIC, TFD_CLOEXEC));
	close_fd(&ag.status_fd);
	close_fd(&ag.smaps_fd);
	open_proc_fds();
	memset(ag.stack_ips, 0, sizeof(ag.stack_ips));
	ag.stack_prefix = ((ag.pid % 0xfffffu) + 1) << 12;
	memset(&at, 0, sizeof(at));
	rss_lock = 0;
	/* the parent's buffers came along: what they hold is the parent's to write */
	nfree = 0;
	free_lock = 0;
	tls_in_free = 0;
	tls_exited = 0;
	for (unsigned int i = 0; i < ntbufs && i < MAX_TBUFS; i++) {
		if (!tbufs[i])
			continue;
		tbufs[i]->state = TB_IDLE;
		tbufs[i]->used = 0;
		tbufs[i]->owner = tbufs[i] == tls_buf ? ag.pid : 0;
		if (tbufs[i] != tls_buf)
			free_tbufs[nfree++] = i;
	}
	emit_task(MT_TASK_FORK, parent, parent_tid, ag.pid, 0, raw_now_ns());
	rss_start(raw_now_ns());
	ag.next_work_ns = raw_now_ns() + ag.rss_ns;
	arm_timer(ag.next_work_ns + ag.rss_ns);
	flush_own();
	if (start_bare_thread(agent_thread, THREAD_STACK, &mem, &len)) {
		__atomic_store_n(&mt_agent_on, 0, __ATOMIC_RELAXED);
		mt_tls_internal--;
		return;
	}
	mt_tls_internal--;
}

void mt_on_fork_child(void)
{
	fork_child();
}

static void fork_prepare(void)
{
	if (!__atomic_load_n(&mt_agent_on, __ATOMIC_RELAXED))
		return;
	ag.fork_tid = mt_tid();
	/* the parent's records up to the fork go out before the child's fork record */
	flush_all();
}

static void fork_parent(void)
{
	ag.fork_tid = 0;
}

void mt_on_spawn(pid_t child)
{
	if (mt_recording() && child > 0)
		emit_task(MT_TASK_FORK, ag.pid, mt_tid(), (uint32_t)child, 0, now_ns());
}

void mt_on_thread_start(uint32_t creator_tid)
{
	if (!mt_recording())
		return;
	/* the record the bpf backend makes in the creator's context, made from the new thread */
	emit_task(MT_TASK_CLONE, ag.pid, creator_tid, mt_tid(), 0, now_ns());
}

/*
 * The thread that just took a buffer gets the agent's thread-specific value,
 * so that thread_exit runs when it ends, whoever started it (a thread older
 * than the agent, one its wrapper had no room for). For a key among the
 * first 32 glibc stores it in the thread's own array: no allocation.
 */
static void tb_mine(void)
{
	if (ag.have_key)
		pthread_setspecific(ag.key, (void *)1);
}

static void thread_exit(void *v)
{
	struct tbuf *b = tls_buf;

	(void)v;
	if (mt_recording() && !ag.exiting)
		emit_task(MT_TASK_THREAD_EXIT, ag.pid, mt_tid(), 0, 0, now_ns());
	if (!b)
		return;
	/*
	 * Given back, records and all (each record names its thread): no write
	 * per thread exit. What it holds goes out with the next thread's
	 * records, or by age. Buffers are never unmapped: others may look.
	 */
	tb_put_back(b);
}

void mt_on_exit(int status)
{
	struct mt_counters c;
	uint64_t now;

	if (!mt_recording() || __atomic_exchange_n(&ag.exiting, true, __ATOMIC_ACQ_REL))
		return;
	now = now_ns();
	emit_task(MT_TASK_EXIT, ag.pid, mt_tid(), 0, (status & 0xff) << 8, now);
	/* RSS as the program leaves it, before the teardown frees it all */
	if (rss_lock_wait()) {
		if (read_counters(&c)) {
			rss_update(&c, now, true, false);
			emit_rss(&c, MT_RSS_END, now, 0, 0, 0, false);
		}
		report_lost(false);
		rss_unlock();
	}
	if (mt_catching()) {
		char n[24] = "";

		info("agent.caught", mt_cat_u64(n, sizeof(n), __atomic_load_n(&ag.caught,
									 __ATOMIC_RELAXED)));
	}
	flush_all();
	__atomic_store_n(&mt_agent_on, 0, __ATOMIC_RELAXED);
}

static void on_exit_handler(int status, void *arg)
{
	(void)arg;
	mt_on_exit(status);
}

void mt_before_exec(const char *path, int *undo)
{
	struct mt_agent_note n;

	*undo = 0;
	if (!__atomic_load_n(&mt_agent_on, __ATOMIC_RELAXED))
		return;
	flush_all();
	if (ag.out_kind == OUT_SOCKET) {
		/*
		 * Last, straight out: so madvtrace can tell if the next program
		 * never says it started.
		 */
		struct {
			uint32_t len;
			struct mt_agent_note n;
		} __attribute__((packed)) f;

		f.len = sizeof(n);
		hdr(&n.h, MT_AGENT_NOTE, sizeof(n), now_ns(), ag.pid, mt_tid());
		n.level = MT_NOTE_EXEC;
		mt_cat(n.text, sizeof(n.text), path ? path : "?");
		memcpy(&f.n, &n, sizeof(n));
		out_write((const unsigned char *)&f, sizeof(f));
	}
	/* the next program of this process is traced too: it needs the descriptor */
	if (!ag.follow && ag.out_fd >= 0) {
		set_cloexec(ag.out_fd, false);
		*undo = 1;
	}
}

void mt_exec_failed(int undo)
{
	if (undo && ag.out_fd >= 0)
		set_cloexec(ag.out_fd, true);
}

/* ---- the environment an exec passes on ---- */

static void save_env(const char *key, const char *value)
{
	size_t need;

	if (!value)
		return;
	need = strlen(key) + 1 + strlen(value) + 1;
	if (ag.env_used + need > ENV_SAVE)
		return;
	memcpy(ag.env_save + ag.env_used, key, strlen(key));
	ag.env_save[ag.env_used + strlen(key)] = '=';
	memcpy(ag.env_save + ag.env_used + strlen(key) + 1, value, strlen(value) + 1);
	ag.env_used += need;
}

/*
 * envp for the next program of a traced process: the one given, plus each
 * of the agent's variables it lacks (a program that builds its own
 * environment would otherwise run the next program untraced). out has room
 * for n + 16 pointers; preload is a buffer for a rewritten LD_PRELOAD.
 * Returns envp itself when nothing is missing.
 */
char *const *mt_exec_env(char *const *envp, char **out, size_t room, char *preload,
			 size_t preload_len)
{
	size_t n = 0, i, k;
	const char *p;
	bool changed = false;

	if (!__atomic_load_n(&mt_agent_on, __ATOMIC_RELAXED) || !envp)
		return envp;
	for (n = 0; envp[n]; n++)
		;
	if (n + 16 > room)
		return envp;
	for (i = 0; i < n; i++)
		out[i] = envp[i];
	for (p = ag.env_save; p < ag.env_save + ag.env_used; p += strlen(p) + 1) {
		size_t klen = (size_t)(strchr(p, '=') - p) + 1;
		bool found = false;

		for (k = 0; k < n; k++) {
			if (strncmp(out[k], p, klen))
				continue;
			found = true;
			if (klen == 11 && !strncmp(p, "LD_PRELOAD=", 11) &&
			    !mt_preload_has(out[k] + 11, MT_AGENT_LIB)) {
				/* theirs, with the agent in front */
				preload[0] = '\0';
				mt_cat(preload, preload_len, p);
				mt_cat(preload, preload_len, ":");
				mt_cat(preload, preload_len, out[k] + 11);
				out[k] = preload;
				changed = true;
			}
			break;
		}
		if (!found && n + 1 < room) {
			out[n++] = (char *)p;
			changed = true;
		}
	}
	out[n] = NULL;
	return changed ? out : envp;
}

/* ---- start-up ---- */

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	uint64_t r;

	return v && mt_parse_u64(v, &r) ? r : dflt;
}

static bool env_flag(const char *name, bool dflt)
{
	const char *v = getenv(name);

	if (!v || !*v)
		return dflt;
	return !(v[0] == '0' || v[0] == 'n' || v[0] == 'N' || v[0] == 'f' || v[0] == 'F');
}

/* Is fd, inherited through MADVTRACE_FD, really where this trace goes? */
static int check_out_fd(int fd)
{
	const char *out = getenv(MT_ENV_OUTPUT);
	struct stat st, pst;
	int type = 0;
	socklen_t len = sizeof(type);

	if (fd < 0 || fstat(fd, &st))
		return OUT_NONE;
	if (S_ISSOCK(st.st_mode))
		return !getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) && type == SOCK_SEQPACKET
			       ? OUT_SOCKET
			       : OUT_NONE;
	if (S_ISREG(st.st_mode) && out && !stat(out, &pst) && pst.st_dev == st.st_dev &&
	    pst.st_ino == st.st_ino && (fcntl(fd, F_GETFL) & O_APPEND))
		return OUT_FILE;
	return OUT_NONE;
}

static char *read_cmdline(char *buf, size_t len)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		raw_close(fd);
	if (n <= 0)
		n = 0;
	buf[n] = '\0';
	for (ssize_t i = 0; i + 1 < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	return buf;
}

static int trace_write(void *ctx, const void *buf, size_t len)
{
	return raw_write_all((int)(intptr_t)ctx, buf, len);
}

/* The trace-file writer's I/O: raw calls; no close, the descriptor stays the agent's. */
static const struct mt_writer_io trace_io = { .write_all = trace_write };

/* By hand: create the trace file and write its header (tracefile.c's writer). */
static int create_trace(const char *path, const char *agent_path)
{
	struct mt_file_info info = { 0 };
	struct timespec rt, mono;
	struct utsname u;
	struct mt_writer *w;
	char cmd[4096], target[4096];
	int fd, err;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(cmd, sizeof(cmd), "cannot create %s: %s%s; not recording", path,
			 strerror(errno), errno == ELOOP ? " (it is a symbolic link)" : "");
		note(MT_NOTE_WARN, cmd);
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	uname(&u);
	snprintf(cmd, sizeof(cmd), "LD_PRELOAD=%s %s=%s", agent_path, MT_ENV_OUTPUT, path);
	info.page_size = (uint32_t)sysconf(_SC_PAGESIZE);
	info.clock_id = CLOCK_MONOTONIC;
	info.clock_offset_ns = ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000ll +
			       (rt.tv_nsec - mono.tv_nsec);
	info.start_ns = (uint64_t)mono.tv_sec * 1000000000ull + (uint64_t)mono.tv_nsec;
	info.backend = MT_BACKEND_PRELOAD;
	info.target_pid = getpid();
	info.kernel_release = u.release;
	info.cmdline = cmd;
	info.target = read_cmdline(target, sizeof(target));
	w = mt_writer__new_io(&trace_io, (void *)(intptr_t)fd, &info);
	/* the header only: the records follow, framed, through the agent's own buffers */
	err = w ? mt_writer__free(w) : -errno;
	if (err) {
		snprintf(cmd, sizeof(cmd), "cannot write %s: %s; not recording", path,
			 strerror(-err));
		note(MT_NOTE_WARN, cmd);
		raw_close(fd);
		return -1;
	}
	return fd;
}

/*
 * The mappings the process has as the agent starts (what ld.so made before
 * the agent could see it), as synthetic mmap records the way attach mode
 * shows a running process (procfs.c mt_proc_emit_maps): state, not calls.
 * The agent's own buffer is left out.
 */
static void emit_maps(void)
{
	char line[4352], perms[8];
	unsigned long long start, end, off;
	FILE *f = fopen("/proc/self/maps", "re");
	uint64_t t = now_ns();
	struct mt_mmap m;
	int pos;

	while (f && fgets(line, sizeof(line), f)) {
		const char *name;

		pos = -1;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s%n", &start, &end, perms, &off, &pos) < 4)
			continue;
		if (start == (uintptr_t)ag.ring_mem)
			continue;
		line[strcspn(line, "\n")] = '\0';
		memset(&m, 0, sizeof(m));
		m.h.type = MT_MMAP;
		m.h.size = sizeof(m);
		m.h.t_ns = t;
		m.h.pid = m.h.tid = ag.pid;
		m.h.flags = MT_F_SYNTH;
		m.addr = start;
		m.len = end - start;
		m.ret = (int64_t)start;
		m.off = off;
		m.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			 (perms[2] == 'x' ? PROT_EXEC : 0);
		m.flags = MAP_FIXED | (perms[3] == 's' ? MAP_SHARED : MAP_PRIVATE);
		/* no path: anonymous memory (heaps and stacks have a [name], still anonymous) */
		name = pos < 0 ? "" : line + pos + strspn(line + pos, " ");
		if (!*name || *name == '[')
			m.flags |= MAP_ANONYMOUS;
		m.fd = -1;
		put(&m.h, false);
	}
	if (f)
		fclose(f);
}

/* By hand, what the program is (madvtrace adds these itself, with more, when it runs us). */
static void emit_exe_info(void)
{
	char path[4096], base[32] = "0x";
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	const ElfW(Phdr) *ph = (const void *)getauxval(AT_PHDR);
	uint64_t lo = UINT64_MAX, bias = 0;
	size_t phnum = getauxval(AT_PHNUM);

	if (n <= 0)
		return;
	path[n] = '\0';
	info("exe", path);
	/* the lowest address the program is mapped at: its load bias plus its first segment */
	for (size_t i = 0; ph && i < phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			bias = (uint64_t)ph - ph[i].p_vaddr;
	for (size_t i = 0; ph && i < phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && bias + ph[i].p_vaddr < lo)
			lo = (bias + ph[i].p_vaddr) & ~4095ull;
	if (lo == UINT64_MAX)
		return;
	for (int sh = 60; sh >= 0; sh -= 4)
		if ((lo >> sh) || sh == 0 || strlen(base) > 2) {
			char d[2] = { "0123456789abcdef"[(lo >> sh) & 15], '\0' };

			mt_cat(base, sizeof(base), d);
		}
	info("exe_base", base);
}

/* Decide what this process is to the trace. Returns false when it is not recorded. */
static bool choose_role(const char **agent_path)
{
	const char *fd_s = getenv(MT_ENV_FD), *out = getenv(MT_ENV_OUTPUT);
	const char *pid_s = getenv(MT_ENV_PID);
	static Dl_info self;
	uint64_t traced = 0, fd = 0;
	char buf[32] = "";
	int ofd;

	*agent_path = dladdr((void *)choose_role, &self) && self.dli_fname ? self.dli_fname
									  : MT_AGENT_LIB;
	if (pid_s && mt_parse_u64(pid_s, &traced) && traced != ag.pid && !ag.follow) {
		/* a descendant of the traced process, and children are not followed */
		if (fd_s && mt_parse_u64(fd_s, &fd) && check_out_fd((int)fd) != OUT_NONE)
			raw_close((int)fd);
		strip_env();
		return false;
	}
	if (fd_s && mt_parse_u64(fd_s, &fd)) {
		ag.out_kind = check_out_fd((int)fd);
		if (ag.out_kind == OUT_NONE) {
			if (out)
				note(MT_NOTE_WARN, "the trace file descriptor was closed before "
						   "this program started: not recording it");
			return false;
		}
		ag.out_fd = (int)fd;
		ag.by_hand = ag.out_kind == OUT_FILE;
	} else if (out && *out) {
		ofd = create_trace(out, *agent_path);
		if (ofd < 0)
			return false;
		ag.out_fd = ofd;
		ag.out_kind = OUT_FILE;
		ag.by_hand = true;
	} else {
		if (!pid_s)
			note(MT_NOTE_WARN, "nothing to record to: set " MT_ENV_OUTPUT
					   "=FILE, or run madvtrace --backend=preload");
		return false;
	}
	/* out of the program's way; inherited by the next program (exec) only as arranged */
	ofd = ag.out_fd;
	if (ofd < AGENT_FD_MIN) {
		ag.out_fd = high_fd(ofd);
		if (ag.out_fd != ofd || !fd_s) {
			mt_cat_u64(buf, sizeof(buf), (uint64_t)ag.out_fd);
			setenv(MT_ENV_FD, buf, 1);
		}
	} else if (!fd_s) {
		mt_cat_u64(buf, sizeof(buf), (uint64_t)ag.out_fd);
		setenv(MT_ENV_FD, buf, 1);
	}
	set_cloexec(ag.out_fd, !ag.follow);
	if (!pid_s) {
		buf[0] = '\0';
		mt_cat_u64(buf, sizeof(buf), ag.pid);
		setenv(MT_ENV_PID, buf, 1);
	}
	return true;
}

__attribute__((constructor)) static void agent_init(void)
{
	const char *agent_path, *names[] = { "LD_PRELOAD",   MT_ENV_FD,	   MT_ENV_OUTPUT,
					     MT_ENV_PID,     MT_ENV_FOLLOW,  MT_ENV_RSS_MS,
					     MT_ENV_SMAPS_MS, MT_ENV_BUFFER_KIB, MT_ENV_CATCH,
					     MT_ENV_STACKS,  MT_ENV_QUIET };
	char why[160] = "", msg[256];
	uint64_t kib, now;
	void *mem;
	size_t len;
	bool catching = false;
	int err;

	mt_tls_internal++;
	mt_hooks_resolve();
	ag.pid = (uint32_t)getpid();
	ag.follow = env_flag(MT_ENV_FOLLOW, false);
	ag.quiet = env_flag(MT_ENV_QUIET, false);
	ag.stacks = env_flag(MT_ENV_STACKS, false);
	ag.rss_ns = env_u64(MT_ENV_RSS_MS, 100) * MS;
	if (!ag.rss_ns)
		ag.rss_ns = 100 * MS;
	ag.smaps_ns = env_u64(MT_ENV_SMAPS_MS, 1000) * MS;
	ag.rss_gap_ns = ag.rss_ns / 10 < 10 * MS ? ag.rss_ns / 10 : 10 * MS;
	kib = env_u64(MT_ENV_BUFFER_KIB, DEFAULT_RING / 1024);
	for (ag.ring_len = 4096; ag.ring_len < kib * 1024 && ag.ring_len < (1ull << 30);)
		ag.ring_len <<= 1;
	ag.stack_prefix = ((ag.pid % 0xfffffu) + 1) << 12;
	if (!choose_role(&agent_path))
		goto out;

	ag.ring_mem = (void *)mt_raw_syscall(SYS_mmap, 0, (long)ag.ring_len, PROT_READ | PROT_WRITE,
					     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mt_ret_is_err((long)ag.ring_mem)) {
		ag.ring_mem = NULL;
		note(MT_NOTE_WARN, "cannot allocate the record buffer: not recording");
		goto out;
	}
	mt_ring_init(&ag.ring, ag.ring_mem, ag.ring_len);
	ag.timer_fd = high_fd(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
	open_proc_fds();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		save_env(names[i], getenv(names[i]));
	/* all that may allocate, before the filter is in place (see below) */
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	on_exit(on_exit_handler, NULL);
	ag.have_key = !pthread_key_create(&ag.key, thread_exit);
	if (ag.have_key)
		pthread_setspecific(ag.key, (void *)1);

	/* this program, as the bpf backend records an exec: task, facts, mappings, RSS */
	__atomic_store_n(&mt_agent_on, 1, __ATOMIC_RELAXED);
	now = now_ns();
	emit_task(MT_TASK_EXEC, ag.pid, ag.pid, ag.pid, 0, now);
	if (ag.by_hand)
		emit_exe_info();
	emit_maps();
	rss_start(now_ns());
	ag.next_work_ns = now_ns() + ag.rss_ns;
	arm_timer(ag.next_work_ns + ag.rss_ns);

	/* the thread that writes the records out: before the filter, it needs no SIGSYS */
	err = start_bare_thread(agent_thread, THREAD_STACK, &mem, &len);
	if (err) {
		snprintf(msg, sizeof(msg), "cannot start the agent thread: %s; not recording",
			 strerror(-err));
		__atomic_store_n(&mt_agent_on, 0, __ATOMIC_RELAXED);
		note(MT_NOTE_WARN, msg);
		goto out;
	}
	if (env_flag(MT_ENV_CATCH, true)) {
		catching = catch_setup(why, sizeof(why)) == 0;
	} else {
		snprintf(why, sizeof(why), "%s=0", MT_ENV_CATCH);
	}
	if (catching) {
		info("agent.catch", "on");
	} else {
		info("agent.catch", why);
		msg[0] = '\0';
		mt_cat(msg, sizeof(msg), "calls made inside libc (malloc's mmap and munmap, "
					 "thread stacks) and raw system calls are not recorded: ");
		mt_cat(msg, sizeof(msg), why);
		/* the user's own choice needs no warning */
		note(env_flag(MT_ENV_CATCH, true) ? MT_NOTE_WARN : MT_NOTE_INFO, msg);
	}
	/* madvtrace learns about the new program now, while /proc still shows it */
	flush_all();
out:
	mt_tls_internal--;
}
