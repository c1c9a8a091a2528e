#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Attach to 64 threads that keep creating and ending short-lived threads, then
SIGINT madvtrace (once right away, during the attach, and once well after):
no thread is left in a tracing stop, the workload finishes on its own, and
each short thread's recorded marker calls are exactly the first k of its 4
(what it did before the detach), with nothing recorded twice or out of order.

A thread that already ran when the attach completed (made by a churner not
yet seized, so not auto-attached) may have made its first markers before
the trace began: its recorded markers are consecutive, not necessarily from
its first. A thread made after the attach (its clone is in the trace) is
traced from its first instruction: its markers are a prefix of its 4.
"""
import os
import signal
import subprocess
import time

import mtest
import ptrace_env
from mtest import check, fail, log

MARK = 0x100000000000
PER_THREAD = 4


def run(env, name, attach_for):
    trace, listing = env.path(f"{name}.mtr"), env.path(f"{name}.txt")
    w = subprocess.Popen(env.user(env.cases("churn", "6", listing)), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    mt = None
    try:
        pid = ptrace_env.read_ready(w.stderr)
        time.sleep(0.3)
        mt = subprocess.Popen(env.mt("-q", "-o", trace, "-p", str(pid)),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        if attach_for:
            ptrace_env.wait_attached(mt.stderr, timeout=30)
            time.sleep(attach_for)
        else:
            # in the middle of the attach: as soon as the first thread is seized
            deadline = time.monotonic() + 10
            while ptrace_env.tracer_of(pid) != mt.pid and time.monotonic() < deadline:
                time.sleep(0.001)
        t0 = time.monotonic()
        mt.send_signal(signal.SIGINT)
        rc = mt.wait(timeout=30)
        took = time.monotonic() - t0
        err = mt.stderr.read().decode(errors="replace")
        # every thread runs on: none in a tracing stop, none traced
        time.sleep(0.2)
        for _ in range(5):
            states = ptrace_env.thread_states(pid)
            stuck = {t: s for t, s in states.items() if s in "tT"}
            check(not stuck, f"threads left stopped after the detach: {stuck}")
            check(ptrace_env.tracer_of(pid) in (0, None), "still traced after the detach")
            time.sleep(0.05)
        out, _ = w.communicate(timeout=60)
    finally:
        ptrace_env.stop(w)
        ptrace_env.stop(mt)
    check(w.returncode == 0, f"the workload failed ({w.returncode}): {out!r}")
    r = ptrace_env.case_result(out.decode(), "churn")
    check(r["failed"] == 0, f"calls failed in the workload: {r}")
    return pid, rc, err, took, trace, listing, r


def check_prefixes(env, pid, trace, listing):
    """Each short thread's recorded markers: the first k of its own, in order."""
    shorts = set()
    with open(listing) as f:
        for line in f:
            tid, seq = map(int, line.split())
            shorts.add((tid, seq))
    recs = mtest.dump(env, trace)
    # threads made after the attach: their clone is recorded (tids are reused, but not
    # within the traced 1.5 s: pid_max tids are far more than the threads made under ptrace)
    cloned = {r["other_pid"] for r in ptrace_env.tasks(recs, "clone", pid)}
    by_thread = {}
    for r in recs:
        if r["type"] == "madvise" and r["pid"] == pid and r.get("len") == 0 \
                and r.get("addr", 0) >= MARK:
            n = (r["addr"] - MARK) // 4096
            check(r["ret"] == 0, f"a marker call failed: {r}")
            by_thread.setdefault((r["tid"], n - n % PER_THREAD), []).append(n)
    full = partial = head_cut = 0
    for (tid, base), seqs in by_thread.items():
        check((tid, base) in shorts, f"markers {seqs} of tid {tid}: not a thread the workload ran")
        check(seqs == list(range(seqs[0], seqs[0] + len(seqs))),
              f"tid {tid}: recorded markers {seqs} are not consecutive")
        if tid in cloned:
            check(seqs[0] == base, f"tid {tid}, made after the attach: recorded markers {seqs} "
                  f"are not a prefix of {base}..{base + 3}")
        head_cut += seqs[0] != base
        full += len(seqs) == PER_THREAD
        partial += len(seqs) < PER_THREAD
    return sum(len(s) for s in by_thread.values()), len(shorts), full, partial, head_cut, \
        len(cloned)


def test(env):
    # SIGINT during the attach
    pid, rc, err, took, trace, listing, r = run(env, "early", 0)
    check(rc in (0, 1), f"madvtrace ended with {rc} (a signal?): {err}")
    if rc:
        # stopped before every thread was held: it says so, and records nothing
        check(f"stopped before the" in err and f"to {pid} was complete: nothing recorded" in err,
              f"exit 1 without saying the attach was incomplete: {err!r}")
        if os.path.exists(trace) and os.path.getsize(trace):
            cp = mtest.run([env.madvtrace, "dump", trace])
            recs = [l for l in cp.stdout.splitlines() if l.startswith("{")]
            calls = [l for l in recs if '"synth"' not in l and any(
                f'"type":"{t}"' in l for t in mtest.SYSCALLS)]
            check(not calls, f"'nothing recorded', but the trace has {len(calls)} calls")
        what = "said the attach was incomplete, nothing recorded"
    else:
        # the attach completed before the signal: a whole trace, checked as the late one
        check(f"attached to {pid}" in err, f"exit 0 without the attach line: {err!r}")
        recorded, *_ = check_prefixes(env, pid, trace, listing)
        what = f"the attach had completed: {recorded} marker calls recorded, each thread's in order"
    log(f"SIGINT during the attach: madvtrace left in {took:.2f} s (exit {rc}: {what}); all "
        f"{r['short_threads']} short threads of the workload ran to the end")

    pid, rc, err, took, trace, listing, r = run(env, "late", 1.5)
    check(rc == 0, f"madvtrace -p exited with {rc} on SIGINT: {err}")
    recorded, n, full, partial, head_cut, cloned = check_prefixes(env, pid, trace, listing)
    check(full > 0, "no short thread recorded whole while attached")
    check(cloned > 0, "no thread made after the attach: nothing checked from its start")
    check(recorded < r["calls"], "everything was recorded: the detach came after the end?")
    log(f"SIGINT after 1.5 s: detached in {took:.2f} s; {recorded} of {r['calls']} marker calls "
        f"recorded ({full} threads whole, {partial} cut by the detach or the attach, "
        f"{head_cut} of them running before the attach completed with their first markers "
        f"before it; {cloned} made after the attach, each from its first), the rest made "
        f"after the detach")


if __name__ == "__main__":
    ptrace_env.main(test, __doc__)
