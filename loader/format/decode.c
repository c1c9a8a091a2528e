// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Names and renderings of records. Everything that knows the layout of a
 * record type lives in the type table at the bottom of this file: adding a
 * syscall means adding one row there and its three decoders (call, json, text).
 *
 * The renderers format into a stack buffer with hand-rolled number
 * formatting and write it with one fwrite: `dump` runs over millions of
 * records and printf-style formatting would dominate its time.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include "decode.h"
#include "madvtrace/build.h"

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

typedef void (*render_fn)(struct mt_buf *s, const struct mt_hdr *rec);

/* JSON string body: escapes quotes, backslashes, controls and bytes that are not UTF-8. */
static void sb_json_bytes(struct mt_buf *s, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t seq = 0;

		if (c >= 0x20 && c < 0x7f) {
			if (c == '"' || c == '\\')
				mt_buf__chr(s, '\\');
			mt_buf__chr(s, (char)c);
			i++;
			continue;
		}
		/* length of a well-formed UTF-8 sequence starting here, else 0 */
		if (c >= 0xc2 && c <= 0xdf)
			seq = 2;
		else if (c >= 0xe0 && c <= 0xef)
			seq = 3;
		else if (c >= 0xf0 && c <= 0xf4)
			seq = 4;
		if (seq && i + seq <= n) {
			size_t k;

			for (k = 1; k < seq; k++)
				if ((p[i + k] & 0xc0) != 0x80)
					break;
			/* reject overlong, surrogate and out-of-range forms */
			if (k == seq &&
			    ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
			     (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f)))
				k = 0;
			if (k == seq) {
				mt_buf__mem(s, (const char *)p + i, seq);
				i += seq;
				continue;
			}
		}
		mt_buf__lit(s, "\\u00");
		mt_buf__chr(s, hex[c >> 4]);
		mt_buf__chr(s, hex[c & 0xf]);
		i++;
	}
}

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

#define J(s, key) mt_buf__lit(s, ",\"" key "\":")

static void json_ret(struct mt_buf *s, int64_t ret)
{
	int err = ret_errno(ret);

	J(s, "ret");
	mt_buf__s64(s, ret);
	if (err) {
		J(s, "err");
		mt_buf__chr(s, '"');
		mt_xlat__errno(s, err);
		mt_buf__chr(s, '"');
	}
}

static void json_addr_len_ret(struct mt_buf *s, uint64_t addr, uint64_t len, int64_t ret)
{
	J(s, "addr");
	mt_buf__u64(s, addr);
	J(s, "len");
	mt_buf__u64(s, len);
	json_ret(s, ret);
}

static void json_mmap(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_mmap *r = (const void *)rec;

	json_addr_len_ret(s, r->addr, r->len, r->ret);
	J(s, "prot");
	mt_buf__u64(s, r->prot);
	J(s, "prot_s");
	mt_buf__chr(s, '"');
	mt_xlat__prot(s, r->prot);
	mt_buf__chr(s, '"');
	J(s, "flags");
	mt_buf__u64(s, r->flags);
	J(s, "flags_s");
	mt_buf__chr(s, '"');
	mt_xlat__mmap_flags(s, r->flags);
	mt_buf__chr(s, '"');
	J(s, "fd");
	mt_buf__s64(s, r->fd);
	J(s, "off");
	mt_buf__u64(s, r->off);
}

static void json_munmap(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_munmap *r = (const void *)rec;

	json_addr_len_ret(s, r->addr, r->len, r->ret);
}

static void json_mremap(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_mremap *r = (const void *)rec;

	json_addr_len_ret(s, r->old_addr, r->old_len, r->ret);
	J(s, "old_addr");
	mt_buf__u64(s, r->old_addr);
	J(s, "old_len");
	mt_buf__u64(s, r->old_len);
	J(s, "new_len");
	mt_buf__u64(s, r->new_len);
	J(s, "new_addr");
	mt_buf__u64(s, r->new_addr);
	J(s, "flags");
	mt_buf__u64(s, r->flags);
	J(s, "flags_s");
	mt_buf__chr(s, '"');
	mt_xlat__mremap_flags(s, r->flags);
	mt_buf__chr(s, '"');
}

static void json_madvise(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_madvise *r = (const void *)rec;

	json_addr_len_ret(s, r->addr, r->len, r->ret);
	J(s, "advice");
	mt_buf__chr(s, '"');
	mt_xlat__advice(s, r->advice);
	mt_buf__chr(s, '"');
	J(s, "advice_n");
	mt_buf__s64(s, r->advice);
	J(s, "target_pid");
	mt_buf__u64(s, r->target_pid);
}

