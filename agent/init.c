// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Start-up (the library's constructor): what this process is to the trace
 * (traced, a descendant not followed, nothing to record to), the config
 * from the environment, the trace file when run by hand, the first records
 * (exec, mappings, RSS), the agent thread, then catching.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include "agent_proto.h"
#include "core.h"
#include "text.h"
#include "tracefile.h"

#define DEFAULT_RING (1024 * 1024)

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	uint64_t r;

	return v && mt_parse_u64(v, &r) ? r : dflt;
}

static bool env_flag(const char *name, bool dflt)
{
	const char *v = getenv(name);

	if (!v || !*v)
		return dflt;
	return !(v[0] == '0' || v[0] == 'n' || v[0] == 'N' || v[0] == 'f' || v[0] == 'F');
}

/* Is fd, inherited through MADVTRACE_FD, really where this trace goes? */
static int check_out_fd(int fd)
{
	const char *out = getenv(MT_ENV_OUTPUT);
	struct stat st, pst;
	int type = 0;
	socklen_t len = sizeof(type);

	if (fd < 0 || fstat(fd, &st))
		return OUT_NONE;
	if (S_ISSOCK(st.st_mode))
		return !getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) && type == SOCK_SEQPACKET
			       ? OUT_SOCKET
			       : OUT_NONE;
	if (S_ISREG(st.st_mode) && out && !stat(out, &pst) && pst.st_dev == st.st_dev &&
	    pst.st_ino == st.st_ino && (fcntl(fd, F_GETFL) & O_APPEND))
		return OUT_FILE;
	return OUT_NONE;
}

static char *read_cmdline(char *buf, size_t len)
{
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		mt_raw_close(fd);
	if (n <= 0)
		n = 0;
	buf[n] = '\0';
	for (ssize_t i = 0; i + 1 < n; i++)
		if (!buf[i])
			buf[i] = ' ';
	return buf;
}

static int trace_write(void *ctx, const void *buf, size_t len)
{
	return mt_raw_write_all((int)(intptr_t)ctx, buf, len);
}

/* The trace-file writer's I/O: raw calls; no close, the descriptor stays the agent's. */
static const struct mt_writer_io trace_io = { .write_all = trace_write };

/* By hand: create the trace file and write its header (tracefile.c's writer). */
static int create_trace(const char *path, const char *agent_path)
{
	struct mt_file_info info = { 0 };
	struct timespec rt, mono;
	struct utsname u;
	struct mt_writer *w;
	char cmd[4096], target[4096];
	int fd, err;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(cmd, sizeof(cmd), "cannot create %s: %s%s; not recording", path,
			 strerror(errno), errno == ELOOP ? " (it is a symbolic link)" : "");
		mt_out__note(MT_NOTE_WARN, cmd);
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	uname(&u);
	snprintf(cmd, sizeof(cmd), "LD_PRELOAD=%s %s=%s", agent_path, MT_ENV_OUTPUT, path);
	info.page_size = (uint32_t)sysconf(_SC_PAGESIZE);
	info.clock_id = CLOCK_MONOTONIC;
	info.clock_offset_ns = ((int64_t)rt.tv_sec - mono.tv_sec) * 1000000000ll +
			       (rt.tv_nsec - mono.tv_nsec);
	info.start_ns = (uint64_t)mono.tv_sec * 1000000000ull + (uint64_t)mono.tv_nsec;
	info.backend = MT_BACKEND_PRELOAD;
	info.target_pid = getpid();
	info.kernel_release = u.release;
	info.cmdline = cmd;
	info.target = read_cmdline(target, sizeof(target));
	w = mt_writer__new_io(&trace_io, (void *)(intptr_t)fd, &info);
	/*
	 * The header only: the records follow, framed, through the agent's own
	 * buffers (written out at least every DRAIN_NS, output.c), from every
	 * process of the trace, so no one writer knows the end: no end marker.
	 */
	err = w ? mt_writer__no_end_marker(w) : -errno;
	if (w) {
		int ferr = mt_writer__free(w);

		err = err ? err : ferr;
	}
	if (err) {
		snprintf(cmd, sizeof(cmd), "cannot write %s: %s; not recording", path,
			 strerror(-err));
		mt_out__note(MT_NOTE_WARN, cmd);
		mt_raw_close(fd);
		return -1;
	}
	return fd;
}

/*
 * The mappings the process has as the agent starts (what ld.so made before
 * the agent could see it), as synthetic mmap records the way attach mode
 * shows a running process (procfs.c mt_proc_emit_maps): state, not calls.
 * The agent's own buffer is left out.
 */
