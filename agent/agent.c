// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libmadvtrace-agent.so: madvtrace's recorder inside the traced program,
 * loaded with LD_PRELOAD. No privilege, no ptrace.
 *
 * - The hooks (hooks.c) make the memory calls themselves, through the one
 *   system call instruction of raw.S, and put a record in the ring (ring.c).
 * - Calls no hook can see (glibc's own: malloc's mmap/munmap, thread stacks;
 *   raw syscall instructions in the program) are caught by a seccomp filter
 *   that sends them to this agent as user notifications (filter.c): the agent
 *   thread performs each one in the same address space, answers with its
 *   result and records it. The filter only looks at code that was loaded
 *   when the agent started and lies at a random address (see catch_setup()).
 * - The agent thread is a bare clone() thread glibc knows nothing about: it
 *   writes the ring out, answers the notifications and samples RSS. It uses
 *   no thread-local storage and no libc function that could, so it can also
 *   be started in the child of a fork, before anything else runs there.
 *
 * Everything that can run on the program's threads after start-up (hooks,
 * fork and exit handlers) makes no allocation, takes no lock a signal could
 * find held, and uses only async-signal-safe calls.
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
#include <sys/eventfd.h>
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
#include "agent_proto.h"
#include "filter.h"
#include "ring.h"
#include "text.h"
#include "tracefile.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#define MS (1000 * 1000ull)
/* the agent's descriptors live up here, out of the way of the program's own numbering */
#define AGENT_FD_MIN 700
#define THREAD_STACK (256 * 1024)
#define PASSIVE_STACK (64 * 1024)
#define TLS_AREA 4096
/* longest a record waits in the ring before the agent thread writes it out */
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

static struct {
	int on; /* recording (atomic) */
	bool follow, quiet, stacks, by_hand;
	bool exiting; /* an exit was recorded: nothing after it */
	int out_fd, out_kind, out_err;
	uint32_t pid;
	uint64_t rss_ns, smaps_ns, rss_gap_ns;
	struct mt_ring ring;
	void *ring_mem;
	size_t ring_len;
	int evfd, status_fd, smaps_fd;
	/* catching (seccomp user notification) */
	int listen_fd;
	bool passive; /* answer notifications without recording (a child we do not follow) */
	struct sock_filter filter[MT_FILTER_MAX];
	int filter_len;
	/* the agent thread */
	void *thr_mem;
	size_t thr_len;
	int consumer; /* lock: who is writing the ring out (atomic) */
	uint32_t fork_tid; /* the thread that forked, for the child's fork record */
	/* the RSS change a call may explain (written by every thread) */
	uint64_t release_seq, populate_seq, release_ns, populate_ns, wake_ns, wake_pending;
	uint64_t caught, passed_on, thread_misses;
	uint32_t stack_prefix;
	uint64_t stack_ips[STACK_SLOTS];
	pthread_key_t key;
	bool have_key;
	/* "KEY=VALUE\0" strings exec must pass on for the next program to be traced */
	char env_save[ENV_SAVE];
	size_t env_used;
} ag = {
	.out_fd = -1,
	.evfd = -1,
	.status_fd = -1,
	.smaps_fd = -1,
	.listen_fd = -1,
};

/* Only the agent thread (or the consumer-lock holder) touches these. */
static struct {
	struct mt_counters last;
	uint64_t seen_release, seen_populate;
	uint64_t last_emit_ns, next_rss_ns, next_smaps_ns;
	uint64_t lost_reported;
	char buf[4096];
} at;

static MT_TLS uint32_t tls_tid;
/* >0: the agent's own work on this thread; its calls are not the program's */
static MT_TLS int tls_internal;

static const int memory_nrs[] = {
	SYS_mmap, SYS_mprotect, SYS_munmap, SYS_brk, SYS_mremap, SYS_madvise, SYS_process_madvise,
};

/* ---- small things ---- */

uint32_t mt_tid(void)
{
	if (!tls_tid)
		tls_tid = (uint32_t)mt_sys0(SYS_gettid);
	return tls_tid;
}

bool mt_recording(void)
{
	return __atomic_load_n(&ag.on, __ATOMIC_RELAXED) && !tls_internal;
}

bool mt_is_memory_call(long nr)
{
	for (size_t i = 0; i < sizeof(memory_nrs) / sizeof(memory_nrs[0]); i++)
		if (nr == memory_nrs[i])
			return true;
	return false;
}

int mt_agent_fds(int fds[5])
{
	int all[5] = { ag.out_fd, ag.evfd, ag.listen_fd, ag.status_fd, ag.smaps_fd }, n = 0;

	for (int i = 0; i < 5; i++)
		if (all[i] >= 0)
			fds[n++] = all[i];
	return n;
}

