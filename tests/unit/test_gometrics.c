// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * gometrics: the two parsers on every variant and hostile body, the fetch
 * against a tiny HTTP server on 127.0.0.1 run by this test (200, 404, HTML,
 * 100 MiB, silence, redirects), discovery of this very process and of
 * tests/go/metricsvc (the real Prometheus client and expvar), whose own
 * MemStats log is the oracle of the sampled HeapReleased, and the cost of
 * scraping 2,000 series once a second.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <json-c/json.h>
#include "gometrics.h"

#ifndef MT_TEST_METRICSVC
#define MT_TEST_METRICSVC ""
#endif

extern char **environ;

#define ALL_FIELDS ((1u << MT_GM__NR) - 1)
#define MiB (1024u * 1024u)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int parse_str(const char *s, struct mt_gm_sample *out, char *why)
{
	return mt_gm_parse(s, strlen(s), out, why, MT_GM_REASON_LEN);
}

static void assert_one_line(const char *why)
{
	assert_true(why[0] != '\0');
	assert_null(strchr(why, '\n'));
}

/* ------------------------------------------------------------ Prometheus */

// What client_golang 1.14 writes (Go 1.19), cut to the series around ours.
static const char prom_1_14[] =
	"# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.\n"
	"# TYPE go_gc_duration_seconds summary\n"
	"go_gc_duration_seconds{quantile=\"0\"} 2.4e-05\n"
	"go_gc_duration_seconds{quantile=\"1\"} 0.000104201\n"
	"go_gc_duration_seconds_sum 0.000321\n"
	"go_gc_duration_seconds_count 7\n"
	"# HELP go_goroutines Number of goroutines that currently exist.\n"
	"# TYPE go_goroutines gauge\n"
	"go_goroutines 8\n"
	"# HELP go_info Information about the Go environment.\n"
	"# TYPE go_info gauge\n"
	"go_info{version=\"go1.19.8\"} 1\n"
	"# HELP go_memstats_heap_idle_bytes Number of heap bytes waiting to be used.\n"
	"# TYPE go_memstats_heap_idle_bytes gauge\n"
	"go_memstats_heap_idle_bytes 2.70041088e+08\n"
	"go_memstats_heap_inuse_bytes 1.015808e+06\n"
	"go_memstats_heap_objects 1234\n"
	"# HELP go_memstats_heap_released_bytes Number of heap bytes released to OS.\n"
	"# TYPE go_memstats_heap_released_bytes gauge\n"
	"go_memstats_heap_released_bytes 1.36953856e+08\n"
	"go_memstats_heap_sys_bytes 2.71056896e+08\n"
	"go_memstats_next_gc_bytes 4.194304e+06\n"
	"go_memstats_stack_inuse_bytes 425984\n"
	"go_memstats_sys_bytes 2.8303364e+08\n"
	"# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
	"process_resident_memory_bytes 1.4680064e+07\n";

static void test_prom_client_golang(void **state)
{
	struct mt_gm_sample s;
	char why[MT_GM_REASON_LEN];

	(void)state;
	assert_int_equal(parse_str(prom_1_14, &s, why), 0);
	assert_int_equal(s.format, MT_GM_FMT_PROMETHEUS);
	assert_int_equal(s.present, ALL_FIELDS);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 136953856);
	assert_int_equal(s.v[MT_GM_HEAP_IDLE], 270041088);
	assert_int_equal(s.v[MT_GM_HEAP_INUSE], 1015808);
	assert_int_equal(s.v[MT_GM_HEAP_SYS], 271056896);
	assert_int_equal(s.v[MT_GM_SYS], 283033640);
	assert_int_equal(s.v[MT_GM_STACK_INUSE], 425984);
	assert_int_equal(s.v[MT_GM_NEXT_GC], 4194304);
	assert_int_equal(s.v[MT_GM_NUM_GC], 7);
	// the same page with CRLF line ends, blank lines and timestamps on the samples
	char crlf[8192] = "\r\n\r\n";
	size_t k = strlen(crlf);
	for (const char *p = prom_1_14; *p;) {
		const char *nl = strchr(p, '\n');

		memcpy(crlf + k, p, (size_t)(nl - p));
		k += (size_t)(nl - p);
		k += (size_t)sprintf(crlf + k, "%s\r\n\r\n", *p == '#' ? "" : " 1700000000000");
		p = nl + 1;
	}
	crlf[k] = '\0';
	struct mt_gm_sample c;
	assert_int_equal(parse_str(crlf, &c, why), 0);
	assert_memory_equal(&c, &s, sizeof(s));
}

// client_golang >= 1.12 with only the runtime/metrics collector: sums, as its memStatsFromRM.
static void test_prom_runtime_metrics(void **state)
{
	static const char page[] =
		"# HELP go_gc_cycles_total_gc_cycles_total Count of all completed GC cycles.\n"
		"# TYPE go_gc_cycles_total_gc_cycles_total counter\n"
		"go_gc_cycles_total_gc_cycles_total 12\n"
		"go_gc_heap_goal_bytes 4.194304e+06\n"
		"go_memory_classes_heap_free_bytes 1000\n"
		"go_memory_classes_heap_objects_bytes 20000\n"
		"go_memory_classes_heap_released_bytes 300000\n"
		"go_memory_classes_heap_stacks_bytes 4000000\n"
		"go_memory_classes_heap_unused_bytes 50000000\n"
		"go_memory_classes_os_stacks_bytes 6\n"
		"go_memory_classes_total_bytes 7e+08\n";
	struct mt_gm_sample s;
	char why[MT_GM_REASON_LEN];

	(void)state;
	assert_int_equal(parse_str(page, &s, why), 0);
	assert_int_equal(s.present, ALL_FIELDS);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 300000);
	assert_int_equal(s.v[MT_GM_HEAP_IDLE], 301000);
	assert_int_equal(s.v[MT_GM_HEAP_INUSE], 50020000);
	assert_int_equal(s.v[MT_GM_HEAP_SYS], 50321000);
	assert_int_equal(s.v[MT_GM_SYS], 700000000);
	assert_int_equal(s.v[MT_GM_STACK_INUSE], 4000000);
	assert_int_equal(s.v[MT_GM_NEXT_GC], 4194304);
	assert_int_equal(s.v[MT_GM_NUM_GC], 12);
	// a part missing: no sum from half its terms
	static const char half[] = "go_memory_classes_heap_released_bytes 300000\n";
	assert_int_equal(parse_str(half, &s, why), 0);
	assert_int_equal(s.present, 1u << MT_GM_HEAP_RELEASED);
	// go_memstats_* win over the runtime/metrics ones when both are there
	static const char both[] = "go_memory_classes_heap_released_bytes 1\n"
				   "go_memstats_heap_released_bytes 2\n";
	assert_int_equal(parse_str(both, &s, why), 0);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 2);
}

// client_golang < 0.9: a counter (prometheus/client_golang#229)
static void test_prom_old_names(void **state)
{
	struct mt_gm_sample s;
	char why[MT_GM_REASON_LEN];

	(void)state;
	assert_int_equal(parse_str("# TYPE go_memstats_heap_released_bytes_total counter\n"
				   "go_memstats_heap_released_bytes_total 8192\n", &s, why), 0);
	assert_int_equal(s.present, 1u << MT_GM_HEAP_RELEASED);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 8192);
}