static void emit_maps(void)
{
	char line[4352];
	FILE *f = fopen("/proc/self/maps", "re");
	uint64_t t = mt_now_ns();
	struct mt_mmap m;

	while (f && fgets(line, sizeof(line), f)) {
		mt_record_init(&m, MT_MMAP, sizeof(m), mt_ag.pid, mt_ag.pid, t);
		if (!mt_maps_line__mmap(line, &m) || m.addr == (uintptr_t)mt_ag.ring_mem)
			continue;
		m.h.flags = MT_F_SYNTH;
		mt_out__put(&m.h, false);
	}
	if (f)
		fclose(f);
}

/* By hand, what the program is (madvtrace adds these itself, with more, when it runs us). */
static void emit_exe_info(void)
{
	char path[4096], base[32] = "0x";
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	const ElfW(Phdr) *ph = (const void *)getauxval(AT_PHDR);
	uint64_t lo = UINT64_MAX, bias = 0;
	size_t phnum = getauxval(AT_PHNUM);

	if (n <= 0)
		return;
	path[n] = '\0';
	mt_out__info("exe", path);
	/* the lowest address the program is mapped at: its load bias plus its first segment */
	for (size_t i = 0; ph && i < phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			bias = (uint64_t)ph - ph[i].p_vaddr;
	for (size_t i = 0; ph && i < phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0 && bias + ph[i].p_vaddr < lo)
			lo = (bias + ph[i].p_vaddr) & ~4095ull;
	if (lo == UINT64_MAX)
		return;
	for (int sh = 60; sh >= 0; sh -= 4)
		if ((lo >> sh) || sh == 0 || strlen(base) > 2) {
			char d[2] = { "0123456789abcdef"[(lo >> sh) & 15], '\0' };

			mt_cat(base, sizeof(base), d);
		}
	mt_out__info("exe_base", base);
}

/* Decide what this process is to the trace. Returns false when it is not recorded. */
static bool choose_role(const char **agent_path)
{
	const char *fd_s = getenv(MT_ENV_FD), *out = getenv(MT_ENV_OUTPUT);
	const char *pid_s = getenv(MT_ENV_PID);
	static Dl_info self;
	uint64_t traced = 0, fd = 0;
	char buf[32] = "";
	int ofd;

	*agent_path = dladdr((void *)choose_role, &self) && self.dli_fname ? self.dli_fname
									  : MT_AGENT_LIB;
	if (pid_s && mt_parse_u64(pid_s, &traced) && traced != mt_ag.pid && !mt_ag.follow) {
		/* a descendant of the traced process, and children are not followed */
		if (fd_s && mt_parse_u64(fd_s, &fd) && check_out_fd((int)fd) != OUT_NONE)
			mt_raw_close((int)fd);
		mt_life__strip_env();
		return false;
	}
	if (fd_s && mt_parse_u64(fd_s, &fd)) {
		mt_ag.out_kind = check_out_fd((int)fd);
		if (mt_ag.out_kind == OUT_NONE) {
			if (out)
				mt_out__note(MT_NOTE_WARN,
					     "the trace file descriptor was closed before "
					     "this program started: not recording it");
			return false;
		}
		mt_ag.out_fd = (int)fd;
		mt_ag.by_hand = mt_ag.out_kind == OUT_FILE;
	} else if (out && *out) {
		ofd = create_trace(out, *agent_path);
		if (ofd < 0)
			return false;
		mt_ag.out_fd = ofd;
		mt_ag.out_kind = OUT_FILE;
		mt_ag.by_hand = true;
	} else {
		if (!pid_s)
			mt_out__note(MT_NOTE_WARN, "nothing to record to: set " MT_ENV_OUTPUT
					   "=FILE, or run madvtrace --backend=preload");
		return false;
	}
	/* out of the program's way; inherited by the next program (exec) only as arranged */
	ofd = mt_ag.out_fd;
	if (ofd < AGENT_FD_MIN) {
		mt_ag.out_fd = mt_high_fd(ofd);
		if (mt_ag.out_fd != ofd || !fd_s) {
			mt_cat_u64(buf, sizeof(buf), (uint64_t)mt_ag.out_fd);
			setenv(MT_ENV_FD, buf, 1);
		}
	} else if (!fd_s) {
		mt_cat_u64(buf, sizeof(buf), (uint64_t)mt_ag.out_fd);
		setenv(MT_ENV_FD, buf, 1);
	}
	mt_set_cloexec(mt_ag.out_fd, !mt_ag.follow);
	if (!pid_s) {
		buf[0] = '\0';
		mt_cat_u64(buf, sizeof(buf), mt_ag.pid);
		setenv(MT_ENV_PID, buf, 1);
	}
	return true;
}

__attribute__((constructor)) static void agent_init(void)
{
	const char *agent_path, *names[] = { "LD_PRELOAD",   MT_ENV_FD,	   MT_ENV_OUTPUT,
					     MT_ENV_PID,     MT_ENV_FOLLOW,  MT_ENV_RSS_MS,
					     MT_ENV_SMAPS_MS, MT_ENV_BUFFER_KIB, MT_ENV_CATCH,
					     MT_ENV_STACKS,  MT_ENV_QUIET };
	char why[160] = "", msg[256];
	uint64_t kib, now;
	bool catching = false;
	int err;

	mt_tls_internal++;
	mt_hooks_resolve();
	mt_ag.pid = (uint32_t)getpid();
	mt_ag.follow = env_flag(MT_ENV_FOLLOW, false);
	mt_ag.quiet = env_flag(MT_ENV_QUIET, false);
	mt_ag.stacks = env_flag(MT_ENV_STACKS, false);
	mt_ag.rss_ns = env_u64(MT_ENV_RSS_MS, 100) * MS;
	if (!mt_ag.rss_ns)
		mt_ag.rss_ns = 100 * MS;
	mt_ag.smaps_ns = env_u64(MT_ENV_SMAPS_MS, 1000) * MS;
	mt_ag.rss_gap_ns = mt_ag.rss_ns / 10 < 10 * MS ? mt_ag.rss_ns / 10 : 10 * MS;
	kib = env_u64(MT_ENV_BUFFER_KIB, DEFAULT_RING / 1024);
	for (mt_ag.ring_len = 4096; mt_ag.ring_len < kib * 1024 && mt_ag.ring_len < (1ull << 30);)
		mt_ag.ring_len <<= 1;
	mt_calls__reset(mt_ag.pid);
	if (!choose_role(&agent_path))
		goto out;

	mt_ag.ring_mem = (void *)mt_raw_syscall(SYS_mmap, 0, (long)mt_ag.ring_len,
						PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
						-1, 0);
	if (mt_ret_is_err((long)mt_ag.ring_mem)) {
		mt_ag.ring_mem = NULL;
		mt_out__note(MT_NOTE_WARN, "cannot allocate the record buffer: not recording");
		goto out;
	}
	mt_ring_init(&mt_ag.ring, mt_ag.ring_mem, mt_ag.ring_len);
	mt_ag.timer_fd = mt_high_fd(timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC));
	mt_rss__open_fds();
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		mt_life__save_env(names[i], getenv(names[i]));
	/* all that may allocate, before the filter is in place (see below) */
	mt_life__install();

	/* this program, as the bpf backend records an exec: task, facts, mappings, RSS */
	__atomic_store_n(&mt_agent_on, 1, __ATOMIC_RELAXED);
	now = mt_now_ns();
	mt_out__task(MT_TASK_EXEC, mt_ag.pid, mt_ag.pid, mt_ag.pid, 0, now);
	if (mt_ag.by_hand)
		emit_exe_info();
	emit_maps();
	mt_rss__start(mt_now_ns());
	mt_ag.next_work_ns = mt_now_ns() + mt_ag.rss_ns;
	mt_periodic__arm(mt_ag.next_work_ns + mt_ag.rss_ns);

	/* the thread that writes the records out: before the filter, it needs no SIGSYS */
	err = mt_agent_thread__start();
	if (err) {
		snprintf(msg, sizeof(msg), "cannot start the agent thread: %s; not recording",
			 strerror(-err));
		__atomic_store_n(&mt_agent_on, 0, __ATOMIC_RELAXED);
		mt_out__note(MT_NOTE_WARN, msg);
		goto out;
	}
	if (env_flag(MT_ENV_CATCH, true)) {
		catching = mt_catch__setup(why, sizeof(why)) == 0;
	} else {
		snprintf(why, sizeof(why), "%s=0", MT_ENV_CATCH);
	}
	if (catching) {
		mt_out__info("agent.catch", "on");
	} else {
		mt_out__info("agent.catch", why);
		msg[0] = '\0';
		mt_cat(msg, sizeof(msg), "calls made inside libc (malloc's mmap and munmap, "
					 "thread stacks) and raw system calls are not recorded: ");
		mt_cat(msg, sizeof(msg), why);
		/* the user's own choice needs no warning */
		mt_out__note(env_flag(MT_ENV_CATCH, true) ? MT_NOTE_WARN : MT_NOTE_INFO, msg);
	}
	/* madvtrace learns about the new program now, while /proc still shows it */
	mt_out__flush_all();
out:
	mt_tls_internal--;
}

