#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The reconciliation on a real Go service: tests/go/metricsvc (the Prometheus
client's /metrics) grows its heap, drops it, lets the scavenger work and
calls debug.FreeOSMemory, under GODEBUG=madvdontneed=0 (MADV_FREE) and =1
(MADV_DONTNEED), launched and attached (-p), and launched through `env`
(with -q: a wrapper gets what the program started directly gets). Oracles:
metricsvc's own runtime.ReadMemStats log (CLOCK_MONOTONIC), smaps_rollup's LazyFree and
pagemap as the recorder read them, the calls in the same trace.

For each run, `report --format json`'s reconciliation of the service:
  - its HeapReleased is what the service logged around then (1 MiB);
  - the parts of HeapReleased add up to it, and what they leave unexplained
    is within 2% or 4 MiB;
  - the never-touched part agrees with pagemap (it is committed memory
    pagemap found absent) and is small beside what madvise released;
  - under madvdontneed=0 the released heap is still resident (LazyFree, as
    smaps says), under =1 it is gone (eagerly released, absent in pagemap);
  - the RSS parts add up to the RSS, the LazyFree part being smaps' own;
  - the text report says the sentence of its case.
"""
import json
import os

import mtest
from mtest import check, log, MIB

IV_MS = 200
SVC_ARGS = ["-every", "10ms", "-size", "128", "-wait", "1s", "-idle", "1s", "-hold", "1500ms"]


def reconciled(env, trace, what):
    cp = mtest.run([env.madvtrace, "report", "--format", "json", trace], timeout=60)
    check(cp.returncode == 0, f"{what}: report: {mtest.show(cp)}")
    procs = json.loads(cp.stdout)["reconciliation"]["processes"]
    check(len(procs) == 1, f"{what}: {len(procs)} processes reconciled, want the service")
    text = mtest.run([env.madvtrace, "report", trace], timeout=60)
    check(text.returncode == 0, f"{what}: report: {mtest.show(text)}")
    return procs[0], text.stdout


def check_run(env, trace, svc_log, godebug, what):
    p, text = reconciled(env, trace, what)
    go, k, hr, rss = p["go"], p["kernel"], p["heap_released"], p["rss"]
    check(hr and rss and not p["partial"], f"{what}: no full reconciliation: {p}")
    released = go["heap_released_bytes"]
    check(released >= 100 * MIB, f"{what}: HeapReleased {released} at the end, want >= 100 MiB")

    # Go's number is the service's own, read around then
    lines = mtest.memstats_log(svc_log)
    near = [l["HeapReleased"] for l in lines if abs(l["t_ns"] - go["t_ns"]) <= IV_MS * 1000000]
    check(near and min(abs(x - released) for x in near) <= MIB,
          f"{what}: HeapReleased {released} is not what metricsvc logged then ({near[:5]})")

    # the parts add up, and leave little unexplained
    parts = (hr["lazy_resident_bytes"] + hr["lazy_reclaimed_bytes"] + hr["eager_absent_bytes"] +
             hr["never_touched_bytes"] + hr["unexplained_bytes"])
    check(parts == released, f"{what}: the parts of HeapReleased add up to {parts}, not {released}")
    check(abs(hr["unexplained_bytes"]) <= max(released // 50, 4 * MIB),
          f"{what}: {hr['unexplained_bytes']} bytes of HeapReleased unexplained")

    # never touched: committed memory that pagemap found absent, small beside the releases
    madvised = hr["lazy_resident_bytes"] + hr["lazy_reclaimed_bytes"] + hr["eager_absent_bytes"]
    check(hr["never_touched_bytes"] <= k["committed_absent_bytes"],
          f"{what}: never touched {hr['never_touched_bytes']} > pagemap's committed and absent "
          f"{k['committed_absent_bytes']}")
    check(hr["never_touched_bytes"] <= madvised // 10,
          f"{what}: never touched {hr['never_touched_bytes']} beside {madvised} released by madvise")
    # what madvise released is what the model says is released, as pagemap found it
    model = k["model_released_lazy_bytes"] + k["model_released_eager_bytes"]
    in_pm = (k["lazy_present_bytes"] + k["lazy_absent_bytes"] + k["eager_present_bytes"] +
             k["eager_absent_bytes"])
    check(abs(in_pm - model) <= max(model // 50, 4 * MIB),
          f"{what}: pagemap covered {in_pm} bytes of released ranges, the model holds {model}")

    if godebug == "madvdontneed=0":
        check(hr["lazy_resident_bytes"] >= 100 * MIB and hr["eager_absent_bytes"] <= 4 * MIB,
              f"{what}: MADV_FREE: want the release still resident, got {hr}")
        check(abs(hr["lazy_resident_bytes"] - k["lazyfree_bytes"]) <= 4 * MIB,
              f"{what}: still resident {hr['lazy_resident_bytes']}, smaps LazyFree "
              f"{k['lazyfree_bytes']}")
        check("is still resident (LazyFree)" in text and "released with MADV_FREE" in text,
              f"{what}: the report does not say the released heap is still resident")
    else:
        check(hr["eager_absent_bytes"] >= 100 * MIB and hr["lazy_resident_bytes"] <= 4 * MIB,
              f"{what}: MADV_DONTNEED: want the release gone, got {hr}")
        check(k["lazyfree_bytes"] <= 4 * MIB, f"{what}: LazyFree {k['lazyfree_bytes']}")

    # the RSS side: its parts add up, LazyFree being smaps' own
    rparts = (rss["heap_inuse_bytes"] + rss["stack_inuse_bytes"] + rss["idle_kept_bytes"] +
              rss["lazyfree_bytes"] + rss["other_bytes"])
    check(rparts == k["rss_bytes"], f"{what}: the parts of RSS add up to {rparts}, "
                                    f"not {k['rss_bytes']}")
    check(rss["lazyfree_bytes"] == k["lazyfree_bytes"],
          f"{what}: RSS's LazyFree part {rss['lazyfree_bytes']} is not smaps' "
          f"{k['lazyfree_bytes']}")
    check(rss["other_bytes"] >= -4 * MIB, f"{what}: the rest of RSS is {rss['other_bytes']}")
    log(f"{what}: HeapReleased {released / MIB:.1f} MiB = "
        f"{hr['lazy_resident_bytes'] / MIB:.1f} still resident + "
        f"{hr['lazy_reclaimed_bytes'] / MIB:.1f} reclaimed + "
        f"{hr['eager_absent_bytes'] / MIB:.1f} released eagerly + "
        f"{hr['never_touched_bytes'] / MIB:.1f} never touched + "
        f"{hr['unexplained_bytes'] / MIB:.1f} unexplained; RSS {k['rss_bytes'] / MIB:.1f} MiB")


def launched(env, godebug, wrapper=False):
    what = f"launched{' through env' if wrapper else ''}, GODEBUG={godebug}"
    name = f"{'w' if wrapper else 'l'}-{godebug}"
    trace, svc_log = env.path(f"{name}.mtr"), env.path(f"{name}.jsonl")
    # through env, as GODEBUG is usually set for one run: the same as started directly
    cmd = ["/usr/bin/env", f"GODEBUG={godebug}"] if wrapper else []
    cp = mtest.run([env.madvtrace, "-q", "-o", trace, "--smaps-interval", str(IV_MS), "--"] +
                   cmd + [env.metricsvc, "-log", svc_log] + SVC_ARGS, timeout=120,
                   env=dict(os.environ, GODEBUG=godebug))
    check(cp.returncode == 0, f"{what}: {mtest.show(cp)}")
    check_run(env, trace, svc_log, godebug, what)


def attached(env, godebug):
    what = f"attached, GODEBUG={godebug}"
    trace = env.path(f"a-{godebug}.mtr")
    old = os.environ.get("GODEBUG")
    os.environ["GODEBUG"] = godebug
    try:
        svc = mtest.Metricsvc(env, f"a-{godebug}", SVC_ARGS)
    finally:
        if old is None:
            del os.environ["GODEBUG"]
        else:
            os.environ["GODEBUG"] = old
    try:
        cp = mtest.run([env.madvtrace, "-q", "-o", trace, "--smaps-interval", str(IV_MS),
                        "-p", str(svc.pid)], timeout=120)
        check(cp.returncode == 0, f"{what}: {mtest.show(cp)}")
    finally:
        svc.stop()
    check_run(env, trace, svc.log, godebug, what)


def test(env):
    for godebug in ("madvdontneed=0", "madvdontneed=1"):
        launched(env, godebug)
        attached(env, godebug)
    launched(env, "madvdontneed=0", wrapper=True)


if __name__ == "__main__":
    mtest.main_go(test, __doc__)
