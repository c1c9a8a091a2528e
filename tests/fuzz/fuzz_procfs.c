// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: any byte string, as the text of a /proc file, through
 * the recorder's parsers (loader/record/procparse.c: status, smaps_rollup,
 * maps lines) and the trace format's maps-line parse (format/records.c),
 * line by line as their callers read them (fgets: at most 4351 bytes).
 * They must not crash or read past the text (it is copied to a buffer of
 * exactly its size plus the NUL: ASan sees one byte more), a parsed maps
 * line's path lies inside the line, and both maps parsers agree on which
 * lines are lines and on their start and offset.
 * Built with -DMT_FUZZ=ON by a clang build; run by run-fuzz.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "procparse.h"
#include "records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(const char *line, size_t len)
{
	char *a = malloc(len + 1), *b = malloc(len + 1);
	struct mt_maps_file f;
	struct mt_mmap m;
	bool pa, pb;

	if (!a || !b)
		abort();
	memcpy(a, line, len);
	a[len] = '\0';
	memcpy(b, a, len + 1);
	pa = mt_procparse__maps_line(a, &f);
	pb = mt_maps_line__mmap(b, &m);
	if (pa) {
		if (f.path < a || f.path + f.path_len > a + strlen(a))
			abort();
		/* a line ours takes, the format's takes too, with the same numbers */
		if (!pb || m.addr != f.start || m.off != f.off || m.len != f.end - f.start)
			abort();
	}
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct mt_rss r;
	size_t off = 0;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&r, 0, sizeof(r));
	mt_procparse__status(text, &r);
	mt_procparse__smaps_rollup(text, &r);
	/* lines as fgets gives them: up to a newline (kept) or 4351 bytes */
	while (off < size) {
		size_t n = 0;

		while (off + n < size && n < 4351 && data[off + n] != '\n')
			n++;
		if (off + n < size && n < 4351)
			n++;
		one_line((const char *)data + off, n);
		off += n;
	}
	free(text);
	return 0;
}
