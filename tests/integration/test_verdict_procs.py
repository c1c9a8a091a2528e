#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The verdict explains the processes that matter, and never reads absence
from a backend that could not see.

  - `-f` on tests/workloads/fork2, a parent that starts two children which
    release 8 and 32 MiB with MADV_DONTNEED and print their pid and bytes:
    the verdict lists the two children, the larger release first, each with
    its own findings (their pid in the JSON) whose figures are the child's
    own.
  - --backend=preload on a dynamically linked Go program (tests/go/binfo
    built with cgo) that grows its heap by 64 MiB and releases it with
    debug.FreeOSMemory: the agent cannot see the Go runtime's raw system
    calls, and the verdict must say so and point to bpf or ptrace; a verdict
    that says nothing was released fails. The bpf backend, on the same
    program, must see the release (so the program did release).
"""
import json
import os
import re

import mtest
from mtest import check, log, MIB


def findings(env, trace):
    cp = mtest.run([env.madvtrace, "report", "--format", "json", trace], timeout=60)
    check(cp.returncode == 0, f"report: {mtest.show(cp)}")
    return json.loads(cp.stdout)["summary"]["findings"]


def fork2(env):
    trace = env.path("fork2.mtr")
    cp = mtest.run([env.madvtrace, "-q", "-f", "-o", trace, "--", env.wl("fork2")], timeout=60)
    check(cp.returncode == 0, f"fork2: {mtest.show(cp)}")
    own = [tuple(map(int, m.groups()))
           for m in re.finditer(r"pid (\d+) released (\d+)", cp.stdout)]
    check(len(own) == 2, f"fork2 said {cp.stdout!r}")
    fs = findings(env, trace)
    procs = [f for f in fs if f["kind"] == "processes"]
    check(procs, f"fork2: no 'processes' finding in {[f['kind'] for f in fs]}")
    listed = [int(p) for p in re.findall(r"pid (\d+) \(", procs[0]["text"])]
    want = [pid for pid, _ in sorted(own, key=lambda x: -x[1])]
    check(listed[:2] == want, f"fork2: processes listed {listed}, want {want} (most released "
                              f"first): {procs[0]['text']}")
    for pid, released in own:
        mine = [f for f in fs if f.get("pid") == pid]
        eager = [f for f in mine if f["kind"] == "eager_release"]
        check(eager, f"fork2: pid {pid} has no eager_release finding of its own")
        m = re.search(r"MADV_DONTNEED released ([\d.]+) (KiB|MiB|GiB)", eager[0]["text"])
        check(m and mtest.size_near(m.group(1), m.group(2), released),
              f"fork2: pid {pid} released {released}, its finding says {eager[0]['text']}")
    log(f"fork2 -f: {want} explained in order of what they released, each with its own figures")


def preload_go(env, binfo):
    for backend, as_user in (("preload", False), ("bpf", False)):
        trace = env.path(f"go-{backend}.mtr")
        cp = mtest.run([env.madvtrace, "-q", "--backend", backend, "-o", trace, "--", binfo,
                        "-release", "64"], timeout=60)
        check(cp.returncode == 0, f"{backend}: {mtest.show(cp)}")
        fs = findings(env, trace)
        text = " ".join(f["text"] for f in fs)
        if backend == "bpf":
            check(re.search(r"MADV_(DONTNEED|FREE) released", text),
                  f"bpf saw no release of the Go program: {text[:400]}")
            continue
        check(not re.search(r"No memory was released", text),
              f"preload: the verdict says nothing was released: {text[:600]}")
        blind = [f for f in fs if f["kind"] == "blind"]
        check(blind and "--backend=bpf" in blind[0]["text"] and "Go runtime" in blind[0]["text"],
              f"preload: no 'blind' finding naming the Go runtime and the bpf backend: "
              f"{[f['kind'] for f in fs]}")
    log("preload on a dynamic Go program: the verdict says what it cannot see and names bpf; "
        "bpf on the same program sees the release")


def test(env):
    fork2(env)
    binfo = os.path.join(os.path.dirname(env.wl("tally")), "binfo", "dynamic")
    if not os.access(binfo, os.X_OK):
        mtest.skip(f"{binfo} not built (Go)")
    preload_go(env, binfo)


if __name__ == "__main__":
    mtest.main(test, __doc__)
