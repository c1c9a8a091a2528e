// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
// The two bodies Go services expose, parsed into runtime.MemStats' numbers:
// the Prometheus text exposition format (client_golang's Go collector,
// every naming it has had) and expvar's JSON. Hand-written where the input
// is text: one pass, explicit lengths (bodies may hold NULs and are not
// NUL-terminated), nothing read past len.
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "gometrics.h"

// A longer line cannot be one of ours (HELP texts can be long: skipped whole).
#define MT_GM_MAX_LINE 4096
// json-c's nesting limit: memstats' BySize sits at depth 4, user vars deeper.
#define MT_GM_JSON_DEPTH 64

void mt_gm__reason(char *reason, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!reason || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(reason, len, fmt, ap);
	va_end(ap);
}

/*
 * Series of the runtime/metrics based collector (client_golang >= 1.12 with
 * the memstats series disabled): MemStats is a sum of some of them, as
 * client_golang's own memStatsFromRM computes it.
 */
enum rm_slot {
	RM_RELEASED,	/* /memory/classes/heap/released:bytes */
	RM_FREE,	/* /memory/classes/heap/free:bytes */
	RM_OBJECTS,	/* /memory/classes/heap/objects:bytes */
	RM_UNUSED,	/* /memory/classes/heap/unused:bytes */
	RM_TOTAL,	/* /memory/classes/total:bytes */
	RM_STACKS,	/* /memory/classes/heap/stacks:bytes */
	RM_GOAL,	/* /gc/heap/goal:bytes */
	RM_CYCLES,	/* /gc/cycles/total:gc-cycles */
	RM__NR,
};

struct series {
	const char *name;
	unsigned char len;
	bool rm;		/* slot is an enum rm_slot, not a field */
	unsigned char slot;
};

#define S(n, r, s) { n, sizeof(n) - 1, r, s }
static const struct series series[] = {
	// go_memstats_* (every client_golang since 2015; from runtime/metrics since 1.12)
	S("go_memstats_heap_released_bytes", false, MT_GM_HEAP_RELEASED),
	S("go_memstats_heap_idle_bytes", false, MT_GM_HEAP_IDLE),
	S("go_memstats_heap_inuse_bytes", false, MT_GM_HEAP_INUSE),
	S("go_memstats_heap_sys_bytes", false, MT_GM_HEAP_SYS),
	S("go_memstats_sys_bytes", false, MT_GM_SYS),
	S("go_memstats_stack_inuse_bytes", false, MT_GM_STACK_INUSE),
	S("go_memstats_next_gc_bytes", false, MT_GM_NEXT_GC),
	S("go_gc_duration_seconds_count", false, MT_GM_NUM_GC),
	// client_golang < 0.9 made it a counter (prometheus/client_golang#229)
	S("go_memstats_heap_released_bytes_total", false, MT_GM_HEAP_RELEASED),
	// runtime/metrics names (internal.RuntimeMetricsToProm)
	S("go_memory_classes_heap_released_bytes", true, RM_RELEASED),
	S("go_memory_classes_heap_free_bytes", true, RM_FREE),
	S("go_memory_classes_heap_objects_bytes", true, RM_OBJECTS),
	S("go_memory_classes_heap_unused_bytes", true, RM_UNUSED),
	S("go_memory_classes_total_bytes", true, RM_TOTAL),
	S("go_memory_classes_heap_stacks_bytes", true, RM_STACKS),
	S("go_gc_heap_goal_bytes", true, RM_GOAL),
	S("go_gc_cycles_total_gc_cycles_total", true, RM_CYCLES),
};
#undef S

static const struct series *find_series(const char *name, size_t len)
{
	if (len < 3 || memcmp(name, "go_", 3) != 0)
		return NULL;
	for (size_t i = 0; i < sizeof(series) / sizeof(series[0]); i++)
		if (series[i].len == len && memcmp(series[i].name, name, len) == 0)
			return &series[i];
	return NULL;
}

static bool is_name_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool is_name_char(unsigned char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t';
}

// 2^64 as a double: exact.
#define TWO_64 18446744073709551616.0

