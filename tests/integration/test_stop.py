#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Stop conditions on an attached, busy target (churn): --duration 1, SIGINT
and SIGTERM each end madvtrace promptly with exit 0 and a readable trace,
and the target is never stopped (no 't'/'T' state in /proc), keeps its pace
after madvtrace has gone, and finishes normally.
"""
import os
import signal
import subprocess
import threading
import time

import mtest
from mtest import check, fail, log

RUN_S = 6.0


class Churn:
    """churn -s RUN_S -p 100, its progress lines timed on our clock."""

    def __init__(self, env):
        self.t0 = time.monotonic()
        self.p = subprocess.Popen([env.wl("churn"), "-s", str(RUN_S), "-p", "100"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.progress = []  # (our time since start, iterations)
        self.final = None
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            if line.startswith("progress "):
                _, ms, it = line.split()
                self.progress.append((int(ms) / 1000.0, int(it)))
            elif line.startswith("{"):
                self.final = line

    def now(self):
        return time.monotonic() - self.t0

    def rate(self, a, b):
        """Iterations per second between our times a and b, from the progress lines."""
        pts = [p for p in self.progress if a <= p[0] <= b]
        if len(pts) < 3:
            fail(f"too few progress points between {a:.2f} s and {b:.2f} s: {self.progress}")
        return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])

    def finish(self):
        rc = self.p.wait(timeout=RUN_S + 30)
        self.t.join(5)
        check(rc == 0, f"churn exited with {rc}: {self.p.stderr.read()}")
        check(self.final, "churn did not print its result")


def watch_state(pid, seconds):
    """Sample the target's /proc state for a while; the states seen."""
    seen = set()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        s = mtest.proc_state(pid)
        if s is None:
            break
        seen.add(s)
        time.sleep(0.01)
    return seen


def wait_recording(path, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if os.path.exists(path) and os.path.getsize(path) > 0:
            return True
        time.sleep(0.02)
    return False


def one(env, how):
    trace = env.path(f"stop-{how}.mtr")
    churn = Churn(env)
    time.sleep(1.2)  # the pace before any tracing
    attach_at = churn.now()
    cmd = [env.madvtrace, "-q", "-o", trace, "-p", str(churn.p.pid)]
    if how == "duration":
        cmd += ["--duration", "1"]
    t0 = time.monotonic()
    mt = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if how == "duration":
        limit = 2.5
    else:
        # churn's records fill the writer's buffer at once: a growing file means tracing is on
        check(wait_recording(trace, 5), f"{how}: no record written within 5 s of attaching")
        time.sleep(0.3)
        mt.send_signal(signal.SIGINT if how == "sigint" else signal.SIGTERM)
        t0 = time.monotonic()
        limit = 1.5
    try:
        out, err = mt.communicate(timeout=limit + 5)
    except subprocess.TimeoutExpired:
        mt.kill()
        fail(f"{how}: madvtrace still running {limit + 5:.1f} s later")
    took = time.monotonic() - t0
    detach_at = churn.now()
    check(mt.returncode == 0, f"{how}: madvtrace exit {mt.returncode}: {err}")
    check(took <= limit, f"{how}: madvtrace took {took:.2f} s to stop, more than {limit} s")
    check(detach_at < RUN_S - 1.5, f"{how}: churn has too little time left to measure")

    states = watch_state(churn.p.pid, 0.5)
    check(not states & {"t", "T"}, f"{how}: churn seen stopped after madvtrace left: {states}")
    time.sleep(max(0, RUN_S - 0.3 - churn.now()))
    before = churn.rate(0.2, attach_at)
    after = churn.rate(detach_at + 0.6, RUN_S - 0.2)
    churn.finish()
    # a stopped or still-traced target would crawl; noise from other load stays well above this
    check(after >= 0.5 * before, f"{how}: churn ran at {after:.0f}/s after madvtrace left, "
          f"{before:.0f}/s before it came")

    recs = mtest.dump(env, trace)
    mtest.check_no_lost(recs)
    # the target's calls (not the synthetic mmap records of its mappings at attach)
    calls = [r for r in recs if r["type"] in mtest.SYSCALLS and r["pid"] == churn.p.pid
             and not r.get("synth")]
    n = check_churn_calls(calls, how)
    # it was traced from attach to detach: at least a third of what its pace before allows
    traced_s = 1.0 if how == "duration" else 0.3
    check(n >= 0.3 * before * traced_s,
          f"{how}: {n} whole iterations recorded in at least {traced_s:.1f} s of tracing, "
          f"churn ran at {before:.0f}/s")
    log(f"{how}: stopped in {took:.2f} s (exit 0), {n} whole iterations recorded exactly as "
        f"churn makes them; churn {before:.0f}/s before, {after:.0f}/s after, states seen "
        f"after {sorted(states)}, finished normally")


def check_churn_calls(calls, how):
    """
    churn's calls are known exactly: per iteration mmap(NULL, 64 KiB) = A,
    madvise(A, 64 KiB, MADV_FREE or MADV_DONTNEED, alternately) = 0,
    munmap(A, 64 KiB) = 0. A recording from attach to detach is a run of
    whole iterations, but for a partial one at each end. Returns the number
    of whole iterations.
    """
    check(calls, f"{how}: the trace has no call of the target")
    i = 0
    # a partial iteration at the start: up to the first mmap
    while i < len(calls) and i < 2 and calls[i]["type"] != "mmap":
        i += 1
    whole, last_adv = 0, None
    while i + 2 < len(calls):
        m, a, u = calls[i:i + 3]
        what = f"{how}: iteration {whole} (records {i}..{i + 2}: {mtest.brief(m)}, " \
            f"{mtest.brief(a)}, {mtest.brief(u)})"
        check(m["type"] == "mmap" and m["len"] == 65536 and m["ret"] > 0, f"{what}: not mmap")
        addr = m["ret"]
        check(a["type"] == "madvise" and a["addr"] == addr and a["len"] == 65536
              and a["ret"] == 0, f"{what}: not madvise of the mapping")
        adv = mtest.advice_value(a["advice"])
        check(adv in (4, 8) and adv != last_adv, f"{what}: advice does not alternate "
              "MADV_FREE/MADV_DONTNEED")
        check(u["type"] == "munmap" and u["addr"] == addr and u["len"] == 65536
              and u["ret"] == 0, f"{what}: not munmap of the mapping")
        last_adv = adv
        whole += 1
        i += 3
    check(len(calls) - i <= 2, f"{how}: {len(calls) - i} records after the last whole "
          "iteration")
    return whole


def test(env):
    for how in ("duration", "sigint", "sigterm"):
        one(env, how)


if __name__ == "__main__":
    mtest.main(test, __doc__)
