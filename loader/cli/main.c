// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The madvtrace command: options, the session, and where its records go. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include "madvtrace/advice.h"
#include "backend.h"
#include "dump.h"
#include "export.h"
#include "fmt.h"
#include "records.h"
#include "xlat.h"
#include "godebug.h"
#include "goinfo.h"
#include "gorec.h"
#include "handoff.h"
#include "procfs.h"
#include "live.h"
#include "ranges.h"
#include "recworker.h"
#include "report.h"
#include "timeline.h"
#include "tracefile.h"
#include "useropen.h"
#include "cli.h"

#ifndef MT_VERSION
#define MT_VERSION "0.0.0"
#endif

volatile sig_atomic_t mt_stop_requests;

static void on_stop_signal(int sig)
{
	(void)sig;
	/* a second Ctrl-C: leave now; closing our fds detaches every program */
	if (mt_stop_requests++)
		_exit(130);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: madvtrace [OPTIONS] -p PID\n"
		"       madvtrace [OPTIONS] [-o FILE] -- COMMAND [ARGS...]\n"
		"       madvtrace dump FILE\n"
		"       madvtrace report [--format text|json|csv|perfetto|svg] FILE\n"
		"       madvtrace godebug [--pressure] [--expect free|dontneed] -- GO-COMMAND [ARGS...]\n"
		"\n"
		"Record what a process does with its address space (mmap, munmap, mremap,\n"
		"madvise, brk, mprotect) and its RSS, and explain why RSS lags behind\n"
		"what the program released.\n"
		"\n"
		"  -p, --pid PID           attach to a running process (all its threads)\n"
		"  -o, --output FILE       record to a trace file instead of printing calls\n"
		"      --mode OCTAL        permissions of a new trace file (default 0600)\n"
		"      --live              print calls even with -o\n"
		"  -f, --follow-forks      trace forked children too\n"
		"  -u, --user USER         run COMMAND as USER (under sudo: the invoking user)\n"
		"  -d, --duration SECONDS  stop after SECONDS\n"
		"      --rss-interval MS   at most one RSS record per MS outside traced calls (100)\n"
		"      --smaps-interval MS sample smaps_rollup (Rss, LazyFree) every MS (1000; 0: off)\n"
		"      --go-metrics URL|off  sample a Go target's own numbers (HeapReleased...) from\n"
		"                          URL (http://) every smaps interval; default: find its\n"
		"                          /metrics or /debug/vars; off: never\n"
		"      --backend NAME      bpf (the default when BPF programs can be loaded), ptrace\n"
		"                          (no privileges) or preload (no ptrace either)\n"
		"      --buffer-size MIB   BPF ring buffer size (16)\n"
		"      --json              print calls as JSON Lines (as `dump` does)\n"
		"      --gauges            one line of gauges (RSS, LazyFree, released...) per second\n"
		"                          instead of a line per call\n"
		"      --stacks            record the user stack of each release (who freed it);\n"
		"                          the default for Go programs (--no-stacks: never)\n"
		"      --stack-size BYTES  bytes of user stack copied at each release for the\n"
		"                          unwinder (8192; at most 32768)\n"
		"  -q, --quiet             no summary at the end\n"
		"  -v, --verbose           more messages; -vv adds libbpf's log\n"
		"  -h, --help              this help\n"
		"  -V, --version           the version\n"
		"\n"
		"  dump FILE               print a trace file's records as JSON Lines\n"
		"  report FILE             the timeline and why RSS lags (report --help)\n"
		"  godebug -- COMMAND      a Go program under each GODEBUG=madvdontneed (godebug --help)\n"
		"  --metrics ADDR:PORT ... an exporter for Prometheus: per-process counters and\n"
		"                          gauges on /metrics (madvtrace --metrics ADDR:PORT --help)\n"
		"\n"
		"See madvtrace(1).\n");
}

static int die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "madvtrace: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see madvtrace --help)\n");
	return EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max)
		return false;
	*out = v;
	return true;
}

static char *join_args(char *const *argv)
{
	size_t len = 1;
	char *buf, *p;
	int i;

	for (i = 0; argv[i]; i++)
		len += strlen(argv[i]) + 1;
	buf = calloc(1, len);
	if (!buf)
		return NULL;
	for (p = buf, i = 0; argv[i]; i++)
		p += sprintf(p, "%s%s", i ? " " : "", argv[i]);
	return buf;
}

/*
 * Create the trace file as the user who ran sudo (so they own it and so
 * their permissions, not root's, decide where it may be written): a new
 * file, or one of theirs no one else may write; never a symbolic link, a
 * FIFO or another user's file (useropen.c).
 */
