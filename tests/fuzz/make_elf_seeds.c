// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Seeds of the ELF fuzzer: small synthetic Go-like ELF files (build info in
 * both layouts, function tables of each Go release's layout) written into
 * the directory given, so mutations start from files the parsers accept.
 */
#include <stdio.h>
#include "elfgo_util.h"

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
	return 0;
fail:
	perror(path);
	return 1;
}
