// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Catching: the seccomp filter that traps the calls no hook sees (glibc's
 * own, raw system calls) in the code loaded when the agent started, and the
 * SIGSYS handler (trap.c) installed first. filter.c builds the program.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <linux/seccomp.h>
#include <sys/auxv.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "core.h"
#include "filter.h"

#define MAX_RANGES 256

/* the filter as installed */
static struct sock_filter filter[MT_FILTER_MAX];
static int filter_len;

struct range_scan {
	struct mt_code_range *r;
	int n;
	uintptr_t self, interp, vdso;
	bool exe_fixed; /* the program is not position-independent */
	bool too_many;
};

/*
 * The code the filter watches: executable segments of the objects loaded
 * now, but not the agent's own, not the dynamic loader's (it maps the
 * libraries of the next program after an exec) and not the vDSO's. Nor a
 * program linked at a fixed address: the filter outlives exec, and a next
 * program linked at the same fixed address, if no agent runs in it to
 * handle SIGSYS, would be killed by its first trap there. Everything
 * watched lies at an address ASLR chose, which the next program's code is
 * vanishingly unlikely to occupy.
 */
static int scan_object(struct dl_phdr_info *info, size_t size, void *data)
{
	struct range_scan *s = data;
	bool main_prog = !info->dlpi_name || !info->dlpi_name[0];
	uintptr_t lo = UINTPTR_MAX, hi = 0;

	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD)
			continue;
		if (info->dlpi_addr + ph->p_vaddr < lo)
			lo = info->dlpi_addr + ph->p_vaddr;
		if (info->dlpi_addr + ph->p_vaddr + ph->p_memsz > hi)
			hi = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
	}
	if ((s->self >= lo && s->self < hi) || (s->interp >= lo && s->interp < hi) ||
	    (s->vdso >= lo && s->vdso < hi))
		return 0;
	if (main_prog && info->dlpi_addr == 0) {
		s->exe_fixed = true;
		return 0;
	}
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t start, end;

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		if (s->n >= MAX_RANGES) {
			s->too_many = true;
			break;
		}
		start = (info->dlpi_addr + ph->p_vaddr) & ~4095ull;
		end = (info->dlpi_addr + ph->p_vaddr + ph->p_memsz + 4095) & ~4095ull;
		s->r[s->n++] = (struct mt_code_range){ start, end };
	}
	return 0;
}

static bool aslr_on(void)
{
	char buf[16] = "";
	int fd = open("/proc/sys/kernel/randomize_va_space", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		mt_raw_close(fd);
		if (n > 0 && buf[0] == '0')
			return false;
	}
	return !(personality(0xffffffff) & ADDR_NO_RANDOMIZE);
}

static long install_filter(unsigned long flags)
{
	struct sock_fprog prog = { (unsigned short)filter_len, filter };

	return mt_sys3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

/* Is the program a Go program (its runtime makes its own system calls)? */
static bool exe_is_go(void)
{
	char buf[64 * 1024];
	ElfW(Ehdr) eh;
	ElfW(Shdr) sh, strs;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	bool go = false;

	if (fd < 0)
		return false;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || eh.e_shentsize != sizeof(sh) ||
	    eh.e_shstrndx >= eh.e_shnum ||
	    pread(fd, &strs, sizeof(strs), (off_t)(eh.e_shoff + eh.e_shstrndx * sizeof(sh))) !=
		    sizeof(strs) ||
	    strs.sh_size >= sizeof(buf) ||
	    pread(fd, buf, strs.sh_size, (off_t)strs.sh_offset) != (ssize_t)strs.sh_size)
		goto out;
	buf[strs.sh_size] = '\0';
	for (int i = 0; i < eh.e_shnum && !go; i++) {
		if (pread(fd, &sh, sizeof(sh), (off_t)(eh.e_shoff + i * sizeof(sh))) != sizeof(sh))
			break;
		go = sh.sh_name < strs.sh_size && (!strcmp(buf + sh.sh_name, ".go.buildinfo") ||
						   !strcmp(buf + sh.sh_name, ".gopclntab"));
	}
out:
	mt_raw_close(fd);
	return go;
}

/*
 * Build and install the filter, SIGSYS handler first. Returns 0, or fills
 * why (for the note and the trace) and returns -1: the agent then records
 * what its hooks see.
 */
int mt_catch__setup(char *why, size_t whylen)
{
	static struct mt_code_range ranges[MAX_RANGES];
	struct mt_filter_call calls[MT_FILTER_CALLS];
	struct range_scan s = { .r = ranges };
	Dl_info self;
	int ncalls;
	long r;

	if (!aslr_on()) {
		snprintf(why, whylen, "address space layout randomization is off");
		return -1;
	}
	if (!dladdr((void *)mt_catch__setup, &self)) {
		snprintf(why, whylen, "cannot find the agent in memory");
		return -1;
	}
	s.self = (uintptr_t)self.dli_fbase;
	s.interp = getauxval(AT_BASE);
	s.vdso = getauxval(AT_SYSINFO_EHDR);
	dl_iterate_phdr(scan_object, &s);
	/*
	 * Go's runtime sets signal handlers and masks with its own system calls;
	 * in a program at a fixed address (not watched, see scan_object) it
	 * would take SIGSYS back and leave it blocked.
	 */
	if (s.exe_fixed && exe_is_go()) {
		snprintf(why, whylen, "a Go program that is not position-independent (built "
				      "without -buildmode=pie)");
		return -1;
	}
	if (s.exe_fixed)
		mt_out__info("agent.uncaught", "calls made by the program's own code (not position-"
				       "independent), unless through libc");
	if (s.too_many)
		mt_out__info("agent.uncaught", "calls made by some libraries (too many to watch)");
	ncalls = mt_filter_agent_calls(calls, MT_FILTER_CALLS, NULL);
	filter_len = ncalls < 0 ? -1
				   : mt_filter_build(filter, MT_FILTER_MAX,
						     (uint64_t)mt_raw_syscall_ret, ranges, s.n,
						     calls, ncalls, MT_TRAP_DATA);
	if (filter_len < 0) {
		snprintf(why, whylen, "the filter does not fit");
		return -1;
	}
	r = mt_trap_install();
	if (r < 0) {
		snprintf(why, whylen, "cannot handle SIGSYS: %s", strerror((int)-r));
		return -1;
	}
	/*
	 * TSYNC: every thread, should an earlier constructor have started one.
	 * SPEC_ALLOW: the agent is no sandbox; without it a kernel booted with
	 * spec_store_bypass_disable=seccomp would slow the whole program down.
	 */
	r = install_filter(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
	if (r == -EACCES) {
		/* without CAP_SYS_ADMIN the kernel wants no_new_privs first */
		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		r = install_filter(SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_SPEC_ALLOW);
	}
	if (r != 0) {
		mt_trap_uninstall();
		if (r > 0)
			snprintf(why, whylen, "thread %ld cannot take the seccomp filter", r);
		else
			snprintf(why, whylen, "cannot install a seccomp filter: %s",
				 strerror((int)-r));
		return -1;
	}
	__atomic_store_n(&mt_ag.catching, 1, __ATOMIC_RELEASE);
	return 0;
}

