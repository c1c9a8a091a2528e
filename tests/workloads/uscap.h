/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A process that records its own release calls with their user stacks, as
 * the backends do with --stacks, to test the unwinder and symbolizer without
 * a backend: madvise and munmap are trapped by a seccomp filter (SIGSYS,
 * handled on an alternate stack so the interrupted stack stays as it was);
 * the handler makes the call, keeps the call record and an MT_USTACK record
 * (the registers at the syscall instruction, the stack from rsp up) in a
 * buffer reserved beforehand, and uscap_stop() writes them after MT_MAPPING
 * records of /proc/self/maps and the process's exe record to a trace file.
 * One thread only.
 */
#ifndef USCAP_H
#define USCAP_H

/*
 * Start trapping; mappings are read now (load libraries before). path "-":
 * record nothing (the program runs under a backend). Exits on failure.
 */
void uscap_start(const char *path);
/* Stop recording and write the trace to path. Exits on failure. */
void uscap_stop(const char *path);

#endif
