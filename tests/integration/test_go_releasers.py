#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Who released it: the report's releasers against what tests/go/spike says it
did. The spike reads runtime.MemStats.HeapReleased just before and after its
release step and prints the difference (step_released):

  freeos     `madvtrace -o T -- spike -gcpercent -1` (a Go program: stacks by
             default). With the GC off the background scavenger has no goal,
             so debug.FreeOSMemory releases nearly everything; what the
             scavenger still does runs during that step. The report must put
             nearly all released bytes on debug.FreeOSMemory, no more than
             the step released, and FreeOSMemory plus the scavenger at least
             what the step released; every release has a stack, every stack
             is in the trace and named, the innermost frame is
             runtime.madvise.
  idle       `spike -size 256 -idle 8s`: no FreeOSMemory, two GCs, then idle:
             the background scavenger releases (its own figure), and the
             report puts at least that on the scavenger, and nearly all.
  stripped   the spike built with -ldflags='-s -w', static and PIE: the same
             attribution, with functions named from .gopclntab alone.
  free       GODEBUG=madvdontneed=0: MADV_FREE, expected for go1.19, also on
             debug.FreeOSMemory.
  nostacks   --no-stacks: the report says the stacks were not recorded and
             how to get them.
  ptrace     the freeos run under --backend ptrace: the same attribution,
             stack ids from 1, every id written once, after its first use,
             and the debug.FreeOSMemory stack the same functions as the bpf
             backend's.

    test_go_releasers.py --madvtrace PATH --report CMD --spike PATH
                         [--stripped PATH] [--pie-stripped PATH]
Exit 0 on success, 1 on failure, 77 (skipped) when not root or without Go.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import mtest

SKIP = 77
MIB = 1 << 20
TOL = 8 * MIB


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def mib(v):
    return f"{v / MIB:.1f} MiB"


def record(args, tmp, name, cmd, extra=(), env=None):
    trace = os.path.join(tmp, name + ".mtr")
    cp = subprocess.run([args.madvtrace, *extra, "-o", trace, "--", *cmd],
                        env=dict(os.environ, **(env or {})), capture_output=True, text=True,
                        timeout=120)
    check(cp.returncode == 0, f"{name}: madvtrace exited {cp.returncode}: {cp.stderr[-2000:]}")
    objs = [json.loads(l) for l in cp.stdout.splitlines() if l.startswith("{")]
    check(len(objs) == 1, f"{name}: the spike printed {len(objs)} JSON objects")
    rep = subprocess.run([args.report, "report", "-f", "json", trace], capture_output=True,
                         text=True, timeout=120)
    check(rep.returncode == 0, f"{name}: report failed: {rep.stderr.strip()}")
    # symbols were found: nothing to warn about
    check(rep.stderr == "", f"{name}: the report warned: {rep.stderr.strip()}")
    txt = subprocess.run([args.report, "report", trace], capture_output=True, text=True,
                         timeout=120)
    check(txt.returncode == 0, f"{name}: text report failed: {txt.stderr.strip()}")
    return trace, objs[0], json.loads(rep.stdout), txt.stdout


def released(doc, key):
    g = doc["releasers"]["by_releaser"].get(key)
    return g["released_bytes"] if g else 0


def finding(doc, kind):
    return [f["text"] for f in doc["summary"]["findings"] if f["kind"] == kind]


def check_complete(name, doc):
    """Every release has a stack, every stack is in the trace and could be named."""
    r = doc["releasers"]
    check(r["stacks_recorded"], f"{name}: no release stacks recorded")
    check(r["calls_without_stack"] == 0, f"{name}: {r['calls_without_stack']} releases lack a stack")
    check(r["missing_stacks"] == 0, f"{name}: {r['missing_stacks']} stacks missing from the trace")
    check("unknown" not in r["by_releaser"], f"{name}: releases of unknown origin: {r['by_releaser']}")
    s = doc["summary"]
    total = s["madv_free_bytes"] + s["madv_dontneed_bytes"]
    check(r["released_bytes"] == total,
          f"{name}: the releasers add up to {mib(r['released_bytes'])}, the calls to {mib(total)}")
    check(len(r["programs"]) == 1 and r["programs"][0]["error"] is None,
          f"{name}: programs {r['programs']}")
    return total


