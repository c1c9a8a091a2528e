// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `madvtrace godebug [--pressure] [--expect free|dontneed] -- CMD [ARGS]`
 *
 * Runs a Go program once per GODEBUG=madvdontneed setting (unset, 0, 1, the
 * user's other GODEBUG keys kept), each under `madvtrace -o` (this very
 * binary, so backend choice, sudo handling and the trace are the ordinary
 * ones), then reads each trace back and prints one row per setting: the
 * advice the runtime used, what RSS did at the release, and whether that is
 * what this Go version should do. The exit status gates a CI pipeline.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "fmt.h"
#include "records.h"
#include "xlat.h"
#include "godebug.h"
#include "goinfo.h"
#include "madvtrace/advice.h"
#include "procfs.h"
#include "timeline.h"
#include "tracefile.h"
#include "useropen.h"

#define MIB (1024.0 * 1024.0)
#define POLL_NS 100000000ull /* how often --pressure looks at LazyFree */
#define HOLD_NS 2000000000ull /* how long the lowered limit stays */
#define SAMPLE_NS 1000000ull /* RSS around the release, to the millisecond */

enum { EXPECT_NONE = -1 };

struct cgroup {
	char dir[256];
	bool v2;
	bool made;
};

/* What one run did, read back from its trace. */
struct run {
	char setting[200]; /* the GODEBUG value used, "" for unset */
	char label[64]; /* how the row names it */
	char go_version[64];
	char trace[64];
	char log[64];
	int status; /* madvtrace's exit status */
	bool traced; /* a readable trace came out */
	uint64_t calls[2], bytes[2]; /* [0] MADV_FREE, [1] MADV_DONTNEED */
	uint64_t first_rel_ns, last_rel_ns;
	uint64_t rss_before, rss_after;
	bool have_before, have_after;
	int64_t half_ns; /* time for RSS to fall by half of the release; -1: did not */
	uint64_t peak_lazy;
	/* --pressure */
	uint64_t lowered_ns; /* when the limit was lowered (0: never) */
	uint64_t rss_at_lower, rss_min_after_lower;
	uint64_t reclaim_ns; /* first rss fall after lowering, relative to it */
	bool reclaim_seen;
	int expected; /* MADV_FREE or MADV_DONTNEED, or -1 */
	char why[400];
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: madvtrace godebug [--pressure] [--expect free|dontneed] -- COMMAND [ARGS...]\n"
		"\n"
		"Run a Go program under GODEBUG madvdontneed unset, =0 and =1 (other GODEBUG\n"
		"keys kept), trace each run, and say which advice its runtime used to release\n"
		"memory and what RSS did. Exit 0 when every run behaves as its Go version\n"
		"should, 1 otherwise.\n"
		"\n"
		"  --pressure        put each run in a temporary memory cgroup and lower its\n"
		"                    limit after the release, to show lazily freed pages\n"
		"                    being reclaimed\n"
		"  --expect ADVICE   one run as the environment is, checked for free or dontneed\n"
		"  -h, --help        this help\n");
}

/* GODEBUG without its madvdontneed key, the other keys in their order. */
static void strip_madvdontneed(const char *in, char *out, size_t len)
{
	const char *p = in, *end;
	size_t n = 0;

	out[0] = '\0';
	while (p && *p) {
		end = strchrnul(p, ',');
		if ((size_t)(end - p) > 0 && strncmp(p, "madvdontneed=", 13) != 0) {
			n += snprintf(out + n, n < len ? len - n : 0, "%s%.*s", n ? "," : "",
				      (int)(end - p), p);
		}
		p = *end ? end + 1 : end;
	}
	if (n >= len)
		out[len - 1] = '\0';
}

/* ---- cgroups for --pressure ---- */

static bool has_memory_controller(const char *controllers)
{
	char buf[512];
	FILE *f = fopen(controllers, "re");
	bool yes = false;

	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f))
		yes = strstr(buf, "memory") != NULL;
	fclose(f);
	return yes;
}

static int write_file(const char *dir, const char *name, const char *val)
{
	char path[320];
	int fd, e = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		e = -errno;
	close(fd);
	return e;
}

