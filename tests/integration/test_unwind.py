#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Release stacks unwound without frame pointers and symbolized through
every mapped file (issue 12), on workloads that record their own release
calls with registers and stack bytes (workloads/uscap.c), built with
-O2 -fomit-frame-pointer.

Oracle: each workload's own call chain, marked in its source (`CALL:x` on
the line that calls x): the report must name every frame of the chain, in
order, and where DWARF exists, the line of each call; the C++ names as the
source spells them; and under each allocator (LD_PRELOAD, told to give
memory back at once) the allocator and the application function above it.

- uschain without -g: names from .symtab;
- with -g split off by objcopy into a debuglink file: names, lines, and the
  inlined function as a frame of its own;
- stripped, its debug file under DIR/.build-id/: named with --debug-dir DIR
  (and MADVTRACE_DEBUGINFO_PATH), file+offset without, the report saying why;
- a file replaced by another build after recording, and a file deleted:
  file+offset and the reason;
- uscpp: the namespace's template method and member function, demangled;
- usrust: Rust symbol names (legacy and v0 manglings), demangled;
- usalloc under glibc, jemalloc, tcmalloc, mimalloc.

Usage: test_unwind.py --madvtrace PATH --workloads DIR
"""
import os
import re
import shutil

import mtest
from mtest import check
from unwind_lib import ALLOCATORS, LIBDIR, marks, report, run, stacks_by_call


def frames(st):
    return [f["function"] for f in st["frames"]]


def app_chain(st, wrapper):
    """The frames from the syscall wrapper's caller outwards, up to main."""
    fn = frames(st)
    check(fn and fn[0] and wrapper in fn[0],
          "frame 0 is %r, not libc's %s wrapper: %s" % (fn[0] if fn else None, wrapper, fn))
    check("main" in fn, "no main in the stack: %s" % fn)
    return st["frames"][1:fn.index("main") + 1]


def check_chain(rel, text, lines, named_lines, what):
    """main -> worker -> pool_trim -> madvise and main -> release_big -> free -> munmap."""
    dn = stacks_by_call(rel, "MADV_DONTNEED")
    check(len(dn) >= 1, "%s: no MADV_DONTNEED stack: %s" % (what, rel["top_stacks"]))
    for st in dn:
        ch = app_chain(st, "madvise")
        names = [f["function"] for f in ch]
        if named_lines:
            # DWARF: trim_pages, inlined into pool_trim, is a frame of its own
            check(names == ["trim_pages", "pool_trim", "worker", "main"] and ch[0]["inlined"],
                  "%s: madvise chain %s, not trim_pages (inlined) <- pool_trim <- worker <- "
                  "main" % (what, names))
            got = [f["line"] for f in ch]
            want = [lines["madvise"], lines["trim_pages"], lines["pool_trim"], lines["worker"]]
            check(got == want, "%s: madvise chain lines %s, the source says %s" % (what, got, want))
            check(all(f["src"] and f["src"].endswith("uschain.c") for f in ch),
                  "%s: source files %s" % (what, [f["src"] for f in ch]))
            check(st["group"] == "trim_pages (uschain.c:%d)" % lines["madvise"],
                  "%s: group %r" % (what, st["group"]))
        else:
            check(names == ["pool_trim", "worker", "main"],
                  "%s: madvise chain %s, not pool_trim <- worker <- main" % (what, names))
            check(st["group"] == "pool_trim", "%s: group %r" % (what, st["group"]))
    um = stacks_by_call(rel, "munmap")
    check(len(um) == 1, "%s: %d munmap stacks, want the one free()" % (what, len(um)))
    ch = app_chain(um[0], "munmap")
    names = [f["function"] for f in ch]
    check(names[-2:] == ["release_big", "main"] and len(names) >= 3,
          "%s: free chain %s" % (what, names))
    check(um[0]["releaser"] == "c_allocator", "%s: free's releaser %r" % (what, um[0]["releaser"]))
    check(um[0]["group"].startswith("glibc malloc") and "\u2190 release_big" in um[0]["group"],
          "%s: free's group %r" % (what, um[0]["group"]))
    if named_lines:
        rb = ch[-2]
        check(rb["line"] == lines["free"], "%s: release_big's line %s, source %d" %
              (what, rb["line"], lines["free"]))
    for fn in ("pool_trim", "worker", "release_big"):
        check(re.search(r"\b%s\+0x" % fn, text), "%s: text report does not name %s" % (what, fn))
    check(rel["unwound_calls"] == 4 and rel["unpaired_calls"] == 0,
          "%s: %d calls unwound, %d unpaired; the workload made 4" %
          (what, rel["unwound_calls"], rel["unpaired_calls"]))


