// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The SIGSYS side of catching. The filter (filter.c) answers the calls it
 * watches with SECCOMP_RET_TRAP: the kernel skips the call and raises SIGSYS
 * in the calling thread, with the call's number in si_syscall and its
 * arguments in the saved registers. The handler makes the call itself from
 * the agent's own instruction (which the filter lets through), records it,
 * and puts the result where the program expects it (rax in the saved
 * context), so the program sees nothing but a slower call.
 *
 * A trapped call while SIGSYS is blocked would kill the process (the kernel
 * then resets SIGSYS to its default action), and a program, or glibc
 * itself, blocks every signal now and then: glibc does around every
 * thread's exit, where it calls madvise. So SIGSYS is kept out of every
 * mask the program sets: the calls that set one are trapped as well and
 * made here with SIGSYS taken out (rt_sigprocmask by editing the mask the
 * kernel restores when the handler returns; the waits with a temporary mask
 * by a copy of it). Handlers get SIGSYS out of their sa_mask the same way.
 *
 * SIGSYS stays the agent's: the program's own SIGSYS action is kept aside
 * (rt_sigaction on SIGSYS reads and writes that one) and a SIGSYS that is
 * not the filter's (another seccomp filter's trap, a kill) goes to it.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <ucontext.h>
#include <linux/audit.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include "agent.h"

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif
#ifndef IORING_ENTER_EXT_ARG
#define IORING_ENTER_EXT_ARG (1U << 3)
#endif
#define IORING_ENTER_EXT_ARG_REG_ (1U << 6) /* 6.13: a registered region, no mask to see */

#define BIT(sig) (1ull << ((sig) - 1))
#define KSIGSET 8 /* the kernel's sigset_t on x86-64 */

/* struct sigaction as rt_sigaction takes it on x86-64 */
struct ksigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

/* What the program believes SIGSYS does (it installed or inherited this). */
static struct ksigaction prog_sigsys;

static long mypid(void)
{
	return mt_sys0(SYS_getpid);
}

bool mt_safe_read(uint64_t addr, void *dst, size_t len)
{
	struct iovec local = { dst, len }, remote = { (void *)addr, len };

	return mt_raw_syscall(SYS_process_vm_readv, mypid(), (long)&local, 1, (long)&remote, 1,
			      0) == (long)len;
}

static bool safe_write(uint64_t addr, const void *src, size_t len)
{
	struct iovec local = { (void *)src, len }, remote = { (void *)addr, len };

	return mt_raw_syscall(SYS_process_vm_writev, mypid(), (long)&local, 1, (long)&remote, 1,
			      0) == (long)len;
}

/*
 * Read a signal set the program passed: the kernel checks the address the
 * way it would have (rt_sigprocmask of this handler's own mask, which the
 * return from the handler restores anyway), without the address space
 * lock process_vm_readv takes (many threads mapping memory would make
 * every trapped mask change wait for it).
 */
static bool read_sigset(uint64_t addr, uint64_t *set)
{
	if (mt_sys4(SYS_rt_sigprocmask, SIG_BLOCK, addr, NULL, KSIGSET) < 0)
		return false;
	*set = *(const uint64_t *)addr;
	return true;
}

/* The same for writing one: rt_sigprocmask writes the current mask there first. */
static bool write_sigset(uint64_t addr, uint64_t set)
{
	if (mt_sys4(SYS_rt_sigprocmask, SIG_BLOCK, NULL, addr, KSIGSET) < 0)
		return false;
	*(uint64_t *)addr = set;
	return true;
}

