#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
`madvtrace godebug` as root under sudo (SUDO_UID=mtuser) on a Go program
(tests/workloads/sec2_plant) that turns the run directory against root:

  - it plants run1.log -> a root-owned file during run 0: that file is left
    as it was (root used to write run 1's log through the link), and
    godebug says it refused the link;
  - it swaps run2.mtr for a FIFO during run 2: godebug finishes within a
    bounded time (it used to block forever opening the FIFO) and says
    run 2 could not be traced;
  - the logs and traces belong to mtuser, the user they are for.

    test_sec2_godebug.py --madvtrace PATH --workloads DIR
"""
import os
import pwd
import re
import shutil
import subprocess

import mtest
from mtest import check, log, show

USER = "mtuser"
SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "workloads", "sec2_plant")


def godebug(env, sudo, plant, timeout):
    e = dict(sudo, SEC2_PLANT=plant)
    try:
        return mtest.run([env.madvtrace, "godebug", "--", env.plant], env=e, timeout=timeout)
    except subprocess.TimeoutExpired:
        mtest.fail(f"godebug with SEC2_PLANT={plant}: still running after {timeout} s "
                   "(blocked opening what the program planted)")


def test(env):
    go = shutil.which("go")
    if not go:
        mtest.skip("no go command to build tests/workloads/sec2_plant", ci_ok=True)
    pw = pwd.getpwnam(USER)
    os.chmod(env.tmp, 0o755)
    env.plant = env.path("sec2_plant")
    cp = mtest.run([go, "build", "-o", env.plant, "."], cwd=SRC, timeout=300,
                   env=dict(os.environ, GOCACHE=env.path("gocache"), GOFLAGS="-mod=mod"))
    check(cp.returncode == 0, f"go build sec2_plant: {show(cp)}")
    sudo = dict(os.environ, SUDO_UID=str(pw.pw_uid), SUDO_GID=str(pw.pw_gid), SUDO_USER=USER)
    dirs = []
    try:
        # a root-owned file the user may not write, named by the planted link
        victim = env.path("victim")
        with open(victim, "w") as f:
            f.write("precious\n")
        cp = godebug(env, sudo, f"link:{victim}", 180)
        dirs += re.findall(r"(/tmp/madvtrace-godebug\.\w+)", cp.stdout + cp.stderr)
        with open(victim) as f:
            got = f.read()
        check(got == "precious\n", f"root wrote the run's log through the planted link into "
              f"{victim}: now {got[:200]!r}")
        check(re.search(r"run1\.log is a symbolic link", cp.stderr),
              f"godebug did not say it refused run1.log: {show(cp)}")
        log("run1.log -> a root file: refused, the file untouched")

        cp = godebug(env, sudo, "fifo", 120)
        dirs += re.findall(r"(/tmp/madvtrace-godebug\.\w+)", cp.stdout + cp.stderr)
        m = re.search(r"^traces: (\S+)$", cp.stdout, re.M)
        check(m, f"no 'traces:' line: {show(cp)}")
        d = m.group(1)
        check(re.search(r"run2\.mtr is a FIFO", cp.stderr),
              f"godebug did not say it refused the FIFO at run2.mtr: {show(cp)}")
        log("run2.mtr swapped for a FIFO: refused, godebug finished")
        for name in ("run0.log", "run1.log", "run2.log", "run0.mtr", "run1.mtr"):
            st = os.stat(os.path.join(d, name))
            check(st.st_uid == pw.pw_uid, f"{d}/{name} belongs to uid {st.st_uid}, not {USER}")
        st = os.stat(d)
        check(st.st_uid == pw.pw_uid, f"{d} belongs to uid {st.st_uid}, not {USER}")
        log(f"the directory, logs and traces belong to {USER}")
    finally:
        for d in set(dirs):
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    mtest.main(test, __doc__)
