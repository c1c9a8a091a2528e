/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Which C allocator a process's program uses: the allocator,
 * allocator_linked and allocator_version info records (docs/dump-format.md).
 *
 * Dynamic: the allocator's shared object in /proc/PID/maps (preloaded or
 * linked). Static: its own symbols in the executable (binfo/allocsyms.h).
 * A Go program gets a record only when a C allocator other than glibc's is
 * clearly there (linked in, or mapped): its heap is the Go runtime's, and
 * libc being mapped (cgo) says nothing of who releases.
 *
 * Run on the recorder's worker thread, never on the event path: it reads
 * maps and the executable.
 */
#ifndef MT_ALLOC_H
#define MT_ALLOC_H

#include <sys/types.h>
#include "procfs.h"

/*
 * Emit pid's allocator info records. 1: decided (records emitted, or none
 * for a Go program or an unknown allocator); 0: not yet (a dynamically
 * linked program whose libraries the loader has not mapped: ask again
 * later); -errno (the process is gone, not readable).
 */
int mt_alloc__emit(pid_t pid, mt_proc_emit_fn emit, void *ctx);

#endif
