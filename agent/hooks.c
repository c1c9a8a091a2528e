// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The functions the agent puts in front of libc's. Each memory call is made
 * here, through the agent's own system call instruction (raw.S), with
 * exactly the checks glibc 2.36's wrapper makes first (an unaligned mmap
 * offset fails with EINVAL without a call, posix_madvise ignores
 * POSIX_MADV_DONTNEED, ...), and returns what glibc would, errno included.
 * brk and sbrk keep glibc's __curbrk up to date as glibc's own do.
 *
 * The other hooks see process events (threads, fork, spawn, exec, exit) and
 * keep the program from closing the agent's descriptors. Only these are
 * visible outside the library (everything else is hidden).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include "agent.h"

#define HOOK __attribute__((visibility("default")))
#define MT_XSTR(x) #x
#define MT_STR(x) MT_XSTR(x)

/* glibc's idea of the current break (exported for exactly this kind of use) */
extern void *__curbrk;
extern char **environ;

static MT_TLS int tls_in_dlsym;

void *mt_next(const char *name, void **cache)
{
	void *f = __atomic_load_n(cache, __ATOMIC_ACQUIRE);

	if (f)
		return f;
	/* dlsym may allocate, and an allocator may call back into a hook */
	if (tls_in_dlsym)
		return NULL;
	tls_in_dlsym = 1;
	f = dlsym(RTLD_NEXT, name);
	tls_in_dlsym = 0;
	__atomic_store_n(cache, f, __ATOMIC_RELEASE);
	return f;
}

#define NEXT(type, name)                                                                           \
	static void *name##_cache;                                                                 \
	static type next_##name(void)                                                              \
	{                                                                                          \
		return (type)mt_next(#name, &name##_cache);                                        \
	}

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);
typedef int (*execveat_fn)(int, const char *, char *const[], char *const[], int);
typedef int (*spawn_fn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			const posix_spawnattr_t *, char *const[], char *const[]);
typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef pid_t (*fork_fn)(void);
typedef int (*clone_fn)(int (*)(void *), void *, int, void *, ...);

NEXT(execve_fn, execve)
NEXT(execve_fn, execvpe)
NEXT(fexecve_fn, fexecve)
NEXT(execveat_fn, execveat)
NEXT(spawn_fn, posix_spawn)
NEXT(spawn_fn, posix_spawnp)
NEXT(pthread_create_fn, pthread_create)
NEXT(fork_fn, _Fork)
NEXT(clone_fn, clone)

void mt_hooks_resolve(void)
{
	next_execve();
	next_execvpe();
	next_fexecve();
	next_execveat();
	next_posix_spawn();
	next_posix_spawnp();
	next_pthread_create();
	next__Fork();
	next_clone();
}

/* A libc-style return: the value, or -1 with errno. */
static long ret_errno(long r)
{
	if (mt_ret_is_err(r)) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

static void record(int sc, long a0, long a1, long a2, long a3, long a4, long a5, long ret,
		   void *caller)
{
	struct mt_call_args c = {
		.sc = sc,
		.a = { a0, a1, a2, a3, a4, a5 },
		.ret = ret,
		.caller = (uint64_t)caller,
	};

	mt_agent_record(&c);
}

/* Traced call sc (MT_SC_*): made with the table's number from the agent's instruction, recorded. */
static inline __attribute__((always_inline)) long traced(int sc, long a0, long a1, long a2,
							 long a3, long a4, long a5, void *caller)
{
	long r = mt_raw_syscall(mt_syscall_nr(sc, 0), a0, a1, a2, a3, a4, a5);

	if (mt_recording())
		record(sc, a0, a1, a2, a3, a4, a5, r, caller);
	return r;
}

/* ---- memory calls ---- */

HOOK void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	long r;

	/* glibc refuses an offset that is not a multiple of the page unit without a call */
	if (off & 4095) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	r = traced(MT_SC_MMAP, (long)addr, (long)len, (long)(unsigned int)prot,
		   (long)(unsigned int)flags, fd, off, __builtin_return_address(0));
	return mt_ret_is_err(r) ? (errno = (int)-r, MAP_FAILED) : (void *)r;
}