static long call(long nr, const long *a)
{
	return mt_raw_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/*
 * rt_sigprocmask(how, set, oset, size) of the interrupted code: the mask it
 * changes is the one the kernel restores from uc when the handler returns.
 * Same checks, in the same order, as the kernel.
 */
static long emu_sigprocmask(ucontext_t *uc, const long *a)
{
	uint64_t *mask = (uint64_t *)(void *)&uc->uc_sigmask, cur = *mask, want = 0, next = cur;
	int how = (int)a[0];

	if (a[3] != KSIGSET)
		return -EINVAL;
	if (a[1]) {
		if (!read_sigset((uint64_t)a[1], &want))
			return -EFAULT;
		if (how == SIG_BLOCK)
			next = cur | want;
		else if (how == SIG_UNBLOCK)
			next = cur & ~want;
		else if (how == SIG_SETMASK)
			next = want;
		else
			return -EINVAL;
	}
	if (a[2] && !write_sigset((uint64_t)a[2], cur))
		return -EFAULT;
	*mask = next & ~(BIT(SIGKILL) | BIT(SIGSTOP) | BIT(SIGSYS));
	return 0;
}

static long emu_sigaction(const long *a)
{
	struct ksigaction act;
	long b[6];

	if (a[3] != KSIGSET)
		return -EINVAL;
	if ((int)a[0] == SIGSYS) {
		/* the program's view: its own action, never the agent's */
		if (a[1] && !mt_safe_read((uint64_t)a[1], &act, sizeof(act)))
			return -EFAULT;
		if (a[2] && !safe_write((uint64_t)a[2], &prog_sigsys, sizeof(prog_sigsys)))
			return -EFAULT;
		if (a[1])
			prog_sigsys = act;
		return 0;
	}
	if (!a[1])
		return call(SYS_rt_sigaction, a);
	if (!mt_safe_read((uint64_t)a[1], &act, sizeof(act)))
		return -EFAULT;
	act.mask &= ~BIT(SIGSYS);
	memcpy(b, a, sizeof(b));
	b[1] = (long)&act;
	return call(SYS_rt_sigaction, b);
}

/* A call with a temporary mask at a[i] (size at a[i + 1]): made with a copy without SIGSYS. */
static long emu_direct_mask(long nr, const long *a, int i)
{
	uint64_t m;
	long b[6];

	memcpy(b, a, sizeof(b));
	if (b[i] && b[i + 1] == KSIGSET && read_sigset((uint64_t)b[i], &m)) {
		m &= ~BIT(SIGSYS);
		b[i] = (long)&m;
	}
	return call(nr, b);
}

/* The same, the mask behind a { sigset pointer, size } pair at a[i] (pselect6, io_pgetevents). */
static long emu_pair_mask(long nr, const long *a, int i)
{
	struct {
		uint64_t set, size;
	} pair;
	uint64_t m;
	long b[6];

	memcpy(b, a, sizeof(b));
	if (b[i] && mt_safe_read((uint64_t)b[i], &pair, sizeof(pair)) && pair.set &&
	    pair.size == KSIGSET && mt_safe_read(pair.set, &m, sizeof(m))) {
		m &= ~BIT(SIGSYS);
		pair.set = (uint64_t)&m;
		b[i] = (long)&pair;
	}
	return call(nr, b);
}

/* io_uring_enter(fd, to_submit, min_complete, flags, argp, argsz) */
static long emu_io_uring_enter(const long *a)
{
	uint64_t arg[8], m;
	unsigned int flags = (unsigned int)a[3];
	long b[6];

	if (flags & IORING_ENTER_EXT_ARG_REG_)
		return call(SYS_io_uring_enter, a);
	if (!(flags & IORING_ENTER_EXT_ARG))
		return emu_direct_mask(SYS_io_uring_enter, a, 4);
	/* struct io_uring_getevents_arg: sigmask pointer, its size (32 bits), ... */
	memcpy(b, a, sizeof(b));
	if (b[4] && b[5] >= 16 && (size_t)b[5] <= sizeof(arg) &&
	    mt_safe_read((uint64_t)b[4], arg, (size_t)b[5]) && arg[0] &&
	    (uint32_t)arg[1] == KSIGSET && mt_safe_read(arg[0], &m, sizeof(m))) {
		m &= ~BIT(SIGSYS);
		arg[0] = (uint64_t)&m;
		b[4] = (long)arg;
	}
	return call(SYS_io_uring_enter, b);
}

/* A SIGSYS that is not the filter's: what the program asked for. */
static void chain(int sig, siginfo_t *si, void *ctx)
{
	struct ksigaction h = prog_sigsys, dfl;
	uint64_t m, old;
	long tid;

	if (h.handler == SIG_IGN)
		return;
	if (h.handler == SIG_DFL) {
		/* the default action ends the process: let the kernel take it, as it would have */
		memset(&dfl, 0, sizeof(dfl));
		mt_sys4(SYS_rt_sigaction, SIGSYS, &dfl, NULL, KSIGSET);
		m = BIT(SIGSYS);
		mt_sys4(SYS_rt_sigprocmask, SIG_UNBLOCK, &m, NULL, KSIGSET);
		tid = mt_sys0(SYS_gettid);
		mt_sys3(SYS_tgkill, mypid(), tid, SIGSYS);
		return;
	}
	m = h.mask & ~BIT(SIGSYS);
	mt_sys4(SYS_rt_sigprocmask, SIG_BLOCK, &m, &old, KSIGSET);
	if (h.flags & SA_RESETHAND)
		prog_sigsys.handler = SIG_DFL;
	if (h.flags & SA_SIGINFO)
		((void (*)(int, siginfo_t *, void *))h.handler)(sig, si, ctx);
	else
		((void (*)(int))h.handler)(sig);
	mt_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, KSIGSET);
}

