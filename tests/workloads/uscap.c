// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* A process that records its own release calls and stacks (uscap.h). */
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "madvtrace/build.h"
#include "madvtrace/record.h"
#include "records.h"
#include "tracefile.h"
#include "uscap.h"

#define MAGIC 0x75736361ul /* args[5] of the handler's own calls: let through */
#define BUF_SIZE (64ul << 20)

static uint8_t *buf;
static size_t used;
static uint64_t stack_top, t0;
static volatile int recording;
static unsigned dropped;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *room(size_t n)
{
	void *p;

	n = (n + 7) & ~7ul;
	if (used + n > BUF_SIZE) {
		dropped++;
		return NULL;
	}
	p = buf + used;
	used += n;
	return p;
}

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
	static const int map[MT_UREG_NR] = {
	    REG_RAX, REG_RDX, REG_RCX, REG_RBX, REG_RSI, REG_RDI, REG_RBP, REG_RSP, REG_R8,
	    REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15, REG_RIP};
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	long nr = si->si_syscall;
	__u64 a[6] = {(__u64)g[REG_RDI], (__u64)g[REG_RSI], (__u64)g[REG_RDX],
		      (__u64)g[REG_R10], (__u64)g[REG_R8], (__u64)g[REG_R9]};
	uint64_t sp = (uint64_t)g[REG_RSP], t, len;
	union mt_call_record call;
	struct mt_ustack *us;
	long ret;
	void *c;

	(void)sig;
	ret = syscall(nr, a[0], a[1], a[2], a[3], a[4], MAGIC);
	g[REG_RAX] = ret < 0 ? -errno : ret;
	if (!recording)
		return;
	t = now_ns();
	memset(&call, 0, sizeof(call));
	if (!mt_build_call(&call, mt_syscall_by_nr(nr, 0), a, g[REG_RAX], (__u32)getpid()))
		return;
	call.h.t_ns = t;
	call.h.pid = call.h.tid = (__u32)getpid();
	call.h.flags = MT_F_USTACK;
	c = room(call.h.size);
	if (!c)
		return;
	memcpy(c, &call, call.h.size);
	len = stack_top > sp ? stack_top - sp : 0;
	if (len > MT_USTACK_DEFAULT)
		len = MT_USTACK_DEFAULT;
	us = room(sizeof(*us) + len);
	if (!us)
		return;
	mt_record_init(us, MT_USTACK, (uint16_t)((sizeof(*us) + len + 7) & ~7ul), call.h.pid,
		       call.h.tid, t);
	for (int i = 0; i < MT_UREG_NR; i++)
		us->regs[i] = (uint64_t)g[map[i]];
	us->sp = sp;
	us->len = (uint32_t)len;
	us->flags = sp + MT_USTACK_DEFAULT < stack_top ? MT_US_SHORT : 0;
	memcpy(us->data, (void *)sp, len);
}

static void die(const char *what)
{
	fprintf(stderr, "uscap: %s: %s\n", what, strerror(errno));
	exit(1);
}

void uscap_start(const char *path)
{
	static uint8_t altstack[1 << 16];
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_madvise, 1, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_munmap, 0, 2),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[5])),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MAGIC, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	};
	struct sock_fprog prog = {.len = sizeof(f) / sizeof(f[0]), .filter = f};
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO | SA_ONSTACK};
	char line[4096];
	FILE *maps;

	if (!strcmp(path, "-"))
		return;
	buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		die("mmap");
	memset(buf, 0, BUF_SIZE); /* no page faults in the handler */
	maps = fopen("/proc/self/maps", "r");
	if (!maps)
		die("/proc/self/maps");
	while (fgets(line, sizeof(line), maps))
		if (strstr(line, "[stack]"))
			stack_top = strtoull(strchr(line, '-') + 1, NULL, 16);
	fclose(maps);
	t0 = now_ns();
	if (sigaltstack(&ss, NULL) || sigaction(SIGSYS, &sa, NULL))
		die("sigaction");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		die("seccomp");
	recording = 1;
}

