/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent's core, private to its files (agent.h is what the hooks see):
 *
 *   agent.c      its state and the small helpers every part uses
 *   init.c       start-up: what this process is to the trace, the config
 *                from the environment, the trace file by hand
 *   output.c     records: the per-thread buffers, the ring, writing out
 *   calls.c      a call made through a hook or trapped, as a record
 *   rss.c        RSS readings and the periodic work, and the agent thread
 *   catch.c      catching: the seccomp trap filter's set-up
 *   lifecycle.c  process events: threads, fork, exec (and its environment), exit
 */
#ifndef MT_AGENT_CORE_H
#define MT_AGENT_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "agent.h"
#include "records.h"
#include "ring.h"

#define MS (1000 * 1000ull)
/* the agent's descriptors live up here, out of the way of the program's own numbering */
#define AGENT_FD_MIN 700

enum { OUT_NONE, OUT_SOCKET, OUT_FILE };

/* What the parts share. Written at start-up and in a fork's child, else as noted. */
struct mt_agent {
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
	int consumer; /* lock: who is writing the ring out (atomic) */
	uint32_t fork_tid; /* the thread that forked, for the child's fork record */
	/* the RSS change a call may explain (written by every thread) */
	/* times of the last release, the last populating call, the last reading */
	uint64_t release_ns, populate_ns, rss_read_ns;
	uint64_t next_work_ns; /* when the periodic work is next due (see rss.c) */
	uint64_t caught; /* calls the filter trapped and the handler made */
	pthread_key_t key;
	bool have_key;
};

extern struct mt_agent mt_ag MT_HIDDEN;
/* this thread's id, once asked (mt_tid) */
extern MT_TLS uint32_t mt_tls_tid MT_HIDDEN;

/* ---- agent.c: small helpers ---- */

/* CLOCK_MONOTONIC on the program's threads: the vDSO, no system call. */
uint64_t mt_now_ns(void) MT_HIDDEN;
/* The same clock from the agent thread, which stays out of libc. */
uint64_t mt_raw_now_ns(void) MT_HIDDEN;
void mt_raw_sleep_ns(uint64_t ns) MT_HIDDEN;
/* Spin on try() for one of the agent's locks; false if it never succeeded in time. */
bool mt_wait_for(bool (*try)(void *), void *arg) MT_HIDDEN;
/* The agent's spin locks (0: free, 1: held): held for a few instructions, or one write. */
static inline bool mt_lock__try(int *lock)
{
	int zero = 0;

	return __atomic_compare_exchange_n(lock, &zero, 1, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

static inline void mt_lock__drop(int *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

/* Take lock, waiting as long as mt_wait_for does; false if it stayed held. */
bool mt_lock__wait(int *lock) MT_HIDDEN;
/* Move fd up to AGENT_FD_MIN or above, close-on-exec; returns the new number (or fd). */
int mt_high_fd(int fd) MT_HIDDEN;
void mt_set_cloexec(int fd, bool on) MT_HIDDEN;
/* write(2) all of buf, from the agent's instruction: 0 or -errno. */
int mt_raw_write_all(int fd, const void *buf, size_t len) MT_HIDDEN;
/* The agent's own close: libc's close() is its hook (hooks.c), which it must not call. */
void mt_raw_close(int fd) MT_HIDDEN;
void mt_get_comm(char comm[MT_COMM_LEN]) MT_HIDDEN;

/* ---- output.c: records ---- */

/* Record rec. agent: from the agent thread (no thread-local storage: the ring). */
void mt_out__put(struct mt_hdr *rec, bool agent) MT_HIDDEN;
/* A message for madvtrace (or, by hand, for stderr). */
void mt_out__note(int level, const char *text) MT_HIDDEN;
/* An MT_INFO "key=value" record: facts about this process for the report. */
void mt_out__info(const char *key, const char *value) MT_HIDDEN;
void mt_out__task(uint32_t event, uint32_t pid, uint32_t tid, uint32_t other, int32_t code,
		  uint64_t t) MT_HIDDEN;
/* Write framed records straight to the output. */
void mt_out__write(const unsigned char *buf, size_t len) MT_HIDDEN;
/* This thread's buffer, out now (records madvtrace should see at once: a start, a fork). */
void mt_out__flush_own(void) MT_HIDDEN;
/* Everything recorded so far, out: every thread's buffer and the ring. */
void mt_out__flush_all(void) MT_HIDDEN;
/* The periodic write-out: buffers of threads gone quiet, and the ring. */
void mt_out__flush_idle(uint64_t now, bool agent) MT_HIDDEN;
/* In a followed fork's child: the parent's buffers came along, theirs to write. */
void mt_out__fork_child(void) MT_HIDDEN;
/* At a thread's exit: its buffer, records and all, for the next new thread. */
void mt_out__thread_exit(void) MT_HIDDEN;

/* ---- calls.c ---- */

/* The one-frame stacks recorded so far are forgotten; ids are pid's. */
void mt_calls__reset(uint32_t pid) MT_HIDDEN;

/* ---- rss.c: RSS and the periodic work ---- */

void mt_rss__open_fds(void) MT_HIDDEN;
/* After call sc on a program thread: what it may explain, and maybe a reading. */
void mt_rss__after_call(int sc, const __u64 a[6], uint64_t t) MT_HIDDEN;
/* The baseline of a newly traced address space (a program thread). */
void mt_rss__start(uint64_t now) MT_HIDDEN;
/* RSS as the program leaves it, and the lost count. */
void mt_rss__end(uint64_t now) MT_HIDDEN;
/* In a followed fork's child: nothing recorded yet. */
void mt_rss__fork_child(void) MT_HIDDEN;
/* Is the periodic work due, and is it ours to do (one taker per round)? */
bool mt_periodic__claim(uint64_t now) MT_HIDDEN;
void mt_periodic__run(uint64_t now, bool agent) MT_HIDDEN;
/* Wake the agent thread at at_ns (CLOCK_MONOTONIC), unless pushed further first. */
void mt_periodic__arm(uint64_t at_ns) MT_HIDDEN;
/* Start the agent thread. 0 or -errno. */
int mt_agent_thread__start(void) MT_HIDDEN;

/* ---- catch.c ---- */

/* Build and install the filter, SIGSYS handler first. 0, or -1 with why filled. */
int mt_catch__setup(char *why, size_t whylen) MT_HIDDEN;

/* ---- lifecycle.c ---- */

/* Keep KEY=value for the next program an exec starts. */
void mt_life__save_env(const char *key, const char *value) MT_HIDDEN;
/* The parts of the environment a child we do not follow must not pass on, removed. */
void mt_life__strip_env(void) MT_HIDDEN;
/* The fork, exit and thread-exit handlers; before the filter (they may allocate). */
void mt_life__install(void) MT_HIDDEN;

#endif