static void json_brk(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_brk *r = (const void *)rec;

	/* the break is an address: never rendered as an error */
	J(s, "addr");
	mt_buf__u64(s, r->addr);
	mt_buf__lit(s, ",\"len\":0,\"ret\":");
	mt_buf__s64(s, r->ret);
}

static void json_mprotect(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_mprotect *r = (const void *)rec;

	json_addr_len_ret(s, r->addr, r->len, r->ret);
	J(s, "prot");
	mt_buf__u64(s, r->prot);
	J(s, "prot_s");
	mt_buf__chr(s, '"');
	mt_xlat__prot(s, r->prot);
	mt_buf__chr(s, '"');
}

/* A name, or "#N" for a value this version does not know. */
static void sb_name_or_num(struct mt_buf *s, const char *name, uint64_t v)
{
	if (name) {
		mt_buf__str(s, name);
	} else {
		mt_buf__chr(s, '#');
		mt_buf__u64(s, v);
	}
}

static void json_rss(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_rss *r = (const void *)rec;

	J(s, "anon");
	mt_buf__u64(s, r->anon);
	J(s, "file");
	mt_buf__u64(s, r->file);
	J(s, "shmem");
	mt_buf__u64(s, r->shmem);
	J(s, "swap");
	mt_buf__u64(s, r->swap);
	if (rec->flags & MT_F_SMAPS) {
		J(s, "lazyfree");
		mt_buf__u64(s, r->lazyfree);
		J(s, "smaps_rss");
		mt_buf__u64(s, r->smaps_rss);
	}
	J(s, "reason");
	mt_buf__chr(s, '"');
	sb_name_or_num(s, mt_rss_reason_name(r->reason), r->reason);
	mt_buf__chr(s, '"');
}

static void json_task(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_task *r = (const void *)rec;

	J(s, "event");
	mt_buf__chr(s, '"');
	sb_name_or_num(s, mt_task_event_name(r->event), r->event);
	mt_buf__chr(s, '"');
	J(s, "other_pid");
	mt_buf__u64(s, r->other_pid);
	J(s, "code");
	mt_buf__s64(s, r->code);
	if (r->event == MT_TASK_EXIT) {
		char sig[32];

		if (WIFEXITED(r->code)) {
			J(s, "exit_status");
			mt_buf__u64(s, (uint64_t)WEXITSTATUS(r->code));
		} else if (WIFSIGNALED(r->code)) {
			J(s, "signal");
			mt_buf__chr(s, '"');
			mt_buf__str(s, mt_signal_name(sig, sizeof(sig), WTERMSIG(r->code)));
			mt_buf__chr(s, '"');
			if (WCOREDUMP(r->code))
				mt_buf__lit(s, ",\"core_dumped\":true");
		}
	}
	J(s, "comm");
	mt_buf__chr(s, '"');
	sb_json_bytes(s, (const unsigned char *)r->comm, comm_len(r->comm));
	mt_buf__chr(s, '"');
}

static void json_lost(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_lost *r = (const void *)rec;

	J(s, "count");
	mt_buf__u64(s, r->count);
	if (r->cpu != ~0u) {
		J(s, "cpu");
		mt_buf__u64(s, r->cpu);
	}
}

static void json_stack(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_stack *r = (const void *)rec;
	uint32_t i, nr = r->nr;

	/* never trust nr beyond what the record holds */
	if (nr > (rec->size - sizeof(*r)) / sizeof(r->ips[0]))
		nr = (rec->size - sizeof(*r)) / sizeof(r->ips[0]);
	if (nr > MT_MAX_STACK)
		nr = MT_MAX_STACK;
	J(s, "id");
	mt_buf__u64(s, r->id);
	J(s, "ips");
	mt_buf__chr(s, '[');
	for (i = 0; i < nr; i++) {
		if (i)
			mt_buf__chr(s, ',');
		mt_buf__u64(s, r->ips[i]);
	}
	mt_buf__chr(s, ']');
}

/* The text of an info record, bounded by the record. */
static size_t info_len(const struct mt_hdr *rec)
{
	const struct mt_info *r = (const void *)rec;
	size_t max = rec->size > sizeof(*r) ? rec->size - sizeof(*r) : 0;

	return strnlen(r->text, max);
}

