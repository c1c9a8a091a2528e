// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Seeds of the ELF fuzzer: small synthetic Go-like ELF files (build info in
 * both layouts, function tables of each Go release's layout) written into
 * the directory given, so mutations start from files the parsers accept.
 */
#include <glob.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include "elfgo_util.h"

/*
 * Real programs up to the fuzzer's 4 MiB, so that what depends on a file's
 * size (tables of thousands of symbols, Go's function table, notes and
 * sections far into the file) is reached from the start: this seeder (a C
 * program), the C library, and Go programs of the Go installation.
 */
static const char *const real[] = {
	"/proc/self/exe",
	"/usr/lib/x86_64-linux-gnu/libc.so.6",
	"/usr/lib/go*/pkg/tool/linux_amd64/pack",
	"/usr/lib/go*/pkg/tool/linux_amd64/buildid",
};

static int copy_real(const char *dir)
{
	char path[4096], buf[1 << 16];
	ino_t seen[16];
	int n = 0, nseen = 0;

	for (size_t i = 0; i < sizeof(real) / sizeof(real[0]); i++) {
		glob_t g;

		if (glob(real[i], 0, NULL, &g))
			continue;
		for (size_t k = 0; k < g.gl_pathc; k++) {
			struct stat st;
			FILE *in, *out;
			size_t len;

			bool dup = false;

			if (stat(g.gl_pathv[k], &st) || st.st_size > (4 << 20) || nseen == 16)
				continue;
			/* /usr/lib/go is a link to /usr/lib/go-1.N: one copy each */
			for (int j = 0; j < nseen; j++)
				dup |= seen[j] == st.st_ino;
			if (dup)
				continue;
			seen[nseen++] = st.st_ino;
			in = fopen(g.gl_pathv[k], "rb");
			snprintf(path, sizeof(path), "%s/real-%d.elf", dir, n++);
			out = fopen(path, "wb");
			if (in && out)
				while ((len = fread(buf, 1, sizeof(buf), in)) > 0)
					fwrite(buf, 1, len, out);
			if (in)
				fclose(in);
			if (out)
				fclose(out);
		}
		globfree(&g);
	}
	return n;
}

static size_t buildinfo_inline(uint8_t *b)
{
	static const char mod[] = "0123456789abcdef"
				  "path\tx/y\nmod\tx/y\t(devel)\t\nbuild\t-ldflags=\"-s -w\"\n"
				  "build\tCGO_ENABLED=0\n"
				  "0123456789abcdef";
	size_t n = sizeof(mod) - 1;

	memset(b, 0, 512);
	memcpy(b, "\xff Go buildinf:", 14);
	b[14] = 8;
	b[15] = 2;
	b[32] = 8;
	memcpy(b + 33, "go1.20.1", 8);
	b[41] = (uint8_t)(0x80 | (n & 0x7f));
	b[42] = (uint8_t)(n >> 7);
	memcpy(b + 43, mod, n);
	return 43 + n;
}

int main(int argc, char **argv)
{
	static uint8_t text[ETEXT], tab[4096], bi[512], old[64];
	char path[4096];
	struct synth_sec secs[3];
	size_t tlen, blen;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	for (enum fmt f = F12; f <= F120; f++) {
		tlen = make_pclntab(tab, f, TEXT);
		blen = buildinfo_inline(bi);
		secs[0] = (struct synth_sec){".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR,
					     TEXT,    text,	    sizeof(text)};
		secs[1] = (struct synth_sec){f == F118 ? ".data.rel.ro" : ".gopclntab",
					     SHT_PROGBITS,
					     SHF_ALLOC,
					     BASE + 0x2000,
					     tab,
					     tlen};
		secs[2] = (struct synth_sec){".go.buildinfo", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE,
					     BASE + 0x3000,   bi,	    blen};
		snprintf(path, sizeof(path), "%s/go-%d.elf", argv[1], (int)f);
		if (synth_elf(path, f == F120 ? ET_DYN : ET_EXEC, BASE, secs, 3))
			goto fail;
	}
	/* the Go 1.13-1.17 layout: pointers to string headers */
	memcpy(old, "\xff Go buildinf:", 14);
	old[14] = 8;
	put64(old + 16, BASE + 0x3000);
	put64(old + 24, BASE + 0x3010);
	blen = buildinfo_inline(bi);
	put64(bi, BASE + 0x3000 + 33);
	put64(bi + 8, 8);
	put64(bi + 16, BASE + 0x3000 + 43);
	put64(bi + 24, blen - 43);
	secs[0] = (struct synth_sec){".go.buildinfo", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE,
				     BASE + 0x1000,   old,	    sizeof(old)};
	secs[1] = (struct synth_sec){".data",	    SHT_PROGBITS, SHF_ALLOC | SHF_WRITE,
				     BASE + 0x3000, bi,		  blen};
	snprintf(path, sizeof(path), "%s/go-old.elf", argv[1]);
	if (synth_elf(path, ET_EXEC, BASE, secs, 2))
		goto fail;
	/* a Go installation is no requirement: the C seeds are there on every machine */
	if (copy_real(argv[1]) < 2) {
		snprintf(path, sizeof(path), "%s: fewer than two real programs copied", argv[1]);
		goto fail;
	}
	return 0;
fail:
	perror(path);
	return 1;
}