/*
 * A byte count or a count: a finite number in [0, 2^64). Integers are read
 * exactly; others ("1.36953856e+08", as Go's strconv writes float64) through
 * strtod on a bounded copy. NaN, Inf, negative, junk: false.
 */
static bool parse_value(const char *p, size_t n, uint64_t *out)
{
	char buf[64];
	char *end;
	double d;
	size_t i = 0;

	if (n == 0 || n >= sizeof(buf))
		return false;
	if (p[0] == '+')
		i = 1;
	if (i < n) {
		size_t j = i;
		uint64_t v = 0;

		while (j < n && p[j] >= '0' && p[j] <= '9') {
			unsigned dig = (unsigned)(p[j] - '0');

			if (v > (UINT64_MAX - dig) / 10)
				return false;
			v = v * 10 + dig;
			j++;
		}
		if (j == n && j > i) {
			*out = v;
			return true;
		}
	}
	memcpy(buf, p, n);
	buf[n] = '\0';
	for (size_t k = 0; k < n; k++) {
		// strtod would take hex, "nan(...)", "infinity": Prometheus values do not
		unsigned char c = (unsigned char)buf[k];

		if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' ||
		      c == '-'))
			return false;
	}
	errno = 0;
	d = strtod(buf, &end);
	if (end != buf + n || errno == ERANGE || !isfinite(d) || d < 0 || d >= TWO_64)
		return false;
	d = floor(d + 0.5);
	*out = d >= TWO_64 ? UINT64_MAX : (uint64_t)d;
	return true;
}

struct prom_state {
	uint64_t field[MT_GM__NR];
	uint32_t field_set;
	uint64_t rm[RM__NR];
	uint32_t rm_set;
	uint32_t go_seen;	/* Go series seen, usable or not */
	size_t samples;		/* well-formed sample lines */
	size_t comments;	/* '#' lines */
	size_t bad;		/* lines that are neither */
};

// One line, without its '\n' (and '\r'), n <= MT_GM_MAX_LINE.
static void prom_line(struct prom_state *st, const char *p, size_t n)
{
	size_t i = 0, name_end, v0;
	const struct series *s;
	uint64_t v;

	while (i < n && is_blank((unsigned char)p[i]))
		i++;
	if (i == n)
		return;
	if (p[i] == '#') {
		st->comments++;
		return;
	}
	if (!is_name_start((unsigned char)p[i])) {
		st->bad++;
		return;
	}
	size_t name0 = i;
	while (i < n && is_name_char((unsigned char)p[i]))
		i++;
	name_end = i;
	if (i < n && p[i] == '{') {
		// labels: name="value" pairs; a value may hold '}', ' ', '\"'
		bool in_str = false, closed = false;

		for (i++; i < n; i++) {
			char c = p[i];

			if (in_str) {
				if (c == '\\')
					i++;	/* the escaped byte; i < n checked by the loop */
				else if (c == '"')
					in_str = false;
			} else if (c == '"') {
				in_str = true;
			} else if (c == '}') {
				closed = true;
				i++;
				break;
			}
		}
		if (!closed) {
			st->bad++;
			return;
		}
	}
	if (i == n || !is_blank((unsigned char)p[i])) {
		st->bad++;
		return;
	}
	while (i < n && is_blank((unsigned char)p[i]))
		i++;
	v0 = i;
	while (i < n && !is_blank((unsigned char)p[i]))
		i++;
	if (i == v0) {
		st->bad++;
		return;
	}
	// an optional timestamp follows: not ours to check
	st->samples++;
	s = find_series(p + name0, name_end - name0);
	if (!s)
		return;
	st->go_seen++;
	if (!parse_value(p + v0, i - v0, &v))
		return;
	// duplicates: the first wins (a second one is not Go's own)
	if (s->rm) {
		if (!(st->rm_set & (1u << s->slot))) {
			st->rm[s->slot] = v;
			st->rm_set |= 1u << s->slot;
		}
	} else if (!(st->field_set & (1u << s->slot))) {
		st->field[s->slot] = v;
		st->field_set |= 1u << s->slot;
	}
}