HOOK void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
	__attribute__((alias("mmap")));

HOOK int munmap(void *addr, size_t len)
{
	return (int)ret_errno(traced(MT_SC_MUNMAP, (long)addr, (long)len, 0, 0, 0, 0,
				     __builtin_return_address(0)));
}

HOOK int mprotect(void *addr, size_t len, int prot)
{
	return (int)ret_errno(traced(MT_SC_MPROTECT, (long)addr, (long)len, prot, 0, 0, 0,
				     __builtin_return_address(0)));
}

HOOK int madvise(void *addr, size_t len, int advice)
{
	return (int)ret_errno(traced(MT_SC_MADVISE, (long)addr, (long)len, advice, 0, 0, 0,
				     __builtin_return_address(0)));
}

HOOK int posix_madvise(void *addr, size_t len, int advice)
{
	long r;

	/* glibc: POSIX_MADV_DONTNEED would be destructive as MADV_DONTNEED; it is ignored */
	if (advice == POSIX_MADV_DONTNEED)
		return 0;
	r = traced(MT_SC_MADVISE, (long)addr, (long)len, advice, 0, 0, 0,
		   __builtin_return_address(0));
	return (int)-r; /* an error number, errno untouched */
}

HOOK void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *new_addr = NULL;
	va_list ap;
	long r;

	/* glibc: unknown flags fail before the call; the fifth argument only with FIXED or DONTUNMAP */
	if ((unsigned int)flags > 7) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	if (flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) {
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	r = traced(MT_SC_MREMAP, (long)old, (long)old_len, (long)new_len, (unsigned int)flags,
		   (long)new_addr, 0, __builtin_return_address(0));
	return mt_ret_is_err(r) ? (errno = (int)-r, MAP_FAILED) : (void *)r;
}

/* One brk call, recorded, keeping glibc's __curbrk as glibc's brk does. */
static long do_brk(void *addr, void *caller)
{
	long r = mt_sys1(mt_syscall_nr(MT_SC_BRK, 0), addr);

	__curbrk = (void *)r;
	if (mt_recording())
		record(MT_SC_BRK, (long)addr, 0, 0, 0, 0, 0, r, caller);
	return r;
}

HOOK int brk(void *addr)
{
	if ((uintptr_t)do_brk(addr, __builtin_return_address(0)) < (uintptr_t)addr) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

HOOK void *sbrk(intptr_t increment)
{
	void *caller = __builtin_return_address(0);
	uintptr_t old, want;

	if (!__curbrk && (uintptr_t)do_brk(NULL, caller) == 0) {
		errno = ENOMEM;
		return (void *)-1;
	}
	old = (uintptr_t)__curbrk;
	if (increment == 0)
		return (void *)old;
	if (increment > 0 ? old + (uintptr_t)increment < old : old < (uintptr_t)-increment) {
		errno = ENOMEM;
		return (void *)-1;
	}
	want = old + (uintptr_t)increment;
	if ((uintptr_t)do_brk((void *)want, caller) < want) {
		errno = ENOMEM;
		return (void *)-1;
	}
	return (void *)old;
}

HOOK ssize_t process_madvise(int pidfd, const struct iovec *iov, size_t vlen, int advice,
			     unsigned int flags)
{
	return ret_errno(traced(MT_SC_PROCESS_MADVISE, pidfd, (long)iov, (long)vlen, advice, flags,
				0, __builtin_return_address(0)));
}

/* ---- signal masks: SIGSYS stays unblocked while calls are caught (trap.c) ---- */

/* glibc's internal signals (SIGCANCEL, SIGSETXID), which its wrappers never block either */
#define SIG_INTERNAL1 32
#define SIG_INTERNAL2 33

static long set_mask(int how, const sigset_t *set, sigset_t *old)
{
	sigset_t local;

	if (set) {
		local = *set;
		sigdelset(&local, SIG_INTERNAL1);
		sigdelset(&local, SIG_INTERNAL2);
		if (mt_catching())
			sigdelset(&local, SIGSYS);
		set = &local;
	}
	return mt_sys4(SYS_rt_sigprocmask, how, set, old, 8);
}

HOOK int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	long r = set_mask(how, set, old);

	return r < 0 ? (int)-r : 0;
}

