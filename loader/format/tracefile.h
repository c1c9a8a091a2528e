/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Trace file v1: the writer (tracefile.c; on a descriptor, tracefile_fd.c)
 * and the reader (tracefile_read.c). The format is in docs/trace-format.md.
 */
#ifndef MT_TRACEFILE_H
#define MT_TRACEFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "madvtrace/record.h"

#define MT_FILE_VERSION 1

/* What the header says about a recording. Strings are NUL-terminated, owned by the reader/caller. */
struct mt_file_info {
	uint32_t version; /* set by the reader; ignored by the writer */
	uint32_t page_size;
	uint32_t clock_id; /* CLOCK_MONOTONIC for every backend today */
	int64_t clock_offset_ns; /* CLOCK_REALTIME - clock_id at start: add to t_ns for wall time */
	uint64_t start_ns; /* clock_id time at which recording began */
	uint32_t backend; /* enum mt_backend */
	int32_t target_pid; /* -p PID, or the launched child's pid */
	const char *kernel_release; /* uname -r */
	const char *cmdline; /* madvtrace's own command line */
	const char *target; /* the traced command line, or "pid N (comm)" */
};

struct mt_writer;

/*
 * Where a writer's bytes go. The writer makes no I/O call of its own: the
 * preload agent, which interposes libc's close() and must not call its own
 * hooks, links it with raw system calls; madvtrace with libc's
 * (mt_writer__new).
 */
struct mt_writer_io {
	/* Write all len bytes of buf (short writes and EINTR retried): 0 or -errno. */
	int (*write_all)(void *ctx, const void *buf, size_t len);
	/* At mt_writer__free(): done with ctx. 0 or -errno (a deferred error). May be NULL. */
	int (*close)(void *ctx);
};

/*
 * Start a trace written through io with ctx. The writer takes ownership of
 * ctx (io->close at mt_writer__free). Extra header entries (key=value
 * strings) can be added with mt_writer__set() before the first record.
 * Returns NULL with errno set (ctx still the caller's).
 */
struct mt_writer *mt_writer__new_io(const struct mt_writer_io *io, void *ctx,
				    const struct mt_file_info *info);
/*
 * The same on an already open, writable fd (the caller decides how the file
 * is created: O_NOFOLLOW, as which user), with write(2) and close(2): the
 * writer takes ownership of fd (tracefile_fd.c).
 */
struct mt_writer *mt_writer__new(int fd, const struct mt_file_info *info);
/* Add a header entry; only valid before the first record is written. */
int mt_writer__set(struct mt_writer *w, const char *key, const char *value);
/* Append one record (its size is rec->size). 0, or -errno (e.g. -ENOSPC). */
int mt_writer__write(struct mt_writer *w, const struct mt_hdr *rec);
/* Push buffered records to the file. 0 or -errno. */
int mt_writer__flush(struct mt_writer *w);
/*
 * How long a record may wait in the writer's buffer: a recording killed
 * (SIGKILL, OOM, power) loses at most the records of this last stretch,
 * provided its user calls mt_writer__flush_if_due at least this often.
 */
#define MT_WRITER_FLUSH_NS (500ull * 1000 * 1000)
/*
 * Flush when the last flush (or the first call) was MT_WRITER_FLUSH_NS or
 * more before now_ns (CLOCK_MONOTONIC); else nothing. For the recorder's
 * periodic tick. 0 or -errno (the writer's sticky error).
 */
int mt_writer__flush_if_due(struct mt_writer *w, uint64_t now_ns);
/*
 * No end marker: for a file that several writers append to, none of which
 * knows the end (the preload agent's trace by hand). Before the first record.
 */
int mt_writer__no_end_marker(struct mt_writer *w);

/*
 * The end marker: the last frame of a file whose writer ended normally
 * (mt_writer__free), announced by the header entry "end_marker" = "1". A
 * private type, never handed to the reader's users; older readers show it
 * as a record of an unknown type.
 */
#define MT_TF_END 0x7f02
struct mt_tf_end {
	struct mt_hdr h;
	__u64 records; /* records written before it */
};
/* Flush, close (io->close), free. Returns the first error seen (0 if none). */
int mt_writer__free(struct mt_writer *w);

struct mt_reader;

/*
 * Open a trace file for reading. On failure returns NULL and writes one
 * human-readable line (no trailing newline) into err: missing file, not a
 * madvtrace trace, unsupported version, corrupt header.
 */
struct mt_reader *mt_reader__open(const char *path, char *err, size_t errlen);
const struct mt_file_info *mt_reader__info(const struct mt_reader *r);
/* A header entry by key (including the ones in mt_file_info), or NULL. */
const char *mt_reader__get(const struct mt_reader *r, const char *key);
/*
 * Next record. Returns 1 and points *rec at a record valid until the next
 * call (zero-filled up to the size this contract knows for its type, so
 * callers may read any field of the struct for rec->type); 0 at the end of
 * the trace; -1 on a corrupt record (message in mt_reader__error()).
 * A file cut short in the middle of a record ends cleanly with 0 and
 * mt_reader__truncated() true.
 */
int mt_reader__next(struct mt_reader *r, const struct mt_hdr **rec);
bool mt_reader__truncated(const struct mt_reader *r);
/*
 * Once mt_reader__next returned 0, the file was complete (its end marker),
 * cut inside a record, or cut between records (a file whose header
 * announces an end marker and that has none: the recorder was killed, the
 * machine went down). mt_reader__truncated() is true for both cuts.
 * For a cut file, one line (no newline) for dump and report to print after
 * "madvtrace: warning: FILE: ", e.g. "the recording was cut short: the file
 * ends without its end marker after 1234 records (byte offset 56789); what
 * was recorded after its last write is lost". NULL for a complete file.
 */
const char *mt_reader__end_note(const struct mt_reader *r, char *buf, size_t len);
const char *mt_reader__error(const struct mt_reader *r);
void mt_reader__free(struct mt_reader *r);

#endif
