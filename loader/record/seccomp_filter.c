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
#include "seccomp_filter.h"

struct mt_seccomp_filter {
	struct sock_fprog prog;
};

/* Names, not numbers: libseccomp maps each to every architecture's table. */
static const char *const traced_calls[] = {
	"mmap", "mmap2", "munmap", "mremap", "madvise", "process_madvise", "brk", "mprotect",
};

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
	scmp_filter_ctx ctx;
	size_t i;
	int err;

	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		errno = ENOMEM;
		return NULL;
	}
	/* the native table is x86-64; a 64-bit process may still make i386 or x32 calls */
	err = seccomp_arch_add(ctx, SCMP_ARCH_X86);
	if (!err || err == -EEXIST)
		err = seccomp_arch_add(ctx, SCMP_ARCH_X32);
	if (err && err != -EEXIST)
		goto cleanup;
	/* a call from an ABI the filter does not know is traced, never missed or killed */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, trace);
	if (err)
		goto cleanup;
	for (i = 0; i < sizeof(traced_calls) / sizeof(traced_calls[0]); i++) {
		int nr = seccomp_syscall_resolve_name(traced_calls[i]);

		if (nr == __NR_SCMP_ERROR) {
			err = -ENOSYS;
			goto cleanup;
		}
		err = seccomp_rule_add(ctx, trace, nr, 0);
		if (err)
			goto cleanup;
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
