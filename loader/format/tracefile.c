// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Trace file v1 (docs/trace-format.md): the writer. A CRC-protected header
 * of fixed numeric fields and key/value strings, then length-framed records.
 *
 * The writer makes no I/O call itself: its bytes go through the
 * struct mt_writer_io its user gives it. The preload agent links this file
 * and interposes libc's close and friends, so a libc call made here would
 * land in the agent's own hooks; madvtrace's descriptor I/O is in
 * tracefile_fd.c, the reader in tracefile_read.c, neither linked by the agent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "tracefile.h"
#include "tracefile_int.h"

#define WRITER_BUF (256u * 1024)

const char *const mt_tf__numeric_keys[MT_TF_NUMERIC_KEYS] = {
	"version", "page_size", "clock_id", "clock_offset_ns", "start_ns", "backend", "target_pid",
};

int mt_tf__entries_set(struct mt_tf_entry **ents, size_t *n, const char *key, size_t klen,
		       const char *value, size_t vlen)
{
	struct mt_tf_entry *e;
	char *k, *v;
	size_t i;

	v = malloc(vlen + 1);
	if (!v)
		return -ENOMEM;
	memcpy(v, value, vlen);
	v[vlen] = '\0';
	for (i = 0; i < *n; i++) {
		if (strlen((*ents)[i].key) == klen && !memcmp((*ents)[i].key, key, klen)) {
			free((*ents)[i].value);
			(*ents)[i].value = v;
			return 0;
		}
	}
	k = malloc(klen + 1);
	e = realloc(*ents, (*n + 1) * sizeof(**ents));
	if (!k || !e) {
		free(k);
		free(v);
		if (e)
			*ents = e;
		return -ENOMEM;
	}
	memcpy(k, key, klen);
	k[klen] = '\0';
	*ents = e;
	e[*n].key = k;
	e[*n].value = v;
	(*n)++;
	return 0;
}

void mt_tf__entries_free(struct mt_tf_entry *ents, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ents[i].key);
		free(ents[i].value);
	}
	free(ents);
}

struct mt_writer {
	const struct mt_writer_io *io;
	void *ctx;
	int err; /* first error, sticky: a half-written file must not look healthy */
	bool header_done;
	bool end_marker; /* write one at mt_writer__free (see mt_writer__no_end_marker) */
	uint64_t records, last_flush_ns;
	struct mt_file_info info;
	struct mt_tf_entry *ents;
	size_t nents;
	size_t len;
	unsigned char *buf;
};

static int writer_out(struct mt_writer *w, const unsigned char *buf, size_t len)
{
	int err = len ? w->io->write_all(w->ctx, buf, len) : 0;

	if (err)
		w->err = err;
	return err;
}

static int writer_drain(struct mt_writer *w)
{
	int err;

	if (w->err)
		return w->err;
	err = writer_out(w, w->buf, w->len);
	w->len = 0;
	return err;
}

static bool is_numeric_key(const char *key)
{
	for (size_t i = 0; i < MT_TF_NUMERIC_KEYS; i++)
		if (!strcmp(key, mt_tf__numeric_keys[i]))
			return true;
	return false;
}

int mt_writer__set(struct mt_writer *w, const char *key, const char *value)
{
	size_t klen;

	if (!w || !key || !value)
		return -EINVAL;
	if (w->header_done)
		return -EBUSY;
	klen = strlen(key);
	if (!klen || klen > MAX_KEY_LEN || is_numeric_key(key))
		return -EINVAL;
	return mt_tf__entries_set(&w->ents, &w->nents, key, klen, value, strlen(value));
}

struct mt_writer *mt_writer__new_io(const struct mt_writer_io *io, void *ctx,
				    const struct mt_file_info *info)
{
	struct mt_writer *w;
	int err = 0;

	if (!io || !io->write_all || !info) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->buf = malloc(WRITER_BUF);
	if (!w->buf) {
		err = -ENOMEM;
		goto cleanup;
	}
	w->info = *info;
	w->info.kernel_release = w->info.cmdline = w->info.target = NULL;
	if (info->kernel_release)
		err = mt_writer__set(w, "kernel_release", info->kernel_release);
	if (!err && info->cmdline)
		err = mt_writer__set(w, "cmdline", info->cmdline);
	if (!err && info->target)
		err = mt_writer__set(w, "target", info->target);
	/* readers tell a file cut short between two records by its missing end marker */
	if (!err)
		err = mt_writer__set(w, "end_marker", "1");
	w->end_marker = true;
	if (err)
		goto cleanup;
	/* only now: the caller keeps ctx if we fail */
	w->io = io;
	w->ctx = ctx;
	return w;
cleanup:
	mt_tf__entries_free(w->ents, w->nents);
	free(w->buf);
	free(w);
	errno = -err;
	return NULL;
}