static bool rm_has(const struct prom_state *st, uint32_t mask)
{
	return (st->rm_set & mask) == mask;
}

// Fill what go_memstats_* did not give from the runtime/metrics series.
static void prom_derive(struct prom_state *st)
{
#define B(x) (1u << (x))
#define FILL(f, mask, expr)                                                      \
	do {                                                                     \
		if (!(st->field_set & B(f)) && rm_has(st, (mask))) {             \
			st->field[f] = (expr);                                   \
			st->field_set |= B(f);                                   \
		}                                                                \
	} while (0)
	const uint64_t *r = st->rm;

	FILL(MT_GM_HEAP_RELEASED, B(RM_RELEASED), r[RM_RELEASED]);
	FILL(MT_GM_HEAP_IDLE, B(RM_RELEASED) | B(RM_FREE), r[RM_RELEASED] + r[RM_FREE]);
	FILL(MT_GM_HEAP_INUSE, B(RM_OBJECTS) | B(RM_UNUSED), r[RM_OBJECTS] + r[RM_UNUSED]);
	FILL(MT_GM_HEAP_SYS, B(RM_OBJECTS) | B(RM_UNUSED) | B(RM_RELEASED) | B(RM_FREE),
	     r[RM_OBJECTS] + r[RM_UNUSED] + r[RM_RELEASED] + r[RM_FREE]);
	FILL(MT_GM_SYS, B(RM_TOTAL), r[RM_TOTAL]);
	FILL(MT_GM_STACK_INUSE, B(RM_STACKS), r[RM_STACKS]);
	FILL(MT_GM_NEXT_GC, B(RM_GOAL), r[RM_GOAL]);
	FILL(MT_GM_NUM_GC, B(RM_CYCLES), r[RM_CYCLES]);
#undef FILL
#undef B
}

int mt_gm_parse_prometheus(const char *body, size_t len, struct mt_gm_sample *out,
			   char *reason, size_t reason_len)
{
	struct prom_state st;
	size_t pos = 0;

	memset(&st, 0, sizeof(st));
	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *nl = memchr(body + pos, '\n', len - pos);
		size_t n;

		if (!nl)
			break;	/* an unterminated last line may have been cut */
		n = (size_t)(nl - (body + pos));
		if (n > 0 && body[pos + n - 1] == '\r')
			n--;
		if (n <= MT_GM_MAX_LINE)
			prom_line(&st, body + pos, n);
		else
			st.bad++;
		pos += (size_t)(nl - (body + pos)) + 1;
	}
	prom_derive(&st);
	if (st.field_set) {
		memcpy(out->v, st.field, sizeof(out->v));
		out->present = st.field_set;
		out->format = MT_GM_FMT_PROMETHEUS;
		return 0;
	}
	if (st.go_seen)
		mt_gm__reason(reason, reason_len,
			   "Go runtime series without a usable value (NaN, Inf, negative or junk)");
	else if (st.samples)
		mt_gm__reason(reason, reason_len,
			   "a Prometheus page without Go runtime series (go_memstats_*, "
			   "go_memory_classes_*): not a Go program, or no Go collector registered");
	else if (st.comments && !st.bad)
		mt_gm__reason(reason, reason_len, "a Prometheus page with no series");
	else
		mt_gm__reason(reason, reason_len, "neither Prometheus text nor expvar JSON");
	return -EINVAL;
}

// A JSON number as a count: integral or not, finite, in [0, 2^64).
static bool json_count(struct json_object *o, uint64_t *out)
{
	switch (json_object_get_type(o)) {
	case json_type_int:
		// json-c keeps values over INT64_MAX as uint64: get_int64 clamps them to INT64_MAX
		if (json_object_get_int64(o) < 0)
			return false;
		*out = json_object_get_uint64(o);
		return true;
	case json_type_double: {
		double d = json_object_get_double(o);

		if (!isfinite(d) || d < 0 || d >= TWO_64)
			return false;
		*out = (uint64_t)d;
		return true;
	}
	default:
		return false;
	}
}

