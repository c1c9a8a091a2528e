// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libFuzzer target: any byte string, opened as a trace file, must be read
 * and rendered (JSON, text, the session table, and `report` in every
 * format: the model and the verdict fed whatever records it holds) without
 * crashing or reading out of bounds. Built with -DMT_FUZZ=ON by a clang
 * build; run by run-fuzz.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>
#include "dump.h"
#include "fmt.h"
#include "records.h"
#include "xlat.h"
#include "live.h"
#include "report.h"
#include "timeline.h"
#include "tracefile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Mutated headers almost never pass the CRC, which would keep the fuzzer out
 * of the entry parser; so fix the CRC up when the header length is plausible
 * (the mismatch path itself is covered by the unit tests).
 */
static void fix_crc(uint8_t *d, size_t size)
{
	uint32_t hlen, crc;

	if (size < 16)
		return;
	hlen = (uint32_t)d[12] | (uint32_t)d[13] << 8 | (uint32_t)d[14] << 16 |
	       (uint32_t)d[15] << 24;
	if (hlen < 8 || hlen > size)
		return;
	crc = (uint32_t)crc32(0L, d, hlen - 4);
	for (int i = 0; i < 4; i++)
		d[hlen - 4 + i] = (uint8_t)(crc >> (8 * i));
}

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	struct mt_timeline_opts opts = {0};
	struct mt_timeline *tl = NULL;
	struct mt_reader *r = NULL;
	const struct mt_hdr *rec;
	char path[64], err[256];
	uint8_t *copy = NULL;
	int fd = -1;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	copy = malloc(size ? size : 1);
	if (!copy)
		abort();
	memcpy(copy, data, size);
	fix_crc(copy, size);
	fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd < 0 || write_all(fd, copy, size))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = mt_reader__open(path, err, sizeof(err));
	if (!r) {
		/* the contract: a message, one line */
		if (!err[0] || strchr(err, '\n'))
			abort();
		goto cleanup;
	}
	fprintf(devnull, "%s %s %s %s\n", mt_reader__info(r)->kernel_release,
		mt_reader__info(r)->cmdline, mt_reader__info(r)->target,
		mt_reader__get(r, "go_version") ? mt_reader__get(r, "go_version") : "");
	tl = mt_timeline__new(&opts);
	if (!tl)
		abort();
	for (;;) {
		int ret = mt_reader__next(r, &rec);

		if (ret < 0 && !mt_reader__error(r)[0])
			abort();
		if (ret != 1)
			break;
		/* a record is at least its type's contract size once read */
		if (mt_type_info(rec->type) && rec->size < 32)
			abort();
		mt_record_json(devnull, rec);
		fputc('\n', devnull);
		mt_record_text(devnull, rec, mt_reader__info(r)->clock_offset_ns);
		fputc('\n', devnull);
		mt_timeline__feed(tl, rec);
	}
	mt_live__print_summary(tl, devnull);
	/* the whole report, each format, as `madvtrace report` makes it */
	for (size_t i = 0; i < 5; i++) {
		static const char *const fmts[] = { "text", "json", "csv", "perfetto", "svg" };
		char *argv[] = { "report", "--format", (char *)fmts[i], "-o", "/dev/null", path, NULL };
		int rc = mt_report_main(6, argv);

		/* a trace the reader took is reported (0), or refused with one line (1) */
		if (rc != 0 && rc != 1)
			abort();
	}
cleanup:
	mt_timeline__free(tl);
	mt_reader__free(r);
	if (fd >= 0)
		close(fd);
	free(copy);
	return 0;
}
