#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Residency by range (resident records, from /proc/PID/pagemap, counted over
the ranges the model holds in each state).

  - attached to metricsvc (bpf, -d): a resident record follows every smaps
    sample of the target, and the end record (the target runs on);
  - the spike under GODEBUG=madvdontneed=0 (512 MiB released with
    MADV_FREE): after the release, lazy_present is the released size (the
    spike's own step_released, within 5%) and agrees with smaps_rollup
    LazyFree of the same sample within 5%; with -q too (a Go target's trace
    keeps the model);
  - the ptrace backend run by an unprivileged user (mtuser) on its own
    spike: resident records too (present bits need no privilege).
"""
import json
import os
import subprocess

import mtest
from mtest import check, log, MIB

IV_MS = 250


def samples_and_resident(recs, pid):
    smp = sorted((r for r in mtest.of_type(recs, "rss", pid)
                  if r.get("lazyfree") is not None and r.get("reason") in ("sample", "end")),
                 key=lambda r: r["t_ns"])
    res = sorted(mtest.of_type(recs, "resident", pid), key=lambda r: r["t_ns"])
    return smp, res


def pair_samples(recs, pid, what):
    """
    Each smaps sample gets one pass, in order (the worker takes them first
    come, first served), so the i-th resident record is the i-th sample's;
    a sample in the last second before the exit may find the process gone
    (or its pass still queued when the exit record makes the worker drop it).
    """
    smp, res = samples_and_resident(recs, pid)
    exits = [r["t_ns"] for r in mtest.of_type(recs, "task", pid) if r.get("event") == "exit"]
    late = [s for s in smp if exits and exits[0] - s["t_ns"] < 10**9]
    check(len(smp) - len(late) <= len(res) <= len(smp),
          f"{what}: {len(res)} resident records for {len(smp)} smaps samples "
          f"({len(late)} of them in the last second before the exit)")
    pairs = list(zip(smp, res))
    for s, r in pairs:
        check(s["t_ns"] <= r["t_ns"] <= s["t_ns"] + 10**9,
              f"{what}: the resident record of the sample at {s['t_ns']} came at {r['t_ns']}")
    return smp, res, pairs


def check_each_sample(recs, pid, what, end_expected):
    smp, res, pairs = pair_samples(recs, pid, what)
    check(len(smp) >= 4, f"{what}: only {len(smp)} smaps samples")
    for r in res:
        total = sum(r[k] for k in ("lazy_present", "lazy_absent", "eager_present", "eager_absent",
                                   "committed_present", "committed_absent", "swapped"))
        # no ranges: a sample taken as an exec had just emptied the model
        check(r.get("synth") and (total > 0) == (r["ranges"] > 0) and total % 4096 == 0,
              f"{what}: odd resident record {r}")
    check(sum(r["ranges"] > 0 for r in res) >= len(res) - 1,
          f"{what}: resident records without ranges: {res}")
    if end_expected:
        check(smp[-1]["reason"] == "end" and len(pairs) == len(smp),
              f"{what}: no resident record for the end record")
    return len(smp), len(res)


def attached(env):
    trace = env.path("attach.mtr")
    svc = mtest.Metricsvc(env, "res", ["-wait", "500ms", "-idle", "500ms", "-hold", "30s"])
    try:
        cp = mtest.run([env.madvtrace, "-q", "-o", trace, "--smaps-interval", str(IV_MS), "-d",
                        "3", "-p", str(svc.pid)], timeout=60)
        check(cp.returncode == 0, f"attached: {mtest.show(cp)}")
        check(svc.proc.poll() is None, "metricsvc did not run on after the detach")
    finally:
        svc.stop()
    recs = mtest.dump(env, trace)
    mtest.check_no_lost(recs)
    n, m = check_each_sample(recs, svc.pid, "attached", True)
    log(f"attached to metricsvc: {m} resident records for {n} smaps samples, the end included")


def spike_json(stdout):
    objs = [json.loads(l) for l in stdout.splitlines() if l.startswith("{")]
    check(len(objs) == 1, f"the spike printed {len(objs)} JSON objects: {stdout!r}")
    return objs[0]


def check_lazy(recs, pid, spike, what):
    _, _, all_pairs = pair_samples(recs, pid, what)
    released = spike["step_released"]
    check(released >= 400 * MIB, f"{what}: the spike released only {released} bytes")
    # after the release (the model learns of a call when the drain sees it: during the
    # burst it may be a poll behind the kernel)
    last_free = max(r["t_ns"] for r in mtest.of_type(recs, "madvise", pid)
                    if mtest.advice_value(r["advice"]) == 8 and r["ret"] >= 0)
    pairs = [(s, r) for s, r in all_pairs if s["t_ns"] >= last_free + 50 * 10**6]
    check(len(pairs) >= 2, f"{what}: {len(pairs)} samples after the release (want 2): "
                           f"{[(s['reason'], s['lazyfree']) for s, _ in all_pairs]}")
    for s, r in pairs:
        lp, lf = r["lazy_present"], s["lazyfree"]
        check(abs(lp - lf) <= 0.05 * lf,
              f"{what}: lazy_present {lp / MIB:.1f} MiB vs LazyFree {lf / MIB:.1f} MiB in the "
              f"same sample: more than 5% apart")
        check(abs(lp - released) <= 0.05 * released,
              f"{what}: lazy_present {lp / MIB:.1f} MiB vs {released / MIB:.1f} MiB released")
        check(r["eager_present"] + r["eager_absent"] < 16 * MIB,
              f"{what}: {r['eager_absent']} bytes released eagerly under madvdontneed=0?")
    return pairs


def spike_lazy(env, backend, quiet):
    trace = env.path(f"spike-{backend}.mtr")
    e = dict(os.environ, GODEBUG="madvdontneed=0")
    cmd = [env.madvtrace, "-o", trace, "--backend", backend, "--smaps-interval", str(IV_MS)]
    cmd += ["-q"] if quiet else []
    cp = mtest.run(cmd + ["--", env.spike, "-size", "512", "-hold", "1500ms"], env=e,
                   timeout=120)
    check(cp.returncode == 0, f"spike ({backend}): {mtest.show(cp)}")
    spike = spike_json(cp.stdout)
    recs = mtest.dump(env, trace)
    mtest.check_no_lost(recs)
    pid = spike["pid"]
    check_each_sample(recs, pid, f"spike ({backend})", False)
    pairs = check_lazy(recs, pid, spike, f"spike ({backend})")
    s, r = pairs[-1]
    log(f"spike, madvdontneed=0, {backend}{' -q' if quiet else ''}: released "
        f"{spike['step_released'] / MIB:.1f} MiB; after it lazy_present "
        f"{r['lazy_present'] / MIB:.1f} MiB, smaps LazyFree {s['lazyfree'] / MIB:.1f} MiB "
        f"({len(pairs)} samples)")


def unprivileged(env):
    d = env.path("mtuser")
    os.chmod(env.tmp, 0o711)  # mtuser writes its trace in a directory of its own in there
    os.mkdir(d)
    os.chmod(d, 0o777)
    trace = os.path.join(d, "spike.mtr")
    e = dict(os.environ, GODEBUG="madvdontneed=0")
    cp = mtest.run(["runuser", "-u", "mtuser", "--", env.madvtrace, "-q", "-o", trace,
                    "--backend", "ptrace", "--smaps-interval", str(IV_MS), "--", env.spike,
                    "-size", "256", "-hold", "1s"], env=e, timeout=120)
    check(cp.returncode == 0, f"ptrace as mtuser: {mtest.show(cp)}")
    check("pagemap" not in cp.stderr, f"ptrace as mtuser: {cp.stderr}")
    spike = spike_json(cp.stdout)
    recs = mtest.dump(env, trace)
    _, res = samples_and_resident(recs, spike["pid"])
    check(res and max(r["lazy_present"] for r in res) >= 200 * MIB,
          f"ptrace as mtuser: resident records {res}")
    log(f"ptrace as mtuser: {len(res)} resident records, lazy_present up to "
        f"{max(r['lazy_present'] for r in res) / MIB:.1f} MiB")


def test(env):
    attached(env)
    spike_lazy(env, "bpf", True)
    spike_lazy(env, "ptrace", False)
    unprivileged(env)


if __name__ == "__main__":
    mtest.main_go(test, __doc__)