int mt_gm_parse_expvar(const char *body, size_t len, struct mt_gm_sample *out,
		       char *reason, size_t reason_len)
{
	static const char *const keys[MT_GM__NR] = {
		[MT_GM_HEAP_RELEASED] = "HeapReleased", [MT_GM_HEAP_IDLE] = "HeapIdle",
		[MT_GM_HEAP_INUSE] = "HeapInuse",	[MT_GM_HEAP_SYS] = "HeapSys",
		[MT_GM_SYS] = "Sys",			[MT_GM_STACK_INUSE] = "StackInuse",
		[MT_GM_NEXT_GC] = "NextGC",		[MT_GM_NUM_GC] = "NumGC",
	};
	struct json_tokener *tok = NULL;
	struct json_object *root = NULL, *ms;
	enum json_tokener_error jerr;
	size_t end;
	int err = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (len > INT_MAX) {
		mt_gm__reason(reason, reason_len, "JSON body of %zu bytes: too large", len);
		return -E2BIG;
	}
	tok = json_tokener_new_ex(MT_GM_JSON_DEPTH);
	if (!tok) {
		mt_gm__reason(reason, reason_len, "out of memory for the JSON parser");
		return -ENOMEM;
	}
	root = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	if (!root) {
		if (jerr == json_tokener_error_depth) {
			mt_gm__reason(reason, reason_len, "JSON nested deeper than %d levels",
				   MT_GM_JSON_DEPTH);
			err = -E2BIG;
		} else if (jerr == json_tokener_continue) {
			mt_gm__reason(reason, reason_len, "truncated JSON");
		} else {
			mt_gm__reason(reason, reason_len, "not JSON at byte %zu: %s",
				   json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
		}
		goto cleanup;
	}
	end = json_tokener_get_parse_end(tok);
	while (end < len && (body[end] == ' ' || body[end] == '\t' || body[end] == '\n' ||
			     body[end] == '\r'))
		end++;
	if (end < len) {
		mt_gm__reason(reason, reason_len, "data after the JSON value at byte %zu", end);
		goto cleanup;
	}
	if (!json_object_is_type(root, json_type_object)) {
		mt_gm__reason(reason, reason_len, "JSON that is not an object");
		goto cleanup;
	}
	if (!json_object_object_get_ex(root, "memstats", &ms)) {
		mt_gm__reason(reason, reason_len,
			   "JSON without \"memstats\" (not expvar's /debug/vars of a Go program)");
		goto cleanup;
	}
	if (!json_object_is_type(ms, json_type_object)) {
		mt_gm__reason(reason, reason_len, "JSON whose \"memstats\" is not an object");
		goto cleanup;
	}
	for (int f = 0; f < MT_GM__NR; f++) {
		struct json_object *v;

		if (json_object_object_get_ex(ms, keys[f], &v) && json_count(v, &out->v[f]))
			out->present |= 1u << f;
	}
	if (!out->present) {
		mt_gm__reason(reason, reason_len, "\"memstats\" without HeapReleased, HeapIdle, ... "
			   "as non-negative numbers");
		goto cleanup;
	}
	out->format = MT_GM_FMT_EXPVAR;
	err = 0;
cleanup:
	if (err)
		memset(out, 0, sizeof(*out));
	json_object_put(root);
	json_tokener_free(tok);
	return err;
}

int mt_gm_parse(const char *body, size_t len, struct mt_gm_sample *out, char *reason,
		size_t reason_len)
{
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	if (len >= 3 && memcmp(body, "\xef\xbb\xbf", 3) == 0)
		i = 3;	/* a UTF-8 BOM */
	while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
		i++;
	if (i == len) {
		mt_gm__reason(reason, reason_len, "an empty body");
		return -EINVAL;
	}
	switch (body[i]) {
	case '{':
		return mt_gm_parse_expvar(body + i, len - i, out, reason, reason_len);
	case '[':
		mt_gm__reason(reason, reason_len, "JSON that is not an object");
		return -EINVAL;
	case '<':
		mt_gm__reason(reason, reason_len, "an HTML or XML page, not metrics");
		return -EINVAL;
	default:
		return mt_gm_parse_prometheus(body + i, len - i, out, reason, reason_len);
	}
}
