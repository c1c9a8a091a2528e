/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Go's own numbers on the recording: the target's metrics endpoint
 * (gometrics.h) found or given, sampled at the smaps interval on threads of
 * its own, each sample an MT_GOSTAT record and the URL an MT_INFO record
 * "go_metrics=URL", all pushed to the handoff queue (handoff.h). A slow,
 * hung or wrong endpoint costs those threads only: one stderr line per kind
 * of failure, and the recording goes on.
 */
#ifndef MT_GOREC_H
#define MT_GOREC_H

#include <stdint.h>
#include <sys/types.h>
#include "gometrics.h"
#include "handoff.h"

struct mt_gorec_opts {
	const char *url; /* NULL: discover the endpoint of pid */
	pid_t pid; /* the target (the records' pid) */
	uint64_t interval_ns; /* between samples; 0: 1 s */
	/*
	 * Discovery is tried again every interval for this long (a launched
	 * program is not listening yet); a given URL that refuses connections
	 * is waited for as long before its failure is reported. 0: 30 s.
	 */
	uint64_t find_ns;
	struct mt_handoff *out;
};

struct mt_gorec;

/*
 * Is url one we can sample (http://HOST:PORT/PATH)? 0, or -errno with a
 * one-line reason (-EPROTONOSUPPORT: another scheme; -EINVAL: not a URL).
 */
int mt_gorec__check_url(const char *url, char *reason, size_t reason_len);
/* Start looking, then sampling, on a thread of its own. NULL on ENOMEM (said on stderr). */
struct mt_gorec *mt_gorec__start(const struct mt_gorec_opts *o);
/*
 * Stop and join: within a request's timeout when sampling, within the
 * discovery's bound (a few seconds at worst) when still looking.
 */
void mt_gorec__stop(struct mt_gorec *g);
/* Tell it to stop without waiting for it (its samples from now on are dropped); free joins. */
void mt_gorec__cancel(struct mt_gorec *g);
/* The sampler's figures (zero before it started). */
void mt_gorec__stats(struct mt_gorec *g, struct mt_gm_stats *st);
/* Stops first. NULL is fine. */
void mt_gorec__free(struct mt_gorec *g);

#endif
