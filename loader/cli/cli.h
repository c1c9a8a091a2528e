/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The command's insides, shared by main.c (options and the session) and
 * sink.c (where each record goes: the trace file, the live timeline, the
 * live view, and the recorder's own threads: Go metrics, residency, prompt
 * LazyFree samples).
 */
#ifndef MT_CLI_H
#define MT_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include "backend.h"
#include "gorec.h"
#include "handoff.h"
#include "live.h"
#include "recworker.h"
#include "timeline.h"
#include "tracefile.h"

enum { EXIT_USAGE = 2 };

struct options {
	struct mt_session s;
	const struct mt_backend *be;
	const char *output;
	int output_mode; /* --mode; -1: MT_OUTPUT_MODE */
	const char *backend;
	bool live;
	bool json;
	bool quiet;
	bool gauges;
	const char *user;
	bool go_off; /* --go-metrics off */
	const char *go_url; /* --go-metrics URL; NULL: discover when the target is Go */
	bool go_target; /* the program named (or attached to) is a Go program */
};

/*
 * Go metrics follow the main target's program: started when it is (or
 * exec's) a Go program, retired when it exec's another. A retired sampler
 * is only told to stop: joining it could wait on a request, and the drain
 * thread waits on no endpoint; it is joined at the end.
 */
struct gostate {
	struct mt_gorec *cur;
	struct mt_gorec **retired;
	size_t nretired;
	bool pending; /* the target's exe= came: decided at its next record that is not info */
	bool pending_go; /* ... and a go_version= with it */
	bool launched_seen; /* the first program has been decided */
};

struct sink {
	struct options *o;
	struct mt_writer *w;
	int out_fd;
	struct mt_timeline *tl; /* the table and the verdict at the end, and --gauges */
	struct mt_live_gauges gauges;
	bool print;
	bool stdout_broken;
	bool write_failed;
	char *cmdline;
	char *target;
	int64_t clock_offset_ns;
	/* what the recorder's threads make (Go metrics, residency, prompt smaps samples) */
	struct mt_handoff q;
	struct mt_recworker *rw;
	struct gostate go;
	uint64_t resident_copy_ns_max; /* copying ranges out of the model, on this thread */
	/* release stacks whose ip the worker was last told of, per pid slot (no lock per release) */
	struct {
		uint32_t pid;
		uint64_t ip, t_ns;
	} us_seen[16];
};

/* Ctrl-C, SIGTERM, or a reader gone: the backend ends the session cleanly. */
extern volatile sig_atomic_t mt_stop_requests;

/* struct mt_session's hooks: the sink is s->emit_ctx. */
int mt_sink__start(struct mt_session *s);
int mt_sink__emit(void *ctx, const struct mt_hdr *rec);
void mt_sink__tick(struct mt_session *s, uint64_t now_ns);
void mt_sink__exiting(struct mt_session *s, pid_t pid);
/* Stop and join the recorder's threads (the session is over). Idempotent. */
void mt_sink__stop_workers(struct sink *k);

#endif
