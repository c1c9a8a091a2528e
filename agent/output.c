// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The agent's records on their way out: the per-thread buffers and the
 * shared ring, written to madvtrace's socket or the trace file (see the
 * comment below), the notes, facts and task records the other parts make.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include "agent_proto.h"
#include "core.h"
#include "text.h"

/* longest a record waits in a buffer, once the program makes calls again */
#define DRAIN_NS (MT_AGENT_DRAIN_MS * MS)
/* one write or one message (a SOCK_SEQPACKET socket takes it whole) */
#define SEND_MAX (60 * 1024)
/* a hook finding the ring full waits this long for room, then drops the record */
#define FULL_WAIT_NS (20 * MS)

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

static void output_failed(int err);

void mt_out__write(const unsigned char *buf, size_t len)
{
	long r;

	while (len && !mt_ag.out_err) {
		if (mt_ag.out_kind == OUT_SOCKET)
			r = mt_raw_syscall(SYS_sendto, mt_ag.out_fd, (long)buf, (long)len,
					   MSG_NOSIGNAL, 0, 0);
		else
			r = mt_sys3(SYS_write, mt_ag.out_fd, buf, len);
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

/*
 * The thread that just took a buffer gets the agent's thread-specific value,
 * so that thread_exit runs when it ends, whoever started it (a thread older
 * than the agent, one its wrapper had no room for). For a key among the
 * first 32 glibc stores it in the thread's own array: no allocation.
 */
static void tb_mine(void)
{
	/*
	 * For a key past the first 32, glibc callocs the thread's second-level
	 * array at its first value, and tb_get may run in the SIGSYS handler,
	 * on a thread interrupted inside malloc: such a thread (one the agent's
	 * pthread_create did not start, which sets the value before the
	 * thread's function runs) goes without its exit record.
	 */
	if (mt_ag.have_key && mt_ag.key < 32 && !pthread_getspecific(mt_ag.key))
		pthread_setspecific(mt_ag.key, (void *)1);
}

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
		mt_out__write(b->data, b->used);
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
	return wait ? mt_wait_for(tb_try_steal, b) : tb_try_steal(b);
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

static void drain(void);

/* Write the ring out now, unless someone else is at it. */
static void drain_if_free(void)
{
	if (mt_lock__try(&mt_ag.consumer)) {
		drain();
		mt_lock__drop(&mt_ag.consumer);
	}
}

/* Put rec (rec->size bytes, a multiple of 4) into the ring. */
static void ring_put(const struct mt_hdr *rec)
{
	uint64_t waited = 0;
	void *p = mt_ring_reserve(&mt_ag.ring, rec->size);

	/* a full ring: write it out, or wait a little for whoever is writing it */
	while (!p && waited < FULL_WAIT_NS && !mt_ag.out_err) {
		drain_if_free();
		p = mt_ring_reserve(&mt_ag.ring, rec->size);
		if (p)
			break;
		mt_raw_sleep_ns(200 * 1000);
		waited += 200 * 1000;
		p = mt_ring_reserve(&mt_ag.ring, rec->size);
	}
	if (!p) {
		__atomic_add_fetch(&mt_ag.ring.lost, 1, __ATOMIC_RELAXED);
		return;
	}
	memcpy(p, rec, rec->size);
	mt_ring_commit(p);
}

/*
 * Record rec. agent: from the agent thread (no thread-local storage: the
 * ring). Variable-size records come with room to round size up to 4.
 */
void mt_out__put(struct mt_hdr *rec, bool agent)
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
		if (idle == TB_OWNER || tls_writing || !mt_wait_for(tb_try_own, b))
			b = NULL;
	}
	if (!b) {
		ring_put(rec);
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

void mt_out__note(int level, const char *text)
{
	struct mt_agent_note n;
	char line[MT_NOTE_LEN + 32] = "madvtrace-agent: ";

	if (mt_ag.out_kind == OUT_SOCKET && !mt_ag.out_err && mt_ag.ring_mem) {
		mt_record_init(&n.h, MT_AGENT_NOTE, sizeof(n), mt_ag.pid, mt_ag.pid, mt_raw_now_ns());
		n.level = (uint32_t)level;
		mt_cat(n.text, sizeof(n.text), text);
		ring_put(&n.h);
		return;
	}
	if (level < MT_NOTE_WARN || mt_ag.quiet)
		return;
	mt_cat(line, sizeof(line), text);
	mt_cat(line, sizeof(line), "\n");
	mt_raw_write_all(2, line, strlen(line));
}

/* An MT_INFO "key=value" record: facts about this process for the report. */
void mt_out__info(const char *key, const char *value)
{
	union {
		struct mt_info in;
		char b[sizeof(struct mt_info) + 516];
	} u;
	char *text = u.b + sizeof(struct mt_info);

	mt_record_init(&u.in.h, MT_INFO, sizeof(u), mt_ag.pid, mt_ag.pid, mt_raw_now_ns());
	mt_cat(text, 500, key);
	mt_cat(text, 500, "=");
	mt_cat(text, 500, value);
	u.in.h.size = (uint16_t)(sizeof(struct mt_info) + strlen(text) + 1);
	mt_out__put(&u.in.h, false);
}

static void output_failed(int err)
{
	char msg[160] = "writing the trace: ";

	if (mt_ag.out_err)
		return;
	mt_ag.out_err = err;
	__atomic_store_n(&mt_agent_on, 0, __ATOMIC_RELAXED);
	/* madvtrace going away (Ctrl-C, --duration) ends the recording: nothing to say */
	if (mt_ag.out_kind == OUT_SOCKET && (err == EPIPE || err == ECONNRESET))
		return;
	mt_cat(msg, sizeof(msg), errno_text(err));
	mt_cat(msg, sizeof(msg), "; recording stopped");
	mt_ag.out_kind = OUT_NONE; /* the note goes to stderr */
	mt_out__note(MT_NOTE_WARN, msg);
}

/* Write out everything complete in the ring. The consumer lock is held. */
static void drain(void)
{
	uint64_t off;
	uint32_t n;

	while ((n = mt_ring_peek(&mt_ag.ring, &off, SEND_MAX))) {
		mt_out__write(mt_ag.ring.data + off, n);
		mt_ring_release(&mt_ag.ring, n);
	}
}

/* This thread's buffer, out now (records madvtrace should see at once: a start, a fork). */
void mt_out__flush_own(void)
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
void mt_out__flush_all(void)
{
	tb_flush(true, 0, false);
	if (mt_lock__wait(&mt_ag.consumer)) {
		drain();
		mt_lock__drop(&mt_ag.consumer);
	}
}

void mt_out__task(uint32_t event, uint32_t pid, uint32_t tid, uint32_t other, int32_t code,
		      uint64_t t)
{
	struct mt_task k;

	mt_record_init(&k.h, MT_TASK, sizeof(k), pid, tid, t);
	k.event = event;
	k.other_pid = other;
	k.code = code;
	mt_get_comm(k.comm);
	mt_out__put(&k.h, false);
}

void mt_out__flush_idle(uint64_t now, bool agent)
{
	tb_flush(false, now, agent);
	drain_if_free();
}

void mt_out__fork_child(void)
{
	nfree = 0;
	free_lock = 0;
	tls_in_free = 0;
	tls_exited = 0;
	for (unsigned int i = 0; i < ntbufs && i < MAX_TBUFS; i++) {
		if (!tbufs[i])
			continue;
		tbufs[i]->state = TB_IDLE;
		tbufs[i]->used = 0;
		tbufs[i]->owner = tbufs[i] == tls_buf ? mt_ag.pid : 0;
		if (tbufs[i] != tls_buf)
			free_tbufs[nfree++] = i;
	}
}

/*
 * Given back, records and all (each record names its thread): no write per
 * thread exit. What it holds goes out with the next thread's records, or by
 * age. Buffers are never unmapped: others may look.
 */
void mt_out__thread_exit(void)
{
	if (tls_buf)
		tb_put_back(tls_buf);
}
