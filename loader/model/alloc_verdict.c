// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * What a C allocator's release explains (findings of kind "allocator"), for
 * a process whose `allocator` info record names glibc, jemalloc, tcmalloc
 * or mimalloc: how that allocator gives memory back, what of it the trace
 * shows, whether that agrees with the settings of its environment (env.KEY
 * records), and which setting or call makes RSS follow. The facts are the
 * allocators' own documentation (docs/why-rss-lags.md cites them). Nothing
 * is said of a process without an allocator record.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fmt.h"
#include "timeline_int.h"

#define KIND "allocator"

/* What the trace shows of the ways an allocator gives memory back. */
struct seen {
	uint64_t free_calls, free_bytes;   /* MADV_FREE */
	uint64_t dn_calls, dn_bytes;	   /* MADV_DONTNEED (and _LOCKED) */
	uint64_t unmap_calls, unmap_bytes; /* munmap */
	uint64_t trim_calls, trim_bytes;   /* brk shrinking */
	uint64_t escalated;		   /* released with MADV_FREE, then with MADV_DONTNEED */
};

static void seen_of(const struct mt_pview *v, struct seen *s)
{
	const struct mt_call_stats *f = &v->adv[MT_PV_FREE], *d = &v->adv[MT_PV_DONTNEED],
				   *l = &v->adv[MT_PV_DONTNEED_LOCKED];

	s->free_calls = f->calls - f->errors;
	s->free_bytes = f->bytes;
	s->dn_calls = d->calls - d->errors + l->calls - l->errors;
	s->dn_bytes = d->bytes + l->bytes;
	s->unmap_calls = v->munmap.calls - v->munmap.errors;
	s->unmap_bytes = v->munmap.bytes;
	s->trim_calls = v->brk_shrink.calls;
	s->trim_bytes = v->brk_shrink.bytes;
	s->escalated = v->escalated;
}

/* "MADV_FREE 8.0 MiB in 2 calls" appended to a list, "; " between items */
static void add_item(char *buf, size_t len, size_t *off, const char *what, uint64_t calls,
		     uint64_t bytes)
{
	char b[32];

	if (!calls || *off >= len)
		return;
	*off += (size_t)snprintf(buf + *off, len - *off, "%s%s %s in %" PRIu64 " call%s",
				 *off ? "; " : "", what, mt_fmt_bytes(b, sizeof(b), bytes), calls,
				 calls == 1 ? "" : "s");
}

static const char *env(const struct mt_pview *v, enum mt_alloc_env k)
{
	return v->env[k];
}

/* The settings in force, as the environment says ("" when none is set). */
static void fmt_settings(const struct mt_pview *v, const enum mt_alloc_env *keys, size_t n,
			 char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++)
		if (env(v, keys[i]))
			off += (size_t)snprintf(buf + off, len - off, "%s%s=%s", off ? ", " : "",
						mt_pview__env_name(keys[i]), env(v, keys[i]));
}

/* The sentence on the settings: which are set, or that none is, or that it is not known. */
static void verdict_settings(struct mt_timeline *tl, const struct mt_pview *v, const char *name,
			     const enum mt_alloc_env *keys, size_t n)
{
	char set[512], names[256];
	size_t off = 0;

	fmt_settings(v, keys, n, set, sizeof(set));
	if (set[0]) {
		mt_verdict__add(tl, KIND, "Its environment sets %s.", set);
		return;
	}
	for (size_t i = 0; i < n && off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
					i ? (i + 1 == n ? " or " : ", ") : "",
					mt_pview__env_name(keys[i]));
	if (v->env_read)
		mt_verdict__add(tl, KIND,
				"Its environment sets none of %s: %s's defaults apply (unless the "
				"program sets them itself).",
				names, name);
	else
		mt_verdict__add(tl, KIND,
				"The trace does not record its environment, so whether %s is set "
				"is not known; the defaults are assumed.",
				names);
}

/* A number from a setting: true when v is one (sizes in bytes, times in ms). */
static bool num(const char *s, double *out)
{
	char *end;

	if (!s || !*s)
		return false;
	*out = strtod(s, &end);
	return end != s;
}