static uint64_t read_u64_file(const char *dir, const char *name)
{
	char path[320], buf[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	return strtoull(buf, NULL, 10);
}

/* A fresh memory cgroup, v2 where it has the memory controller, else v1. */
static int cgroup_make(struct cgroup *cg, int n)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	static const char *const v2roots[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
	char path[320];
	size_t i;

	memset(cg, 0, sizeof(*cg));
	for (i = 0; i < 2 && !cg->dir[0]; i++) {
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", v2roots[i]);
		if (has_memory_controller(path)) {
			snprintf(cg->dir, sizeof(cg->dir), "%s/madvtrace-godebug-%d-%d", v2roots[i],
				 getpid(), n);
			cg->v2 = true;
		}
	}
	if (!cg->dir[0] && !access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK))
		snprintf(cg->dir, sizeof(cg->dir), "/sys/fs/cgroup/memory/madvtrace-godebug-%d-%d",
			 getpid(), n);
	if (!cg->dir[0])
		return -ENOENT;
	if (mkdir(cg->dir, 0755))
		return -errno;
	cg->made = true;
	/* under sudo the command runs as the user: let it move itself in */
	if (geteuid() == 0 && su && sg) {
		snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir);
		if (chown(path, strtoul(su, NULL, 10), strtoul(sg, NULL, 10)))
			return -errno;
	}
	return 0;
}

static uint64_t cgroup_usage(const struct cgroup *cg)
{
	return read_u64_file(cg->dir, cg->v2 ? "memory.current" : "memory.usage_in_bytes");
}

/*
 * Ask the kernel to take memory back down to limit bytes. v2's memory.high
 * reclaims and throttles but never kills; v1's limit refuses (EBUSY) rather
 * than kill when it cannot get there.
 */
static int cgroup_limit(const struct cgroup *cg, uint64_t limit)
{
	char v[32];

	if (limit == UINT64_MAX)
		snprintf(v, sizeof(v), cg->v2 ? "max" : "-1");
	else
		snprintf(v, sizeof(v), "%llu", (unsigned long long)limit);
	return write_file(cg->dir, cg->v2 ? "memory.high" : "memory.limit_in_bytes", v);
}

static void cgroup_remove(struct cgroup *cg)
{
	int i;

	if (!cg->made)
		return;
	/* the last process may still be leaving */
	for (i = 0; i < 50 && rmdir(cg->dir) && errno == EBUSY; i++)
		usleep(20000);
	cg->made = false;
}

/* LazyFree summed over the processes in the cgroup. */
static uint64_t cgroup_lazyfree(const struct cgroup *cg)
{
	char path[320];
	uint64_t sum = 0;
	FILE *f;
	int pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->dir);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fscanf(f, "%d", &pid) == 1) {
		struct mt_rss r = { 0 };

		if (!mt_proc_smaps(pid, &r))
			sum += r.lazyfree;
	}
	fclose(f);
	return sum;
}

/* ---- one run ---- */

/* why: filled when the log cannot be opened */
static int spawn_traced(struct run *r, char **cmd, const struct cgroup *cg, pid_t *pid,
			char *why, size_t whylen)
{
	static const char wrap[] = "echo $$ > \"$0\" && exec \"$@\"";
	char self[4096], procs[320];
	char **argv;
	int n = 0, i, fd;
	ssize_t len;

	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return -errno;
	self[len] = '\0';
	for (i = 0; cmd[i]; i++)
		;
	argv = calloc(i + 16, sizeof(*argv));
	if (!argv)
		return -ENOMEM;
	argv[n++] = self;
	argv[n++] = "-q";
	argv[n++] = "--smaps-interval";
	argv[n++] = "100";
	argv[n++] = "-o";
	argv[n++] = r->trace;
	argv[n++] = "--";
	if (cg) {
		/* the command enters the cgroup itself, before it runs a single instruction */
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg->dir);
		argv[n++] = "/bin/sh";
		argv[n++] = "-c";
		argv[n++] = (char *)wrap;
		argv[n++] = procs;
	}
	for (i = 0; cmd[i]; i++)
		argv[n++] = cmd[i];
	/* as the user, in their directory: never through what the last run planted there */
	fd = mt_open_output(r->log, MT_OUTPUT_MODE, false, why, whylen);
	if (fd < 0) {
		free(argv);
		return -errno;
	}
	*pid = fork();
	if (*pid == 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (r->setting[0] || strcmp(r->label, "(unset)"))
			setenv("GODEBUG", r->setting, 1);
		else
			unsetenv("GODEBUG");
		execv(self, argv);
		_exit(127);
	}
	close(fd);
	free(argv);
	return *pid < 0 ? -errno : 0;
}

