// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `madvtrace --metrics ADDR:PORT`: per-process counters and gauges for
 * Prometheus. The eBPF program counts in the kernel (counting mode); this
 * loop takes in watched processes, reads /proc every interval and drops
 * exited processes after the grace period; libmicrohttpd's thread renders
 * each scrape. Order: check everything the user gave (one line and exit 2
 * on bad input), listen, load and attach, drop privileges, serve until
 * SIGINT or SIGTERM, then detach everything.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include "procfs.h"
#include "export.h"
#include "export_int.h"
#include "http.h"
#include "bpf_helpers.h"

enum { EXIT_USAGE = 2 };

#define DEFAULT_MAX_PROCS 1000
#define KEYS_PER_PROC 16 /* calls x advice a process typically uses, with room */

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static int die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("madvtrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: madvtrace --metrics ADDR:PORT [-p PID]... [--cgroup DIR]... [--comm NAME]...\n"
		"Serve per-process counters and memory gauges for Prometheus on GET /metrics\n"
		"(OpenMetrics), until SIGINT or SIGTERM. Calls are counted in the kernel.\n"
		"\n"
		"  --metrics ADDR:PORT      where to listen (a loopback address unless the next)\n"
		"  --metrics-any-address    allow a non-loopback ADDR\n"
		"  -p, --pid PID            trace this process (repeatable)\n"
		"  --cgroup DIR             every process of this cgroup (v1 or v2) and below,\n"
		"                           started later ones included (up to %d)\n"
		"  --comm NAME              every process with this command name (up to %d)\n"
		"  -f, --follow-forks       trace the children of traced processes too\n"
		"  --go-metrics off         never ask Go programs for their numbers (by default\n"
		"                           their /metrics or /debug/vars is found and scraped)\n"
		"  --records                the region model's gauges too (released lazily and\n"
		"                           eagerly, committed, reserved): every call recorded\n"
		"  --max-processes N        traced at once (default %d); the rest are refused\n"
		"  --grace SECONDS          keep an exited process's series this long (default 60)\n"
		"  --interval SECONDS       /proc gauges and discovery period (default 1)\n"
		"  -v, --verbose            libbpf's and libmicrohttpd's messages\n"
		"  -h, --help\n",
		MT_COUNT_MAX_CGROUPS, MT_COUNT_MAX_COMMS, DEFAULT_MAX_PROCS);
}

int mt_export__wanted(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--metrics") || !strncmp(argv[i], "--metrics=", 10))
			return 1;
	return 0;
}

static bool parse_num(const char *s, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0) || v > max)
		return false;
	*out = v;
	return true;
}

static int parse(int argc, char **argv, struct mt_export_opts *o)
{
	static const struct option longopts[] = {
		{ "metrics", required_argument, NULL, 'M' },
		{ "metrics-any-address", no_argument, NULL, 'A' },
		{ "pid", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, 'C' },
		{ "comm", required_argument, NULL, 'c' },
		{ "follow-forks", no_argument, NULL, 'f' },
		{ "records", no_argument, NULL, 'R' },
		{ "go-metrics", required_argument, NULL, 'G' },
		{ "max-processes", required_argument, NULL, 'm' },
		{ "grace", required_argument, NULL, 'g' },
		{ "interval", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char reason[PATH_MAX + 256];
	double v;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, ":p:fvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'M':
			o->listen = optarg;
			break;
		case 'A':
			o->any_address = true;
			break;
		case 'p': {
			pid_t *pids;

			if (!parse_num(optarg, INT_MAX, &v) || v < 1 || v != (pid_t)v)
				return die_usage("invalid PID '%s'", optarg);
			if (!mt_proc_alive((pid_t)v))
				return die_usage("no such process: %s", optarg);
			pids = realloc(o->pids, (o->npids + 1) * sizeof(*pids));
			if (!pids)
				return die_usage("out of memory");
			o->pids = pids;
			o->pids[o->npids++] = (pid_t)v;
			break;
		}
		case 'C':
			if (o->ncgroups == MT_COUNT_MAX_CGROUPS)
				return die_usage("at most %d --cgroup", MT_COUNT_MAX_CGROUPS);
			if (mt_cgroup__resolve(optarg, &o->cgroups[o->ncgroups], reason,
					       sizeof(reason)))
				return die_usage("%s", reason);
			o->ncgroups++;
			break;
		case 'c':
			if (o->ncomms == MT_COUNT_MAX_COMMS)
				return die_usage("at most %d --comm", MT_COUNT_MAX_COMMS);
			if (!*optarg || strlen(optarg) > 15)
				return die_usage("--comm '%s': a command name has 1 to 15 characters",
						 optarg);
			snprintf(o->comms[o->ncomms++], 16, "%s", optarg);
			break;
		case 'f':
			o->follow_forks = true;
			break;
		case 'R':
			o->records = true;
			break;
		case 'G':
			if (strcmp(optarg, "off"))
				return die_usage("--go-metrics '%s': with --metrics, only 'off' (the "
						 "endpoint of each Go program is found by itself)",
						 optarg);
			o->no_go_metrics = true;
			break;
		case 'm':
			if (!parse_num(optarg, 1 << 20, &v) || v < 1 || v != (uint32_t)v)
				return die_usage("--max-processes '%s': a whole number, 1 to %d",
						 optarg, 1 << 20);
			o->max_procs = (uint32_t)v;
			break;
		case 'g':
			if (!parse_num(optarg, 86400, &v))
				return die_usage("--grace '%s': seconds, 0 to 86400", optarg);
			o->grace_ns = (uint64_t)(v * 1e9);
			break;
		case 'i':
			if (!parse_num(optarg, 3600, &v) || v < 0.05)
				return die_usage("--interval '%s': seconds, 0.05 to 3600", optarg);
			o->interval_ns = (uint64_t)(v * 1e9);
			break;
		case 'v':
			o->verbose++;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			return die_usage("option %s needs an argument", argv[optind - 1]);
		default:
			return die_usage("unknown option '%s' (with --metrics; see --metrics --help)",
					 argv[optind - 1]);
		}
	}
	if (optind < argc)
		return die_usage("unexpected argument '%s' (--metrics traces running processes: "
				 "-p, --cgroup, --comm)",
				 argv[optind]);
	if (!o->listen)
		return die_usage("--metrics ADDR:PORT is required");
	if (!o->npids && !o->ncgroups && !o->ncomms)
		return die_usage("--metrics needs processes to watch: -p PID, --cgroup DIR or --comm NAME");
	return 0;
}

