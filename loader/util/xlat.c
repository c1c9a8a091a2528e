// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Names of constants: see xlat.h. */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "madvtrace/advice.h"
#include "madvtrace/record.h"
#include "xlat.h"

/* Values glibc's headers may lack (all from the kernel's uapi). */
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

/* ---- advice: generated from MT_ADVICE, the one table ---- */

static const char *const advice_names[] = {
#define MT_ADV_NAME_(name, value, cls) [value] = "MADV_" #name,
	MT_ADVICE(MT_ADV_NAME_)
#undef MT_ADV_NAME_
};

const char *mt_advice_name(int advice)
{
	if (advice < 0 || (size_t)advice >= ARRAY_SIZE(advice_names))
		return NULL;
	return advice_names[advice];
}

void mt_xlat__name_or_num(struct mt_buf *b, const char *name, const char *prefix, int64_t v)
{
	if (name) {
		mt_buf__str(b, name);
	} else {
		mt_buf__str(b, prefix);
		mt_buf__s64(b, v);
	}
}

void mt_xlat__advice(struct mt_buf *b, int advice)
{
	mt_xlat__name_or_num(b, mt_advice_name(advice), "MADV_#", advice);
}

/* ---- errno ---- */

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

const char *mt_errno_desc(int err)
{
	const char *d;

	for (size_t i = 0; i < ARRAY_SIZE(kernel_errnos); i++)
		if (kernel_errnos[i].err == err)
			return kernel_errnos[i].desc;
	/* unlike strerror(): not localized, no static buffer */
	d = strerrordesc_np(err);
	return d ? d : "Unknown error";
}

void mt_xlat__errno(struct mt_buf *b, int err)
{
	mt_xlat__name_or_num(b, mt_errno_name(err), "E#", err);
}

/* ---- signals and backends ---- */

char *mt_signal_name(char *buf, size_t len, int sig)
{
	const char *abbrev = sig > 0 ? sigabbrev_np(sig) : NULL;
	struct mt_buf b;

	if (!len)
		return buf;
	mt_buf__init_str(&b, buf, len);
	mt_buf__lit(&b, "SIG");
	if (abbrev) {
		mt_buf__str(&b, abbrev);
	} else if (sig >= SIGRTMIN && sig <= SIGRTMAX) {
		mt_buf__lit(&b, "RTMIN+");
		mt_buf__u64(&b, (uint64_t)(sig - SIGRTMIN));
	} else {
		mt_buf__s64(&b, sig);
	}
	return mt_buf__cstr(&b);
}

const char *mt_backend_name(uint32_t backend)
{
	switch (backend) {
	case MT_BACKEND_BPF:
		return "bpf";
	case MT_BACKEND_PTRACE:
		return "ptrace";
	case MT_BACKEND_PRELOAD:
		return "preload";
	default:
		return "unknown";
	}
}

/* ---- flags ---- */

struct flag_name {
	uint32_t bit;
	const char *name;
};

/* Known bits by name, the rest in hex, "|" between; sep: something precedes. */
static void put_flags(struct mt_buf *b, uint32_t v, const struct flag_name *f, size_t n, bool sep)
{
	for (size_t i = 0; i < n; i++) {
		if (v & f[i].bit) {
			if (sep)
				mt_buf__chr(b, '|');
			mt_buf__str(b, f[i].name);
			sep = true;
			v &= ~f[i].bit;
		}
	}
	if (v) {
		if (sep)
			mt_buf__chr(b, '|');
		mt_buf__hex(b, v);
		sep = true;
	}
	if (!sep)
		mt_buf__chr(b, '0');
}

static const struct flag_name prot_flags[] = {
	{ PROT_READ, "PROT_READ" },	      { PROT_WRITE, "PROT_WRITE" },
	{ PROT_EXEC, "PROT_EXEC" },	      { PROT_SEM, "PROT_SEM" },
	{ PROT_GROWSDOWN, "PROT_GROWSDOWN" }, { PROT_GROWSUP, "PROT_GROWSUP" },
};

