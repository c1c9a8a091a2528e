#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The report against Go's own accounting. tests/go/spike grows its heap to
512 MiB (writing every page), drops it, runs runtime.GC and
debug.FreeOSMemory, holds 2 s and prints runtime.MemStats with its own
/proc readings. It runs under `madvtrace -o` twice:

  GODEBUG=madvdontneed=0 (MADV_FREE): the report's released_lazy_bytes is
    HeapReleased within 2% (or 8 MiB); RSS and LazyFree stay above 400 MiB;
    the verdict names MADV_FREE and lazy release.
  GODEBUG=madvdontneed=1 (MADV_DONTNEED): released_eager_bytes is
    HeapReleased within the same bounds; RSS ends under 100 MiB; the verdict
    names MADV_DONTNEED.

In both, the report's end-of-trace RSS agrees with the spike's own VmRSS
(read a moment earlier) within 8 MiB. Every figure of the verdict is the
JSON summary's own (mtest.check_verdict_vs_summary), and against the spike:
the release figure is HeapReleased (2% or 8 MiB), the end RSS and its anon
part VmRSS and RssAnon, and with MADV_FREE "Rss - LazyFree" the spike's
smaps_rollup Rss - LazyFree (8 MiB); the session's own summary (stderr)
gives LazyFree as the spike read it. The Go version, in full (go1.19.8, not
go1.19), is `go version FILE`'s: in the info record, the summary's target
and the verdict.

    test_go_spike.py --madvtrace PATH --report CMD --spike PATH
Exit 0 on success, 1 on failure, 77 (skipped) when not root or without Go.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import mtest

SKIP = 77
MIB = 1 << 20


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def near(a, b):
    """Within 2% of b, or 8 MiB."""
    return abs(a - b) <= max(0.02 * b, 8 * MIB)


def mib(v):
    return f"{v / MIB:.1f} MiB"


def spike_json(stdout):
    objs = [json.loads(l) for l in stdout.splitlines() if l.startswith("{")]
    check(len(objs) == 1, f"the spike printed {len(objs)} JSON objects: {stdout!r}")
    return objs[0]


def record(args, tmp, godebug):
    trace = os.path.join(tmp, f"spike-{godebug}.mtr")
    env = dict(os.environ, GODEBUG=f"madvdontneed={godebug}")
    cp = subprocess.run([args.madvtrace, "-o", trace, "--", args.spike, "-hold", "2s"],
                        env=env, capture_output=True, text=True, timeout=240)
    check(cp.returncode == 0,
          f"madvtrace -- spike exited {cp.returncode}: {cp.stderr.strip()[-2000:]}")
    spike = spike_json(cp.stdout)
    check(spike["GODEBUG"] == f"madvdontneed={godebug}", f"GODEBUG did not reach the spike")
    rep = subprocess.run([args.report, "report", "--format", "json", trace],
                         capture_output=True, text=True, timeout=120)
    check(rep.returncode == 0, f"report failed: {rep.stderr.strip()}")
    doc = json.loads(rep.stdout)
    # the text report must work on a real trace too
    txt = subprocess.run([args.report, "report", trace], capture_output=True, text=True,
                         timeout=120)
    check(txt.returncode == 0 and "Verdict" in txt.stdout, f"text report failed: {txt.stderr}")
    dump = subprocess.run([args.madvtrace, "dump", trace], capture_output=True, text=True,
                          timeout=120)
    check(dump.returncode == 0, f"dump failed: {dump.stderr}")
    infos = [json.loads(l) for l in dump.stdout.splitlines() if '"info"' in l]
    doc["go_version_info"] = [r["value"] for r in infos if r.get("key") == "go_version"]
    doc["session_stderr"] = cp.stderr
    return spike, doc["summary"], doc


def go_version(path):
    """`go version FILE`: the toolchain that built FILE, in full (go1.19.8)."""
    go = shutil.which("go")
    check(go, "no go command: the spike was built, so Go must be on PATH")
    cp = subprocess.run([go, "version", path], capture_output=True, text=True, timeout=60)
    check(cp.returncode == 0, f"go version {path} failed: {cp.stderr}")
    m = re.fullmatch(r".*: (go\S+)", cp.stdout.strip())
    check(m, f"cannot read `go version {path}`: {cp.stdout!r}")
    return m.group(1)


