// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The trace-file writer on a file descriptor, with libc's write(2) and
 * close(2): madvtrace's. Apart from tracefile.c so that the preload agent,
 * which links the writer with I/O of its own, links no libc I/O call.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include "tracefile.h"

/* write(2) all of buf: retries EINTR and short writes. */
static int fd_write_all(void *ctx, const void *buf, size_t len)
{
	int fd = (int)(intptr_t)ctx;
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int fd_close(void *ctx)
{
	/* an EINTR from close(2) still closed the descriptor: nothing lost */
	if (close((int)(intptr_t)ctx) && errno != EINTR)
		return -errno;
	return 0;
}

static const struct mt_writer_io fd_io = {
	.write_all = fd_write_all,
	.close = fd_close,
};

struct mt_writer *mt_writer__new(int fd, const struct mt_file_info *info)
{
	if (fd < 0) {
		errno = EINVAL;
		return NULL;
	}
	return mt_writer__new_io(&fd_io, (void *)(intptr_t)fd, info);
}
