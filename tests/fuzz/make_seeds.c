// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Writes a few small, valid traces into DIR as the fuzzer's seed corpus:
 * every record type with edge-case values, short and long records, an
 * unknown type, and a header-only trace.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "tracefile.h"

static const struct mt_file_info info = {
	.page_size = 4096,
	.clock_id = 1,
	.clock_offset_ns = 1700000000000000000ll,
	.start_ns = 1000,
	.backend = MT_BACKEND_BPF,
	.target_pid = 1234,
	.kernel_release = "6.18.0",
	.cmdline = "madvtrace -o seed.mtr -- ./demo",
	.target = "./demo",
};

static struct mt_writer *open_seed(const char *dir, const char *name)
{
	char path[4096];
	struct mt_writer *w;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "make_seeds: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	w = mt_writer__new(fd, &info);
	if (!w)
		close(fd);
	return w;
}

static void hdr(void *rec, uint16_t type, uint16_t size, uint64_t t)
{
	struct mt_hdr *h = rec;

	memset(rec, 0, size);
	h->type = type;
	h->size = size;
	h->t_ns = t;
	h->pid = 1234;
	h->tid = 1240;
}

static int all_types(struct mt_writer *w)
{
	struct mt_mmap m;
	struct mt_munmap u;
	struct mt_mremap r;
	struct mt_madvise a;
	struct mt_brk b;
	struct mt_mprotect p;
	struct mt_rss s;
	struct mt_task t;
	struct mt_lost l;
	unsigned char raw[96];
	union {
		struct mt_info in;
		unsigned char b[sizeof(struct mt_info) + MT_MAX_INFO];
	} info;
	int err = 0;

	hdr(&m, MT_MMAP, sizeof(m), 1);
	m.len = 65536;
	m.ret = 0x7f0000000000;
	m.prot = 3;
	m.flags = 0x40022 | (21u << 26);
	m.fd = -1;
	err |= mt_writer__write(w, &m.h);
	m.h.abi = MT_ABI_I386;
	m.h.flags = MT_F_ARGS_UNREAD;
	m.ret = -12;
	err |= mt_writer__write(w, &m.h);
	hdr(&u, MT_MUNMAP, sizeof(u), 2);
	u.addr = 0x7f0000000000;
	u.len = 65537;
	u.ret = -22;
	err |= mt_writer__write(w, &u.h);
	hdr(&r, MT_MREMAP, sizeof(r), 3);
	r.old_addr = 0x7f0000000000;
	r.old_len = 4096;
	r.new_len = 1 << 20;
	r.flags = 3;
	r.new_addr = 0x7f0000100000;
	r.ret = 0x7f0000100000;
	err |= mt_writer__write(w, &r.h);
	hdr(&a, MT_MADVISE, sizeof(a), 4);
	a.addr = 0x7f0000100000;
	a.len = 1 << 20;
	a.advice = 8;
	a.target_pid = 1234;
	err |= mt_writer__write(w, &a.h);
	a.h.flags = MT_F_PROCESS_MADVISE | MT_F_IOV_TRUNC;
	a.advice = 77;
	a.ret = 1 << 20;
	err |= mt_writer__write(w, &a.h);
	hdr(&b, MT_BRK, sizeof(b), 5);
	b.ret = 0x555555559000;
	err |= mt_writer__write(w, &b.h);
	hdr(&p, MT_MPROTECT, sizeof(p), 6);
	p.addr = 0x7f0000000000;
	p.len = 4096;
	p.prot = 0x01000007;
	err |= mt_writer__write(w, &p.h);
	hdr(&s, MT_RSS, sizeof(s), 7);
	s.h.flags = MT_F_SMAPS | MT_F_SYNTH;
	s.anon = 12 << 20;
	s.lazyfree = 8 << 20;
	s.smaps_rss = 13 << 20;
	s.reason = MT_RSS_SAMPLE;
	err |= mt_writer__write(w, &s.h);
	hdr(&t, MT_TASK, sizeof(t), 8);
	t.event = MT_TASK_EXEC;
	memcpy(t.comm, "caf\xc3\xa9\"\\\n\xff", 9);
	err |= mt_writer__write(w, &t.h);
	t.event = MT_TASK_EXIT;
	t.code = 11 | 0x80;
	err |= mt_writer__write(w, &t.h);
	hdr(&l, MT_LOST, sizeof(l), 9);
	l.count = 17;
	l.cpu = ~0u;
	err |= mt_writer__write(w, &l.h);
	/* a type from the future, a short mmap and a long madvise */
	hdr(raw, 77, 40, 10);
	err |= mt_writer__write(w, (struct mt_hdr *)raw);
	hdr(raw, MT_MMAP, 40, 11);
	err |= mt_writer__write(w, (struct mt_hdr *)raw);
	hdr(raw, MT_MADVISE, 96, 12);
	err |= mt_writer__write(w, (struct mt_hdr *)raw);
	/* the longest info text, every byte escaped: past dump's 4 KiB line buffer */
	hdr(&info, MT_INFO, sizeof(info), 13);
	memset(info.in.text, 0xff, MT_MAX_INFO - 1);
	memcpy(info.in.text, "exe=", 4);
	err |= mt_writer__write(w, &info.in.h);
	return err;
}

