#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
RSS: rssdrop touches 64 MiB, then releases 32 MiB with MADV_DONTNEED and the
other 32 MiB with MADV_FREE. The rss record that follows the MADV_DONTNEED
is lower by about 32 MiB (within 10%) than before it; after MADV_FREE the
rss records are not lower (the pages stay resident). rssdrop's own reading
of /proc/self/status is the oracle for the values.
"""
import json

import mtest
from mtest import check, fail, log, show

MIB = 1 << 20


def rss_at(recs, i, pid, direction):
    """The index of the nearest rss record of pid after (direction 1) or before (-1) index i."""
    j = i + direction
    while 0 <= j < len(recs):
        r = recs[j]
        if r["type"] == "rss" and r["pid"] == pid:
            return j
        j += direction
    return None


def find_madvise(recs, pid, step):
    idx = [i for i, r in enumerate(recs) if r["type"] == "madvise" and r["pid"] == pid
           and r["addr"] == step["addr"] and r["len"] == step["len"]
           and mtest.advice_value(r["advice"]) == mtest.ADVICE[step["advice"]]]
    check(len(idx) == 1, f"expected one {step['advice']} record of {step['len']} bytes, "
          f"found {len(idx)}")
    check(recs[idx[0]]["ret"] == 0, f"{step['advice']} recorded as failed: {recs[idx[0]]}")
    return idx[0]


def test(env):
    trace = env.path("rss.mtr")
    cp = mtest.run([env.madvtrace, "-o", trace, "--smaps-interval", "100", "--",
                    env.wl("rssdrop"), "-m", "64", "-p", "400", "-k", "16"])
    check(cp.returncode == 0, f"madvtrace -- rssdrop failed: {show(cp)}")
    check("touched " in cp.stdout, f"rssdrop did not run: {show(cp)}")
    out = mtest.json_lines(cp.stdout, "rssdrop output")
    check(len(out) == 1, f"rssdrop printed {len(out)} JSON objects")
    res = out[0]
    pid = res["pid"]
    dontneed, free = res["steps"]
    check(dontneed["advice"] == "MADV_DONTNEED" and free["advice"] == "MADV_FREE",
          f"unexpected steps {res['steps']}")
    recs = mtest.dump(env, trace)
    mtest.check_no_lost(recs)
    for r in recs:
        if r["type"] == "rss":
            for k in ("anon", "file", "shmem", "swap"):
                check(isinstance(r.get(k), int) and r[k] >= 0, f"rss record without {k}: {r}")

    # The oracle itself first: DONTNEED dropped RssAnon by the half, FREE did not.
    x = dontneed["len"]
    tol = x // 10
    check(abs(dontneed["anon_before"] - dontneed["anon_after"] - x) <= tol,
          f"/proc itself disagrees with the premise: {dontneed}")
    check(free["anon_before"] - free["anon_after"] <= tol,
          f"MADV_FREE dropped RssAnon at once (memory pressure?): {free}")

    # MADV_DONTNEED: the record before shows the touched memory, the next one the drop.
    i = find_madvise(recs, pid, dontneed)
    b, a = rss_at(recs, i, pid, -1), rss_at(recs, i, pid, 1)
    check(b is not None and a is not None,
          f"no rss record before ({b}) or after ({a}) the MADV_DONTNEED")
    before, after = recs[b]["anon"], recs[a]["anon"]
    check(abs(before - dontneed["anon_before"]) <= tol,
          f"last rss record before MADV_DONTNEED: anon {before / MIB:.1f} MiB, /proc said "
          f"{dontneed['anon_before'] / MIB:.1f} MiB ({mtest.brief(recs[b])})")
    check(abs(dontneed["anon_before"] - after - x) <= tol,
          f"rss after MADV_DONTNEED of {x / MIB:.0f} MiB: anon {after / MIB:.1f} MiB, expected "
          f"{(dontneed['anon_before'] - x) / MIB:.1f} MiB +- 10% of {x / MIB:.0f} MiB "
          f"({mtest.brief(recs[a])})")
    log(f"MADV_DONTNEED {x / MIB:.0f} MiB: anon {before / MIB:.1f} -> {after / MIB:.1f} MiB "
        f"(record {mtest.brief(recs[a])})")

    # MADV_FREE: every rss record from it to the final munmap of the whole area stays high;
    # there is at least one, from the checkpoint munmap after the pause.
    i = find_madvise(recs, pid, free)
    ends = [k for k, r in enumerate(recs) if k > i and r["type"] == "munmap" and r["pid"] == pid
            and r["addr"] == dontneed["addr"] and r["len"] == res["touched"]]
    check(ends, "no record of rssdrop's final munmap of the whole area")
    seen = [r for r in recs[i + 1:ends[0]] if r["type"] == "rss" and r["pid"] == pid]
    check(seen, "no rss record between the MADV_FREE and the final munmap "
          "(the checkpoint munmap after the pause changes RSS inside a traced call)")
    for r in seen:
        check(free["anon_before"] - r["anon"] <= tol,
              f"rss dropped after MADV_FREE: anon {r['anon'] / MIB:.1f} MiB, before "
              f"{free['anon_before'] / MIB:.1f} MiB ({mtest.brief(r)})")
    log(f"MADV_FREE {x / MIB:.0f} MiB: anon stays {free['anon_before'] / MIB:.1f} MiB in "
        f"{len(seen)} following rss record(s) (last {mtest.brief(seen[-1])})")
    check_report(env, trace, res)


def check_report(env, trace, res):
    """The report's figures against rssdrop's, and its verdict against its JSON summary."""
    dontneed, free = res["steps"]
    cp = mtest.run([env.madvtrace, "report", "--format", "json", trace])
    check(cp.returncode == 0, f"report --format json failed: {show(cp)}")
    s = json.loads(cp.stdout)["summary"]
    adv = s["calls"]["by_advice"]
    for step in (dontneed, free):
        a = adv.get(step["advice"], {})
        check(a.get("calls") == 1 and a.get("bytes") == step["len"],
              f"the report counts {a} for {step['advice']}; rssdrop made one call of "
              f"{step['len']} bytes")
    check(s["released_lazy_bytes"] == 0 and s["released_eager_bytes"] == 0,
          "rssdrop unmapped everything: nothing can stay released at the end, the report says "
          f"{s['released_lazy_bytes']} lazily, {s['released_eager_bytes']} eagerly")
    # the oracle: LazyFree and Rss apart by the kept memory
    lf, srss = free["lazyfree_after"], free["smaps_rss_after"]
    check(abs(lf - free["len"]) <= MIB and srss - lf >= 16 * MIB,
          f"/proc itself disagrees with the premise: LazyFree {lf}, Rss {srss}")
    check(s["lazyfree_max_bytes"] is not None and abs(s["lazyfree_max_bytes"] - lf) <= MIB,
          f"the report's LazyFree peak is {s['lazyfree_max_bytes']} bytes, rssdrop's own "
          f"LazyFree after MADV_FREE was {lf} (its Rss {srss})")
    f = mtest.check_verdict_vs_summary(s, "rssdrop")
    check("MADV_FREE" in f and "MADV_DONTNEED" in f and "rss" in f,
          f"the verdict lacks the release or RSS figures: {s['verdict']}")
    log(f"report: MADV_FREE and MADV_DONTNEED 32 MiB in 1 call each, LazyFree peak "
        f"{s['lazyfree_max_bytes'] / MIB:.1f} MiB (rssdrop: {lf / MIB:.1f} MiB, Rss "
        f"{srss / MIB:.1f} MiB); verdict figures {sorted(f)} = the JSON summary's")


if __name__ == "__main__":
    mtest.main(test, __doc__)
