// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * floor OBJECT PREFIX: load floor.bpf.o, attach the programs whose name
 * starts with PREFIX (tpbtf, rawtp, persc), say "attached" on stdout, and
 * hold them until SIGINT or SIGTERM. For export-bench.py --floor.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	int n = 0;

	if (argc != 3) {
		fprintf(stderr, "usage: floor OBJECT PREFIX\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		perror("floor: open");
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, !strncmp(bpf_program__name(prog), argv[2],
							 strlen(argv[2])));
	if (bpf_object__load(obj)) {
		fprintf(stderr, "floor: cannot load\n");
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		if (strncmp(bpf_program__name(prog), argv[2], strlen(argv[2])))
			continue;
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "floor: cannot attach %s\n", bpf_program__name(prog));
			return 1;
		}
		n++;
	}
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	printf("attached %d\n", n);
	fflush(stdout);
	while (!stop)
		pause();
	bpf_object__close(obj);
	return 0;
}