/*
 * Release stacks and mappings: a full-size stack copy, one cut at a fault,
 * one whose len says more than the record holds, a mapping with a build id
 * and the longest path, one without NUL or build id, one with a bogus
 * build-id length.
 */
static int stacks_and_mappings(struct mt_writer *w)
{
	static union {
		struct mt_ustack us;
		unsigned char b[sizeof(struct mt_ustack) + MT_USTACK_MAX];
	} u;
	static union {
		struct mt_mapping m;
		unsigned char b[sizeof(struct mt_mapping) + MT_MAPPING_PATH_MAX];
	} m;
	struct mt_madvise a;
	int err = 0;

	hdr(&a, MT_MADVISE, sizeof(a), 20);
	a.h.flags = MT_F_USTACK;
	a.addr = 0x7f0000100000;
	a.len = 1 << 20;
	a.advice = 4;
	a.target_pid = 1234;
	err |= mt_writer__write(w, &a.h);
	hdr(&u, MT_USTACK, sizeof(u.us) + MT_USTACK_MAX, 20);
	for (int i = 0; i < MT_UREG_NR; i++)
		u.us.regs[i] = 0x7ffc00000000ull + 8 * i;
	u.us.regs[MT_UREG_RIP] = 0x7f0000401234;
	u.us.sp = u.us.regs[MT_UREG_RSP];
	u.us.len = MT_USTACK_MAX;
	u.us.flags = MT_US_SHORT;
	for (int i = 0; i < MT_USTACK_MAX; i++)
		u.us.data[i] = (unsigned char)(i * 7);
	err |= mt_writer__write(w, &u.us.h);
	hdr(&u, MT_USTACK, sizeof(u.us) + 1000, 21);
	u.us.len = 1000 - 4;
	u.us.flags = MT_US_FAULT;
	err |= mt_writer__write(w, &u.us.h);
	hdr(&u, MT_USTACK, sizeof(u.us) + 64, 22);
	u.us.len = 0xffffffffu;
	u.us.flags = 0xff;
	err |= mt_writer__write(w, &u.us.h);

	hdr(&m, MT_MAPPING, sizeof(m.m) + 40, 23);
	m.m.h.flags = MT_F_SYNTH;
	m.m.start = 0x7f0000400000;
	m.m.end = 0x7f0000428000;
	m.m.off = 0x28000;
	m.m.dev = 0xfe01;
	m.m.ino = 332835;
	m.m.prot = 5;
	m.m.build_id_len = 20;
	for (int i = 0; i < 20; i++)
		m.m.build_id[i] = (unsigned char)(0x93 + i);
	strcpy(m.m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	err |= mt_writer__write(w, &m.m.h);
	hdr(&m, MT_MAPPING, sizeof(m), 24);
	m.m.build_id_len = 255;
	memset(m.m.path, 0xff, MT_MAPPING_PATH_MAX - 1);
	m.m.path[0] = '/';
	err |= mt_writer__write(w, &m.m.h);
	hdr(&m, MT_MAPPING, sizeof(m.m) + 8, 25);
	memcpy(m.m.path, "/no-nul\x01", 8);
	err |= mt_writer__write(w, &m.m.h);
	return err;
}

int main(int argc, char **argv)
{
	struct mt_writer *w;
	int err = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: make_seeds DIR\n");
		return 2;
	}
	w = open_seed(argv[1], "all-types.mtr");
	if (!w)
		return 1;
	err |= mt_writer__set(w, "go_version", "go1.19.8");
	err |= all_types(w);
	err |= mt_writer__free(w);

	w = open_seed(argv[1], "stacks-mappings.mtr");
	if (!w)
		return 1;
	err |= stacks_and_mappings(w);
	err |= mt_writer__free(w);

	w = open_seed(argv[1], "header-only.mtr");
	if (!w)
		return 1;
	err |= mt_writer__free(w);
	if (err) {
		fprintf(stderr, "make_seeds: writing seeds failed\n");
		return 1;
	}
	return 0;
}