/* KEY's value in "k1=v1:k2=v2" (GLIBC_TUNABLES) or "k1:v1,k2:v2" (MALLOC_CONF). */
static bool conf_value(const char *conf, const char *key, char sep, char kv, char *out, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = conf; p && *p;) {
		const char *end = strchr(p, sep);
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n > klen && !strncmp(p, key, klen) && p[klen] == kv) {
			snprintf(out, len, "%.*s", (int)(n - klen - 1), p + klen + 1);
			return true;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

/* ---- glibc ---- */

/* A glibc setting: its tunable in GLIBC_TUNABLES wins over the environment variable. */
static const char *glibc_setting(const struct mt_pview *v, enum mt_alloc_env var,
				 const char *tunable, char *buf, size_t len, const char **from)
{
	if (v->env[MT_AENV_GLIBC_TUNABLES] &&
	    conf_value(v->env[MT_AENV_GLIBC_TUNABLES], tunable, ':', '=', buf, len)) {
		*from = tunable;
		return buf;
	}
	*from = mt_pview__env_name(var);
	return v->env[var];
}

static void glibc(struct mt_timeline *tl, const struct mt_pview *v, const struct mt_vis *vis,
		  const struct seen *s)
{
	static const enum mt_alloc_env keys[] = {MT_AENV_MALLOC_TRIM_THRESHOLD_,
						 MT_AENV_MALLOC_MMAP_THRESHOLD_,
						 MT_AENV_MALLOC_ARENA_MAX, MT_AENV_GLIBC_TUNABLES};
	char list[512], a[32], tbuf[64], mbuf[64];
	const char *trim_from, *mmap_from;
	const char *trim =
	    glibc_setting(v, MT_AENV_MALLOC_TRIM_THRESHOLD_, "glibc.malloc.trim_threshold", tbuf,
			  sizeof(tbuf), &trim_from);
	const char *mmap_t =
	    glibc_setting(v, MT_AENV_MALLOC_MMAP_THRESHOLD_, "glibc.malloc.mmap_threshold", mbuf,
			  sizeof(mbuf), &mmap_from);
	size_t off = 0;
	double n;

	mt_verdict__add(
	    tl, KIND,
	    "glibc's malloc gives memory back three ways: a block above the mmap threshold "
	    "(128 KiB by default, raised as large blocks are freed, up to 32 MiB) is mapped on "
	    "its own and unmapped with munmap when freed; the top of the main heap is given "
	    "back with brk when more than the trim threshold (128 KiB by default, raised with "
	    "the mmap threshold) is free there; free pages inside the heaps of other arenas "
	    "(threads') are released with MADV_DONTNEED, as malloc_trim() does in every arena. "
	    "It never uses MADV_FREE. Free memory below a block still in use at the top of the "
	    "main heap stays in RSS.");
	if (vis->raw_blind) {
		mt_verdict__add(tl, KIND,
				"glibc's malloc makes these calls inside libc, where the preload "
				"backend does not see them here: the trace cannot say which it "
				"made.");
		verdict_settings(tl, v, "glibc", keys, sizeof(keys) / sizeof(keys[0]));
		return;
	}
	add_item(list, sizeof(list), &off, "munmap", s->unmap_calls, s->unmap_bytes);
	add_item(list, sizeof(list), &off, "brk trimming the heap top", s->trim_calls,
		 s->trim_bytes);
	add_item(list, sizeof(list), &off, "MADV_DONTNEED", s->dn_calls, s->dn_bytes);
	if (off)
		mt_verdict__add(tl, KIND, "Seen here: %s.", list);
	else
		mt_verdict__add(tl, KIND,
				"None of them was seen: no munmap, no brk shrinking the heap and "
				"no MADV_DONTNEED; what the program freed stayed with malloc.");
	if (s->free_calls)
		mt_verdict__add(tl, KIND,
				"The %" PRIu64 " MADV_FREE call%s (%s) cannot be glibc's malloc, "
				"which never uses it: other code in the process released that "
				"memory.",
				s->free_calls, s->free_calls == 1 ? "" : "s",
				mt_fmt_bytes(a, sizeof(a), s->free_bytes));
	verdict_settings(tl, v, "glibc", keys, sizeof(keys) / sizeof(keys[0]));
	if (trim && num(trim, &n)) {
		if (s->trim_calls)
			mt_verdict__add(tl, KIND,
					"As %s=%s asks, the heap top was given back with brk "
					"whenever more than that was free there (%s in %" PRIu64
					" call%s).",
					trim_from, trim, mt_fmt_bytes(a, sizeof(a), s->trim_bytes),
					s->trim_calls, s->trim_calls == 1 ? "" : "s");
		else
			mt_verdict__add(
			    tl, KIND,
			    "No brk trim was seen although %s=%s: the free space at the "
			    "top of the main heap never exceeded it, or a block still in "
			    "use sat at the top.",
			    trim_from, trim);
	}
	if (mmap_t && num(mmap_t, &n))
		mt_verdict__add(tl, KIND,
				"%s=%s fixes the mmap threshold (no dynamic raise): blocks of that "
				"size and more are unmapped at free; %" PRIu64
				" munmap call%s seen.",
				mmap_from, mmap_t, s->unmap_calls, s->unmap_calls == 1 ? "" : "s");
	mt_verdict__add(
	    tl, KIND,
	    "To make RSS follow free(): call malloc_trim(0) after a peak (it releases the free "
	    "pages of every arena with MADV_DONTNEED); or lower MALLOC_TRIM_THRESHOLD_ (the heap "
	    "top goes back sooner) and MALLOC_MMAP_THRESHOLD_ (more blocks unmapped at free), "
	    "and cap MALLOC_ARENA_MAX (fewer per-thread heaps holding free memory); "
	    "GLIBC_TUNABLES=glibc.malloc.trim_threshold=N:glibc.malloc.mmap_threshold=N:"
	    "glibc.malloc.arena_max=N sets the same.");
}

/* ---- jemalloc ---- */

/* A jemalloc option from MALLOC_CONF (or JE_MALLOC_CONF, a build with the je_ prefix). */
static bool je_opt(const struct mt_pview *v, const char *key, char *out, size_t len,
		   const char **from)
{
	static const enum mt_alloc_env vars[] = {MT_AENV_MALLOC_CONF, MT_AENV_JE_MALLOC_CONF};

	for (size_t i = 0; i < 2; i++)
		if (v->env[vars[i]] && conf_value(v->env[vars[i]], key, ',', ':', out, len)) {
			*from = mt_pview__env_name(vars[i]);
			return true;
		}
	return false;
}

/* Whether the version is before 5.2, when muzzy_decay_ms defaulted to 10 s (-1: not known). */
static int je_before_5_2(const struct mt_pview *v)
{
	int maj, min;

	if (sscanf(v->alloc_version, "%d.%d", &maj, &min) != 2)
		return -1;
	return maj < 5 || (maj == 5 && min < 2);
}

static void jemalloc(struct mt_timeline *tl, const struct mt_pview *v, const struct seen *s)
{
	static const enum mt_alloc_env keys[] = {MT_AENV_MALLOC_CONF, MT_AENV_JE_MALLOC_CONF};
	char dirty[32], muzzy[32], bg[16], list[512], a[32];
	const char *dfrom = NULL, *mfrom = NULL, *bfrom = NULL;
	bool have_dirty = je_opt(v, "dirty_decay_ms", dirty, sizeof(dirty), &dfrom);
	bool have_muzzy = je_opt(v, "muzzy_decay_ms", muzzy, sizeof(muzzy), &mfrom);
	bool have_bg = je_opt(v, "background_thread", bg, sizeof(bg), &bfrom);
	int old = je_before_5_2(v);
	int lazy; /* 1: MADV_FREE expected first, 0: MADV_DONTNEED only, -1: not known */
	size_t off = 0;

	mt_verdict__add(
	    tl, KIND,
	    "jemalloc keeps freed pages as dirty and purges them as they age: over "
	    "dirty_decay_ms (10 s by default) it releases them lazily with MADV_FREE when "
	    "muzzy_decay_ms is not 0 (they become muzzy, and are released again with "
	    "MADV_DONTNEED over muzzy_decay_ms), or with MADV_DONTNEED at once when it is 0 "
	    "(the default since 5.2; 10 s before). Without background_thread:true it purges "
	    "only when the program calls into it, so an idle program keeps its dirty pages.");
	add_item(list, sizeof(list), &off, "MADV_FREE", s->free_calls, s->free_bytes);
	add_item(list, sizeof(list), &off, "MADV_DONTNEED", s->dn_calls, s->dn_bytes);
	add_item(list, sizeof(list), &off, "munmap", s->unmap_calls, s->unmap_bytes);
	if (off)
		mt_verdict__add(tl, KIND, "Seen here: %s%s%s%s.", list,
				s->escalated ? " (of the memory released with MADV_FREE, " : "",
				s->escalated ? mt_fmt_bytes(a, sizeof(a), s->escalated) : "",
				s->escalated ? " was released again with MADV_DONTNEED: dirty, "
					       "then muzzy, then purged)"
					     : "");
	else
		mt_verdict__add(tl, KIND,
				"No purge was seen: what the program freed stayed dirty in "
				"jemalloc.");
	verdict_settings(tl, v, "jemalloc", keys, sizeof(keys) / sizeof(keys[0]));
	if (have_dirty && !strcmp(dirty, "-1")) {
		if (s->free_calls + s->dn_calls)
			mt_verdict__add(tl, KIND,
					"Not as expected: %s sets dirty_decay_ms:-1 (never purge), "
					"yet memory was released: other code in the process "
					"released it, or an explicit purge (mallctl "
					"arena.<i>.purge).",
					dfrom);
		else
			mt_verdict__add(tl, KIND,
					"As %s asks (dirty_decay_ms:-1), jemalloc never purged: "
					"freed memory stays in RSS.",
					dfrom);
		return;
	}
	lazy = have_muzzy ? strcmp(muzzy, "0") != 0 : old;
	if (lazy == 0 && s->free_calls)
		mt_verdict__add(tl, KIND,
				"Not as expected: muzzy_decay_ms is 0 (%s), so jemalloc purges "
				"with MADV_DONTNEED only, yet %" PRIu64
				" MADV_FREE call%s released %s: other code in the process released "
				"it, or the setting did not reach this jemalloc (a build with a "
				"prefix reads its own variable, e.g. JE_MALLOC_CONF).",
				have_muzzy ? mfrom : "the default since 5.2", s->free_calls,
				s->free_calls == 1 ? "" : "s",
				mt_fmt_bytes(a, sizeof(a), s->free_bytes));
	else if (lazy == 0 && s->dn_calls)
		mt_verdict__add(tl, KIND,
				"As expected with muzzy_decay_ms 0 (%s): the purges are "
				"MADV_DONTNEED, and RSS falls at each.",
				have_muzzy ? mfrom : "the default since 5.2");
	else if (lazy == 1 && s->free_calls)
		mt_verdict__add(tl, KIND,
				"As expected with muzzy_decay_ms not 0 (%s): the purges start "
				"with MADV_FREE, which leaves RSS as it was until the kernel needs "
				"the pages or the muzzy pages are purged with MADV_DONTNEED.",
				have_muzzy ? mfrom : "the default before 5.2");
	else if (s->free_calls && s->escalated)
		mt_verdict__add(tl, KIND,
				"The MADV_FREE then MADV_DONTNEED sequence is jemalloc's two-step "
				"decay (muzzy_decay_ms not 0: set, or a version before 5.2).");
	if (have_dirty && !strcmp(dirty, "0") && (!have_muzzy || !strcmp(muzzy, "0")) &&
	    s->dn_calls && !s->free_calls)
		mt_verdict__add(tl, KIND,
				"dirty_decay_ms:0 (%s) purges at once: freed pages left RSS as "
				"soon as jemalloc released them.",
				dfrom);
	mt_verdict__add(
	    tl, KIND,
	    "To make RSS follow free(): MALLOC_CONF=dirty_decay_ms:0,muzzy_decay_ms:0 purges "
	    "at once with MADV_DONTNEED (at a CPU cost); muzzy_decay_ms:0 alone skips the lazy "
	    "MADV_FREE step; background_thread:true%s purges on time even while the program is "
	    "idle; mallctl(\"arena.<i>.purge\") (MALLCTL_ARENAS_ALL for every arena) purges "
	    "after a known peak.",
	    have_bg ? " (set here)" : "");
}

/* "Seen here: MADV_DONTNEED ...; MADV_FREE ...; munmap ...", or none: what a page heap did. */
static void seen_releases(struct mt_timeline *tl, const struct seen *s, const char *none)
{
	char list[512];
	size_t off = 0;

	add_item(list, sizeof(list), &off, "MADV_DONTNEED", s->dn_calls, s->dn_bytes);
	add_item(list, sizeof(list), &off, "MADV_FREE", s->free_calls, s->free_bytes);
	add_item(list, sizeof(list), &off, "munmap", s->unmap_calls, s->unmap_bytes);
	if (off)
		mt_verdict__add(tl, KIND, "Seen here: %s.", list);
	else
		mt_verdict__add(tl, KIND, "%s", none);
}

/* ---- tcmalloc ---- */

static void tcmalloc(struct mt_timeline *tl, const struct mt_pview *v, const struct seen *s)
{
	static const enum mt_alloc_env keys[] = {MT_AENV_TCMALLOC_RELEASE_RATE,
						 MT_AENV_TCMALLOC_AGGRESSIVE_DECOMMIT};
	const char *rate = env(v, MT_AENV_TCMALLOC_RELEASE_RATE);
	const char *aggr = env(v, MT_AENV_TCMALLOC_AGGRESSIVE_DECOMMIT);
	char a[32];
	double r = 1.0;

	mt_verdict__add(
	    tl, KIND,
	    "tcmalloc gives free spans of its page heap back on the deallocation path, a little "
	    "after every so many pages freed, at a pace set by TCMALLOC_RELEASE_RATE (1.0 by "
	    "default; 0 never, up to 10 faster), with MADV_DONTNEED (gperftools 2.6 and 2.7 "
	    "could use MADV_FREE); TCMALLOC_AGGRESSIVE_DECOMMIT=true gives every free span "
	    "back at once, and MallocExtension::ReleaseFreeMemory() all of them when called.");
	seen_releases(tl, s,
		      "No release was seen: the spans the program freed stayed in tcmalloc's "
		      "page heap.");
	verdict_settings(tl, v, "tcmalloc", keys, sizeof(keys) / sizeof(keys[0]));
	num(rate, &r);
	if (r == 0 && s->dn_calls + s->free_calls)
		mt_verdict__add(tl, KIND,
				"Not as expected from TCMALLOC_RELEASE_RATE=%s (never release on "
				"free): the releases come from ReleaseFreeMemory() calls or other "
				"code in the process.",
				rate);
	else if (r == 0)
		mt_verdict__add(tl, KIND,
				"As TCMALLOC_RELEASE_RATE=%s asks, tcmalloc released nothing: "
				"freed spans stay in RSS.",
				rate);
	else if (s->dn_calls && (rate || aggr)) {
		char set[256];

		fmt_settings(v, keys, sizeof(keys) / sizeof(keys[0]), set, sizeof(set));
		mt_verdict__add(tl, KIND,
				"As expected with %s: tcmalloc released with MADV_DONTNEED (%s), "
				"and RSS falls at each release.",
				set, mt_fmt_bytes(a, sizeof(a), s->dn_bytes));
	} else if (s->dn_calls) {
		mt_verdict__add(tl, KIND,
				"As expected by default: tcmalloc released with MADV_DONTNEED "
				"(%s), and RSS falls at each release.",
				mt_fmt_bytes(a, sizeof(a), s->dn_bytes));
	}
	if (s->free_calls)
		mt_verdict__add(tl, KIND,
				"The MADV_FREE calls (%s) point to a gperftools 2.6 or 2.7 build, "
				"or to other code in the process: that memory stays in RSS until "
				"the kernel needs it.",
				mt_fmt_bytes(a, sizeof(a), s->free_bytes));
	mt_verdict__add(tl, KIND,
			"To make RSS follow free(): raise TCMALLOC_RELEASE_RATE (up to 10), set "
			"TCMALLOC_AGGRESSIVE_DECOMMIT=true, or call "
			"MallocExtension::instance()->ReleaseFreeMemory() after a peak.");
}

/* ---- mimalloc ---- */

static void mimalloc(struct mt_timeline *tl, const struct mt_pview *v, const struct seen *s)
{
	static const enum mt_alloc_env keys[] = {
	    MT_AENV_MIMALLOC_PURGE_DELAY, MT_AENV_MIMALLOC_PURGE_DECOMMITS,
	    MT_AENV_MIMALLOC_RESET_DELAY, MT_AENV_MIMALLOC_RESET_DECOMMITS};
	bool v1 = !strncmp(v->alloc_version, "1.", 2);
	const char *delay =
	    env(v, v1 ? MT_AENV_MIMALLOC_RESET_DELAY : MT_AENV_MIMALLOC_PURGE_DELAY);
	const char *dec =
	    env(v, v1 ? MT_AENV_MIMALLOC_RESET_DECOMMITS : MT_AENV_MIMALLOC_PURGE_DECOMMITS);
	const char *dec_name = mt_pview__env_name(v1 ? MT_AENV_MIMALLOC_RESET_DECOMMITS
						     : MT_AENV_MIMALLOC_PURGE_DECOMMITS);
	char a[32];
	double d = 0;
	bool lazy; /* MADV_FREE expected */

	mt_verdict__add(
	    tl, KIND,
	    "mimalloc purges pages that have stayed free for MIMALLOC_PURGE_DELAY (10 ms by "
	    "default in v2, 1000 ms in v3; 0 purges at once, -1 never), checked when the "
	    "thread next calls into the allocator, not on a timer; it purges with "
	    "MADV_DONTNEED (MIMALLOC_PURGE_DECOMMITS=1, the default) or with MADV_FREE "
	    "(=0). mimalloc 1.x calls them MIMALLOC_RESET_DELAY and MIMALLOC_RESET_DECOMMITS "
	    "and resets with MADV_FREE by default. mi_collect(true) purges at once.");
	seen_releases(tl, s,
		      "No purge was seen: the pages the program freed stayed with mimalloc.");
	verdict_settings(tl, v, "mimalloc", keys, sizeof(keys) / sizeof(keys[0]));
	if (num(delay, &d) && d < 0) {
		mt_verdict__add(tl, KIND, "%s (%s=%s): %s",
				s->dn_calls + s->free_calls ? "Not as expected" : "As expected",
				mt_pview__env_name(v1 ? MT_AENV_MIMALLOC_RESET_DELAY
						      : MT_AENV_MIMALLOC_PURGE_DELAY),
				delay,
				s->dn_calls + s->free_calls
				    ? "purging is off, so the releases come from mi_collect() or "
				      "other code in the process."
				    : "purging is off, so freed pages stay in RSS.");
		return;
	}
	lazy = dec ? !strcmp(dec, "0") : v1;
	if (lazy && s->dn_calls && !s->free_calls)
		mt_verdict__add(tl, KIND,
				"Not as expected: %s purges with MADV_FREE, yet MADV_DONTNEED was "
				"seen (%s): other code in the process, or a version whose default "
				"differs.",
				dec ? dec_name : "mimalloc 1.x",
				mt_fmt_bytes(a, sizeof(a), s->dn_bytes));
	else if (!lazy && s->free_calls)
		mt_verdict__add(tl, KIND,
				"Not as expected: %s purges with MADV_DONTNEED, yet MADV_FREE was "
				"seen (%s): other code in the process, or a version whose default "
				"differs (1.x resets with MADV_FREE).",
				dec ? dec_name : "by default, mimalloc 2 and later",
				mt_fmt_bytes(a, sizeof(a), s->free_bytes));
	else if (s->dn_calls + s->free_calls) {
		char set[256];

		fmt_settings(v, keys, sizeof(keys) / sizeof(keys[0]), set, sizeof(set));
		mt_verdict__add(
		    tl, KIND, "As expected%s%s: the purges are %s%s.",
		    set[0] ? " with " : " by default", set, lazy ? "MADV_FREE" : "MADV_DONTNEED",
		    lazy ? ", which leave RSS as it was until the kernel needs the pages"
			 : ", and RSS falls at each");
	}
	mt_verdict__add(tl, KIND,
			"To make RSS follow free(): MIMALLOC_PURGE_DELAY=0 purges as soon as a "
			"page is free, MIMALLOC_PURGE_DECOMMITS=1 purges with MADV_DONTNEED, and "
			"mi_collect(true) purges after a peak.");
}

void mt_alloc__verdict(struct mt_timeline *tl, const struct mt_pview *v, const struct mt_vis *vis)
{
	static const char *const names[] = {"", "glibc's malloc", "jemalloc", "tcmalloc",
					    "mimalloc"};
	struct seen s;

	if (v->alloc == MT_ALLOC_NONE)
		return;
	seen_of(v, &s);
	mt_verdict__add(tl, KIND, "This program allocates with %s%s%s%s.", names[v->alloc],
			v->alloc_version[0] ? " " : "", v->alloc_version,
			!strcmp(v->alloc_linked, "static")    ? ", linked statically"
			: !strcmp(v->alloc_linked, "dynamic") ? ", linked dynamically"
							      : "");
	switch (v->alloc) {
	case MT_ALLOC_GLIBC:
		glibc(tl, v, vis, &s);
		break;
	case MT_ALLOC_JEMALLOC:
		jemalloc(tl, v, &s);
		break;
	case MT_ALLOC_TCMALLOC:
		tcmalloc(tl, v, &s);
		break;
	default:
		mimalloc(tl, v, &s);
		break;
	}
}
