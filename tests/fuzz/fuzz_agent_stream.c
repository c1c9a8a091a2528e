// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: any byte string, as one message on the agent's socket,
 * through mt_agent_stream__parse (what the preload backend reads). It must
 * not crash or read past the message (libFuzzer's buffer is exactly size
 * bytes: ASan sees one byte more); every record handed over is whole (its
 * size as its frame's, every byte readable), a note's text ends within it,
 * and the same message gives the same records each time.
 * Built with -DMT_FUZZ=ON by a clang build; run by run-fuzz.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "agent_proto.h"
#include "agent_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	int n;
	uint64_t sum;
};

static void take(void *ctx, const struct mt_hdr *rec)
{
	struct seen *s = ctx;
	const unsigned char *b = (const void *)rec;

	if (rec->size < sizeof(*rec) || rec->size > MT_AGENT_FRAME_MAX)
		abort();
	if (rec->type == MT_AGENT_NOTE) {
		const struct mt_agent_note *n = (const void *)rec;

		if (rec->size < sizeof(*n) || !memchr(n->text, '\0', sizeof(n->text)))
			abort();
	}
	for (size_t i = 0; i < rec->size; i++)
		s->sum = s->sum * 31 + b[i];
	s->n++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen a = { 0 }, b = { 0 };
	int ra = mt_agent_stream__parse(data, size, take, &a);
	int rb = mt_agent_stream__parse(data, size, take, &b);

	if (ra != rb || a.n != b.n || a.sum != b.sum || (ra >= 0 && ra != a.n))
		abort();
	return 0;
}
