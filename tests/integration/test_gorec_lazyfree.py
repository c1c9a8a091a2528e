#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
LazyFree on time. The spike (GODEBUG=madvdontneed=0, -size 512) releases
512 MiB with MADV_FREE in a burst of ~150 calls; the kernel counts LazyFree
at each call. With the regular smaps_rollup samples a second apart, the
recording would show the memory as still in use for up to a second; the
recorder samples again once the burst is over. Under bpf and ptrace:

  - an smaps sample arrives within 50 ms of the burst's last MADV_FREE (the
    trace's own timestamps) and shows LazyFree >= 90% of what was released;
  - debounced: at most 3 samples from the burst's first call to 50 ms after
    its last (one prompt sample, plus possibly a regular one and one more),
    plus one per pause of 5 ms or more between two calls of the burst and one
    per 100 ms it lasts (the trace's own timestamps): not one per call.
"""
import os

import mtest
from mtest import check, log, MIB

BOUND_NS = 50 * 10**6
# half the recorder's quiet time (10 ms): a record may reach it late
QUIET_NS = 5 * 10**6
MAX_WAIT_NS = 100 * 10**6


def burst(recs, pid):
    frees = sorted(r["t_ns"] for r in mtest.of_type(recs, "madvise", pid)
                   if mtest.advice_value(r["advice"]) == 8 and r["ret"] >= 0)
    check(len(frees) >= 50, f"only {len(frees)} MADV_FREE calls")
    return frees


def run(env, backend):
    trace = env.path(f"lazy-{backend}.mtr")
    e = dict(os.environ, GODEBUG="madvdontneed=0")
    cp = mtest.run([env.madvtrace, "-q", "-o", trace, "--backend", backend, "--", env.spike,
                    "-size", "512", "-gcpercent", "-1", "-hold", "1500ms"], env=e, timeout=120)
    check(cp.returncode == 0, f"{backend}: {mtest.show(cp)}")
    recs = mtest.dump(env, trace)
    mtest.check_no_lost(recs)
    pid = [r for r in mtest.of_type(recs, "task") if r.get("event") == "launch"][0]["pid"]
    frees = burst(recs, pid)
    first, last = frees[0], frees[-1]
    released = sum(r["len"] for r in mtest.of_type(recs, "madvise", pid)
                   if mtest.advice_value(r["advice"]) == 8 and r["ret"] >= 0)
    samples = sorted((r for r in mtest.of_type(recs, "rss", pid)
                      if r.get("reason") == "sample" and r.get("lazyfree") is not None),
                     key=lambda r: r["t_ns"])
    after = [s for s in samples if s["t_ns"] >= last]
    check(after, f"{backend}: no smaps sample after the last MADV_FREE")
    delay = after[0]["t_ns"] - last
    check(delay <= BOUND_NS,
          f"{backend}: the first smaps sample after the burst came {delay / 1e6:.1f} ms after "
          f"its last MADV_FREE (bound {BOUND_NS / 1e6:.0f} ms)")
    check(after[0]["lazyfree"] >= 0.9 * released,
          f"{backend}: that sample shows LazyFree {after[0]['lazyfree'] / MIB:.1f} MiB of "
          f"{released / MIB:.1f} MiB released")
    during = [s for s in samples if first <= s["t_ns"] <= last + BOUND_NS]
    # the recorder samples after 10 ms of quiet, or 100 ms into a busy burst: a loaded
    # machine pauses the burst (the trace shows it), each pause may earn a sample
    pauses = sum(1 for a, b in zip(frees, frees[1:]) if b - a >= QUIET_NS)
    allowed = 3 + pauses + (last - first) // MAX_WAIT_NS
    check(len(during) <= allowed,
          f"{backend}: {len(during)} smaps samples for one burst of {len(frees)} calls over "
          f"{(last - first) / 1e6:.1f} ms with {pauses} pauses of 5 ms or more: not debounced "
          f"(at most {allowed})")
    log(f"{backend}: {len(frees)} MADV_FREE calls over {(last - first) / 1e6:.1f} ms, "
        f"{released / MIB:.1f} MiB; LazyFree {after[0]['lazyfree'] / MIB:.1f} MiB sampled "
        f"{delay / 1e6:.1f} ms after the last one; {len(during)} samples in the burst")


def test(env):
    for backend in ("bpf", "ptrace"):
        run(env, backend)


if __name__ == "__main__":
    mtest.main_go(test, __doc__)