static void test_prom_values(void **state)
{
	struct mt_gm_sample s;
	char why[MT_GM_REASON_LEN];

	(void)state;
	// NaN, +Inf, -Inf, negative, junk, too large: that field absent, the others kept
	assert_int_equal(parse_str("go_memstats_heap_released_bytes NaN\n"
				   "go_memstats_heap_idle_bytes +Inf\n"
				   "go_memstats_heap_inuse_bytes -Inf\n"
				   "go_memstats_heap_sys_bytes -4096\n"
				   "go_memstats_sys_bytes 0x1000\n"
				   "go_memstats_stack_inuse_bytes 1e20\n"
				   "go_memstats_next_gc_bytes infinity\n"
				   "go_gc_duration_seconds_count 3\n", &s, why), 0);
	assert_int_equal(s.present, 1u << MT_GM_NUM_GC);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 0);
	// only unusable values: an error that says so
	assert_int_equal(parse_str("go_memstats_heap_released_bytes NaN\n", &s, why), -EINVAL);
	assert_non_null(strstr(why, "usable"));
	assert_one_line(why);
	// integers exactly, past 2^53; exponents; a '+' sign; fractions rounded
	assert_int_equal(parse_str("go_memstats_heap_released_bytes 18446744073709551615\n"
				   "go_memstats_heap_idle_bytes 9007199254740993\n"
				   "go_memstats_heap_inuse_bytes 1.5e3\n"
				   "go_memstats_heap_sys_bytes +4096\n"
				   "go_memstats_sys_bytes 2.5\n"
				   "go_memstats_stack_inuse_bytes 18446744073709551616\n", &s, why), 0);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], UINT64_MAX);
	assert_int_equal(s.v[MT_GM_HEAP_IDLE], 9007199254740993ull);
	assert_int_equal(s.v[MT_GM_HEAP_INUSE], 1500);
	assert_int_equal(s.v[MT_GM_HEAP_SYS], 4096);
	assert_int_equal(s.v[MT_GM_SYS], 3);
	assert_false(s.present & (1u << MT_GM_STACK_INUSE));
}

static void test_prom_labels_dups(void **state)
{
	struct mt_gm_sample s;
	char why[MT_GM_REASON_LEN];

	(void)state;
	// labels (a constant label on a wrapped registry), quoted '}', escapes, spaces
	assert_int_equal(parse_str("go_memstats_heap_released_bytes{job=\"a} b\",x=\"\\\"}\\\\\"} 77 123\n"
				   "go_memstats_heap_idle_bytes{} 78\n"
				   "go_memstats_heap_inuse_bytes\t79\n", &s, why), 0);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 77);
	assert_int_equal(s.v[MT_GM_HEAP_IDLE], 78);
	assert_int_equal(s.v[MT_GM_HEAP_INUSE], 79);
	// duplicated series: the first wins, with or without labels
	assert_int_equal(parse_str("go_memstats_heap_released_bytes{instance=\"1\"} 100\n"
				   "go_memstats_heap_released_bytes 200\n"
				   "go_memstats_heap_released_bytes{instance=\"2\"} 300\n", &s, why), 0);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 100);
	// an unusable first one does not hide a usable second
	assert_int_equal(parse_str("go_memstats_heap_released_bytes NaN\n"
				   "go_memstats_heap_released_bytes 5\n", &s, why), 0);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 5);
	// an unclosed label set, a name prefix, a missing value: not ours
	assert_int_equal(parse_str("go_memstats_heap_released_bytes{a=\"1\" 5\n"
				   "go_memstats_heap_released_bytesX 6\n"
				   "go_memstats_heap_released_bytes\n"
				   "go_memstats_heap_released_bytes 7\n", &s, why), 0);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 7);
}

static void test_prom_hostile(void **state)
{
	struct mt_gm_sample s;
	char why[MT_GM_REASON_LEN];
	size_t n = 3 * MiB;
	char *b = malloc(n);
	size_t k = 0;

	(void)state;
	assert_non_null(b);
	// a 1 MiB HELP line and a 1 MiB sample line of ours, then the real one
	k += (size_t)sprintf(b + k, "# HELP x ");
	memset(b + k, 'h', MiB), k += MiB;
	b[k++] = '\n';
	k += (size_t)sprintf(b + k, "go_memstats_heap_released_bytes ");
	memset(b + k, '9', MiB), k += MiB;
	b[k++] = '\n';
	k += (size_t)sprintf(b + k, "go_memstats_heap_released_bytes 42\n");
	uint64_t t0 = now_ns();
	assert_int_equal(mt_gm_parse(b, k, &s, why, sizeof(why)), 0);
	assert_true(now_ns() - t0 < 1000000000ull);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 42);
	// NULs: inside a value, inside another line, as the whole body
	static const char nul[] = "go_memstats_heap_idle_bytes 12\0003\n"
				  "junk\0go_memstats_heap_sys_bytes 5\n"
				  "go_memstats_heap_released_bytes 9\n";
	assert_int_equal(mt_gm_parse(nul, sizeof(nul) - 1, &s, why, sizeof(why)), 0);
	assert_int_equal(s.present, 1u << MT_GM_HEAP_RELEASED);
	memset(b, 0, 4096);
	assert_int_equal(mt_gm_parse(b, 4096, &s, why, sizeof(why)), -EINVAL);
	assert_one_line(why);
	// truncated: the cut last line is not read as a smaller number
	static const char cut[] = "go_memstats_heap_idle_bytes 1\n"
				  "go_memstats_heap_released_bytes 1.36";
	assert_int_equal(mt_gm_parse(cut, sizeof(cut) - 1, &s, why, sizeof(why)), 0);
	assert_int_equal(s.present, 1u << MT_GM_HEAP_IDLE);
	// the parser reads exactly len bytes: a copy without a terminator, fenced by the heap end
	static const char ok[] = "go_memstats_heap_released_bytes 3\n";
	char *exact = malloc(sizeof(ok) - 1);
	memcpy(exact, ok, sizeof(ok) - 1);
	for (size_t len = 0; len < sizeof(ok) - 1; len++)
		mt_gm_parse(exact, len, &s, why, sizeof(why));
	assert_int_equal(mt_gm_parse(exact, sizeof(ok) - 1, &s, why, sizeof(why)), 0);
	free(exact);
	free(b);
}

static void test_not_go(void **state)
{
	struct mt_gm_sample s;
	char why[MT_GM_REASON_LEN];

	(void)state;
	// node_exporter's page: Prometheus, not a Go runtime's
	assert_int_equal(parse_str("# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\n"
				   "node_load1 0.21\nprocess_resident_memory_bytes 1e+07\n", &s, why),
			 -EINVAL);
	assert_non_null(strstr(why, "without Go runtime series"));
	assert_one_line(why);
	assert_int_equal(s.present, 0);
	assert_int_equal(parse_str("\n  <!DOCTYPE html>\n<html><body>go_memstats_heap_released_bytes 1\n"
				   "</body></html>\n", &s, why), -EINVAL);
	assert_non_null(strstr(why, "HTML"));
	assert_int_equal(parse_str("\x01\x02\xff garbage \x7f\n\x80\x81\n", &s, why), -EINVAL);
	assert_non_null(strstr(why, "neither"));
	assert_int_equal(parse_str("", &s, why), -EINVAL);
	assert_int_equal(parse_str(" \r\n", &s, why), -EINVAL);
	assert_int_equal(parse_str("# only a comment\n", &s, why), -EINVAL);
	assert_one_line(why);
	assert_int_equal(parse_str("[1,2,3]", &s, why), -EINVAL);
	assert_non_null(strstr(why, "not an object"));
}

