#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Attach mode: attach to an already running 8-thread tally, let it run, and
find exactly its calls in the recording; madvtrace stops when it exits.
"""
import os
import signal

import mtest
from mtest import check, fail, log


def test(env):
    trace, tally_out = env.path("attach.mtr"), env.path("tally.jsonl")
    tally, pid = mtest.start_waiting_tally(env, ["-t", "8", "-n", "32", "-w", "60"], tally_out)
    mt = None
    try:
        nthreads = len(os.listdir(f"/proc/{pid}/task"))
        check(nthreads == 8, f"tally has {nthreads} threads before attach, not 8")
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
    log(f"attach: pid {pid}, 8 threads: {counts} recorded exactly as tallied")


if __name__ == "__main__":
    mtest.main(test, __doc__)
