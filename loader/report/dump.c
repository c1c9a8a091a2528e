// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The renderings of one record: `madvtrace dump`'s JSON object (through the
 * JSON writer, util/json_writer.h) and the live view's strace-like line.
 * Everything that knows how a record type reads lives in the type table at
 * the bottom of this file: a new record type is one row there and its two
 * renderers (json, text); names of constants come from util/xlat.h.
 *
 * Both format into a stack buffer with hand-rolled number formatting and
 * leave in one fwrite: `dump` runs over millions of records and
 * printf-style formatting would dominate its time. A record longer than the
 * buffer (a long info text) goes out in pieces, never cut.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h> /* MREMAP_FIXED (_GNU_SOURCE) */
#include <sys/wait.h>
#include <time.h>
#include "dump.h"
#include "fmt.h"
#include "json_writer.h"
#include "madvtrace/build.h"
#include "xlat.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Sizes as util/fmt.c writes them everywhere else. */
static void sb_size(struct mt_buf *s, uint64_t bytes)
{
	char b[32];

	mt_buf__str(s, mt_size_str(b, sizeof(b), bytes));
}

static void sb_size_arg(struct mt_buf *s, uint64_t bytes)
{
	char b[32];

	mt_buf__str(s, mt_size_arg_str(b, sizeof(b), bytes));
}

/* errno of a failed call's result, else 0 (a value, e.g. an address). */
static inline int ret_errno(int64_t ret)
{
	return mt_ret_is_err(ret) ? (int)-ret : 0;
}

/* ---- per-type decoders ---- */

/* comm for a terminal: printable ASCII as is, anything else as \xNN. */
static void sb_text_bytes(struct mt_buf *s, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			mt_buf__chr(s, (char)c);
		} else if (c == '\\') {
			mt_buf__lit(s, "\\\\");
		} else {
			mt_buf__lit(s, "\\x");
			mt_buf__chr(s, hex[c >> 4]);
			mt_buf__chr(s, hex[c & 0xf]);
		}
	}
}

static size_t comm_len(const char *comm)
{
	const char *z = memchr(comm, '\0', MT_COMM_LEN);

	return z ? (size_t)(z - comm) : MT_COMM_LEN;
}

/* ---- JSON: one object a record, through the one writer (util/json_writer.h) ---- */

typedef void (*json_fn)(struct mt_jw *w, const struct mt_hdr *rec);
typedef void (*text_fn)(struct mt_buf *s, const struct mt_hdr *rec);

static void json_ret(struct mt_jw *w, int64_t ret)
{
	int err = ret_errno(ret);

	mt_jw__s64_field(w, "ret", ret);
	if (err) {
		mt_jw__key_lit(w, "err");
		mt_jw__string_begin(w);
		mt_xlat__errno(&w->b, err);
		mt_jw__string_end(w);
	}
}

static void json_addr_len_ret(struct mt_jw *w, uint64_t addr, uint64_t len, int64_t ret)
{
	mt_jw__u64_field(w, "addr", addr);
	mt_jw__u64_field(w, "len", len);
	json_ret(w, ret);
}

/* A name made of our own ASCII (flags, advice, errno): nothing to escape. */
#define JSON_NAME(w, key, put, v)            \
	do {                                 \
		mt_jw__key_lit(w, key);      \
		mt_jw__string_begin(w);      \
		put(&(w)->b, v);             \
		mt_jw__string_end(w);        \
	} while (0)

static void json_mmap(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_mmap *r = (const void *)rec;

	json_addr_len_ret(w, r->addr, r->len, r->ret);
	mt_jw__u64_field(w, "prot", r->prot);
	JSON_NAME(w, "prot_s", mt_xlat__prot, r->prot);
	mt_jw__u64_field(w, "flags", r->flags);
	JSON_NAME(w, "flags_s", mt_xlat__mmap_flags, r->flags);
	mt_jw__s64_field(w, "fd", r->fd);
	mt_jw__u64_field(w, "off", r->off);
}