/* ----------------------------------------------------------------- expvar */

static void test_expvar(void **state)
{
	static const char vars[] =
		"{\n\"cmdline\": [\"./metricsvc\",\"-listen\"],\n"
		"\"memstats\": {\"Alloc\":1,\"HeapSys\":271056896,\"HeapIdle\":270041088,"
		"\"HeapInuse\":1015808,\"HeapReleased\":136953856,\"Sys\":283033640,"
		"\"StackInuse\":425984,\"NextGC\":4194304,\"NumGC\":7,"
		"\"BySize\":[{\"Size\":0,\"Mallocs\":0,\"Frees\":0}]}\n}\n";
	struct mt_gm_sample s;
	char why[MT_GM_REASON_LEN];

	(void)state;
	assert_int_equal(parse_str(vars, &s, why), 0);
	assert_int_equal(s.format, MT_GM_FMT_EXPVAR);
	assert_int_equal(s.present, ALL_FIELDS);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 136953856);
	assert_int_equal(s.v[MT_GM_HEAP_IDLE], 270041088);
	assert_int_equal(s.v[MT_GM_HEAP_INUSE], 1015808);
	assert_int_equal(s.v[MT_GM_HEAP_SYS], 271056896);
	assert_int_equal(s.v[MT_GM_SYS], 283033640);
	assert_int_equal(s.v[MT_GM_STACK_INUSE], 425984);
	assert_int_equal(s.v[MT_GM_NEXT_GC], 4194304);
	assert_int_equal(s.v[MT_GM_NUM_GC], 7);
	// uint64 past INT64_MAX, a negative, a string, a float
	assert_int_equal(parse_str("{\"memstats\":{\"HeapReleased\":18446744073709551615,"
				   "\"HeapIdle\":-1,\"HeapInuse\":\"5\",\"Sys\":4096.0}}", &s, why), 0);
	assert_int_equal(s.present, (1u << MT_GM_HEAP_RELEASED) | (1u << MT_GM_SYS));
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], UINT64_MAX);
	assert_int_equal(s.v[MT_GM_SYS], 4096);
}

static void test_expvar_hostile(void **state)
{
	struct mt_gm_sample s;
	char why[MT_GM_REASON_LEN];

	(void)state;
	assert_int_equal(parse_str("{\"memstats\": 5}", &s, why), -EINVAL);
	assert_non_null(strstr(why, "not an object"));
	assert_int_equal(parse_str("{\"memstats\": [1]}", &s, why), -EINVAL);
	assert_int_equal(parse_str("{\"cmdline\": []}", &s, why), -EINVAL);
	assert_non_null(strstr(why, "without \"memstats\""));
	assert_int_equal(parse_str("{\"memstats\": {\"Alloc\": 1}}", &s, why), -EINVAL);
	assert_int_equal(parse_str("{\"memstats\": {\"HeapReleased\": 1", &s, why), -EINVAL);
	assert_non_null(strstr(why, "truncated"));
	assert_int_equal(parse_str("{\"memstats\": {\"HeapReleased\": 1}} {", &s, why), -EINVAL);
	assert_int_equal(parse_str("{\"memstats\": {\"HeapReleased\": 1}}}", &s, why), -EINVAL);
	assert_int_equal(parse_str("{memstats: 1}", &s, why), -EINVAL);
	assert_one_line(why);
	// a NUL inside the JSON
	static const char nul[] = "{\"memstats\": {\"HeapReleased\": 1\0, \"HeapIdle\": 2}}";
	assert_int_equal(mt_gm_parse(nul, sizeof(nul) - 1, &s, why, sizeof(why)), -EINVAL);
	assert_int_equal(s.present, 0);
	// nesting 100,000 deep: refused at the depth limit, not a stack overflow
	size_t depth = 100000;
	char *deep = malloc(2 * depth + 64);
	size_t k = (size_t)sprintf(deep, "{\"x\":");
	for (size_t i = 0; i < depth; i++)
		deep[k++] = '[';
	for (size_t i = 0; i < depth; i++)
		deep[k++] = ']';
	k += (size_t)sprintf(deep + k, ",\"memstats\":{\"HeapReleased\":1}}");
	assert_int_equal(mt_gm_parse(deep, k, &s, why, sizeof(why)), -E2BIG);
	assert_non_null(strstr(why, "deeper"));
	assert_int_equal(s.present, 0);
	free(deep);
	// nested within the limit: fine
	assert_int_equal(parse_str("{\"x\":[[[[[[[[1]]]]]]]],\"memstats\":{\"HeapReleased\":1}}", &s,
				   why), 0);
	// last key wins in json-c for a duplicated memstats (documented by json-c, not by us)
	assert_int_equal(parse_str("{\"memstats\":{\"HeapReleased\":1},\"memstats\":{\"HeapReleased\":2}}",
				   &s, why), 0);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 2);
}

/* ------------------------------------------------------ the test's server */

enum srv_mode {
	SRV_BODY,	/* 200 with body at every path */
	SRV_404,
	SRV_HUGE,	/* 100 MiB, no Content-Length, until the client goes */
	SRV_HUGE_CL,	/* 100 MiB announced by Content-Length */
	SRV_HANG,	/* accept, read, never answer */
	SRV_REDIRECT,	/* 302 to location, then body at the location's path */
	SRV_EXPVAR_ONLY, /* 404 at /metrics, body at /debug/vars */
	SRV_LOOP,	/* 302 to location, always */
};

struct srv {
	int lfd;
	uint16_t port;
	pthread_t thr;
	atomic_bool stop;
	enum srv_mode mode;
	const char *body;
	size_t body_len;
	char location[128];
	atomic_uint requests;
	atomic_ullong sent;	/* bytes of body sent */
	char last_path[128];
};

static bool send_all(int fd, const char *p, size_t n, struct srv *s)
{
	while (n > 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLOUT };
		ssize_t k;

		if (atomic_load(&s->stop) || poll(&pfd, 1, 2000) <= 0)
			return false;
		k = send(fd, p, n, MSG_NOSIGNAL);
		if (k <= 0)
			return false;
		p += k, n -= (size_t)k;
	}
	return true;
}

// Read a request's head (bounded: 8 KiB, 2 s); its path into path.
static bool read_request(int fd, char *path, size_t plen)
{
	char buf[8192];
	size_t n = 0;
	uint64_t end = now_ns() + 2000000000ull;

	while (n < sizeof(buf) - 1 && now_ns() < end) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		k = recv(fd, buf + n, sizeof(buf) - 1 - n, 0);
		if (k <= 0)
			return false;
		n += (size_t)k;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n")) {
			char *sp = strchr(buf, ' '), *sp2 = sp ? strchr(sp + 1, ' ') : NULL;

			if (!sp2 || (size_t)(sp2 - sp - 1) >= plen)
				return false;
			memcpy(path, sp + 1, (size_t)(sp2 - sp - 1));
			path[sp2 - sp - 1] = '\0';
			return true;
		}
	}
	return false;
}

static void respond(struct srv *s, int fd, int status, const char *ctype, const char *body,
		    size_t len, const char *extra)
{
	char head[512];
	int hn = snprintf(head, sizeof(head),
			  "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
			  "Connection: close\r\n\r\n", status, ctype, len, extra ? extra : "");

	if (send_all(fd, head, (size_t)hn, s) && send_all(fd, body, len, s))
		atomic_fetch_add(&s->sent, len);
}