def build_id(path):
    out = run(["readelf", "-n", path]).stdout
    m = re.search(r"Build ID: ([0-9a-f]+)", out)
    check(m, "%s has no build id" % path)
    return m.group(1)


def test_chain(mt, wl, tmp):
    lines = marks("uschain.c")
    t = os.path.join(tmp, "nog.mtr")
    run([os.path.join(wl, "uschain_nog"), t])
    rel, text = report(mt, t)
    check_chain(rel, text, lines, False, "no -g")
    print("ok uschain without -g: every frame named from .symtab")

    # -g split off into a debuglink file beside the program
    d = os.path.join(tmp, "link")
    os.mkdir(d)
    exe = os.path.join(d, "uschain")
    shutil.copy(os.path.join(wl, "uschain_g"), exe)
    run(["objcopy", "--only-keep-debug", "uschain", "uschain.debug"], cwd=d)
    run(["objcopy", "--strip-debug", "--add-gnu-debuglink=uschain.debug", "uschain"], cwd=d)
    t = os.path.join(tmp, "link.mtr")
    run([exe, t])
    rel, text = report(mt, t)
    check_chain(rel, text, lines, True, "debuglink")
    print("ok uschain, -g split off by debuglink: names and source lines")
    # a FIFO where the debug file was: not opened (report would wait), names from .symtab
    os.rename(os.path.join(d, "uschain.debug"), os.path.join(d, "uschain.debug.bak"))
    os.mkfifo(os.path.join(d, "uschain.debug"))
    rel, text = report(mt, t)
    check_chain(rel, text, lines, False, "debuglink to a FIFO")
    print("ok a FIFO in the debug file's place: not opened, names without lines")

    # stripped, with its debug file under a build-id directory
    d = os.path.join(tmp, "strip")
    dbg = os.path.join(tmp, "debugroot")
    os.mkdir(d)
    exe = os.path.join(d, "uschain")
    shutil.copy(os.path.join(wl, "uschain_g"), exe)
    bid = build_id(exe)
    os.makedirs(os.path.join(dbg, ".build-id", bid[:2]))
    run(["objcopy", "--only-keep-debug", exe,
         os.path.join(dbg, ".build-id", bid[:2], bid[2:] + ".debug")])
    run(["strip", "--strip-all", exe])
    t = os.path.join(tmp, "strip.mtr")
    run([exe, t])
    rel, text = report(mt, t)
    bad = [f for f in rel["files_not_used"] if f["path"] == exe]
    check(bad and "debug file" in bad[0]["problem"],
          "stripped, no debug dir: the report does not say why %s has no names: %s" %
          (exe, rel["files_not_used"]))
    dn = stacks_by_call(rel, "MADV_DONTNEED")[0]
    mine = [f for f in dn["frames"] if f["file"] == exe]
    check(mine and all(f["function"] is None and f["file_offset"] for f in mine),
          "stripped: frames of the program %s" % mine)
    check(re.search(r"uschain\+0x[0-9a-f]+", text), "stripped: no file+offset in the text report")
    print("ok stripped without its debug file: file+offset, and why")
    rel, text = report(mt, t, "--debug-dir", dbg)
    check_chain(rel, text, lines, True, "build-id dir")
    env = dict(os.environ, MADVTRACE_DEBUGINFO_PATH=dbg)
    rel, text = report(mt, t, env=env)
    check_chain(rel, text, lines, True, "MADVTRACE_DEBUGINFO_PATH")
    print("ok stripped with --debug-dir / MADVTRACE_DEBUGINFO_PATH: names and lines")

    # another build in its place, then no file at all
    shutil.copy(os.path.join(wl, "uschain_nog"), exe)
    rel, text = report(mt, t)
    bad = [f for f in rel["files_not_used"] if f["path"] == exe]
    check(bad and "another build" in bad[0]["problem"] and bid in bad[0]["problem"],
          "replaced file: %s" % rel["files_not_used"])
    os.unlink(exe)
    rel, text = report(mt, t)
    bad = [f for f in rel["files_not_used"] if f["path"] == exe]
    check(bad and "cannot open" in bad[0]["problem"], "deleted file: %s" % rel["files_not_used"])
    check(exe in text and "cannot open" in text, "deleted file: the text report does not say")
    dn = stacks_by_call(rel, "MADV_DONTNEED")[0]
    check(frames(dn)[0] and "madvise" in frames(dn)[0],
          "deleted program: libc's frames should still be named: %s" % frames(dn))
    print("ok a replaced and a deleted program: file+offset, and why")


