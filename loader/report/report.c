// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * madvtrace report: the command line, a reader loop feeding a timeline and
 * the releasers, then one renderer (text.c, json.c, csv.c, perfetto.c,
 * svg.c; report_priv.h is what they share). Memory stays bounded whatever
 * the number of records: the timeline keeps samples on a bounded grid, and
 * the perfetto events are staged in a temporary file rather than in memory.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fmt.h"
#include "releasers_verdict.h"
#include "report.h"
#include "report_priv.h"

static const char *const format_names[FMT_NR] = {"text", "json", "csv", "perfetto", "svg"};

/* ---- shared helpers (report_priv.h) ---- */

uint64_t mt_report__t_rel(const struct report *rp, uint64_t t)
{
	uint64_t t0 = mt_timeline__summary(rp->tl)->start_ns;

	return t > t0 ? t - t0 : 0;
}

char *mt_report__fmt_rel(const struct report *rp, char *buf, size_t len, uint64_t t)
{
	return mt_fmt_rel(buf, len, t, mt_timeline__summary(rp->tl)->start_ns);
}

/* ---- rows: samples regrouped at the report interval ---- */

/* A round interval (1, 2, 5 x 10^k ns) giving about 20 rows, on the sample grid. */
static uint64_t auto_row_interval(uint64_t dur, uint64_t iv)
{
	static const uint64_t mant[] = {1, 2, 5};
	uint64_t best = iv;
	double best_err = INFINITY;

	if (!dur)
		return iv;
	for (uint64_t dec = 1; dec <= 100000000000000000ull; dec *= 10) {
		for (size_t i = 0; i < 3; i++) {
			uint64_t r = mant[i] * dec;
			double err;

			if (r < iv || r % iv)
				continue;
			err = fabs((double)dur / (double)r - 20.0);
			if (err < best_err) {
				best_err = err;
				best = r;
			}
		}
	}
	return best;
}

/* Gauges are taken as they are at the row's time. */
struct mt_gauges *mt_report__rows(const struct report *rp, uint64_t row_iv, size_t *nrows)
{
	size_t n, k = 0;
	const struct mt_gauges *s = mt_timeline__samples(rp->tl, &n);
	uint64_t t0 = mt_timeline__summary(rp->tl)->start_ns, peak = 0;
	struct mt_gauges *rows = malloc((n ? n : 1) * sizeof(*rows));

	if (!rows)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i].rss_peak > peak)
			peak = s[i].rss_peak;
		if (i + 1 < n && (s[i].t_ns - t0) % row_iv)
			continue;
		rows[k] = s[i];
		rows[k].rss_peak = peak;
		k++;
		peak = 0;
	}
	*nrows = k;
	return rows;
}

uint64_t mt_report__row_interval(const struct report *rp)
{
	const struct mt_summary *s = mt_timeline__summary(rp->tl);
	uint64_t iv = mt_timeline__interval(rp->tl);

	if (rp->interval_ns)
		return rp->interval_ns > iv ? rp->interval_ns : iv;
	return auto_row_interval(s->end_ns - s->start_ns, iv);
}

/* ---- main ---- */

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: madvtrace report [--format text|json|csv|perfetto|svg] [--interval DUR] "
	    "[--debug-dir DIR] "
	    "[-o OUT] FILE\n"
	    "  -f, --format FMT     text (default): verdict, timeline table, calls, top regions\n"
	    "                       json: summary + timeline (docs/report-format.md)\n"
	    "                       csv: the timeline with a header row\n"
	    "                       perfetto: Chrome trace-event JSON (ui.perfetto.dev, "
	    "chrome://tracing)\n"
	    "                       svg: a chart of RSS, LazyFree and the released gauges\n"
	    "  -i, --interval DUR   timeline rows every DUR (100ms, 1s, ...); default: about "
	    "20 rows\n"
	    "  -o, --output OUT     write to OUT instead of stdout\n"
	    "  -d, --debug-dir DIR  also look for separate debug files under DIR/.build-id/\n"
	    "                       (colon-separated; MADVTRACE_DEBUGINFO_PATH too)\n"
	    "  -h, --help\n");
}

static int parse_args(struct report *rp, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"interval", required_argument, NULL, 'i'},
	    {"output", required_argument, NULL, 'o'},
	    {"debug-dir", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c, i;

	optind = 0; /* GNU: full re-initialisation; main may have parsed options before */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+f:i:o:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			for (i = 0; i < FMT_NR; i++)
				if (!strcmp(optarg, format_names[i]))
					break;
			if (i == FMT_NR) {
				fprintf(stderr,
					"madvtrace: unknown report format '%s' (text, json, csv, "
					"perfetto, svg)\n",
					optarg);
				return 2;
			}
			rp->fmt = i;
			break;
		case 'i':
			if (mt_parse_duration(optarg, &rp->interval_ns)) {
				fprintf(stderr,
					"madvtrace: bad --interval '%s' (a duration such as 100ms, "
					"2s)\n",
					optarg);
				return 2;
			}
			break;
		case 'o':
			rp->out_path = optarg;
			break;
		case 'd':
			rp->debug_dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case ':':
			fprintf(stderr, "madvtrace: report: option %s needs a value\n",
				argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr,
				"madvtrace: report: unknown option '%s' (see madvtrace report "
				"--help)\n",
				argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr,
			"madvtrace: report: %s (usage: madvtrace report [--format FMT] "
			"[--interval DUR] [-o OUT] FILE)\n",
			optind >= argc ? "no trace file given" : "more than one trace file given");
		return 2;
	}
	rp->path = argv[optind];
	return 0;
}

