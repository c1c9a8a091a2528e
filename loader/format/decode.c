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

/* Values glibc's headers may lack (all from the kernel's uapi). */
#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif
#ifndef MADV_KEEPONFORK
#define MADV_KEEPONFORK 19
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100
#endif
#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE 101
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif
#ifndef PROT_SEM
#define PROT_SEM 0x8
#endif
#ifndef MAP_SHARED_VALIDATE
#define MAP_SHARED_VALIDATE 0x03
#endif
#ifndef MAP_DROPPABLE
#define MAP_DROPPABLE 0x08
#endif
#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MAP_UNINITIALIZED
#define MAP_UNINITIALIZED 0x4000000
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_MASK
#define MAP_HUGE_MASK 0x3f
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif
#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- names ---- */

#define ADV(x) [x] = #x
static const char *const advice_names[] = {
	ADV(MADV_NORMAL),	  ADV(MADV_RANDOM),	   ADV(MADV_SEQUENTIAL),
	ADV(MADV_WILLNEED),	  ADV(MADV_DONTNEED),	   ADV(MADV_FREE),
	ADV(MADV_REMOVE),	  ADV(MADV_DONTFORK),	   ADV(MADV_DOFORK),
	ADV(MADV_MERGEABLE),	  ADV(MADV_UNMERGEABLE),   ADV(MADV_HUGEPAGE),
	ADV(MADV_NOHUGEPAGE),	  ADV(MADV_DONTDUMP),	   ADV(MADV_DODUMP),
	ADV(MADV_WIPEONFORK),	  ADV(MADV_KEEPONFORK),	   ADV(MADV_COLD),
	ADV(MADV_PAGEOUT),	  ADV(MADV_POPULATE_READ), ADV(MADV_POPULATE_WRITE),
	ADV(MADV_DONTNEED_LOCKED), ADV(MADV_COLLAPSE),	   ADV(MADV_HWPOISON),
	ADV(MADV_SOFT_OFFLINE),	  ADV(MADV_GUARD_INSTALL), ADV(MADV_GUARD_REMOVE),
};
#undef ADV

const char *mt_advice_name(int advice)
{
	if (advice < 0 || (size_t)advice >= ARRAY_SIZE(advice_names))
		return NULL;
	return advice_names[advice];
}

int mt_advice_by_name(const char *name)
{
	const char *short_name;
	char *end;
	long v;

	if (!name || !*name)
		return -1;
	if (!strncasecmp(name, "MADV_#", 6) || isdigit((unsigned char)*name)) {
		const char *num = isdigit((unsigned char)*name) ? name : name + 6;

		errno = 0;
		v = strtol(num, &end, 10);
		if (errno || end == num || *end || v < 0 || v > 0x7fffffff)
			return -1;
		return (int)v;
	}
	short_name = !strncasecmp(name, "MADV_", 5) ? name + 5 : name;
	for (size_t i = 0; i < ARRAY_SIZE(advice_names); i++)
		if (advice_names[i] && !strcasecmp(advice_names[i] + 5, short_name))
			return (int)i;
	return -1;
}

bool mt_advice_releases(int advice)
{
	switch (advice) {
	case MADV_DONTNEED:
	case MADV_DONTNEED_LOCKED:
	case MADV_FREE:
	case MADV_REMOVE:
	case MADV_PAGEOUT: /* reclaims the pages now: RSS drops */
	case MADV_GUARD_INSTALL: /* zaps the range before installing guard markers */
		return true;
	default:
		return false;
	}
}