HOOK int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	return (int)ret_errno(set_mask(how, set, old));
}

/* ---- process events ---- */

HOOK _Noreturn void _exit(int status)
{
	mt_on_exit(status);
	for (;;) {
		mt_sys1(SYS_exit_group, status);
		mt_sys1(SYS_exit, status);
	}
}

HOOK _Noreturn void _Exit(int status) __attribute__((alias("_exit")));

static long do_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5,
		       void *caller)
{
	uint64_t mask;
	int undo = 0, sc;
	long r;

	if (nr == SYS_exit_group)
		mt_on_exit((int)a0);
	/* a mask through syscall(2): SIGSYS stays out of it too */
	/* a mask the kernel cannot read goes to it as it is: it says EFAULT, we must not fault */
	if (nr == SYS_rt_sigprocmask && a1 && a3 == 8 && mt_catching() &&
	    mt_safe_read((uint64_t)a1, &mask, sizeof(mask))) {
		mask &= ~(1ull << (SIGSYS - 1));
		a1 = (long)&mask;
	}
	if (nr == SYS_execve || nr == SYS_execveat)
		mt_before_exec(nr == SYS_execve ? (const char *)a0 : (const char *)a1, &undo);
	r = mt_raw_syscall(nr, a0, a1, a2, a3, a4, a5);
	if (nr == SYS_execve || nr == SYS_execveat)
		mt_exec_failed(undo);
	/* a new process with its own memory: its agent state is a copy to reset */
	if (r == 0 && (nr == SYS_fork || (nr == SYS_clone && !(a0 & (CLONE_VM | CLONE_THREAD)))))
		mt_on_fork_child();
	if (mt_recording() && (sc = mt_syscall_by_nr(nr, 0)) >= 0)
		record(sc, a0, a1, a2, a3, a4, a5, r, caller);
	return r;
}

/* syscall(2): tally and others make their memory calls through it. */
HOOK long syscall(long nr, ...)
{
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	return ret_errno(
		do_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5], __builtin_return_address(0)));
}

/* _Fork runs no fork handlers: the child sets itself up here. */
HOOK pid_t _Fork(void)
{
	fork_fn f = next__Fork();
	pid_t r;

	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	r = f();
	if (r == 0)
		mt_on_fork_child();
	return r;
}

/*
 * vfork: the child runs on the parent's memory, its thread's TLS included,
 * until it execs or exits. The child marks that TLS (mt_tls_vfork: the
 * agent keeps out of the parent's state), the parent unmarks it when it
 * resumes. In assembly: the child may not return through a C frame the
 * parent then returns through (the return address is kept in a register).
 */
#ifdef __x86_64__
HOOK pid_t vfork(void); /* defined below, in assembly */
/* used: only the assembly below calls it, which link-time optimisation cannot see */
long mt_vfork_failed(long r) MT_HIDDEN __attribute__((used));
long mt_vfork_failed(long r)
{
	return ret_errno(r);
}

__asm__(".text\n"
	".globl vfork\n"
	".type vfork,@function\n"
	"vfork:\n"
	"	pop %rsi\n"
	"	mov $" MT_STR(SYS_vfork) ", %eax\n"
	"	syscall\n"
	"	push %rsi\n"
	"	mov mt_tls_vfork@gottpoff(%rip), %rdx\n"
	"	test %rax, %rax\n"
	"	jnz 1f\n"
	"	movl $1, %fs:(%rdx)\n"
	"	ret\n"
	"1:	movl $0, %fs:(%rdx)\n"
	"	cmp $-4095, %rax\n"
	"	jae 2f\n"
	"	ret\n"
	"2:	mov %rax, %rdi\n"
	"	jmp mt_vfork_failed\n"
	".size vfork, .-vfork\n");
#endif

/* clone(2) through glibc without CLONE_VM: a fork that runs no fork handler. */
struct clone_start {
	int (*fn)(void *);
	void *arg;
};

static int clone_child(void *p)
{
	/* a copy of the parent's stack, where the parent left it */
	struct clone_start c = *(struct clone_start *)p;

	mt_on_fork_child();
	return c.fn(c.arg);
}