static void serve_one(struct srv *s, int fd, int *hung, size_t *nhung)
{
	char path[128];

	if (!read_request(fd, path, sizeof(path))) {
		close(fd);
		return;
	}
	atomic_fetch_add(&s->requests, 1);
	snprintf(s->last_path, sizeof(s->last_path), "%s", path);
	switch (s->mode) {
	case SRV_BODY:
		respond(s, fd, 200, "text/plain", s->body, s->body_len, NULL);
		break;
	case SRV_404:
		respond(s, fd, 404, "text/plain", "404 page not found\n", 19, NULL);
		break;
	case SRV_EXPVAR_ONLY:
		if (strcmp(path, "/debug/vars") == 0)
			respond(s, fd, 200, "application/json", s->body, s->body_len, NULL);
		else
			respond(s, fd, 404, "text/plain", "404 page not found\n", 19, NULL);
		break;
	case SRV_REDIRECT:
	case SRV_LOOP: {
		char loc[200];
		const char *lpath = strstr(s->location, "://");

		lpath = lpath ? strchr(lpath + 3, '/') : NULL;
		if (s->mode == SRV_REDIRECT && lpath && strcmp(path, lpath) == 0) {
			respond(s, fd, 200, "text/plain", s->body, s->body_len, NULL);
			break;
		}
		snprintf(loc, sizeof(loc), "Location: %s\r\n", s->location);
		respond(s, fd, 302, "text/plain", "", 0, loc);
		break;
	}
	case SRV_HUGE:
	case SRV_HUGE_CL: {
		static char chunk[65536];
		char head[256];
		uint64_t total = 100ull * MiB;
		int hn;

		memset(chunk, 'x', sizeof(chunk));
		if (s->mode == SRV_HUGE)
			hn = snprintf(head, sizeof(head),
				      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n");
		else
			hn = snprintf(head, sizeof(head),
				      "HTTP/1.1 200 OK\r\nContent-Length: %" PRIu64 "\r\n\r\n", total);
		if (!send_all(fd, head, (size_t)hn, s))
			break;
		for (uint64_t off = 0; off < total; off += sizeof(chunk)) {
			if (!send_all(fd, chunk, sizeof(chunk), s))
				break;
			atomic_fetch_add(&s->sent, sizeof(chunk));
		}
		break;
	}
	case SRV_HANG:
		if (*nhung < 16) {
			hung[(*nhung)++] = fd;
			return;
		}
		break;
	}
	close(fd);
}

// Bounded: 10,000 connections or 300 s, whichever first; stops on s->stop.
static void *srv_main(void *arg)
{
	struct srv *s = arg;
	uint64_t end = now_ns() + 300ull * 1000000000ull;
	int hung[16];
	size_t nhung = 0;

	for (unsigned conns = 0; conns < 10000 && !atomic_load(&s->stop) && now_ns() < end;) {
		struct pollfd pfd = { .fd = s->lfd, .events = POLLIN };
		int fd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		conns++;
		serve_one(s, fd, hung, &nhung);
	}
	for (size_t i = 0; i < nhung; i++)
		close(hung[i]);
	return NULL;
}

// Servers still running: a failed assertion longjmps past srv_stop; the teardown stops them.
static struct srv *live[8];

static struct srv *srv_start(enum srv_mode mode, const char *body, size_t len)
{
	struct srv *s = calloc(1, sizeof(*s));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	assert_non_null(s);
	s->mode = mode;
	s->body = body;
	s->body_len = len;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->lfd, 16), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&s->thr, NULL, srv_main, s), 0);
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (!live[i]) {
			live[i] = s;
			break;
		}
	return s;
}

static void srv_stop(struct srv *s)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i] == s)
			live[i] = NULL;
	atomic_store(&s->stop, true);
	pthread_join(s->thr, NULL);
	close(s->lfd);
	free(s);
}

static void url_of(const struct srv *s, const char *path, char *u, size_t n)
{
	snprintf(u, n, "http://127.0.0.1:%u%s", s->port, path);
}

/* ------------------------------------------------------------------ fetch */

static void test_fetch_ok_404_html(void **state)
{
	static const char html[] = "<html><head><title>Hello</title></head></html>\n";
	struct mt_gm_sample s, want;
	char u[128], why[MT_GM_REASON_LEN];
	struct srv *sv;

	(void)state;
	sv = srv_start(SRV_BODY, prom_1_14, sizeof(prom_1_14) - 1);
	url_of(sv, "/metrics", u, sizeof(u));
	assert_int_equal(mt_gm_scrape(u, NULL, &s, why, sizeof(why)), 0);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 136953856);
	/* the whole body came through: the numbers are those of the page parsed here */
	assert_int_equal(mt_gm_parse(prom_1_14, sizeof(prom_1_14) - 1, &want, why, sizeof(why)), 0);
	assert_int_equal(s.format, want.format);
	assert_int_equal(s.present, want.present);
	assert_memory_equal(s.v, want.v, sizeof(s.v));
	assert_string_equal(sv->last_path, "/metrics");
	srv_stop(sv);

	sv = srv_start(SRV_404, NULL, 0);
	url_of(sv, "/metrics", u, sizeof(u));
	assert_int_equal(mt_gm_scrape(u, NULL, &s, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "404"));
	assert_one_line(why);
	srv_stop(sv);

	sv = srv_start(SRV_BODY, html, sizeof(html) - 1);
	url_of(sv, "/metrics", u, sizeof(u));
	assert_int_equal(mt_gm_scrape(u, NULL, &s, why, sizeof(why)), -EINVAL);
	assert_non_null(strstr(why, "HTML"));
	assert_one_line(why);
	srv_stop(sv);

	// nothing listening on that port any more
	assert_int_equal(mt_gm_scrape(u, NULL, &s, why, sizeof(why)), -ECONNREFUSED);
	assert_one_line(why);
}

static void test_fetch_refuses(void **state)
{
	struct mt_gm_sample s;
	char why[MT_GM_REASON_LEN];

	(void)state;
	assert_int_equal(mt_gm_scrape("https://127.0.0.1:1/metrics", NULL, &s, why, sizeof(why)),
			 -EPROTONOSUPPORT);
	assert_non_null(strstr(why, "https"));
	assert_int_equal(mt_gm_scrape("file:///etc/passwd", NULL, &s, why, sizeof(why)),
			 -EPROTONOSUPPORT);
	assert_int_equal(mt_gm_scrape("ftp://127.0.0.1/x", NULL, &s, why, sizeof(why)),
			 -EPROTONOSUPPORT);
	assert_int_equal(mt_gm_scrape("127.0.0.1:8080/metrics", NULL, &s, why, sizeof(why)), -EINVAL);
	assert_int_equal(mt_gm_scrape("", NULL, &s, why, sizeof(why)), -EINVAL);
	assert_one_line(why);
}

// A proxy in the environment is not used: the scrape goes straight to loopback.
static void test_fetch_no_proxy(void **state)
{
	struct mt_gm_sample s;
	char u[128], why[MT_GM_REASON_LEN];
	struct srv *sv;

	(void)state;
	sv = srv_start(SRV_BODY, prom_1_14, sizeof(prom_1_14) - 1);
	url_of(sv, "/metrics", u, sizeof(u));
	setenv("http_proxy", "http://127.0.0.1:1", 1);
	setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
	setenv("ALL_PROXY", "http://127.0.0.1:1", 1);
	int err = mt_gm_scrape(u, NULL, &s, why, sizeof(why));
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("ALL_PROXY");
	assert_int_equal(err, 0);
	srv_stop(sv);
}

