// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Seeds of the /proc fuzzer: this process's own status, smaps_rollup and
 * maps, as the kernel writes them, into the directory given.
 */
#include <stdio.h>

static int copy(const char *src, const char *dir, const char *name)
{
	char path[4096], buf[1 << 16];
	FILE *in = fopen(src, "re"), *out;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = fopen(path, "we");
	if (!in || !out) {
		perror(in ? path : src);
		return 1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, n, out);
	fclose(in);
	return fclose(out) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	return copy("/proc/self/status", argv[1], "status") |
	       copy("/proc/self/smaps_rollup", argv[1], "smaps_rollup") |
	       copy("/proc/self/maps", argv[1], "maps");
}
