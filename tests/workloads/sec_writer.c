// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The trace writer as a recorder drives it, to be killed: `sec_writer FILE
 * quiet|busy` writes one munmap record at start and then either nothing
 * (quiet) or one record per millisecond (busy), each stamped with
 * CLOCK_MONOTONIC, calling mt_writer__flush_if_due from its loop as the
 * recorder's tick does. test_sec_killed.py SIGKILLs it and checks what the
 * file holds (docs/trace-format.md, "Writing").
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "tracefile.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct mt_file_info info = {.page_size = 4096, .clock_id = CLOCK_MONOTONIC,
				    .backend = MT_BACKEND_PTRACE, .target = "sec_writer"};
	struct mt_writer *w;
	struct mt_munmap u;
	int fd, busy;

	if (argc != 3 || (strcmp(argv[2], "quiet") && strcmp(argv[2], "busy"))) {
		fprintf(stderr, "usage: sec_writer FILE quiet|busy\n");
		return 2;
	}
	busy = !strcmp(argv[2], "busy");
	fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	info.start_ns = now_ns();
	info.target_pid = (int32_t)getpid();
	w = fd >= 0 ? mt_writer__new(fd, &info) : NULL;
	if (!w) {
		perror(argv[1]);
		return 1;
	}
	for (uint64_t i = 0;; i++) {
		if (i == 0 || busy) {
			memset(&u, 0, sizeof(u));
			u.h.type = MT_MUNMAP;
			u.h.size = sizeof(u);
			u.h.t_ns = now_ns();
			u.h.pid = u.h.tid = (uint32_t)getpid();
			u.addr = i * 4096;
			u.len = 4096;
			if (mt_writer__write(w, &u.h))
				return 1;
		}
		if (mt_writer__flush_if_due(w, now_ns()))
			return 1;
		usleep(1000);
	}
}
