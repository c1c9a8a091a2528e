// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Go build info and the Go runtime's release advice.
 *
 * The build info layout follows what the Go linker writes (and Go's own
 * debug/buildinfo reads): a 32-byte header in .go.buildinfo, "\xff Go
 * buildinf:", pointer size, flags; with flag 2 (Go >= 1.18) the version and
 * the module info follow inline as uvarint-length strings; before that (Go
 * 1.13 to 1.17) the header holds two pointers to Go string headers {data,
 * len}. The module info is framed by 16 sentinel bytes on each side.
 */
#include <ctype.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "elffile.h"
#include "goinfo.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define BUILDINFO_MAGIC "\xff Go buildinf:"
#define BUILDINFO_MAGIC_LEN 14
#define BUILDINFO_HDR 32
#define BUILDINFO_INLINE 0x2	   /* flags: strings follow the header (Go >= 1.18) */
#define BUILDINFO_SCAN (64 * 1024) /* how far debug/buildinfo looks without the section */
#define MAX_GO_STRING (1 << 20)	   /* longer "strings" are corruption */
#define BUILDINFO_MAX (BUILDINFO_HDR + 2 * (MAX_GO_STRING + 10))
/*
 * What goinfo reads of a program at most: it runs as root on the traced
 * program's binary as it starts, and needs only headers, notes, the build
 * info and, without it, a symbol or two.
 */
#define GOINFO_READ_MAX (64ull << 20)

struct setting {
	char *key, *value;
};

struct mt_goinfo {
	struct mt_elf *elf;
	/* read at open: the file is closed then */
	const char *interp;
	bool pie, stripped;
	enum mt_go_kind kind;
	char *version;
	const char *version_note;
	char *modinfo;
	char *module;
	struct setting *settings;
	size_t nsettings;
};

/* ---- module info ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/*
 * Undo Go's strconv.Quote, which `go build` applies to setting keys and
 * values holding spaces, quotes or '=' ("-ldflags=\"-s -w\""). s points at
 * the opening quote; *end is set past the closing one. NULL if malformed.
 */
static char *go_unquote(const char *s, const char **end)
{
	size_t n = strlen(s);
	static const char escapes[] = "abfnrtv\\\"'", unescaped[] = "\a\b\f\n\r\t\v\\\"'";
	char *out = malloc(n + 4), *o = out;
	const char *p = s + 1, *simple;

	if (!out)
		return NULL;
	while (*p && *p != '"') {
		int digits = 0, base = 16;
		uint32_t v = 0;

		if (*p != '\\') {
			*o++ = *p++;
			continue;
		}
		p++;
		simple = *p ? strchr(escapes, *p) : NULL;
		if (simple) {
			*o++ = unescaped[simple - escapes];
			p++;
			continue;
		}
		if (*p == 'x' || *p == 'u' || *p == 'U') {
			digits = *p == 'x' ? 2 : *p == 'u' ? 4 : 8;
			p++;
		} else if (*p >= '0' && *p <= '7') {
			digits = 3;
			base = 8;
		} else {
			goto bad;
		}
		for (int i = 0; i < digits; i++, p++) {
			int d = base == 8 ? (*p >= '0' && *p <= '7' ? *p - '0' : -1) : hexval(*p);

			if (d < 0)
				goto bad;
			v = v * (uint32_t)base + (uint32_t)d;
		}
		if (digits == 2 || base == 8) {
			if (v > 0xff)
				goto bad;
			*o++ = (char)v; /* a byte, not a code point */
		} else {
			if (v > 0x10ffff)
				goto bad;
			o += put_utf8(o, v);
		}
	}
	if (*p != '"')
		goto bad;
	*o = '\0';
	*end = p + 1;
	return out;
bad:
	free(out);
	return NULL;
}

static int add_setting(struct mt_goinfo *g, char *key, char *value)
{
	struct setting *s = realloc(g->settings, (g->nsettings + 1) * sizeof(*s));

	if (!s) {
		free(key);
		free(value);
		return -ENOMEM;
	}
	g->settings = s;
	g->settings[g->nsettings++] = (struct setting){key, value};
	return 0;
}

