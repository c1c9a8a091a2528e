/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A Go program's own memory numbers, read from its metrics endpoint: the
 * Prometheus text page (/metrics, client_golang) or expvar's JSON
 * (/debug/vars). Knows nothing of madvtrace's records or model: it parses,
 * fetches, finds a pid's endpoint and samples it on a thread of its own.
 *
 * Errors are negative errno values plus a one-line reason (no newline).
 */
#ifndef MT_GOMETRICS_H
#define MT_GOMETRICS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The eight numbers, named as runtime.MemStats names them. */
enum mt_gm_field {
	MT_GM_HEAP_RELEASED,
	MT_GM_HEAP_IDLE,
	MT_GM_HEAP_INUSE,
	MT_GM_HEAP_SYS,
	MT_GM_SYS,
	MT_GM_STACK_INUSE,
	MT_GM_NEXT_GC,
	MT_GM_NUM_GC,
	MT_GM__NR,
};

enum mt_gm_format {
	MT_GM_FMT_NONE,
	MT_GM_FMT_PROMETHEUS,	/* text exposition format, client_golang */
	MT_GM_FMT_EXPVAR,	/* JSON with a "memstats" object */
};

struct mt_gm_sample {
	uint64_t v[MT_GM__NR];	/* by enum mt_gm_field; 0 when absent */
	uint32_t present;	/* bit (1u << field) for each value found */
	enum mt_gm_format format;
	uint64_t req_ns;	/* the sampler: how long the request took (0 from the parsers) */
};

#define MT_GM_REASON_LEN 256
#define MT_GM_MAX_BODY_DEFAULT (4u << 20)


/*
 * Parse a body, its format recognised from the body alone. body need not be
 * NUL-terminated and may hold NULs. Returns 0 with at least one field
 * present, or -EINVAL (not Go numbers: HTML, garbage, JSON without
 * memstats, a Prometheus page of a non-Go program, ...) or -E2BIG (JSON
 * nested too deep / too large) with the reason in reason[reason_len].
 *
 * Prometheus: the first occurrence of a series wins (labels ignored), a
 * value that is not a finite number in [0, 2^64) leaves the field absent,
 * the last line is ignored unless it ends in '\n' (it may have been cut),
 * lines over 4 KiB are skipped whole.
 */
int mt_gm_parse(const char *body, size_t len, struct mt_gm_sample *out,
		char *reason, size_t reason_len);
/* One format only (what mt_gm_parse dispatches to). */
int mt_gm_parse_prometheus(const char *body, size_t len, struct mt_gm_sample *out,
			   char *reason, size_t reason_len);
int mt_gm_parse_expvar(const char *body, size_t len, struct mt_gm_sample *out,
		       char *reason, size_t reason_len);

struct mt_gm_fetch_opts {
	long connect_timeout_ms;	/* 0: 1000 */
	long timeout_ms;		/* whole request; 0: 2000 */
	size_t max_body;		/* 0: MT_GM_MAX_BODY_DEFAULT */
};

/*
 * GET url (http:// only; redirects followed only to the same scheme, host
 * and port, at most 3; no proxy; no signals) and parse a 200's body
 * (mt_gm_parse). Fetch errors: -EPROTONOSUPPORT (not http://), -EINVAL (bad
 * URL), -ECONNREFUSED, -ETIMEDOUT, -EFBIG (body over max_body: cut, not
 * parsed), -ENOENT (404), -EBADMSG (other HTTP status, a redirect
 * elsewhere), -ELOOP (too many redirects), -ECANCELED (the sampler
 * stopping), -EIO; then mt_gm_parse's.
 */
int mt_gm_scrape(const char *url, const struct mt_gm_fetch_opts *o, struct mt_gm_sample *out,
		 char *reason, size_t reason_len);

/*
 * Find pid's Go metrics endpoint: its listening TCP sockets (/proc/PID/fd
 * against /proc/PID/net/tcp{,6}), loopback or wildcard ones only, at most
 * 16, each asked GET /metrics then GET /debug/vars (connecting to
 * 127.0.0.1 or [::1]); the first /metrics that parses wins, else the first
 * /debug/vars. o: per-request timeouts (0: 250 ms connect, 1000 ms total).
 * On 0, url[url_len] holds it and *first (if not NULL) its first sample.
 * Errors: -EACCES/-EPERM (another user's process), -ESRCH, -EXDEV (pid in
 * another network namespace), -ENOENT (nothing found; the reason says what
 * was tried).
 */
int mt_gm_discover(pid_t pid, const struct mt_gm_fetch_opts *o, char *url, size_t url_len,
		   struct mt_gm_sample *first, char *reason, size_t reason_len);

/*
 * The sampler. Both callbacks run on the sampling thread, never on the
 * caller's: the caller's emit must be thread-safe (a lock, or its own
 * queue). sample's t_ns is CLOCK_MONOTONIC when the response's first byte
 * arrived (the server read its numbers just before). on_error is called
 * once per distinct errno (first occurrence), with the reason: the caller
 * prints one line per failure kind, not one per sample; all failures are
 * counted in the stats.
 */
typedef void (*mt_gm_sample_fn)(void *ctx, const struct mt_gm_sample *s, uint64_t t_ns);
typedef void (*mt_gm_error_fn)(void *ctx, int err, const char *reason);

struct mt_gm_opts {
	const char *url;	/* NULL: discover from pid */
	pid_t pid;		/* for discovery; 0 with url set */
	uint64_t interval_ns;	/* 0: 1 s; at least 10 ms */
	struct mt_gm_fetch_opts fetch;
	mt_gm_sample_fn on_sample;
	mt_gm_error_fn on_error; /* may be NULL */
	void *ctx;
};

struct mt_gm_stats {
	uint64_t samples;	/* parsed samples handed to on_sample */
	uint64_t failures;	/* failed scrapes */
	uint64_t thread_cpu_ns;	/* the sampling thread's CPU time so far */
};

struct mt_gometrics;

/* Check the options, discover (blocking, bounded) when url is NULL. */
int mt_gometrics__new(const struct mt_gm_opts *o, struct mt_gometrics **out,
		      char *reason, size_t reason_len);
/* Start the thread: the first scrape is immediate. 0 or -errno. */
int mt_gometrics__start(struct mt_gometrics *g);
/*
 * Stop and join; returns within the request timeout (an ongoing request is
 * aborted). Not from a callback (-EDEADLK). 0 when not started.
 */
int mt_gometrics__stop(struct mt_gometrics *g);
void mt_gometrics__stats(struct mt_gometrics *g, struct mt_gm_stats *st);
/* Stops first if needed. NULL is fine. */
void mt_gometrics__free(struct mt_gometrics *g);

/* The library's own: a one-line reason into reason[len] (nothing when reason is NULL). */
void mt_gm__reason(char *reason, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