static void json_munmap(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_munmap *r = (const void *)rec;

	json_addr_len_ret(w, r->addr, r->len, r->ret);
}

static void json_mremap(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_mremap *r = (const void *)rec;

	json_addr_len_ret(w, r->old_addr, r->old_len, r->ret);
	mt_jw__u64_field(w, "old_addr", r->old_addr);
	mt_jw__u64_field(w, "old_len", r->old_len);
	mt_jw__u64_field(w, "new_len", r->new_len);
	mt_jw__u64_field(w, "new_addr", r->new_addr);
	mt_jw__u64_field(w, "flags", r->flags);
	JSON_NAME(w, "flags_s", mt_xlat__mremap_flags, r->flags);
}

static void json_madvise(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_madvise *r = (const void *)rec;

	json_addr_len_ret(w, r->addr, r->len, r->ret);
	JSON_NAME(w, "advice", mt_xlat__advice, r->advice);
	mt_jw__s64_field(w, "advice_n", r->advice);
	mt_jw__u64_field(w, "target_pid", r->target_pid);
}

static void json_brk(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_brk *r = (const void *)rec;

	/* the break is an address: never rendered as an error */
	mt_jw__u64_field(w, "addr", r->addr);
	mt_jw__u64_field(w, "len", 0);
	mt_jw__s64_field(w, "ret", r->ret);
}

static void json_mprotect(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_mprotect *r = (const void *)rec;

	json_addr_len_ret(w, r->addr, r->len, r->ret);
	mt_jw__u64_field(w, "prot", r->prot);
	JSON_NAME(w, "prot_s", mt_xlat__prot, r->prot);
}

/* A name, or "#N" for a value this version does not know. */
static void json_name_or_num(struct mt_jw *w, const char *name, uint64_t v)
{
	mt_jw__string_begin(w);
	mt_xlat__name_or_num(&w->b, name, "#", (int64_t)v);
	mt_jw__string_end(w);
}

static void json_rss(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_rss *r = (const void *)rec;

	mt_jw__u64_field(w, "anon", r->anon);
	mt_jw__u64_field(w, "file", r->file);
	mt_jw__u64_field(w, "shmem", r->shmem);
	mt_jw__u64_field(w, "swap", r->swap);
	if (rec->flags & MT_F_SMAPS) {
		mt_jw__u64_field(w, "lazyfree", r->lazyfree);
		mt_jw__u64_field(w, "smaps_rss", r->smaps_rss);
	}
	mt_jw__key_lit(w, "reason");
	json_name_or_num(w, mt_rss_reason_name(r->reason), r->reason);
}

static void json_task(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_task *r = (const void *)rec;

	mt_jw__key_lit(w, "event");
	json_name_or_num(w, mt_task_event_name(r->event), r->event);
	mt_jw__u64_field(w, "other_pid", r->other_pid);
	mt_jw__s64_field(w, "code", r->code);
	if (r->event == MT_TASK_EXIT) {
		char sig[32];

		if (WIFEXITED(r->code)) {
			mt_jw__u64_field(w, "exit_status", (uint64_t)WEXITSTATUS(r->code));
		} else if (WIFSIGNALED(r->code)) {
			mt_jw__string_field(w, "signal",
					    mt_signal_name(sig, sizeof(sig), WTERMSIG(r->code)));
			if (WCOREDUMP(r->code)) {
				mt_jw__key_lit(w, "core_dumped");
				mt_jw__bool(w, true);
			}
		}
	}
	mt_jw__key_lit(w, "comm");
	mt_jw__string_n(w, r->comm, comm_len(r->comm));
}

static void json_lost(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_lost *r = (const void *)rec;

	mt_jw__u64_field(w, "count", r->count);
	if (r->cpu != ~0u)
		mt_jw__u64_field(w, "cpu", r->cpu);
}

