// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A trace of many release stacks for the unwinder's benchmark: the mappings
 * and info records of a template trace (bench/usbench's), then its release
 * calls and their MT_USTACK records repeated, round robin, until there are
 * CALLS of them, each at its own time. Every call is unwound by report: the
 * stack bytes are not deduplicated, only the resulting frames are.
 *
 *	gen_ustack_trace TEMPLATE CALLS OUT
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "madvtrace/record.h"
#include "tracefile.h"

struct rec {
	struct mt_hdr *h;
};

static struct mt_hdr *copy(const struct mt_hdr *h)
{
	struct mt_hdr *c = malloc(h->size);

	if (!c) {
		perror("malloc");
		exit(1);
	}
	memcpy(c, h, h->size);
	return c;
}

int main(int argc, char **argv)
{
	struct mt_hdr **calls = NULL, **stacks = NULL;
	size_t n = 0, cap = 0;
	const struct mt_hdr *h, *last_call = NULL;
	struct mt_file_info info;
	struct mt_reader *r;
	struct mt_writer *w;
	unsigned long want;
	char err[256];
	uint64_t t;
	int fd;

	if (argc != 4) {
		fprintf(stderr, "usage: gen_ustack_trace TEMPLATE CALLS OUT\n");
		return 2;
	}
	want = strtoul(argv[2], NULL, 0);
	r = mt_reader__open(argv[1], err, sizeof(err));
	if (!r) {
		fprintf(stderr, "gen_ustack_trace: %s\n", err);
		return 1;
	}
	info = *mt_reader__info(r);
	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	w = fd >= 0 ? mt_writer__new(fd, &info) : NULL;
	if (!w) {
		perror(argv[3]);
		return 1;
	}
	while (mt_reader__next(r, &h) == 1) {
		if (h->flags & MT_F_USTACK) {
			last_call = h;
			if (n == cap) {
				cap = cap ? 2 * cap : 1024;
				calls = realloc(calls, cap * sizeof(*calls));
				stacks = realloc(stacks, cap * sizeof(*stacks));
				if (!calls || !stacks)
					return 1;
			}
			calls[n] = copy(h);
			stacks[n] = NULL;
			n++;
		} else if (h->type == MT_USTACK) {
			if (last_call && n && !stacks[n - 1])
				stacks[n - 1] = copy(h);
		} else if (mt_writer__write(w, h)) {
			fprintf(stderr, "gen_ustack_trace: write failed\n");
			return 1;
		}
	}
	if (!n || !stacks[0]) {
		fprintf(stderr, "gen_ustack_trace: %s has no release stacks\n", argv[1]);
		return 1;
	}
	t = calls[n - 1]->t_ns;
	for (unsigned long i = 0; i < want; i++) {
		size_t k = i % n;

		if (!stacks[k])
			continue;
		t += 1000;
		calls[k]->t_ns = stacks[k]->t_ns = t;
		if (mt_writer__write(w, calls[k]) || mt_writer__write(w, stacks[k])) {
			fprintf(stderr, "gen_ustack_trace: write failed\n");
			return 1;
		}
	}
	mt_reader__free(r);
	return mt_writer__free(w) ? 1 : 0;
}
