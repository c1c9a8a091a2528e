#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
What `--stacks` costs the churn loop (issue 12's speed goal: at most +0.10 of
untraced over the same recording without it), for one build or two compared
(or more) in the same minutes: untraced, `madvtrace -o` and `madvtrace --stacks -o` of
each build, alternating, the order rotated each round (on a shared machine
the run after another one can be steadily faster or slower: a fixed order
would show it as a difference between builds). Per run: the whole command's wall time
(the recorder's CPU competes with the traced program on a small machine) and
churn's own CPU time over its loop (its calls' kernel work, the BPF program
included, but not its waits for a CPU: steadier under other load).

    sudo bench/stacks-bench.py BUILD [OTHER_BUILD...] [--runs 7] [--seconds 3]

Each build is named after its directory (/tmp/build-x: "x"); churn is the first one's.

Checks each trace as run-bench.py does (a munmap record per iteration, events
lost reported). Prints the tables; docs/performance.md is edited by hand.
"""
import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("run_bench", os.path.join(HERE, "run-bench.py"))
rb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rb)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("builds", nargs="+", help="build directories (loader/madvtrace, tests/churn)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--iterations", type=int)
    ap.add_argument("--stacks-only", action="store_true",
                    help="no runs without --stacks (builds compared by their --stacks runs)")
    a = ap.parse_args()
    if os.geteuid() != 0:
        rb.die("run as root")
    builds = {}
    for d in a.builds:
        name = os.path.basename(os.path.normpath(d))
        builds[name[6:] if name.startswith("build-") and name != "build-" else name] = d
    if len(builds) != len(a.builds):
        rb.die("two builds have the same directory name")
    churn = os.path.join(a.builds[0], "tests", "churn")
    for d in builds.values():
        if not os.access(os.path.join(d, "loader", "madvtrace"), os.X_OK):
            rb.die(f"{d}/loader/madvtrace not found")
    tmp = tempfile.mkdtemp(prefix="mt-stacks-bench-")
    trace = os.path.join(tmp, "bench.mtr")
    # (label, command maker); the untraced loop is the same churn for every build
    tools = [("untraced", lambda n: [churn, "-n", str(n)])]
    for name, d in builds.items():
        mt = os.path.join(d, "loader", "madvtrace")
        for flag in ("--stacks",) if a.stacks_only else ("", "--stacks"):
            label = f"{name} {flag or 'no stacks'}"
            tools.append((label, lambda n, mt=mt, flag=flag:
                          [mt] + ([flag] if flag else []) + ["-q", "-o", trace, "--",
                                                             churn, "-n", str(n)]))
    res = {t: {"wall": [], "cpu": []} for t, _ in tools}
    loads = [os.getloadavg()[0]]
    try:
        n = a.iterations or rb.calibrate(churn, a.seconds, [])
        rb.note(f"churn: {n} iterations, {a.runs} rounds; load average {loads[0]:.2f}")
        for run in range(a.runs):
            k = run % len(tools)
            for label, make in tools[k:] + tools[:k]:
                wall, cp = rb.timed(make(n))
                r = rb.churn_result(cp, label)
                if r["iterations"] != n:
                    rb.die(f"{label}: churn ran {r['iterations']} iterations, not {n}")
                extra = ""
                if os.path.exists(trace):
                    counts, lost = rb.trace_stats(os.path.join(a.builds[0], "loader", "madvtrace"),
                                                  trace)
                    if counts.get("munmap", 0) < n:
                        rb.die(f"{label}: {counts.get('munmap', 0)} munmap records for {n} "
                               f"iterations, {lost} reported lost")
                    extra = (f", {os.path.getsize(trace) >> 20} MiB, "
                             f"{counts.get('ustack', 0)} ustack, {counts.get('stack', 0)} "
                             f"stack records, {lost} lost")
                    os.unlink(trace)
                res[label]["wall"].append(wall)
                res[label]["cpu"].append(r["cpu_ns"] / 1e9)
                rb.note(f"  round {run + 1} {label:18s} {wall:6.2f} s wall, "
                        f"churn CPU {r['cpu_ns'] / 1e9:.2f} s{extra}")
            loads.append(os.getloadavg()[0])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    base_w = statistics.median(res["untraced"]["wall"])
    base_c = statistics.median(res["untraced"]["cpu"])
    print(f"\nload average (1 min) per round: {', '.join(f'{x:.1f}' for x in loads)}\n")
    print("| run | wall, median (s) | ratio | churn CPU, median (s) | ratio | wall runs (s) | CPU runs (s) |")
    print("|---|---|---|---|---|---|---|")
    for label, _ in tools:
        w, c = statistics.median(res[label]["wall"]), statistics.median(res[label]["cpu"])
        print(f"| {label} | {w:.2f} | {w / base_w:.2f}x | {c:.2f} | {c / base_c:.2f}x | "
              f"{', '.join(f'{x:.2f}' for x in res[label]['wall'])} | "
              f"{', '.join(f'{x:.2f}' for x in res[label]['cpu'])} |")
    for name in builds if not a.stacks_only else ():
        ns, st = res[f"{name} no stacks"], res[f"{name} --stacks"]
        dw = (statistics.median(st["wall"]) - statistics.median(ns["wall"])) / base_w
        dc = (statistics.median(st["cpu"]) - statistics.median(ns["cpu"])) / base_c
        print(f"{name}: --stacks costs {dw:+.2f} (wall) and {dc:+.2f} (churn CPU) of untraced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
