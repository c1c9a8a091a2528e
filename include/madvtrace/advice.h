/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * madvise(2) advice values and what each does to memory: the one table the
 * eBPF program, the backends, the model and the renderers consult. Values are
 * the kernel's uapi (include/uapi/asm-generic/mman-common.h), written out so
 * that neither libc's headers nor vmlinux.h need to know them.
 *
 * X(name, value, class): MT_MADV_<name> = value.
 * To add an advice: one row here (pick its class); names and the model follow.
 */
#ifndef MADVTRACE_ADVICE_H
#define MADVTRACE_ADVICE_H

/* What an advice does to the pages of the range. */
enum mt_advice_class {
	MT_AC_HINT = 0, /* access pattern, fork, dump or KSM flags: no page leaves or arrives */
	MT_AC_LAZY, /* released lazily: pages stay resident (LazyFree) until reclaim or a write */
	MT_AC_EAGER, /* released at once: the pages leave RSS now */
	MT_AC_REMOVE, /* released at once and the backing store freed (shmem, tmpfs) */
	MT_AC_HUGEPAGE, /* transparent huge page policy for the range */
	MT_AC_COLLAPSE, /* collapse into huge pages now: fills the range */
	MT_AC_POPULATE, /* fault the range in now */
	MT_AC_PAGEOUT, /* reclaim now: RSS falls, contents kept (swap or page cache) */
	MT_AC_COLD, /* deactivate: first in line for reclaim, nothing freed yet */
	MT_AC_GUARD, /* guard markers: installing zaps the range first */
	MT_AC_POISON, /* memory error injection */
	MT_AC_NR,
};

#define MT_ADVICE(X)                          \
	X(NORMAL, 0, MT_AC_HINT)              \
	X(RANDOM, 1, MT_AC_HINT)              \
	X(SEQUENTIAL, 2, MT_AC_HINT)          \
	X(WILLNEED, 3, MT_AC_HINT)            \
	X(DONTNEED, 4, MT_AC_EAGER)           \
	X(FREE, 8, MT_AC_LAZY)                \
	X(REMOVE, 9, MT_AC_REMOVE)            \
	X(DONTFORK, 10, MT_AC_HINT)           \
	X(DOFORK, 11, MT_AC_HINT)             \
	X(MERGEABLE, 12, MT_AC_HINT)          \
	X(UNMERGEABLE, 13, MT_AC_HINT)        \
	X(HUGEPAGE, 14, MT_AC_HUGEPAGE)       \
	X(NOHUGEPAGE, 15, MT_AC_HUGEPAGE)     \
	X(DONTDUMP, 16, MT_AC_HINT)           \
	X(DODUMP, 17, MT_AC_HINT)             \
	X(WIPEONFORK, 18, MT_AC_HINT)         \
	X(KEEPONFORK, 19, MT_AC_HINT)         \
	X(COLD, 20, MT_AC_COLD)               \
	X(PAGEOUT, 21, MT_AC_PAGEOUT)         \
	X(POPULATE_READ, 22, MT_AC_POPULATE)  \
	X(POPULATE_WRITE, 23, MT_AC_POPULATE) \
	X(DONTNEED_LOCKED, 24, MT_AC_EAGER)   \
	X(COLLAPSE, 25, MT_AC_COLLAPSE)       \
	X(HWPOISON, 100, MT_AC_POISON)        \
	X(SOFT_OFFLINE, 101, MT_AC_POISON)    \
	X(GUARD_INSTALL, 102, MT_AC_GUARD)    \
	X(GUARD_REMOVE, 103, MT_AC_HINT)

enum mt_advice {
#define MT_ADV_ENUM_(name, value, cls) MT_MADV_##name = value,
	MT_ADVICE(MT_ADV_ENUM_)
#undef MT_ADV_ENUM_
};

/* The class of an advice value; MT_AC_HINT for values this table does not know. */
static inline enum mt_advice_class mt_advice_class(int advice)
{
	switch (advice) {
#define MT_ADV_CLASS_(name, value, cls) \
	case value:                     \
		return cls;
		MT_ADVICE(MT_ADV_CLASS_)
#undef MT_ADV_CLASS_
	}
	return MT_AC_HINT;
}

/* Released with this advice, the range's pages are no longer the program's (lazily or not). */
static inline int mt_advice_class_releases(enum mt_advice_class c)
{
	return c == MT_AC_LAZY || c == MT_AC_EAGER || c == MT_AC_REMOVE;
}

#endif /* MADVTRACE_ADVICE_H */
