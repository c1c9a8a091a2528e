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
