// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * record/mappings.c: a /proc/PID/maps line as a mapping record, the build id
 * of a mapped file (against readelf, and on synthetic files with truncated
 * notes and bogus sizes), the per-process set, and a scan of this very
 * process against its own /proc/self/maps.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include "elfgo_util.h"
#include "mappings.h"

static void test_line(void **state)
{
	union mt_mapping_rec r;
	char long_line[2048];

	(void)state;
	assert_true(mt_maps_line__mapping("7f1c2a400000-7f1c2a428000 r-xp 00028000 fe:01 332835        "
					  "          /usr/lib/x86_64-linux-gnu/libc.so.6\n",
					  &r));
	assert_int_equal(r.m.start, 0x7f1c2a400000ull);
	assert_int_equal(r.m.end, 0x7f1c2a428000ull);
	assert_int_equal(r.m.off, 0x28000);
	assert_int_equal(r.m.dev, makedev(0xfe, 1));
	assert_int_equal(r.m.ino, 332835);
	assert_int_equal(r.m.prot, PROT_READ | PROT_EXEC);
	assert_string_equal(r.m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(r.m.build_id_len, 0);
	/* the record's size: the path and its NUL, rounded to 8, with zero padding */
	assert_int_equal(r.m.h.size, (sizeof(r.m) + strlen(r.m.path) + 1 + 7) & ~7ul);
	for (size_t i = sizeof(r.m) + strlen(r.m.path); i < r.m.h.size; i++)
		assert_int_equal(r.b[i], 0);

	/* a large device number, a path with spaces, a file deleted since */
	assert_true(mt_maps_line__mapping("1000-3000 rw-s 00000000 103:1a2 7 /tmp/a b (deleted)", &r));
	assert_int_equal(r.m.dev, makedev(0x103, 0x1a2));
	assert_int_equal(r.m.prot, PROT_READ | PROT_WRITE);
	assert_string_equal(r.m.path, "/tmp/a b (deleted)");

	/* no file: anonymous memory and the kernel's names */
	assert_false(mt_maps_line__mapping("1000-2000 rw-p 00000000 00:00 0 \n", &r));
	assert_false(mt_maps_line__mapping("1000-2000 rw-p 00000000 00:00 0", &r));
	assert_false(mt_maps_line__mapping("7ffc0000-7ffc1000 rw-p 00000000 00:00 0    [stack]\n", &r));
	assert_false(mt_maps_line__mapping("7ffc0000-7ffc1000 r-xp 00000000 00:00 0    [vdso]\n", &r));
	/* malformed */
	assert_false(mt_maps_line__mapping("", &r));
	assert_false(mt_maps_line__mapping("zzz", &r));
	assert_false(mt_maps_line__mapping("2000-1000 r--p 00000000 fe:01 5 /x", &r));
	assert_false(mt_maps_line__mapping("1000-2000 r- 00000000 fe:01 5 /x", &r));
	assert_false(mt_maps_line__mapping("1000-2000 r--p 00000000 fe01 5 /x", &r));
	/* a path the record cannot hold whole is not cut */
	snprintf(long_line, sizeof(long_line), "1000-2000 r--p 0 fe:01 5 /");
	memset(long_line + strlen(long_line), 'a', MT_MAPPING_PATH_MAX);
	long_line[sizeof(long_line) - 1] = '\0';
	assert_false(mt_maps_line__mapping(long_line, &r));
}

/* A note: namesz, descsz, type, name (padded to 4), desc (padded to 4). */
static size_t note(uint8_t *p, uint32_t namesz, uint32_t descsz, uint32_t type, const char *name,
		   size_t name_bytes, const uint8_t *desc, size_t desc_bytes)
{
	size_t o = 12;

	put32(p, namesz);
	put32(p + 4, descsz);
	put32(p + 8, type);
	memcpy(p + o, name, name_bytes);
	o += (name_bytes + 3) & ~3ul;
	memcpy(p + o, desc, desc_bytes);
	o += (desc_bytes + 3) & ~3ul;
	return o;
}

/* The build id of a synthetic file holding notes (n bytes) as .note.gnu.build-id. */
static unsigned bid_of_notes(const uint8_t *notes, size_t n, uint8_t id[MT_BUILD_ID_MAX])
{
	struct synth_sec s = { ".note.gnu.build-id", SHT_NOTE, SHF_ALLOC, BASE + 0x1000, notes, n };
	const char *path = tmp_path("bid");
	int fd;
	unsigned len;

	assert_int_equal(synth_elf(path, ET_DYN, BASE, &s, 1), 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	memset(id, 0xee, MT_BUILD_ID_MAX);
	len = mt_mapping__build_id(fd, id);
	unlink(path);
	return len;
}

static void test_build_id_synthetic(void **state)
{
	uint8_t notes[256], id[MT_BUILD_ID_MAX], want[32];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(0xa0 + i);
	/* a SHA-1 id */
	n = note(notes, 4, 20, NT_GNU_BUILD_ID, "GNU", 4, want, 20);
	assert_int_equal(bid_of_notes(notes, n, id), 20);
	assert_memory_equal(id, want, 20);
	/* a short one (8 bytes), after a note of another kind */
	n = note(notes, 4, 4, NT_GNU_ABI_TAG, "GNU", 4, want, 4);
	n += note(notes + n, 4, 8, NT_GNU_BUILD_ID, "GNU", 4, want, 8);
	assert_int_equal(bid_of_notes(notes, n, id), 8);
	assert_memory_equal(id, want, 8);
	/* longer than the record holds: none, rather than a cut identity */
	n = note(notes, 4, 32, NT_GNU_BUILD_ID, "GNU", 4, want, 32);
	assert_int_equal(bid_of_notes(notes, n, id), 0);
	/* truncated: the descriptor runs past the section */
	n = note(notes, 4, 20, NT_GNU_BUILD_ID, "GNU", 4, want, 20);
	assert_int_equal(bid_of_notes(notes, n - 8, id), 0);
	/* bogus sizes: a huge descsz, a huge namesz */
	n = note(notes, 4, 0xfffffff0u, NT_GNU_BUILD_ID, "GNU", 4, want, 20);
	assert_int_equal(bid_of_notes(notes, n, id), 0);
	n = note(notes, 0xfffffff0u, 20, NT_GNU_BUILD_ID, "GNU", 4, want, 20);
	assert_int_equal(bid_of_notes(notes, n, id), 0);
	/* the wrong owner, the wrong type, an empty id */
	n = note(notes, 4, 20, NT_GNU_BUILD_ID, "GNV", 4, want, 20);
	assert_int_equal(bid_of_notes(notes, n, id), 0);
	n = note(notes, 4, 20, 99, "GNU", 4, want, 20);
	assert_int_equal(bid_of_notes(notes, n, id), 0);
	n = note(notes, 4, 0, NT_GNU_BUILD_ID, "GNU", 4, want, 0);
	assert_int_equal(bid_of_notes(notes, n, id), 0);
	/* a header cut short */
	assert_int_equal(bid_of_notes(notes, 10, id), 0);
}

static void test_build_id_not_elf(void **state)
{
	const char *path = tmp_path("notelf");
	uint8_t id[MT_BUILD_ID_MAX];
	int fd;

	(void)state;
	assert_int_equal(spit(path, "\177ELF but not really", 20), 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(mt_mapping__build_id(fd, id), 0);
	unlink(path);
}

/* readelf's build id of path, in hex ("" if none). */
static void readelf_build_id(const char *path, char *out, size_t len)
{
	char cmd[1024], *text, *p;
	int st;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "'%s' -n '%s'", MT_TEST_READELF, path);
	text = run(cmd, &st);
	assert_non_null(text);
	p = strstr(text, "Build ID: ");
	if (p)
		snprintf(out, len, "%.*s", (int)strspn(p + 10, "0123456789abcdef"), p + 10);
	free(text);
}

static void hex(const uint8_t *id, unsigned n, char *out)
{
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
	out[2 * n] = '\0';
}

static void test_build_id_readelf(void **state)
{
	uint8_t id[MT_BUILD_ID_MAX];
	char want[128], got[2 * MT_BUILD_ID_MAX + 1];
	int fd;

	(void)state;
	if (!MT_TEST_READELF[0])
		skip();
	readelf_build_id(MT_TEST_TALLY, want, sizeof(want));
	assert_true(want[0]);
	fd = open(MT_TEST_TALLY, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	hex(id, mt_mapping__build_id(fd, id), got);
	assert_string_equal(got, want);
}

static void test_mapset(void **state)
{
	struct mt_mapset s = { 0 };

	(void)state;
	assert_true(mt_mapset__add(&s, 0x3000, 0x4000, 7, PROT_READ));
	assert_true(mt_mapset__add(&s, 0x1000, 0x2000, 7, PROT_READ));
	assert_false(mt_mapset__add(&s, 0x1000, 0x2000, 7, PROT_READ));
	/* the same range as code now, or another file there */
	assert_true(mt_mapset__add(&s, 0x1000, 0x2000, 7, PROT_READ | PROT_EXEC));
	assert_true(mt_mapset__add(&s, 0x1000, 0x2000, 8, PROT_READ));
	assert_int_equal(s.n, 4);
	for (size_t i = 1; i < s.n; i++)
		assert_true(s.v[i - 1].start <= s.v[i].start);
	assert_true(mt_mapset__covers(&s, 0x1000));
	assert_true(mt_mapset__covers(&s, 0x1fff));
	assert_false(mt_mapset__covers(&s, 0x2000));
	assert_false(mt_mapset__covers(&s, 0xfff));
	assert_true(mt_mapset__covers(&s, 0x3800));
	assert_false(mt_mapset__covers(&s, 0x4000));
	mt_mapset__clear(&s);
	assert_false(mt_mapset__covers(&s, 0x1000));
}

struct seen {
	struct mt_mapset set;
	union mt_mapping_rec recs[512];
	size_t n;
};

static bool fresh(void *ctx, const struct mt_mapping *m)
{
	struct seen *s = ctx;

	return mt_mapset__add(&s->set, m->start, m->end, m->ino, m->prot);
}

static int keep(void *ctx, const struct mt_hdr *h)
{
	struct seen *s = ctx;

	assert_int_equal(h->type, MT_MAPPING);
	assert_true(h->size <= sizeof(s->recs[0]));
	assert_true(s->n < 512);
	memcpy(&s->recs[s->n++], h, h->size);
	return 0;
}

/* This process's own maps: every file mapping once, with the build id readelf gives. */
static void test_scan_self(void **state)
{
	static struct seen s;
	struct mt_bidcache *bc = mt_bidcache__new();
	char line[4352], want[128], got[2 * MT_BUILD_ID_MAX + 1];
	size_t files = 0, n1;
	FILE *f;

	(void)state;
	assert_int_equal(mt_mappings__scan(getpid(), bc, fresh, &s, keep, &s), 0);
	n1 = s.n;
	assert_true(n1 > 0);
	/* a second scan finds nothing new */
	assert_int_equal(mt_mappings__scan(getpid(), bc, fresh, &s, keep, &s), 0);
	assert_int_equal(s.n, n1);
	f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		union mt_mapping_rec r;
		size_t i;

		if (!mt_maps_line__mapping(line, &r))
			continue;
		files++;
		for (i = 0; i < s.n; i++)
			if (s.recs[i].m.start == r.m.start && s.recs[i].m.end == r.m.end)
				break;
		assert_true(i < s.n);
		assert_int_equal(s.recs[i].m.h.pid, getpid());
		assert_true(s.recs[i].m.h.flags & MT_F_SYNTH);
		assert_int_equal(s.recs[i].m.off, r.m.off);
		assert_int_equal(s.recs[i].m.ino, r.m.ino);
		assert_int_equal(s.recs[i].m.dev, r.m.dev);
		assert_string_equal(s.recs[i].m.path, r.m.path);
		if (!MT_TEST_READELF[0])
			continue;
		readelf_build_id(r.m.path, want, sizeof(want));
		hex(s.recs[i].m.build_id, s.recs[i].m.build_id_len, got);
		assert_string_equal(got, want);
	}
	fclose(f);
	assert_true(files > 0);
	/* (scanning made no new file mappings: the counts agree) */
	assert_int_equal(files, n1);
	assert_int_equal(mt_mappings__scan(999999999, bc, fresh, &s, keep, &s), -ENOENT);
	mt_bidcache__free(bc);
	mt_mapset__clear(&s.set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_build_id_synthetic),
		cmocka_unit_test(test_build_id_not_elf),
		cmocka_unit_test(test_build_id_readelf),
		cmocka_unit_test(test_mapset),
		cmocka_unit_test(test_scan_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
