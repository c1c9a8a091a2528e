#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
What the preload backend cannot trace, it says, in one line naming what
can, and exits with status 1: a static program (no dynamic loader to load
the agent), a 32-bit one, a set-user-ID one (the loader ignores LD_PRELOAD;
needs root to set up), a running process (-p), and the agent missing. A
program that stops running the agent (it execs a static program) is
reported, not left looking like an empty trace.
"""
import os
import shutil

import mtest
import preload_env
from mtest import check, log, show


def refused(env, args, words, what, extra_env=None):
    cp = mtest.run(env.mt(*args, env=extra_env))
    lines = mtest.stderr_lines(cp.stderr)
    check(cp.returncode == 1, f"{what}: exit status {cp.returncode}, not 1: {show(cp)}")
    check(len(lines) == 1 and lines[0].startswith("madvtrace: "),
          f"{what}: expected one 'madvtrace: ' line on stderr, got {lines}")
    for w in words:
        check(w in lines[0], f"{what}: {w!r} not in {lines[0]!r}")
    log(f"{what}: {lines[0]}")


def test(env):
    trace = env.path("r.mtr")
    if env.static:
        refused(env, ["-o", trace, "--", env.static, "errno"],
                ["statically linked", "--backend=bpf", "--backend=ptrace"], "static program")
        # started through a shell that execs it: the agent goes, and madvtrace says so
        cp = mtest.run(env.mt("-q", "-o", trace, "--", "/bin/sh", "-c",
                              f"exec {env.static} errno >/dev/null"))
        check(cp.returncode == 0, f"sh -c 'exec static': {show(cp)}")
        check("which did not load the agent" in cp.stderr and env.static in cp.stderr,
              f"no word that the exec'd program ran untraced: {cp.stderr!r}")
        log("a static program exec'd later: reported")
    else:
        log("no static toolchain: the static program cases are left out")
    if env.tally32:
        refused(env, ["-o", trace, "--", env.tally32], ["32-bit", "--backend=bpf"],
                "32-bit program")
    refused(env, ["-p", str(os.getpid())], ["only launch", "--backend=bpf", "--backend=ptrace"],
            "attach")
    refused(env, ["--", env.wl("tally")], ["MADVTRACE_AGENT=/nonexistent"], "agent missing",
            {"MADVTRACE_AGENT": "/nonexistent/libmadvtrace-agent.so"})
    # madvtrace alone in a directory, no agent beside it
    lone = os.path.join(env.tmp, "lone")
    os.mkdir(lone)
    os.chmod(lone, 0o755)
    shutil.copy(env.madvtrace, lone)
    cp = mtest.run(env.user([os.path.join(lone, "madvtrace"), "--backend", "preload", "--",
                             env.wl("tally")]))
    installed = "/usr/local/lib/madvtrace/libmadvtrace-agent.so"
    if os.path.exists(installed):
        # an installed agent is the last place looked: it must be found and used
        check(cp.returncode == 0 and "cannot find" not in cp.stderr,
              f"madvtrace without an agent beside it, with one installed at {installed}: "
              f"{show(cp)}")
        log(f"no agent beside madvtrace: the one installed at {installed} is used")
    else:
        check(cp.returncode == 1 and "cannot find libmadvtrace-agent.so" in cp.stderr,
              f"madvtrace without its agent: {show(cp)}")
        log("no agent beside madvtrace: " + cp.stderr.strip())
    # the installed layout: bin/madvtrace and lib/madvtrace/libmadvtrace-agent.so
    tree = os.path.join(env.tmp, "tree")
    for d in ("bin", "lib/madvtrace"):
        os.makedirs(os.path.join(tree, d), mode=0o755)
    for root, _, _ in os.walk(tree):
        os.chmod(root, 0o755)
    shutil.copy(env.madvtrace, os.path.join(tree, "bin"))
    shutil.copy(env.agent, os.path.join(tree, "lib", "madvtrace"))
    out = env.path("tree.jsonl")
    cp = mtest.run(env.user([os.path.join(tree, "bin", "madvtrace"), "--backend", "preload",
                             "-q", "-o", env.path("tree.mtr"), "--", env.wl("tally"), "-n", "2",
                             "-o", out]))
    check(cp.returncode == 0 and os.path.exists(out),
          f"madvtrace in bin/ with its agent in ../lib/madvtrace: {show(cp)}")
    log("bin/madvtrace finds ../lib/madvtrace/libmadvtrace-agent.so")
    if env.root:
        suid = os.path.join(env.tmp, "suid-tally")
        shutil.copy(env.wl("tally"), suid)
        os.chown(suid, 0, 0)
        os.chmod(suid, 0o4755)
        refused(env, ["-o", trace, "--", suid], ["set-user-ID", "--backend=bpf"],
                "set-user-ID program")
    else:
        log("the set-user-ID case needs root to make one: left out")


if __name__ == "__main__":
    preload_env.main(test, __doc__)