/* Serialize the header once, lazily, so mt_writer__set() works until the first record. */
static int writer_header(struct mt_writer *w)
{
	unsigned char *h, *p;
	size_t len = MIN_HEADER_LEN, i;
	int err;

	if (w->header_done)
		return w->err;
	w->header_done = true;
	for (i = 0; i < w->nents; i++)
		len += 2 + 4 + strlen(w->ents[i].key) + strlen(w->ents[i].value);
	if (len > MAX_HEADER_LEN) {
		w->err = -E2BIG;
		return w->err;
	}
	h = malloc(len);
	if (!h) {
		w->err = -ENOMEM;
		return w->err;
	}
	memcpy(h, MT_MAGIC, MT_MAGIC_LEN);
	mt_tf__put_u32(h + 8, MT_FILE_VERSION);
	mt_tf__put_u32(h + 12, (uint32_t)len);
	mt_tf__put_u32(h + 16, w->info.page_size);
	mt_tf__put_u32(h + 20, w->info.clock_id);
	mt_tf__put_u64(h + 24, (uint64_t)w->info.clock_offset_ns);
	mt_tf__put_u64(h + 32, w->info.start_ns);
	mt_tf__put_u32(h + 40, w->info.backend);
	mt_tf__put_u32(h + 44, (uint32_t)w->info.target_pid);
	mt_tf__put_u32(h + 48, (uint32_t)w->nents);
	p = h + FIXED_LEN;
	for (i = 0; i < w->nents; i++) {
		size_t kl = strlen(w->ents[i].key), vl = strlen(w->ents[i].value);

		mt_tf__put_u16(p, (uint16_t)kl);
		mt_tf__put_u32(p + 2, (uint32_t)vl);
		memcpy(p + 6, w->ents[i].key, kl);
		memcpy(p + 6 + kl, w->ents[i].value, vl);
		p += 6 + kl + vl;
	}
	mt_tf__put_u32(p, (uint32_t)crc32(0L, h, (uInt)(len - CRC_LEN)));
	/* the header goes straight out: it may exceed the buffer and is written once */
	err = writer_out(w, h, len);
	free(h);
	return err;
}

int mt_writer__write(struct mt_writer *w, const struct mt_hdr *rec)
{
	uint32_t size;
	int err;

	if (!w || !rec || rec->size < MIN_RECORD_LEN)
		return -EINVAL;
	if (w->err)
		return w->err;
	err = writer_header(w);
	if (err)
		return err;
	size = rec->size;
	if (w->len + FRAME_LEN + size > WRITER_BUF) {
		err = writer_drain(w);
		if (err)
			return err;
	}
	/* whole frames only ever reach the file: a cut one ends at a frame boundary or in a write */
	mt_tf__put_u32(w->buf + w->len, size);
	memcpy(w->buf + w->len + FRAME_LEN, rec, size);
	w->len += FRAME_LEN + size;
	w->records++;
	return 0;
}

int mt_writer__flush_if_due(struct mt_writer *w, uint64_t now_ns)
{
	if (!w)
		return -EINVAL;
	if (!w->last_flush_ns)
		w->last_flush_ns = now_ns;
	if (now_ns - w->last_flush_ns < MT_WRITER_FLUSH_NS)
		return w->err;
	w->last_flush_ns = now_ns;
	if (w->header_done && !w->len)
		return w->err;
	return mt_writer__flush(w);
}

int mt_writer__no_end_marker(struct mt_writer *w)
{
	if (!w)
		return -EINVAL;
	if (w->header_done)
		return -EBUSY;
	w->end_marker = false;
	for (size_t i = 0; i < w->nents; i++) {
		if (strcmp(w->ents[i].key, "end_marker"))
			continue;
		free(w->ents[i].key);
		free(w->ents[i].value);
		w->ents[i] = w->ents[--w->nents];
		break;
	}
	return 0;
}

int mt_writer__flush(struct mt_writer *w)
{
	int err;

	if (!w)
		return -EINVAL;
	err = writer_header(w);
	if (err)
		return err;
	return writer_drain(w);
}

int mt_writer__free(struct mt_writer *w)
{
	int err, cerr;

	if (!w)
		return 0;
	err = mt_writer__flush(w);
	if (!err && w->end_marker) {
		struct mt_tf_end end = {
		    .h = {.type = MT_TF_END, .size = sizeof(end)},
		    .records = w->records,
		};

		err = mt_writer__write(w, &end.h);
		if (!err)
			err = mt_writer__flush(w);
	}
	/* closing can report a deferred write error (e.g. NFS); don't lose it */
	cerr = w->io->close ? w->io->close(w->ctx) : 0;
	if (!err)
		err = cerr;
	mt_tf__entries_free(w->ents, w->nents);
	free(w->buf);
	free(w);
	return err;
}
