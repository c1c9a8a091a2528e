// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Trace file v1 (docs/trace-format.md): the reader. Checks the header
 * (magic, version, CRC, entries), then hands out the records one at a time,
 * each zero-filled to the size this contract knows for its type.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "records.h"
#include "tracefile.h"
#include "tracefile_int.h"

#define READER_BUF (256u * 1024)

/* How the file ended (mt_reader__end_note says it). */
enum mt_reader_end {
	MT_END_NONE = 0,   /* not at the end yet, or a corrupt record */
	MT_END_COMPLETE,   /* the end marker, or a clean end of a file without one announced */
	MT_END_CUT_RECORD, /* the file ends inside a record */
	MT_END_CUT,	   /* the file ends between records, without its end marker */
};

struct mt_reader {
	int fd;
	struct mt_file_info info;
	struct mt_tf_entry *ents;
	size_t nents;
	unsigned char *buf;
	size_t pos, end; /* unread bytes are buf[pos..end) */
	bool eof; /* read(2) returned 0 */
	bool truncated;
	bool expect_end; /* the header announces an end marker */
	bool ended;	 /* the last frame read was one */
	enum mt_reader_end how; /* how the file ended */
	uint64_t records;
	int status; /* 0 while reading; 1 at a clean end; -1 after an error */
	uint64_t offset; /* file offset of buf[pos] */
	char err[160]; /* the last error, without the path: callers prefix it */
	/* records are copied here: aligned, and zero-filled to their contract size */
	union {
		struct mt_hdr h;
		unsigned char b[MAX_RECORD_LEN + 1];
		uint64_t align;
	} rec;
};

static void __attribute__((format(printf, 3, 4))) set_msg(char *buf, size_t len, const char *fmt,
							    ...)
{
	va_list ap;

	if (!buf || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/*
 * Make at least want bytes available at buf[pos]. Returns the number
 * available (less than want only at end of file), or -errno.
 */
static ssize_t reader_fill(struct mt_reader *r, size_t want)
{
	if (r->end - r->pos >= want || r->eof)
		return (ssize_t)(r->end - r->pos);
	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->end - r->pos);
		r->end -= r->pos;
		r->pos = 0;
	}
	while (r->end < want) {
		ssize_t n = read(r->fd, r->buf + r->end, READER_BUF - r->end);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {
			r->eof = true;
			break;
		}
		r->end += (size_t)n;
	}
	return (ssize_t)r->end;
}

