// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fmt.h"

static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
#define NUNITS (int)(sizeof(units) / sizeof(units[0]))

char *mt_fmt_bytes(char *buf, size_t len, uint64_t bytes)
{
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return buf;
	}
	while (v >= 1024 && u < NUNITS - 1) {
		v /= 1024;
		u++;
	}
	/* 1023.96 MiB would print as "1024.0 MiB": say 1.0 GiB instead */
	if (v >= 1023.95 && u < NUNITS - 1) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

char *mt_size_str(char *buf, size_t len, uint64_t bytes)
{
	uint64_t div = 1024, t;
	int u = 0;

	if (bytes < 10240) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return buf;
	}
	while (u < NUNITS - 1 && bytes / 1024 >= div) {
		div *= 1024;
		u++;
	}
	if (bytes % div == 0) {
		snprintf(buf, len, "%" PRIu64 " %s", bytes / div, units[u]);
		return buf;
	}
	/* tenths, rounded; in 128 bits to stay exact for any 64-bit value */
	t = (uint64_t)(((unsigned __int128)bytes * 10 + div / 2) / div);
	/* 1048575 B is "1.0 MiB", not "1024.0 KiB" */
	if (t >= 10240 && u < NUNITS - 1) {
		div *= 1024;
		u++;
		t = (uint64_t)(((unsigned __int128)bytes * 10 + div / 2) / div);
	}
	snprintf(buf, len, "%" PRIu64 ".%" PRIu64 " %s", t / 10, t % 10, units[u]);
	return buf;
}

char *mt_size_arg_str(char *buf, size_t len, uint64_t bytes)
{
	if (bytes >= 10240) {
		for (int u = NUNITS - 1; u >= 0; u--) {
			uint64_t div = 1ull << (10 * (u + 1));

			if (bytes >= div && bytes % div == 0) {
				snprintf(buf, len, "%" PRIu64 " %s", bytes / div, units[u]);
				return buf;
			}
		}
	}
	snprintf(buf, len, "%" PRIu64 " B", bytes);
	return buf;
}

char *mt_fmt_duration(char *buf, size_t len, uint64_t ns)
{
	if (ns % 1000000000 == 0)
		snprintf(buf, len, "%" PRIu64 " s", ns / 1000000000);
	else if (ns % 1000000 == 0)
		snprintf(buf, len, "%" PRIu64 " ms", ns / 1000000);
	else if (ns % 1000 == 0)
		snprintf(buf, len, "%" PRIu64 " us", ns / 1000);
	else
		snprintf(buf, len, "%" PRIu64 " ns", ns);
	return buf;
}

char *mt_fmt_rel(char *buf, size_t len, uint64_t t, uint64_t t0)
{
	uint64_t d = t > t0 ? t - t0 : 0;

	snprintf(buf, len, "+%" PRIu64 ".%03" PRIu64 "s", d / 1000000000, d / 1000000 % 1000);
	return buf;
}

int mt_parse_duration(const char *s, uint64_t *ns)
{
	static const struct {
		const char *unit;
		double ns;
	} scale[] = { { "ns", 1 },   { "us", 1e3 },    { "ms", 1e6 },	 { "s", 1e9 },
		      { "m", 60e9 }, { "min", 60e9 }, { "h", 3600e9 }, { "", 1e9 } };
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v > 0) || *s == '-' || *s == '+')
		return -EINVAL;
	for (size_t i = 0; i < sizeof(scale) / sizeof(scale[0]); i++) {
		if (strcmp(end, scale[i].unit))
			continue;
		v *= scale[i].ns;
		if (v < 1 || v > 1e18)
			return -EINVAL;
		*ns = (uint64_t)llround(v);
		return 0;
	}
	return -EINVAL;
}
