// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Run under --backend=preload: writes, on the agent's socket (MADVTRACE_FD),
 * an exec record in the agent's protocol (a 4-byte length, then a struct
 * mt_task, loader/format/agent_proto.h) that names another process, argv[1]
 * (test_sec2_preload.py). A recorder that trusts the pid in the record reads
 * that process's /proc (exe, GODEBUG) into this program's trace.
 *
 *   sec2_forge PID
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "madvtrace/record.h"

int main(int argc, char **argv)
{
	const char *fdv = getenv("MADVTRACE_FD");
	struct {
		uint32_t len;
		struct mt_task k;
	} __attribute__((packed)) f;
	struct timespec ts;
	uint32_t victim;

	if (argc != 2 || !fdv) {
		fprintf(stderr, "usage: MADVTRACE_FD=N sec2_forge PID (under --backend=preload)\n");
		return 2;
	}
	victim = (uint32_t)strtoul(argv[1], NULL, 10);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	memset(&f, 0, sizeof(f));
	f.len = sizeof(f.k);
	f.k.h.type = MT_TASK;
	f.k.h.size = sizeof(f.k);
	f.k.h.t_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	f.k.h.pid = victim;
	f.k.h.tid = victim;
	f.k.event = MT_TASK_EXEC;
	snprintf(f.k.comm, sizeof(f.k.comm), "forged");
	if (send(atoi(fdv), &f, sizeof(f), 0) != (ssize_t)sizeof(f)) {
		perror("sec2_forge: send");
		return 1;
	}
	printf("forged an exec record naming pid %u\n", victim);
	return 0;
}
