#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The preload agent's unconfirmed defects of issue 13 (11a, 11b, 11d), each
against the same program run without the agent (tests/workloads/sec11_agent),
madvtrace --backend preload run as the unprivileged user:

  - 11a: a traced program execs a program that does not load the agent (the
    static build): the new program's open descriptors are those it has
    without madvtrace (the agent's socket is not handed to it);
  - 11b: that program, under the seccomp filter it inherited, makes its
    mmap/madvise/munmap calls and exits 0, 5 runs in a row (the filter
    watches only code ASLR placed, never a fixed address such a program
    lands at);
  - 11d: syscall(SYS_rt_sigprocmask) with a mask pointer the kernel answers
    with EFAULT returns -1/EFAULT under the agent too (it used to crash the
    program reading the mask first), and a good mask still works;
  - 200000 exec notes that no exec follows, sent by one process on the
    agent's socket (tests/workloads/sec_notes): madvtrace keeps one pending
    exec per process and takes them within 15 s.

    test_sec11_agent.py --madvtrace PATH --agent PATH --workloads DIR --static PATH
"""
import os
import shutil
import subprocess
import time

import mtest
import preload_env
from mtest import check, log, show

NOTES = 200000


def run_both(env, cmd, name):
    plain = mtest.run(env.user(cmd), timeout=60)
    trace = env.path(f"{name}.mtr")
    traced = mtest.run(env.mt("-q", "-o", trace, "--", *cmd), timeout=60)
    return plain, traced


def one(cp, what):
    objs = preload_env.json_objs(cp.stdout, what)
    check(len(objs) == 1, f"{what}: expected one JSON line: {show(cp)}")
    return objs[0]


def test(env):
    check(env.static, "the static build of sec11_agent is needed (--static)")
    dyn = os.path.join(env.workloads, "sec11_agent")
    shutil.copy(os.path.join(env.orig_workloads, "sec11_agent"), dyn)
    os.chmod(dyn, 0o755)

    # 11a: the descriptors of a program that does not load the agent
    plain, traced = run_both(env, [dyn, "exec", env.static, "fds"], "fds")
    check(plain.returncode == 0 and traced.returncode == 0,
          f"exec of the static program: without the agent {show(plain)}\nunder it {show(traced)}")
    a, b = one(plain, "without the agent"), one(traced, "under the agent")
    check(b["agent"] == 0, f"the static program has the agent mapped: {b}")
    check(a["fds"] == b["fds"],
          f"11a: the static program exec'd under the agent holds descriptors it has not "
          f"without it: {b['fds']} (without: {a['fds']})")
    log(f"11a: descriptors of the program without the agent: {b['fds']} (as without madvtrace)")

    # 11b: the inherited filter and a program that cannot handle SIGSYS
    for i in range(5):
        plain, traced = run_both(env, [dyn, "exec", env.static, "work"], f"work{i}")
        check(traced.returncode == 0 and one(traced, "work")["case"] == "work",
              f"11b: the static program exec'd under the agent did not survive its calls "
              f"(run {i}): {show(traced)}")
    log("11b: 5 runs of the static program under the inherited filter: each made its 192 "
        "calls and exited 0")

    # 11d: a mask the kernel cannot read
    plain, traced = run_both(env, [dyn, "sigmask"], "sigmask")
    check(plain.returncode == 0, f"sigmask without the agent: {show(plain)}")
    check(traced.returncode == 0,
          f"11d: syscall(SYS_rt_sigprocmask) with a bad mask under the agent: {show(traced)}")
    a, b = one(plain, "without the agent"), one(traced, "under the agent")
    check(a == b and a["bad_errno"] == 14 and a["bad_ret"] == -1 and a["good_ret"] == 0,
          f"11d: without the agent {a}, under it {b}")
    log(f"11d: bad mask -> {b['bad_ret']} errno {b['bad_errno']} under the agent, as without it")

    # exec notes that no exec follows: one pending exec per process, not per note
    notes = os.path.join(env.workloads, "sec_notes")
    shutil.copy(os.path.join(env.orig_workloads, "sec_notes"), notes)
    os.chmod(notes, 0o755)
    trace = env.path("notes.mtr")
    t0 = time.monotonic()
    p = subprocess.Popen(env.mt("-q", "-o", trace, "--", notes, str(NOTES)),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        mtest.fail(f"{NOTES} exec notes: madvtrace still busy after 60 s")
    wall = time.monotonic() - t0
    check(p.returncode == 0 and f'"sent":{NOTES}' in out,
          f"sec_notes under the agent: exit {p.returncode}: {out[-500:]} {err[-1500:]}")
    check(wall < 15, f"{NOTES} exec notes took madvtrace {wall:.1f} s")
    log(f"{NOTES} exec notes of one process: {wall:.1f} s")


if __name__ == "__main__":
    preload_env.main(test, __doc__)