/* Wait for the traced run; with a cgroup, lower its limit once LazyFree settles. */
static int wait_run(struct run *r, pid_t pid, const struct cgroup *cg)
{
	uint64_t prev_lazy = 0, restore_at = 0, now;
	int stable = 0, status;

	for (;;) {
		pid_t w = waitpid(pid, &status, cg ? WNOHANG : 0);

		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (!cg)
			continue;
		usleep(POLL_NS / 1000);
		now = mt_now_ns();
		if (r->lowered_ns) {
			if (restore_at && now >= restore_at) {
				cgroup_limit(cg, UINT64_MAX);
				restore_at = 0;
			}
			continue;
		}
		/* the release is over when LazyFree stops moving */
		uint64_t lazy = cgroup_lazyfree(cg);

		stable = lazy > (4u << 20) && lazy - prev_lazy < lazy / 100 ? stable + 1 : 0;
		prev_lazy = lazy;
		if (stable >= 3) {
			uint64_t usage = cgroup_usage(cg), t = mt_now_ns();

			/*
			 * Leave everything but three quarters of the lazily freed
			 * pages. The time is taken before the write: v1 reclaims
			 * inside it.
			 */
			if (usage > lazy && !cgroup_limit(cg, usage - lazy * 3 / 4)) {
				r->lowered_ns = t;
				restore_at = mt_now_ns() + HOLD_NS;
			}
		}
	}
	if (cg)
		cgroup_limit(cg, UINT64_MAX);
	r->status = status;
	return 0;
}

/* The release window: the first and last successful MADV_FREE or MADV_DONTNEED. */
static void release_window(struct run *r, const struct mt_summary *s)
{
	static const int adv[2] = {MT_MADV_FREE, MT_MADV_DONTNEED};

	for (int i = 0; i < 2; i++) {
		const struct mt_call_stats *c = &s->advice[adv[i]];

		r->calls[i] = c->calls - c->errors;
		r->bytes[i] = c->bytes;
		if (!r->calls[i])
			continue;
		if (!r->first_rel_ns || c->first_ns < r->first_rel_ns)
			r->first_rel_ns = c->first_ns;
		if (c->last_ns > r->last_rel_ns)
			r->last_rel_ns = c->last_ns;
	}
}

/* RSS around the release window, and under the lowered limit, from the timeline's samples. */
static void rss_around(struct run *r, const struct mt_gauges *g, size_t n)
{
	uint64_t rel_bytes = r->bytes[0] + r->bytes[1], last_rss = 0;
	bool have_rss = false;

	for (size_t i = 0; i < n; i++) {
		uint64_t v = mt_gauges_rss(&g[i]), t = g[i].t_ns;

		if (!g[i].have_rss)
			continue;
		if (r->first_rel_ns && t < r->first_rel_ns) {
			r->rss_before = v;
			r->have_before = true;
		} else if (r->first_rel_ns && t >= r->last_rel_ns && !r->have_after) {
			r->rss_after = v;
			r->have_after = true;
		}
		if (r->first_rel_ns && t >= r->first_rel_ns && r->have_before && r->half_ns < 0 &&
		    v + rel_bytes / 2 <= r->rss_before)
			r->half_ns = (int64_t)(t - r->first_rel_ns);
		if (r->lowered_ns && t >= r->lowered_ns) {
			if (!r->rss_at_lower)
				r->rss_at_lower = have_rss ? last_rss : v;
			/* how much the kernel took, and how long until RSS stopped falling */
			if (!r->rss_min_after_lower || v < r->rss_min_after_lower) {
				r->rss_min_after_lower = v;
				if (v < r->rss_at_lower) {
					r->reclaim_seen = true;
					r->reclaim_ns = t - r->lowered_ns;
				}
			}
		}
		last_rss = v;
		have_rss = true;
	}
	if (!r->have_after && have_rss && r->first_rel_ns) {
		r->rss_after = last_rss;
		r->have_after = true;
	}
}

