// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * symbolize against oracles it does not control: readelf for C binaries, `go
 * tool addr2line` for a stripped Go binary, and, for running Go programs
 * (static, dynamic, PIE, PIE linked by the system linker), the Go runtime's
 * own FuncForPC with the load base read from /proc/PID/maps. The function
 * table layouts of Go releases not installed here are written by the test.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "goinfo.h"
#include "symbolize.h"
#include "elfgo_util.h"

/* A symbolizer as the tool opens one: through a cache (here one of its own, freed at once). */
static struct mt_symbolizer *sym_open(const char *path, uint64_t base, const char *id, char *err,
				      size_t errlen)
{
	struct mt_symcache *c = mt_symcache__new(0);
	struct mt_symbolizer *s;

	assert_non_null(c);
	s = mt_symcache__open(c, path, base, id, err, errlen);
	mt_symcache__free(c);
	return s;
}

static struct mt_symbolizer *must_new(const char *path, uint64_t base, const char *id)
{
	char err[512];
	struct mt_symbolizer *s = sym_open(path, base, id, err, sizeof(err));

	if (!s)
		fail_msg("mt_symcache__open(%s): %s", path, err);
	return s;
}

/* The link-time address of the file-offset-0 mapping, per readelf. */
static uint64_t readelf_link_base(const char *bin)
{
	char cmd[1024], *out, *p;
	unsigned long long off, vaddr;
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' -lW '%s'", MT_TEST_READELF, bin);
	out = run(cmd, &st);
	assert_int_equal(st, 0);
	p = strstr(out, "\n  LOAD ");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "\n  LOAD %llx %llx", &off, &vaddr), 2);
	assert_int_equal(off, 0);
	free(out);
	return vaddr & ~0xfffull;
}

struct fsym {
	uint64_t addr, size;
	char name[128];
};

/* The defined function symbols of bin (.symtab and .dynsym), per readelf. */
static struct fsym *readelf_funcs(const char *bin, size_t *n)
{
	char cmd[1024], *out, *line, *save = NULL;
	struct fsym *f = calloc(100000, sizeof(*f));
	int st;

	snprintf(cmd, sizeof(cmd), "'%s' -sW '%s'", MT_TEST_READELF, bin);
	out = run(cmd, &st);
	assert_int_equal(st, 0);
	*n = 0;
	for (line = strtok_r(out, "\n", &save); line && *n < 100000;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long addr, size;
		char type[16], ndx[16], name[128];

		/* "Num: Value Size Type Bind Vis Ndx Name" */
		if (sscanf(line, "%*u: %llx %llu %15s %*s %*s %15s %127s", &addr, &size, type, ndx,
			   name) != 5 ||
		    (strcmp(type, "FUNC") && strcmp(type, "IFUNC")) || !strcmp(ndx, "UND") || !addr)
			continue;
		name[strcspn(name, "@")] = '\0'; /* a version suffix is not part of the name */
		f[*n].addr = addr;
		f[*n].size = size;
		snprintf(f[*n].name, sizeof(f[*n].name), "%s", name);
		(*n)++;
	}
	free(out);
	return f;
}

/* Every function symbol readelf lists must come back at its address, at any load base. */
static void check_vs_readelf(const char *bin, uint64_t base)
{
	uint64_t link = readelf_link_base(bin), bias = base ? base - link : 0, off;
	struct mt_symbolizer *s = must_new(bin, base, NULL);
	struct fsym *f;
	size_t n;

	f = readelf_funcs(bin, &n);
	assert_true(n >= 5);
	for (size_t i = 0; i < n; i++) {
		const char *got = mt_symbolizer__name(s, f[i].addr + bias, &off);
		bool alias = false;

		assert_non_null(got);
		/* another name at the same address is as good */
		for (size_t k = 0; k < n && !alias; k++)
			alias = f[k].addr == f[i].addr && !strcmp(f[k].name, got);
		if (!alias)
			fail_msg("%s: 0x%llx is %s per readelf, symbolized as %s", bin,
				 (unsigned long long)f[i].addr, f[i].name, got);
		assert_int_equal(off, 0);
		if (f[i].size > 1) {
			assert_non_null(
			    mt_symbolizer__name(s, f[i].addr + f[i].size - 1 + bias, &off));
			assert_int_equal(off, f[i].size - 1);
		}
	}
	free(f);
	mt_symbolizer__free(s);
}

static void test_c_vs_readelf(void **state)
{
	struct mt_symbolizer *s;

	(void)state;
	if (!MT_TEST_READELF[0])
		skip();
	check_vs_readelf(MT_TEST_TALLY, 0);
	check_vs_readelf(MT_TEST_TALLY, 0x7f1234560000ull);
	if (!access(MT_TEST_TALLY32, X_OK))
		check_vs_readelf(MT_TEST_TALLY32, 0x56555000ull);
	/* below the base and far above: nothing */
	s = must_new(MT_TEST_TALLY, 0x7f1234560000ull, NULL);
	assert_null(mt_symbolizer__name(s, 0x7f1234560000ull - 1, NULL));
	assert_null(mt_symbolizer__name(s, 0x7f1234560000ull + (1ull << 32), NULL));
	/* tally's .dynsym holds only imports: nothing to name from there */
	assert_string_equal(mt_symbolizer__source(s), "symtab");
	mt_symbolizer__free(s);
}

/* The base of path's file-offset-0 mapping in pid. */
static uint64_t maps_base(pid_t pid)
{
	char maps[64], exe[64], path[4096], line[4352];
	unsigned long long start, off;
	uint64_t base = 0;
	ssize_t n;
	FILE *f;
	int pos;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", (int)pid);
	n = readlink(exe, path, sizeof(path) - 1);
	assert_true(n > 0);
	path[n] = '\0';
	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	f = fopen(maps, "r");
	assert_non_null(f);
	while (!base && fgets(line, sizeof(line), f)) {
		pos = -1;
		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, "%llx-%*x %*s %llx %*s %*s %n", &start, &off, &pos) >= 2 &&
		    pos > 0 && off == 0 && !strcmp(line + pos, path))
			base = start;
	}
	fclose(f);
	assert_true(base != 0);
	return base;
}

static __attribute__((noinline)) uintptr_t return_address(void)
{
	return (uintptr_t)__builtin_return_address(0);
}

/* This test program, running: the loader chose the base. */
static void test_self_live(void **state)
{
	struct mt_symbolizer *s = must_new("/proc/self/exe", maps_base(getpid()), NULL);
	uintptr_t ra = return_address();
	uint64_t off = 1;

	(void)state;
	assert_string_equal(mt_symbolizer__name(s, (uintptr_t)&test_self_live, &off),
			    "test_self_live");
	assert_int_equal(off, 0);
	assert_string_equal(mt_symbolizer__name(s, (uintptr_t)&return_address, &off),
			    "return_address");
	assert_string_equal(mt_symbolizer__name(s, ra, &off), "test_self_live");
	assert_true(off > 0);
	assert_string_equal(mt_symbolizer__name(s, (uintptr_t)&maps_base + 3, &off), "maps_base");
	assert_int_equal(off, 3);
	mt_symbolizer__free(s);
}

/* `go tool nm` of the unstripped twin: the address of name (".abi0" dropped), or 0. */
static uint64_t nm_address(const char *nm_out, const char *name)
{
	const char *p = nm_out;
	size_t n = strlen(name);

	while ((p = strstr(p, name))) {
		if ((p[n] == '\n' || !strncmp(p + n, ".abi0\n", 6)) && p > nm_out + 4 &&
		    !strncmp(p - 3, " T ", 3)) {
			const char *line = p;

			while (line > nm_out && line[-1] != '\n')
				line--;
			return strtoull(line, NULL, 16);
		}
		p += n;
	}
	return 0;
}

/*
 * A stripped Go binary, from .gopclntab alone, against `go tool addr2line`
 * on the same file: the functions of the unstripped twin (same layout: only
 * the symbol table differs) and a stride through .text.
 */
static void test_go_stripped_vs_addr2line(void **state)
{
	static const char *const named[] = {"runtime.bgscavenge",
					    "runtime/debug.FreeOSMemory",
					    "runtime.sysUnusedOS",
					    "runtime.sysUnused",
					    "runtime.madvise",
					    "main.release",
					    "main.main"};
	const char *bin = binfo("stripped"), *list = tmp_path("addrs");
	char cmd[2048], *nm, *nm_lines, *out, *line, *save = NULL, *text;
	unsigned long long tstart = 0, tsize = 0;
	struct mt_symbolizer *s;
	uint64_t *addrs;
	size_t n = 0;
	FILE *f;
	int st;

	(void)state;
	if (!bin || !gotool("addr2line") || !gotool("nm") || !MT_TEST_READELF[0])
		skip();
	s = must_new(bin, 0, NULL);
	assert_string_equal(mt_symbolizer__source(s), "gopclntab");
	snprintf(cmd, sizeof(cmd), "'%s' '%s'", gotool("nm"), binfo("static"));
	nm = run(cmd, &st);
	assert_int_equal(st, 0);
	snprintf(cmd, sizeof(cmd), "'%s' -SW '%s' | grep ' \\.text '", MT_TEST_READELF, bin);
	text = run(cmd, &st);
	assert_int_equal(sscanf(strstr(text, ".text"), ".text %*s %llx %*s %llx", &tstart, &tsize),
			 2);
	free(text);
	addrs = calloc(20000, sizeof(*addrs));
	nm_lines = strdup(nm); /* nm stays whole for nm_address() */
	for (line = strtok_r(nm_lines, "\n", &save); line && n < 10000;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned long long a;
		char t;

		if (sscanf(line, "%llx %c", &a, &t) == 2 && t == 'T')
			addrs[n++] = a;
	}
	assert_true(n > 1000);
	for (uint64_t a = tstart; a < tstart + tsize + 64 && n < 20000; a += 97)
		addrs[n++] = a;
	f = fopen(list, "w");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "0x%llx\n", (unsigned long long)addrs[i]);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' '%s' < '%s'", gotool("addr2line"), bin, list);
	out = run(cmd, &st);
	assert_int_equal(st, 0);
	save = NULL;
	line = strtok_r(out, "\n", &save);
	for (size_t i = 0; i < n; i++) {
		const char *got = mt_symbolizer__name(s, addrs[i], NULL);

		assert_non_null(line);
		if (strcmp(line, "?") ? !got || strcmp(got, line) : got != NULL)
			fail_msg("0x%llx: addr2line says %s, symbolized as %s",
				 (unsigned long long)addrs[i], line, got ? got : "(unknown)");
		strtok_r(NULL, "\n", &save); /* file:line */
		line = strtok_r(NULL, "\n", &save);
	}
	free(out);
	/* the runtime functions a report attributes releases to, by name */
	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++) {
		uint64_t a = nm_address(nm, named[i]), off = 1;

		if (!a)
			fail_msg("%s not in go tool nm of the twin", named[i]);
		assert_string_equal(mt_symbolizer__name(s, a, &off), named[i]);
		assert_int_equal(off, 0);
	}
	unlink(list);
	free(addrs);
	free(nm_lines);
	free(nm);
	mt_symbolizer__free(s);
}

/*
 * Running Go programs print what FuncForPC says of their own stack and of a
 * few functions; the symbolizer, given the base from /proc/PID/maps and the
 * binary's build id, must say the same.
 */
static void check_go_live(const char *variant)
{
	const char *bin = binfo(variant);
	char *const argv[] = {(char *)bin, "-callers", NULL};
	int out[2], in[2], seen = 0;
	struct mt_symbolizer *s;
	struct mt_goinfo *g;
	char err[256], line[512];
	FILE *f;
	pid_t pid;

	assert_non_null(bin);
	g = mt_goinfo__open(bin, err, sizeof(err));
	assert_non_null(g);
	assert_int_equal(pipe(out), 0);
	assert_int_equal(pipe(in), 0);
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(in[0], 0);
		close(out[0]);
		close(in[1]);
		execv(bin, argv);
		_exit(127);
	}
	close(out[1]);
	close(in[0]);
	f = fdopen(out[0], "r");
	s = NULL;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long pc, entry;
		char name[256];
		uint64_t off;

		if (!strcmp(line, "ready\n"))
			break;
		assert_int_equal(sscanf(line, "%llx %llx %255s", &pc, &entry, name), 3);
		if (!s)
			s = must_new(bin, maps_base(pid), mt_goinfo__build_id(g));
		if (!mt_symbolizer__name(s, entry, &off) ||
		    strcmp(mt_symbolizer__name(s, entry, &off), name))
			fail_msg("%s: entry 0x%llx is %s, symbolized as %s", variant, entry, name,
				 mt_symbolizer__name(s, entry, &off));
		assert_int_equal(off, 0);
		assert_string_equal(mt_symbolizer__name(s, pc, &off), name);
		assert_int_equal(off, pc - entry);
		seen |= !strcmp(name, "main.inner") << 0 | !strcmp(name, "main.main") << 1 |
			!strcmp(name, "runtime.main") << 2 |
			!strcmp(name, "runtime/debug.FreeOSMemory") << 3;
	}
	assert_int_equal(seen, 15);
	close(in[1]);
	fclose(f);
	waitpid(pid, NULL, 0);
	mt_symbolizer__free(s);
	mt_goinfo__free(g);
}

static void test_go_live(void **state)
{
	(void)state;
	if (!binfo("static"))
		skip();
	check_go_live("static");
	check_go_live("dynamic");
	check_go_live("pie_stripped");
	check_go_live("extpie_stripped");
}

static void test_build_id_guard(void **state)
{
	struct mt_symbolizer *s;
	struct mt_goinfo *g, *other;
	char err[512], id[300];
	const char *path = tmp_path("noid");
	uint8_t text[16] = {0};
	struct synth_sec sec = {".text",       SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR,
				BASE + 0x1000, text,	     sizeof(text)};

	(void)state;
	g = mt_goinfo__open(MT_TEST_TALLY, err, sizeof(err));
	assert_non_null(g);
	/* a GNU build id (the C compiler's linker writes one) */
	assert_non_null(mt_goinfo__build_id(g));
	assert_true(strncmp(mt_goinfo__build_id(g), "go:", 3));
	s = must_new(MT_TEST_TALLY, 0, mt_goinfo__build_id(g));
	mt_symbolizer__free(s);
	for (size_t i = 0; i <= strlen(mt_goinfo__build_id(g)); i++)
		id[i] = (char)toupper((unsigned char)mt_goinfo__build_id(g)[i]);
	s = must_new(MT_TEST_TALLY, 0, id);
	mt_symbolizer__free(s);
	id[0] = id[0] == '0' ? '1' : '0';
	assert_null(sym_open(MT_TEST_TALLY, 0, id, err, sizeof(err)));
	assert_non_null(strstr(err, "changed since recording"));
	assert_null(strchr(err, '\n'));
	mt_goinfo__free(g);

	if (binfo("static")) {
		g = mt_goinfo__open(binfo("static"), err, sizeof(err));
		other = mt_goinfo__open(binfo("stripped"), err, sizeof(err));
		assert_non_null(g);
		assert_non_null(other);
		assert_true(!strncmp(mt_goinfo__build_id(g), "go:", 3));
		mt_symbolizer__free(must_new(binfo("static"), 0, mt_goinfo__build_id(g)));
		/* the bare Go build id */
		mt_symbolizer__free(must_new(binfo("static"), 0, mt_goinfo__build_id(g) + 3));
		assert_null(sym_open(binfo("static"), 0, mt_goinfo__build_id(other), err,
					       sizeof(err)));
		assert_non_null(strstr(err, mt_goinfo__build_id(other)));
		mt_goinfo__free(g);
		mt_goinfo__free(other);
	}

	assert_int_equal(synth_elf(path, ET_EXEC, BASE, &sec, 1), 0);
	mt_symbolizer__free(must_new(path, 0, NULL));
	mt_symbolizer__free(must_new(path, 0, ""));
	assert_null(sym_open(path, 0, "abcdef", err, sizeof(err)));
	assert_non_null(strstr(err, "no build id"));
	unlink(path);
}

/* ---- function tables of other Go releases, built here (elfgo_util.h) ---- */

static struct mt_symbolizer *synth_symbolizer(const char *path, const char *secname, uint8_t *tab,
					      size_t len)
{
	static uint8_t text[ETEXT + 0x100];
	struct synth_sec secs[2] = {
	    {".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, TEXT, text, sizeof(text)},
	    {secname, SHT_PROGBITS, SHF_ALLOC, BASE + 0x3000, tab, len},
	};

	unlink(path);
	assert_int_equal(synth_elf(path, ET_EXEC, BASE, secs, 2), 0);
	return must_new(path, 0, NULL);
}

static void check_synth_names(struct mt_symbolizer *s)
{
	uint64_t off;

	assert_string_equal(mt_symbolizer__name(s, TEXT, &off), "main.a");
	assert_int_equal(off, 0);
	assert_string_equal(mt_symbolizer__name(s, TEXT + 0x3f, &off), "main.a");
	assert_int_equal(off, 0x3f);
	assert_string_equal(mt_symbolizer__name(s, TEXT + 0x40, &off), "main.b");
	assert_int_equal(off, 0);
	assert_string_equal(mt_symbolizer__name(s, TEXT + ETEXT - 1, &off), "runtime.c");
	assert_int_equal(off, ETEXT - 1 - 0x100);
	assert_null(mt_symbolizer__name(s, TEXT + ETEXT, &off));
	assert_null(mt_symbolizer__name(s, TEXT - 1, &off));
}

static void test_pclntab_formats(void **state)
{
	const char *path = tmp_path("pcln");
	static uint8_t tab[4096];
	struct mt_symbolizer *s;
	size_t len;

	(void)state;
	for (enum fmt f = F12; f <= F120; f++) {
		len = make_pclntab(tab, f, TEXT);
		s = synth_symbolizer(path, ".gopclntab", tab, len);
		assert_string_equal(mt_symbolizer__source(s), "gopclntab");
		check_synth_names(s);
		mt_symbolizer__free(s);
	}
	/* a header textStart of 0 (unrelocated): the start of .text instead */
	len = make_pclntab(tab, F120, 0);
	s = synth_symbolizer(path, ".data.rel.ro.gopclntab", tab, len);
	check_synth_names(s);
	mt_symbolizer__free(s);
	/* no named section (merged by a system linker): found by its magic */
	len = make_pclntab(tab, F118, TEXT);
	s = synth_symbolizer(path, ".data.rel.ro", tab, len);
	check_synth_names(s);
	mt_symbolizer__free(s);

	/* corrupt tables are refused whole: unsorted, a name out of bounds, a huge count */
	len = make_pclntab(tab, F118, TEXT);
	put32(tab + 72 + 24 + 8 * 2, 0x10); /* runtime.c's entry before main.b's */
	s = synth_symbolizer(path, ".gopclntab", tab, len);
	assert_string_equal(mt_symbolizer__source(s), "none");
	assert_null(mt_symbolizer__name(s, TEXT, NULL));
	mt_symbolizer__free(s);
	len = make_pclntab(tab, F116, TEXT);
	put64(tab + 8 + 2 * 8, 1ull << 40);
	s = synth_symbolizer(path, ".gopclntab", tab, len);
	assert_string_equal(mt_symbolizer__source(s), "none");
	assert_null(mt_symbolizer__name(s, TEXT, NULL));
	mt_symbolizer__free(s);
	len = make_pclntab(tab, F12, TEXT);
	put64(tab + 8, 1ull << 62);
	s = synth_symbolizer(path, ".gopclntab", tab, len);
	assert_string_equal(mt_symbolizer__source(s), "none");
	assert_null(mt_symbolizer__name(s, TEXT, NULL));
	mt_symbolizer__free(s);
	unlink(path);
}

static void expect_new_error(const char *path, const char *words)
{
	char err[512] = "";

	assert_null(sym_open(path, 0, NULL, err, sizeof(err)));
	assert_true(err[0]);
	assert_null(strchr(err, '\n'));
	if (!strstr(err, words))
		fail_msg("error for %s: \"%s\" does not say \"%s\"", path, err, words);
}

static void test_bad_input(void **state)
{
	const char *path = tmp_path("bad");
	const char *src = binfo("stripped") ? binfo("stripped") : MT_TEST_TALLY;
	struct mt_symbolizer *s;
	uint8_t *buf, *p;
	size_t len;

	(void)state;
	expect_new_error("/nonexistent/madvtrace-test", "No such file");
	assert_int_equal(spit(path, "plain text, not ELF", 19), 0);
	expect_new_error(path, "not an ELF file");
	buf = slurp(src, &len);
	assert_non_null(buf);
	assert_int_equal(spit(path, buf, len * 3 / 4), 0);
	expect_new_error(path, "truncated");
	if (binfo("stripped")) {
		/* the real table with its function count blown up: refused, no names, no crash */
		p = memmem(buf, len, "\xf0\xff\xff\xff\x00\x00\x01\x08", 8);
		assert_non_null(p);
		put64(p + 8, 0xffffffffffull);
		assert_int_equal(spit(path, buf, len), 0);
		s = must_new(path, 0, NULL);
		assert_string_equal(mt_symbolizer__source(s), "none");
		assert_null(mt_symbolizer__name(s, 0x401000, NULL));
		mt_symbolizer__free(s);
		/* a function offset out of the table */
		put64(p + 8, 100);
		put32(p + get64(p + 8 + 7 * 8) + 4, 0xfffffff0u); /* functab[0].funcoff */
		assert_int_equal(spit(path, buf, len), 0);
		s = must_new(path, 0, NULL);
		assert_string_equal(mt_symbolizer__source(s), "none");
		assert_null(mt_symbolizer__name(s, 0x401000, NULL));
		mt_symbolizer__free(s);
	}
	free(buf);
	unlink(path);
}

/* ---- hostile inputs (docs/security.md) ---- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A path a trace names is never opened unless it is a regular file: opening
 * a FIFO for reading would block (and hand a waiting writer its reader), a
 * device's open can act. Seen from a writer blocked on the FIFO: it must
 * still be waiting after the symbolizer refused the path.
 */
static void test_never_opens_non_regular(void **state)
{
	const char *fifo = tmp_path("fifo");
	char err[512];
	pid_t writer;
	int status;

	(void)state;
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	writer = fork();
	assert_true(writer >= 0);
	if (writer == 0) {
		alarm(10);
		_exit(open(fifo, O_WRONLY) >= 0 ? 0 : 1); /* returns once someone opens it to read */
	}
	usleep(100 * 1000);
	/* a watchdog: the bug was a symbolizer blocked for ever in open(2) */
	alarm(5);
	assert_null(sym_open(fifo, 0, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	assert_null(mt_goinfo__open(fifo, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	alarm(0);
	usleep(100 * 1000);
	if (waitpid(writer, &status, WNOHANG) == writer)
		fail_msg("the FIFO was opened for reading (its writer got through)");
	kill(writer, SIGKILL);
	waitpid(writer, &status, 0);
	unlink(fifo);
	assert_null(sym_open("/dev/zero", 0, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
}

/* Write an ELF of nsyms .symtab functions and a data section full of Go table magic. */
static void write_magic_elf(const char *path, size_t nsyms, size_t magic_bytes)
{
	size_t strsz = 1, symsz = (nsyms + 1) * sizeof(Elf64_Sym);
	uint8_t *magic = calloc(1, magic_bytes), *img;
	Elf64_Sym *syms = calloc(nsyms + 1, sizeof(*syms));
	char *strs = malloc(nsyms * 16 + 1);
	Elf64_Ehdr *eh;
	Elf64_Shdr *sh;
	size_t len;

	assert_non_null(magic);
	assert_non_null(syms);
	assert_non_null(strs);
	/* every 16 bytes a Go 1.20 header whose text start is not code: each asks for runtime.text */
	for (size_t o = 0; o + 16 <= magic_bytes; o += 16) {
		put32(magic + o, 0xfffffff1);
		magic[o + 6] = 1;
		magic[o + 7] = 8;
		put64(magic + o + 8, 1);
	}
	strs[0] = '\0';
	for (size_t i = 1; i <= nsyms; i++) {
		syms[i].st_name = (uint32_t)strsz;
		strsz += (size_t)sprintf(strs + strsz, "fn%zu", i) + 1;
		syms[i].st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
		syms[i].st_shndx = 1;
		syms[i].st_value = TEXT + i;
		syms[i].st_size = 1;
	}
	{
		uint8_t text[0x100] = {0};
		const struct synth_sec secs[] = {
		    {".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, TEXT, text, sizeof(text)},
		    {".data.rel.ro", SHT_PROGBITS, SHF_ALLOC | SHF_WRITE, TEXT + 0x1000, magic,
		     magic_bytes},
		    {".symtab", SHT_SYMTAB, 0, TEXT + 0x1000 + magic_bytes, syms, symsz},
		    {".strtab", SHT_STRTAB, 0, TEXT + 0x1000 + magic_bytes + symsz, strs, strsz},
		};

		assert_int_equal(synth_elf(path, ET_EXEC, BASE, secs, 4), 0);
	}
	/* synth_elf leaves sh_link and sh_entsize: the symbol table's, set here */
	img = slurp(path, &len);
	assert_non_null(img);
	eh = (Elf64_Ehdr *)img;
	sh = (Elf64_Shdr *)(img + eh->e_shoff);
	sh[3].sh_link = 4;
	sh[3].sh_entsize = sizeof(Elf64_Sym);
	assert_int_equal(spit(path, img, len), 0);
	free(img);
	free(magic);
	free(syms);
	free(strs);
}

/*
 * 256 KiB of table magic and 20000 symbols: each candidate looked runtime.text
 * up in the whole symbol table again (8 s for `report`). Linear now.
 */
static void test_magic_scan_linear(void **state)
{
	const char *path = tmp_path("magic");
	struct mt_symbolizer *s;
	char err[512];
	double t0;

	(void)state;
	write_magic_elf(path, 20000, 256 * 1024);
	t0 = now_s();
	s = sym_open(path, 0, NULL, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	if (now_s() - t0 > 1.0)
		fail_msg("symbolizing took %.2f s: quadratic in magic candidates x symbols",
			 now_s() - t0);
	/* every symbol made it: the first and the last */
	assert_string_equal(mt_symbolizer__name(s, TEXT + 1, NULL), "fn1");
	assert_string_equal(mt_symbolizer__name(s, TEXT + 20000, NULL), "fn20000");
	mt_symbolizer__free(s);
	unlink(path);
}

/*
 * A real program padded to 1 GiB (sparse): read in its useful parts, in a
 * child whose address space is far smaller than the file.
 */
static void test_padded_program_bounded(void **state)
{
	const char *path = tmp_path("padded");
	size_t len;
	uint8_t *img = slurp(MT_TEST_TALLY, &len);
	double t0;
	pid_t pid;
	int status;

	(void)state;
	assert_non_null(img);
	assert_int_equal(spit(path, img, len), 0);
	free(img);
	assert_int_equal(truncate(path, 1ll << 30), 0);
	t0 = now_s();
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {256u << 20, 256u << 20};
		struct mt_symbolizer *s;
		struct mt_goinfo *g;
		char err[512];

		setrlimit(RLIMIT_AS, &rl);
		g = mt_goinfo__open(path, err, sizeof(err));
		if (!g) {
			fprintf(stderr, "goinfo: %s\n", err);
			_exit(1);
		}
		s = sym_open(path, 0, mt_goinfo__build_id(g), err, sizeof(err));
		if (!s || !strcmp(mt_symbolizer__source(s), "none")) {
			fprintf(stderr, "symbolizer: %s\n", s ? "no symbols" : err);
			_exit(1);
		}
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	unlink(path);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("a 1 GiB padded program could not be read within 256 MiB of address space");
	if (now_s() - t0 > 2.0)
		fail_msg("reading a 1 GiB padded program took %.2f s", now_s() - t0);
}

/* One table per file: aliases of a path share it, and a refused file is not read again. */
static void test_cache_by_inode(void **state)
{
	struct mt_symcache *c = mt_symcache__new(0);
	const char *dir = tmp_path("cdir");
	char p1[600], p2[600], p3[600], err[512];
	struct mt_symbolizer *a, *b, *h;
	size_t len;
	uint8_t *img = slurp(MT_TEST_TALLY, &len);

	(void)state;
	assert_non_null(c);
	mkdir(dir, 0700);
	snprintf(p1, sizeof(p1), "%s/prog", dir);
	snprintf(p2, sizeof(p2), "%s//./prog", dir);
	snprintf(p3, sizeof(p3), "%s/link", dir);
	assert_int_equal(spit(p1, img, len), 0);
	free(img);
	unlink(p3);
	assert_int_equal(link(p1, p3), 0);
	a = mt_symcache__open(c, p1, 0x555555554000ull, NULL, err, sizeof(err));
	b = mt_symcache__open(c, p2, 0x7f0000000000ull, NULL, err, sizeof(err));
	h = mt_symcache__open(c, p3, 0, NULL, err, sizeof(err));
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(h);
	/* one table: the names the handles give are the same strings */
	{
		uint64_t off;
		const char *n = NULL;
		uint64_t x;

		for (x = 0x1000; x < 0x100000 && !n; x++)
			n = mt_symbolizer__name(h, x, &off);
		assert_non_null(n);
		x--;
		assert_ptr_equal(mt_symbolizer__name(a, 0x555555554000ull + x, &off), n);
		assert_ptr_equal(mt_symbolizer__name(b, 0x7f0000000000ull + x, &off), n);
	}
	/* each handle keeps its own load base */
	{
		uint64_t off;
		const char *n1, *n2;
		struct mt_symbolizer *own = sym_open(p1, 0, NULL, err, sizeof(err));
		uint64_t link_main = 0;

		assert_non_null(own);
		for (uint64_t x = 0; x < 0x4000 && !link_main; x++) {
			n1 = mt_symbolizer__name(own, 0x1000 + x, &off);
			if (n1 && !strcmp(n1, "main"))
				link_main = 0x1000 + x;
		}
		mt_symbolizer__free(own);
		if (link_main) {
			n1 = mt_symbolizer__name(a, 0x555555554000ull + link_main, &off);
			n2 = mt_symbolizer__name(b, 0x7f0000000000ull + link_main, &off);
			assert_non_null(n1);
			assert_non_null(n2);
			assert_string_equal(n1, n2);
		}
	}
	/* the cache may go first: handles keep their table */
	mt_symcache__free(c);
	mt_symbolizer__free(a);
	mt_symbolizer__free(b);
	mt_symbolizer__free(h);
	/* a refusal is remembered, and said under each name */
	c = mt_symcache__new(0);
	assert_int_equal(spit(p1, "not an ELF file at all", 22), 0);
	assert_null(mt_symcache__open(c, p1, 0, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not an ELF file"));
	assert_null(mt_symcache__open(c, p3, 0, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, p3));
	assert_non_null(strstr(err, "not an ELF file"));
	/* not read again: still refused, though the file is a program again */
	img = slurp(MT_TEST_TALLY, &len);
	assert_non_null(img);
	assert_int_equal(spit(p1, img, len), 0);
	free(img);
	assert_null(mt_symcache__open(c, p2, 0, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not an ELF file"));
	{
		struct mt_symbolizer *fresh = must_new(p1, 0, NULL);

		mt_symbolizer__free(fresh);
	}
	assert_null(mt_symcache__open(c, "/dev/zero", 0, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	mt_symcache__free(c);
	unlink(p1);
	unlink(p3);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_c_vs_readelf),
	    cmocka_unit_test(test_self_live),
	    cmocka_unit_test(test_go_stripped_vs_addr2line),
	    cmocka_unit_test(test_go_live),
	    cmocka_unit_test(test_build_id_guard),
	    cmocka_unit_test(test_pclntab_formats),
	    cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_never_opens_non_regular),
	    cmocka_unit_test(test_magic_scan_linear),
	    cmocka_unit_test(test_padded_program_bounded),
	    cmocka_unit_test(test_cache_by_inode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
