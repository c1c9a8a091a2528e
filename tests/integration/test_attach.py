#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Attach mode: attach to an already running 8-thread tally, let it run, and
find exactly its calls in the recording; madvtrace stops when it exits.
Then the same with threads the target creates after the attach (tally -L).
"""
import os
import signal

import mtest
from mtest import check, fail, log


def attach_run(env, name, args, threads_before):
    trace, tally_out = env.path(f"{name}.mtr"), env.path(f"{name}.jsonl")
    tally, pid = mtest.start_waiting_tally(env, args + ["-w", "60"], tally_out)
    mt = None
    try:
        nthreads = len(os.listdir(f"/proc/{pid}/task"))
        check(nthreads == threads_before,
              f"tally has {nthreads} threads before attach, not {threads_before}")
        # --live on a terminal: the probe tally issues while waiting shows tracing is on
        mt = mtest.PtyReader([env.madvtrace, "-o", trace, "--live", "-p", str(pid)])
        if not mt.wait_for(mtest.PROBE_RX, 10):
            fail(f"no probe call seen within 10 s of attaching; stdout: {mt.text()[-1000:]!r} "
                 f"stderr: {mt.stderr()[-1000:]!r}")
        os.kill(pid, signal.SIGUSR1)
        check(tally.wait(timeout=60) == 0, f"tally exited with {tally.returncode}")
        rc = mt.finish(timeout=15)
        check(rc == 0, f"madvtrace -p exited with {rc}: {mt.stderr()}")
    finally:
        if tally.poll() is None:
            tally.kill()
        if mt and mt.proc.poll() is None:
            mt.proc.kill()
    tallies = mtest.read_tallies(tally_out)
    check(len(tallies) == 1, f"unexpected tallies {tallies}")
    recs = mtest.dump(env, trace)
    counts = mtest.compare_tally(recs, tallies[0])
    mtest.check_no_lost(recs)
    return pid, len(tallies[0]["tids"]), counts


def test(env):
    pid, n, counts = attach_run(env, "attach", ["-t", "8", "-n", "32"], 8)
    log(f"attach: pid {pid}, {n} threads running before the attach: {counts} recorded "
        "exactly as tallied")
    pid, n, counts = attach_run(env, "late", ["-t", "4", "-n", "32", "-L"], 1)
    log(f"attach: pid {pid}, {n - 1} of {n} threads created after the attach: {counts} "
        "recorded exactly as tallied")


if __name__ == "__main__":
    mtest.main(test, __doc__)