/* The registers the trapped call was made with, in DWARF order (what the bpf backend copies). */
static void interrupted_regs(const greg_t *g, uint64_t *r)
{
	static const int from[MT_UREG_NR] = {
		[MT_UREG_RAX] = REG_RAX, [MT_UREG_RDX] = REG_RDX, [MT_UREG_RCX] = REG_RCX,
		[MT_UREG_RBX] = REG_RBX, [MT_UREG_RSI] = REG_RSI, [MT_UREG_RDI] = REG_RDI,
		[MT_UREG_RBP] = REG_RBP, [MT_UREG_RSP] = REG_RSP, [MT_UREG_R8] = REG_R8,
		[MT_UREG_R9] = REG_R9,	 [MT_UREG_R10] = REG_R10, [MT_UREG_R11] = REG_R11,
		[MT_UREG_R12] = REG_R12, [MT_UREG_R13] = REG_R13, [MT_UREG_R14] = REG_R14,
		[MT_UREG_R15] = REG_R15, [MT_UREG_RIP] = REG_RIP,
	};

	for (int i = 0; i < MT_UREG_NR; i++)
		r[i] = (uint64_t)g[from[i]];
}

static void on_sigsys(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	greg_t *g = uc->uc_mcontext.gregs;
	struct mt_call_args c = { 0 };
	long nr = si->si_syscall, *a = c.a, r;
	uint64_t regs[MT_UREG_NR];

	if (si->si_code != SYS_SECCOMP || si->si_errno != MT_TRAP_DATA ||
	    si->si_arch != AUDIT_ARCH_X86_64) {
		chain(sig, si, ctx);
		return;
	}
	a[0] = g[REG_RDI];
	a[1] = g[REG_RSI];
	a[2] = g[REG_RDX];
	a[3] = g[REG_R10];
	a[4] = g[REG_R8];
	a[5] = g[REG_R9];
	switch (nr) {
	case SYS_rt_sigprocmask:
		r = emu_sigprocmask(uc, a);
		break;
	case SYS_rt_sigaction:
		r = emu_sigaction(a);
		break;
	case SYS_rt_sigsuspend:
		r = emu_direct_mask(nr, a, 0);
		break;
	case SYS_ppoll:
		r = emu_direct_mask(nr, a, 3);
		break;
	case SYS_epoll_pwait:
	case SYS_epoll_pwait2:
		r = emu_direct_mask(nr, a, 4);
		break;
	case SYS_pselect6:
	case SYS_io_pgetevents:
		r = emu_pair_mask(nr, a, 5);
		break;
	case SYS_io_uring_enter:
		r = emu_io_uring_enter(a);
		break;
	default:
		/* a traced call: made here, from the agent's instruction, and recorded */
		r = call(nr, a);
		c.sc = mt_syscall_by_nr(nr, 0);
		c.ret = r;
		c.caller = (uint64_t)si->si_call_addr;
		/* the stack is the program's at its call, not this handler's (maybe on an altstack) */
		interrupted_regs(g, regs);
		c.regs = regs;
		mt_trapped_call(&c);
		break;
	}
	g[REG_RAX] = r;
}

int mt_trap_install(void)
{
	struct sigaction sa;
	uint64_t m = BIT(SIGSYS);
	long r;

	/* whatever the program has (or inherited) for SIGSYS is what it keeps seeing */
	r = mt_sys4(SYS_rt_sigaction, SIGSYS, NULL, &prog_sigsys, KSIGSET);
	if (r < 0)
		return (int)r;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	/* SA_ONSTACK as Go requires of every handler; SA_NODEFER: a trap inside a chained handler */
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL))
		return -errno;
	/* a mask inherited through exec may block it */
	mt_sys4(SYS_rt_sigprocmask, SIG_UNBLOCK, &m, NULL, KSIGSET);
	return 0;
}

void mt_trap_uninstall(void)
{
	mt_sys4(SYS_rt_sigaction, SIGSYS, &prog_sigsys, NULL, KSIGSET);
}