/* "KEY=VALUE" of a build line, either side possibly quoted. Malformed lines are skipped. */
static int parse_setting(struct mt_goinfo *g, const char *line)
{
	char *key = NULL, *value = NULL;
	const char *p = line, *eq;

	if (*p == '"') {
		key = go_unquote(p, &p);
		if (!key || *p != '=') {
			free(key);
			return 0;
		}
	} else {
		eq = strchr(p, '=');
		if (!eq || eq == p)
			return 0;
		key = strndup(p, (size_t)(eq - p));
		p = eq;
		if (!key)
			return -ENOMEM;
	}
	p++; /* '=' */
	if (*p == '"') {
		value = go_unquote(p, &p);
		if (!value || *p) {
			free(key);
			free(value);
			return 0;
		}
	} else {
		value = strdup(p);
	}
	if (!value) {
		free(key);
		return -ENOMEM;
	}
	return add_setting(g, key, value);
}

/* The tab-separated field i of line (in place: line is modified), or NULL. */
static char *field(char *line, int i)
{
	char *p = line, *tab;

	for (; i > 0; i--) {
		p = strchr(p, '\t');
		if (!p)
			return NULL;
		p++;
	}
	tab = strchr(p, '\t');
	return tab ? strndup(p, (size_t)(tab - p)) : strdup(p);
}

static int parse_modinfo(struct mt_goinfo *g)
{
	char *text = strdup(g->modinfo), *line, *save = NULL;
	int err = 0;

	if (!text)
		return -ENOMEM;
	for (line = strtok_r(text, "\n", &save); line && !err; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "mod\t", 4) && !g->module) {
			g->module = field(line, 1);
			err = g->module ? 0 : -ENOMEM;
		} else if (!strncmp(line, "build\t", 6)) {
			err = parse_setting(g, line + 6);
		}
	}
	free(text);
	return err;
}

/* ---- the build info section ---- */

static bool uvarint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*p < end && shift < 64) {
		uint8_t b = *(*p)++;

		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
		shift += 7;
	}
	return false;
}

/* A copy of len bytes, NUL-terminated (the module info holds NULs in its sentinels). */
static char *copy_bytes(const uint8_t *p, uint64_t len, size_t *outlen)
{
	char *s = malloc(len + 1);

	if (!s)
		return NULL;
	memcpy(s, p, len);
	s[len] = '\0';
	if (outlen)
		*outlen = (size_t)len;
	return s;
}

static char *inline_string(const uint8_t **p, const uint8_t *end, size_t *outlen)
{
	uint64_t len;
	char *s;

	if (!uvarint(p, end, &len) || len > MAX_GO_STRING || len > (uint64_t)(end - *p))
		return NULL;
	s = copy_bytes(*p, len, outlen);
	*p += len;
	return s;
}

/* A Go string whose header {data, len} is at vaddr; NULL if it is not in the file. */
static char *string_at(struct mt_elf *e, uint64_t vaddr, unsigned ptr, size_t *outlen)
{
	const uint8_t *hdr = mt_elf__at_vaddr(e, vaddr, 2ull * ptr), *data;
	uint64_t addr, len;

	if (!hdr)
		return NULL;
	addr = mt_elf__word(e, hdr, ptr);
	len = mt_elf__word(e, hdr + ptr, ptr);
	if (len > MAX_GO_STRING)
		return NULL;
	data = mt_elf__at_vaddr(e, addr, len);
	/* a PIE of Go < 1.18 leaves the pointer to a dynamic relocation: not readable here */
	return data ? copy_bytes(data, len, outlen) : NULL;
}

/* The bytes of the build info: the section, or where debug/buildinfo would look for it. */
static const uint8_t *find_buildinfo(struct mt_elf *e, uint64_t *len)
{
	const struct mt_elf_sec *s = mt_elf__section(e, ".go.buildinfo");
	const uint8_t *d;

	/* the header and two strings of at most MAX_GO_STRING: read no more */
	if (s && s->size >= BUILDINFO_HDR) {
		*len = s->size < BUILDINFO_MAX ? s->size : BUILDINFO_MAX;
		d = mt_elf__bytes(e, s->off, *len);
		if (d)
			return d;
	}
	/* no such section (sections stripped, or an odd linker): the first writable data segment */
	for (size_t i = 0; i < mt_elf__nsegments(e); i++) {
		const struct mt_elf_seg *g = mt_elf__segment_at(e, i);
		uint64_t n = g->filesz < BUILDINFO_SCAN ? g->filesz : BUILDINFO_SCAN;
		const uint8_t *p;

		if (g->type != PT_LOAD || (g->flags & (PF_X | PF_W)) != PF_W)
			continue;
		p = mt_elf__bytes(e, g->off, n);
		for (uint64_t o = 0; p && o + BUILDINFO_HDR <= n; o += 16) {
			if (!memcmp(p + o, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN)) {
				*len = n - o;
				return p + o;
			}
		}
		break;
	}
	return NULL;
}