static int create_output(const char *path, int mode)
{
	char why[PATH_MAX + 128];
	int fd = mt_open_output(path, mode >= 0 ? (mode_t)mode : MT_OUTPUT_MODE, mode >= 0, why,
				sizeof(why));

	if (fd < 0)
		fprintf(stderr, "madvtrace: cannot create the trace: %s\n", why);
	return fd;
}

/* In order of preference when none is named. */
static const struct mt_backend *backends[] = { &mt_backend_bpf, &mt_backend_ptrace,
						&mt_backend_preload };

static const struct mt_backend *pick_backend(const char *name)
{
	char why[256] = "", first_why[256] = "";
	size_t i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (name && strcmp(name, mt_backend_name(backends[i]->id)))
			continue;
		if (backends[i]->available(why, sizeof(why))) {
			/* say which one, as perf and bpftrace do when they fall back */
			if (!name && i > 0)
				fprintf(stderr, "madvtrace: using the %s backend (%s: %s)\n",
					mt_backend_name(backends[i]->id),
					mt_backend_name(backends[0]->id), first_why);
			return backends[i];
		}
		if (name) {
			fprintf(stderr, "madvtrace: the %s backend cannot run here: %s\n", name, why);
			return NULL;
		}
		if (i == 0)
			snprintf(first_why, sizeof(first_why), "%s", why);
	}
	if (name) {
		fprintf(stderr, "madvtrace: unknown backend '%s' (known:", name);
		for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
			fprintf(stderr, "%s %s", i ? "," : "", mt_backend_name(backends[i]->id));
		fprintf(stderr, ")\n");
	} else
		fprintf(stderr, "madvtrace: no backend can run here: %s\n", why);
	return NULL;
}

static int cmd_dump(int argc, char **argv)
{
	const struct mt_hdr *rec;
	struct mt_reader *r;
	char err[512];
	int n;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "madvtrace: usage: madvtrace dump FILE\n");
		return EXIT_USAGE;
	}
	r = mt_reader__open(argv[1], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "madvtrace: %s\n", err);
		return 1;
	}
	while ((n = mt_reader__next(r, &rec)) == 1) {
		mt_record_json(stdout, rec);
		putchar('\n');
	}
	if (n < 0)
		fprintf(stderr, "madvtrace: %s: %s\n", argv[1], mt_reader__error(r));
	else if (fflush(stdout) == EOF && errno != EPIPE) {
		fprintf(stderr, "madvtrace: writing the dump: %s\n", strerror(errno));
		n = -1;
	} else if (mt_reader__truncated(r)) {
		char note[256];

		fprintf(stderr, "madvtrace: warning: %s: %s\n", argv[1],
			mt_reader__end_note(r, note, sizeof(note)));
	}
	mt_reader__free(r);
	return n < 0 ? 1 : 0;
}

/* The file the target runs (or will run): /proc/PID/exe, or argv[0] looked up in PATH. */
static bool target_binary(const struct mt_session *s, char *path, size_t len)
{
	const char *p, *end, *name = s->argv ? s->argv[0] : NULL;

	if (!name) {
		snprintf(path, len, "/proc/%d/exe", s->pid);
		return true;
	}
	if (strchr(name, '/')) {
		snprintf(path, len, "%s", name);
		return true;
	}
	for (p = getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin"; *p; p = end + !!*end) {
		end = strchrnul(p, ':');
		snprintf(path, len, "%.*s/%s", (int)(end - p), p, name);
		if (!access(path, X_OK))
			return true;
	}
	return false;
}

static bool is_go_program(const struct mt_session *s)
{
	char path[4096], err[256];
	struct mt_goinfo *g;
	bool go;

	if (!target_binary(s, path, sizeof(path)))
		return false;
	g = mt_goinfo__open(path, err, sizeof(err));
	go = g && mt_goinfo__kind(g) != MT_GO_NONE;
	mt_goinfo__free(g);
	return go;
}