static int read_trace(struct report *rp)
{
	const struct mt_hdr *rec;
	int rc, err;

	while ((rc = mt_reader__next(rp->r, &rec)) == 1) {
		/* what the model says an mmap took out of use (a PROT_NONE remap) */
		uint64_t remap = mt_timeline__summary(rp->tl)->none_remap_bytes;

		err = mt_timeline__feed(rp->tl, rec);
		remap = mt_timeline__summary(rp->tl)->none_remap_bytes - remap;
		if (!err)
			err = mt_releasers__feed(rp->rel, rec, remap);
		if (!err && rp->pf)
			err = mt_perfetto__record(rp->pf, rec);
		if (err) {
			fprintf(stderr, "madvtrace: %s: %s\n", rp->path, strerror(-err));
			return 1;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "madvtrace: %s: %s\n", rp->path, mt_reader__error(rp->r));
		return 1;
	}
	if (mt_reader__truncated(rp->r)) {
		char note[256];

		rp->truncated = true;
		fprintf(stderr, "madvtrace: warning: %s: %s\n", rp->path,
			mt_reader__end_note(rp->r, note, sizeof(note)));
	}
	return 0;
}

int mt_report_main(int argc, char **argv)
{
	struct report rp = {.fmt = FMT_TEXT};
	struct mt_timeline_opts to = {0};
	char err[512];
	int ret = 1, rc;

	rc = parse_args(&rp, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	rp.r = mt_reader__open(rp.path, err, sizeof(err));
	if (!rp.r) {
		fprintf(stderr, "madvtrace: %s\n", err);
		return 1;
	}
	rp.info = mt_reader__info(rp.r);
	to.start_ns = rp.info->start_ns;
	to.clock_offset_ns = rp.info->clock_offset_ns;
	to.page_size = rp.info->page_size;
	to.target_pid = rp.info->target_pid > 0 ? (uint32_t)rp.info->target_pid : 0;
	to.backend = rp.info->backend; /* what it could see: the verdict says what it could not */
	/* the chart and counters want the fine grid; rows are regrouped from it */
	to.interval_ns = rp.fmt == FMT_SVG || rp.fmt == FMT_PERFETTO ? 0 : rp.interval_ns;
	rp.tl = mt_timeline__new(&to);
	rp.rel = mt_releasers__new();
	if (!rp.debug_dir)
		rp.debug_dir = getenv("MADVTRACE_DEBUGINFO_PATH");
	if (!rp.tl || !rp.rel || mt_releasers__debug_dir(rp.rel, rp.debug_dir)) {
		fprintf(stderr, "madvtrace: %s\n", strerror(ENOMEM));
		goto cleanup;
	}
	if (rp.fmt == FMT_PERFETTO) {
		rp.pf = mt_perfetto__new();
		if (!rp.pf) {
			fprintf(stderr, "madvtrace: a temporary file for the events: %s\n",
				strerror(errno));
			goto cleanup;
		}
	}
	if (read_trace(&rp))
		goto cleanup;
	if (!mt_timeline__summary(rp.tl)->records) {
		fprintf(stderr, "madvtrace: %s: the trace has no records%s\n", rp.path,
			rp.truncated ? " (the file is cut short before the first one)" : "");
		goto cleanup;
	}
	rc = mt_timeline__finish(rp.tl);
	if (!rc)
		rc = mt_releasers__resolve(rp.rel, stderr);
	if (!rc)
		rc = mt_releasers__add_finding(rp.tl, rp.rel);
	if (rc) {
		fprintf(stderr, "madvtrace: %s\n", strerror(-rc));
		goto cleanup;
	}
	if (rp.interval_ns && mt_timeline__interval_raised(rp.tl)) {
		char a[32], b[32];

		fprintf(stderr, "madvtrace: warning: --interval %s gives too many rows; using %s\n",
			mt_fmt_duration(a, sizeof(a), rp.interval_ns),
			mt_fmt_duration(b, sizeof(b), mt_timeline__interval(rp.tl)));
	}
	rp.out = rp.out_path ? fopen(rp.out_path, "w") : stdout;
	if (!rp.out) {
		fprintf(stderr, "madvtrace: %s: %s\n", rp.out_path, strerror(errno));
		goto cleanup;
	}
	switch (rp.fmt) {
	case FMT_TEXT:
		rc = mt_report__text(&rp);
		break;
	case FMT_JSON:
		rc = mt_report__json(&rp);
		break;
	case FMT_CSV:
		rc = mt_report__csv(&rp);
		break;
	case FMT_PERFETTO:
		rc = mt_report__perfetto(&rp);
		break;
	default:
		rc = mt_report__svg(&rp);
		break;
	}
	if (!rc && (fflush(rp.out) || ferror(rp.out)))
		rc = -errno ? -errno : -EIO;
	if (rp.out != stdout && fclose(rp.out) && !rc)
		rc = -errno;
	rp.out = NULL;
	if (rc) {
		fprintf(stderr, "madvtrace: writing the report to %s: %s\n",
			rp.out_path ? rp.out_path : "stdout", strerror(-rc));
		goto cleanup;
	}
	ret = 0;
cleanup:
	if (rp.out && rp.out != stdout)
		fclose(rp.out);
	mt_perfetto__free(rp.pf);
	mt_releasers__free(rp.rel);
	mt_timeline__free(rp.tl);
	mt_reader__free(rp.r);
	return ret;
}

