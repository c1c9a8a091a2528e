/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Files root opens on the invoking user's behalf (the -o trace, godebug's
 * logs and traces): opened with the user's file identity, so root can do
 * nothing there the user could not, never through a symbolic link, never
 * blocking on a FIFO, and only ever a regular file.
 */
#ifndef MT_USEROPEN_H
#define MT_USEROPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The mode of a trace or log madvtrace creates, unless --mode says otherwise. */
#define MT_OUTPUT_MODE 0600

/* The user madvtrace acts for: SUDO_UID/SUDO_GID when root under sudo, else itself. */
void mt_invoking_user(uid_t *uid, gid_t *gid);

/*
 * open(path, flags) as the invoking user, O_NOFOLLOW | O_NONBLOCK |
 * O_NOCTTY | O_CLOEXEC added; anything but a regular file is refused. The
 * descriptor, or -errno with why filled (one line, no newline).
 */
int mt_open_as_user(const char *path, int flags, mode_t mode, char *why, size_t len);

/*
 * A file to write records or a log to, as `-o` has it: a new file (created
 * with exactly mode), or an existing regular file the invoking user owns and
 * others may not write to (then truncated; mode applied if set_mode).
 * Anything else is refused. The descriptor, or -errno and why.
 */
int mt_open_output(const char *path, mode_t mode, bool set_mode, char *why, size_t len);

/* mkdtemp(3) as the invoking user: the directory is theirs from the start. */
char *mt_mkdtemp_as_user(char *tmpl);

#endif
