#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The recorder and a program padded to 1 GiB (a copy of sleep, made a sparse
file), exec'd 8 times for 0.3 s each under `madvtrace -f` (bpf): each exec's
description (/proc/PID/exe, the ELF file, its build info) is read in its
useful parts only, on the info worker, not in the ring buffer's callback
(docs/security.md):

  - the run takes under 20 s and madvtrace's peak RSS stays under 128 MiB
    (reading each padded file whole took 1 GiB and 7 s per exec);
  - every exec of the padded program is recorded, each described (its
    exe= info names it), with the calls it made after its exec: as many
    mmap calls as strace counts in a run of the same program.

    test_sec_bigexe.py --madvtrace PATH --workloads DIR
"""
import os
import subprocess
import time

import mtest
from mtest import check, log, show
from test_sec_lib import padded_exe

RUNS = 8


def test(env):
    big = padded_exe(env.path("big"))
    trace = env.path("t.mtr")
    script = f"for i in $(seq {RUNS}); do {big} 0.3; done"
    t0 = time.monotonic()
    p = subprocess.Popen([env.madvtrace, "-q", "-f", "-o", trace, "--", "/bin/sh", "-c", script],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    err = p.stderr.read()
    check(os.waitstatus_to_exitcode(status) == 0, f"madvtrace: exit {status}: {err[-2000:]}")
    check(wall < 20, f"{RUNS} execs of a 1 GiB padded program took {wall:.1f} s")
    maxrss_mib = ru.ru_maxrss / 1024
    check(maxrss_mib < 128, f"madvtrace's peak RSS was {maxrss_mib:.0f} MiB")
    recs = mtest.dump(env, trace)
    execs = [r for r in recs if r["type"] == "task" and r.get("event") == "exec"
             and r.get("comm") == "big"]
    check(len(execs) == RUNS, f"{len(execs)} execs of big recorded, {RUNS} made")
    named = {r["pid"] for r in recs if r["type"] == "info" and r.get("key") == "exe"
             and r.get("value") == big}
    check(named == {r["pid"] for r in execs},
          f"exe={big} for pids {sorted(named)}, execs by {sorted(r['pid'] for r in execs)}")
    # the oracle: strace's count of the mmap calls of one run of the padded program
    st = mtest.run(["strace", "-f", "-e", "trace=mmap", "-o", env.path("st"), big, "0.3"])
    check(st.returncode == 0, f"strace: {show(st)}")
    with open(env.path("st")) as f:
        want = sum(1 for l in f if "mmap(" in l and "<unfinished" not in l)
    for e in execs:
        got = sum(1 for r in recs if r["type"] == "mmap" and r["pid"] == e["pid"]
                  and not r.get("synth") and r["t_ns"] >= e["t_ns"])
        check(got == want, f"pid {e['pid']}: {got} mmap calls recorded after its exec, strace "
              f"counts {want}")
    log(f"{RUNS} execs of a 1 GiB padded program: {wall:.1f} s, madvtrace's peak RSS "
        f"{maxrss_mib:.0f} MiB; each described and its {want} mmap calls recorded")


if __name__ == "__main__":
    mtest.main(test, __doc__)