def top_of(doc, key):
    for st in doc["releasers"]["top_stacks"]:
        if st["releaser"] == key:
            return st
    raise Failure(f"no top stack of {key}: {doc['releasers']['top_stacks']}")


def check_named_stack(name, st, decisive_names):
    fr = st["frames"]
    check(fr and fr[0]["function"] == "runtime.madvise",
          f"{name}: the innermost frame is {fr[0] if fr else None}, not runtime.madvise")
    check(st["decisive_frame"] is not None, f"{name}: no frame decided the releaser")
    d = fr[st["decisive_frame"]]["function"]
    check(any(d.startswith(n) for n in decisive_names),
          f"{name}: the deciding frame is {d}, expected one of {decisive_names}")
    for f in fr[:st["decisive_frame"] + 1]:
        check(f["function"] and f["function"].startswith("runtime"),
              f"{name}: a frame below the deciding one is {f}")


FREEOS = ("runtime.runtime_debug_freeOSMemory", "runtime/debug.FreeOSMemory",
          "runtime.(*mheap).scavengeAll")
SCAVENGER = ("runtime.bgscavenge", "runtime.(*scavengerState)")


def check_freeos(name, spike, doc, text):
    total = check_complete(name, doc)
    step = spike["step_released"]
    fos, bg = released(doc, "free_os_memory"), released(doc, "bgscavenge")
    print(f"{name}: released {mib(total)}: debug.FreeOSMemory {mib(fos)}, scavenger {mib(bg)}; "
          f"the spike's FreeOSMemory step released {mib(step)}, HeapReleased {mib(spike['HeapReleased'])}")
    check(step > 400 * MIB, f"{name}: the FreeOSMemory step released only {mib(step)}")
    check(fos >= 0.8 * total, f"{name}: debug.FreeOSMemory has only {mib(fos)} of {mib(total)}")
    check(fos <= step + TOL, f"{name}: debug.FreeOSMemory {mib(fos)} > the step's {mib(step)}")
    check(fos + bg >= step - TOL,
          f"{name}: FreeOSMemory {mib(fos)} + scavenger {mib(bg)} < the step's {mib(step)}")
    check_named_stack(name, top_of(doc, "free_os_memory"), FREEOS)
    check("debug.FreeOSMemory" in text.split("Who released it (the user stack")[1],
          f"{name}: the text report's table does not name debug.FreeOSMemory")
    rf = finding(doc, "releasers")
    check(len(rf) == 1 and rf[0].find("debug.FreeOSMemory") > 0,
          f"{name}: the verdict does not name debug.FreeOSMemory: {rf}")


def test_freeos(args, tmp):
    _, spike, doc, text = record(args, tmp, "freeos", [args.spike, "-hold", "0s", "-gcpercent", "-1"])
    check_freeos("freeos", spike, doc, text)
    check(finding(doc, "go_release") and not finding(doc, "go_mismatch"),
          f"freeos: go1.19 released with MADV_DONTNEED as expected: {doc['summary']['findings']}")
    return doc


def test_idle(args, tmp):
    _, spike, doc, _ = record(args, tmp, "idle",
                              [args.spike, "-hold", "0s", "-size", "256", "-idle", "8s"])
    total = check_complete("idle", doc)
    step, bg = spike["step_released"], released(doc, "bgscavenge")
    print(f"idle: released {mib(total)}, by the scavenger {mib(bg)}; the spike's idle step "
          f"released {mib(step)}")
    check(step >= 32 * MIB, f"idle: the scavenger released only {mib(step)} in 8 s of idle")
    check(bg >= step - TOL, f"idle: the scavenger has {mib(bg)}, the spike says {mib(step)}")
    check(bg >= 0.9 * total, f"idle: the scavenger has only {mib(bg)} of {mib(total)}")
    check(released(doc, "free_os_memory") == 0, "idle: releases put on debug.FreeOSMemory")
    check_named_stack("idle", top_of(doc, "bgscavenge"), SCAVENGER)