#define ERR(x) [x] = #x
static const char *const errno_names[] = {
	ERR(EPERM),	      ERR(ENOENT),	   ERR(ESRCH),		 ERR(EINTR),
	ERR(EIO),	      ERR(ENXIO),	   ERR(E2BIG),		 ERR(ENOEXEC),
	ERR(EBADF),	      ERR(ECHILD),	   ERR(EAGAIN),		 ERR(ENOMEM),
	ERR(EACCES),	      ERR(EFAULT),	   ERR(ENOTBLK),	 ERR(EBUSY),
	ERR(EEXIST),	      ERR(EXDEV),	   ERR(ENODEV),		 ERR(ENOTDIR),
	ERR(EISDIR),	      ERR(EINVAL),	   ERR(ENFILE),		 ERR(EMFILE),
	ERR(ENOTTY),	      ERR(ETXTBSY),	   ERR(EFBIG),		 ERR(ENOSPC),
	ERR(ESPIPE),	      ERR(EROFS),	   ERR(EMLINK),		 ERR(EPIPE),
	ERR(EDOM),	      ERR(ERANGE),	   ERR(EDEADLK),	 ERR(ENAMETOOLONG),
	ERR(ENOLCK),	      ERR(ENOSYS),	   ERR(ENOTEMPTY),	 ERR(ELOOP),
	ERR(ENOMSG),	      ERR(EIDRM),	   ERR(ECHRNG),		 ERR(EL2NSYNC),
	ERR(EL3HLT),	      ERR(EL3RST),	   ERR(ELNRNG),		 ERR(EUNATCH),
	ERR(ENOCSI),	      ERR(EL2HLT),	   ERR(EBADE),		 ERR(EBADR),
	ERR(EXFULL),	      ERR(ENOANO),	   ERR(EBADRQC),	 ERR(EBADSLT),
	ERR(EBFONT),	      ERR(ENOSTR),	   ERR(ENODATA),	 ERR(ETIME),
	ERR(ENOSR),	      ERR(ENONET),	   ERR(ENOPKG),		 ERR(EREMOTE),
	ERR(ENOLINK),	      ERR(EADV),	   ERR(ESRMNT),		 ERR(ECOMM),
	ERR(EPROTO),	      ERR(EMULTIHOP),	   ERR(EDOTDOT),	 ERR(EBADMSG),
	ERR(EOVERFLOW),	      ERR(ENOTUNIQ),	   ERR(EBADFD),		 ERR(EREMCHG),
	ERR(ELIBACC),	      ERR(ELIBBAD),	   ERR(ELIBSCN),	 ERR(ELIBMAX),
	ERR(ELIBEXEC),	      ERR(EILSEQ),	   ERR(ERESTART),	 ERR(ESTRPIPE),
	ERR(EUSERS),	      ERR(ENOTSOCK),	   ERR(EDESTADDRREQ),	 ERR(EMSGSIZE),
	ERR(EPROTOTYPE),      ERR(ENOPROTOOPT),	   ERR(EPROTONOSUPPORT), ERR(ESOCKTNOSUPPORT),
	ERR(EOPNOTSUPP),      ERR(EPFNOSUPPORT),   ERR(EAFNOSUPPORT),	 ERR(EADDRINUSE),
	ERR(EADDRNOTAVAIL),   ERR(ENETDOWN),	   ERR(ENETUNREACH),	 ERR(ENETRESET),
	ERR(ECONNABORTED),    ERR(ECONNRESET),	   ERR(ENOBUFS),	 ERR(EISCONN),
	ERR(ENOTCONN),	      ERR(ESHUTDOWN),	   ERR(ETOOMANYREFS),	 ERR(ETIMEDOUT),
	ERR(ECONNREFUSED),    ERR(EHOSTDOWN),	   ERR(EHOSTUNREACH),	 ERR(EALREADY),
	ERR(EINPROGRESS),     ERR(ESTALE),	   ERR(EUCLEAN),	 ERR(ENOTNAM),
	ERR(ENAVAIL),	      ERR(EISNAM),	   ERR(EREMOTEIO),	 ERR(EDQUOT),
	ERR(ENOMEDIUM),	      ERR(EMEDIUMTYPE),	   ERR(ECANCELED),	 ERR(ENOKEY),
	ERR(EKEYEXPIRED),     ERR(EKEYREVOKED),	   ERR(EKEYREJECTED),	 ERR(EOWNERDEAD),
	ERR(ENOTRECOVERABLE), ERR(ERFKILL),	   ERR(EHWPOISON),
};
#undef ERR

/*
 * Kernel-internal codes a ptrace tracer can see at syscall exit when a
 * signal interrupts a call; userspace never gets them.
 */
static const struct {
	int err;
	const char *name, *desc;
} kernel_errnos[] = {
	{ 512, "ERESTARTSYS", "To be restarted if SA_RESTART is set" },
	{ 513, "ERESTARTNOINTR", "To be restarted" },
	{ 514, "ERESTARTNOHAND", "To be restarted if no handler" },
	{ 515, "ENOIOCTLCMD", "No ioctl command" },
	{ 516, "ERESTART_RESTARTBLOCK", "Interrupted by signal" },
};

const char *mt_errno_name(int err)
{
	if (err > 0 && (size_t)err < ARRAY_SIZE(errno_names))
		return errno_names[err];
	for (size_t i = 0; i < ARRAY_SIZE(kernel_errnos); i++)
		if (kernel_errnos[i].err == err)
			return kernel_errnos[i].name;
	return NULL;
}

static const char *errno_desc(int err)
{
	const char *d;

	for (size_t i = 0; i < ARRAY_SIZE(kernel_errnos); i++)
		if (kernel_errnos[i].err == err)
			return kernel_errnos[i].desc;
	/* unlike strerror(): not localized, no static buffer */
	d = strerrordesc_np(err);
	return d ? d : "Unknown error";
}

/* ---- string builder ---- */

/* Big enough for any record of this contract; appends past the end are dropped. */
#define SB_CAP 4096

struct sb {
	size_t n;
	char b[SB_CAP];
};

static inline void sb_mem(struct sb *s, const char *p, size_t len)
{
	if (len > SB_CAP - 1 - s->n)
		len = SB_CAP - 1 - s->n;
	memcpy(s->b + s->n, p, len);
	s->n += len;
}

#define sb_lit(s, lit) sb_mem(s, lit, sizeof(lit) - 1)

