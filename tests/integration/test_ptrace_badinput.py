#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The ptrace backend refusing what it cannot do, with one clear line and a
non-zero exit, the target unharmed: a missing PID, another user's process, a
non-dumpable one, one already traced, a zombie (a process exiting while we
attach), a command that does not exist, and madvtrace run under a tracer.
"""
import os
import signal
import subprocess
import time

import mtest
import ptrace_env
from mtest import check, log


def refused(env, args, want, what):
    """madvtrace ARGS fails with exit 1 and one 'madvtrace: ...' line matching want."""
    cp = mtest.run(env.mt("-q", *args), timeout=30)
    lines = mtest.stderr_lines(cp.stderr)
    check(cp.returncode == 1, f"{what}: exit {cp.returncode}, want 1: {mtest.show(cp)}")
    check(len(lines) == 1 and lines[0].startswith("madvtrace: ") and want in lines[0],
          f"{what}: want one line with {want!r}, got {lines}")
    log(f"{what}: {lines[0]}")
    return lines[0]


def start(env, args):
    p = subprocess.Popen(env.user(args), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    return p, ptrace_env.read_ready(p.stderr)


def unharmed(pid, what):
    state = mtest.proc_state(pid)
    check(state in ("S", "R"), f"{what}: the target is in state {state} afterwards")
    check(ptrace_env.tracer_of(pid) == 0, f"{what}: the target is still traced")


def test(env):
    refused(env, ["-p", "4194304"], "no such process", "missing pid")

    # init runs as root: another user's process for the unprivileged user
    if env.uid != 0:
        refused(env, ["-p", "1"], "CAP_SYS_PTRACE", "another user's process")
        unharmed(1, "pid 1")

    p, pid = start(env, env.cases("nodump", "30"))
    try:
        refused(env, ["-p", str(pid)], "not dumpable", "non-dumpable process")
        unharmed(pid, "non-dumpable")
    finally:
        ptrace_env.stop(p)

    p, pid = start(env, env.cases("wait", "30"))
    st = None
    try:
        st = subprocess.Popen(env.user(["strace", "-o", "/dev/null", "-p", str(pid)]),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while ptrace_env.tracer_of(pid) != st.pid and time.monotonic() < deadline:
            time.sleep(0.05)
        check(ptrace_env.tracer_of(pid) == st.pid, "strace did not attach")
        line = refused(env, ["-p", str(pid)], "already traced", "a process already traced")
        check(str(st.pid) in line, f"the message does not name the tracer {st.pid}")
        st.send_signal(signal.SIGINT)
        st.wait(10)
        unharmed(pid, "traced by strace")
    finally:
        ptrace_env.stop(st)
        ptrace_env.stop(p)

    p, zpid = start(env, env.cases("zombie", "30"))
    try:
        deadline = time.monotonic() + 5
        while mtest.proc_state(zpid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        check(mtest.proc_state(zpid) == "Z", "the zombie is not one")
        refused(env, ["-p", str(zpid)], "exiting", "a process that is exiting (zombie)")
    finally:
        ptrace_env.stop(p)

    refused(env, ["--", env.path("no-such-command")], "No such file or directory",
            "a command that does not exist")

    # a tracer above us takes our child first: a clear refusal, no stray process
    cp = mtest.run(env.user(["strace", "-f", "-o", "/dev/null", env.madvtrace, "--backend",
                             "ptrace", "-q", "--", env.wl("tally"), "-n", "1"]), timeout=60)
    lines = [l for l in mtest.stderr_lines(cp.stderr) if l.startswith("madvtrace: ")]
    check(cp.returncode == 1 and len(lines) == 1 and "already traced" in lines[0],
          f"under strace -f: {mtest.show(cp)}")
    log(f"madvtrace under strace -f: {lines[0]}")


if __name__ == "__main__":
    ptrace_env.main(test, __doc__)