/* 1: build info read; 0: none in the file; -errno on allocation failure. */
static int read_buildinfo(struct mt_goinfo *g)
{
	const uint8_t *p, *end, *b;
	char *mod = NULL;
	uint64_t len;
	size_t mlen = 0;
	unsigned ptr;

	b = find_buildinfo(g->elf, &len);
	if (!b || len < BUILDINFO_HDR || memcmp(b, BUILDINFO_MAGIC, BUILDINFO_MAGIC_LEN))
		return 0;
	ptr = b[14];
	if (b[15] & BUILDINFO_INLINE) {
		p = b + BUILDINFO_HDR;
		end = b + len;
		g->version = inline_string(&p, end, NULL);
		if (g->version)
			mod = inline_string(&p, end, &mlen);
	} else if (ptr == 4 || ptr == 8) {
		g->version = string_at(g->elf, mt_elf__word(g->elf, b + 16, ptr), ptr, NULL);
		if (g->version)
			mod =
			    string_at(g->elf, mt_elf__word(g->elf, b + 16 + ptr, ptr), ptr, &mlen);
	}
	if (!g->version || !g->version[0]) {
		free(g->version);
		g->version = NULL;
		g->version_note =
		    "unknown: the build info's strings are not readable from the file "
		    "(a PIE built by Go older than 1.18, or a corrupt section)";
		free(mod);
		return 1;
	}
	g->version_note = "build info";
	/* the sentinels: 16 bytes before, 16 after, a newline just before those */
	if (mod && mlen >= 33 && mod[mlen - 17] == '\n') {
		g->modinfo = strndup(mod + 16, mlen - 32);
		free(mod);
		if (!g->modinfo)
			return -ENOMEM;
		return parse_modinfo(g) ? -ENOMEM : 1;
	}
	free(mod);
	return 1;
}

/* Markers of a Go program other than the build info: its function table, its build id. */
static bool looks_like_go(struct mt_elf *e)
{
	uint64_t v, sz;

	return mt_elf__section(e, ".gopclntab") || mt_elf__section(e, ".data.rel.ro.gopclntab") ||
	       mt_elf__go_build_id(e)[0] || mt_elf__symbol(e, "runtime.pclntab", &v, &sz) ||
	       mt_elf__symbol(e, "runtime.buildVersion", &v, &sz);
}

struct mt_goinfo *mt_goinfo__open(const char *path, char *err, size_t errlen)
{
	struct mt_goinfo *g = calloc(1, sizeof(*g));
	uint64_t addr, size;
	int ret;

	if (!g) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	g->elf = mt_elf__open_max(path, GOINFO_READ_MAX, err, errlen);
	if (!g->elf)
		goto fail;
	ret = read_buildinfo(g);
	if (ret < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	if (ret > 0) {
		g->kind = MT_GO_BUILDINFO;
		goto done;
	}
	if (!looks_like_go(g->elf)) {
		g->kind = MT_GO_NONE;
		g->version_note = "not a Go binary";
		goto done;
	}
	g->kind = MT_GO_NO_BUILDINFO;
	/* Go before 1.13: the runtime's own copy of the version, if the symbols survive */
	if (mt_elf__symbol(g->elf, "runtime.buildVersion", &addr, &size))
		g->version = string_at(g->elf, addr, mt_elf__class(g->elf) / 8, NULL);
	if (g->version && g->version[0]) {
		g->version_note = "symbol runtime.buildVersion (no build info)";
	} else {
		free(g->version);
		g->version = NULL;
		g->version_note = "unknown: Go binary without build info (Go older than 1.13, "
				  "or the section was removed)";
	}
done:
	g->interp = mt_elf__interp(g->elf);
	g->pie = mt_elf__pie(g->elf);
	g->stripped = true;
	for (size_t i = 0; i < mt_elf__nsections(g->elf); i++)
		if (mt_elf__section_at(g->elf, i)->type == SHT_SYMTAB)
			g->stripped = false;
	/* what was read stays; no descriptor kept per program */
	mt_elf__close_file(g->elf);
	return g;
fail:
	mt_elf__one_line(err);
	mt_goinfo__free(g);
	return NULL;
}

void mt_goinfo__free(struct mt_goinfo *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->nsettings; i++) {
		free(g->settings[i].key);
		free(g->settings[i].value);
	}
	free(g->settings);
	free(g->version);
	free(g->modinfo);
	free(g->module);
	mt_elf__free(g->elf);
	free(g);
}