static inline void sb_str(struct sb *s, const char *p)
{
	sb_mem(s, p, strlen(p));
}

static inline void sb_chr(struct sb *s, char c)
{
	if (s->n < SB_CAP - 1)
		s->b[s->n++] = c;
}

static void sb_u64(struct sb *s, uint64_t v)
{
	char tmp[20];
	int i = 20;

	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sb_mem(s, tmp + i, (size_t)(20 - i));
}

static void sb_s64(struct sb *s, int64_t v)
{
	if (v < 0) {
		sb_chr(s, '-');
		sb_u64(s, -(uint64_t)v);
	} else {
		sb_u64(s, (uint64_t)v);
	}
}

static void sb_hex(struct sb *s, uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[18];
	int i = 18;

	do {
		tmp[--i] = digits[v & 0xf];
		v >>= 4;
	} while (v);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	sb_mem(s, tmp + i, (size_t)(18 - i));
}

/* Zero-padded decimal of exactly width digits. */
static void sb_dec_w(struct sb *s, uint64_t v, int width)
{
	char tmp[20];

	for (int i = width - 1; i >= 0; i--) {
		tmp[i] = (char)('0' + v % 10);
		v /= 10;
	}
	sb_mem(s, tmp, (size_t)width);
}

static void sb_term(struct sb *s, char *buf, size_t len)
{
	size_t n = s->n < len - 1 ? s->n : len - 1;

	memcpy(buf, s->b, n);
	buf[n] = '\0';
}

/* ---- symbolic renderings ---- */

struct flag_name {
	uint32_t bit;
	const char *name;
};

static void sb_flags(struct sb *s, uint32_t v, const struct flag_name *f, size_t n, bool sep)
{
	for (size_t i = 0; i < n; i++) {
		if (v & f[i].bit) {
			if (sep)
				sb_chr(s, '|');
			sb_str(s, f[i].name);
			sep = true;
			v &= ~f[i].bit;
		}
	}
	if (v) {
		if (sep)
			sb_chr(s, '|');
		sb_hex(s, v);
		sep = true;
	}
	if (!sep)
		sb_chr(s, '0');
}

static const struct flag_name prot_flags[] = {
	{ PROT_READ, "PROT_READ" },	      { PROT_WRITE, "PROT_WRITE" },
	{ PROT_EXEC, "PROT_EXEC" },	      { PROT_SEM, "PROT_SEM" },
	{ PROT_GROWSDOWN, "PROT_GROWSDOWN" }, { PROT_GROWSUP, "PROT_GROWSUP" },
};

static void sb_prot(struct sb *s, uint32_t prot)
{
	if (!prot)
		sb_lit(s, "PROT_NONE");
	else
		sb_flags(s, prot, prot_flags, ARRAY_SIZE(prot_flags), false);
}

char *mt_prot_str(char *buf, size_t len, uint32_t prot)
{
	struct sb s = { 0 };

	if (!len)
		return buf;
	sb_prot(&s, prot);
	sb_term(&s, buf, len);
	return buf;
}

