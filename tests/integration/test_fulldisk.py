#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
A full disk: recording into a 64 KiB tmpfs fills it within a fraction of a
second. madvtrace must say so on stderr ("madvtrace: ..."), exit non-zero,
and leave the target alone: an attached churn is neither killed nor stopped
and finishes normally; a launched one too.
"""
import json
import os
import subprocess
import time

import mtest
from mtest import check, fail, log


def mount_small(env):
    d = env.path("full")
    os.mkdir(d)
    cp = mtest.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0755", "mt-full", d])
    check(cp.returncode == 0, f"cannot mount a tmpfs: {cp.stderr}")
    return d


def check_error(rc, err, what):
    lines = mtest.stderr_lines(err)
    check(rc not in (0, None) and rc > 0, f"{what}: madvtrace exit {rc}, expected non-zero")
    full = [l for l in lines if l.startswith("madvtrace: ") and "space" in l.lower()]
    check(len(full) == 1,
          f"{what}: expected one 'madvtrace: ...' line about the full disk on stderr, got "
          f"{len(full)}: {lines[:10]}")
    log(f"{what}: exit {rc}: {full[0]}")


def churn_result(text, what):
    res = [o for o in mtest.json_lines(text, what) if "iterations" in o]
    check(len(res) == 1, f"{what}: churn did not finish its loop: {text[-500:]!r}")
    return res[0]


def test(env):
    d = mount_small(env)
    try:
        # attach: churn runs 4 s; madvtrace must fail early, churn must carry on
        churn = subprocess.Popen([env.wl("churn"), "-s", "4"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        time.sleep(0.2)
        t0 = time.monotonic()
        cp = mtest.run([env.madvtrace, "-o", os.path.join(d, "a.mtr"), "-p", str(churn.pid)],
                       timeout=30)
        took = time.monotonic() - t0
        check_error(cp.returncode, cp.stderr, "attach, full disk")
        if churn.poll() is None:
            state = mtest.proc_state(churn.pid)
            check(state in ("R", "S", "D"), f"churn is in state {state!r} after madvtrace failed")
        out, err = churn.communicate(timeout=30)
        check(churn.returncode == 0, f"attached churn exit {churn.returncode}: {err}")
        res = churn_result(out, "attached churn")
        log(f"attach: madvtrace gave up after {took:.2f} s; churn finished normally "
            f"({res['iterations']} iterations in {res['elapsed_ns'] / 1e9:.1f} s)")

        # launch: the command is madvtrace's child; it must still run to its end
        os.unlink(os.path.join(d, "a.mtr"))
        mt = subprocess.Popen([env.madvtrace, "-o", os.path.join(d, "l.mtr"), "--",
                               env.wl("churn"), "-s", "3"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        # churn holds stdout until it exits: EOF means churn is done
        out, err = mt.communicate(timeout=60)
        check_error(mt.returncode, err, "launch, full disk")
        res = churn_result(out, "launched churn")
        log(f"launch: churn finished normally ({res['iterations']} iterations)")
    finally:
        mtest.run(["umount", "-l", d])


if __name__ == "__main__":
    mtest.main(test, __doc__)
