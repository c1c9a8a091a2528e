#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The exporter's records mode (--metrics --records) against a real Prometheus.

tests/go/metricsvc (GODEBUG=madvdontneed=0: its releases are MADV_FREE) waits,
grows its heap, releases it and holds. madvtrace --metrics --records -p PID
and a recording of the same run (madvtrace -o -p PID, ending during the hold)
attach while it waits. Oracle: the recording's report (`report --format
json`, the summary at its end): Prometheus' released-lazily, released-eagerly,
committed and reserved gauges of the process, around the moment the
recording ended, equal the report's figures (within one sample: the value
lies between the samples Prometheus took just before and just after).

The same exporter watches a cgroup (v1 memory): rssdrop, started in it
later, is claimed by the counting program at its first call and recorded
from that call on; while it pauses after its two releases, Prometheus says
it holds exactly the half it gave back with MADV_DONTNEED released eagerly
and the half it gave back with MADV_FREE released lazily (its own figures).

Go's numbers: metricsvc logs its runtime.ReadMemStats (what its /metrics
serves) every 50 ms. At every half second of the run, but while it grows its
heap (then its numbers jump by megabytes within a millisecond),
madvtrace_go_heap_{released,idle,inuse}_bytes in Prometheus is a value
metricsvc logged in the 2.5 s before (1 MiB slack, as test_gorec_metrics.py:
the runtime's first GC moves them by megabytes between two lines): the
exporter's value at t was read from metricsvc at most one worker interval
(0.5 s) plus one request (at most 1 s) before Prometheus took it, itself at
most one scrape interval (1 s) before t. HeapIdle saws by a megabyte at each
GC, so Prometheus' own scrape of metricsvc, once a second, would be no
oracle of a moment in between. With --go-metrics off, the same service gets
no Go numbers.
"""
import json
import os
import signal
import subprocess
import time

import mtest
from mtest import check, log, MIB
from prom_lib import Prom, in_cgroup, make_cgroup, reap, remove_cgroup, scrape, start_exporter

WAIT_S = 10  # metricsvc -wait: time for both tracers and Prometheus to start
REF_S = WAIT_S + 8  # the recording's --duration: it ends during the hold
MODEL = (("madvtrace_released_lazy_bytes", "released_lazy_bytes"),
         ("madvtrace_released_eager_bytes", "released_eager_bytes"),
         ("madvtrace_committed_bytes", "committed_bytes"),
         ("madvtrace_reserved_bytes", "reserved_bytes"))


GO = (("released", "HeapReleased"), ("idle", "HeapIdle"), ("inuse", "HeapInuse"))
LAG_S = 2.5  # the exporter's value at t: worker interval + request + scrape interval old
GO_SLACK = MIB  # between two of metricsvc's lines, 50 ms apart (as test_gorec_metrics.py)


def check_go(prom, svc, t0, t1):
    """The exporter's Go gauges against metricsvc's own log, step by step."""
    sel = f'pid="{svc.pid}",comm="metricsvc",godebug="madvdontneed=0",go_version=~"go1.+"'
    off = time.time() - time.monotonic_ns() / 1e9  # CLOCK_MONOTONIC to Prometheus' clock
    lines = sorted(mtest.memstats_log(svc.log), key=lambda l: l["t_ns"])
    start = [l["t_ns"] for l in lines if l["phase"] == "start"]
    grown = [l["t_ns"] for l in lines if l["phase"] == "grown"]
    check(start and grown, "metricsvc's log has no start or grown line")
    g0, g1 = start[0] / 1e9 + off + WAIT_S - 0.05, grown[0] / 1e9 + off + 0.05
    wall = [(l["t_ns"] / 1e9 + off, l) for l in lines]
    for name, field in GO:
        ours = prom.series(f"madvtrace_go_heap_{name}_bytes{{{sel}}}", t0, t1, 0.5)
        checked = 0
        for t, v in sorted(ours.items()):
            if g0 - 0.1 <= t <= g1 + LAG_S or t > wall[-1][0]:
                continue
            near = [l[field] for w, l in wall if t - LAG_S - 0.1 <= w <= t + 0.1]
            check(near, f"{field}: metricsvc logged nothing in the {LAG_S} s before {t}")
            check(min(near) - GO_SLACK <= v <= max(near) + GO_SLACK,
                  f"{field} at {t}: the exporter {v:.0f}, metricsvc's own "
                  f"{min(near):.0f}..{max(near):.0f} in the {LAG_S} s before")
            checked += 1
        check(checked >= 15, f"{field}: only {checked} moments to compare")
        peak = max(ours.values())
        log(f"{field}: at {checked} moments the exporter's value is one metricsvc had in "
            f"the {LAG_S} s before (peak {peak / MIB:.1f} MiB)")
        if name == "released":
            check(peak > 48 * MIB, f"HeapReleased never above 48 MiB ({peak}) after releasing "
                                   "a 96 MiB heap: a test that cannot fail")


def check_rssdrop(env, prom, cg):
    """rssdrop in the watched cgroup: its releases, by its own figures, in the model's gauges."""
    drop = in_cgroup(cg, [env.wl("rssdrop"), "-m", "64", "-p", "3000"], stdout=subprocess.PIPE,
                     text=True)
    try:
        line = mtest.read_line_with_timeout(drop.stdout, 10)
        check(line and line.startswith("touched "), f"rssdrop: {line!r}")
        half = int(line.split()[1]) // 2
        sel = f'pid="{drop.pid}",comm="rssdrop"'
        deadline = time.monotonic() + 12
        while True:
            lazy = prom.value(f"madvtrace_released_lazy_bytes{{{sel}}}")
            eager = prom.value(f"madvtrace_released_eager_bytes{{{sel}}}")
            if lazy == half and eager == half:
                break
            check(time.monotonic() < deadline and drop.poll() is None,
                  f"rssdrop released {half} bytes eagerly and {half} lazily; Prometheus says "
                  f"{eager} and {lazy}")
            time.sleep(0.3)
        out, _ = drop.communicate(timeout=20)
        steps = json.loads(out.strip().splitlines()[-1])["steps"]
        check([(st["advice"], st["len"]) for st in steps] ==
              [("MADV_DONTNEED", half), ("MADV_FREE", half)], f"rssdrop's steps: {steps}")
        log(f"rssdrop (pid {drop.pid}, started in the cgroup later): {half / MIB:.0f} MiB released "
            "eagerly and lazily, as it says")
    finally:
        if drop.poll() is None:
            drop.kill()
        drop.wait()


def test(env):
    os.environ["GODEBUG"] = "madvdontneed=0"
    cg = make_cgroup("mt-export-go")
    svc = mtest.Metricsvc(env, "svc", ["-wait", f"{WAIT_S}s", "-size", "96", "-hold", "120s"])
    started = time.monotonic()
    mt = prom = ref = None
    try:
        mt, port = start_exporter(env.madvtrace, ["--interval", "0.5", "--records",
                                                  "-p", str(svc.pid), "--cgroup", cg])
        trace = env.path("ref.mt")
        ref = subprocess.Popen([env.madvtrace, "-q", "-o", trace, "-p", str(svc.pid),
                                "--duration", str(REF_S)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        prom = Prom(env, f"127.0.0.1:{port}")
        t_prom = time.time()
        check(time.monotonic() - started < WAIT_S - 1,
              "the tracers and Prometheus took longer to start than metricsvc waits")
        check(ref.wait(REF_S + 30) == 0, f"the recording failed: {ref.stderr.read()}")
        rep = subprocess.run([env.madvtrace, "report", "--format", "json", trace],
                             capture_output=True, text=True, timeout=60)
        check(rep.returncode == 0, f"report: {rep.stderr}")
        s = json.loads(rep.stdout)["summary"]
        check(s["t_s"] >= REF_S - 1, f"the recording ended after {s['t_s']} s of --duration "
                                     f"{REF_S}: {ref.stderr.read()}")
        check(s["released_lazy_bytes"] > 48 * MIB,
              f"the report says only {s['released_lazy_bytes']} bytes released lazily of a "
              "96 MiB heap: a test that cannot fail")
        # the recording's end, on Prometheus' clock (records carry CLOCK_MONOTONIC)
        t_end = time.time() - (time.monotonic_ns() - s["t_ns"]) / 1e9
        time.sleep(2.5)  # Prometheus has scraped past that moment
        sel = f'pid="{svc.pid}",comm="metricsvc",godebug="madvdontneed=0"'
        for metric, key in MODEL:
            want = s[key]
            got = list(prom.series(f"{metric}{{{sel}}}", t_end - 1.5, t_end + 1.5, 0.25).values())
            check(min(got) <= want <= max(got),
                  f"{metric}: Prometheus {min(got):.0f}..{max(got):.0f} around the recording's "
                  f"end, the report {want}")
            log(f"{metric}: {want / MIB:.2f} MiB, as the report says "
                f"(Prometheus {min(got) / MIB:.2f}..{max(got) / MIB:.2f} MiB)")
        labels = prom.query(f"madvtrace_released_lazy_bytes{{{sel}}}")[0][0]
        exe = os.readlink(f"/proc/{svc.pid}/exe")
        check(labels.get("exe") == exe and labels.get("go_version", "").startswith("go1."),
              f"labels {labels}: want exe {exe} and a go_version")
        check(prom.value("madvtrace_records_lost_total") == 0, "records lost")
        check(prom.value('madvtrace_build_info{mode="records"}') == 1, "build_info mode")

        check_go(prom, svc, t_prom + 3, time.time() - 1)

        check_rssdrop(env, prom, cg)

        # --go-metrics off: the same service, never asked
        off, off_port = start_exporter(env.madvtrace, ["--interval", "0.5", "--go-metrics", "off",
                                                       "-p", str(svc.pid)])
        try:
            time.sleep(2)  # four intervals: the worker would have asked by now
            body = scrape(off_port)
            check(f'pid="{svc.pid}"' in body and "madvtrace_go_heap" not in body,
                  "--go-metrics off: Go's numbers are served, or the process is not")
            body = scrape(port)
            check(f'madvtrace_go_heap_released_bytes{{pid="{svc.pid}"' in body,
                  "without --go-metrics off, no Go numbers")
        finally:
            off.kill()
            off.wait()
        log("--go-metrics off: no Go numbers for the same service")

        # an exited process's model gauges go with it
        svc.stop()
        q = f'madvtrace_released_lazy_bytes{{pid="{svc.pid}"}}'
        deadline = time.monotonic() + 6
        while prom.query(q):
            check(time.monotonic() < deadline, "the model gauges of an exited process stay")
            time.sleep(0.5)
        log("an exited process's model gauges go at once")

        mt.send_signal(signal.SIGTERM)
        rc = mt.wait(10)
        err = mt.stderr.read()
        check(rc == 0 and not err.strip(), f"madvtrace exit {rc} on SIGTERM: {err}")
    finally:
        if prom:
            prom.stop()
        reap([mt, ref])
        svc.stop()
        remove_cgroup(cg)


if __name__ == "__main__":
    mtest.main_go(test, __doc__)