static const struct flag_name map_flags[] = {
	{ MAP_FIXED, "MAP_FIXED" },
	{ MAP_ANONYMOUS, "MAP_ANONYMOUS" },
	{ MAP_32BIT, "MAP_32BIT" },
	{ MAP_GROWSDOWN, "MAP_GROWSDOWN" },
	{ MAP_DENYWRITE, "MAP_DENYWRITE" },
	{ MAP_EXECUTABLE, "MAP_EXECUTABLE" },
	{ MAP_LOCKED, "MAP_LOCKED" },
	{ MAP_NORESERVE, "MAP_NORESERVE" },
	{ MAP_POPULATE, "MAP_POPULATE" },
	{ MAP_NONBLOCK, "MAP_NONBLOCK" },
	{ MAP_STACK, "MAP_STACK" },
	{ MAP_HUGETLB, "MAP_HUGETLB" },
	{ MAP_SYNC, "MAP_SYNC" },
	{ MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE" },
};

static void sb_map_flags(struct sb *s, uint32_t flags)
{
	uint32_t huge = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;

	/* the mapping type is a 4-bit value, not a bit set */
	switch (flags & 0x0f) {
	case MAP_SHARED:
		sb_lit(s, "MAP_SHARED");
		break;
	case MAP_PRIVATE:
		sb_lit(s, "MAP_PRIVATE");
		break;
	case MAP_SHARED_VALIDATE:
		sb_lit(s, "MAP_SHARED_VALIDATE");
		break;
	case MAP_DROPPABLE:
		sb_lit(s, "MAP_DROPPABLE");
		break;
	case 0:
		sb_chr(s, '0');
		break;
	default:
		sb_hex(s, flags & 0x0f);
		break;
	}
	flags &= ~0x0fu;
	/* with MAP_HUGETLB, bits 26..31 are log2 of the huge page size */
	if ((flags & MAP_HUGETLB) && huge) {
		static const char units[] = "KMGTPE";
		int unit = huge / 10 - 1;

		flags &= ~((uint32_t)MAP_HUGE_MASK << MAP_HUGE_SHIFT);
		if (flags)
			sb_flags(s, flags, map_flags, ARRAY_SIZE(map_flags), true);
		sb_lit(s, "|MAP_HUGE_");
		if (unit < 0) {
			sb_u64(s, 1ull << huge);
			sb_chr(s, 'B');
		} else {
			sb_u64(s, 1ull << (huge % 10));
			sb_chr(s, units[unit]);
			sb_chr(s, 'B');
		}
		return;
	}
	if (flags & MAP_UNINITIALIZED) {
		flags &= ~(uint32_t)MAP_UNINITIALIZED;
		if (flags)
			sb_flags(s, flags, map_flags, ARRAY_SIZE(map_flags), true);
		sb_lit(s, "|MAP_UNINITIALIZED");
		return;
	}
	if (flags)
		sb_flags(s, flags, map_flags, ARRAY_SIZE(map_flags), true);
}

char *mt_mmap_flags_str(char *buf, size_t len, uint32_t flags)
{
	struct sb s = { 0 };

	if (!len)
		return buf;
	sb_map_flags(&s, flags);
	sb_term(&s, buf, len);
	return buf;
}

static const struct flag_name mremap_flags[] = {
	{ MREMAP_MAYMOVE, "MREMAP_MAYMOVE" },
	{ MREMAP_FIXED, "MREMAP_FIXED" },
	{ MREMAP_DONTUNMAP, "MREMAP_DONTUNMAP" },
};

char *mt_mremap_flags_str(char *buf, size_t len, uint32_t flags)
{
	struct sb s = { 0 };

	if (!len)
		return buf;
	sb_flags(&s, flags, mremap_flags, ARRAY_SIZE(mremap_flags), false);
	sb_term(&s, buf, len);
	return buf;
}

/* Sizes as util/fmt.c writes them everywhere else. */
static void sb_size(struct sb *s, uint64_t bytes)
{
	char b[32];

	sb_str(s, mt_size_str(b, sizeof(b), bytes));
}

static void sb_size_arg(struct sb *s, uint64_t bytes)
{
	char b[32];

	sb_str(s, mt_size_arg_str(b, sizeof(b), bytes));
}

/* Linux returns -4095..-1 for errors; anything else is a value (e.g. an address). */
static inline int ret_errno(int64_t ret)
{
	return ret < 0 && ret >= -4095 ? (int)-ret : 0;
}

/* ---- per-type decoders ---- */

typedef void (*render_fn)(struct sb *s, const struct mt_hdr *rec);

/* JSON string body: escapes quotes, backslashes, controls and bytes that are not UTF-8. */
static void sb_json_bytes(struct sb *s, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0;

	while (i < n) {
		unsigned char c = p[i];
		size_t seq = 0;

		if (c >= 0x20 && c < 0x7f) {
			if (c == '"' || c == '\\')
				sb_chr(s, '\\');
			sb_chr(s, (char)c);
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
				sb_mem(s, (const char *)p + i, seq);
				i += seq;
				continue;
			}
		}
		sb_lit(s, "\\u00");
		sb_chr(s, hex[c >> 4]);
		sb_chr(s, hex[c & 0xf]);
		i++;
	}
}

/* comm for a terminal: printable ASCII as is, anything else as \xNN. */
static void sb_text_bytes(struct sb *s, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			sb_chr(s, (char)c);
		} else if (c == '\\') {
			sb_lit(s, "\\\\");
		} else {
			sb_lit(s, "\\x");
			sb_chr(s, hex[c >> 4]);
			sb_chr(s, hex[c & 0xf]);
		}
	}
}

static size_t comm_len(const char *comm)
{
	const char *z = memchr(comm, '\0', MT_COMM_LEN);

	return z ? (size_t)(z - comm) : MT_COMM_LEN;
}

#define J(s, key) sb_lit(s, ",\"" key "\":")

static void json_ret(struct sb *s, int64_t ret)
{
	int err = ret_errno(ret);

	J(s, "ret");
	sb_s64(s, ret);
	if (err) {
		const char *name = mt_errno_name(err);

		J(s, "err");
		sb_chr(s, '"');
		if (name) {
			sb_str(s, name);
		} else {
			sb_lit(s, "E#");
			sb_u64(s, (uint64_t)err);
		}
		sb_chr(s, '"');
	}
}

static void json_addr_len_ret(struct sb *s, uint64_t addr, uint64_t len, int64_t ret)
{
	J(s, "addr");
	sb_u64(s, addr);
	J(s, "len");
	sb_u64(s, len);
	json_ret(s, ret);
}

static void json_mmap(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_mmap *r = (const void *)rec;

	json_addr_len_ret(s, r->addr, r->len, r->ret);
	J(s, "prot");
	sb_u64(s, r->prot);
	J(s, "prot_s");
	sb_chr(s, '"');
	sb_prot(s, r->prot);
	sb_chr(s, '"');
	J(s, "flags");
	sb_u64(s, r->flags);
	J(s, "flags_s");
	sb_chr(s, '"');
	sb_map_flags(s, r->flags);
	sb_chr(s, '"');
	J(s, "fd");
	sb_s64(s, r->fd);
	J(s, "off");
	sb_u64(s, r->off);
}