static const char *nonempty(const char *s)
{
	return s && s[0] ? s : NULL;
}

const char *mt_goinfo__build_id(const struct mt_goinfo *g)
{
	return nonempty(mt_elf__identity(g->elf));
}

enum mt_go_kind mt_goinfo__kind(const struct mt_goinfo *g)
{
	return g->kind;
}

const char *mt_goinfo__version(const struct mt_goinfo *g)
{
	return g->version;
}

const char *mt_goinfo__version_note(const struct mt_goinfo *g)
{
	return g->version_note;
}

const char *mt_goinfo__module(const struct mt_goinfo *g)
{
	return g->module;
}

const char *mt_goinfo__setting(const struct mt_goinfo *g, const char *key)
{
	/* the go command writes each key once; should one repeat, the last stands */
	for (size_t i = g->nsettings; i-- > 0;)
		if (!strcmp(g->settings[i].key, key))
			return g->settings[i].value;
	return NULL;
}

char *mt_goinfo__describe(const struct mt_goinfo *g, char *buf, size_t len)
{
	const char *cgo = mt_goinfo__setting(g, "CGO_ENABLED");
	/* no PT_INTERP: the kernel starts it without a dynamic loader (static or static-pie) */
	const char *link = !g->interp ? (g->pie ? "static PIE" : "static")
				      : (g->pie ? "dynamic PIE" : "dynamic");
	const char *strip = g->stripped ? "stripped" : "not stripped";

	if (g->kind == MT_GO_NONE)
		snprintf(buf, len, "not Go, %s, %s", link, strip);
	else
		snprintf(buf, len, "Go %s%s%s, %s, %s%s%s",
			 g->version ? g->version : "version unknown", g->module ? ", module " : "",
			 g->module ? g->module : "", link, strip, cgo ? ", CGO_ENABLED=" : "",
			 cgo ? cgo : "");
	return buf;
}

/* ---- versions and advice ---- */

static bool read_int(const char **p, int *v)
{
	long n = 0;

	if (!isdigit((unsigned char)**p))
		return false;
	while (isdigit((unsigned char)**p)) {
		n = n * 10 + (**p - '0');
		if (n > 100000)
			return false;
		(*p)++;
	}
	*v = (int)n;
	return true;
}

int mt_go_version_parse(const char *s, struct mt_go_version *v)
{
	const char *p;

	if (!s)
		return -1;
	memset(v, 0, sizeof(*v));
	/* "devel go1.22-abcdef ..." is a development build on the way to 1.22 */
	if (!strncmp(s, "devel ", 6)) {
		s += 6;
		v->prerelease = true;
	}
	if (strncmp(s, "go", 2))
		return -1;
	p = s + 2;
	if (!read_int(&p, &v->major))
		return -1;
	if (*p == '.') {
		p++;
		if (!read_int(&p, &v->minor))
			return -1;
	}
	if (*p == '.') {
		p++;
		if (!read_int(&p, &v->patch))
			return -1;
	} else if (!strncmp(p, "rc", 2) || !strncmp(p, "beta", 4)) {
		int n;

		p += p[0] == 'r' ? 2 : 4;
		if (!read_int(&p, &n))
			return -1;
		v->prerelease = true;
	}
	/* what may follow: nothing, " X:experiment", or a devel build's "-hash" */
	if (*p && *p != ' ' && !(*p == '-' && v->prerelease))
		return -1;
	return 0;
}

int mt_go_version_cmp(const struct mt_go_version *a, int major, int minor, int patch)
{
	if (a->major != major)
		return a->major < major ? -1 : 1;
	if (a->minor != minor)
		return a->minor < minor ? -1 : 1;
	if (a->patch != patch)
		return a->patch < patch ? -1 : 1;
	return a->prerelease ? -1 : 0;
}

/*
 * GODEBUG's madvdontneed as the runtime reads it: comma-separated key=value
 * fields, left to right, so the last valid one wins; a value that is not a
 * 32-bit integer leaves the previous one. -1: not set.
 */
