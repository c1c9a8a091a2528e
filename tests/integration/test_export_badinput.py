#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Bad input to `madvtrace --metrics`: each case exits non-zero at once with one
clear line on stderr, and leaves nothing listening or attached: a port in
use, a non-loopback address without --metrics-any-address, a malformed
address, a missing cgroup path, a directory that is no cgroup, a cgroup v1
hierarchy without a controller, a process that does not exist, no process
to watch at all, a --go-metrics other than off.
"""
import os
import socket
import subprocess

import mtest
from mtest import check, log


def expect_refusal(env, args, words, what):
    cp = mtest.run([env.madvtrace] + args, timeout=20)
    lines = mtest.stderr_lines(cp.stderr)
    check(cp.returncode != 0, f"{what}: exit 0 ({mtest.show(cp)})")
    check(len(lines) == 1, f"{what}: {len(lines)} lines on stderr: {cp.stderr!r}")
    check(lines[0].startswith("madvtrace: "), f"{what}: {lines[0]!r}")
    for w in words:
        check(w in lines[0], f"{what}: {w!r} not in {lines[0]!r}")
    check(cp.stdout == "", f"{what}: printed {cp.stdout!r}")
    log(f"{what}: exit {cp.returncode}: {lines[0]}")


def test(env):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    me = str(os.getpid())
    try:
        expect_refusal(env, ["--metrics", f"127.0.0.1:{port}", "-p", me],
                       ["Address already in use", f"127.0.0.1:{port}"], "port in use")
    finally:
        busy.close()
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    fport = free.getsockname()[1]
    free.close()
    expect_refusal(env, ["--metrics", f"0.0.0.0:{fport}", "-p", me],
                   ["not a loopback address", "--metrics-any-address"], "0.0.0.0 without the flag")
    expect_refusal(env, ["--metrics", "127.0.0.1", "-p", me], ["ADDR:PORT"], "no port")
    expect_refusal(env, ["--metrics", f"127.0.0.1:{fport}", "--cgroup",
                         "/sys/fs/cgroup/memory/no-such-group-mt"],
                   ["no-such-group-mt", "No such file"], "missing cgroup")
    expect_refusal(env, ["--metrics", f"127.0.0.1:{fport}", "--cgroup", env.tmp],
                   ["not a cgroup directory"], "a directory that is no cgroup")
    if os.path.isdir("/sys/fs/cgroup/systemd"):
        expect_refusal(env, ["--metrics", f"127.0.0.1:{fport}", "--cgroup",
                             "/sys/fs/cgroup/systemd"], ["no controller"], "named v1 hierarchy")
    expect_refusal(env, ["--metrics", f"127.0.0.1:{fport}", "-p", "999999999"],
                   ["no such process"], "no such pid")
    expect_refusal(env, ["--metrics", f"127.0.0.1:{fport}"], ["-p PID", "--cgroup"],
                   "nothing to watch")
    expect_refusal(env, ["--metrics", f"127.0.0.1:{fport}", "-p", me, "--comm", "x" * 16],
                   ["--comm"], "a comm too long")
    expect_refusal(env, ["--metrics", f"127.0.0.1:{fport}", "-p", me, "--go-metrics",
                         "http://127.0.0.1:1/metrics"], ["--go-metrics", "only 'off'"],
                   "a --go-metrics URL (each Go program's endpoint is found by itself)")
    # nothing was left listening on the free port
    s = socket.socket()
    check(s.connect_ex(("127.0.0.1", fport)) != 0, "something listens after the refusals")
    s.close()


if __name__ == "__main__":
    mtest.main(test, __doc__)