void mt_xlat__prot(struct mt_buf *b, uint32_t prot)
{
	if (!prot)
		mt_buf__lit(b, "PROT_NONE");
	else
		put_flags(b, prot, prot_flags, ARRAY_SIZE(prot_flags), false);
}

char *mt_prot_rwx(char *buf, size_t len, uint32_t prot)
{
	struct mt_buf b;

	if (!len)
		return buf;
	mt_buf__init_str(&b, buf, len);
	mt_buf__chr(&b, prot & PROT_READ ? 'r' : '-');
	mt_buf__chr(&b, prot & PROT_WRITE ? 'w' : '-');
	mt_buf__chr(&b, prot & PROT_EXEC ? 'x' : '-');
	return mt_buf__cstr(&b);
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

void mt_xlat__mmap_flags(struct mt_buf *b, uint32_t flags)
{
	uint32_t huge = (flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;

	/* the mapping type is a 4-bit value, not a bit set */
	switch (flags & 0x0f) {
	case MAP_SHARED:
		mt_buf__lit(b, "MAP_SHARED");
		break;
	case MAP_PRIVATE:
		mt_buf__lit(b, "MAP_PRIVATE");
		break;
	case MAP_SHARED_VALIDATE:
		mt_buf__lit(b, "MAP_SHARED_VALIDATE");
		break;
	case MAP_DROPPABLE:
		mt_buf__lit(b, "MAP_DROPPABLE");
		break;
	case 0:
		mt_buf__chr(b, '0');
		break;
	default:
		mt_buf__hex(b, flags & 0x0f);
		break;
	}
	flags &= ~0x0fu;
	/* with MAP_HUGETLB, bits 26..31 are log2 of the huge page size */
	if ((flags & MAP_HUGETLB) && huge) {
		static const char units[] = "KMGTPE";
		int unit = huge / 10 - 1;

		flags &= ~((uint32_t)MAP_HUGE_MASK << MAP_HUGE_SHIFT);
		if (flags)
			put_flags(b, flags, map_flags, ARRAY_SIZE(map_flags), true);
		mt_buf__lit(b, "|MAP_HUGE_");
		if (unit < 0) {
			mt_buf__u64(b, 1ull << huge);
			mt_buf__chr(b, 'B');
		} else {
			mt_buf__u64(b, 1ull << (huge % 10));
			mt_buf__chr(b, units[unit]);
			mt_buf__chr(b, 'B');
		}
		return;
	}
	if (flags & MAP_UNINITIALIZED) {
		flags &= ~(uint32_t)MAP_UNINITIALIZED;
		if (flags)
			put_flags(b, flags, map_flags, ARRAY_SIZE(map_flags), true);
		mt_buf__lit(b, "|MAP_UNINITIALIZED");
		return;
	}
	if (flags)
		put_flags(b, flags, map_flags, ARRAY_SIZE(map_flags), true);
}

static const struct flag_name mremap_flags[] = {
	{ MREMAP_MAYMOVE, "MREMAP_MAYMOVE" },
	{ MREMAP_FIXED, "MREMAP_FIXED" },
	{ MREMAP_DONTUNMAP, "MREMAP_DONTUNMAP" },
};

void mt_xlat__mremap_flags(struct mt_buf *b, uint32_t flags)
{
	put_flags(b, flags, mremap_flags, ARRAY_SIZE(mremap_flags), false);
}

/* The char[] form of an appender. */
#define XLAT_STR(fn, buf, len, v)                   \
	do {                                        \
		struct mt_buf b_;                   \
                                                    \
		if (!(len))                         \
			return buf;                 \
		mt_buf__init_str(&b_, buf, len);    \
		fn(&b_, v);                         \
		return mt_buf__cstr(&b_);           \
	} while (0)

char *mt_prot_str(char *buf, size_t len, uint32_t prot)
{
	XLAT_STR(mt_xlat__prot, buf, len, prot);
}

char *mt_mmap_flags_str(char *buf, size_t len, uint32_t flags)
{
	XLAT_STR(mt_xlat__mmap_flags, buf, len, flags);
}