static void json_munmap(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_munmap *r = (const void *)rec;

	json_addr_len_ret(s, r->addr, r->len, r->ret);
}

static void json_mremap(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_mremap *r = (const void *)rec;

	json_addr_len_ret(s, r->old_addr, r->old_len, r->ret);
	J(s, "old_addr");
	sb_u64(s, r->old_addr);
	J(s, "old_len");
	sb_u64(s, r->old_len);
	J(s, "new_len");
	sb_u64(s, r->new_len);
	J(s, "new_addr");
	sb_u64(s, r->new_addr);
	J(s, "flags");
	sb_u64(s, r->flags);
	J(s, "flags_s");
	sb_chr(s, '"');
	sb_flags(s, r->flags, mremap_flags, ARRAY_SIZE(mremap_flags), false);
	sb_chr(s, '"');
}

static void sb_advice(struct sb *s, int advice)
{
	const char *name = mt_advice_name(advice);

	if (name) {
		sb_str(s, name);
	} else {
		sb_lit(s, "MADV_#");
		sb_s64(s, advice);
	}
}

static void json_madvise(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_madvise *r = (const void *)rec;

	json_addr_len_ret(s, r->addr, r->len, r->ret);
	J(s, "advice");
	sb_chr(s, '"');
	sb_advice(s, r->advice);
	sb_chr(s, '"');
	J(s, "advice_n");
	sb_s64(s, r->advice);
	J(s, "target_pid");
	sb_u64(s, r->target_pid);
}

static void json_brk(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_brk *r = (const void *)rec;

	/* the break is an address: never rendered as an error */
	J(s, "addr");
	sb_u64(s, r->addr);
	sb_lit(s, ",\"len\":0,\"ret\":");
	sb_s64(s, r->ret);
}

static void json_mprotect(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_mprotect *r = (const void *)rec;

	json_addr_len_ret(s, r->addr, r->len, r->ret);
	J(s, "prot");
	sb_u64(s, r->prot);
	J(s, "prot_s");
	sb_chr(s, '"');
	sb_prot(s, r->prot);
	sb_chr(s, '"');
}

/* A name, or "#N" for a value this version does not know. */
static void sb_name_or_num(struct sb *s, const char *name, uint64_t v)
{
	if (name) {
		sb_str(s, name);
	} else {
		sb_chr(s, '#');
		sb_u64(s, v);
	}
}

static void json_rss(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_rss *r = (const void *)rec;

	J(s, "anon");
	sb_u64(s, r->anon);
	J(s, "file");
	sb_u64(s, r->file);
	J(s, "shmem");
	sb_u64(s, r->shmem);
	J(s, "swap");
	sb_u64(s, r->swap);
	if (rec->flags & MT_F_SMAPS) {
		J(s, "lazyfree");
		sb_u64(s, r->lazyfree);
		J(s, "smaps_rss");
		sb_u64(s, r->smaps_rss);
	}
	J(s, "reason");
	sb_chr(s, '"');
	sb_name_or_num(s, mt_rss_reason_name(r->reason), r->reason);
	sb_chr(s, '"');
}

static const char *signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
	struct sb s = { 0 };

	sb_lit(&s, "SIG");
	if (abbrev) {
		sb_str(&s, abbrev);
	} else if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		sb_lit(&s, "RTMIN+");
		sb_u64(&s, (uint64_t)(sig - SIGRTMIN));
	} else {
		sb_s64(&s, sig);
	}
	sb_term(&s, buf, len);
	return buf;
}

static void json_task(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_task *r = (const void *)rec;

	J(s, "event");
	sb_chr(s, '"');
	sb_name_or_num(s, mt_task_event_name(r->event), r->event);
	sb_chr(s, '"');
	J(s, "other_pid");
	sb_u64(s, r->other_pid);
	J(s, "code");
	sb_s64(s, r->code);
	if (r->event == MT_TASK_EXIT) {
		char sig[32];

		if (WIFEXITED(r->code)) {
			J(s, "exit_status");
			sb_u64(s, (uint64_t)WEXITSTATUS(r->code));
		} else if (WIFSIGNALED(r->code)) {
			J(s, "signal");
			sb_chr(s, '"');
			sb_str(s, signal_name(WTERMSIG(r->code), sig, sizeof(sig)));
			sb_chr(s, '"');
			if (WCOREDUMP(r->code))
				sb_lit(s, ",\"core_dumped\":true");
		}
	}
	J(s, "comm");
	sb_chr(s, '"');
	sb_json_bytes(s, (const unsigned char *)r->comm, comm_len(r->comm));
	sb_chr(s, '"');
}

static void json_lost(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_lost *r = (const void *)rec;

	J(s, "count");
	sb_u64(s, r->count);
	if (r->cpu != ~0u) {
		J(s, "cpu");
		sb_u64(s, r->cpu);
	}
}