HOOK int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	clone_fn f = next_clone();
	struct clone_start cs = { fn, arg };
	pid_t *ptid, *ctid;
	void *tls;
	va_list ap;

	va_start(ap, arg);
	ptid = va_arg(ap, pid_t *);
	tls = va_arg(ap, void *);
	ctid = va_arg(ap, pid_t *);
	va_end(ap);
	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	if (flags & (CLONE_VM | CLONE_THREAD))
		return f(fn, stack, flags, arg, ptid, tls, ctid);
	return f(clone_child, stack, flags, &cs, ptid, tls, ctid);
}

#define START_SLOTS 128

/* What a new thread needs until it has started: handed over through a fixed pool. */
static struct start_slot {
	void *(*fn)(void *);
	void *arg;
	uint32_t creator;
	int used;
} slots[START_SLOTS];

static void *thread_start(void *p)
{
	struct start_slot *s = p;
	void *(*fn)(void *) = s->fn;
	void *arg = s->arg;
	uint32_t creator = s->creator;

	__atomic_store_n(&s->used, 0, __ATOMIC_RELEASE);
	mt_on_thread_start(creator);
	return fn(arg);
}

HOOK int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	pthread_create_fn f = next_pthread_create();
	int r;

	if (!f)
		return EAGAIN;
	if (!mt_recording())
		return f(t, attr, fn, arg);
	for (int i = 0; i < START_SLOTS; i++) {
		int zero = 0;
		struct start_slot *s = &slots[i];

		if (!__atomic_compare_exchange_n(&s->used, &zero, 1, false, __ATOMIC_ACQUIRE,
						 __ATOMIC_RELAXED))
			continue;
		s->fn = fn;
		s->arg = arg;
		s->creator = mt_tid();
		r = f(t, attr, thread_start, s);
		if (r)
			__atomic_store_n(&s->used, 0, __ATOMIC_RELEASE);
		return r;
	}
	/* 128 threads being started at once: this one goes without its clone record */
	return f(t, attr, fn, arg);
}

static int spawn(spawn_fn f, pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	char *env[1024], preload[4096];
	pid_t child = 0;
	int r;

	if (!f)
		return ENOSYS;
	r = f(&child, path, fa, attr, argv, mt_exec_env(envp, env, 1024, preload, sizeof(preload)));
	if (!r) {
		mt_on_spawn(child);
		if (pid)
			*pid = child;
	}
	return r;
}

HOOK int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		     const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn(next_posix_spawn(), pid, path, fa, attr, argv, envp);
}

HOOK int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
		      const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn(next_posix_spawnp(), pid, file, fa, attr, argv, envp);
}

/* ---- exec: the records so far go out first; the next program gets the agent's variables ---- */

#define ENV_ROOM 1024

/*
 * The agent's execve and execvpe, which its other exec hooks call directly:
 * a call to one of its own exported hooks would go through the PLT (see
 * tests/integration/test_preload_symbols.py).
 */
static int do_execve(const char *path, char *const argv[], char *const envp[])
{
	execve_fn f = next_execve();
	char *env[ENV_ROOM], preload[4096];
	int undo, r;

	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	mt_before_exec(path, &undo);
	r = f(path, argv, mt_exec_env(envp, env, ENV_ROOM, preload, sizeof(preload)));
	mt_exec_failed(undo);
	return r;
}

HOOK int execve(const char *path, char *const argv[], char *const envp[])
{
	return do_execve(path, argv, envp);
}

static int do_execvpe(const char *file, char *const argv[], char *const envp[])
{
	execve_fn f = next_execvpe();
	char *env[ENV_ROOM], preload[4096];
	int undo, r;

	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	mt_before_exec(file, &undo);
	r = f(file, argv, mt_exec_env(envp, env, ENV_ROOM, preload, sizeof(preload)));
	mt_exec_failed(undo);
	return r;
}

HOOK int execvpe(const char *file, char *const argv[], char *const envp[])
{
	return do_execvpe(file, argv, envp);
}

