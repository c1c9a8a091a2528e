#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Lost events, per backend, against the workload's own count. burst makes a
known number of zero-length madvise calls (one record each, nothing else:
no RSS change), so a recording holds, for those calls, exactly
records + lost == calls. The recorder is stalled with SIGSTOP while the
target makes them (the recorder is continued at the end, whatever happens;
the target is never stopped by the test).

  bpf      madvtrace -p PID --buffer-size 1 (a 1 MiB ring buffer), stopped
           while burst makes 300000 calls: the ring fills and the program
           counts what does not fit. Lost must be > 0, recorded + lost ==
           calls (+ at most a few other records lost), and the live output,
           the end-of-session summary ("events lost: N"), the dump's lost
           records and `report` (text and JSON) must all say the same N.
  ptrace   cannot lose: the tracee stops at every traced call until the
           tracer has read it. Stalled for 1 s, the target is seen in a
           tracing stop ('t') all along; recorded == calls, lost == 0
           everywhere.
  preload  the agent's shared ring (1 MiB): burst -D makes its calls in a
           thread-exit destructor, after the agent gave the thread's own
           buffer back, so they go through the ring. With madvtrace stopped,
           one thread writing the ring out blocks on the full socket and the
           others wait 20 ms per record and then count it lost.
           (--rss-interval 60000 keeps the periodic work, which writes other
           threads' buffers out and would block there too, out of the way.)
           Lost > 0 and recorded + lost == calls, in the summary, dump and
           report.
"""
import json
import os
import re
import signal
import subprocess
import time

import backends
import mtest
from mtest import check, fail, log, show

SUMMARY_RX = re.compile(r"records: (\d+)\s+events lost: (\d+)")
SLACK = 64  # records other than burst's calls that may be lost with them (rss, task)


def burst_records(recs, res):
    pid, lo = res["pid"], res["addr"]
    hi = lo + res["threads"] * res["page"]
    return [r for r in recs if r["type"] == "madvise" and r["pid"] == pid
            and lo <= r["addr"] < hi and r["len"] == 0]


def lost_of(recs):
    return sum(r.get("count", 0) for r in recs if r["type"] == "lost")


def burst_result(text):
    objs = [o for o in mtest.json_lines(text, "burst output") if "calls" in o]
    check(len(objs) == 1, f"burst printed {len(objs)} result objects: {text[-500:]!r}")
    check(objs[0]["failed"] == 0, f"burst's calls failed: {objs[0]}")
    return objs[0]


def check_report(env, trace, lost, what):
    cp = mtest.run([env.madvtrace, "report", "--format", "json", trace])
    check(cp.returncode == 0, f"{what}: report --format json failed: {show(cp)}")
    s = json.loads(cp.stdout)["summary"]
    check(s["lost_events"] == lost, f"{what}: report's lost_events {s['lost_events']}, the "
          f"trace's lost records count {lost}")
    cp = mtest.run([env.madvtrace, "report", trace])
    check(cp.returncode == 0, f"{what}: report failed: {show(cp)}")
    m = re.search(r"records\s+(\d+); (\d+) events lost", cp.stdout)
    check(m and int(m.group(2)) == lost, f"{what}: the text report does not say "
          f"'{lost} events lost': {cp.stdout[:800]}")
    if lost:
        check(f"WARNING: {lost} events were lost" in cp.stdout,
              f"{what}: the verdict does not warn of the {lost} lost events: {cp.stdout[:1500]}")
    return s


def summary_lost(text, what):
    m = SUMMARY_RX.findall(text)
    check(len(m) == 1, f"{what}: expected one 'records: N   events lost: M' summary line, "
          f"found {len(m)}: {text[-1500:]!r}")
    return int(m[0][0]), int(m[0][1])


def bpf(env):
    calls = 300000
    trace = env.path("bpf-loss.mtr")
    tgt = subprocess.Popen([env.wl("burst"), "-w", "60", "-n", str(calls)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, text=True)
    mt = None
    try:
        pid, _ = backends.read_ready(tgt.stderr)
        mt = mtest.PtyReader(env.mt("bpf", "-o", trace, "--live", "--buffer-size", "1",
                                    "-p", str(pid)))
        if not mt.wait_for(mtest.PROBE_RX, 10):
            fail(f"bpf: no probe call seen within 10 s of attaching: {mt.stderr()[-1000:]}")
        os.kill(mt.proc.pid, signal.SIGSTOP)
        try:
            os.kill(pid, signal.SIGUSR1)
            backends.wait_line(tgt.stderr, "done", 60)
        finally:
            os.kill(mt.proc.pid, signal.SIGCONT)
        out, _ = tgt.communicate(timeout=30)
        check(tgt.returncode == 0, f"bpf: burst exited {tgt.returncode}")
        rc = mt.finish(timeout=30)
        check(rc == 0, f"bpf: madvtrace exited {rc}: {mt.stderr()[-1500:]}")
    finally:
        backends.kill_all(tgt, mt.proc if mt else None)
    res = burst_result(out)
    recs = mtest.dump(env, trace)
    got, lost = len(burst_records(recs, res)), lost_of(recs)
    log(f"bpf: {calls} calls, {got} recorded, {lost} lost (1 MiB ring, reader stopped)")
    check(lost > 0, f"bpf: nothing lost with a 1 MiB ring and the reader stopped during "
          f"{calls} calls: {got} recorded (the lost count is not reported)")
    check(calls <= got + lost <= calls + SLACK,
          f"bpf: {got} recorded + {lost} lost = {got + lost}, burst made {calls}")
    live = mt.text()
    lines = [l for l in live.splitlines() if re.search(r"madvise\(0x5b000000, 0", l)]
    check(len(lines) == got, f"bpf: {len(lines)} live lines of burst's calls, the trace has {got}")
    bang = [int(x) for x in re.findall(r"!!! (\d+) events lost !!!", live)]
    check(sum(bang) == lost, f"bpf: the live output's '!!! N events lost !!!' lines say "
          f"{bang}, the trace {lost}")
    n, lost_sum = summary_lost(mt.stderr(), "bpf")
    check(lost_sum == lost, f"bpf: the summary says {lost_sum} events lost, the trace {lost}")
    s = check_report(env, trace, lost, "bpf")
    check(n == s["records"], f"bpf: the summary counts {n} records, the report {s['records']}")
    log(f"bpf: live output ({len(lines)} lines, '!!! {lost} events lost !!!'), summary ('events lost: {lost_sum}'), dump and report agree")


def launched(env, backend, burst_args, stall_s, mt_args=()):
    """Launch burst -w under backend; stop madvtrace for stall_s while burst runs."""
    trace = env.path(f"{backend}-loss.mtr")
    mt = subprocess.Popen(env.mt(backend, "-o", trace, *mt_args, "--", env.wl("burst"),
                                 "-w", "60", *burst_args),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, text=True)
    states = []  # per sample: the state letters of the target's threads
    try:
        pid, _ = backends.read_ready(mt.stderr, 20)
        os.kill(mt.pid, signal.SIGSTOP)
        try:
            os.kill(pid, signal.SIGUSR1)
            end = time.monotonic() + stall_s
            time.sleep(0.1)
            while time.monotonic() < end:
                seen = set()
                for tid in os.listdir(f"/proc/{pid}/task"):
                    st = mtest.proc_state(f"{pid}/task/{tid}")
                    if st:
                        seen.add(st)
                states.append(seen)
                time.sleep(0.02)
        finally:
            os.kill(mt.pid, signal.SIGCONT)
        backends.wait_line(mt.stderr, "done", 120)
        out, err = mt.communicate(timeout=120)
        check(mt.returncode == 0, f"{backend}: madvtrace exited {mt.returncode}: {err[-1500:]}")
    finally:
        backends.kill_all(mt)
    return trace, out, err, states


def ptrace(env):
    calls = 20000
    trace, out, err, states = launched(env, "ptrace", ["-n", str(calls)], 1.0)
    res = burst_result(out)
    stopped = sum(1 for st in states if "t" in st)
    check(states and stopped == len(states),
          f"ptrace: with the tracer stopped, the target was in a tracing stop ('t') in only "
          f"{stopped} of {len(states)} samples: it ran on without its tracer")
    recs = mtest.dump(env, trace)
    got, lost = len(burst_records(recs, res)), lost_of(recs)
    check(lost == 0 and got == calls, f"ptrace: {got} of {calls} calls recorded, {lost} lost: "
          "the ptrace backend stops the tracee, it must lose nothing")
    _, lost_sum = summary_lost(err, "ptrace")
    check(lost_sum == 0, f"ptrace: the summary says {lost_sum} events lost")
    check_report(env, trace, 0, "ptrace")
    log(f"ptrace: tracer stopped 1 s: the target waited in a tracing stop ({stopped} of "
        f"{len(states)} samples), {got} of {calls} recorded, 0 lost (summary, report)")


def preload(env):
    threads, per = 4, 8000
    calls = threads * per
    trace, out, err, _ = launched(env, "preload", ["-t", str(threads), "-n", str(per), "-D"], 1.5,
                             ("--rss-interval", "60000"))
    res = burst_result(out)
    check(res["calls"] == calls, f"preload: burst made {res['calls']} calls")
    recs = mtest.dump(env, trace)
    got, lost = len(burst_records(recs, res)), lost_of(recs)
    log(f"preload: {calls} calls, {got} recorded, {lost} lost (agent ring full, reader stopped)")
    check(lost > 0, f"preload: nothing lost with the agent's ring full and the reader stopped "
          f"1.5 s: {got} of {calls} recorded (lost records not counted or not reported?)")
    check(calls <= got + lost <= calls + SLACK,
          f"preload: {got} recorded + {lost} lost = {got + lost}, burst made {calls}")
    _, lost_sum = summary_lost(err, "preload")
    check(lost_sum == lost, f"preload: the summary says {lost_sum} events lost, the trace {lost}")
    check_report(env, trace, lost, "preload")
    log(f"preload: summary ('events lost: {lost_sum}'), dump and report agree")


def test(env):
    for b in env.backends:
        {"bpf": bpf, "ptrace": ptrace, "preload": preload}[b](env)


if __name__ == "__main__":
    backends.main(test, __doc__)