def check_names(mt, wl, tmp, prog, want, in_text):
    """prog's one MADV_DONTNEED stack: its chain reads want, the names as the source spells them."""
    t = os.path.join(tmp, prog + ".mtr")
    run([os.path.join(wl, prog), t])
    rel, text = report(mt, t)
    st = stacks_by_call(rel, "MADV_DONTNEED")
    check(len(st) == 1, "%s: %d stacks" % (prog, len(st)))
    names = [f["function"] for f in app_chain(st[0], "madvise")]
    check(names == want, "%s: %s, want %s" % (prog, names, want))
    check(not in_text or want[0] in text, "%s: text report" % prog)
    return " <- ".join(names)


def test_cpp(mt, wl, tmp):
    want = ["pool::Arena<int>::trim(unsigned long)", "store::Cache::evict(int)", "main"]
    print("ok C++: %s" % check_names(mt, wl, tmp, "uscpp", want, True))


def test_rust(mt, wl, tmp):
    # the paths the symbols encode (legacy: hash dropped; v0)
    want = ["mycrate::cache::trim", "mycrate::cache::evict", "main"]
    print("ok Rust names (v0, legacy): %s" % check_names(mt, wl, tmp, "usrust", want, False))


def test_alloc(mt, wl, tmp):
    line = marks("usalloc.c")["free"]
    runs = {"glibc": (None, {})}
    runs.update(ALLOCATORS)
    for name, (lib, env_add) in runs.items():
        env = dict(os.environ, **env_add)
        if lib:
            path = os.path.join(LIBDIR, lib)
            check(os.path.exists(path), "%s is not installed (scripts/setup.sh)" % path)
            env["LD_PRELOAD"] = path
        t = os.path.join(tmp, "alloc-%s.mtr" % name)
        run([os.path.join(wl, "usalloc"), t], env=env)
        rel, text = report(mt, t)
        check(rel["groups"], "%s: no groups: %s" % (name, rel))
        top = rel["groups"][0]
        label = "glibc malloc" if name == "glibc" else name
        app = "cache_evict (usalloc.c:%d)" % line
        check(top["releaser"] == "c_allocator" and top["label"].startswith(label) and
              top["label"].endswith("\u2190 " + app),
              "%s: top group %r, want %s ... \u2190 %s" % (name, top["label"], label, app))
        check(top["label"] in text, "%s: the text report lacks the group" % name)
        print("ok %s: %s" % (name, top["label"]))


def test(env):
    for tool in ("objcopy", "strip", "readelf"):
        check(shutil.which(tool), "%s is missing (binutils)" % tool)
    test_chain(env.madvtrace, env.workloads, env.tmp)
    test_cpp(env.madvtrace, env.workloads, env.tmp)
    test_rust(env.madvtrace, env.workloads, env.tmp)
    test_alloc(env.madvtrace, env.workloads, env.tmp)


if __name__ == "__main__":
    mtest.main(test, __doc__, root=False)
