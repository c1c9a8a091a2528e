/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What a program is, from its binary on disk: ELF facts (static or dynamic,
 * PIE, stripped, build id) and, for Go programs, the build info the Go linker
 * embeds (Go version, main module, build settings). Also what the Go runtime
 * of a given version does with GODEBUG when it releases memory, and the Go
 * settings in a running process's environment.
 */
#ifndef MT_GOINFO_H
#define MT_GOINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct mt_goinfo;

enum mt_go_kind {
	MT_GO_NONE = 0,		/* not a Go program */
	MT_GO_BUILDINFO = 1,	/* Go, with build info (Go >= 1.13) */
	MT_GO_NO_BUILDINFO = 2, /* Go (a Go function table or build id), but no build info */
};

/*
 * Read path. NULL on failure with one line in err (missing file, not an
 * ELF file, truncated ELF, ...). Any ELF file succeeds: check
 * mt_goinfo__kind() to know whether it is a Go program.
 */
struct mt_goinfo *mt_goinfo__open(const char *path, char *err, size_t errlen);
void mt_goinfo__free(struct mt_goinfo *g);

/* ---- ELF facts ---- */
/*
 * The file's identity to record in a trace and hand to mt_symcache__open:
 * the GNU build id in hex, else "go:" + the Go build id; NULL if neither.
 */
const char *mt_goinfo__build_id(const struct mt_goinfo *g);

/* ---- Go ---- */
enum mt_go_kind mt_goinfo__kind(const struct mt_goinfo *g);
/* "go1.19.8", or NULL when unknown (see mt_goinfo__version_note). */
const char *mt_goinfo__version(const struct mt_goinfo *g);
/*
 * Where the version came from, or why it is unknown, as one phrase:
 * "build info", "symbol runtime.buildVersion (no build info)", "unknown: Go
 * binary without build info (Go older than 1.13, or the section was
 * removed)", "not a Go binary".
 */
const char *mt_goinfo__version_note(const struct mt_goinfo *g);
const char *mt_goinfo__module(const struct mt_goinfo *g);	  /* main module path, or NULL */
/* Build settings ("build" lines, Go >= 1.18), values unquoted: -ldflags, CGO_ENABLED, ... */
/* The value of a setting, or NULL if the binary does not have it. */
const char *mt_goinfo__setting(const struct mt_goinfo *g, const char *key);
/*
 * One line for humans, e.g. "Go go1.19.8, module example.com/x, static,
 * stripped, CGO_ENABLED=0" or "not Go, dynamic PIE". Returns buf.
 */
char *mt_goinfo__describe(const struct mt_goinfo *g, char *buf, size_t len);

/* ---- Go versions and the runtime's choice of advice ---- */

struct mt_go_version {
	int major, minor, patch; /* go1.21rc2 -> 1, 21, 0 */
	bool prerelease;	 /* beta or rc */
};
/* Parse "go1.19.8", "go1.21rc2", "go1.9", "go1.22.0 X:boringcrypto"; -1 if not a release version.
 */
int mt_go_version_parse(const char *s, struct mt_go_version *v);
/* <0, 0, >0 as a is older, the same, newer than major.minor.patch (a prerelease is older). */
int mt_go_version_cmp(const struct mt_go_version *a, int major, int minor, int patch);

/*
 * The advice the Go runtime of version uses to release memory to the kernel,
 * given the GODEBUG value of its environment (NULL or "" when unset):
 * MADV_DONTNEED or MADV_FREE, or -1 when the version is unknown. reason gets
 * one line saying why (always written, also for -1).
 */
int mt_go_release_advice(const char *version, const char *godebug, char *reason, size_t len);
/*
 * The huge-page advice the Go runtime of version is known to issue on Linux,
 * as a mask of (1ull << advice) bits (MADV_HUGEPAGE, MADV_NOHUGEPAGE,
 * MADV_COLLAPSE); 0 for none or an unknown version. *why (if why is not
 * NULL) gets a static one-line explanation.
 */
uint64_t mt_go_thp_advice(const char *version, const char **why);

/* ---- the settings of a running process, from its environment ---- */

struct mt_env_var {
	const char *name; /* without '=' */
	char *out; /* the value, "" when unset; may be NULL to learn only whether it is set */
	size_t len;
	bool set, truncated; /* filled in */
};
/*
 * The variables named in vars from /proc/PID/environ (read whole, at most
 * 64 MiB, as the calling thread's user): the environment the process was
 * started with. 0, or -errno (-ENOENT: no such process, -EACCES).
 */
int mt_proc_env_read(pid_t pid, struct mt_env_var *vars, size_t n);

#endif
