// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The agent's stream, read (agent_stream.h). */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "agent_proto.h"
#include "agent_stream.h"

int mt_agent_stream__parse(const void *msg, size_t len,
			   void (*fn)(void *ctx, const struct mt_hdr *rec), void *ctx)
{
	const unsigned char *buf = msg;
	union {
		struct mt_hdr h;
		struct mt_agent_note n;
		unsigned char b[MT_AGENT_FRAME_MAX];
	} u;
	size_t off = 0;
	uint32_t flen;
	int n = 0;

	while (off < len) {
		if (len - off < 4)
			return -EBADMSG;
		memcpy(&flen, buf + off, 4);
		if (flen < sizeof(struct mt_hdr) || flen > MT_AGENT_FRAME_MAX || flen > len - off - 4)
			return -EBADMSG;
		/* copied out: frames are only 4-byte aligned in the message */
		memcpy(u.b, buf + off + 4, flen);
		off += 4 + (size_t)flen;
		if (u.h.size != flen)
			continue;
		if (u.h.type == MT_AGENT_NOTE &&
		    (flen < sizeof(u.n) || !memchr(u.n.text, '\0', sizeof(u.n.text))))
			continue;
		fn(ctx, &u.h);
		n++;
	}
	return n;
}