/* The gostat fields, in record order: JSON key, text name, .have bit. */
#define GOSTAT_FIELDS(X)                                                      \
	X(heap_released, "HeapReleased", MT_GS_HEAP_RELEASED)                \
	X(heap_idle, "HeapIdle", MT_GS_HEAP_IDLE)                            \
	X(heap_inuse, "HeapInuse", MT_GS_HEAP_INUSE)                         \
	X(heap_sys, "HeapSys", MT_GS_HEAP_SYS)                               \
	X(sys, "Sys", MT_GS_SYS)                                             \
	X(stack_inuse, "StackInuse", MT_GS_STACK_INUSE)                      \
	X(next_gc, "NextGC", MT_GS_NEXT_GC)                                  \
	X(num_gc, "NumGC", MT_GS_NUM_GC)

static void json_gostat(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_gostat *r = (const void *)rec;

	/* a field the endpoint did not report is absent, not 0 */
#define GS_JSON(f, name, bit)                   \
	if (r->have & (bit))                    \
		mt_jw__u64_field(w, #f, r->f);
	GOSTAT_FIELDS(GS_JSON)
#undef GS_JSON
	mt_jw__u64_field(w, "req_ns", r->req_ns);
	mt_jw__key_lit(w, "source");
	json_name_or_num(w, mt_gostat_source_name(r->source), r->source);
}

static void json_resident(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_resident *r = (const void *)rec;

	mt_jw__u64_field(w, "lazy_present", r->lazy_present);
	mt_jw__u64_field(w, "lazy_absent", r->lazy_absent);
	mt_jw__u64_field(w, "eager_present", r->eager_present);
	mt_jw__u64_field(w, "eager_absent", r->eager_absent);
	mt_jw__u64_field(w, "committed_present", r->committed_present);
	mt_jw__u64_field(w, "committed_absent", r->committed_absent);
	mt_jw__u64_field(w, "swapped", r->swapped);
	mt_jw__u64_field(w, "ranges", r->ranges);
	if (r->flags & MT_RES_CAPPED) {
		mt_jw__key_lit(w, "capped");
		mt_jw__bool(w, true);
	}
}

static void json_stack(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_stack *r = (const void *)rec;
	uint32_t i, nr = r->nr;

	/* never trust nr beyond what the record holds */
	if (nr > (rec->size - sizeof(*r)) / sizeof(r->ips[0]))
		nr = (rec->size - sizeof(*r)) / sizeof(r->ips[0]);
	if (nr > MT_MAX_STACK)
		nr = MT_MAX_STACK;
	mt_jw__u64_field(w, "id", r->id);
	mt_jw__key_lit(w, "ips");
	mt_jw__start_array(w);
	for (i = 0; i < nr; i++)
		mt_jw__u64(w, r->ips[i]);
	mt_jw__end_array(w);
}

/* The text of an info record, bounded by the record. */
static size_t info_len(const struct mt_hdr *rec)
{
	const struct mt_info *r = (const void *)rec;
	size_t max = rec->size > sizeof(*r) ? rec->size - sizeof(*r) : 0;

	return strnlen(r->text, max);
}

static void json_info(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_info *r = (const void *)rec;
	size_t n = info_len(rec);
	const char *eq = memchr(r->text, '=', n);
	size_t klen = eq ? (size_t)(eq - r->text) : n;

	mt_jw__key_lit(w, "key");
	mt_jw__string_n(w, r->text, klen);
	mt_jw__key_lit(w, "value");
	mt_jw__string_n(w, eq ? eq + 1 : "", eq ? n - klen - 1 : 0);
}

/* Text: "0x..." or "NULL" for an address argument. */
static void sb_addr(struct mt_buf *s, uint64_t addr)
{
	if (addr)
		mt_buf__hex(s, addr);
	else
		mt_buf__lit(s, "NULL");
}

/* " = value" of a syscall; addresses in hex, counts in decimal, errors strace-like. */
static void sb_ret(struct mt_buf *s, int64_t ret, bool addr)
{
	int err = ret_errno(ret);

	if (err) {
		mt_buf__lit(s, "-1 ");
		mt_xlat__errno(s, err);
		mt_buf__lit(s, " (");
		mt_buf__str(s, mt_errno_desc(err));
		mt_buf__chr(s, ')');
	} else if (addr) {
		mt_buf__hex(s, (uint64_t)ret);
	} else {
		mt_buf__s64(s, ret);
	}
}

/* "name(0x..., 64 KiB": the first two arguments of most calls. */
static void text_call_range(struct mt_buf *s, const char *call, uint64_t addr, uint64_t len)
{
	mt_buf__str(s, call);
	mt_buf__chr(s, '(');
	sb_addr(s, addr);
	mt_buf__lit(s, ", ");
	sb_size_arg(s, len);
}

static void text_mmap(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_mmap *r = (const void *)rec;

	if (rec->flags & MT_F_ARGS_UNREAD) {
		mt_buf__lit(s, "mmap(?) = ");
	} else {
		text_call_range(s, "mmap", r->addr, r->len);
		mt_buf__lit(s, ", ");
		mt_xlat__prot(s, r->prot);
		mt_buf__lit(s, ", ");
		mt_xlat__mmap_flags(s, r->flags);
		mt_buf__lit(s, ", ");
		mt_buf__s64(s, r->fd);
		mt_buf__lit(s, ", ");
		if (r->off)
			mt_buf__hex(s, r->off);
		else
			mt_buf__chr(s, '0');
		mt_buf__lit(s, ") = ");
	}
	sb_ret(s, r->ret, true);
}

static void text_munmap(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_munmap *r = (const void *)rec;

	text_call_range(s, "munmap", r->addr, r->len);
	mt_buf__lit(s, ") = ");
	sb_ret(s, r->ret, false);
}

static void text_mremap(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_mremap *r = (const void *)rec;

	text_call_range(s, "mremap", r->old_addr, r->old_len);
	mt_buf__lit(s, ", ");
	sb_size_arg(s, r->new_len);
	mt_buf__lit(s, ", ");
	mt_xlat__mremap_flags(s, r->flags);
	/* like strace: the fifth argument only exists with MREMAP_FIXED */
	if (r->flags & MREMAP_FIXED) {
		mt_buf__lit(s, ", ");
		sb_addr(s, r->new_addr);
	}
	mt_buf__lit(s, ") = ");
	sb_ret(s, r->ret, true);
}

static void text_madvise(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_madvise *r = (const void *)rec;
	bool pm = rec->flags & MT_F_PROCESS_MADVISE;

	if (pm) {
		mt_buf__lit(s, "process_madvise(pid ");
		mt_buf__u64(s, r->target_pid);
		mt_buf__lit(s, ", ");
	} else {
		mt_buf__lit(s, "madvise(");
	}
	sb_addr(s, r->addr);
	mt_buf__lit(s, ", ");
	sb_size_arg(s, r->len);
	mt_buf__lit(s, ", ");
	mt_xlat__advice(s, r->advice);
	mt_buf__lit(s, ") = ");
	sb_ret(s, r->ret, false);
	if (rec->flags & MT_F_IOV_TRUNC)
		mt_buf__lit(s, " [iovec truncated]");
}

static void text_brk(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_brk *r = (const void *)rec;

	mt_buf__lit(s, "brk(");
	sb_addr(s, r->addr);
	mt_buf__lit(s, ") = ");
	mt_buf__hex(s, (uint64_t)r->ret);
}

static void text_mprotect(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_mprotect *r = (const void *)rec;

	text_call_range(s, "mprotect", r->addr, r->len);
	mt_buf__lit(s, ", ");
	mt_xlat__prot(s, r->prot);
	mt_buf__lit(s, ") = ");
	sb_ret(s, r->ret, false);
}

static void text_rss(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_rss *r = (const void *)rec;

	mt_buf__lit(s, "rss anon=");
	sb_size(s, r->anon);
	mt_buf__lit(s, " file=");
	sb_size(s, r->file);
	mt_buf__lit(s, " shmem=");
	sb_size(s, r->shmem);
	mt_buf__lit(s, " swap=");
	sb_size(s, r->swap);
	if (rec->flags & MT_F_SMAPS) {
		mt_buf__lit(s, " lazyfree=");
		sb_size(s, r->lazyfree);
		mt_buf__lit(s, " smaps_rss=");
		sb_size(s, r->smaps_rss);
	}
	mt_buf__lit(s, " [");
	mt_xlat__name_or_num(s, mt_rss_reason_name(r->reason), "#", r->reason);
	mt_buf__chr(s, ']');
}

static void text_task(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_task *r = (const void *)rec;
	const unsigned char *comm = (const unsigned char *)r->comm;
	size_t clen = comm_len(r->comm);
	char sig[32];

	mt_buf__lit(s, "+++ ");
	switch (r->event) {
	case MT_TASK_ATTACH:
		mt_buf__lit(s, "attached");
		break;
	case MT_TASK_LAUNCH:
		mt_buf__lit(s, "launched");
		break;
	case MT_TASK_FORK:
		mt_buf__lit(s, "fork ");
		mt_buf__u64(s, r->other_pid);
		clen = 0;
		break;
	case MT_TASK_CLONE:
		mt_buf__lit(s, "clone ");
		mt_buf__u64(s, r->other_pid);
		clen = 0;
		break;
	case MT_TASK_EXEC:
		mt_buf__lit(s, "exec");
		break;
	case MT_TASK_EXIT:
		if (WIFEXITED(r->code)) {
			mt_buf__lit(s, "exited with ");
			mt_buf__u64(s, (uint64_t)WEXITSTATUS(r->code));
		} else if (WIFSIGNALED(r->code)) {
			mt_buf__lit(s, "killed by ");
			mt_buf__str(s, mt_signal_name(sig, sizeof(sig), WTERMSIG(r->code)));
			if (WCOREDUMP(r->code))
				mt_buf__lit(s, " (core dumped)");
		} else {
			mt_buf__lit(s, "exited (status ");
			mt_buf__hex(s, (uint32_t)r->code);
			mt_buf__chr(s, ')');
		}
		clen = 0;
		break;
	case MT_TASK_THREAD_EXIT:
		mt_buf__lit(s, "thread exited");
		clen = 0;
		break;
	case MT_TASK_DETACH:
		mt_buf__lit(s, "detached");
		clen = 0;
		break;
	default:
		mt_buf__lit(s, "task event ");
		mt_buf__u64(s, r->event);
		break;
	}
	if (clen) {
		mt_buf__chr(s, ' ');
		sb_text_bytes(s, comm, clen);
	}
	mt_buf__lit(s, " +++");
}

static void text_stack(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_stack *r = (const void *)rec;

	mt_buf__lit(s, "stack #");
	mt_buf__u64(s, r->id);
	mt_buf__lit(s, " (");
	mt_buf__u64(s, r->nr);
	mt_buf__lit(s, " frames)");
}

static void text_info(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_info *r = (const void *)rec;

	mt_buf__lit(s, "info ");
	sb_text_bytes(s, (const unsigned char *)r->text, info_len(rec));
}

static void text_lost(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_lost *r = (const void *)rec;

	mt_buf__lit(s, "!!! ");
	mt_buf__u64(s, r->count);
	if (r->count == 1)
		mt_buf__lit(s, " event lost");
	else
		mt_buf__lit(s, " events lost");
	if (r->cpu != ~0u) {
		mt_buf__lit(s, " on cpu ");
		mt_buf__u64(s, r->cpu);
	}
	mt_buf__lit(s, " !!!");
}

static void text_gostat(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_gostat *r = (const void *)rec;

	mt_buf__lit(s, "go");
#define GS_TEXT(f, name, bit)                                   \
	if (r->have & (bit)) {                                  \
		mt_buf__lit(s, " " name "=");                   \
		if ((bit) == MT_GS_NUM_GC)                      \
			mt_buf__u64(s, r->f);                   \
		else                                            \
			sb_size(s, r->f);                       \
	}
	GOSTAT_FIELDS(GS_TEXT)
#undef GS_TEXT
	mt_buf__lit(s, " [");
	mt_xlat__name_or_num(s, mt_gostat_source_name(r->source), "#", r->source);
	mt_buf__chr(s, ']');
}

static void text_resident(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_resident *r = (const void *)rec;

	mt_buf__lit(s, "resident released-lazily=");
	sb_size(s, r->lazy_present);
	mt_buf__lit(s, "/");
	sb_size(s, r->lazy_present + r->lazy_absent);
	mt_buf__lit(s, " released-eagerly=");
	sb_size(s, r->eager_present);
	mt_buf__lit(s, "/");
	sb_size(s, r->eager_present + r->eager_absent);
	mt_buf__lit(s, " committed=");
	sb_size(s, r->committed_present);
	mt_buf__lit(s, "/");
	sb_size(s, r->committed_present + r->committed_absent);
	mt_buf__lit(s, " swapped=");
	sb_size(s, r->swapped);
	if (r->flags & MT_RES_CAPPED)
		mt_buf__lit(s, " (capped)");
}

/* ---- the type table ---- */

/* the bytes of a variable-size record after its fixed part, bounded by h.size */
static size_t tail_len(const struct mt_hdr *rec, size_t fixed, size_t declared)
{
	size_t have = rec->size > fixed ? rec->size - fixed : 0;

	return declared < have ? declared : have;
}

/* bytes as a JSON string of lower-case hex digits, two a byte */
static void json_hex_bytes(struct mt_jw *w, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	mt_jw__string_begin(w);
	for (size_t i = 0; i < n; i++) {
		char hx[2] = { digits[p[i] >> 4], digits[p[i] & 15] };

		mt_jw__verbatim(w, hx, 2);
	}
	mt_jw__string_end(w);
}

static void json_ustack(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_ustack *r = (const void *)rec;
	unsigned i;

	mt_jw__key_lit(w, "regs");
	mt_jw__start_array(w);
	for (i = 0; i < MT_UREG_NR; i++)
		mt_jw__u64(w, r->regs[i]);
	mt_jw__end_array(w);
	mt_jw__u64_field(w, "sp", r->sp);
	mt_jw__u64_field(w, "len", tail_len(rec, sizeof(*r), r->len));
	mt_jw__u64_field(w, "flags", r->flags);
	/* the stack bytes in hex, for tools and tests that unwind or look inside */
	mt_jw__key_lit(w, "data");
	json_hex_bytes(w, r->data, tail_len(rec, sizeof(*r), r->len));
}

static size_t mapping_path_len(const struct mt_hdr *rec)
{
	const struct mt_mapping *r = (const void *)rec;
	size_t n = tail_len(rec, sizeof(*r), MT_MAPPING_PATH_MAX);
	const char *nul = memchr(r->path, '\0', n);

	return nul ? (size_t)(nul - r->path) : n;
}

static void json_mapping(struct mt_jw *w, const struct mt_hdr *rec)
{
	const struct mt_mapping *r = (const void *)rec;
	unsigned n = r->build_id_len < MT_BUILD_ID_MAX ? r->build_id_len : MT_BUILD_ID_MAX;

	mt_jw__u64_field(w, "start", r->start);
	mt_jw__u64_field(w, "end", r->end);
	mt_jw__u64_field(w, "off", r->off);
	mt_jw__u64_field(w, "dev", r->dev);
	mt_jw__u64_field(w, "ino", r->ino);
	mt_jw__u64_field(w, "prot", r->prot);
	mt_jw__key_lit(w, "build_id");
	json_hex_bytes(w, r->build_id, n);
	mt_jw__key_lit(w, "path");
	mt_jw__string_n(w, r->path, mapping_path_len(rec));
}

static void text_ustack(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_ustack *r = (const void *)rec;

	mt_buf__lit(s, "ustack sp=");
	mt_buf__hex(s, r->sp);
	mt_buf__lit(s, " ip=");
	mt_buf__hex(s, r->regs[MT_UREG_RIP]);
	mt_buf__lit(s, " len=");
	mt_buf__u64(s, tail_len(rec, sizeof(*r), r->len));
}

static void text_mapping(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_mapping *r = (const void *)rec;

	mt_buf__lit(s, "mapping ");
	mt_buf__hex(s, r->start);
	mt_buf__lit(s, "-");
	mt_buf__hex(s, r->end);
	mt_buf__lit(s, " off=");
	mt_buf__hex(s, r->off);
	mt_buf__chr(s, ' ');
	sb_text_bytes(s, (const unsigned char *)r->path, mapping_path_len(rec));
}

struct type_desc {
	json_fn json;
	text_fn text;
};

#define TYPE(t, j, x) [t] = { j, x }
static const struct type_desc types[] = {
	TYPE(MT_MMAP, json_mmap, text_mmap),
	TYPE(MT_MUNMAP, json_munmap, text_munmap),
	TYPE(MT_MREMAP, json_mremap, text_mremap),
	TYPE(MT_MADVISE, json_madvise, text_madvise),
	TYPE(MT_BRK, json_brk, text_brk),
	TYPE(MT_MPROTECT, json_mprotect, text_mprotect),
	TYPE(MT_RSS, json_rss, text_rss),
	TYPE(MT_TASK, json_task, text_task),
	TYPE(MT_LOST, json_lost, text_lost),
	TYPE(MT_STACK, json_stack, text_stack),
	TYPE(MT_INFO, json_info, text_info),
	TYPE(MT_GOSTAT, json_gostat, text_gostat),
	TYPE(MT_RESIDENT, json_resident, text_resident),
	TYPE(MT_USTACK, json_ustack, text_ustack),
	TYPE(MT_MAPPING, json_mapping, text_mapping),
};
#undef TYPE

_Static_assert(ARRAY_SIZE(types) == MT_TYPE_MAX, "every record type needs a row in types[]");

static inline const struct type_desc *type_desc(uint16_t type)
{
	if (!mt_type_info(type) || type >= ARRAY_SIZE(types) || !types[type].json)
		return NULL;
	return &types[type];
}

/* Room for any record but an info record's long text; a longer line goes out in pieces. */
#define LINE_CAP 4096

/* Bytes written, or -1 when a write failed. */
static int line_end(struct mt_buf *s)
{
	int64_t n = mt_buf__flush(s);

	return n < 0 || n > INT32_MAX ? -1 : (int)n;
}

static void sb_abi(struct mt_buf *s, uint8_t abi)
{
	mt_xlat__name_or_num(s, mt_abi_name(abi), "#", abi);
}

#define KNOWN_HDR_FLAGS                                                                           \
	(MT_F_PROCESS_MADVISE | MT_F_SYNTH | MT_F_SMAPS | MT_F_IOV_TRUNC | MT_F_ARGS_UNREAD)

int mt_record_json(FILE *out, const struct mt_hdr *rec)
{
	const struct type_desc *d = type_desc(rec->type);
	char line[LINE_CAP];
	struct mt_jw w;
	int64_t n;

	mt_jw__init(&w, line, sizeof(line), out, false);
	mt_jw__start_object(&w);
	if (d) {
		mt_jw__string_field(&w, "type", mt_type_info(rec->type)->name);
	} else {
		mt_jw__string_field(&w, "type", "unknown");
		mt_jw__u64_field(&w, "type_n", rec->type);
		mt_jw__u64_field(&w, "size", rec->size);
	}
	mt_jw__u64_field(&w, "t_ns", rec->t_ns);
	mt_jw__u64_field(&w, "pid", rec->pid);
	mt_jw__u64_field(&w, "tid", rec->tid);
	if (rec->flags) {
		static const struct {
			uint16_t flag;
			const char *key;
		} hdr_flags[] = {
			{ MT_F_PROCESS_MADVISE, "process_madvise" },
			{ MT_F_SYNTH, "synth" },
			{ MT_F_IOV_TRUNC, "iov_trunc" },
			{ MT_F_ARGS_UNREAD, "args_unread" },
		};

		for (size_t i = 0; i < ARRAY_SIZE(hdr_flags); i++) {
			if (rec->flags & hdr_flags[i].flag) {
				mt_jw__key(&w, hdr_flags[i].key);
				mt_jw__bool(&w, true);
			}
		}
		if (rec->flags & ~KNOWN_HDR_FLAGS)
			mt_jw__u64_field(&w, "hdr_flags", rec->flags);
	}
	if (rec->abi != MT_ABI_X86_64) {
		mt_jw__key_lit(&w, "abi");
		json_name_or_num(&w, mt_abi_name(rec->abi), rec->abi);
	}
	if (rec->stack_id)
		mt_jw__u64_field(&w, "stack_id", rec->stack_id);
	if (d)
		d->json(&w, rec);
	mt_jw__end_object(&w);
	n = mt_jw__flush(&w);
	return n < 0 || n > INT32_MAX ? -1 : (int)n;
}

/* "HH:MM:SS" of a wall-clock second; cached since consecutive records share it. */
static void sb_clock(struct mt_buf *s, int64_t sec)
{
	static _Thread_local int64_t cached_sec = -1;
	static _Thread_local char cached[9];

	if (sec != cached_sec) {
		time_t t = (time_t)sec;
		struct tm tm;
		struct mt_buf c;

		mt_buf__init_str(&c, cached, sizeof(cached));
		if (!localtime_r(&t, &tm))
			memset(&tm, 0, sizeof(tm));
		mt_buf__dec_w(&c, (uint64_t)tm.tm_hour, 2);
		mt_buf__chr(&c, ':');
		mt_buf__dec_w(&c, (uint64_t)tm.tm_min, 2);
		mt_buf__chr(&c, ':');
		mt_buf__dec_w(&c, (uint64_t)tm.tm_sec, 2);
		mt_buf__cstr(&c);
		cached_sec = sec;
	}
	mt_buf__mem(s, cached, 8);
}

int mt_record_text(FILE *out, const struct mt_hdr *rec, int64_t clock_offset_ns)
{
	const struct type_desc *d = type_desc(rec->type);
	char line[LINE_CAP];
	struct mt_buf s;
	int64_t wall;
	bool ok;

	/* a corrupt time falls back to seconds of the record clock rather than overflowing */
	ok = rec->t_ns <= INT64_MAX &&
	     !__builtin_add_overflow((int64_t)rec->t_ns, clock_offset_ns, &wall) && wall >= 0;
	mt_buf__init(&s, line, sizeof(line), out);
	if (clock_offset_ns && ok) {
		sb_clock(&s, wall / 1000000000);
		mt_buf__chr(&s, '.');
		mt_buf__dec_w(&s, (uint64_t)(wall % 1000000000) / 1000, 6);
	} else {
		mt_buf__u64(&s, rec->t_ns / 1000000000);
		mt_buf__chr(&s, '.');
		mt_buf__dec_w(&s, rec->t_ns % 1000000000 / 1000, 6);
	}
	mt_buf__chr(&s, ' ');
	mt_buf__u64(&s, rec->pid);
	mt_buf__chr(&s, '/');
	mt_buf__u64(&s, rec->tid);
	mt_buf__chr(&s, ' ');
	if (rec->abi != MT_ABI_X86_64) {
		mt_buf__chr(&s, '[');
		sb_abi(&s, rec->abi);
		mt_buf__lit(&s, "] ");
	}
	if (d) {
		d->text(&s, rec);
		/* synthesized from /proc, not a call the program made */
		if (mt_type_info(rec->type)->call && (rec->flags & MT_F_SYNTH))
			mt_buf__lit(&s, " (mapped before tracing began)");
	} else {
		mt_buf__lit(&s, "unknown record type ");
		mt_buf__u64(&s, rec->type);
		mt_buf__lit(&s, " (");
		mt_buf__u64(&s, rec->size);
		mt_buf__lit(&s, " bytes)");
	}
	return line_end(&s);
}