static int godebug_madvdontneed(const char *godebug)
{
	const char *p = godebug;
	int set = -1;

	while (p && *p) {
		const char *end = strchr(p, ','), *q;
		size_t flen = end ? (size_t)(end - p) : strlen(p);
		long long n = 0;
		bool ok, neg;

		if (flen > 13 && !strncmp(p, "madvdontneed=", 13)) {
			q = p + 13;
			neg = *q == '-';
			q += neg;
			ok = q < p + flen;
			for (; q < p + flen && ok; q++) {
				ok = isdigit((unsigned char)*q);
				n = n * 10 + (*q - '0');
				ok = ok && n <= (long long)INT32_MAX + neg;
			}
			if (ok)
				set = n != 0;
		}
		p = end ? end + 1 : NULL;
	}
	return set;
}

/*
 * The Go runtime's release advice on Linux, per version:
 * - up to 1.11: MADV_DONTNEED, no setting (golang/go#23687 asked for MADV_FREE).
 * - 1.12: MADV_FREE when the kernel has it, CL 135395 ("runtime: use MADV_FREE
 *   on Linux if available"; doc/go1.12 "the runtime now uses MADV_FREE");
 *   GODEBUG=madvdontneed=1 switches back (golang/go#28466, added for 1.12).
 * - 1.16: default back to MADV_DONTNEED, madvdontneed=0 for MADV_FREE
 *   (golang/go#42330, CL 267100, doc/go1.16 runtime section).
 * The runtime parses GODEBUG once at startup (runtime1.go parsedebugvars; in
 * newer releases a compile-time default is applied first, but the go command
 * only accepts //go:debug keys from internal/godebugs, which has no
 * madvdontneed, so only the environment can set it). On kernels older than
 * 4.5 MADV_FREE fails and the runtime falls back to MADV_DONTNEED.
 */
int mt_go_release_advice(const char *version, const char *godebug, char *reason, size_t len)
{
	int set = godebug_madvdontneed(godebug);
	struct mt_go_version v;

	if (!version || mt_go_version_parse(version, &v) || v.major != 1) {
		snprintf(reason, len, "Go version %s: cannot tell which advice its runtime uses",
			 version ? version : "unknown");
		return -1;
	}
	if (v.minor < 12) {
		snprintf(reason, len,
			 "%s releases memory with MADV_DONTNEED (MADV_FREE came in Go 1.12)%s",
			 version,
			 set >= 0 ? "; GODEBUG madvdontneed has no effect before Go 1.12" : "");
		return MADV_DONTNEED;
	}
	if (v.minor < 16) {
		if (set == 1) {
			snprintf(reason, len,
				 "GODEBUG madvdontneed=1 makes %s use MADV_DONTNEED instead of its "
				 "default MADV_FREE (Go 1.12 to 1.15)",
				 version);
			return MADV_DONTNEED;
		}
		snprintf(reason, len, "%s defaults to MADV_FREE (Go 1.12 to 1.15)%s", version,
			 set == 0 ? "; GODEBUG madvdontneed=0 keeps it"
				  : "; GODEBUG=madvdontneed=1 would switch to MADV_DONTNEED");
		return MADV_FREE;
	}
	if (set == 0) {
		snprintf(reason, len,
			 "GODEBUG madvdontneed=0 makes %s use MADV_FREE instead of its default "
			 "MADV_DONTNEED (Go 1.16 and later)",
			 version);
		return MADV_FREE;
	}
	snprintf(reason, len, "%s defaults to MADV_DONTNEED (Go 1.16 and later)%s", version,
		 set == 1 ? "; GODEBUG madvdontneed=1 keeps it"
			  : "; GODEBUG=madvdontneed=0 would switch to MADV_FREE");
	return MADV_DONTNEED;
}

#define BIT(a) (1ull << (a))