def check_go_facts(args, spike, s, doc, what):
    want = go_version(args.spike)
    check(re.fullmatch(r"go\d+\.\d+(\.\d+)?", want), f"odd Go version {want!r}")
    check(spike["go_version"] == want, f"{what}: runtime.Version() {spike['go_version']} != "
          f"`go version` {want}")
    check(doc["go_version_info"] == [want], f"{what}: the trace's go_version info records "
          f"{doc['go_version_info']}, `go version` says {want}")
    check(s["target"].get("go_version") == want, f"{what}: the report's target go_version "
          f"{s['target'].get('go_version')!r}, `go version` says {want}")
    check(re.search(re.escape(want) + r"(?![0-9])", s["verdict"]),
          f"{what}: the verdict does not name {want}: {s['verdict']}")
    return want


def check_verdict_vs_spike(spike, s, what, advice):
    f = mtest.check_verdict_vs_summary(s, what)
    check(advice in f and "rss" in f, f"{what}: the verdict lacks the {advice} or RSS figure: "
          f"{s['verdict']}")
    num, unit, _ = f[advice]
    rel = float(num) * mtest.UNITS[unit]
    check(near(rel, spike["HeapReleased"]), f"{what}: the verdict says {advice} released "
          f"{num} {unit}, HeapReleased is {mib(spike['HeapReleased'])}")
    rss = [float(n) * mtest.UNITS[u] for n, u in f["rss"]]
    check(abs(rss[0] - spike["VmRSS_bytes"]) <= 8 * MIB and
          abs(rss[1] - spike["RssAnon_bytes"]) <= 8 * MIB,
          f"{what}: the verdict's RSS {mib(rss[0])} (anon {mib(rss[1])}), the spike's VmRSS "
          f"{mib(spike['VmRSS_bytes'])} (RssAnon {mib(spike['RssAnon_bytes'])})")
    return f


def common(spike, s, what):
    check(s["lost_events"] == 0, f"{what}: {s['lost_events']} events lost")
    check(s["target"]["exited"] and s["target"]["exit_status"] == 0,
          f"{what}: the target did not exit cleanly: {s['target']}")
    check(s["rss_bytes"] is not None, f"{what}: no RSS in the report")
    check(abs(s["rss_bytes"] - spike["VmRSS_bytes"]) <= 8 * MIB,
          f"{what}: report RSS {mib(s['rss_bytes'])} vs the spike's VmRSS "
          f"{mib(spike['VmRSS_bytes'])}")


