#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Programs that exit within milliseconds are still described (issue 13: the
description moved off the draining path, to the info worker, must not
come too late for them). `madvtrace -f` runs a shell loop of RUNS
`sleep 0.003` and RUNS `true`:

  - bpf: every `sleep 0.003` has an exe= record naming the program. Before
    the exec record woke the reader and the worker's ask pinned the
    program, 8 of 20 did in this loop (0 of 20 run alone: the reader polled
    every 50 ms, the process was gone by then). How many `true` runs (about
    a millisecond each) are described is only printed: 3 to 9 of 20 in this
    loop and 20 of 20 run alone here, 1 and 0 before; it depends on how
    soon the reader runs on a busy machine;
  - preload: every `sleep 0.003` (a guard: so it was before the worker).

The oracle for which programs ran: the exec records (the kernel's
sched_process_exec under bpf; the agent's under preload) and the count
the loop makes; exe= must name the file (realpath of `command -v`), and
a binary= record (its ELF file read) must come with it.

    test_sec_shortlived.py --madvtrace PATH --workloads DIR
"""
import os
import shutil

import mtest
from mtest import check, log

RUNS = 20


def described(env, backend, prog, arg):
    trace = env.path(f"{backend}-{os.path.basename(prog)}.mtr")
    script = f"for i in $(seq {RUNS}); do {prog} {arg}; done"
    cp = mtest.run([env.madvtrace, "--backend", backend, "-q", "-f", "-o", trace, "--",
                    "/bin/sh", "-c", script], timeout=120)
    check(cp.returncode == 0, f"{backend}: {mtest.show(cp)}")
    recs = mtest.dump(env, trace)
    comm = os.path.basename(prog)[:15]
    execs = {r["pid"] for r in recs if r["type"] == "task" and r.get("event") == "exec"
             and r.get("comm") == comm}
    check(len(execs) == RUNS, f"{backend}: {len(execs)} execs of {prog} recorded, {RUNS} made")
    named = {r["pid"] for r in recs if r["type"] == "info" and r.get("key") == "exe"
             and r.get("value") == prog}
    # and its ELF file read (from the pinned program once the process is gone)
    binary = {r["pid"] for r in recs if r["type"] == "info" and r.get("key") == "binary"}
    check(named <= binary, f"{backend}: pids {sorted(named - binary)} have exe= but no binary=")
    return len(named & execs)


def test(env):
    sleep = os.path.realpath(shutil.which("sleep"))
    true = os.path.realpath(shutil.which("true"))
    got = {}
    for backend in ("bpf", "preload"):
        n = described(env, backend, sleep, "0.003")
        got[(backend, "sleep 0.003")] = n
        check(n == RUNS, f"{backend}: {n} of {RUNS} runs of sleep 0.003 described")
    got[("bpf", "true")] = described(env, "bpf", true, "")
    log("described: " + ", ".join(f"{b} {p}: {n}/{RUNS}" for (b, p), n in got.items()))


if __name__ == "__main__":
    mtest.main(test, __doc__)