static int resolve_user(struct options *o)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	struct passwd *pw;

	o->s.uid = (uid_t)-1;
	o->s.gid = (gid_t)-1;
	if (o->user) {
		pw = getpwnam(o->user);
		if (!pw) {
			fprintf(stderr, "madvtrace: unknown user '%s'\n", o->user);
			return -1;
		}
		o->s.uid = pw->pw_uid;
		o->s.gid = pw->pw_gid;
	} else if (geteuid() == 0 && su && sg) {
		/* under sudo the command runs as the person who typed it, as they expect */
		o->s.uid = strtoul(su, NULL, 10);
		o->s.gid = strtoul(sg, NULL, 10);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pid", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "mode", required_argument, NULL, 0x100 },
		{ "live", no_argument, NULL, 'L' },
		{ "follow-forks", no_argument, NULL, 'f' },
		{ "user", required_argument, NULL, 'u' },
		{ "duration", required_argument, NULL, 'd' },
		{ "rss-interval", required_argument, NULL, 'R' },
		{ "smaps-interval", required_argument, NULL, 'S' },
		{ "backend", required_argument, NULL, 'B' },
		{ "buffer-size", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'J' },
		{ "gauges", no_argument, NULL, 'G' },
		{ "stacks", no_argument, NULL, 'K' },
		{ "no-stacks", no_argument, NULL, 'N' },
		{ "stack-size", required_argument, NULL, 'Z' },
		{ "go-metrics", required_argument, NULL, 'M' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct options o = { .output_mode = -1, .s.stack_bytes = MT_USTACK_DEFAULT };
	struct sink k = { .o = &o, .out_fd = -1, .gauges = { .out = stdout } };
	const struct mt_backend *be;
	struct sigaction sa = { 0 };
	uint64_t v;
	char reason[MT_GM_REASON_LEN];
	int c, err, rc = 1, stacks = -1;

	if (argc > 1 && !strcmp(argv[1], "dump"))
		return cmd_dump(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "report"))
		return mt_report_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "godebug"))
		return mt_godebug_main(argc - 1, argv + 1);
	if (mt_export__wanted(argc, argv))
		return mt_export__main(argc, argv);

	o.s.rss_interval_ns = 100 * 1000000ull;
	o.s.smaps_interval_ns = 1000 * 1000000ull;
	opterr = 0; /* our own one-line messages instead of getopt's */
	/* '+': options end at the command, so its own options stay its own */
	while ((c = getopt_long(argc, argv, "+:p:o:fu:d:qvhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_u64(optarg, INT_MAX, &v) || v == 0)
				return die_usage("invalid PID '%s'", optarg);
			o.s.pid = v;
			break;
		case 'o':
			o.output = optarg;
			break;
		case 0x100: {
			char *end;
			unsigned long m = strtoul(optarg, &end, 8);

			if (!*optarg || *end || m > 0777)
				return die_usage("invalid --mode '%s' (octal permission bits, e.g. 0640)",
						 optarg);
			o.output_mode = (int)m;
			break;
		}
		case 'L':
			o.live = true;
			break;
		case 'f':
			o.s.follow_forks = true;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'd':
			/* "+5" was accepted before util's parser was: keep it so */
			if (mt_parse_duration(optarg + (*optarg == '+'), &o.s.duration_ns))
				return die_usage("invalid duration '%s' (seconds)", optarg);
			break;
		case 'R':
			if (!parse_u64(optarg, 3600000, &v) || v == 0)
				return die_usage("invalid --rss-interval '%s' (milliseconds, >= 1)",
						 optarg);
			o.s.rss_interval_ns = v * 1000000ull;
			break;
		case 'S':
			if (!parse_u64(optarg, 3600000, &v))
				return die_usage("invalid --smaps-interval '%s' (milliseconds)",
						 optarg);
			o.s.smaps_interval_ns = v * 1000000ull;
			break;
		case 'B':
			o.backend = optarg;
			break;
		case 'b':
			if (!parse_u64(optarg, 1024, &v) || v == 0 || (v & (v - 1)))
				return die_usage("invalid --buffer-size '%s' (MiB, a power of two)",
						 optarg);
			o.s.buffer_bytes = v << 20;
			break;
		case 'J':
			o.json = true;
			break;
		case 'G':
			o.gauges = true;
			break;
		case 'K':
			stacks = 1;
			break;
		case 'N':
			stacks = 0;
			break;
		case 'Z':
			if (!parse_u64(optarg, MT_USTACK_MAX, &v) || v < 64)
				return die_usage("invalid --stack-size '%s' (bytes, 64 to 32768)",
						 optarg);
			o.s.stack_bytes = (uint32_t)v;
			break;
		case 'M':
			if (!strcmp(optarg, "off")) {
				o.go_off = true;
				o.go_url = NULL;
				break;
			}
			o.go_off = false;
			if (mt_gorec__check_url(optarg, reason, sizeof(reason))) {
				fprintf(stderr, "madvtrace: invalid --go-metrics: %s (see madvtrace --help)\n",
					reason);
				return EXIT_USAGE;
			}
			o.go_url = optarg;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'v':
			o.s.verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("madvtrace %s\n", MT_VERSION);
			return 0;
		case ':':
			return die_usage("option '%s' needs an argument", argv[optind - 1]);
		default:
			return die_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		o.s.argv = argv + optind;
	if (!o.s.pid && !o.s.argv)
		return die_usage("%s", "nothing to trace: give -p PID or -- COMMAND");
	if (o.s.pid && o.s.argv)
		return die_usage("%s", "give either -p PID or a command, not both");
	if (o.user && !o.s.argv)
		return die_usage("%s", "-u applies to a launched command only");
	if (resolve_user(&o))
		return 1;

	/*
	 * A stack walk per release costs more than the rest of the record, so
	 * by default only Go programs get one: their runtime releases in few,
	 * large calls, and who released (scavenger, FreeOSMemory) is the question.
	 */
	o.go_target = is_go_program(&o.s);
	o.s.argv_go = o.s.argv && o.go_target;
	/* decided again for each program a traced process runs (backend.h) */
	o.s.stacks = stacks == 1 ? MT_STACKS_ALWAYS : stacks == 0 ? MT_STACKS_NEVER : MT_STACKS_GO;
	/*
	 * Go-ness is decided on the file that runs: /proc/PID/exe, or the
	 * command as PATH finds it. A wrapper (env, a shell script) that execs a
	 * Go program is refused too: name the Go program itself (madvtrace's
	 * environment is the command's). After an exec to a program that is not
	 * Go, sampling stops with one line; the recording goes on.
	 */
	if (o.go_url && !o.go_target) {
		if (o.s.pid)
			fprintf(stderr, "madvtrace: --go-metrics: pid %d is not a Go program "
					"(/proc/%d/exe has no Go build information)\n",
				o.s.pid, o.s.pid);
		else
			fprintf(stderr, "madvtrace: --go-metrics: %s is not a Go program (no Go "
					"build information; name the Go program itself, not a "
					"wrapper)\n",
				o.s.argv[0]);
		return EXIT_USAGE;
	}

	be = pick_backend(o.backend);
	if (!be)
		return 1;
	o.be = be;

	mt_handoff__init(&k.q);
	k.cmdline = join_args(argv);
	k.target = o.s.argv ? join_args(o.s.argv) : NULL;
	if (!k.cmdline) {
		fprintf(stderr, "madvtrace: out of memory\n");
		goto cleanup;
	}
	if (o.output) {
		k.out_fd = create_output(o.output, o.output_mode);
		if (k.out_fd < 0)
			goto cleanup;
	}
	/* --gauges replaces the per-call lines, unless --live asks for both */
	k.print = (!o.output && !o.gauges) || o.live;
	if (k.print)
		setvbuf(stdout, NULL, isatty(1) ? _IOLBF : _IOFBF, 1 << 16);

	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	o.s.stop = &mt_stop_requests;
	o.s.emit = mt_sink__emit;
	o.s.emit_ctx = &k;
	o.s.on_start = mt_sink__start;
	o.s.on_tick = mt_sink__tick;
	o.s.on_exiting = mt_sink__exiting;
	err = be->run(&o.s);
	mt_sink__stop_workers(&k);
	if (k.print)
		fflush(stdout);
	if (k.w) {
		int werr = mt_writer__free(k.w);

		k.w = NULL;
		if (werr && !k.write_failed) {
			fprintf(stderr, "madvtrace: writing %s: %s\n", o.output, strerror(-werr));
			err = werr;
		}
	}
	/* a session that failed said why in one line: no table after it */
	if (!o.quiet && !err) {
		if (k.tl)
			mt_live__print_summary(k.tl, stderr);
		/* the explanation, as `madvtrace report` would give it */
		if (k.tl && !mt_timeline__finish(k.tl)) {
			fputc('\n', stderr);
			mt_timeline__print_verdict(k.tl, stderr);
		}
	}
	if (err)
		goto cleanup;
	rc = 0;
	if (o.s.argv && o.s.exit_status != -1) {
		if (WIFEXITED(o.s.exit_status))
			rc = WEXITSTATUS(o.s.exit_status);
		else if (WIFSIGNALED(o.s.exit_status))
			rc = 128 + WTERMSIG(o.s.exit_status);
	}
cleanup:
	mt_sink__stop_workers(&k);
	mt_handoff__fini(&k.q);
	if (k.w)
		mt_writer__free(k.w);
	if (k.out_fd >= 0)
		close(k.out_fd);
	mt_timeline__free(k.tl);
	free(k.cmdline);
	free(k.target);
	return rc;
}