/* One MT_MAPPING record per file mapping of /proc/self/maps, with the file's build id. */
static void write_maps(struct mt_writer *w)
{
	char line[4096 + 256], perms[8], path[4096];
	unsigned long long s, e, off, ino;
	unsigned maj, min;
	FILE *maps = fopen("/proc/self/maps", "r");

	if (!maps)
		die("/proc/self/maps");
	elf_version(EV_CURRENT);
	while (fgets(line, sizeof(line), maps)) {
		union {
			struct mt_mapping m;
			char b[sizeof(struct mt_mapping) + MT_MAPPING_PATH_MAX];
		} u;
		size_t plen;
		int fd;

		path[0] = '\0';
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %4095s", &s, &e, perms, &off, &maj,
			   &min, &ino, path) < 7 ||
		    path[0] != '/')
			continue;
		plen = strlen(path) + 1;
		memset(&u, 0, sizeof(u));
		mt_record_init(&u.m, MT_MAPPING, (uint16_t)((sizeof(u.m) + plen + 7) & ~7ul),
			       (uint32_t)getpid(), (uint32_t)getpid(), t0);
		u.m.h.flags = MT_F_SYNTH;
		u.m.start = s;
		u.m.end = e;
		u.m.off = off;
		u.m.dev = makedev(maj, min);
		u.m.ino = ino;
		u.m.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			   (perms[2] == 'x' ? PROT_EXEC : 0);
		memcpy(u.m.path, path, plen);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
			const void *id;
			ssize_t n = elf ? dwelf_elf_gnu_build_id(elf, &id) : -1;

			if (n > 0 && n <= MT_BUILD_ID_MAX) {
				u.m.build_id_len = (__u8)n;
				memcpy(u.m.build_id, id, (size_t)n);
			}
			if (elf)
				elf_end(elf);
			close(fd);
		}
		if (mt_writer__write(w, &u.m.h))
			die("write");
	}
	fclose(maps);
}

void uscap_stop(const char *path)
{
	struct mt_file_info info = {.page_size = 4096, .clock_id = CLOCK_MONOTONIC,
				    .start_ns = t0, .backend = MT_BACKEND_PRELOAD,
				    .target_pid = getpid(), .kernel_release = "",
				    .cmdline = "uscap", .target = "uscap"};
	char exe[4096 + 8] = "exe=";
	union {
		struct mt_info i;
		char b[sizeof(struct mt_info) + MT_MAX_INFO];
	} u;
	struct mt_writer *w;
	ssize_t n;
	int fd;

	recording = 0;
	if (!strcmp(path, "-"))
		return;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		die(path);
	w = mt_writer__new(fd, &info);
	if (!w)
		die("writer");
	n = readlink("/proc/self/exe", exe + 4, sizeof(exe) - 5);
	if (n > 0 && (size_t)n + 5 < MT_MAX_INFO) {
		exe[4 + n] = '\0';
		memset(&u, 0, sizeof(u));
		mt_record_init(&u.i, MT_INFO,
			       (uint16_t)((sizeof(u.i) + strlen(exe) + 1 + 7) & ~7ul),
			       (uint32_t)getpid(), (uint32_t)getpid(), t0);
		u.i.h.flags = MT_F_SYNTH;
		strcpy(u.i.text, exe);
		if (mt_writer__write(w, &u.i.h))
			die("write");
	}
	write_maps(w);
	for (size_t o = 0; o < used;) {
		const struct mt_hdr *h = (const void *)(buf + o);

		if (!h->size)
			break;
		if (mt_writer__write(w, h))
			die("write");
		o += (h->size + 7) & ~7u;
	}
	if (mt_writer__free(w))
		die("close");
	if (dropped)
		fprintf(stderr, "uscap: %u calls dropped (buffer full)\n", dropped);
}