def test_stripped(args, tmp):
    for name, path in (("stripped", args.stripped), ("pie-stripped", args.pie_stripped)):
        if not path:
            print(f"{name}: not built, skipped")
            continue
        _, spike, doc, text = record(args, tmp, name, [path, "-hold", "0s", "-gcpercent", "-1"])
        check(doc["releasers"]["programs"][0]["symbols"] == "gopclntab",
              f"{name}: symbols from {doc['releasers']['programs'][0]['symbols']}")
        check_freeos(name, spike, doc, text)


def test_free(args, tmp):
    _, spike, doc, _ = record(args, tmp, "free", [args.spike, "-hold", "0s", "-gcpercent", "-1"],
                              env={"GODEBUG": "madvdontneed=0"})
    check_complete("free", doc)
    by = doc["releasers"]["by_releaser"]["free_os_memory"]["by_call"]
    check("MADV_FREE" in by and "MADV_DONTNEED" not in by,
          f"free: debug.FreeOSMemory released with {list(by)}")
    g = finding(doc, "go_release")
    check(g and "MADV_FREE" in g[0] and not finding(doc, "go_mismatch"),
          f"free: madvdontneed=0 on go1.19 expects MADV_FREE: {doc['summary']['findings']}")


def test_nostacks(args, tmp):
    _, _, doc, text = record(args, tmp, "nostacks", [args.spike, "-hold", "0s"],
                             extra=["--no-stacks"])
    r = doc["releasers"]
    check(not r["stacks_recorded"] and r["calls_with_stack"] == 0,
          f"nostacks: stacks recorded anyway: {r}")
    check(r["by_releaser"]["no_stack"]["released_bytes"] == r["released_bytes"] > 0,
          f"nostacks: {r['by_releaser']}")
    f = finding(doc, "releasers")
    check(f and "--stacks" in f[0], f"nostacks: the verdict does not say how to get stacks: {f}")
    check("were not recorded" in text and "madvtrace --stacks" in text,
          "nostacks: the text report does not say the stacks were not recorded")


def dump(args, trace):
    out = subprocess.run([args.madvtrace, "dump", trace], capture_output=True, text=True,
                         timeout=120, check=True).stdout
    return [json.loads(l) for l in out.splitlines()]


def fos_functions(doc):
    return [f["function"] for f in top_of(doc, "free_os_memory")["frames"]]


def test_ptrace(args, tmp, bpf_doc):
    trace, spike, doc, text = record(args, tmp, "ptrace",
                                     [args.spike, "-hold", "0s", "-gcpercent", "-1"],
                                     extra=["--backend", "ptrace"])
    check(doc["trace"]["backend"] == "ptrace", "ptrace: not recorded by the ptrace backend")
    check_freeos("ptrace", spike, doc, text)
    # the id scheme: ids from 1, each stack written once, after the first record using it
    seen, written = set(), []
    for r in dump(args, trace):
        if r["type"] == "stack":
            check(r["id"] in seen, f"ptrace: stack {r['id']} written before any record used it")
            written.append(r["id"])
        elif r.get("stack_id"):
            seen.add(r["stack_id"])
    check(written == list(range(1, len(written) + 1)),
          f"ptrace: stack ids {written[:20]} are not 1, 2, 3, ...")
    check(seen == set(written), f"ptrace: records use stacks {sorted(seen - set(written))} "
          "the trace does not have")
    a, b = fos_functions(bpf_doc), fos_functions(doc)
    print(f"ptrace: debug.FreeOSMemory stack: {' < '.join(b)}")
    check(a == b, f"the bpf and ptrace backends took different stacks:\n  bpf    {a}\n  ptrace {b}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--spike", default="")
    ap.add_argument("--stripped", default="")
    ap.add_argument("--pie-stripped", default="")
    args = ap.parse_args()
    if os.geteuid() != 0:
        mtest.skip("needs root (BPF)")
    if not args.spike or not os.path.exists(args.spike):
        mtest.skip("the Go spike was not built (no go compiler?)")
    tmp = tempfile.mkdtemp(prefix="mt-rel-")
    try:
        doc = test_freeos(args, tmp)
        test_ptrace(args, tmp, doc)
        test_stripped(args, tmp)
        test_free(args, tmp)
        test_nostacks(args, tmp)
        test_idle(args, tmp)
    except (Failure, subprocess.TimeoutExpired, subprocess.CalledProcessError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("go releasers: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
