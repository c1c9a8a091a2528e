#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Go's own numbers on the recording. tests/go/metricsvc serves /metrics
(Prometheus client) and /debug/vars (expvar) and logs its own
runtime.ReadMemStats with CLOCK_MONOTONIC times: the oracle.

  - launched, no flag: madvtrace finds its /metrics by itself, says so on one
    stderr line, records the URL (info go_metrics) and gostat records whose
    heap_released metricsvc logged within one sample interval (to 1 MiB);
  - attached (-p), no flag: the same;
  - --go-metrics off: no gostat record, no go_metrics info, nothing said;
  - --go-metrics http://127.0.0.1:PORT/debug/vars: expvar (source expvar).
"""
import re

import mtest
from mtest import check, log, MIB

IV_MS = 200
IV_NS = IV_MS * 1000000
WAIT_S = 1.0  # metricsvc -wait


def go_lines(stderr):
    return [l for l in mtest.stderr_lines(stderr) if "Go metrics" in l or "go-metrics" in l]


def growth(lines):
    """
    When metricsvc grew its heap (from the end of -wait, WAIT_S after its
    start line, to its grown line): then HeapReleased dips and jumps by
    megabytes within a millisecond as arenas are mapped and used, and no log
    can be an oracle of it.
    """
    start = [l["t_ns"] for l in lines if l["phase"] == "start"]
    grown = [l["t_ns"] for l in lines if l["phase"] == "grown"]
    check(start and grown, "metricsvc's log has no start or grown line")
    return (start[0] + int(WAIT_S * 1e9) - 20000000, grown[0] + 20000000)


def check_recording(env, trace, svc_log, what, source, url_rx):
    recs = mtest.dump(env, trace)
    mtest.check_no_lost(recs)
    task = [r for r in mtest.of_type(recs, "task") if r.get("event") in ("launch", "attach")]
    check(task, f"{what}: no launch/attach record")
    pid = task[0]["pid"]
    urls = mtest.infos(recs, "go_metrics", pid)
    check(len(urls) == 1 and re.fullmatch(url_rx, urls[0]),
          f"{what}: go_metrics info records {urls}, want one matching {url_rx}")
    gs = mtest.of_type(recs, "gostat", pid)
    check(len(gs) >= 5, f"{what}: {len(gs)} gostat records, want at least 5")
    check(all(g["source"] == source and g.get("synth") for g in gs),
          f"{what}: gostat records not all from {source}: {set(g['source'] for g in gs)}")
    check(all(g["req_ns"] > 0 for g in gs), f"{what}: a gostat without its request time")
    lines = mtest.memstats_log(svc_log)
    mtest.check_gostats_match_log(gs, lines, IV_NS, what, skip=growth(lines))
    peak = max(g["heap_released"] for g in gs)
    check(peak >= 100 * MIB, f"{what}: heap_released never above 100 MiB ({peak})")
    return len(gs), urls[0]


def launched_auto(env):
    trace, svc_log = env.path("auto.mtr"), env.path("auto.memstats.jsonl")
    cp = mtest.run([env.madvtrace, "-q", "-o", trace, "--smaps-interval", str(IV_MS), "--",
                    env.metricsvc, "-every", "10ms", "-log", svc_log, "-wait", "1s", "-idle", "1s",
                    "-hold", "1500ms"], timeout=120)
    check(cp.returncode == 0, f"launched: {mtest.show(cp)}")
    lines = go_lines(cp.stderr)
    check(len(lines) == 1 and re.search(r"reading http://127\.0\.0\.1:\d+/metrics every 200 ms",
                                        lines[0]),
          f"launched: want one line naming the URL read, got {lines}")
    n, url = check_recording(env, trace, svc_log, "launched", "prometheus",
                             r"http://127\.0\.0\.1:\d+/metrics")
    log(f"launched, no flag: found {url}; {n} gostat records agree with metricsvc's own log")


def attached_auto(env):
    trace = env.path("attach.mtr")
    svc = mtest.Metricsvc(env, "attach", ["-every", "10ms", "-wait", "1s", "-idle", "1s", "-hold", "1500ms"])
    try:
        cp = mtest.run([env.madvtrace, "-q", "-o", trace, "--smaps-interval", str(IV_MS),
                        "-p", str(svc.pid)], timeout=120)
        check(cp.returncode == 0, f"attached: {mtest.show(cp)}")
    finally:
        svc.stop()
    lines = go_lines(cp.stderr)
    check(len(lines) == 1 and svc.url("/metrics") in lines[0],
          f"attached: want one line naming {svc.url('/metrics')}, got {lines}")
    n, url = check_recording(env, trace, svc.log, "attached", "prometheus",
                             re.escape(svc.url("/metrics")))
    log(f"attached (-p), no flag: found {url}; {n} gostat records agree with metricsvc's log")


def off(env):
    trace, svc_log = env.path("off.mtr"), env.path("off.memstats.jsonl")
    cp = mtest.run([env.madvtrace, "-q", "-o", trace, "--smaps-interval", str(IV_MS),
                    "--go-metrics", "off", "--", env.metricsvc, "-every", "10ms", "-log", svc_log, "-wait",
                    "500ms", "-idle", "300ms", "-hold", "1s"], timeout=120)
    check(cp.returncode == 0, f"off: {mtest.show(cp)}")
    check(not go_lines(cp.stderr), f"off: something was said of Go metrics: {cp.stderr}")
    recs = mtest.dump(env, trace)
    check(not mtest.of_type(recs, "gostat"), "--go-metrics off: gostat records recorded")
    check(not mtest.infos(recs, "go_metrics"), "--go-metrics off: a go_metrics info record")
    check(mtest.of_type(recs, "madvise"), "--go-metrics off: the Go program's calls are missing")
    log("--go-metrics off: no gostat record, no go_metrics info, nothing said")


def expvar(env):
    trace, svc_log = env.path("expvar.mtr"), env.path("expvar.memstats.jsonl")
    port = mtest.unused_port()
    url = f"http://127.0.0.1:{port}/debug/vars"
    cp = mtest.run([env.madvtrace, "-q", "-o", trace, "--smaps-interval", str(IV_MS),
                    "--go-metrics", url, "--", env.metricsvc, "-listen", f"127.0.0.1:{port}",
                    "-log", svc_log, "-wait", "1s", "-idle", "1s", "-hold", "1500ms"],
                   timeout=120)
    check(cp.returncode == 0, f"expvar: {mtest.show(cp)}")
    check(not go_lines(cp.stderr), f"expvar: a named endpoint that works needs no word: "
                                   f"{cp.stderr}")
    n, _ = check_recording(env, trace, svc_log, "expvar", "expvar", re.escape(url))
    log(f"--go-metrics {url}: {n} gostat records from expvar agree with metricsvc's log")


def test(env):
    launched_auto(env)
    attached_auto(env)
    off(env)
    expvar(env)


if __name__ == "__main__":
    mtest.main_go(test, __doc__)
