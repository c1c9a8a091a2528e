#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The preload backend, unprivileged, against tally's own account of its calls
(tally makes them with syscall(2)): launch mode with 4 threads, a forked
child with and without -f, the agent by hand (LD_PRELOAD + MADVTRACE_OUTPUT),
and, as root, one run recorded by the bpf backend and by the agent at once:
inside tally's windows the two recordings must be the same records.
"""
import os

import mtest
import preload_env
from mtest import check, fail, log, show


def launch(env):
    trace, out = env.path("launch.mtr"), env.path("launch.jsonl")
    cp = mtest.run(env.mt("-o", trace, "--", env.wl("tally"), "-t", "4", "-n", "32", "-o", out))
    check(cp.returncode == 0, f"madvtrace --backend=preload -- tally failed: {show(cp)}")
    check("madvtrace: pid" not in cp.stderr, f"the agent complained: {cp.stderr}")
    tally = mtest.read_tallies(out)[0]
    check(preload_env.header_backend(trace) == 3, "the header does not say backend preload")
    recs = mtest.dump(env, trace)
    counts = mtest.compare_tally(recs, tally)
    mtest.check_no_lost(recs)
    pid = tally["pid"]
    for event, n in (("launch", 1), ("exec", 1), ("clone", 3), ("thread_exit", 3), ("exit", 1)):
        got = preload_env.tasks(recs, event, pid)
        check(len(got) == n, f"expected {n} {event} record(s) for pid {pid}, got {len(got)}")
    clones = {r["other_pid"] for r in preload_env.tasks(recs, "clone", pid)}
    check(clones == set(tally["tids"][1:]), f"clone records name {sorted(clones)}, tally's "
          f"threads are {tally['tids'][1:]}")
    ex = preload_env.tasks(recs, "exit", pid)[0]
    check(ex["code"] == 0, f"exit record with code {ex['code']}")
    rss = [r["reason"] for r in recs if r["type"] == "rss" and r["pid"] == pid]
    check(rss and rss[0] == "start" and rss[-1] == "end",
          f"rss records should start with start and end with end: {rss}")
    check(preload_env.info(recs, "agent.catch", pid) == ["on"],
          f"catching is not on: {preload_env.info(recs, 'agent.catch', pid)}")
    log(f"launch: 4 threads, {counts} recorded exactly as tallied; clone/thread_exit/exit "
        f"records; rss start..end")


def fork(env, follow):
    name = "fork-f" if follow else "fork"
    trace, out = env.path(f"{name}.mtr"), env.path(f"{name}.jsonl")
    cp = mtest.run(env.mt("-q", "-o", trace, *(["-f"] if follow else []), "--", env.wl("tally"),
                          "-t", "2", "-n", "16", "-F", "-o", out))
    check(cp.returncode == 0, f"madvtrace {'-f ' if follow else ''}-- tally -F failed: {show(cp)}")
    tallies = {t["role"]: t for t in mtest.read_tallies(out)}
    check(set(tallies) == {"main", "child"}, f"expected a main and a child tally: {tallies}")
    main, child = tallies["main"], tallies["child"]
    check(child["errors"]["other"] == 0, f"the child's calls failed: {child['errors']}")
    recs = mtest.dump(env, trace)
    mtest.compare_tally(recs, main)
    forks = preload_env.tasks(recs, "fork", main["pid"])
    check(len(forks) == 1 and forks[0]["other_pid"] == child["pid"]
          and forks[0]["tid"] == main["tids"][0],
          f"expected one fork record, by tally's main thread, naming the child "
          f"{child['pid']}: {forks}")
    if follow:
        counts = mtest.compare_tally(recs, child)
        start = [r for r in recs if r["type"] == "rss" and r["pid"] == child["pid"]]
        check(start and start[0]["reason"] == "start", "the child has no start rss record")
        check(preload_env.tasks(recs, "exit", child["pid"]), "no exit record for the child")
        log(f"-f: the forked child's {counts} recorded exactly as tallied")
    else:
        theirs = [r for r in recs if r["pid"] == child["pid"]]
        check(not theirs, f"without -f, {len(theirs)} records of the child, e.g. {theirs[:1]}")
        log("without -f: a fork record, nothing of the child's")


def by_hand(env):
    trace, out = env.path("hand.mtr"), env.path("hand.jsonl")
    cp = mtest.run(env.by_hand(trace, [env.wl("tally"), "-t", "3", "-n", "16", "-o", out]))
    check(cp.returncode == 0, f"tally under the agent by hand failed: {show(cp)}")
    check(cp.stderr.strip() == "", f"the agent said something by hand: {cp.stderr}")
    check(preload_env.header_backend(trace) == 3, "the header does not say backend preload")
    tally = mtest.read_tallies(out)[0]
    recs = mtest.dump(env, trace)
    counts = mtest.compare_tally(recs, tally)
    check(preload_env.info(recs, "exe", tally["pid"]), "no exe info record")
    log(f"by hand: a trace file of its own, {counts} as tallied")


# Fields that differ between recorders of the same call by nature: when it was stamped.
NOT_COMPARED = {"t_ns", "stack_id"}


def window(recs, tally, tid):
    seq = [r for r in recs if r["pid"] == tally["pid"] and r["tid"] == tid
           and r["type"] in mtest.SYSCALLS and not r.get("synth")]
    b = [i for i, r in enumerate(seq) if mtest.is_marker(r, tally["markers"]["begin"])]
    e = [i for i, r in enumerate(seq) if mtest.is_marker(r, tally["markers"]["end"])]
    check(len(b) == 1 and len(e) == 1, f"tid {tid}: no single pair of markers")
    return [{k: v for k, v in r.items() if k not in NOT_COMPARED} for r in seq[b[0]:e[0] + 1]]


def same_as_bpf(env):
    """One run, recorded by the bpf backend (root) and by the agent (inside it) at once."""
    if not env.root:
        if mtest.in_ci():
            fail("CI=true but not root: the comparison with the bpf backend cannot run")
        log("the comparison with the bpf backend needs root: left out")
        return
    bpf, pre, out = env.path("both-bpf.mtr"), env.path("both-preload.mtr"), env.path("both.jsonl")
    cp = mtest.run([env.orig_madvtrace, "--backend", "bpf", "-q", "-o", bpf, "--", "env",
                    f"LD_PRELOAD={env.agent}", f"MADVTRACE_OUTPUT={pre}", env.wl("tally"),
                    "-t", "3", "-n", "24", "-o", out])
    # root and no BPF is a failure: every bpf test would fail too, and this one must not
    # pass quietly with its comparison left out
    check(cp.returncode == 0, f"madvtrace --backend=bpf -- env LD_PRELOAD=agent tally: {show(cp)}")
    tally = mtest.read_tallies(out)[0]
    a, b = mtest.dump(env, bpf), mtest.dump(env, pre)
    mtest.compare_tally(a, tally)
    mtest.compare_tally(b, tally)
    n = 0
    for tid in tally["tids"]:
        wa, wb = window(a, tally, tid), window(b, tally, tid)
        check(len(wa) == len(wb), f"tid {tid}: bpf recorded {len(wa)} calls, the agent {len(wb)}")
        for i, (x, y) in enumerate(zip(wa, wb)):
            check(x == y, f"tid {tid}, call {i}: bpf recorded {x}, the agent {y}")
        n += len(wa)
    log(f"the same run under the bpf backend and the agent: {n} records identical but for "
        f"their timestamps")


def test(env):
    launch(env)
    fork(env, follow=False)
    fork(env, follow=True)
    by_hand(env)
    same_as_bpf(env)


if __name__ == "__main__":
    preload_env.main(test, __doc__)
