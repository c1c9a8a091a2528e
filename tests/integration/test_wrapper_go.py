#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
A wrapper that execs a Go program gets what the Go program started directly
gets. The spike (GODEBUG=madvdontneed=0, -gcpercent -1: debug.FreeOSMemory
releases nearly everything) is recorded (bpf backend):

  direct   spike
  env      env GODEBUG=madvdontneed=0 spike
  sh       sh -c 'exec spike'
  script   a shell script that forks helpers (true, sleep) and then execs spike

and for each: release stacks recorded (the default for a Go program, decided
at its exec), debug.FreeOSMemory named as the releaser of most of what the
spike says its step released (with the scavenger, all of it), the spike's go_version and
env.GODEBUG in the info records of its pid, the GODEBUG sentence in the
verdict, and the verdict's end figures (LazyFree) within 8 MiB of the
spike's own smaps_rollup.

    test_wrapper_go.py --madvtrace PATH --workloads DIR --spike PATH [...]
"""
import json
import os
import re
import subprocess
import sys

import mtest

MIB = 1 << 20


def record(env, tag, cmd):
    trace = env.path(tag + ".mtr")
    cp = subprocess.run([env.madvtrace, "-q", "-o", trace, "--", *cmd],
                        env=dict(os.environ, GODEBUG="madvdontneed=0"), capture_output=True,
                        text=True, timeout=180)
    mtest.check(cp.returncode == 0, f"{tag}: madvtrace exited {cp.returncode}: {cp.stderr[-1500:]}")
    objs = [json.loads(l) for l in cp.stdout.splitlines() if l.startswith("{")]
    mtest.check(len(objs) == 1, f"{tag}: the spike printed {len(objs)} JSON objects")
    rep = subprocess.run([env.madvtrace, "report", "--format", "json", trace],
                         capture_output=True, text=True, timeout=120)
    mtest.check(rep.returncode == 0, f"{tag}: report failed: {rep.stderr}")
    return trace, objs[0], json.loads(rep.stdout)


def check_one(env, tag, cmd, want_version):
    trace, spike, doc = record(env, tag, cmd)
    s, r = doc["summary"], doc["releasers"]
    mtest.check(r["stacks_recorded"], f"{tag}: no release stacks recorded")
    fos = r["by_releaser"].get("free_os_memory", {}).get("released_bytes", 0)
    bg = r["by_releaser"].get("bgscavenge", {}).get("released_bytes", 0)
    step = spike["step_released"]
    # what the scavenger still does runs during that step (test_go_releasers.py)
    mtest.check(fos >= 0.75 * step and fos + bg >= step - 8 * MIB,
                f"{tag}: debug.FreeOSMemory released {fos / MIB:.1f} MiB in the report, the "
                f"spike says its step released {step / MIB:.1f} MiB: {r['by_releaser']}")
    recs = mtest.dump(env, trace)
    pid = next(x["pid"] for x in recs if x["type"] == "task" and x["event"] == "launch")
    last = {}
    for x in recs:
        if x["pid"] != pid:
            continue
        if x["type"] == "task" and x["event"] == "exec":
            last = {}  # what the program before said is not the spike's
        elif x["type"] == "info":
            last[x["key"]] = x["value"]
    mtest.check(last.get("go_version", "").startswith("go1."), f"{tag}: go_version {last}")
    if want_version:
        mtest.check(last["go_version"] == want_version,
                    f"{tag}: go_version {last['go_version']}, directly {want_version}")
    mtest.check(last.get("env.GODEBUG") == "madvdontneed=0", f"{tag}: env.GODEBUG {last}")
    mtest.check("allocator" not in last, f"{tag}: an allocator for a Go program: {last}")
    v = " ".join(s["verdict"].split())
    mtest.check("allocates with" not in v, f"{tag}: a C allocator for the Go program: {v}")
    mtest.check('running with GODEBUG="madvdontneed=0"' in v, f"{tag}: no GODEBUG check: {v}")
    mtest.check("Which code released the memory is unknown" not in v, f"{tag}: {v}")
    # the end: the spike's own smaps_rollup (it reads it just before it exits)
    lazy = spike["LazyFree_bytes"]
    # the spike's own sentence (with helpers forked, the trace holds several processes)
    m = re.search(r"smaps_rollup at \S+ \(the last sample\): Rss " + mtest.SIZE +
                  r", LazyFree " + mtest.SIZE, v)
    mtest.check(m, f"{tag}: no smaps figures in the verdict: {v}")
    end_lazy = float(m.group(3)) * mtest.UNITS[m.group(4)]
    mtest.check(abs(end_lazy - lazy) <= 8 * MIB,
                f"{tag}: LazyFree at the end {end_lazy}, the spike's own {lazy}")
    mtest.log(f"{tag}: FreeOSMemory {fos / MIB:.1f} MiB of a {step / MIB:.1f} MiB step, "
              f"{last['go_version']}, LazyFree {end_lazy / MIB:.1f} MiB")
    return last["go_version"]


def test(env):
    spike = [env.spike, "-size", "128", "-gcpercent", "-1"]
    version = check_one(env, "direct", spike, None)
    check_one(env, "env", ["env", "GODEBUG=madvdontneed=0", *spike], version)
    check_one(env, "sh", ["sh", "-c", "exec " + " ".join(spike)], version)
    script = env.path("launcher.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\n# helpers first, as launchers do\ntrue\n(sleep 0.1)\n"
                "ls / >/dev/null\nexec \"$@\"\n")
    os.chmod(script, 0o755)
    check_one(env, "script", [script, *spike], version)


if __name__ == "__main__":
    mtest.main_paths(test)
