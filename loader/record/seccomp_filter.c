// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include "madvtrace/syscalls.h"
#include "seccomp_filter.h"

struct mt_seccomp_filter {
	struct sock_fprog prog;
};

/* The ABIs a 64-bit x86 process may call through, each a libseccomp architecture. */
static const struct {
	uint32_t arch; /* SCMP_ARCH_* */
	int abi; /* enum mt_abi */
} abis[] = {
	{ SCMP_ARCH_X86_64, MT_ABI_X86_64 },
	{ SCMP_ARCH_X86, MT_ABI_I386 },
	{ SCMP_ARCH_X32, MT_ABI_X32 },
};

/* One row of MT_SYSCALLS as seen from one ABI: its name there, or NULL, and its number. */
struct sc_row {
	const char *name;
	long nr;
};

static struct sc_row sc_row__of(int sc, int abi)
{
	struct sc_row r = { NULL, -1 };

	switch (sc) {
#define MT_SC_ROW_(id, n64, nr64, n32, nr32, type)                          \
	case MT_SC_##id:                                                  \
		if (abi == MT_ABI_I386) {                                 \
			r.name = n32;                                     \
			r.nr = nr32;                                      \
		} else {                                                  \
			r.name = n64;                                     \
			r.nr = (nr64) < 0 || abi == MT_ABI_X86_64 ? (nr64) \
				: (nr64) | MT_X32_SYSCALL_BIT;          \
		}                                                         \
		break;
		MT_SYSCALLS(MT_SC_ROW_)
#undef MT_SC_ROW_
	}
	return r;
}

/*
 * The calls of the table for one ABI, as rules of its own architecture. Each
 * name is resolved by libseccomp for that architecture and must give the
 * table's number: a table that disagrees with the kernel's is a bug to see
 * here, not a call silently left untraced. -EDOM on a mismatch.
 */
static int add_abi(scmp_filter_ctx ctx, uint32_t arch, int abi, uint32_t trace)
{
	int sc, nr, err;

	for (sc = 0; sc < MT_SC_NR; sc++) {
		struct sc_row r = sc_row__of(sc, abi);

		if (!r.name)
			continue;
		nr = seccomp_syscall_resolve_name_arch(arch, r.name);
		if (nr != r.nr)
			return -EDOM;
		/* rules take the native (x86-64) number of a name: libseccomp translates it */
		err = seccomp_rule_add(ctx, trace, seccomp_syscall_resolve_name(r.name), 0);
		if (err)
			return err;
	}
	return 0;
}

/* A filter of the one architecture arch: the table's calls traced, the rest allowed. */
static scmp_filter_ctx abi_filter(uint32_t arch, int abi, uint32_t trace)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int err = -ENOMEM;

	if (!ctx)
		goto fail;
	/* a call from an ABI the filter does not know is traced, never missed or killed */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, trace);
	if (err)
		goto fail;
	if (arch != seccomp_arch_native()) {
		err = seccomp_arch_add(ctx, arch);
		if (!err)
			err = seccomp_arch_remove(ctx, seccomp_arch_native());
		if (err)
			goto fail;
	}
	err = add_abi(ctx, arch, abi, trace);
	if (err)
		goto fail;
	return ctx;
fail:
	seccomp_release(ctx);
	errno = -err;
	return NULL;
}

/* The filter as classic BPF, as libseccomp exports it (through a memfd). */
static int export_prog(scmp_filter_ctx ctx, struct sock_fprog *prog)
{
	struct stat st;
	ssize_t n;
	int fd, err = 0;

	fd = memfd_create("mt-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = seccomp_export_bpf(ctx, fd);
	if (err)
		goto cleanup;
	if (fstat(fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		err = -EINVAL;
		goto cleanup;
	}
	prog->filter = malloc(st.st_size);
	if (!prog->filter) {
		err = -ENOMEM;
		goto cleanup;
	}
	n = pread(fd, prog->filter, st.st_size, 0);
	if (n != st.st_size) {
		err = n < 0 ? -errno : -EIO;
		free(prog->filter);
		prog->filter = NULL;
		goto cleanup;
	}
	prog->len = st.st_size / sizeof(struct sock_filter);
cleanup:
	close(fd);
	return err;
}

struct mt_seccomp_filter *mt_seccomp_filter__new(void)
{
	const uint32_t trace = SCMP_ACT_TRACE(MT_SECCOMP_DATA);
	struct mt_seccomp_filter *f = NULL;
	scmp_filter_ctx ctx = NULL, one;
	size_t i;
	int err = 0;

	/* one filter per ABI, merged: each checks the arch, then its own numbers */
	for (i = 0; i < sizeof(abis) / sizeof(abis[0]); i++) {
		one = abi_filter(abis[i].arch, abis[i].abi, trace);
		if (!one) {
			err = -errno;
			goto cleanup;
		}
		if (!ctx) {
			ctx = one;
			continue;
		}
		/* seccomp_merge releases `one` on success only */
		err = seccomp_merge(ctx, one);
		if (err) {
			seccomp_release(one);
			goto cleanup;
		}
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = export_prog(ctx, &f->prog);
	if (err) {
		free(f);
		f = NULL;
	}
cleanup:
	seccomp_release(ctx);
	if (err)
		errno = -err;
	return f;
}

int mt_seccomp_filter__install(const struct mt_seccomp_filter *f)
{
	if (!syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &f->prog))
		return 0;
	if (errno != EACCES)
		return -errno;
	/* unprivileged: the kernel only accepts a filter under no_new_privs */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &f->prog))
		return -errno;
	return 0;
}

unsigned int mt_seccomp_filter__len(const struct mt_seccomp_filter *f)
{
	return f->prog.len;
}

void mt_seccomp_filter__free(struct mt_seccomp_filter *f)
{
	if (!f)
		return;
	free(f->prog.filter);
	free(f);
}