def test_lazy(args, tmp):
    spike, s, doc = record(args, tmp, 0)
    rel = spike["HeapReleased"]
    print(f"madvdontneed=0: HeapReleased {mib(rel)}, released lazily {mib(s['released_lazy_bytes'])}"
          f", eagerly {mib(s['released_eager_bytes'])}, RSS {mib(s['rss_bytes'])}, LazyFree "
          f"{mib(s['lazyfree_bytes'] or 0)} (spike's own LazyFree {mib(spike['LazyFree_bytes'])})")
    check(rel > 400 * MIB, f"the spike released only {mib(rel)}: not the workload expected")
    check(spike["LazyFree_bytes"] > 400 * MIB,
          f"the spike's own LazyFree is {mib(spike['LazyFree_bytes'])}: the system reclaimed "
          "it (memory pressure?), so this run cannot check lazy release")
    common(spike, s, "madvdontneed=0")
    check(near(s["released_lazy_bytes"], rel),
          f"released_lazy_bytes {mib(s['released_lazy_bytes'])} vs HeapReleased {mib(rel)}")
    check(s["released_eager_bytes"] <= 8 * MIB,
          f"released_eager_bytes {mib(s['released_eager_bytes'])} with MADV_FREE")
    check(s["rss_bytes"] > 400 * MIB, f"RSS {mib(s['rss_bytes'])}, expected > 400 MiB")
    check(s["lazyfree_bytes"] is not None and s["lazyfree_bytes"] > 400 * MIB,
          f"LazyFree {s['lazyfree_bytes']}, expected > 400 MiB")
    check(abs(s["lazyfree_bytes"] - spike["LazyFree_bytes"]) <= 8 * MIB,
          "the report's LazyFree and the spike's differ by more than 8 MiB")
    v = s["verdict"]
    check("MADV_FREE" in v and "lazily" in v, f"the verdict does not explain lazy release: {v}")
    check(any(f["kind"] == "lazy_release" for f in s["findings"]), "no lazy_release finding")
    f = check_verdict_vs_spike(spike, s, "madvdontneed=0", "MADV_FREE")
    check("held" in f and "smaps" in f, f"the verdict does not give Rss - LazyFree: {v}")
    held = float(f["held"][0]) * mtest.UNITS[f["held"][1]]
    own = spike["SmapsRss_bytes"] - spike["LazyFree_bytes"]
    check(abs(held - own) <= 8 * MIB, f"the verdict's Rss - LazyFree is {mib(held)}, the "
          f"spike's own smaps_rollup Rss - LazyFree {mib(own)}")
    m = re.findall(r"^pid \d+ .*\(LazyFree " + mtest.SIZE + r"\)", doc["session_stderr"], re.M)
    check(len(m) == 1, f"the session summary has no LazyFree for the spike: "
          f"{doc['session_stderr'][-1500:]}")
    lf = float(m[0][0]) * mtest.UNITS[m[0][1]]
    check(abs(lf - spike["LazyFree_bytes"]) <= 8 * MIB, f"the session summary says LazyFree "
          f"{m[0][0]} {m[0][1]}, the spike's own {mib(spike['LazyFree_bytes'])}")
    ver = check_go_facts(args, spike, s, doc, "madvdontneed=0")
    print(f"madvdontneed=0: verdict figures = summary; released {f['MADV_FREE'][0]} MiB = "
          f"HeapReleased, Rss - LazyFree {mib(held)} = the spike's {mib(own)}, session LazyFree "
          f"{mib(lf)}; Go version {ver} everywhere")


def test_eager(args, tmp):
    spike, s, doc = record(args, tmp, 1)
    rel = spike["HeapReleased"]
    print(f"madvdontneed=1: HeapReleased {mib(rel)}, released eagerly "
          f"{mib(s['released_eager_bytes'])}, lazily {mib(s['released_lazy_bytes'])}, RSS "
          f"{mib(s['rss_bytes'])}")
    check(rel > 400 * MIB, f"the spike released only {mib(rel)}: not the workload expected")
    common(spike, s, "madvdontneed=1")
    check(near(s["released_eager_bytes"], rel),
          f"released_eager_bytes {mib(s['released_eager_bytes'])} vs HeapReleased {mib(rel)}")
    check(s["released_lazy_bytes"] <= 8 * MIB,
          f"released_lazy_bytes {mib(s['released_lazy_bytes'])} with MADV_DONTNEED")
    check(s["rss_bytes"] < 100 * MIB, f"RSS {mib(s['rss_bytes'])}, expected < 100 MiB")
    dn = s["rss_at_calls"]["MADV_DONTNEED"]
    check(dn["rss_down_bytes"] > 400 * MIB,
          f"RSS fell by only {mib(dn['rss_down_bytes'])} at the MADV_DONTNEED calls")
    v = s["verdict"]
    check("MADV_DONTNEED" in v and "eagerly" in v, f"the verdict does not explain eager release: {v}")
    check_verdict_vs_spike(spike, s, "madvdontneed=1", "MADV_DONTNEED")
    check_go_facts(args, spike, s, doc, "madvdontneed=1")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--spike", default="")
    args = ap.parse_args()
    if os.geteuid() != 0:
        mtest.skip("needs root (BPF)")
    if not args.spike or not os.path.exists(args.spike):
        mtest.skip("the Go spike was not built (no go compiler?)")
    tmp = tempfile.mkdtemp(prefix="mt-go-")
    try:
        test_lazy(args, tmp)
        test_eager(args, tmp)
    except (Failure, subprocess.TimeoutExpired) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("go spike: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