/*
 * Read the trace back into a timeline, as `madvtrace report` does: the
 * advice and bytes released, RSS around the release (its samples, on a 1 ms
 * grid), the peak LazyFree and the Go version.
 */
static int analyze(struct run *r, int i)
{
	const struct mt_file_info *info;
	struct mt_timeline_opts o = {.interval_ns = SAMPLE_NS};
	struct mt_timeline *tl = NULL;
	const struct mt_summary *s;
	const struct mt_hdr *rec;
	const struct mt_gauges *g;
	struct mt_reader *rd;
	char err[512], fdpath[32];
	int n, ret = -EINVAL, fd;
	size_t ng;

	r->half_ns = -1;
	/* the user's directory: opened as them, only a regular file (a FIFO would hang us) */
	fd = mt_open_as_user(r->trace, O_RDONLY, 0, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "madvtrace: godebug: run %d: %s\n", i + 1, err);
		return fd;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	rd = mt_reader__open(fdpath, err, sizeof(err));
	close(fd);
	if (!rd)
		return -EINVAL;
	r->traced = true;
	info = mt_reader__info(rd);
	o.start_ns = info->start_ns;
	o.page_size = info->page_size;
	o.target_pid = info->target_pid > 0 ? (uint32_t)info->target_pid : 0;
	tl = mt_timeline__new(&o);
	if (!tl) {
		ret = -ENOMEM;
		goto cleanup;
	}
	while ((n = mt_reader__next(rd, &rec)) == 1)
		if (mt_timeline__feed(tl, rec))
			break;
	if (n < 0 || mt_timeline__finish(tl))
		goto cleanup;
	s = mt_timeline__summary(tl);
	if (s->go_version[0])
		snprintf(r->go_version, sizeof(r->go_version), "%s", s->go_version);
	release_window(r, s);
	g = mt_timeline__samples(tl, &ng);
	rss_around(r, g, ng);
	r->peak_lazy = s->lazyfree_max;
	ret = 0;
cleanup:
	mt_timeline__free(tl);
	mt_reader__free(rd);
	return ret;
}

/* Fill r->expected and say whether the run did what its Go version should. */
static bool judge(struct run *r, const char *binary_version)
{
	const char *version = r->go_version[0] ? r->go_version : binary_version;
	int observed;
	char reason[160];

	r->expected = mt_go_release_advice(version, r->setting, reason, sizeof(reason));
	if (!r->traced) {
		snprintf(r->why, sizeof(r->why), "the run could not be traced (see %s)", r->log);
		return false;
	}
	if (!r->calls[0] && !r->calls[1]) {
		snprintf(r->why, sizeof(r->why),
			 "nothing was released with MADV_FREE or MADV_DONTNEED: no check possible");
		return false;
	}
	observed = r->bytes[0] >= r->bytes[1] ? MT_MADV_FREE : MT_MADV_DONTNEED;
	if (r->expected < 0) {
		snprintf(r->why, sizeof(r->why), "%s", reason);
		return false;
	}
	if (observed != r->expected) {
		snprintf(r->why, sizeof(r->why), "GODEBUG%s%s is %s but %s was observed (%s)",
			 r->setting[0] ? "=" : "", r->setting, r->setting[0] ? "set" : "unset",
			 mt_advice_name(observed), reason);
		return false;
	}
	snprintf(r->why, sizeof(r->why), "%s", reason);
	return true;
}

static void print_size(char *buf, size_t len, uint64_t v, bool have)
{
	if (have)
		mt_size_str(buf, len, v);
	else
		snprintf(buf, len, "-");
}