static void json_stack(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_stack *r = (const void *)rec;
	uint32_t i, nr = r->nr;

	/* never trust nr beyond what the record holds */
	if (nr > (rec->size - sizeof(*r)) / sizeof(r->ips[0]))
		nr = (rec->size - sizeof(*r)) / sizeof(r->ips[0]);
	if (nr > MT_MAX_STACK)
		nr = MT_MAX_STACK;
	J(s, "id");
	sb_u64(s, r->id);
	J(s, "ips");
	sb_chr(s, '[');
	for (i = 0; i < nr; i++) {
		if (i)
			sb_chr(s, ',');
		sb_u64(s, r->ips[i]);
	}
	sb_chr(s, ']');
}

/* The text of an info record, bounded by the record. */
static size_t info_len(const struct mt_hdr *rec)
{
	const struct mt_info *r = (const void *)rec;
	size_t max = rec->size > sizeof(*r) ? rec->size - sizeof(*r) : 0;

	return strnlen(r->text, max);
}

static void json_info(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_info *r = (const void *)rec;
	size_t n = info_len(rec);
	const char *eq = memchr(r->text, '=', n);
	size_t klen = eq ? (size_t)(eq - r->text) : n;

	J(s, "key");
	sb_chr(s, '"');
	sb_json_bytes(s, (const unsigned char *)r->text, klen);
	sb_chr(s, '"');
	J(s, "value");
	sb_chr(s, '"');
	if (eq)
		sb_json_bytes(s, (const unsigned char *)eq + 1, n - klen - 1);
	sb_chr(s, '"');
}

/* Text: "0x..." or "NULL" for an address argument. */
static void sb_addr(struct sb *s, uint64_t addr)
{
	if (addr)
		sb_hex(s, addr);
	else
		sb_lit(s, "NULL");
}

/* " = value" of a syscall; addresses in hex, counts in decimal, errors strace-like. */
static void sb_ret(struct sb *s, int64_t ret, bool addr)
{
	int err = ret_errno(ret);

	if (err) {
		const char *name = mt_errno_name(err);

		sb_lit(s, "-1 ");
		if (name) {
			sb_str(s, name);
		} else {
			sb_lit(s, "E#");
			sb_u64(s, (uint64_t)err);
		}
		sb_lit(s, " (");
		sb_str(s, errno_desc(err));
		sb_chr(s, ')');
	} else if (addr) {
		sb_hex(s, (uint64_t)ret);
	} else {
		sb_s64(s, ret);
	}
}

static void text_mmap(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_mmap *r = (const void *)rec;

	if (rec->flags & MT_F_ARGS_UNREAD) {
		sb_lit(s, "mmap(?) = ");
	} else {
		sb_lit(s, "mmap(");
		sb_addr(s, r->addr);
		sb_lit(s, ", ");
		sb_size_arg(s, r->len);
		sb_lit(s, ", ");
		sb_prot(s, r->prot);
		sb_lit(s, ", ");
		sb_map_flags(s, r->flags);
		sb_lit(s, ", ");
		sb_s64(s, r->fd);
		sb_lit(s, ", ");
		if (r->off)
			sb_hex(s, r->off);
		else
			sb_chr(s, '0');
		sb_lit(s, ") = ");
	}
	sb_ret(s, r->ret, true);
}

static void text_munmap(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_munmap *r = (const void *)rec;

	sb_lit(s, "munmap(");
	sb_addr(s, r->addr);
	sb_lit(s, ", ");
	sb_size_arg(s, r->len);
	sb_lit(s, ") = ");
	sb_ret(s, r->ret, false);
}

static void text_mremap(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_mremap *r = (const void *)rec;

	sb_lit(s, "mremap(");
	sb_addr(s, r->old_addr);
	sb_lit(s, ", ");
	sb_size_arg(s, r->old_len);
	sb_lit(s, ", ");
	sb_size_arg(s, r->new_len);
	sb_lit(s, ", ");
	sb_flags(s, r->flags, mremap_flags, ARRAY_SIZE(mremap_flags), false);
	/* like strace: the fifth argument only exists with MREMAP_FIXED */
	if (r->flags & MREMAP_FIXED) {
		sb_lit(s, ", ");
		sb_addr(s, r->new_addr);
	}
	sb_lit(s, ") = ");
	sb_ret(s, r->ret, true);
}

static void text_madvise(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_madvise *r = (const void *)rec;
	bool pm = rec->flags & MT_F_PROCESS_MADVISE;

	if (pm) {
		sb_lit(s, "process_madvise(pid ");
		sb_u64(s, r->target_pid);
		sb_lit(s, ", ");
	} else {
		sb_lit(s, "madvise(");
	}
	sb_addr(s, r->addr);
	sb_lit(s, ", ");
	sb_size_arg(s, r->len);
	sb_lit(s, ", ");
	sb_advice(s, r->advice);
	sb_lit(s, ") = ");
	sb_ret(s, r->ret, false);
	if (rec->flags & MT_F_IOV_TRUNC)
		sb_lit(s, " [iovec truncated]");
}