static void test_fetch_redirects(void **state)
{
	struct mt_gm_sample s;
	char u[128], why[MT_GM_REASON_LEN];
	struct srv *sv;

	(void)state;
	sv = srv_start(SRV_REDIRECT, prom_1_14, sizeof(prom_1_14) - 1);
	snprintf(sv->location, sizeof(sv->location), "http://127.0.0.1:%u/real/metrics", sv->port);
	url_of(sv, "/metrics", u, sizeof(u));
	assert_int_equal(mt_gm_scrape(u, NULL, &s, why, sizeof(why)), 0);
	assert_string_equal(sv->last_path, "/real/metrics");
	assert_int_equal(atomic_load(&sv->requests), 2);
	// another host (127.0.0.2 is loopback too, but not the host asked for): not followed
	snprintf(sv->location, sizeof(sv->location), "http://127.0.0.2:%u/real/metrics", sv->port);
	assert_int_equal(mt_gm_scrape(u, NULL, &s, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "not followed"));
	assert_int_equal(atomic_load(&sv->requests), 3);
	// another port
	snprintf(sv->location, sizeof(sv->location), "http://127.0.0.1:%u/real/metrics",
		 sv->port == 65535 ? 1 : sv->port + 1);
	assert_int_equal(mt_gm_scrape(u, NULL, &s, why, sizeof(why)), -EBADMSG);
	// https on the same host
	snprintf(sv->location, sizeof(sv->location), "https://127.0.0.1:%u/real/metrics", sv->port);
	assert_int_equal(mt_gm_scrape(u, NULL, &s, why, sizeof(why)), -EBADMSG);
	// a loop on itself: bounded
	sv->mode = SRV_LOOP;
	snprintf(sv->location, sizeof(sv->location), "http://127.0.0.1:%u/again", sv->port);
	unsigned before = atomic_load(&sv->requests);
	assert_int_equal(mt_gm_scrape(u, NULL, &s, why, sizeof(why)), -ELOOP);
	assert_int_equal(atomic_load(&sv->requests) - before, 4);
	srv_stop(sv);
}

