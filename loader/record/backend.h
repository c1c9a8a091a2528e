/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every backend (bpf, ptrace, preload) is given and must do. A backend
 * turns one tracing session into a stream of records (include/madvtrace.h)
 * handed to emit(); it knows nothing of files, the live view or the timeline.
 */
#ifndef MT_BACKEND_H
#define MT_BACKEND_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "madvtrace/record.h"

/* Receives every record, in the order the backend produced it. Returns 0, or -errno to stop the session. */
typedef int (*mt_emit_fn)(void *ctx, const struct mt_hdr *rec);

/*
 * Which releases get their user stack (--stacks, --no-stacks, and the
 * default): decided for each program a process runs, at its exec, at the
 * launch and at the attach, never only for the command named.
 */
enum mt_stacks {
	MT_STACKS_NEVER = 0,
	MT_STACKS_ALWAYS = 1,
	MT_STACKS_GO = 2, /* the default: the processes running a Go program */
};

/* Does a process running this program (a Go program or not) get release stacks? */
static inline bool mt_stacks__for_image(enum mt_stacks mode, bool go)
{
	return mode == MT_STACKS_ALWAYS || (mode == MT_STACKS_GO && go);
}

struct mt_session {
	/* what to trace: exactly one of pid > 0 (attach) or argv != NULL (launch) */
	pid_t pid;
	char *const *argv;
	/* launch: run the command as this user (uid == (uid_t)-1: as ourselves) */
	uid_t uid;
	gid_t gid;
	bool follow_forks; /* -f */
	enum mt_stacks stacks; /* record the user stack of each release (MT_STACK records) */
	/* with stacks: bytes of user stack in each release's MT_USTACK record (--stack-size) */
	uint32_t stack_bytes;
	bool argv_go; /* launch: the command named is a Go program (its first program) */
	uint64_t rss_interval_ns; /* --rss-interval */
	uint64_t smaps_interval_ns; /* --smaps-interval, 0: never */
	uint64_t duration_ns; /* --duration, 0: until the target exits or we are stopped */
	uint32_t buffer_bytes; /* --buffer-size (ring buffer for bpf); 0: backend default */
	int verbose; /* -v count */

	/* set by the signal handlers; the backend polls it and ends the session cleanly */
	volatile sig_atomic_t *stop;

	mt_emit_fn emit;
	void *emit_ctx;

	/* filled in by the backend */
	pid_t target_pid; /* attach: pid; launch: the child's pid, once known */
	int exit_status; /* launch: wait status of the command, -1 if unknown */
	uint64_t lost; /* events the backend dropped (also reported as lost records) */
	/* how late a record may reach emit after its time (a drain period); set before on_start */
	uint64_t latency_ns;
	/* called once the target is known and tracing is live (e.g. to write the file header); may be NULL */
	int (*on_start)(struct mt_session *s);
	/* called every few tens of milliseconds while tracing, records or not; may be NULL */
	void (*on_tick)(struct mt_session *s, uint64_t now_ns);
	/*
	 * called while the process pid is held at its exit with its address
	 * space still there (ptrace's exit stop), before it goes on; may be NULL
	 */
	void (*on_exiting)(struct mt_session *s, pid_t pid);
};

struct mt_backend {
	enum mt_backend_id id; /* its name: mt_backend_name(id), util/xlat.h */
	/* Can this backend run here and now? On false, why (one line) in why. */
	bool (*available)(char *why, size_t whylen);
	/* Run the whole session; blocks. 0 on success, or -errno after printing one line on stderr. */
	int (*run)(struct mt_session *s);
};

extern const struct mt_backend mt_backend_bpf;
extern const struct mt_backend mt_backend_ptrace;
extern const struct mt_backend mt_backend_preload;

#endif