static void text_brk(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_brk *r = (const void *)rec;

	sb_lit(s, "brk(");
	sb_addr(s, r->addr);
	sb_lit(s, ") = ");
	sb_hex(s, (uint64_t)r->ret);
}

static void text_mprotect(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_mprotect *r = (const void *)rec;

	sb_lit(s, "mprotect(");
	sb_addr(s, r->addr);
	sb_lit(s, ", ");
	sb_size_arg(s, r->len);
	sb_lit(s, ", ");
	sb_prot(s, r->prot);
	sb_lit(s, ") = ");
	sb_ret(s, r->ret, false);
}

static void text_rss(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_rss *r = (const void *)rec;

	sb_lit(s, "rss anon=");
	sb_size(s, r->anon);
	sb_lit(s, " file=");
	sb_size(s, r->file);
	sb_lit(s, " shmem=");
	sb_size(s, r->shmem);
	sb_lit(s, " swap=");
	sb_size(s, r->swap);
	if (rec->flags & MT_F_SMAPS) {
		sb_lit(s, " lazyfree=");
		sb_size(s, r->lazyfree);
		sb_lit(s, " smaps_rss=");
		sb_size(s, r->smaps_rss);
	}
	sb_lit(s, " [");
	sb_name_or_num(s, mt_rss_reason_name(r->reason), r->reason);
	sb_chr(s, ']');
}

static void text_task(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_task *r = (const void *)rec;
	const unsigned char *comm = (const unsigned char *)r->comm;
	size_t clen = comm_len(r->comm);
	char sig[32];

	sb_lit(s, "+++ ");
	switch (r->event) {
	case MT_TASK_ATTACH:
		sb_lit(s, "attached");
		break;
	case MT_TASK_LAUNCH:
		sb_lit(s, "launched");
		break;
	case MT_TASK_FORK:
		sb_lit(s, "fork ");
		sb_u64(s, r->other_pid);
		clen = 0;
		break;
	case MT_TASK_CLONE:
		sb_lit(s, "clone ");
		sb_u64(s, r->other_pid);
		clen = 0;
		break;
	case MT_TASK_EXEC:
		sb_lit(s, "exec");
		break;
	case MT_TASK_EXIT:
		if (WIFEXITED(r->code)) {
			sb_lit(s, "exited with ");
			sb_u64(s, (uint64_t)WEXITSTATUS(r->code));
		} else if (WIFSIGNALED(r->code)) {
			sb_lit(s, "killed by ");
			sb_str(s, signal_name(WTERMSIG(r->code), sig, sizeof(sig)));
			if (WCOREDUMP(r->code))
				sb_lit(s, " (core dumped)");
		} else {
			sb_lit(s, "exited (status ");
			sb_hex(s, (uint32_t)r->code);
			sb_chr(s, ')');
		}
		clen = 0;
		break;
	case MT_TASK_THREAD_EXIT:
		sb_lit(s, "thread exited");
		clen = 0;
		break;
	case MT_TASK_DETACH:
		sb_lit(s, "detached");
		clen = 0;
		break;
	default:
		sb_lit(s, "task event ");
		sb_u64(s, r->event);
		break;
	}
	if (clen) {
		sb_chr(s, ' ');
		sb_text_bytes(s, comm, clen);
	}
	sb_lit(s, " +++");
}

static void text_stack(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_stack *r = (const void *)rec;

	sb_lit(s, "stack #");
	sb_u64(s, r->id);
	sb_lit(s, " (");
	sb_u64(s, r->nr);
	sb_lit(s, " frames)");
}

static void text_info(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_info *r = (const void *)rec;

	sb_lit(s, "info ");
	sb_text_bytes(s, (const unsigned char *)r->text, info_len(rec));
}

static void text_lost(struct sb *s, const struct mt_hdr *rec)
{
	const struct mt_lost *r = (const void *)rec;

	sb_lit(s, "!!! ");
	sb_u64(s, r->count);
	if (r->count == 1)
		sb_lit(s, " event lost");
	else
		sb_lit(s, " events lost");
	if (r->cpu != ~0u) {
		sb_lit(s, " on cpu ");
		sb_u64(s, r->cpu);
	}
	sb_lit(s, " !!!");
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
	struct sb s = { 0 };
	struct mt_call c;

	if (!len)
		return buf;
	if (!mt_record_call(rec, &c))
		sb_chr(&s, '?');
	else if (rec->type == MT_BRK)
		sb_hex(&s, (uint64_t)c.ret);
	else
		sb_ret(&s, c.ret, rec->type == MT_MMAP || rec->type == MT_MREMAP);
	sb_term(&s, buf, len);
	return buf;
}

static int sb_write(struct sb *s, FILE *out)
{
	if (fwrite_unlocked(s->b, 1, s->n, out) != s->n)
		return -1;
	return (int)s->n;
}