static long maxrss_kib(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void test_fetch_huge(void **state)
{
	struct mt_gm_fetch_opts o = { .max_body = 4 * MiB };
	struct mt_gm_sample s;
	char u[128], why[MT_GM_REASON_LEN];
	struct srv *sv;
	long rss0 = maxrss_kib();
	uint64_t t0 = now_ns();

	(void)state;
	sv = srv_start(SRV_HUGE, NULL, 0);
	url_of(sv, "/metrics", u, sizeof(u));
	assert_int_equal(mt_gm_scrape(u, &o, &s, why, sizeof(why)), -EFBIG);
	assert_non_null(strstr(why, "larger than"));
	assert_one_line(why);
	srv_stop(sv);
	// the client hung up: far from all of the 100 MiB was sent (socket buffers aside)
	print_message("# huge body: %.1f s, max RSS +%ld KiB\n", (double)(now_ns() - t0) / 1e9,
		      maxrss_kib() - rss0);
	sv = srv_start(SRV_HUGE_CL, NULL, 0);
	url_of(sv, "/metrics", u, sizeof(u));
	assert_int_equal(mt_gm_scrape(u, &o, &s, why, sizeof(why)), -EFBIG);
	assert_true(atomic_load(&sv->sent) < 16ull * MiB);
	srv_stop(sv);
	assert_true(now_ns() - t0 < 5000000000ull);
	assert_true(maxrss_kib() - rss0 < 24 * 1024);
}

static void test_fetch_hang(void **state)
{
	struct mt_gm_fetch_opts o = { .connect_timeout_ms = 300, .timeout_ms = 500 };
	struct mt_gm_sample s;
	char u[128], why[MT_GM_REASON_LEN];
	struct srv *sv;
	uint64_t t0, dt;

	(void)state;
	sv = srv_start(SRV_HANG, NULL, 0);
	url_of(sv, "/metrics", u, sizeof(u));
	t0 = now_ns();
	assert_int_equal(mt_gm_scrape(u, &o, &s, why, sizeof(why)), -ETIMEDOUT);
	dt = now_ns() - t0;
	assert_true(dt >= 450000000ull && dt < 1500000000ull);
	assert_one_line(why);
	srv_stop(sv);
}

/* ---------------------------------------------------------------- sampler */

struct collect {
	pthread_mutex_t mu;
	struct mt_gm_sample s[4096];
	uint64_t t[4096];
	size_t n;
	int errs[64];
	char reasons[64][MT_GM_REASON_LEN];
	size_t nerr;
	pthread_t cb_thread;
};

static void on_sample(void *ctx, const struct mt_gm_sample *s, uint64_t t)
{
	struct collect *c = ctx;

	pthread_mutex_lock(&c->mu);
	c->cb_thread = pthread_self();
	if (c->n < 4096) {
		c->s[c->n] = *s;
		c->t[c->n++] = t;
	}
	pthread_mutex_unlock(&c->mu);
}

static void on_error(void *ctx, int err, const char *reason)
{
	struct collect *c = ctx;

	pthread_mutex_lock(&c->mu);
	if (c->nerr < 64) {
		c->errs[c->nerr] = err;
		snprintf(c->reasons[c->nerr++], MT_GM_REASON_LEN, "%s", reason);
	}
	pthread_mutex_unlock(&c->mu);
}

static struct collect *collect_new(void)
{
	struct collect *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	pthread_mutex_init(&c->mu, NULL);
	return c;
}

static void test_sampler(void **state)
{
	struct collect *c = collect_new();
	char u[128], why[MT_GM_REASON_LEN];
	struct mt_gometrics *g;
	struct mt_gm_stats st;
	struct srv *sv;
	uint64_t t0, t1;

	(void)state;
	sv = srv_start(SRV_BODY, prom_1_14, sizeof(prom_1_14) - 1);
	url_of(sv, "/metrics", u, sizeof(u));
	struct mt_gm_opts o = { .url = u, .interval_ns = 50000000ull, .on_sample = on_sample,
				.on_error = on_error, .ctx = c };
	assert_int_equal(mt_gometrics__new(&o, &g, why, sizeof(why)), 0);
	t0 = now_ns();
	assert_int_equal(mt_gometrics__start(g), 0);
	assert_int_equal(mt_gometrics__start(g), -EALREADY);
	usleep(530000);
	assert_int_equal(mt_gometrics__stop(g), 0);
	t1 = now_ns();
	mt_gometrics__stats(g, &st);
	// 50 ms from an immediate first scrape over ~530 ms: 11, give or take a tick
	assert_in_range(c->n, 9, 12);
	assert_int_equal(st.samples, c->n);
	assert_int_equal(st.failures, 0);
	assert_false(pthread_equal(c->cb_thread, pthread_self()));
	for (size_t i = 0; i < c->n; i++) {
		assert_int_equal(c->s[i].v[MT_GM_HEAP_RELEASED], 136953856);
		assert_true(c->t[i] > t0 && c->t[i] < t1);
		// first-byte times jitter with the load: in order, not evenly spaced
		if (i)
			assert_true(c->t[i] > c->t[i - 1]);
	}
	// restartable; stop twice is fine
	assert_int_equal(mt_gometrics__stop(g), 0);
	// a failing endpoint: one error callback per kind, every failure counted
	sv->mode = SRV_404;
	assert_int_equal(mt_gometrics__start(g), 0);
	usleep(300000);
	sv->mode = SRV_BODY;
	sv->body = "<html></html>\n";
	sv->body_len = 14;
	usleep(300000);
	assert_int_equal(mt_gometrics__stop(g), 0);
	mt_gometrics__stats(g, &st);
	assert_true(st.failures >= 8);
	assert_int_equal(c->nerr, 2);
	assert_int_equal(c->errs[0], -ENOENT);
	assert_int_equal(c->errs[1], -EINVAL);
	assert_non_null(strstr(c->reasons[1], "HTML"));
	mt_gometrics__free(g);
	srv_stop(sv);
	free(c);
}

// A hung endpoint: stop returns within the request timeout, not after it.
static void test_sampler_stop_hung(void **state)
{
	struct collect *c = collect_new();
	char u[128], why[MT_GM_REASON_LEN];
	struct mt_gometrics *g;
	struct srv *sv;
	uint64_t t0, dt;

	(void)state;
	sv = srv_start(SRV_HANG, NULL, 0);
	url_of(sv, "/metrics", u, sizeof(u));
	struct mt_gm_opts o = { .url = u, .interval_ns = 100000000ull, .on_sample = on_sample,
				.on_error = on_error, .ctx = c,
				.fetch = { .timeout_ms = 5000 } };
	assert_int_equal(mt_gometrics__new(&o, &g, why, sizeof(why)), 0);
	assert_int_equal(mt_gometrics__start(g), 0);
	usleep(200000);
	t0 = now_ns();
	mt_gometrics__free(g);
	dt = now_ns() - t0;
	print_message("# stop during a hung request: %.0f ms\n", (double)dt / 1e6);
	// libcurl calls the progress callback about once a second at worst while idle
	assert_true(dt < 1500000000ull);
	// the abort is not a failure to report
	assert_int_equal(c->nerr, 0);
	srv_stop(sv);
	free(c);
}

static void stop_from_cb(void *ctx, const struct mt_gm_sample *s, uint64_t t)
{
	struct mt_gometrics **g = ctx;

	(void)s, (void)t;
	if (*g && mt_gometrics__stop(*g) == -EDEADLK)
		*g = NULL;	/* tells the test */
}

static void test_sampler_args(void **state)
{
	struct mt_gometrics *g = NULL, *seen;
	char why[MT_GM_REASON_LEN];
	struct srv *sv;
	char u[128];

	(void)state;
	struct mt_gm_opts bad = { .url = "http://127.0.0.1:1/metrics" };
	assert_int_equal(mt_gometrics__new(&bad, &g, why, sizeof(why)), -EINVAL);
	bad.on_sample = on_sample;
	bad.url = "https://127.0.0.1:1/metrics";
	assert_int_equal(mt_gometrics__new(&bad, &g, why, sizeof(why)), -EPROTONOSUPPORT);
	bad.url = "http://127.0.0.1:1/metrics";
	bad.interval_ns = 1000;
	assert_int_equal(mt_gometrics__new(&bad, &g, why, sizeof(why)), -EINVAL);
	bad.url = NULL;
	bad.interval_ns = 0;
	assert_int_equal(mt_gometrics__new(&bad, &g, why, sizeof(why)), -EINVAL);
	mt_gometrics__free(NULL);
	// stop from inside the callback: refused, not a deadlock
	sv = srv_start(SRV_BODY, prom_1_14, sizeof(prom_1_14) - 1);
	url_of(sv, "/metrics", u, sizeof(u));
	struct mt_gm_opts o = { .url = u, .interval_ns = 20000000ull, .on_sample = stop_from_cb,
				.ctx = &seen };
	assert_int_equal(mt_gometrics__new(&o, &g, why, sizeof(why)), 0);
	seen = g;
	assert_int_equal(mt_gometrics__start(g), 0);
	usleep(100000);
	mt_gometrics__free(g);
	assert_null(seen);
	srv_stop(sv);
}

/* -------------------------------------------------------------- discovery */

static void test_discover_self(void **state)
{
	static const char vars[] = "{\"memstats\":{\"HeapReleased\":4096,\"NumGC\":2}}\n";
	struct mt_gm_sample s;
	char url[256], want[128], why[MT_GM_REASON_LEN];
	struct srv *sv;

	(void)state;
	// this process, serving expvar only: /metrics 404s, /debug/vars is the one
	sv = srv_start(SRV_EXPVAR_ONLY, vars, sizeof(vars) - 1);
	assert_int_equal(mt_gm_discover(getpid(), NULL, url, sizeof(url), &s, why, sizeof(why)), 0);
	url_of(sv, "/debug/vars", want, sizeof(want));
	assert_string_equal(url, want);
	assert_int_equal(s.format, MT_GM_FMT_EXPVAR);
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 4096);
	// serving Prometheus everywhere: /metrics is preferred
	sv->mode = SRV_BODY;
	sv->body = prom_1_14;
	sv->body_len = sizeof(prom_1_14) - 1;
	assert_int_equal(mt_gm_discover(getpid(), NULL, url, sizeof(url), &s, why, sizeof(why)), 0);
	url_of(sv, "/metrics", want, sizeof(want));
	assert_string_equal(url, want);
	// serving HTML: found nothing, and says what it tried
	sv->body = "<html></html>\n";
	sv->body_len = 14;
	assert_int_equal(mt_gm_discover(getpid(), NULL, url, sizeof(url), &s, why, sizeof(why)),
			 -ENOENT);
	assert_non_null(strstr(why, want));
	assert_one_line(why);
	srv_stop(sv);
	// the sampler discovers too
	struct collect *c = collect_new();
	sv = srv_start(SRV_BODY, prom_1_14, sizeof(prom_1_14) - 1);
	struct mt_gometrics *g;
	struct mt_gm_opts o = { .pid = getpid(), .on_sample = on_sample, .ctx = c };
	assert_int_equal(mt_gometrics__new(&o, &g, why, sizeof(why)), 0);
	/* and samples what it found: /metrics */
	sv->last_path[0] = '\0';
	assert_int_equal(mt_gometrics__start(g), 0);
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&c->mu);
		size_t n = c->n;
		pthread_mutex_unlock(&c->mu);
		if (n)
			break;
		usleep(10000);
	}
	assert_int_equal(mt_gometrics__stop(g), 0);
	assert_true(c->n >= 1);
	assert_int_equal(c->s[0].format, MT_GM_FMT_PROMETHEUS);
	assert_string_equal(sv->last_path, "/metrics");
	mt_gometrics__free(g);
	srv_stop(sv);
	free(c);
}

static pid_t spawn(char *const argv[])
{
	pid_t pid;

	assert_int_equal(posix_spawn(&pid, argv[0], NULL, NULL, argv, environ), 0);
	return pid;
}

