// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Run under --backend=preload: writes, on the agent's socket (MADVTRACE_FD),
 * COUNT agent notes announcing an exec of itself that never comes (the
 * agent's protocol: a 4-byte length, then a struct mt_agent_note,
 * loader/format/agent_proto.h), 64 to a message. A recorder that kept one
 * pending exec per note, and scanned them all at each record, would grow and
 * slow with COUNT (test_sec11_agent.py).
 *
 *   sec_notes COUNT
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include "agent_proto.h"

struct frame {
	uint32_t len;
	struct mt_agent_note n;
} __attribute__((packed));

int main(int argc, char **argv)
{
	static struct frame f[64];
	const char *fdv = getenv("MADVTRACE_FD");
	long count, sent = 0;

	if (argc != 2 || !fdv) {
		fprintf(stderr, "usage: MADVTRACE_FD=N sec_notes COUNT (under --backend=preload)\n");
		return 2;
	}
	count = atol(argv[1]);
	for (int i = 0; i < 64; i++) {
		f[i].len = sizeof(f[i].n);
		f[i].n.h.type = MT_AGENT_NOTE;
		f[i].n.h.size = sizeof(f[i].n);
		f[i].n.h.pid = f[i].n.h.tid = (uint32_t)getpid();
		f[i].n.level = MT_NOTE_EXEC;
		snprintf(f[i].n.text, sizeof(f[i].n.text), "/nonexistent/never-%d", i);
	}
	while (sent < count) {
		int n = count - sent < 64 ? (int)(count - sent) : 64;

		if (send(atoi(fdv), f, (size_t)n * sizeof(f[0]), 0) < 0) {
			perror("sec_notes: send");
			return 1;
		}
		sent += n;
	}
	printf("{\"case\":\"notes\",\"sent\":%ld}\n", sent);
	return 0;
}