static void print_row(const struct run *r, bool ok, bool pressure)
{
	char obs[64], before[24], after[24], half[24], lazy[24], rec[48], b[24];
	const char *adv;
	int i;

	if (!r->calls[0] && !r->calls[1]) {
		snprintf(obs, sizeof(obs), "nothing released");
	} else {
		i = r->bytes[0] >= r->bytes[1] ? 0 : 1;
		adv = i ? "MADV_DONTNEED" : "MADV_FREE";
		mt_size_str(b, sizeof(b), r->bytes[i]);
		snprintf(obs, sizeof(obs), "%s %llu calls %s", adv, (unsigned long long)r->calls[i], b);
	}
	print_size(before, sizeof(before), r->rss_before, r->have_before);
	print_size(after, sizeof(after), r->rss_after, r->have_after);
	if (r->half_ns >= 0)
		snprintf(half, sizeof(half), "%.0f ms", r->half_ns / 1e6);
	else
		snprintf(half, sizeof(half), r->first_rel_ns ? "did not fall" : "-");
	mt_size_str(lazy, sizeof(lazy), r->peak_lazy);
	printf("%-22s %-10s %-34s %11s %11s %13s %11s", r->label,
	       r->go_version[0] ? r->go_version : "?", obs, before, after, half, lazy);
	if (pressure) {
		if (!r->lowered_ns)
			snprintf(rec, sizeof(rec), "limit not lowered");
		else if (r->reclaim_seen) {
			mt_size_str(b, sizeof(b), r->rss_at_lower - r->rss_min_after_lower);
			snprintf(rec, sizeof(rec), "%s in %.0f ms", b, r->reclaim_ns / 1e6);
		} else
			snprintf(rec, sizeof(rec), "none seen");
		printf(" %-20s", rec);
	}
	printf(" %s\n", ok ? "ok" : "MISMATCH");
}