int mt_export__main(int argc, char **argv)
{
	struct mt_export_opts o = {
		.max_procs = DEFAULT_MAX_PROCS,
		.grace_ns = 60ull * 1000000000ull,
		.interval_ns = 1000000000ull,
	};
	struct mt_export x = { .o = &o };
	struct mt_count_cfg cfg = { 0 };
	struct MHD_Daemon *httpd = NULL;
	struct sigaction sa = { 0 };
	char reason[512];
	uint64_t next;
	uint32_t i;
	int fd = -1, rc, err;

	rc = parse(argc, argv, &o);
	if (rc)
		goto out;
	rc = 1;
	/* two /proc files kept open per process: as many descriptors as we may have */
	{
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	pthread_mutex_init(&x.lock, NULL);
	mt_pidmap__init(&x.procs);
	/* listen first: a port in use is bad input, said before anything loads */
	fd = mt_http__listen(o.listen, o.any_address, reason, sizeof(reason));
	if (fd < 0) {
		fprintf(stderr, "madvtrace: %s\n", reason);
		rc = fd == -EINVAL || fd == -EACCES ? EXIT_USAGE : 1;
		goto cleanup;
	}
	cfg.follow_forks = o.follow_forks;
	cfg.records = o.records;
	cfg.max_procs = o.max_procs;
	cfg.keys_per_proc = KEYS_PER_PROC;
	cfg.verbose = o.verbose;
	cfg.n_cgroups = o.ncgroups;
	for (i = 0; i < o.ncgroups; i++) {
		cfg.cg[i].ssid = o.cgroups[i].ssid;
		cfg.cg[i].level = o.cgroups[i].level;
		cfg.cg[i].id = o.cgroups[i].id;
	}
	cfg.n_comms = o.ncomms;
	memcpy(cfg.comms, o.comms, sizeof(cfg.comms));
	err = mt_count_bpf__start(&x.cb, &cfg);
	if (err)
		goto cleanup;
	/* after the counting instance: its program claims a process before this one records */
	if (o.records && mt_export_rec__start(&x.rec, &x, mt_count_bpf__traced_fd(x.cb)))
		goto cleanup;
	for (i = 0; i < o.npids; i++)
		if (mt_count_bpf__trace(x.cb, o.pids[i]) == -ENOSPC)
			fprintf(stderr, "madvtrace: --max-processes %u reached: pid %d not traced\n",
				o.max_procs, o.pids[i]);
	/* single-threaded still: every thread started after this has only what is left */
	err = mt_privs__drop(MT_PRIVS_PROC, reason, sizeof(reason));
	if (err) {
		fprintf(stderr, "madvtrace: cannot drop root's privileges (%s)\n", reason);
		goto cleanup;
	}
	/* the threads after the drop: capabilities are per thread, inherited at creation */
	if (x.rec && mt_export_rec__run(x.rec))
		goto cleanup;
	if (!o.no_go_metrics && mt_gowork__start(&x.gow, &x))
		goto cleanup;
	/* the processes already there, with their gauges, before the first scrape */
	mt_export__collect(&x, mt_now_ns());

	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	httpd = mt_http__start(&x, fd);
	if (!httpd) {
		fprintf(stderr, "madvtrace: cannot start the HTTP server on %s\n", o.listen);
		goto cleanup;
	}
	fd = -1; /* the server's now */
	if (o.verbose)
		fprintf(stderr, "madvtrace: serving metrics on http://%s/metrics\n", o.listen);
	next = mt_now_ns() + o.interval_ns;
	while (!stop) {
		struct timespec ts = { 0, 50 * 1000000 };
		uint64_t now;

		nanosleep(&ts, NULL);
		now = mt_now_ns();
		if (now < next)
			continue;
		mt_export__collect(&x, now);
		next = now + o.interval_ns;
	}
	rc = 0;
cleanup:
	/* the server first: no scrape may run while the program goes */
	mt_http__stop(httpd);
	if (fd >= 0)
		close(fd);
	mt_export_rec__stop(x.rec);
	mt_gowork__stop(x.gow);
	mt_count_bpf__destroy(x.cb);
	mt_export__free_procs(&x);
	pthread_mutex_destroy(&x.lock);
out:
	free(o.pids);
	return rc;
}
