// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Seeds of the agent stream fuzzer: messages as the agent sends them (calls,
 * a task record, an info record, notes, one frame and many) written into
 * the directory given, so mutations start from frames the parser takes.
 */
#include <stdio.h>
#include <string.h>
#include "agent_proto.h"
#include "records.h"

static unsigned char msg[1 << 16];
static size_t off;

static void frame(const void *rec, uint32_t len)
{
	if (off + 4 + len > sizeof(msg))
		return;
	memcpy(msg + off, &len, 4);
	memcpy(msg + off + 4, rec, len);
	off += 4 + len;
}

static int save(const char *dir, int i)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed%02d", dir, i);
	f = fopen(path, "wb");
	if (!f || fwrite(msg, 1, off, f) != off) {
		perror(path);
		return 1;
	}
	fclose(f);
	off = 0;
	return 0;
}

int main(int argc, char **argv)
{
	struct mt_madvise m;
	struct mt_munmap u;
	struct mt_task t;
	struct mt_agent_note n;
	_Alignas(8) unsigned char infb[sizeof(struct mt_info) + 64];
	struct mt_info *inf = (struct mt_info *)infb;
	int err = 0, k = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	memset(&m, 0, sizeof(m));
	mt_record_init(&m.h, MT_MADVISE, sizeof(m), 100, 101, 1000);
	m.addr = 0x7f0000000000;
	m.len = 1 << 20;
	m.advice = 4;
	memset(&u, 0, sizeof(u));
	mt_record_init(&u.h, MT_MUNMAP, sizeof(u), 100, 100, 2000);
	u.addr = 0x7f0000100000;
	u.len = 4096;
	memset(&t, 0, sizeof(t));
	mt_record_init(&t.h, MT_TASK, sizeof(t), 100, 100, 3000);
	t.event = MT_TASK_EXEC;
	memcpy(t.comm, "prog", 5);
	memset(&n, 0, sizeof(n));
	mt_record_init(&n.h, MT_AGENT_NOTE, sizeof(n), 100, 100, 4000);
	n.level = MT_NOTE_EXEC;
	memcpy(n.text, "/usr/bin/true", 14);
	memset(infb, 0, sizeof(infb));
	mt_record_init(&inf->h, MT_INFO, sizeof(infb), 100, 100, 5000);
	memcpy(inf->text, "agent.uncaught=calls made by some libraries", 44);

	frame(&m, sizeof(m));
	err |= save(argv[1], k++);
	frame(&t, sizeof(t));
	frame(&m, sizeof(m));
	frame(&u, sizeof(u));
	frame(infb, sizeof(infb));
	err |= save(argv[1], k++);
	frame(&n, sizeof(n));
	n.level = MT_NOTE_WARN;
	frame(&n, sizeof(n));
	err |= save(argv[1], k++);
	for (int i = 0; i < 200; i++)
		frame(i % 2 ? (const void *)&m : (const void *)&u, i % 2 ? sizeof(m) : sizeof(u));
	err |= save(argv[1], k++);
	return err;
}
