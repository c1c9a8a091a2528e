/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What the LD_PRELOAD agent (libmadvtrace-agent.so) and the preload backend
 * (loader/preload_backend.c) agree on: the environment variables that
 * configure the agent, and the one private record type that only ever
 * travels on the socket between them. See docs/backends.md.
 */
#ifndef MT_AGENT_PROTO_H
#define MT_AGENT_PROTO_H

#include "madvtrace/record.h"

/* Write a trace file here (by hand: LD_PRELOAD=... MADVTRACE_OUTPUT=t.mtr CMD). */
#define MT_ENV_OUTPUT "MADVTRACE_OUTPUT"
/* An inherited descriptor to write framed records to: a SOCK_SEQPACKET socket
 * (madvtrace) or the trace file opened by the first agent (O_APPEND). */
#define MT_ENV_FD "MADVTRACE_FD"
/* The process being traced: a process with another pid is a descendant. */
#define MT_ENV_PID "MADVTRACE_PID"
/* "1": trace forked children too (-f). */
#define MT_ENV_FOLLOW "MADVTRACE_FOLLOW"
#define MT_ENV_RSS_MS "MADVTRACE_RSS_INTERVAL_MS"
#define MT_ENV_SMAPS_MS "MADVTRACE_SMAPS_INTERVAL_MS"
/* Size of the in-process record buffer. */
#define MT_ENV_BUFFER_KIB "MADVTRACE_BUFFER_KIB"
/* "0": do not catch the calls made inside libc and by raw system calls. */
#define MT_ENV_CATCH "MADVTRACE_CATCH"
/* "1": record the caller of each release as a one-frame MT_STACK record. */
#define MT_ENV_STACKS "MADVTRACE_STACKS"
/* With stacks: bytes of stack in each release's MT_USTACK record (--stack-size). */
#define MT_ENV_STACK_BYTES "MADVTRACE_STACK_BYTES"
/* "1": messages only on errors (by hand; madvtrace passes its own -q on). */
#define MT_ENV_QUIET "MADVTRACE_QUIET"

#define MT_AGENT_LIB "libmadvtrace-agent.so"

/* longest a record waits in a busy thread's buffer before it is sent */
#define MT_AGENT_DRAIN_MS 20

/*
 * A message from the agent for madvtrace to print (it has no terminal of its
 * own: the program's stderr is the program's). Never written to trace files;
 * by hand the agent prints it on stderr itself.
 */
#define MT_AGENT_NOTE 0x7f01
#define MT_NOTE_LEN 216

enum mt_note_level {
	MT_NOTE_INFO = 0, /* printed with -v only */
	MT_NOTE_WARN = 1, /* always printed */
	/*
	 * Not printed: the process is about to exec the file in text. The next
	 * program's agent sends its exec record; if none comes, madvtrace says
	 * that program ran untraced (static, set-user-ID, LD_PRELOAD cleared).
	 */
	MT_NOTE_EXEC = 2,
};

struct mt_agent_note {
	struct mt_hdr h;
	__u32 level; /* enum mt_note_level */
	__u32 _pad;
	char text[MT_NOTE_LEN]; /* NUL-terminated, without the "madvtrace: " prefix */
};

#endif