/* Read exactly len bytes at the current position (header only). */
static ssize_t read_exact(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int set_numeric_entries(struct mt_reader *r)
{
	char v[MT_TF_NUMERIC_KEYS][32];
	int err = 0;

	snprintf(v[0], sizeof(v[0]), "%" PRIu32, r->info.version);
	snprintf(v[1], sizeof(v[1]), "%" PRIu32, r->info.page_size);
	snprintf(v[2], sizeof(v[2]), "%" PRIu32, r->info.clock_id);
	snprintf(v[3], sizeof(v[3]), "%" PRId64, r->info.clock_offset_ns);
	snprintf(v[4], sizeof(v[4]), "%" PRIu64, r->info.start_ns);
	snprintf(v[5], sizeof(v[5]), "%" PRIu32, r->info.backend);
	snprintf(v[6], sizeof(v[6]), "%" PRId32, r->info.target_pid);
	for (int i = 0; i < MT_TF_NUMERIC_KEYS && !err; i++)
		err = mt_tf__entries_set(&r->ents, &r->nents, mt_tf__numeric_keys[i],
					 strlen(mt_tf__numeric_keys[i]), v[i], strlen(v[i]));
	return err;
}

struct raw_entry {
	const unsigned char *key, *value;
	uint32_t klen, vlen, index;
};

static int cmp_raw_entry(const void *a, const void *b)
{
	const struct raw_entry *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->klen < y->klen ? x->klen : y->klen);

	if (c)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * The header's entries, a later one replacing an earlier one with the same
 * key: sorted once (n log n), not each looked up among the others (a 1 MiB
 * header holds 100000 entries). -1 with r->nents SIZE_MAX when they do not
 * fill the header exactly, -1 on ENOMEM.
 */
static int parse_entries(struct mt_reader *r, const unsigned char *p, const unsigned char *hend,
			 uint32_t nents)
{
	struct raw_entry *v;
	size_t n = 0, out = 0;
	int ret = -1;

	/* each entry takes 6 bytes at least: a count beyond that is corrupt, not allocated */
	if (nents > (size_t)(hend - p) / 6) {
		r->nents = SIZE_MAX;
		return -1;
	}
	v = malloc((nents ? nents : 1) * sizeof(*v));
	if (!v)
		return -1;
	for (uint32_t i = 0; i < nents; i++) {
		uint32_t kl, vl;

		if (hend - p < 6)
			break;
		kl = mt_tf__get_u16(p);
		vl = mt_tf__get_u32(p + 2);
		p += 6;
		if (kl > (size_t)(hend - p) || vl > (size_t)(hend - p) - kl)
			break;
		v[n++] = (struct raw_entry){p, p + kl, kl, vl, i};
		p += kl + vl;
	}
	if (n != nents || p != hend) {
		r->nents = SIZE_MAX;
		goto cleanup;
	}
	qsort(v, n, sizeof(*v), cmp_raw_entry);
	r->ents = calloc(n ? n : 1, sizeof(*r->ents));
	if (!r->ents)
		goto cleanup;
	for (size_t i = 0; i < n; i++) {
		struct mt_tf_entry *e;

		/* the last of a run of equal keys stands */
		if (i + 1 < n && v[i + 1].klen == v[i].klen &&
		    !memcmp(v[i + 1].key, v[i].key, v[i].klen))
			continue;
		e = &r->ents[out];
		e->key = malloc(v[i].klen + 1);
		e->value = malloc(v[i].vlen + 1);
		r->nents = ++out;
		if (!e->key || !e->value)
			goto cleanup;
		memcpy(e->key, v[i].key, v[i].klen);
		e->key[v[i].klen] = '\0';
		memcpy(e->value, v[i].value, v[i].vlen);
		e->value[v[i].vlen] = '\0';
	}
	ret = 0;
cleanup:
	free(v);
	return ret;
}

/* Parse and check the header; on failure one line in err. */
static int reader_header(struct mt_reader *r, const char *path, char *err, size_t errlen)
{
	unsigned char prefix[PREFIX_LEN], *h = NULL;
	uint32_t version, hlen, nents, crc;
	ssize_t n;
	int ret = -1;

	n = read_exact(r->fd, prefix, PREFIX_LEN);
	if (n < 0) {
		set_msg(err, errlen, "%s: %s", path, strerror((int)-n));
		return -1;
	}
	if (n == 0) {
		set_msg(err, errlen, "%s: empty file, not a madvtrace trace", path);
		return -1;
	}
	if ((size_t)n < MT_MAGIC_LEN || memcmp(prefix, MT_MAGIC, MT_MAGIC_LEN)) {
		set_msg(err, errlen, "%s: not a madvtrace trace (bad magic)", path);
		return -1;
	}
	if (n < 12) {
		set_msg(err, errlen, "%s: truncated header (%zd bytes)", path, n);
		return -1;
	}
	/* the version first: a newer format may lay out everything after it differently */
	version = mt_tf__get_u32(prefix + 8);
	if (version > MT_FILE_VERSION) {
		set_msg(err, errlen,
			"%s: trace format version %" PRIu32
			" is newer than this madvtrace supports (%d)",
			path, version, MT_FILE_VERSION);
		return -1;
	}
	if (version != MT_FILE_VERSION) {
		set_msg(err, errlen, "%s: unsupported trace format version %" PRIu32, path,
			version);
		return -1;
	}
	if (n < PREFIX_LEN) {
		set_msg(err, errlen, "%s: truncated header (%zd bytes)", path, n);
		return -1;
	}
	hlen = mt_tf__get_u32(prefix + 12);
	if (hlen < MIN_HEADER_LEN || hlen > MAX_HEADER_LEN) {
		set_msg(err, errlen, "%s: corrupt header (header length %" PRIu32 " out of range)",
			path, hlen);
		return -1;
	}
	h = malloc(hlen);
	if (!h) {
		set_msg(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return -1;
	}
	memcpy(h, prefix, PREFIX_LEN);
	n = read_exact(r->fd, h + PREFIX_LEN, hlen - PREFIX_LEN);
	if (n < 0) {
		set_msg(err, errlen, "%s: %s", path, strerror((int)-n));
		goto cleanup;
	}
	if ((size_t)n < hlen - PREFIX_LEN) {
		set_msg(err, errlen, "%s: truncated header (%zd of %" PRIu32 " bytes)", path,
			n + PREFIX_LEN, hlen);
		goto cleanup;
	}
	crc = (uint32_t)crc32(0L, h, hlen - CRC_LEN);
	if (crc != mt_tf__get_u32(h + hlen - CRC_LEN)) {
		set_msg(err, errlen, "%s: corrupt header (checksum mismatch)", path);
		goto cleanup;
	}
	r->info.version = version;
	r->info.page_size = mt_tf__get_u32(h + 16);
	r->info.clock_id = mt_tf__get_u32(h + 20);
	r->info.clock_offset_ns = (int64_t)mt_tf__get_u64(h + 24);
	r->info.start_ns = mt_tf__get_u64(h + 32);
	r->info.backend = mt_tf__get_u32(h + 40);
	r->info.target_pid = (int32_t)mt_tf__get_u32(h + 44);
	nents = mt_tf__get_u32(h + 48);
	if (parse_entries(r, h + FIXED_LEN, h + hlen - CRC_LEN, nents)) {
		if (r->nents == SIZE_MAX) {
			r->nents = 0; /* nothing was allocated */
			set_msg(err, errlen, "%s: corrupt header (bad entry list)", path);
		} else {
			set_msg(err, errlen, "%s: %s", path, strerror(ENOMEM));
		}
		goto cleanup;
	}
	if (set_numeric_entries(r)) {
		set_msg(err, errlen, "%s: %s", path, strerror(ENOMEM));
		goto cleanup;
	}
	r->info.kernel_release = mt_reader__get(r, "kernel_release");
	r->info.cmdline = mt_reader__get(r, "cmdline");
	r->info.target = mt_reader__get(r, "target");
	r->expect_end = mt_reader__get(r, "end_marker") &&
			!strcmp(mt_reader__get(r, "end_marker"), "1");
	if (!r->info.kernel_release)
		r->info.kernel_release = "";
	if (!r->info.cmdline)
		r->info.cmdline = "";
	if (!r->info.target)
		r->info.target = "";
	r->offset = hlen;
	ret = 0;
cleanup:
	free(h);
	return ret;
}

struct mt_reader *mt_reader__open(const char *path, char *err, size_t errlen)
{
	struct mt_reader *r;

	if (err && errlen)
		err[0] = '\0';
	r = calloc(1, sizeof(*r));
	if (!r) {
		set_msg(err, errlen, "%s: %s", path, strerror(ENOMEM));
		return NULL;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		set_msg(err, errlen, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	r->buf = malloc(READER_BUF);
	if (!r->buf) {
		set_msg(err, errlen, "%s: %s", path, strerror(ENOMEM));
		goto cleanup;
	}
	if (reader_header(r, path, err, errlen))
		goto cleanup;
	posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return r;
cleanup:
	mt_reader__free(r);
	return NULL;
}

const struct mt_file_info *mt_reader__info(const struct mt_reader *r)
{
	return &r->info;
}

const char *mt_reader__get(const struct mt_reader *r, const char *key)
{
	for (size_t i = 0; i < r->nents; i++)
		if (!strcmp(r->ents[i].key, key))
			return r->ents[i].value;
	return NULL;
}

static int reader_fail(struct mt_reader *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int reader_fail(struct mt_reader *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	r->status = -1;
	return -1;
}

int mt_reader__next(struct mt_reader *r, const struct mt_hdr **rec);

/* The end marker: it must agree on the count; the file is complete if nothing follows. */
static int reader_end_marker(struct mt_reader *r, uint32_t len, const struct mt_hdr **rec)
{
	struct mt_tf_end end = {0};
	uint64_t at = r->offset;

	memcpy(&end, r->rec.b, len < sizeof(end) ? len : sizeof(end));
	r->pos += FRAME_LEN + len;
	r->offset += FRAME_LEN + len;
	if (end.records != r->records)
		return reader_fail(r,
				   "corrupt trace: its end marker at byte offset %" PRIu64
				   " counts %" PRIu64 " records, the file holds %" PRIu64,
				   at, (uint64_t)end.records, r->records);
	/* the end, unless records follow (files joined): then they need their own */
	r->ended = true;
	return mt_reader__next(r, rec);
}

int mt_reader__next(struct mt_reader *r, const struct mt_hdr **rec)
{
	const struct mt_type_info *ti;
	uint32_t len, want;
	ssize_t avail;

	if (r->status)
		return r->status < 0 ? -1 : 0;
	avail = (ssize_t)(r->end - r->pos);
	if (avail < FRAME_LEN) {
		avail = reader_fill(r, FRAME_LEN);
		if (avail < 0)
			return reader_fail(r, "read error at byte offset %" PRIu64 ": %s",
					   r->offset, strerror((int)-avail));
		if (avail == 0) {
			r->status = 1;
			r->how = r->expect_end && !r->ended ? MT_END_CUT : MT_END_COMPLETE;
			return 0;
		}
		if (avail < FRAME_LEN)
			goto truncated;
	}
	len = mt_tf__get_u32(r->buf + r->pos);
	if (len < MIN_RECORD_LEN || len > MAX_RECORD_LEN)
		return reader_fail(r,
				   "corrupt record at byte offset %" PRIu64
				   ": frame length %" PRIu32 " out of range (%" PRIu32 "..%u)",
				   r->offset, len, MIN_RECORD_LEN, MAX_RECORD_LEN);
	if ((size_t)avail < FRAME_LEN + len) {
		avail = reader_fill(r, FRAME_LEN + len);
		if (avail < 0)
			return reader_fail(r, "read error at byte offset %" PRIu64 ": %s",
					   r->offset, strerror((int)-avail));
		if ((size_t)avail < FRAME_LEN + len)
			goto truncated;
	}
	memcpy(r->rec.b, r->buf + r->pos + FRAME_LEN, len);
	if (r->rec.h.size != len)
		return reader_fail(r,
				   "corrupt record at byte offset %" PRIu64
				   ": record size %u does not match its frame length %" PRIu32,
				   r->offset, r->rec.h.size, len);
	if (r->rec.h.type == MT_TF_END)
		return reader_end_marker(r, len, rec);
	ti = mt_type_info(r->rec.h.type);
	want = ti ? ti->size : 0;
	if (len < want)
		memset(r->rec.b + len, 0, want - len);
	r->pos += FRAME_LEN + len;
	r->offset += FRAME_LEN + len;
	r->records++;
	r->ended = false;
	*rec = &r->rec.h;
	return 1;
truncated:
	r->truncated = true;
	r->how = MT_END_CUT_RECORD;
	r->status = 1;
	return 0;
}

const char *mt_reader__end_note(const struct mt_reader *r, char *buf, size_t len)
{
	if (r->how == MT_END_CUT_RECORD)
		set_msg(buf, len,
			"the recording was cut short: the file ends inside a record, after %" PRIu64
			" complete records (byte offset %" PRIu64 ")",
			r->records, r->offset);
	else if (r->how == MT_END_CUT)
		set_msg(buf, len,
			"the recording was cut short: the file ends without its end marker after "
			"%" PRIu64 " records (byte offset %" PRIu64 "); what was recorded after "
			"its last write is lost",
			r->records, r->offset);
	else
		return NULL;
	return buf;
}

bool mt_reader__truncated(const struct mt_reader *r)
{
	/* cut between records too: the callers' warning is the same */
	return r->truncated || r->how == MT_END_CUT;
}

const char *mt_reader__error(const struct mt_reader *r)
{
	return r->err;
}

void mt_reader__free(struct mt_reader *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	mt_tf__entries_free(r->ents, r->nents);
	free(r->buf);
	free(r);
}