static void json_info(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_info *r = (const void *)rec;
	size_t n = info_len(rec);
	const char *eq = memchr(r->text, '=', n);
	size_t klen = eq ? (size_t)(eq - r->text) : n;

	J(s, "key");
	mt_buf__chr(s, '"');
	sb_json_bytes(s, (const unsigned char *)r->text, klen);
	mt_buf__chr(s, '"');
	J(s, "value");
	mt_buf__chr(s, '"');
	if (eq)
		sb_json_bytes(s, (const unsigned char *)eq + 1, n - klen - 1);
	mt_buf__chr(s, '"');
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

static void text_mmap(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_mmap *r = (const void *)rec;

	if (rec->flags & MT_F_ARGS_UNREAD) {
		mt_buf__lit(s, "mmap(?) = ");
	} else {
		mt_buf__lit(s, "mmap(");
		sb_addr(s, r->addr);
		mt_buf__lit(s, ", ");
		sb_size_arg(s, r->len);
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

	mt_buf__lit(s, "munmap(");
	sb_addr(s, r->addr);
	mt_buf__lit(s, ", ");
	sb_size_arg(s, r->len);
	mt_buf__lit(s, ") = ");
	sb_ret(s, r->ret, false);
}

static void text_mremap(struct mt_buf *s, const struct mt_hdr *rec)
{
	const struct mt_mremap *r = (const void *)rec;

	mt_buf__lit(s, "mremap(");
	sb_addr(s, r->old_addr);
	mt_buf__lit(s, ", ");
	sb_size_arg(s, r->old_len);
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

	mt_buf__lit(s, "mprotect(");
	sb_addr(s, r->addr);
	mt_buf__lit(s, ", ");
	sb_size_arg(s, r->len);
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
	sb_name_or_num(s, mt_rss_reason_name(r->reason), r->reason);
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

/* ---- the type table ---- */

struct type_desc {
	render_fn json, text;
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
};
#undef TYPE

_Static_assert(ARRAY_SIZE(types) == MT_TYPE_MAX, "every record type needs a row in types[]");

static inline const struct type_desc *type_desc(uint16_t type)
{
	if (!mt_type_info(type) || type >= ARRAY_SIZE(types) || !types[type].json)
		return NULL;
	return &types[type];
}

char *mt_ret_str(char *buf, size_t len, const struct mt_hdr *rec)
{
	struct mt_buf s;
	struct mt_call c;

	if (!len)
		return buf;
	mt_buf__init_str(&s, buf, len);
	if (!mt_record_call(rec, &c))
		mt_buf__chr(&s, '?');
	else if (rec->type == MT_BRK)
		mt_buf__hex(&s, (uint64_t)c.ret);
	else
		sb_ret(&s, c.ret, rec->type == MT_MMAP || rec->type == MT_MREMAP);
	return mt_buf__cstr(&s);
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
	sb_name_or_num(s, mt_abi_name(abi), abi);
}

#define KNOWN_HDR_FLAGS                                                                           \
	(MT_F_PROCESS_MADVISE | MT_F_SYNTH | MT_F_SMAPS | MT_F_IOV_TRUNC | MT_F_ARGS_UNREAD)

int mt_record_json(FILE *out, const struct mt_hdr *rec)
{
	const struct type_desc *d = type_desc(rec->type);
	char line[LINE_CAP];
	struct mt_buf s;

	mt_buf__init(&s, line, sizeof(line), out);
	mt_buf__lit(&s, "{\"type\":\"");
	if (d) {
		mt_buf__str(&s, mt_type_info(rec->type)->name);
		mt_buf__chr(&s, '"');
	} else {
		mt_buf__lit(&s, "unknown\",\"type_n\":");
		mt_buf__u64(&s, rec->type);
		J(&s, "size");
		mt_buf__u64(&s, rec->size);
	}
	J(&s, "t_ns");
	mt_buf__u64(&s, rec->t_ns);
	J(&s, "pid");
	mt_buf__u64(&s, rec->pid);
	J(&s, "tid");
	mt_buf__u64(&s, rec->tid);
	if (rec->flags) {
		if (rec->flags & MT_F_PROCESS_MADVISE)
			mt_buf__lit(&s, ",\"process_madvise\":true");
		if (rec->flags & MT_F_SYNTH)
			mt_buf__lit(&s, ",\"synth\":true");
		if (rec->flags & MT_F_IOV_TRUNC)
			mt_buf__lit(&s, ",\"iov_trunc\":true");
		if (rec->flags & MT_F_ARGS_UNREAD)
			mt_buf__lit(&s, ",\"args_unread\":true");
		if (rec->flags & ~KNOWN_HDR_FLAGS) {
			J(&s, "hdr_flags");
			mt_buf__u64(&s, rec->flags);
		}
	}
	if (rec->abi != MT_ABI_X86_64) {
		J(&s, "abi");
		mt_buf__chr(&s, '"');
		sb_abi(&s, rec->abi);
		mt_buf__chr(&s, '"');
	}
	if (rec->stack_id) {
		J(&s, "stack_id");
		mt_buf__u64(&s, rec->stack_id);
	}
	if (d)
		d->json(&s, rec);
	mt_buf__chr(&s, '}');
	return line_end(&s);
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
