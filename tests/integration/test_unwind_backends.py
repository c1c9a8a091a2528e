#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Release stacks unwound without frame pointers, recorded by each backend
with --stacks (issue 12): uschain_g (-O2 -fomit-frame-pointer -g) run under
bpf, ptrace and preload, and its report.

Oracle: the workload's own call chain, marked in its source (`CALL:x` on
the line that calls x): every MADV_DONTNEED stack must read
trim_pages (inlined) <- pool_trim <- worker <- main with the lines of those
calls; the free() of the big block (glibc's own munmap: the preload agent
traps it, in a signal handler, and copies the stack it was made on) must
read glibc malloc ... <- release_big at the line of its free() call. The
same again with the program exec'd by a shell that ran a while first (the
libraries both map, at other places, are the new program's).

usalloc under jemalloc, tcmalloc and mimalloc (LD_PRELOAD), under every
backend: the allocator and the application frame above it (cache_evict, at
the line of its free() call).

usarena under ptrace: a thread's first malloc makes an arena, whose munmap
is glibc's (new_heap) under the function that called malloc.

With Go (MT_CGOREL, tests/go/cgorel), a cgo program under bpf: the C side
unwound (c_trim <- c_release at their lines), the Go side from the kernel's
frame-pointer walk of the same call (main.goCaller <- main.main), in one
stack.

Usage: test_unwind_backends.py --madvtrace PATH --workloads DIR [--backends b,p,...]
"""
import os
import re

import mtest
from mtest import check
from unwind_lib import ALLOCATORS, LIBDIR, marks, report, run, stacks_by_call


def app_frames(st):
    """From the first frame of the program's own code outwards, up to main."""
    fr = st["frames"]
    names = [f["function"] for f in fr]
    check("main" in names, "no main in %s" % names)
    first = next((i for i, f in enumerate(fr) if f["file"] and f["file"].endswith("uschain_g")),
                 None)
    check(first is not None, "no frame of the program in %s" % names)
    return fr[first:names.index("main") + 1]


def test(env):
    mt = env.madvtrace
    backends = env.args.backends.split(",")
    lines = marks("uschain.c")
    exe = env.wl("uschain_g")
    for be in backends:
        t = env.path(be + ".mtr")
        run([mt, "--backend", be, "--stacks", "-q", "-o", t, "--", exe, "-"])
        check_uschain(mt, be, t, lines)
        # the same program exec'd by a shell that ran a while: the libraries both map, at
        # other places, must be the new program's (the unwinder once kept bash's libc)
        t = env.path(be + "-exec.mtr")
        run([mt, "--backend", be, "--stacks", "-q", "-o", t, "--", "/bin/bash", "-c",
             "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; exec %s -" % exe])
        check_uschain(mt, be + " after bash's exec", t, lines)
    for be in ("bpf", "ptrace", "preload"):
        if be in backends:
            test_alloc(env, be)
    if "bpf" in backends:
        test_cgo(env)
    if "ptrace" in backends:
        test_arena(env)


def check_uschain(mt, be, t, lines):
    """uschain's release stacks in trace t: its chain and free()'s, at their lines."""
    rel, text = report(mt, t)
    dn = stacks_by_call(rel, "MADV_DONTNEED")
    check(sum(s["by_call"]["MADV_DONTNEED"]["calls"] for s in dn) == 3,
          "%s: the 3 madvise calls are not all in the top stacks: %s" % (be, rel["top_stacks"]))
    for st in dn:
        check(st["unwound"], "%s: a stack not unwound: %s" % (be, st))
        ch = app_frames(st)
        got = [(f["function"], f["line"]) for f in ch]
        want = [("trim_pages", lines["madvise"]), ("pool_trim", lines["trim_pages"]),
                ("worker", lines["pool_trim"]), ("main", lines["worker"])]
        check(got == want, "%s: chain %s, the source says %s" % (be, got, want))
        check(st["group"] == "trim_pages (uschain.c:%d)" % lines["madvise"],
              "%s: group %r" % (be, st["group"]))
    check(re.search(r"pool_trim\+0x[0-9a-f]+ \(uschain.c:%d\)" % lines["trim_pages"], text),
          "%s: the text report does not name pool_trim at its line" % be)
    # glibc's own munmap in free(): bpf and ptrace see it at the call; the preload
    # agent traps it and copies the stack the call was made on, not its handler's
    um = [s for s in rel["top_stacks"] if s["group"] and "release_big" in s["group"]]
    check(len(um) == 1, "%s: free()'s stack: %s" % (be, rel["top_stacks"]))
    ch = app_frames(um[0])
    got = [(f["function"], f["line"]) for f in ch]
    want = [("release_big", lines["free"]), ("main", lines["release_big"])]
    check(got == want, "%s: free chain %s, the source says %s" % (be, got, want))
    check(um[0]["group"].startswith("glibc malloc"), "%s: %r" % (be, um[0]["group"]))
    print("ok %s: trim_pages <- pool_trim <- worker <- main at their lines; "
          "glibc free <- release_big" % be)