int mt_godebug_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pressure", no_argument, NULL, 'P' },
		{ "expect", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	char err[512], base[160], tmpdir[] = "/tmp/madvtrace-godebug.XXXXXX", path[4096];
	const char *godebug = getenv("GODEBUG"), *bin_version;
	struct run runs[3];
	struct mt_goinfo *g = NULL;
	int c, expect = EXPECT_NONE, nruns, i, rc = 0;
	bool pressure = false, all_ok = true;
	char **cmd;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'P':
			pressure = true;
			break;
		case 'E':
			if (!strcmp(optarg, "free"))
				expect = MT_MADV_FREE;
			else if (!strcmp(optarg, "dontneed"))
				expect = MT_MADV_DONTNEED;
			else {
				fprintf(stderr, "madvtrace: godebug: --expect takes free or dontneed, "
						"not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			fprintf(stderr, "madvtrace: godebug: option '%s' needs an argument\n",
				argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "madvtrace: godebug: unknown option '%s' (see madvtrace "
					"godebug --help)\n", argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "madvtrace: godebug: no command (madvtrace godebug -- COMMAND)\n");
		return 2;
	}
	cmd = argv + optind;

	/* a Go program, or there is nothing to check */
	if (strchr(cmd[0], '/'))
		snprintf(path, sizeof(path), "%s", cmd[0]);
	else {
		const char *p, *end;

		path[0] = '\0';
		for (p = getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin"; *p; p = end + !!*end) {
			end = strchrnul(p, ':');
			snprintf(path, sizeof(path), "%.*s/%s", (int)(end - p), p, cmd[0]);
			if (!access(path, X_OK))
				break;
			path[0] = '\0';
		}
	}
	g = path[0] ? mt_goinfo__open(path, err, sizeof(err)) : NULL;
	if (!g) {
		fprintf(stderr, "madvtrace: godebug: %s\n",
			path[0] ? err : "command not found in PATH");
		return 1;
	}
	if (mt_goinfo__kind(g) == MT_GO_NONE) {
		fprintf(stderr, "madvtrace: godebug: %s is not a Go program: GODEBUG means "
				"nothing to it\n", path);
		mt_goinfo__free(g);
		return 1;
	}
	bin_version = mt_goinfo__version(g);
	if (!bin_version)
		fprintf(stderr, "madvtrace: godebug: %s: Go version unknown (%s): the expected "
				"advice cannot be worked out\n", path, mt_goinfo__version_note(g));
	/* under sudo the user's own directory: the traced runs write their traces there as them */
	if (!mt_mkdtemp_as_user(tmpdir)) {
		fprintf(stderr, "madvtrace: godebug: cannot create a temporary directory: %s\n",
			strerror(errno));
		mt_goinfo__free(g);
		return 1;
	}

	memset(runs, 0, sizeof(runs));
	strip_madvdontneed(godebug ? godebug : "", base, sizeof(base));
	if (expect != EXPECT_NONE) {
		nruns = 1;
		snprintf(runs[0].setting, sizeof(runs[0].setting), "%s", godebug ? godebug : "");
		snprintf(runs[0].label, sizeof(runs[0].label), "%s",
			 godebug && *godebug ? godebug : "(unset)");
	} else {
		nruns = 3;
		snprintf(runs[0].setting, sizeof(runs[0].setting), "%s", base);
		snprintf(runs[0].label, sizeof(runs[0].label), "%s", "(unset)");
		for (i = 1; i < 3; i++) {
			snprintf(runs[i].setting, sizeof(runs[i].setting), "%s%smadvdontneed=%d",
				 base, base[0] ? "," : "", i - 1);
			snprintf(runs[i].label, sizeof(runs[i].label), "madvdontneed=%d", i - 1);
		}
	}

	for (i = 0; i < nruns; i++) {
		struct run *r = &runs[i];
		struct cgroup cg;
		char why[600] = "";
		pid_t pid = -1;
		int e;

		snprintf(r->trace, sizeof(r->trace), "%s/run%d.mtr", tmpdir, i);
		snprintf(r->log, sizeof(r->log), "%s/run%d.log", tmpdir, i);
		if (pressure && (e = cgroup_make(&cg, i))) {
			fprintf(stderr, "madvtrace: godebug: --pressure needs a memory cgroup it can "
					"create (cgroup v2 with the memory controller, or v1 at "
					"/sys/fs/cgroup/memory): %s\n", strerror(-e));
			cgroup_remove(&cg);
			rc = 1;
			goto cleanup;
		}
		fprintf(stderr, "madvtrace: godebug: run %d of %d, GODEBUG=%s\n", i + 1, nruns,
			r->setting[0] ? r->setting : "(unset)");
		e = spawn_traced(r, cmd, pressure ? &cg : NULL, &pid, why, sizeof(why));
		if (!e)
			e = wait_run(r, pid, pressure ? &cg : NULL);
		if (pressure)
			cgroup_remove(&cg);
		if (e) {
			fprintf(stderr, "madvtrace: godebug: cannot run the command: %s\n",
				why[0] ? why : strerror(-e));
			rc = 1;
			goto cleanup;
		}
		analyze(r, i);
		/* a run too short for its info records still has the binary's version */
		if (!r->go_version[0] && bin_version)
			snprintf(r->go_version, sizeof(r->go_version), "%s", bin_version);
		if (WIFEXITED(r->status) && WEXITSTATUS(r->status) != 0)
			fprintf(stderr, "madvtrace: godebug: run %d exited with status %d (log: %s)\n",
				i + 1, WEXITSTATUS(r->status), r->log);
	}

	printf("%-22s %-10s %-34s %11s %11s %13s %11s%s result\n", "GODEBUG", "Go",
	       "advice observed", "RSS before", "RSS after", "fell by half", "peak Lazy",
	       pressure ? " reclaim under limit " : "");
	for (i = 0; i < nruns; i++) {
		bool ok = judge(&runs[i], bin_version);

		if (ok && expect != EXPECT_NONE && runs[i].traced &&
		    (runs[i].bytes[0] >= runs[i].bytes[1] ? MT_MADV_FREE : MT_MADV_DONTNEED) != expect) {
			ok = false;
			snprintf(runs[i].why, sizeof(runs[i].why), "--expect %s, but %s was observed",
				 expect == MT_MADV_FREE ? "free" : "dontneed",
				 expect == MT_MADV_FREE ? "MADV_DONTNEED" : "MADV_FREE");
		}
		print_row(&runs[i], ok, pressure);
		all_ok &= ok;
	}
	printf("\n");
	for (i = 0; i < nruns; i++)
		printf("%-22s %s\n", runs[i].label, runs[i].why);
	printf("\ntraces: %s\n", tmpdir);
	rc = all_ok ? 0 : 1;
cleanup:
	mt_goinfo__free(g);
	return rc;
}
