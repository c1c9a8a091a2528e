#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Bad input: a PID that does not exist, an unwritable -o path, an unknown
option, `dump` of a missing, empty or corrupt file, a file of another
format. Each gives one line on stderr starting "madvtrace:" and a non-zero
exit, and never a crash (a signal).
"""
import os
import subprocess

import mtest
from mtest import check, log


def free_pid():
    """A pid no process has: one that just exited and was reaped."""
    p = subprocess.Popen(["/bin/true"])
    p.wait()
    check(not os.path.exists(f"/proc/{p.pid}"), "pid reused at once")
    return p.pid


def expect_error(env, args, what, one_line=True):
    cp = mtest.run([env.madvtrace] + args, timeout=30)
    lines = mtest.stderr_lines(cp.stderr)
    check(cp.returncode > 0, f"{what}: exit {cp.returncode}, expected a non-zero exit "
          f"(negative = killed by a signal)\n{cp.stderr}")
    if one_line:
        check(len(lines) == 1 and lines[0].startswith("madvtrace: "),
              f"{what}: expected one line starting 'madvtrace: ' on stderr, got {lines!r}")
    else:
        # a session that started may add its summary after the error
        check(lines and lines[0].startswith("madvtrace: "),
              f"{what}: expected a first line starting 'madvtrace: ' on stderr, got {lines!r}")
    log(f"{what}: exit {cp.returncode}: {lines[0]}")
    return cp


def test(env):
    expect_error(env, ["-p", str(free_pid()), "-o", env.path("x.mtr")], "nonexistent pid")
    expect_error(env, ["-o", "/proc/x", "--", "/bin/true"], "-o /proc/x")
    expect_error(env, ["-o", env.path("no/such/dir/t.mtr"), "--", "/bin/true"],
                 "-o in a missing directory")
    os.symlink("/etc/madvtrace-must-not-exist", env.path("link.mtr"))
    expect_error(env, ["-o", env.path("link.mtr"), "--", "/bin/true"], "-o at a symlink")
    check(not os.path.exists("/etc/madvtrace-must-not-exist"), "the symlink was followed")
    cp = expect_error(env, ["--no-such-option", "--", "/bin/true"], "unknown option")
    check(cp.returncode == 2, f"unknown option: exit {cp.returncode}, a usage error is 2")
    expect_error(env, ["-p", "not-a-pid"], "-p not-a-pid")
    expect_error(env, ["-d", "-1", "--", "/bin/true"], "negative duration")
    cp = expect_error(env, ["--", env.path("no-such-command")], "missing command",
                      one_line=False)
    check("no-such-command" in cp.stderr.splitlines()[0],
          f"missing command: the error does not name the command: {cp.stderr}")

    expect_error(env, ["dump", env.path("missing.mtr")], "dump of a missing file")
    open(env.path("empty.mtr"), "w").close()
    expect_error(env, ["dump", env.path("empty.mtr")], "dump of an empty file")
    with open(env.path("random.mtr"), "wb") as f:
        f.write(os.urandom(4096))
    expect_error(env, ["dump", env.path("random.mtr")], "dump of random bytes")
    expect_error(env, ["dump", "/etc/passwd"], "dump of a text file")

    # a real trace with its header damaged, byte by byte in the first 64 bytes
    good = env.path("good.mtr")
    cp = mtest.run([env.madvtrace, "-q", "-o", good, "--", "/bin/true"])
    check(cp.returncode == 0, f"recording /bin/true failed: {mtest.show(cp)}")
    data = open(good, "rb").read()
    crashes = []
    for off in range(min(64, len(data))):
        bad = bytearray(data)
        bad[off] ^= 0xff
        path = env.path("bad.mtr")
        with open(path, "wb") as f:
            f.write(bad)
        cp = mtest.run([env.madvtrace, "dump", path], timeout=30)
        if cp.returncode < 0 or (cp.returncode != 0 and
                                 not all(l.startswith("madvtrace: ")
                                         for l in mtest.stderr_lines(cp.stderr))):
            crashes.append((off, cp.returncode, cp.stderr[-300:]))
    check(not crashes, f"damaged headers: crash or unprefixed message: {crashes[:3]}")
    log("dump of a trace damaged at each of its first 64 bytes: no crash, prefixed messages")

    # a recording cut short (the recorder killed): read up to its last whole record, warn
    cut = env.path("cut.mtr")
    with open(cut, "wb") as f:
        # 3 bytes into the last record: before it, the 44-byte end marker (docs/trace-format.md)
        f.write(data[:len(data) - 44 - 3])
    cp = mtest.run([env.madvtrace, "dump", cut], timeout=30)
    lines = mtest.stderr_lines(cp.stderr)
    check(cp.returncode == 0 and len(lines) == 1 and lines[0].startswith("madvtrace: "),
          f"dump of a file cut short: expected exit 0 and one warning, got {mtest.show(cp)}")
    whole = mtest.dump(env, good)
    got = len(cp.stdout.splitlines())
    check(got == len(whole) - 1, f"dump of a file cut in its last record: {got} records, "
          f"expected {len(whole) - 1}")
    log(f"dump of a file cut short: {got} of {len(whole)} records, exit 0: {lines[0]}")


if __name__ == "__main__":
    mtest.main(test, __doc__)