HOOK int fexecve(int fd, char *const argv[], char *const envp[])
{
	fexecve_fn f = next_fexecve();
	char *env[ENV_ROOM], preload[4096];
	int undo, r;

	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	mt_before_exec(NULL, &undo);
	r = f(fd, argv, mt_exec_env(envp, env, ENV_ROOM, preload, sizeof(preload)));
	mt_exec_failed(undo);
	return r;
}

HOOK int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
	execveat_fn f = next_execveat();
	char *env[ENV_ROOM], preload[4096];
	int undo, r;

	if (!f) {
		errno = ENOSYS;
		return -1;
	}
	mt_before_exec(path, &undo);
	r = f(dirfd, path, argv, mt_exec_env(envp, env, ENV_ROOM, preload, sizeof(preload)), flags);
	mt_exec_failed(undo);
	return r;
}

/* execv and execvp pass environ on: through execve and execvpe, which add what it lacks. */
HOOK int execv(const char *path, char *const argv[])
{
	return do_execve(path, argv, environ);
}

HOOK int execvp(const char *file, char *const argv[])
{
	return do_execvpe(file, argv, environ);
}

/* The execl family: the arguments into an array on the stack, as glibc does. */
static size_t count_args(va_list ap)
{
	size_t n = 1;
	va_list cp;

	va_copy(cp, ap);
	while (va_arg(cp, char *))
		n++;
	va_end(cp);
	return n;
}

HOOK int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, arg);
	n = count_args(ap);
	{
		char *argv[n + 1];

		argv[0] = (char *)arg;
		for (size_t i = 1; i <= n; i++)
			argv[i] = va_arg(ap, char *);
		va_end(ap);
		return do_execve(path, argv, environ);
	}
}

HOOK int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, arg);
	n = count_args(ap);
	{
		char *argv[n + 1];

		argv[0] = (char *)arg;
		for (size_t i = 1; i <= n; i++)
			argv[i] = va_arg(ap, char *);
		va_end(ap);
		return do_execvpe(file, argv, environ);
	}
}

HOOK int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, arg);
	n = count_args(ap);
	{
		char *argv[n + 1], **envp;

		argv[0] = (char *)arg;
		for (size_t i = 1; i <= n; i++)
			argv[i] = va_arg(ap, char *);
		envp = va_arg(ap, char **);
		va_end(ap);
		return do_execve(path, argv, envp);
	}
}

/* ---- the agent's descriptors stay open ---- */

HOOK int close(int fd)
{
	if (mt_is_agent_fd(fd))
		return 0; /* as far as the program can tell, closed */
	return (int)ret_errno(mt_sys1(SYS_close, fd));
}

/* close_range over [first, last], skipping the agent's descriptors. */
static int close_range_around(unsigned int first, unsigned int last, int flags)
{
	int fds[5] = { -1, -1, -1, -1, -1 }, n = 0, i, j, tmp;
	unsigned int lo = first;
	long r;

	for (i = 0, j = mt_agent_fds(fds); i < j; i++)
		if ((unsigned int)fds[i] >= first && (unsigned int)fds[i] <= last)
			fds[n++] = fds[i];
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (fds[j] < fds[i])
				tmp = fds[i], fds[i] = fds[j], fds[j] = tmp;
	for (i = 0; i <= n; i++) {
		unsigned int hi = i < n ? (unsigned int)fds[i] - 1 : last;

		if (i < n && (unsigned int)fds[i] == lo) {
			lo++;
			continue;
		}
		if (hi >= lo) {
			r = mt_sys3(SYS_close_range, lo, hi, flags);
			if (r < 0)
				return (int)ret_errno(r);
		}
		if (i < n)
			lo = (unsigned int)fds[i] + 1;
		if (i < n && lo == 0)
			break; /* wrapped past ~0u */
	}
	return 0;
}

HOOK int close_range(unsigned int first, unsigned int last, int flags)
{
	if (first > last) {
		errno = EINVAL;
		return -1;
	}
	return close_range_around(first, last, flags);
}

HOOK void closefrom(int lowfd)
{
	close_range_around(lowfd < 0 ? 0 : (unsigned int)lowfd, ~0u, 0);
}