/*
 * Huge-page advice of the Go runtime on Linux, per version (all only when the
 * kernel has transparent huge pages):
 * - up to 1.20: MADV_NOHUGEPAGE on the huge pages at the edges of a released
 *   range and MADV_HUGEPAGE when it is reused (the golang/go#8832 workaround,
 *   at huge-page granularity since golang/go#12233; mem_linux.go sysUnusedOS
 *   and sysHugePageOS in Go 1.19, and strace of a Go 1.19 program shows both).
 * - 1.21.0: MADV_HUGEPAGE on all new heap memory, MADV_NOHUGEPAGE on what the
 *   scavenger releases (golang/go#59960).
 * - 1.21.1 to 1.21.3: MADV_COLLAPSE instead of most MADV_HUGEPAGE and no more
 *   MADV_NOHUGEPAGE (commit 06df3292a8 on release-branch.go1.21, from
 *   9f9bb26880 "runtime: avoid MADV_HUGEPAGE for heap memory", golang/go#61718).
 * - 1.21.4 and later: "nearly all calls to sysHugePage and sysNoHugePage" and
 *   all MADV_COLLAPSE calls removed (golang/go#63334, CL 531816; golang/go#64332
 *   and #64342: "As of Go 1.21.4, the Go runtime no longer tries to mark any
 *   memory for huge page tracking purposes").
 */
uint64_t mt_go_thp_advice(const char *version, const char **why)
{
	struct mt_go_version v;
	const char *w;
	uint64_t mask;

	if (!version || mt_go_version_parse(version, &v) || v.major != 1) {
		w = "Go version unknown: its huge-page advice is unknown";
		mask = 0;
	} else if (v.minor <= 20) {
		w = "Go 1.20 and earlier mark the huge pages at the edges of released memory "
		    "MADV_NOHUGEPAGE and reused memory MADV_HUGEPAGE (with THP enabled)";
		mask = BIT(MADV_HUGEPAGE) | BIT(MADV_NOHUGEPAGE);
	} else if (v.minor == 21 && v.patch == 0) {
		w = "Go 1.21.0 marks new heap memory MADV_HUGEPAGE and scavenged memory "
		    "MADV_NOHUGEPAGE (removed in 1.21.1)";
		mask = BIT(MADV_HUGEPAGE) | BIT(MADV_NOHUGEPAGE);
	} else if (v.minor == 21 && v.patch <= 3) {
		w = "Go 1.21.1 to 1.21.3 collapse dense heap memory into huge pages with "
		    "MADV_COLLAPSE (removed in 1.21.4)";
		mask = BIT(MADV_COLLAPSE) | BIT(MADV_HUGEPAGE);
	} else {
		w = "Go 1.21.4 and later leave huge pages to the kernel: no huge-page advice "
		    "expected";
		mask = 0;
	}
	if (why)
		*why = w;
	return mask;
}

/* ---- /proc/PID/environ ---- */

static bool copy_value(const char *v, size_t vlen, char *out, size_t outlen)
{
	if (!out || !outlen)
		return false;
	if (vlen >= outlen) {
		memcpy(out, v, outlen - 1);
		out[outlen - 1] = '\0';
		return true;
	}
	memcpy(out, v, vlen);
	out[vlen] = '\0';
	return false;
}

/* environ is what the process was started with: bounded, a process's is far smaller */
#define ENVIRON_MAX (64u << 20)

int mt_proc_env_read(pid_t pid, struct mt_env_var *vars, size_t n)
{
	size_t cap = 16384, got = 0;
	char path[64], *buf = NULL, *nbuf;
	int fd, ret = 0;

	for (size_t i = 0; i < n; i++) {
		vars[i].set = vars[i].truncated = false;
		if (vars[i].out && vars[i].len)
			vars[i].out[0] = '\0';
	}
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r;

		if (!buf || got == cap) {
			if (buf)
				cap *= 2;
			nbuf = cap > ENVIRON_MAX ? NULL : realloc(buf, cap);
			if (!nbuf) {
				ret = -ENOMEM;
				goto cleanup;
			}
			buf = nbuf;
		}
		r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			goto cleanup;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	/* NUL-separated "KEY=VALUE"; like getenv (Go's and libc's), the first one counts */
	for (size_t off = 0; off < got;) {
		char *e = buf + off;
		char *z = memchr(e, '\0', got - off);
		size_t elen = z ? (size_t)(z - e) : got - off;

		for (size_t i = 0; i < n; i++) {
			size_t klen = strlen(vars[i].name);

			if (!vars[i].set && elen > klen && e[klen] == '=' &&
			    !memcmp(e, vars[i].name, klen)) {
				vars[i].set = true;
				vars[i].truncated = copy_value(e + klen + 1, elen - klen - 1,
							       vars[i].out, vars[i].len);
			}
		}
		off += elen + 1;
	}
cleanup:
	free(buf);
	close(fd);
	return ret;
}
