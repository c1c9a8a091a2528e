// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: any byte string, opened as a program's binary, must be
 * described by goinfo and symbolized without crashing or reading out of
 * bounds; a refusal is one line of error. Built with -DMT_FUZZ=ON by a clang
 * build; run by run-fuzz-elf.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "goinfo.h"
#include "symbolize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void check_error(const char *err)
{
	if (!err[0] || strchr(err, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct mt_symbolizer *s = NULL;
	struct mt_symcache *c;
	struct mt_goinfo *g = NULL;
	char path[64], err[512], buf[256];
	const char *why;
	uint64_t off, base = 0;
	int fd;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (!devnull || fd < 0 || write_all(fd, data, size))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err[0] = '\0';
	g = mt_goinfo__open(path, err, sizeof(err));
	if (!g) {
		check_error(err);
	} else {
		fprintf(devnull, "%s %s %s %s\n", mt_goinfo__describe(g, buf, sizeof(buf)),
			mt_goinfo__version_note(g),
			mt_goinfo__build_id(g) ? mt_goinfo__build_id(g) : "",
			mt_goinfo__module(g) ? mt_goinfo__module(g) : "");
		/* the settings procfs.c records */
		for (size_t i = 0; i < 2; i++) {
			const char *v = mt_goinfo__setting(g, i ? "GOARCH" : "CGO_ENABLED");

			fprintf(devnull, "%s\n", v ? v : "");
		}
		mt_go_release_advice(mt_goinfo__version(g), mt_goinfo__setting(g, "-ldflags"), buf,
				     sizeof(buf));
		mt_go_thp_advice(mt_goinfo__version(g), &why);
	}
	/* the last 8 bytes, when there are enough, choose a load base */
	if (size >= 72)
		memcpy(&base, data + size - 8, sizeof(base));
	err[0] = '\0';
	/* as the tool opens one: through a cache, which may go before the handle */
	c = mt_symcache__new(0);
	if (!c)
		abort();
	s = mt_symcache__open(c, path, base & ~0xfffull, g ? mt_goinfo__build_id(g) : NULL, err,
			      sizeof(err));
	mt_symcache__free(c);
	if (!s) {
		check_error(err);
	} else {
		fprintf(devnull, "%s\n", mt_symbolizer__source(s));
		/* addresses taken from the input, and a sweep of the usual text area */
		for (size_t i = 0; i + 8 <= size && i < 64 * 8; i += 8) {
			uint64_t a;

			memcpy(&a, data + i, sizeof(a));
			mt_symbolizer__name(s, a, &off);
		}
		for (uint64_t a = 0x400000; a < 0x404000; a += 0x10)
			mt_symbolizer__name(s, a + (base & ~0xfffull), &off);
	}
	mt_symbolizer__free(s);
	mt_goinfo__free(g);
	close(fd);
	return 0;
}
