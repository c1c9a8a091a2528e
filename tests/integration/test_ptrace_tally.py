#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The ptrace backend, as an unprivileged user, against tally's own account of
its calls: launch mode (4 threads; a forked child with and without -f), attach
mode (8 threads), a 32-bit tally, and the same single-threaded run under the
bpf backend (root only) giving the same calls, addresses and advice.
"""
import os
import signal
import subprocess

import mtest
import ptrace_env
from mtest import check, log, show


def launch(env):
    trace, out = env.path("launch.mtr"), env.path("launch.jsonl")
    cp = mtest.run(env.mt("-q", "-o", trace, "--", env.wl("tally"), "-t", "4", "-n", "32",
                          "-o", out))
    check(cp.returncode == 0, f"madvtrace -- tally failed: {show(cp)}")
    tally = mtest.read_tallies(out)[0]
    recs = mtest.dump(env, trace)
    counts = mtest.compare_tally(recs, tally)
    check(len(ptrace_env.tasks(recs, "clone", tally["pid"])) == 3,
          "expected 3 clone records for tally's 3 threads")
    check(len(ptrace_env.tasks(recs, "thread_exit", tally["pid"])) == 3,
          "expected 3 thread_exit records")
    ex = ptrace_env.tasks(recs, "exit", tally["pid"])
    check(len(ex) == 1 and ex[0]["code"] == 0, f"expected one exit record with code 0: {ex}")
    log(f"launch: 4 threads, {counts} recorded exactly as tallied")


def launch_fork(env, follow):
    name = "fork-f" if follow else "fork"
    trace, out = env.path(f"{name}.mtr"), env.path(f"{name}.jsonl")
    cp = mtest.run(env.mt("-q", "-o", trace, *(["-f"] if follow else []), "--", env.wl("tally"),
                          "-t", "2", "-n", "16", "-F", "-o", out))
    check(cp.returncode == 0, f"madvtrace {'-f ' if follow else ''}-- tally -F failed: {show(cp)}")
    tallies = {t["role"]: t for t in mtest.read_tallies(out)}
    check(set(tallies) == {"main", "child"}, f"expected a main and a child tally: {tallies}")
    main, child = tallies["main"], tallies["child"]
    # the child inherits the seccomp filter: untraced by us, its calls would fail with ENOSYS
    check(child["errors"]["other"] == 0, f"the child's calls failed: {child['errors']}")
    recs = mtest.dump(env, trace)
    mtest.compare_tally(recs, main)
    forks = ptrace_env.tasks(recs, "fork", main["pid"])
    check(len(forks) == 1 and forks[0]["other_pid"] == child["pid"],
          f"expected one fork record naming the child {child['pid']}: {forks}")
    if follow:
        counts = mtest.compare_tally(recs, child)
        log(f"launch -f: the forked child's {counts} recorded exactly as tallied")
    else:
        theirs = [r for r in recs if r["pid"] == child["pid"]]
        check(not theirs, f"without -f, {len(theirs)} records of the child, e.g. {theirs[:1]}")
        log("launch without -f: the child ran its calls untraced in effect, nothing recorded")


def attach(env):
    trace, out = env.path("attach.mtr"), env.path("attach.jsonl")
    tally = subprocess.Popen(env.user([env.wl("tally"), "-t", "8", "-n", "32", "-w", "60",
                                       "-o", out]),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    mt = None
    try:
        pid = ptrace_env.read_ready(tally.stderr)
        mt = subprocess.Popen(env.mt("-q", "-o", trace, "-p", str(pid)),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        lines = ptrace_env.wait_attached(mt.stderr)
        check(any("slower" in l for l in lines), f"no line saying attach mode is slower: {lines}")
        os.kill(pid, signal.SIGUSR1)
        check(tally.wait(timeout=120) == 0, f"tally exited with {tally.returncode}")
        rc = mt.wait(timeout=30)
        check(rc == 0, f"madvtrace -p exited with {rc}: {mt.stderr.read()}")
    finally:
        ptrace_env.stop(tally)
        ptrace_env.stop(mt)
    t = mtest.read_tallies(out)[0]
    recs = mtest.dump(env, trace)
    counts = mtest.compare_tally(recs, t)
    check(ptrace_env.tasks(recs, "attach", pid), "no attach record")
    log(f"attach: 8 threads, {counts} recorded exactly as tallied")


def tally32(env):
    if not env.tally32:
        log("no 32-bit tally (gcc-multilib): i386 part skipped")
        return
    trace, out = env.path("t32.mtr"), env.path("t32.jsonl")
    cp = mtest.run(env.mt("-q", "-o", trace, "--", env.tally32, "-t", "2", "-n", "16", "-o", out))
    check(cp.returncode == 0, f"madvtrace -- tally32 failed: {show(cp)}")
    t = mtest.read_tallies(out)[0]
    counts = mtest.compare_tally(mtest.dump(env, trace), t, abi="i386")
    log(f"i386: {counts} recorded exactly as tallied, all marked i386")


def same_as_bpf(env):
    """Single-threaded, no ASLR: bpf (root) and ptrace (user) see the same calls."""
    if not env.root:
        log("not root: the comparison with the bpf backend is skipped")
        return
    norm = lambda t: [{k: v for k, v in c.items() if k != "tid"} for c in t["calls"]]
    runs = {}
    for backend in ("bpf", "ptrace"):
        trace, out = env.path(f"cmp-{backend}.mtr"), env.path(f"cmp-{backend}.jsonl")
        cmd = ["setarch", "-R", env.wl("tally"), "-t", "1", "-n", "32", "-o", out]
        if backend == "bpf":
            cp = mtest.run([env.orig_madvtrace, "--backend", "bpf", "-q", "-o", trace, "-u", env.who,
                            "--"] + cmd)
        else:
            cp = mtest.run(env.mt("-q", "-o", trace, "--", *cmd))
        check(cp.returncode == 0, f"the {backend} run failed: {show(cp)}")
        t = mtest.read_tallies(out)[0]
        recs = mtest.dump(env, trace)
        mtest.compare_tally(recs, t)
        runs[backend] = (t, recs)
    tb, tp = runs["bpf"][0], runs["ptrace"][0]
    check(norm(tb) == norm(tp),
          "without ASLR the two runs made different calls (addresses or results differ)")

    def window(t, recs):
        keys = ("type", "addr", "len", "ret", "advice", "prot", "flags", "old_addr", "old_len",
                "new_len", "new_addr", "fd", "off")
        seq = [r for r in mtest.syscall_records(recs, t["pid"])]
        b = next(i for i, r in enumerate(seq) if mtest.is_marker(r, t["markers"]["begin"]))
        e = next(i for i, r in enumerate(seq) if mtest.is_marker(r, t["markers"]["end"]))
        return [{k: r.get(k) for k in keys} for r in seq[b:e + 1]]

    wb, wp = window(*runs["bpf"]), window(*runs["ptrace"])
    check(wb == wp, "bpf and ptrace recorded the same run differently")
    log(f"bpf and ptrace: the same {len(wp)} calls, addresses, results and advice")


def test(env):
    launch(env)
    launch_fork(env, follow=False)
    launch_fork(env, follow=True)
    attach(env)
    tally32(env)
    same_as_bpf(env)


if __name__ == "__main__":
    ptrace_env.main(test, __doc__)