static void test_discover_errors(void **state)
{
	struct mt_gm_sample s;
	char url[256], why[MT_GM_REASON_LEN];
	pid_t pid;
	int status;

	(void)state;
	// a process that listens nowhere (our listening sockets are CLOEXEC)
	pid = spawn((char *[]){ "/bin/sleep", "5", NULL });
	usleep(100000);
	assert_int_equal(mt_gm_discover(pid, NULL, url, sizeof(url), &s, why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "listens on no TCP socket"));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	// gone
	assert_int_equal(mt_gm_discover(pid, NULL, url, sizeof(url), &s, why, sizeof(why)), -ESRCH);
	assert_int_equal(mt_gm_discover(0, NULL, url, sizeof(url), &s, why, sizeof(why)), -EINVAL);
	// another user's process: as root, drop to nobody in a child and look at us
	if (geteuid() == 0) {
		pid_t parent = getpid();

		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int e;

			if (setgid(65534) || setuid(65534))
				_exit(99);
			e = mt_gm_discover(parent, NULL, url, sizeof(url), &s, why, sizeof(why));
			_exit(e == -EACCES && strstr(why, "another user's process") ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	} else {
		assert_int_equal(mt_gm_discover(1, NULL, url, sizeof(url), &s, why, sizeof(why)),
				 -EACCES);
		assert_non_null(strstr(why, "another user's process"));
	}
}

/* -------------------------------------------------------------- metricsvc */

static bool metricsvc_present(void)
{
	const char *ci = getenv("CI");

	if (MT_TEST_METRICSVC[0] && access(MT_TEST_METRICSVC, X_OK) == 0)
		return true;
	if (ci && strcmp(ci, "true") == 0)
		fail_msg("tests/go/metricsvc is not built (\"%s\"): it needs go and "
			 "golang-github-prometheus-client-golang-dev (scripts/setup.sh)",
			 MT_TEST_METRICSVC);
	print_message("# SKIP: tests/go/metricsvc is not built (needs go and "
		      "golang-github-prometheus-client-golang-dev); with CI=true this fails\n");
	return false;
}

struct logline {
	uint64_t t;
	uint64_t v[MT_GM__NR];
	char phase[16];
};

static size_t read_log(const char *path, struct logline *ls, size_t max)
{
	static const char *const keys[MT_GM__NR] = {
		"HeapReleased", "HeapIdle", "HeapInuse", "HeapSys",
		"Sys", "StackInuse", "NextGC", "NumGC",
	};
	char line[4096];
	size_t n = 0;
	FILE *fp = fopen(path, "r");

	assert_non_null(fp);
	while (n < max && fgets(line, sizeof(line), fp)) {
		struct json_object *o = json_tokener_parse(line), *v;

		if (!o)
			continue;
		assert_true(json_object_object_get_ex(o, "t_ns", &v));
		ls[n].t = json_object_get_uint64(v);
		assert_true(json_object_object_get_ex(o, "phase", &v));
		snprintf(ls[n].phase, sizeof(ls[n].phase), "%s", json_object_get_string(v));
		for (int f = 0; f < MT_GM__NR; f++) {
			assert_true(json_object_object_get_ex(o, keys[f], &v));
			ls[n].v[f] = json_object_get_uint64(v);
		}
		json_object_put(o);
		n++;
	}
	fclose(fp);
	return n;
}

// metricsvc's port, from its -port-file (the oracle for discovery, not its input).
static unsigned read_port(const char *path, uint64_t deadline)
{
	unsigned port = 0;

	while (now_ns() < deadline) {
		FILE *fp = fopen(path, "r");

		if (fp) {
			int ok = fscanf(fp, "%u", &port);

			fclose(fp);
			if (ok == 1)
				return port;
		}
		usleep(20000);
	}
	return 0;
}

static void test_metricsvc(void **state)
{
	const uint64_t tick = 50000000ull;
	char dir[] = "/tmp/test_gometrics.XXXXXX", logp[128], portp[128], url[256], want[64];
	char why[MT_GM_REASON_LEN];
	struct mt_gm_sample s;
	struct collect *c;
	struct mt_gometrics *g;
	struct logline *ls;
	size_t nls, exact = 0, bracketed = 0;
	uint64_t deadline;
	pid_t pid;
	int status, err = -1;

	(void)state;
	if (!metricsvc_present())
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(logp, sizeof(logp), "%s/log", dir);
	snprintf(portp, sizeof(portp), "%s/port", dir);
	pid = spawn((char *[]){ (char *)MT_TEST_METRICSVC, "-listen", "127.0.0.1:0",
				"-port-file", portp, "-log", logp, "-every", "50ms",
				"-wait", "600ms", "-size", "64", "-idle", "1s", "-hold", "800ms",
				"-serve-after", "300ms", NULL });
	// discovery, told nothing but the pid: retried until metricsvc listens (bounded)
	deadline = now_ns() + 5000000000ull;
	while (now_ns() < deadline) {
		err = mt_gm_discover(pid, NULL, url, sizeof(url), &s, why, sizeof(why));
		if (!err)
			break;
		usleep(20000);
	}
	if (err)
		fail_msg("discovery of metricsvc: %s", why);
	snprintf(want, sizeof(want), "http://127.0.0.1:%u/metrics", read_port(portp, deadline));
	assert_string_equal(url, want);
	assert_int_equal(s.format, MT_GM_FMT_PROMETHEUS);
	// client_golang 1.14's names give all eight
	assert_int_equal(s.present, ALL_FIELDS);
	// and expvar's
	char vars[256];
	snprintf(vars, sizeof(vars), "%.*s/debug/vars", (int)(strlen(url) - strlen("/metrics")), url);
	assert_int_equal(mt_gm_scrape(vars, NULL, &s, why, sizeof(why)), 0);
	assert_int_equal(s.format, MT_GM_FMT_EXPVAR);
	assert_int_equal(s.present, ALL_FIELDS);

	c = collect_new();
	struct mt_gm_opts o = { .url = url, .interval_ns = 2 * tick, .on_sample = on_sample,
				.on_error = on_error, .ctx = c };
	assert_int_equal(mt_gometrics__new(&o, &g, why, sizeof(why)), 0);
	assert_int_equal(mt_gometrics__start(g), 0);
	// metricsvc runs ~3 s; bounded wait for its exit
	deadline = now_ns() + 20000000000ull;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ns() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fail_msg("metricsvc did not exit in 20 s");
		}
		usleep(20000);
	}
	mt_gometrics__free(g);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	ls = calloc(4096, sizeof(*ls));
	nls = read_log(logp, ls, 4096);
	assert_true(nls > 20);
	assert_true(c->n > 10);
	/*
	 * Each sample against the log. The two readers are 50 ms apart at best,
	 * and HeapReleased moves between them: the background scavenger releases
	 * in small steps and the scrape's own allocations take a few released
	 * pages back (observed: tens of KiB, up to 600 KiB in the first scrapes
	 * of a fresh process). So: a sample equals a line logged within one tick
	 * of it (exact), or lies within the values logged within one tick, give
	 * or take 1 MiB (the release checked is 64 MiB). Exact matches must be
	 * there too (observed: about half): a value merely close to the oracle
	 * would be a wrong series or a lossy parse. A sample with no line within
	 * one tick (the logger held up by FreeOSMemory's scavenging under load)
	 * has no oracle: counted, not checked. While the heap grows
	 * (from the "start" line + -wait to the "grown" line) HeapReleased swings
	 * by megabytes inside a tick: no 50 ms log can be the oracle there.
	 */
	const uint64_t slack = MiB, wait = 600000000ull;
	uint64_t t_start = 0, t_grown = 0, lo_seen = UINT64_MAX, hi_seen = 0;
	size_t checked = 0, unchecked = 0;
	for (size_t j = 0; j < nls; j++) {
		if (!strcmp(ls[j].phase, "start"))
			t_start = ls[j].t;
		else if (!strcmp(ls[j].phase, "grown"))
			t_grown = ls[j].t;
	}
	assert_true(t_start && t_grown > t_start);
	for (size_t i = 0; i < c->n; i++) {
		uint64_t t = c->t[i], v = c->s[i].v[MT_GM_HEAP_RELEASED];
		uint64_t lo = UINT64_MAX, hi = 0;
		bool eq = false;

		assert_int_equal(c->s[i].present, ALL_FIELDS);
		if (v < lo_seen)
			lo_seen = v;
		if (v > hi_seen)
			hi_seen = v;
		if (t + tick >= t_start + wait && t <= t_grown + tick)
			continue;
		for (size_t j = 0; j < nls; j++) {
			if (ls[j].t + tick < t || ls[j].t > t + tick)
				continue;
			eq |= ls[j].v[MT_GM_HEAP_RELEASED] == v;
			if (ls[j].v[MT_GM_HEAP_RELEASED] < lo)
				lo = ls[j].v[MT_GM_HEAP_RELEASED];
			if (ls[j].v[MT_GM_HEAP_RELEASED] > hi)
				hi = ls[j].v[MT_GM_HEAP_RELEASED];
		}
		if (getenv("MT_GOMETRICS_DEBUG"))
			print_message("# sample t=%" PRIu64 " v=%" PRIu64 " lo=%" PRIu64 " hi=%" PRIu64
				      " eq=%d\n", t, v, lo, hi, eq);
		if (lo == UINT64_MAX) {
			unchecked++;
			continue;
		}
		checked++;
		if (eq)
			exact++;
		else if (lo <= v + slack && v <= hi + slack)
			bracketed++;
		else
			fail_msg("sample %zu at t=%" PRIu64 ": HeapReleased %" PRIu64 " is not within "
				 "1 MiB of the values logged within one tick [%" PRIu64 ", %" PRIu64 "]",
				 i, t, v, lo, hi);
	}
	print_message("# metricsvc: %zu samples (%zu checked, %zu without a log line within one tick), "
		      "%zu log lines: %zu equal to a line within one tick, %zu within 1 MiB; "
		      "HeapReleased %" PRIu64 "..%" PRIu64 " MiB\n", c->n, checked, unchecked, nls,
		      exact, bracketed, lo_seen >> 20, hi_seen >> 20);
	// exact values, not a near copy, and the 64 MiB release seen
	assert_true(checked >= 15);
	assert_true(exact >= 5);
	assert_true(hi_seen - lo_seen >= 32ull * MiB);
	free(ls);
	free(c);
	unlink(logp);
	unlink(portp);
	rmdir(dir);
}

