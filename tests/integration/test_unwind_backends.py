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
read glibc malloc ... <- release_big at the line of its free() call.

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
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "workloads")


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def marks(src):
    out = {}
    with open(os.path.join(SRC, src)) as f:
        for i, line in enumerate(f, 1):
            m = re.search(r"CALL:(\w+)", line)
            if m:
                out[m.group(1)] = i
    return out


def run(cmd, env=None):
    cp = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    if cp.returncode != 0:
        fail("%s exited %d: %s" % (" ".join(cmd), cp.returncode, cp.stderr.strip()))
    return cp


def app_frames(st):
    """From the first frame of the program's own code outwards, up to main."""
    fr = st["frames"]
    names = [f["function"] for f in fr]
    check("main" in names, "no main in %s" % names)
    first = next((i for i, f in enumerate(fr) if f["file"] and f["file"].endswith("uschain_g")),
                 None)
    check(first is not None, "no frame of the program in %s" % names)
    return fr[first:names.index("main") + 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--workloads", required=True)
    ap.add_argument("--backends", default="bpf,ptrace,preload")
    ap.add_argument("--tally32", help=argparse.SUPPRESS)  # what every integration test is given
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (bpf)")
        sys.exit(77)
    lines = marks("uschain.c")
    exe = os.path.join(args.workloads, "uschain_g")
    with tempfile.TemporaryDirectory(prefix="mt-unwind-be-") as tmp:
        for be in args.backends.split(","):
            t = os.path.join(tmp, be + ".mtr")
            run([args.madvtrace, "--backend", be, "--stacks", "-q", "-o", t, "--", exe, "-"])
            check_uschain(args.madvtrace, be, t, lines)
            # the same program exec'd by a shell that ran a while: the libraries both map, at
            # other places, must be the new program's (the unwinder once kept bash's libc)
            t = os.path.join(tmp, be + "-exec.mtr")
            run([args.madvtrace, "--backend", be, "--stacks", "-q", "-o", t, "--", "/bin/bash",
                 "-c", "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; exec %s -" % exe])
            check_uschain(args.madvtrace, be + " after bash's exec", t, lines)
        for be in ("bpf", "ptrace", "preload"):
            if be in args.backends.split(","):
                test_alloc(args.madvtrace, args.workloads, tmp, be)
        if "bpf" in args.backends.split(","):
            test_cgo(args.madvtrace, tmp)
        if "ptrace" in args.backends.split(","):
            test_arena(args.madvtrace, args.workloads, tmp)


def test_arena(mt, wl, tmp):
    """A thread's first malloc: its arena's munmap is glibc's, under the caller of malloc.

    Under ptrace, which holds the program at its exit while its mappings are read:
    it runs for a millisecond (under bpf the recorder may find it gone)."""
    line = marks("usarena.c")["malloc"]
    t = os.path.join(tmp, "arena.mtr")
    run([mt, "--backend", "ptrace", "--stacks", "-q", "-o", t, "--",
         os.path.join(wl, "usarena"), "-"])
    rel = json.loads(run([mt, "report", "--format", "json", t]).stdout)["releasers"]
    want = "glibc malloc new arena heap, its alignment trimmed (new_heap) \u2190 " \
           "first_malloc (usarena.c:%d)" % line
    g = [g for g in rel["groups"] if g["label"] == want]
    check(len(g) == 1 and g[0]["releaser"] == "c_allocator" and g[0]["unmap_calls"] >= 1,
          "arena: no group %r in %s" % (want, [(g["label"], g["releaser"]) for g in rel["groups"]]))
    print("ok ptrace, a new arena: %s (%d MiB in %d munmap calls)" %
          (want, g[0]["unmapped_bytes"] >> 20, g[0]["unmap_calls"]))


def check_uschain(mt, be, t, lines):
    """uschain's release stacks in trace t: its chain and free()'s, at their lines."""
    rel = json.loads(run([mt, "report", "--format", "json", t]).stdout)
    rel = rel["releasers"]
    text = run([mt, "report", t]).stdout
    dn = [s for s in rel["top_stacks"] if "MADV_DONTNEED" in s["by_call"]]
    check(sum(s["by_call"]["MADV_DONTNEED"]["calls"] for s in dn) == 3,
          "%s: the 3 madvise calls are not all in the top stacks: %s" %
          (be, rel["top_stacks"]))
    for st in dn:
        check(st["unwound"], "%s: a stack not unwound: %s" % (be, st))
        ch = app_frames(st)
        got = [(f["function"], f["line"]) for f in ch]
        want = [("trim_pages", lines["madvise"]), ("pool_trim", lines["trim_pages"]),
                ("worker", lines["pool_trim"]), ("main", lines["worker"])]
        check(got == want, "%s: chain %s, the source says %s" % (be, got, want))
        check(st["group"] == "trim_pages (uschain.c:%d)" % lines["madvise"],
              "%s: group %r" % (be, st["group"]))
    check(re.search(r"pool_trim\+0x[0-9a-f]+ \(uschain.c:%d\)" % lines["trim_pages"],
                    text),
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


def test_cgo(mt, tmp):
    """C called by Go: both sides of the call in one stack."""
    exe = os.environ.get("MT_CGOREL", "")
    if not exe:
        check(os.environ.get("CI") != "true", "no Go: the cgo case cannot run (MT_CGOREL)")
        print("note: no Go, the cgo case is not run")
        return
    with open(os.path.join(SRC, "..", "go", "cgorel", "main.go")) as f:
        lines = {m.group(1): i for i, l in enumerate(f, 1)
                 for m in [re.search(r"CALL:(\w+)", l)] if m}
    t = os.path.join(tmp, "cgo.mtr")
    run([mt, "--backend", "bpf", "--stacks", "-q", "-o", t, "--", exe])
    rel = json.loads(run([mt, "report", "--format", "json", t]).stdout)["releasers"]
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


ALLOCATORS = {
    "jemalloc": ("libjemalloc.so.2", {"MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"}),
    "tcmalloc": ("libtcmalloc.so.4", {"TCMALLOC_AGGRESSIVE_DECOMMIT": "1"}),
    "mimalloc": ("libmimalloc.so.2", {"MIMALLOC_PURGE_DELAY": "0", "MIMALLOC_RESET_DELAY": "0"}),
}


def test_alloc(mt, wl, tmp, be):
    """usalloc under each allocator by LD_PRELOAD: the allocator, and cache_evict above it."""
    with open(os.path.join(SRC, "usalloc.c")) as f:
        line = next(i for i, l in enumerate(f, 1) if "CALL:free" in l)
    for name, (lib, env_add) in ALLOCATORS.items():
        env = dict(os.environ, LD_PRELOAD="/usr/lib/x86_64-linux-gnu/" + lib, **env_add)
        t = os.path.join(tmp, "%s-%s.mtr" % (be, name))
        run([mt, "--backend", be, "--stacks", "-q", "-o", t, "--",
             os.path.join(wl, "usalloc"), "-"], env=env)
        rel = json.loads(run([mt, "report", "--format", "json", t]).stdout)["releasers"]
        top = rel["groups"][0] if rel["groups"] else {"label": None}
        app = "\u2190 cache_evict (usalloc.c:%d)" % line
        check(top["label"] and top["label"].startswith(name) and top["label"].endswith(app),
              "%s, %s: top group %r, want %s ... %s" % (be, name, top["label"], name, app))
        print("ok %s, %s: %s" % (be, name, top["label"]))


if __name__ == "__main__":
    main()