bool mt_is_agent_fd(int fd)
{
	return fd >= 0 && (fd == ag.out_fd || fd == ag.evfd || fd == ag.listen_fd ||
			   fd == ag.status_fd || fd == ag.smaps_fd);
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

static void lock_consumer(void)
{
	int zero;

	for (;;) {
		zero = 0;
		if (__atomic_compare_exchange_n(&ag.consumer, &zero, 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
		mt_sys0(SYS_sched_yield);
	}
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

static void raw_write_all(int fd, const char *s, size_t len)
{
	while (len) {
		long r = mt_sys3(SYS_write, fd, s, len);

		if (r == -EINTR)
			continue;
		if (r <= 0)
			return;
		s += r;
		len -= (size_t)r;
	}
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

static void wake_agent(void)
{
	uint64_t one = 1;

	if (ag.evfd >= 0 && !__atomic_exchange_n(&ag.wake_pending, 1, __ATOMIC_ACQ_REL))
		mt_sys3(SYS_write, ag.evfd, &one, sizeof(one));
}

static void drain(void);

/*
 * A record of size bytes (a multiple of 4) with its header filled in, or
 * NULL. consumer: the caller holds the consumer lock, so it may make room
 * itself; anyone else waits a little for the agent thread, then gives up
 * and counts the record as lost.
 */
static struct mt_hdr *rec_new(uint16_t type, uint32_t size, uint64_t t, uint32_t pid, uint32_t tid,
			      bool consumer)
{
	struct mt_hdr *h = mt_ring_reserve(&ag.ring, size);
	uint64_t waited = 0;

	if (!h && consumer) {
		drain();
		h = mt_ring_reserve(&ag.ring, size);
	}
	while (!h && !consumer && waited < FULL_WAIT_NS && !ag.out_err) {
		wake_agent();
		raw_sleep_ns(200 * 1000);
		waited += 200 * 1000;
		h = mt_ring_reserve(&ag.ring, size);
	}
	if (!h) {
		__atomic_add_fetch(&ag.ring.lost, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	memset(h, 0, size);
	h->t_ns = t;
	h->pid = pid;
	h->tid = tid;
	h->type = type;
	h->size = (uint16_t)size;
	return h;
}

static void rec_done(struct mt_hdr *h, bool consumer)
{
	mt_ring_commit(h);
	if (!consumer && mt_ring_used(&ag.ring) > ag.ring.size / 2)
		wake_agent();
}

/* Copy a finished record into the ring. */
static void rec_put(const struct mt_hdr *src, bool consumer)
{
	uint32_t size = (src->size + 3u) & ~3u;
	struct mt_hdr *h = rec_new(src->type, size, src->t_ns, src->pid, src->tid, consumer);

	if (!h)
		return;
	memcpy(h, src, src->size);
	h->size = (uint16_t)size; /* variable-size records are padded with NULs to a multiple of 4 */
	rec_done(h, consumer);
}

static void note(int level, const char *text)
{
	struct mt_agent_note n;
	char line[MT_NOTE_LEN + 32] = "madvtrace-agent: ";

	if (ag.out_kind == OUT_SOCKET && !ag.out_err && ag.ring_mem) {
		memset(&n, 0, sizeof(n));
		n.h.type = MT_AGENT_NOTE;
		n.h.size = sizeof(n);
		n.h.t_ns = raw_now_ns();
		n.h.pid = n.h.tid = ag.pid;
		n.level = (uint32_t)level;
		mt_cat(n.text, sizeof(n.text), text);
		rec_put(&n.h, false);
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
		char b[sizeof(struct mt_info) + 512];
	} u;
	char *text = u.b + sizeof(struct mt_info);

	memset(&u, 0, sizeof(u));
	text[0] = '\0';
	mt_cat(text, 500, key);
	mt_cat(text, 500, "=");
	mt_cat(text, 500, value);
	u.in.h.type = MT_INFO;
	u.in.h.size = (uint16_t)(sizeof(struct mt_info) + strlen(text) + 1);
	u.in.h.t_ns = raw_now_ns();
	u.in.h.pid = u.in.h.tid = ag.pid;
	rec_put(&u.in.h, false);
}

static void output_failed(int err)
{
	char msg[160] = "writing the trace: ";

	if (ag.out_err)
		return;
	ag.out_err = err;
	__atomic_store_n(&ag.on, 0, __ATOMIC_RELAXED);
	/* madvtrace going away (Ctrl-C, --duration) ends the recording: nothing to say */
	if (ag.out_kind == OUT_SOCKET && (err == EPIPE || err == ECONNRESET))
		return;
	mt_cat(msg, sizeof(msg), errno_text(err));
	mt_cat(msg, sizeof(msg), "; recording stopped");
	ag.out_kind = OUT_NONE; /* the note goes to stderr */
	note(MT_NOTE_WARN, msg);
}

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

static void get_comm(char comm[MT_COMM_LEN])
{
	memset(comm, 0, MT_COMM_LEN);
	mt_sys2(SYS_prctl, PR_GET_NAME, comm);
}

static void emit_task(uint32_t event, uint32_t pid, uint32_t tid, uint32_t other, int32_t code,
		      uint64_t t, bool consumer)
{
	struct mt_task *k = (void *)rec_new(MT_TASK, sizeof(*k), t, pid, tid, consumer);

	if (!k)
		return;
	k->event = event;
	k->other_pid = other;
	k->code = code;
	get_comm(k->comm);
	rec_done(&k->h, consumer);
}

/* The id of a one-frame stack holding ip; written to the trace the first time. */
static uint32_t stack_id(uint64_t ip, uint64_t t, bool consumer)
{
	uint32_t h = (uint32_t)((ip * 0x9e3779b97f4a7c15ull) >> 40) % STACK_SLOTS;

	for (int i = 0; i < 64; i++) {
		uint32_t slot = (h + (uint32_t)i) % STACK_SLOTS, id = ag.stack_prefix | (slot + 1);
		uint64_t cur = __atomic_load_n(&ag.stack_ips[slot], __ATOMIC_ACQUIRE);
		struct mt_stack *st;

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
		st = (void *)rec_new(MT_STACK, sizeof(*st) + 8, t, 0, 0, consumer);
		if (st) {
			st->id = id;
			st->nr = 1;
			st->ips[0] = ip;
			rec_done(&st->h, consumer);
		}
		return id;
	}
	return 0;
}

static bool is_release(const struct mt_call_args *c)
{
	switch (c->nr) {
	case SYS_madvise:
	case SYS_munmap:
	case SYS_mremap:
	case SYS_process_madvise:
		return true;
	case SYS_mmap:
		return c->a[3] & MAP_FIXED; /* may replace what was there */
	}
	return false;
}

/* Calls that may bring pages in themselves. */
static bool is_populate(const struct mt_call_args *c)
{
	switch (c->nr) {
	case SYS_mmap:
		return c->a[3] & (MAP_POPULATE | MAP_LOCKED);
	case SYS_madvise:
		return c->a[2] == MADV_WILLNEED || c->a[2] == MADV_POPULATE_READ ||
		       c->a[2] == MADV_POPULATE_WRITE;
	case SYS_mremap:
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

static void record_process_madvise(const struct mt_call_args *c, uint32_t tid, uint64_t t,
				   uint32_t stack, bool consumer)
{
	struct iovec iov[MAX_IOV], local, remote;
	size_t vlen = (size_t)c->a[2], n = vlen < MAX_IOV ? vlen : MAX_IOV;
	uint32_t target = pidfd_pid((int)c->a[0]);
	long got;

	memset(iov, 0, sizeof(iov));
	/* the vector is the caller's: read it without trusting it (no fault here) */
	local.iov_base = iov;
	local.iov_len = n * sizeof(struct iovec);
	remote.iov_base = (void *)c->a[1];
	remote.iov_len = local.iov_len;
	got = mt_raw_syscall(SYS_process_vm_readv, ag.pid, (long)&local, 1, (long)&remote, 1, 0);
	if (got < 0)
		n = 0;
	for (size_t i = 0; i < n; i++) {
		struct mt_madvise *m = (void *)rec_new(MT_MADVISE, sizeof(*m), t, ag.pid, tid,
						      consumer);

		if (!m)
			return;
		m->h.flags = MT_F_PROCESS_MADVISE | (vlen > MAX_IOV ? MT_F_IOV_TRUNC : 0);
		m->h.stack_id = stack;
		m->addr = (uint64_t)iov[i].iov_base;
		m->len = iov[i].iov_len;
		m->advice = (int32_t)c->a[3];
		m->ret = c->ret;
		m->target_pid = target;
		rec_done(&m->h, consumer);
	}
}

/* One call as the bpf backend records it. */
static void record(const struct mt_call_args *c, uint32_t tid, uint64_t t, bool consumer)
{
	uint32_t stack = 0;
	struct mt_hdr *h;

	if (ag.stacks && c->caller && is_release(c))
		stack = stack_id(c->caller, t, consumer);
	switch (c->nr) {
	case SYS_mmap: {
		struct mt_mmap *m = (void *)(h = rec_new(MT_MMAP, sizeof(*m), t, ag.pid, tid,
							  consumer));

		if (!h)
			break;
		m->addr = (uint64_t)c->a[0];
		m->len = (uint64_t)c->a[1];
		m->prot = (uint32_t)c->a[2];
		m->flags = (uint32_t)c->a[3];
		m->fd = (int32_t)c->a[4];
		m->off = (uint64_t)c->a[5];
		m->ret = c->ret;
		break;
	}
	case SYS_munmap: {
		struct mt_munmap *m = (void *)(h = rec_new(MT_MUNMAP, sizeof(*m), t, ag.pid, tid,
							    consumer));

		if (!h)
			break;
		m->addr = (uint64_t)c->a[0];
		m->len = (uint64_t)c->a[1];
		m->ret = c->ret;
		break;
	}
	case SYS_mremap: {
		struct mt_mremap *m = (void *)(h = rec_new(MT_MREMAP, sizeof(*m), t, ag.pid, tid,
							    consumer));

		if (!h)
			break;
		m->old_addr = (uint64_t)c->a[0];
		m->old_len = (uint64_t)c->a[1];
		m->new_len = (uint64_t)c->a[2];
		m->flags = (uint32_t)c->a[3];
		m->new_addr = (uint64_t)c->a[4];
		m->ret = c->ret;
		break;
	}
	case SYS_madvise: {
		struct mt_madvise *m = (void *)(h = rec_new(MT_MADVISE, sizeof(*m), t, ag.pid, tid,
							     consumer));

		if (!h)
			break;
		m->addr = (uint64_t)c->a[0];
		m->len = (uint64_t)c->a[1];
		m->advice = (int32_t)c->a[2];
		m->ret = c->ret;
		m->target_pid = ag.pid;
		break;
	}
	case SYS_brk: {
		struct mt_brk *m = (void *)(h = rec_new(MT_BRK, sizeof(*m), t, ag.pid, tid, consumer));

		if (!h)
			break;
		m->addr = (uint64_t)c->a[0];
		m->ret = c->ret;
		break;
	}
	case SYS_mprotect: {
		struct mt_mprotect *m = (void *)(h = rec_new(MT_MPROTECT, sizeof(*m), t, ag.pid, tid,
							      consumer));

		if (!h)
			break;
		m->addr = (uint64_t)c->a[0];
		m->len = (uint64_t)c->a[1];
		m->prot = (uint32_t)c->a[2];
		m->ret = c->ret;
		break;
	}
	case SYS_process_madvise:
		record_process_madvise(c, tid, t, stack, consumer);
		h = NULL;
		break;
	default:
		return;
	}
	if (h) {
		h->stack_id = stack;
		rec_done(h, consumer);
	}

	/* what may explain the next change of RSS the agent thread sees */
	if (is_release(c) || c->nr == SYS_brk) {
		__atomic_store_n(&ag.release_ns, t, __ATOMIC_RELAXED);
		__atomic_add_fetch(&ag.release_seq, 1, __ATOMIC_RELEASE);
		/* have the agent thread read RSS soon, at most once per gap */
		if (!consumer && t - __atomic_load_n(&ag.wake_ns, __ATOMIC_RELAXED) >= ag.rss_gap_ns) {
			__atomic_store_n(&ag.wake_ns, t, __ATOMIC_RELAXED);
			wake_agent();
		}
	} else if (is_populate(c)) {
		__atomic_store_n(&ag.populate_ns, t, __ATOMIC_RELAXED);
		__atomic_add_fetch(&ag.populate_seq, 1, __ATOMIC_RELEASE);
	}
}

void mt_agent_record(const struct mt_call_args *c)
{
	if (!mt_recording())
		return;
	record(c, mt_tid(), now_ns(), false);
}

/* ---- RSS ---- */

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
		     uint64_t smaps_rss, uint64_t lazyfree, bool consumer)
{
	struct mt_rss *r = (void *)rec_new(MT_RSS, sizeof(*r), t, ag.pid, ag.pid, consumer);

	if (!r)
		return;
	r->h.flags = MT_F_SYNTH | flags;
	r->anon = c->anon;
	r->file = c->file;
	r->shmem = c->shmem;
	r->swap = c->swap;
	r->smaps_rss = smaps_rss;
	r->lazyfree = lazyfree;
	r->reason = reason;
	rec_done(&r->h, consumer);
}

static bool same_counters(const struct mt_counters *a, const struct mt_counters *b)
{
	return a->anon == b->anon && a->file == b->file && a->shmem == b->shmem &&
	       a->swap == b->swap;
}

/*
 * A new reading c: record it if it changed, with the reason the bpf backend
 * would give. A fall that follows a release (munmap, madvise, ...) is that
 * call's (MT_RSS_SYSCALL, stamped with the call's time so the timeline
 * pairs them); a fall with no call since is reclaim; growth is page faults
 * unless a populating call came since. any_time: not rate-limited (the
 * caller is about to record a sample or the end and wants no delta in it).
 */
static void rss_update(const struct mt_counters *c, uint64_t now, bool any_time, bool consumer)
{
	uint64_t rel = __atomic_load_n(&ag.release_seq, __ATOMIC_ACQUIRE);
	uint64_t pop = __atomic_load_n(&ag.populate_seq, __ATOMIC_ACQUIRE);
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
		t = __atomic_load_n(&ag.release_ns, __ATOMIC_RELAXED);
	} else if (inc && !dec && pop != at.seen_populate) {
		reason = MT_RSS_SYSCALL;
		t = __atomic_load_n(&ag.populate_ns, __ATOMIC_RELAXED);
	} else {
		if (!any_time && now - at.last_emit_ns < ag.rss_ns)
			return; /* the change stays pending until the next interval */
		reason = dec ? MT_RSS_RECLAIM : MT_RSS_FAULT;
	}
	emit_rss(c, reason, t, 0, 0, 0, consumer);
	at.last = *c;
	at.seen_release = rel;
	at.seen_populate = pop;
	at.last_emit_ns = now;
}

static void rss_check(uint64_t now, bool consumer)
{
	struct mt_counters c;

	if (read_counters(&c))
		rss_update(&c, now, false, consumer);
}

/* A periodic sample with smaps_rollup's Rss and LazyFree. */
static void rss_sample(uint64_t now, bool consumer)
{
	struct mt_counters c;
	uint64_t rss = 0, lazy = 0;
	uint16_t flags = 0;

	if (!read_counters(&c))
		return;
	if (pread_text(ag.smaps_fd, at.buf, sizeof(at.buf)) &&
	    mt_parse_smaps_rollup(at.buf, &rss, &lazy))
		flags = MT_F_SMAPS;
	rss_update(&c, now, true, consumer);
	emit_rss(&c, MT_RSS_SAMPLE, now, flags, rss, lazy, consumer);
	at.last = c;
	at.last_emit_ns = now;
}

/* The baseline of a newly traced address space. */
static void rss_start(uint64_t now, bool consumer)
{
	struct mt_counters c;

	if (!read_counters(&c))
		return;
	emit_rss(&c, MT_RSS_START, now, 0, 0, 0, consumer);
	at.last = c;
	at.seen_release = __atomic_load_n(&ag.release_seq, __ATOMIC_ACQUIRE);
	at.seen_populate = __atomic_load_n(&ag.populate_seq, __ATOMIC_ACQUIRE);
	at.last_emit_ns = now;
	at.next_rss_ns = now + ag.rss_ns;
	at.next_smaps_ns = ag.smaps_ns ? now + ag.smaps_ns : UINT64_MAX;
}

static void report_lost(bool consumer)
{
	uint64_t lost = __atomic_load_n(&ag.ring.lost, __ATOMIC_RELAXED);
	struct mt_lost *l;

	if (lost <= at.lost_reported)
		return;
	l = (void *)rec_new(MT_LOST, sizeof(*l), raw_now_ns(), ag.pid, ag.pid, consumer);
	if (!l)
		return;
	l->count = lost - at.lost_reported;
	l->cpu = ~0u;
	rec_done(&l->h, consumer);
	at.lost_reported = lost;
}

/* ---- catching: seccomp user notifications ---- */

static bool own_thread(uint32_t tid)
{
	/* a signal 0 to tid as a thread of this process: only true for our own threads */
	return mt_sys3(SYS_tgkill, ag.pid, tid, 0) == 0;
}

/* Answer one notification: perform the call here (same address space) and record it. */
static void serve_one(void)
{
	struct seccomp_notif n;
	struct seccomp_notif_resp resp;
	struct mt_call_args c;
	uint64_t t;

	memset(&n, 0, sizeof(n));
	if (mt_sys3(SYS_ioctl, ag.listen_fd, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0)
		return; /* ENOENT: the caller went away before we read it */
	memset(&resp, 0, sizeof(resp));
	resp.id = n.id;
	/*
	 * A process sharing our filter but not our address space (a child that
	 * has not yet set up its own agent, a vfork child) runs the call itself.
	 */
	if (ag.passive || !own_thread(n.pid)) {
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		mt_sys3(SYS_ioctl, ag.listen_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		ag.passed_on++;
		return;
	}
	memset(&c, 0, sizeof(c));
	c.nr = n.data.nr;
	for (int i = 0; i < 6; i++)
		c.a[i] = (long)n.data.args[i];
	c.caller = n.data.instruction_pointer;
	c.ret = mt_raw_syscall(c.nr, c.a[0], c.a[1], c.a[2], c.a[3], c.a[4], c.a[5]);
	t = raw_now_ns();
	if (mt_is_err(c.ret))
		resp.error = (int32_t)c.ret;
	else
		resp.val = c.ret;
	/* the caller waits for this answer: record afterwards */
	mt_sys3(SYS_ioctl, ag.listen_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	ag.caught++;
	if (__atomic_load_n(&ag.on, __ATOMIC_RELAXED) && !ag.exiting)
		record(&c, n.pid, t, true);
}

/* Serve every notification pending now. */
static void serve(void)
{
	struct pollfd p = { ag.listen_fd, POLLIN, 0 };

	while (mt_sys3(SYS_poll, &p, 1, 0) > 0 && (p.revents & POLLIN)) {
		serve_one();
		p.revents = 0;
	}
}

/* ---- the agent thread ---- */

static int agent_thread(void *arg)
{
	struct pollfd p[2];
	uint64_t now, next, ev;
	int np, timeout;

	(void)arg;
	for (;;) {
		now = raw_now_ns();
		next = at.next_rss_ns < at.next_smaps_ns ? at.next_rss_ns : at.next_smaps_ns;
		if (mt_ring_used(&ag.ring) && next > now + DRAIN_NS)
			next = now + DRAIN_NS;
		timeout = next > now ? (int)((next - now + MS - 1) / MS) : 0;
		if (!__atomic_load_n(&ag.on, __ATOMIC_RELAXED) && !ag.passive)
			timeout = -1; /* nothing to record: only notifications, if any */
		np = 0;
		p[np++] = (struct pollfd){ ag.evfd, POLLIN, 0 };
		if (ag.listen_fd >= 0)
			p[np++] = (struct pollfd){ ag.listen_fd, POLLIN, 0 };
		mt_sys3(SYS_poll, p, np, timeout);
		if (p[0].revents & POLLIN) {
			mt_sys3(SYS_read, ag.evfd, &ev, sizeof(ev));
			__atomic_store_n(&ag.wake_pending, 0, __ATOMIC_RELEASE);
		}
		if (np > 1 && (p[1].revents & POLLIN))
			serve();
		if (ag.passive)
			continue;
		lock_consumer();
		drain();
		if (__atomic_load_n(&ag.on, __ATOMIC_RELAXED) && !ag.exiting) {
			now = raw_now_ns();
			if (__atomic_load_n(&ag.release_seq, __ATOMIC_ACQUIRE) != at.seen_release ||
			    now >= at.next_rss_ns)
				rss_check(now, true);
			if (now >= at.next_rss_ns)
				at.next_rss_ns = now + ag.rss_ns;
			if (now >= at.next_smaps_ns) {
				rss_sample(now, true);
				at.next_smaps_ns = now + ag.smaps_ns;
			}
			report_lost(true);
			drain();
		}
		unlock_consumer();
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
	if (mt_is_err(base))
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
 * program linked at the same fixed address would have its calls there sent
 * to a listener that no longer exists (ENOSYS). Everything watched lies at
 * an address ASLR chose, which the next program's code is vanishingly
 * unlikely to occupy.
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
		close(fd);
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

/* A new listener for this (single-threaded) process: a forked child's own. */
static int new_listener(void)
{
	long fd = install_filter(SECCOMP_FILTER_FLAG_NEW_LISTENER |
				 SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);

	if (fd < 0)
		return (int)fd;
	mt_sys3(SYS_ioctl, fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	return high_fd((int)fd);
}

/*
 * Build and install the filter. Returns 0, or fills why (for the note and
 * the trace) and returns -1; the agent then records what its hooks see.
 */
static int catch_setup(char *why, size_t whylen)
{
	static struct mt_code_range ranges[MAX_RANGES];
	struct range_scan s = { .r = ranges };
	unsigned long flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC |
			      SECCOMP_FILTER_FLAG_TSYNC_ESRCH |
			      SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	Dl_info self;
	long fd;

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
	if (s.exe_fixed)
		info("agent.uncaught", "calls made by the program's own code (not position-"
				       "independent), unless through libc");
	if (s.too_many)
		info("agent.uncaught", "calls made by some libraries (too many to watch)");
	ag.filter_len = mt_filter_build(ag.filter, MT_FILTER_MAX, (uint64_t)mt_raw_syscall_ret,
					ranges, s.n, memory_nrs,
					(int)(sizeof(memory_nrs) / sizeof(memory_nrs[0])));
	if (ag.filter_len < 0) {
		snprintf(why, whylen, "the filter does not fit");
		return -1;
	}
	/* without CAP_SYS_ADMIN the kernel wants no_new_privs first */
	fd = install_filter(flags);
	if (fd == -EACCES) {
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		fd = install_filter(flags);
	}
	if (fd < 0) {
		snprintf(why, whylen, "seccomp user notification is not available (%s)",
			 fd == -EINVAL ? "kernel older than 5.19?" : strerror((int)-fd));
		return -1;
	}
	mt_sys3(SYS_ioctl, fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	ag.listen_fd = high_fd((int)fd);
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

static int passive_thread(void *arg)
{
	struct pollfd p;

	(void)arg;
	for (;;) {
		p = (struct pollfd){ ag.listen_fd, POLLIN, 0 };
		if (mt_sys3(SYS_poll, &p, 1, -1) > 0)
			serve();
	}
	return 0;
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
 * records are the parent's to write, the /proc descriptors are the
 * parent's files, and the filter's listener is the parent's. A child we
 * follow gets its own of each; one we do not follow stops recording, but
 * if the filter is in place it still needs a listener of its own, since
 * the parent's goes away with the parent.
 */
static void fork_child(void)
{
	uint32_t parent = ag.pid, parent_tid = ag.fork_tid ? ag.fork_tid : tls_tid;
	int inherited_listener = ag.listen_fd, err;
	void *mem;
	size_t len;

	tls_tid = 0;
	tls_internal++;
	ag.pid = (uint32_t)mt_sys0(SYS_getpid);
	ag.consumer = 0;
	ag.wake_pending = 0;
	ag.fork_tid = 0;
	ag.thr_mem = NULL;
	if (!ag.on) {
		if (ag.listen_fd >= 0)
			goto passive;
		tls_internal--;
		return;
	}
	if (!ag.follow) {
		write_fork_record(parent, parent_tid ? parent_tid : parent, ag.pid);
		__atomic_store_n(&ag.on, 0, __ATOMIC_RELAXED);
		close_fd(&ag.out_fd);
		close_fd(&ag.evfd);
		close_fd(&ag.status_fd);
		close_fd(&ag.smaps_fd);
		mt_sys2(SYS_munmap, ag.ring_mem, ag.ring_len);
		ag.ring_mem = NULL;
		strip_env();
		if (ag.listen_fd >= 0)
			goto passive;
		tls_internal--;
		return;
	}

	/* followed: a recorder of its own */
	ag.ring_mem = (void *)mt_raw_syscall(SYS_mmap, 0, (long)ag.ring_len,
					     PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
					     -1, 0);
	if (mt_is_err((long)ag.ring_mem)) {
		ag.ring_mem = NULL;
		__atomic_store_n(&ag.on, 0, __ATOMIC_RELAXED);
		tls_internal--;
		return;
	}
	mt_ring_init(&ag.ring, ag.ring_mem, ag.ring_len);
	close_fd(&ag.evfd);
	ag.evfd = high_fd((int)mt_sys2(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK));
	close_fd(&ag.status_fd);
	close_fd(&ag.smaps_fd);
	open_proc_fds();
	memset(ag.stack_ips, 0, sizeof(ag.stack_ips));
	ag.stack_prefix = ((ag.pid % 0xfffffu) + 1) << 12;
	memset(&at, 0, sizeof(at));
	if (ag.listen_fd >= 0) {
		ag.listen_fd = new_listener();
		close_fd(&inherited_listener);
	}
	{
		struct mt_task k;

		memset(&k, 0, sizeof(k));
		k.h.type = MT_TASK;
		k.h.size = sizeof(k);
		k.h.t_ns = raw_now_ns();
		k.h.pid = parent;
		k.h.tid = parent_tid ? parent_tid : parent;
		k.event = MT_TASK_FORK;
		k.other_pid = ag.pid;
		get_comm(k.comm);
		rec_put(&k.h, true);
	}
	rss_start(raw_now_ns(), true);
	err = start_bare_thread(agent_thread, THREAD_STACK, &mem, &len);
	if (err) {
		__atomic_store_n(&ag.on, 0, __ATOMIC_RELAXED);
		tls_internal--;
		return;
	}
	ag.thr_mem = mem;
	ag.thr_len = len;
	tls_internal--;
	return;

passive:
	/* the parent's listener may go before we do: ours must answer for us */
	ag.passive = true;
	ag.listen_fd = new_listener();
	close_fd(&inherited_listener);
	if (ag.listen_fd >= 0 && start_bare_thread(passive_thread, PASSIVE_STACK, &mem, &len))
		close_fd(&ag.listen_fd);
	tls_internal--;
}

void mt_on_fork_child(void)
{
	fork_child();
}

static void fork_prepare(void)
{
	if (!__atomic_load_n(&ag.on, __ATOMIC_RELAXED))
		return;
	ag.fork_tid = mt_tid();
	/* the parent's records up to the fork go out before the child's fork record */
	lock_consumer();
	drain();
	unlock_consumer();
}

static void fork_parent(void)
{
	ag.fork_tid = 0;
}

void mt_on_spawn(pid_t child)
{
	if (mt_recording() && child > 0)
		emit_task(MT_TASK_FORK, ag.pid, mt_tid(), (uint32_t)child, 0, now_ns(), false);
}

void mt_on_thread_start(uint32_t creator_tid)
{
	if (!mt_recording())
		return;
	/* the record the bpf backend makes in the creator's context, made from the new thread */
	emit_task(MT_TASK_CLONE, ag.pid, creator_tid, mt_tid(), 0, now_ns(), false);
	if (ag.have_key)
		pthread_setspecific(ag.key, (void *)1);
}

static void thread_exit(void *v)
{
	(void)v;
	if (mt_recording() && !ag.exiting)
		emit_task(MT_TASK_THREAD_EXIT, ag.pid, mt_tid(), 0, 0, now_ns(), false);
}

void mt_on_exit(int status)
{
	uint64_t now;
	struct mt_counters c;

	if (!mt_recording() || __atomic_exchange_n(&ag.exiting, true, __ATOMIC_ACQ_REL))
		return;
	lock_consumer();
	now = now_ns();
	emit_task(MT_TASK_EXIT, ag.pid, mt_tid(), 0, (status & 0xff) << 8, now, true);
	/* RSS as the program leaves it, before the teardown frees it all */
	if (read_counters(&c)) {
		rss_update(&c, now, true, true);
		emit_rss(&c, MT_RSS_END, now, 0, 0, 0, true);
	}
	report_lost(true);
	drain();
	__atomic_store_n(&ag.on, 0, __ATOMIC_RELAXED);
	unlock_consumer();
}

static void on_exit_handler(int status, void *arg)
{
	(void)arg;
	mt_on_exit(status);
}

void mt_before_exec(int *undo)
{
	*undo = 0;
	if (!__atomic_load_n(&ag.on, __ATOMIC_RELAXED))
		return;
	lock_consumer();
	drain();
	unlock_consumer();
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

	if (!__atomic_load_n(&ag.on, __ATOMIC_RELAXED) || !envp)
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
		close(fd);
	if (n <= 0)
		n = 0;
	buf[n] = '\0';
	for (ssize_t i = 0; i + 1 < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	return buf;
}

/* By hand: create the trace file and write its header (tracefile.c's writer). */
static int create_trace(const char *path, const char *agent_path)
{
	struct mt_file_info info = { 0 };
	struct timespec rt, mono;
	struct utsname u;
	struct mt_writer *w;
	char cmd[4096], target[4096];
	int fd, dup_fd, err;

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
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	w = dup_fd >= 0 ? mt_writer__new(dup_fd, &info) : NULL;
	err = w ? mt_writer__flush(w) : -errno;
	if (w) {
		int ferr = mt_writer__free(w);

		err = err ? err : ferr;
	} else if (dup_fd >= 0) {
		close(dup_fd);
	}
	if (err) {
		snprintf(cmd, sizeof(cmd), "cannot write %s: %s; not recording", path,
			 strerror(-err));
		note(MT_NOTE_WARN, cmd);
		close(fd);
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
		rec_put(&m.h, false);
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
			close((int)fd);
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

	tls_internal++;
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

	ag.ring_mem = mmap(NULL, ag.ring_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			   -1, 0);
	if (ag.ring_mem == MAP_FAILED) {
		ag.ring_mem = NULL;
		note(MT_NOTE_WARN, "cannot allocate the record buffer: not recording");
		goto out;
	}
	mt_ring_init(&ag.ring, ag.ring_mem, ag.ring_len);
	ag.evfd = high_fd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
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
	__atomic_store_n(&ag.on, 1, __ATOMIC_RELAXED);
	now = now_ns();
	emit_task(MT_TASK_EXEC, ag.pid, ag.pid, ag.pid, 0, now, false);
	if (ag.by_hand)
		emit_exe_info();
	emit_maps();
	lock_consumer();
	rss_start(now_ns(), false);
	unlock_consumer();

	/*
	 * The agent thread first: once the filter is in place, a libc call that
	 * maps memory waits for it. (It is cloned from our own instruction on a
	 * stack mapped the same way: neither is a call the filter sends us.)
	 */
	err = start_bare_thread(agent_thread, THREAD_STACK, &mem, &len);
	if (err) {
		snprintf(msg, sizeof(msg), "cannot start the agent thread: %s; not recording",
			 strerror(-err));
		__atomic_store_n(&ag.on, 0, __ATOMIC_RELAXED);
		note(MT_NOTE_WARN, msg);
		goto out;
	}
	ag.thr_mem = mem;
	ag.thr_len = len;
	if (env_flag(MT_ENV_CATCH, true)) {
		catching = catch_setup(why, sizeof(why)) == 0;
		/* the thread polls the listener from its next round on */
		wake_agent();
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
out:
	tls_internal--;
}
