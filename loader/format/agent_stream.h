/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent-to-madvtrace stream, read: one SOCK_SEQPACKET message holds
 * whole frames, each a 4-byte length (host order) and a record of exactly
 * that size (docs/backends.md). The agent runs inside the traced program:
 * what it sends is the program's word, so every length is checked here,
 * once, by a function of bytes alone (tests/fuzz/fuzz_agent_stream.c).
 */
#ifndef MT_AGENT_STREAM_H
#define MT_AGENT_STREAM_H

#include <stddef.h>
#include "madvtrace/record.h"

#define MT_AGENT_FRAME_MAX 65535u

/*
 * Hand each record of one message to fn, copied to an aligned buffer, in
 * order. A frame whose record says another size than the frame is skipped
 * (its neighbours are fine); an agent note (MT_AGENT_NOTE) whose text has
 * no NUL is skipped too. Returns how many records fn got, or -EBADMSG at
 * a frame length out of bounds (shorter than a header, longer than
 * MT_AGENT_FRAME_MAX or than the rest of the message) or trailing bytes
 * too few for a length: the frames before it were handed over, nothing
 * after it is.
 */
int mt_agent_stream__parse(const void *msg, size_t len,
			   void (*fn)(void *ctx, const struct mt_hdr *rec), void *ctx);

#endif