def test_arena(env):
    """A thread's first malloc: its arena's munmap is glibc's, under the caller of malloc.

    Under ptrace, which holds the program at its exit while its mappings are read:
    it runs for a millisecond (under bpf the recorder may find it gone)."""
    line = marks("usarena.c")["malloc"]
    t = env.path("arena.mtr")
    run([env.madvtrace, "--backend", "ptrace", "--stacks", "-q", "-o", t, "--",
         env.wl("usarena"), "-"])
    rel, _ = report(env.madvtrace, t)
    want = "glibc malloc new arena heap, its alignment trimmed (new_heap) \u2190 " \
           "first_malloc (usarena.c:%d)" % line
    g = [g for g in rel["groups"] if g["label"] == want]
    check(len(g) == 1 and g[0]["releaser"] == "c_allocator" and g[0]["unmap_calls"] >= 1,
          "arena: no group %r in %s" % (want, [(g["label"], g["releaser"]) for g in rel["groups"]]))
    print("ok ptrace, a new arena: %s (%d MiB in %d munmap calls)" %
          (want, g[0]["unmapped_bytes"] >> 20, g[0]["unmap_calls"]))


def test_cgo(env):
    """C called by Go: both sides of the call in one stack."""
    exe = os.environ.get("MT_CGOREL", "")
    if not exe:
        check(os.environ.get("CI") != "true", "no Go: the cgo case cannot run (MT_CGOREL)")
        print("note: no Go, the cgo case is not run")
        return
    lines = marks(os.path.join("..", "go", "cgorel", "main.go"))
    t = env.path("cgo.mtr")
    run([env.madvtrace, "--backend", "bpf", "--stacks", "-q", "-o", t, "--", exe])
    rel, _ = report(env.madvtrace, t)
    st = [s for s in rel["top_stacks"] if "MADV_DONTNEED" in s["by_call"] and s["unwound"]]
    check(len(st) == 1, "cgo: the MADV_DONTNEED stack: %s" % rel["top_stacks"])
    fr = st[0]["frames"]
    names = [f["function"] for f in fr]
    c_side = [(f["function"], f["line"]) for f in fr if f["function"] in ("c_trim", "c_release")]
    check(c_side == [("c_trim", lines["madvise"]), ("c_release", lines["c_trim"])],
          "cgo: the C side %s (frames %s)" % (c_side, names))
    check(all(not f["kernel_walk"] for f in fr[:names.index("c_release") + 1]),
          "cgo: the C side should be unwound: %s" % fr)
    go_side = [f["function"] for f in fr if f["kernel_walk"]]
    check("main.goCaller" in go_side and "main.main" in go_side and
          go_side.index("main.goCaller") < go_side.index("main.main"),
          "cgo: the Go side from the kernel's walk %s (frames %s)" % (go_side, names))
    print("ok cgo: %s" % " <- ".join(n for n in names if n))


def test_alloc(env, be):
    """usalloc under each allocator by LD_PRELOAD: the allocator, and cache_evict above it."""
    line = marks("usalloc.c")["free"]
    for name, (lib, env_add) in ALLOCATORS.items():
        penv = dict(os.environ, LD_PRELOAD=os.path.join(LIBDIR, lib), **env_add)
        t = env.path("%s-%s.mtr" % (be, name))
        run([env.madvtrace, "--backend", be, "--stacks", "-q", "-o", t, "--",
             env.wl("usalloc"), "-"], env=penv)
        rel, _ = report(env.madvtrace, t)
        top = rel["groups"][0] if rel["groups"] else {"label": None}
        app = "\u2190 cache_evict (usalloc.c:%d)" % line
        check(top["label"] and top["label"].startswith(name) and top["label"].endswith(app),
              "%s, %s: top group %r, want %s ... %s" % (be, name, top["label"], name, app))
        print("ok %s, %s: %s" % (be, name, top["label"]))


if __name__ == "__main__":
    mtest.main(test, __doc__, options=[(("--backends",), {"default": "bpf,ptrace,preload"})])