static void sb_abi(struct sb *s, uint8_t abi)
{
	sb_name_or_num(s, mt_abi_name(abi), abi);
}

#define KNOWN_HDR_FLAGS                                                                           \
	(MT_F_PROCESS_MADVISE | MT_F_SYNTH | MT_F_SMAPS | MT_F_IOV_TRUNC | MT_F_ARGS_UNREAD)

int mt_record_json(FILE *out, const struct mt_hdr *rec)
{
	const struct type_desc *d = type_desc(rec->type);
	struct sb s;

	s.n = 0;
	sb_lit(&s, "{\"type\":\"");
	if (d) {
		sb_str(&s, mt_type_info(rec->type)->name);
		sb_chr(&s, '"');
	} else {
		sb_lit(&s, "unknown\",\"type_n\":");
		sb_u64(&s, rec->type);
		J(&s, "size");
		sb_u64(&s, rec->size);
	}
	J(&s, "t_ns");
	sb_u64(&s, rec->t_ns);
	J(&s, "pid");
	sb_u64(&s, rec->pid);
	J(&s, "tid");
	sb_u64(&s, rec->tid);
	if (rec->flags) {
		if (rec->flags & MT_F_PROCESS_MADVISE)
			sb_lit(&s, ",\"process_madvise\":true");
		if (rec->flags & MT_F_SYNTH)
			sb_lit(&s, ",\"synth\":true");
		if (rec->flags & MT_F_IOV_TRUNC)
			sb_lit(&s, ",\"iov_trunc\":true");
		if (rec->flags & MT_F_ARGS_UNREAD)
			sb_lit(&s, ",\"args_unread\":true");
		if (rec->flags & ~KNOWN_HDR_FLAGS) {
			J(&s, "hdr_flags");
			sb_u64(&s, rec->flags);
		}
	}
	if (rec->abi != MT_ABI_X86_64) {
		J(&s, "abi");
		sb_chr(&s, '"');
		sb_abi(&s, rec->abi);
		sb_chr(&s, '"');
	}
	if (rec->stack_id) {
		J(&s, "stack_id");
		sb_u64(&s, rec->stack_id);
	}
	if (d)
		d->json(&s, rec);
	sb_chr(&s, '}');
	return sb_write(&s, out);
}

/* "HH:MM:SS" of a wall-clock second; cached since consecutive records share it. */
static void sb_clock(struct sb *s, int64_t sec)
{
	static _Thread_local int64_t cached_sec = -1;
	static _Thread_local char cached[8];

	if (sec != cached_sec) {
		time_t t = (time_t)sec;
		struct tm tm;
		struct sb c = { 0 };

		if (!localtime_r(&t, &tm))
			memset(&tm, 0, sizeof(tm));
		sb_dec_w(&c, (uint64_t)tm.tm_hour, 2);
		sb_chr(&c, ':');
		sb_dec_w(&c, (uint64_t)tm.tm_min, 2);
		sb_chr(&c, ':');
		sb_dec_w(&c, (uint64_t)tm.tm_sec, 2);
		memcpy(cached, c.b, 8);
		cached_sec = sec;
	}
	sb_mem(s, cached, 8);
}

int mt_record_text(FILE *out, const struct mt_hdr *rec, int64_t clock_offset_ns)
{
	const struct type_desc *d = type_desc(rec->type);
	struct sb s;
	int64_t wall;
	bool ok;

	/* a corrupt time falls back to seconds of the record clock rather than overflowing */
	ok = rec->t_ns <= INT64_MAX &&
	     !__builtin_add_overflow((int64_t)rec->t_ns, clock_offset_ns, &wall) && wall >= 0;
	s.n = 0;
	if (clock_offset_ns && ok) {
		sb_clock(&s, wall / 1000000000);
		sb_chr(&s, '.');
		sb_dec_w(&s, (uint64_t)(wall % 1000000000) / 1000, 6);
	} else {
		sb_u64(&s, rec->t_ns / 1000000000);
		sb_chr(&s, '.');
		sb_dec_w(&s, rec->t_ns % 1000000000 / 1000, 6);
	}
	sb_chr(&s, ' ');
	sb_u64(&s, rec->pid);
	sb_chr(&s, '/');
	sb_u64(&s, rec->tid);
	sb_chr(&s, ' ');
	if (rec->abi != MT_ABI_X86_64) {
		sb_chr(&s, '[');
		sb_abi(&s, rec->abi);
		sb_lit(&s, "] ");
	}
	if (d) {
		d->text(&s, rec);
		/* synthesized from /proc, not a call the program made */
		if (mt_type_info(rec->type)->call && (rec->flags & MT_F_SYNTH))
			sb_lit(&s, " (mapped before tracing began)");
	} else {
		sb_lit(&s, "unknown record type ");
		sb_u64(&s, rec->type);
		sb_lit(&s, " (");
		sb_u64(&s, rec->size);
		sb_lit(&s, " bytes)");
	}
	return sb_write(&s, out);
}