/* ---------------------------------------------------------- measurements */

// A Go service's page: the Go and process collectors and 2,000 series of its own.
static char *page_2000(size_t *len)
{
	size_t cap = 512 * 1024, k = 0;
	char *b = malloc(cap);

	assert_non_null(b);
	k += (size_t)snprintf(b + k, cap - k, "%s", prom_1_14);
	for (int i = 0; i < 2000; i++) {
		if (i % 20 == 0)
			k += (size_t)snprintf(b + k, cap - k,
					      "# HELP app_requests_%d_total Requests served.\n"
					      "# TYPE app_requests_%d_total counter\n", i / 20, i / 20);
		k += (size_t)snprintf(b + k, cap - k,
				      "app_requests_%d_total{code=\"200\",handler=\"/api/v1/items/%d\","
				      "method=\"GET\"} %.10g\n", i / 20, i, 1234567.0 * (i + 1));
		assert_true(k < cap - 256);
	}
	*len = k;
	return b;
}

static void test_measure(void **state)
{
	const char *env = getenv("MT_GOMETRICS_BENCH_SECS");
	unsigned secs = env ? (unsigned)atoi(env) : 4;
	struct mt_gm_sample s;
	char u[128], why[MT_GM_REASON_LEN];
	struct collect *c = collect_new();
	struct mt_gometrics *g;
	struct mt_gm_stats st;
	struct srv *sv;
	size_t len;
	char *page = page_2000(&len);
	uint64_t t0;
	const int reps = 200;

	(void)state;
	if (secs < 2 || secs > 600)
		secs = 4;
	t0 = now_ns();
	for (int i = 0; i < reps; i++)
		assert_int_equal(mt_gm_parse(page, len, &s, why, sizeof(why)), 0);
	double parse_us = (double)(now_ns() - t0) / reps / 1e3;
	assert_int_equal(s.v[MT_GM_HEAP_RELEASED], 136953856);
	print_message("# parse: %zu-byte page of 2,000 series + Go's: %.0f us\n", len, parse_us);

	sv = srv_start(SRV_BODY, page, len);
	url_of(sv, "/metrics", u, sizeof(u));
	struct mt_gm_opts o = { .url = u, .interval_ns = 1000000000ull, .on_sample = on_sample,
				.on_error = on_error, .ctx = c };
	assert_int_equal(mt_gometrics__new(&o, &g, why, sizeof(why)), 0);
	t0 = now_ns();
	assert_int_equal(mt_gometrics__start(g), 0);
	usleep(secs * 1000000u);
	assert_int_equal(mt_gometrics__stop(g), 0);
	double wall = (double)(now_ns() - t0);
	mt_gometrics__stats(g, &st);
	double pct = 100.0 * (double)st.thread_cpu_ns / wall;
	print_message("# scrape once a second for %u s: %" PRIu64 " samples, sampling thread CPU "
		      "%.2f ms = %.3f%% of one CPU\n", secs, st.samples, st.thread_cpu_ns / 1e6, pct);
	assert_in_range(st.samples, secs, secs + 1);
	assert_int_equal(st.failures, 0);
	assert_true(pct < 1.0);
	mt_gometrics__free(g);
	srv_stop(sv);
	free(page);
	free(c);
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (live[i])
			srv_stop(live[i]);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_prom_client_golang, teardown),
		cmocka_unit_test_teardown(test_prom_runtime_metrics, teardown),
		cmocka_unit_test_teardown(test_prom_old_names, teardown),
		cmocka_unit_test_teardown(test_prom_values, teardown),
		cmocka_unit_test_teardown(test_prom_labels_dups, teardown),
		cmocka_unit_test_teardown(test_prom_hostile, teardown),
		cmocka_unit_test_teardown(test_not_go, teardown),
		cmocka_unit_test_teardown(test_expvar, teardown),
		cmocka_unit_test_teardown(test_expvar_hostile, teardown),
		cmocka_unit_test_teardown(test_fetch_ok_404_html, teardown),
		cmocka_unit_test_teardown(test_fetch_refuses, teardown),
		cmocka_unit_test_teardown(test_fetch_no_proxy, teardown),
		cmocka_unit_test_teardown(test_fetch_redirects, teardown),
		cmocka_unit_test_teardown(test_fetch_huge, teardown),
		cmocka_unit_test_teardown(test_fetch_hang, teardown),
		cmocka_unit_test_teardown(test_sampler, teardown),
		cmocka_unit_test_teardown(test_sampler_stop_hung, teardown),
		cmocka_unit_test_teardown(test_sampler_args, teardown),
		cmocka_unit_test_teardown(test_discover_self, teardown),
		cmocka_unit_test_teardown(test_discover_errors, teardown),
		cmocka_unit_test_teardown(test_metricsvc, teardown),
		cmocka_unit_test_teardown(test_measure, teardown),
	};

	// the fetch tests write to sockets the server side may have closed
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
