// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: any byte string, as a metrics endpoint's body, through
 * both gometrics parsers and the dispatcher. They must not crash, read past
 * the body (libFuzzer's buffer is exactly size bytes: ASan sees one byte
 * more), or hang; a result is either numbers (some present, nothing set
 * outside the eight) or a refusal of one line, the same each time.
 * Built with -DMT_FUZZ=ON by a clang build; run by run-fuzz.sh.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "gometrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef int (*parse_fn)(const char *, size_t, struct mt_gm_sample *, char *, size_t);

static void check(parse_fn fn, const char *body, size_t size)
{
	struct mt_gm_sample a, b;
	char ra[MT_GM_REASON_LEN], rb[MT_GM_REASON_LEN];
	int ea, eb;

	ra[0] = rb[0] = '\0';
	ea = fn(body, size, &a, ra, sizeof(ra));
	eb = fn(body, size, &b, rb, sizeof(rb));
	if (ea != eb || memcmp(&a, &b, sizeof(a)) || (ea && strcmp(ra, rb)))
		abort();	/* not deterministic */
	if (ea == 0) {
		if (!a.present || (a.present & ~((1u << MT_GM__NR) - 1)) ||
		    a.format == MT_GM_FMT_NONE)
			abort();
		for (int f = 0; f < MT_GM__NR; f++)
			if (!(a.present & (1u << f)) && a.v[f])
				abort();
		return;
	}
	if ((ea != -EINVAL && ea != -E2BIG && ea != -ENOMEM) || a.present || !ra[0] ||
	    strchr(ra, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;

	check(mt_gm_parse, body, size);
	check(mt_gm_parse_prometheus, body, size);
	check(mt_gm_parse_expvar, body, size);
	return 0;
}
