#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The exporter's benchmark (docs/performance.md, "Exporter"):

1. The churn loop (tests/workloads/churn) untraced, under the exporter's
   counting mode (`madvtrace --metrics --comm churn`, started beforehand),
   under the records mode (`madvtrace -o FILE --`), and under bpftrace
   counting the same calls in a map, and under `perf trace -s` (if
   installed). Rounds alternate between
   the tools; each run's time is churn's own loop time (start-up excluded for
   all), and the medians are compared with the untraced one. The counting
   run's counters must equal the iterations.
2. 200 processes in a cgroup making 10,000 traced calls a second in all
   (bench/paced.c): madvtrace's CPU time over a window without scrapes, and
   the time of scrapes (wall, at the client, and madvtrace's own gauge).

    sudo bench/export-bench.py /tmp/build [--runs 3] [--iterations N] [--floor]

With --floor, the floor of any per-call counting too: programs that return
at once (floor.bpf.c) on tp_btf/sys_exit (what the counting mode uses),
raw_tracepoint/sys_exit, and the per-syscall tracepoints of the three calls.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

# the exporter's helpers, shared with its tests; no compiled Python left in the tree
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from mtest import TestFailure  # noqa: E402
from prom_lib import in_cgroup, make_cgroup, remove_cgroup, scrape, start_exporter  # noqa: E402


def die(msg):
    print(f"export-bench: {msg}", file=sys.stderr)
    sys.exit(1)


def stop(p):
    p.send_signal(signal.SIGTERM)
    if p.wait(15) != 0:
        die(f"madvtrace exited {p.returncode}: {p.stderr.read()}")


def churn_ns(cp, what):
    """churn's loop: (elapsed, CPU) in ns."""
    if cp.returncode:
        die(f"{what}: churn failed: {cp.stderr[-500:]}")
    for line in reversed(cp.stdout.splitlines()):
        if line.startswith("{"):
            r = json.loads(line)
            return r["elapsed_ns"], r["cpu_ns"]
    die(f"{what}: no result")


def foreign_sys_exit():
    """BPF links on sys_exit now (none of ours is attached between runs): another
    tracer's makes every syscall of every process, untraced ones too, take the slow path."""
    cp = subprocess.run(["bpftool", "-j", "link", "list"], capture_output=True, text=True)
    try:
        links = json.loads(cp.stdout or "[]")
    except ValueError:
        return -1
    return sum(1 for l in links if l.get("tp_name") in ("sys_exit", "raw_syscalls:sys_exit")
               or "sys_exit" in str(l.get("tp_name", "")))


def run_tool(tool, b, n, tmp):
    churn = [b["churn"], "-n", str(n)]
    if tool == "untraced":
        return churn_ns(subprocess.run(churn, capture_output=True, text=True), tool)
    if tool in ("records", "records_base"):
        cp = subprocess.run([b["madvtrace" if tool == "records" else "base"], "-q", "-o", os.path.join(tmp, "b.mtr"), "--"] + churn,
                            capture_output=True, text=True)
        return churn_ns(cp, tool)
    if tool == "counting":
        mt, port = start_exporter(b["madvtrace"], ["--comm", "churn"])
        ch = subprocess.Popen(churn, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = ch.communicate()
        ns = churn_ns(subprocess.CompletedProcess(churn, ch.returncode, out, err), tool)
        time.sleep(1.2)  # a collector pass takes in a process the kernel traced on its own
        body = scrape(port)
        stop(mt)
        # this churn's series (another churn on the machine is counted too)
        m = re.search(r'madvtrace_calls_total\{pid="%d",[^}]*syscall="munmap"\} (\d+)' % ch.pid,
                      body)
        if not m or int(m.group(1)) < n:
            die(f"counting mode counted {m.group(1) if m else 'no'} munmap calls of {n}")
        return ns
    if tool.startswith("floor_"):
        # programs that return at once (floor.bpf.c): the cost of the attachment itself
        fl = subprocess.Popen([b["floor"], b["floor_obj"], tool[6:]], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        line = fl.stdout.readline()
        if not line.startswith("attached"):
            die(f"{tool}: {line}{fl.stderr.read()}")
        ns = churn_ns(subprocess.run(churn, capture_output=True, text=True), tool)
        fl.send_signal(signal.SIGTERM)
        fl.wait(15)
        return ns
    if tool == "perftrace":
        out = os.path.join(tmp, "perf-trace.txt")
        cp = subprocess.run(["perf", "trace", "-s", "-e", "mmap,munmap,madvise", "-o", out, "--"]
                            + churn, capture_output=True, text=True)
        ns = churn_ns(cp, tool)
        with open(out) as f:
            m = re.search(r"^\s*munmap\s+(\d+)", f.read(), re.M)
        # perf trace drops events when its reader falls behind: it still paid for them
        if not m or int(m.group(1)) < n * 0.99:
            die(f"perf trace counted {m.group(1) if m else 'no'} munmap calls of {n}")
        return ns
    if tool == "bpftrace":
        prog = ('tracepoint:syscalls:sys_exit_mmap,tracepoint:syscalls:sys_exit_munmap,'
                'tracepoint:syscalls:sys_exit_madvise /comm == "churn"/ { @[probe] = count(); }')
        bt = subprocess.Popen(["bpftrace", "-e", prog], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        seen = ""
        while "Attaching" not in seen:  # past its RLIMIT_MEMLOCK warning
            line = bt.stdout.readline()
            if not line:
                die(f"bpftrace: {seen}")
            seen += line
        time.sleep(0.3)
        ns = churn_ns(subprocess.run(churn, capture_output=True, text=True), tool)
        out = None
        for _ in range(3):  # a SIGINT can go unanswered under load: ask again
            bt.send_signal(signal.SIGINT)
            try:
                out = bt.communicate(timeout=10)[0]
                break
            except subprocess.TimeoutExpired:
                pass
        if out is None:
            bt.kill()
            bt.wait()
            die("bpftrace did not stop on SIGINT")
        m = re.search(r"sys_exit_munmap\]: (\d+)", out)
        if not m or int(m.group(1)) < n:
            die(f"bpftrace counted otherwise: {out[-300:]}")
        return ns
    die(f"unknown tool {tool}")


def wait_clean(seconds):
    """Wait up to seconds for no other tracer's sys_exit link; how many there are then."""
    deadline = time.monotonic() + seconds
    while foreign_sys_exit() > 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    return foreign_sys_exit()


def percall(b, tmp, tools, n, rounds, clean_s):
    """
    Nanoseconds of CPU per traced call that each attachment adds: burst's
    zero-length madvise calls (no memory touched), its CPU time (rusage, the
    kernel's work for its calls included, not its waits for a CPU) against
    untraced runs in the same rounds.
    """
    cpu = {t: [] for t in tools}
    foreign = []
    for r in range(rounds):
        for t in tools[r % len(tools):] + tools[:r % len(tools)]:
            foreign.append(wait_clean(clean_s))
            hold = port = None
            if t == "counting":
                hold, port = start_exporter(b["madvtrace"], ["--comm", "burst"])
            elif t.startswith("floor_"):
                hold = subprocess.Popen([b["floor"], b["floor_obj"], t[6:]], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
                if not hold.stdout.readline().startswith("attached"):
                    die(f"{t}: {hold.stderr.read()}")
            p = subprocess.Popen([b["burst"], "-n", str(n)], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
            out = p.stdout.read()
            _, st, ru = os.wait4(p.pid, 0)
            if st:
                die(f"{t}: burst failed")
            if t == "counting":
                time.sleep(1.2)
                m = re.search(r'madvtrace_calls_total\{pid="%d",[^}]*advice="MADV_NORMAL"\} (\d+)'
                              % p.pid, scrape(port))
                if not m or int(m.group(1)) < n:
                    die(f"counting mode counted {m.group(1) if m else 'no'} of {n} calls")
            if hold:
                hold.send_signal(signal.SIGTERM)
                hold.wait(15)
            cpu[t].append(ru.ru_utime + ru.ru_stime)
            foreign[-1] = max(foreign[-1], foreign_sys_exit())
            del out
    base = statistics.median(cpu["untraced"])
    print(f"\nper traced call: burst -n {n} (zero-length madvise), {rounds} alternating rounds, "
          f"its CPU time; other tracers' sys_exit links around the runs: {foreign}\n")
    print("| attachment | median CPU time | ns per call over untraced | runs |")
    print("| --- | --- | --- | --- |")
    for t in tools:
        m = statistics.median(cpu[t])
        print(f"| {t} | {m:.3f} s | {(m - base) / n * 1e9:.0f} | "
              f"{', '.join(f'{v:.3f}' for v in cpu[t])} |")


def ensure_tracefs():
    with open("/proc/mounts") as f:
        if any(l.split()[2] == "tracefs" for l in f if len(l.split()) > 2):
            return
    subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], check=True)
    import atexit
    atexit.register(subprocess.run, ["umount", "/sys/kernel/tracing"], check=False)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def steady(b, tmp, procs, rate, window, interval, advice="free"):
    """madvtrace's CPU between scrapes, and scrape times, with procs processes at rate calls/s."""
    paced = os.path.join(tmp, "paced")
    subprocess.run(["cc", "-O2", "-o", paced, os.path.join(os.path.dirname(__file__), "paced.c")],
                   check=True)
    cg = make_cgroup("mt-bench")
    load = mt = None
    try:
        mt, port = start_exporter(b["madvtrace"], ["--cgroup", cg, "--interval", str(interval)])
        load = in_cgroup(cg, [paced, str(procs), str(rate), str(window + 25)] +
                         ([] if advice == "free" else [advice]))
        time.sleep(3)  # every process started and seen by a collector pass
        body = scrape(port)
        tracked = int(re.search(r"^madvtrace_processes_tracked (\d+)", body, re.M).group(1))
        if tracked < procs:
            die(f"only {tracked} processes tracked of {procs}")
        c0, t0 = cpu_seconds(mt.pid), time.monotonic()
        sel = 'advice="MADV_FREE"' if advice == "free" else 'advice="MADV_DONTNEED"'
        calls0 = sum(int(v) for v in re.findall(r'madvtrace_calls_total\{[^}]*%s\} (\d+)' % sel, body))
        time.sleep(window)
        c1, t1 = cpu_seconds(mt.pid), time.monotonic()
        walls, gauges = [], []
        for _ in range(20):
            s = time.monotonic()
            body = scrape(port)
            walls.append(time.monotonic() - s)
            gauges.append(float(re.search(r"^madvtrace_scrape_duration_seconds (\S+)", body, re.M).group(1)))
            time.sleep(0.25)
        calls1 = sum(int(v) for v in re.findall(r'madvtrace_calls_total\{[^}]*%s\} (\d+)' % sel, body))
        rate_seen = (calls1 - calls0) / (time.monotonic() - t0)
        return {"procs": tracked, "cpu_pct": 100 * (c1 - c0) / (t1 - t0), "window": t1 - t0,
                "calls_per_s": rate_seen, "scrape_wall_med": statistics.median(walls),
                "scrape_wall_max": max(walls), "scrape_gauge_med": statistics.median(gauges),
                "scrape_gauge_max": max(gauges), "bytes": len(body)}
    finally:
        # every process we started is in the cgroup: end them by their pids
        for _ in range(50):
            with open(f"{cg}/cgroup.procs") as f:
                pids = [int(x) for x in f.read().split()]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        if load:
            load.wait()
        if mt and mt.poll() is None:
            stop(mt)
        remove_cgroup(cg)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=200000)
    ap.add_argument("--skip-steady", action="store_true")
    ap.add_argument("--base", help="a build of the commit before the counting mode: its "
                    "records mode too, to show it did not move")
    ap.add_argument("--intervals", default="1,2", help="--interval values for the steady part")
    ap.add_argument("--advice", default="free,dontneed",
                    help="what the steady part's processes release with: free (LazyFree: "
                    "smaps_rollup read each interval), dontneed (no LazyFree: status only)")
    ap.add_argument("--floor", action="store_true",
                    help="also programs that return at once on tp_btf/sys_exit, "
                    "raw_tracepoint/sys_exit and the per-syscall tracepoints (floor.bpf.c)")
    ap.add_argument("--tools", help="only these tools, comma-separated")
    ap.add_argument("--percall", type=int, default=0, metavar="ROUNDS",
                    help="with --floor: the CPU each attachment adds per traced call (burst)")
    ap.add_argument("--wait-clean", type=float, default=0, metavar="SECONDS",
                    help="before each run, wait up to this long for no other tracer's "
                    "sys_exit link (their slow path is every process's)")
    a = ap.parse_args()
    if os.geteuid():
        die("run as root")
    b = {"churn": os.path.join(a.build, "tests", "churn"),
         "burst": os.path.join(a.build, "tests", "burst"),
         "madvtrace": os.path.join(a.build, "loader", "madvtrace")}
    tools = ["untraced", "counting", "records"] + (["records_base"] if a.base else []) + \
        (["bpftrace"] if shutil.which("bpftrace") else []) + \
        (["perftrace"] if shutil.which("perf") else [])
    if a.base:
        b["base"] = os.path.join(a.base, "loader", "madvtrace")
    tmp = tempfile.mkdtemp(prefix="mt-export-bench-")
    if a.floor:
        here = os.path.dirname(os.path.abspath(__file__))
        b["floor_obj"] = os.path.join(tmp, "floor.bpf.o")
        b["floor"] = os.path.join(tmp, "floor")
        subprocess.run(["clang", "-O2", "-target", "bpf", "-c", os.path.join(here, "floor.bpf.c"),
                        "-o", b["floor_obj"]], check=True)
        subprocess.run(["cc", "-O2", "-o", b["floor"], os.path.join(here, "floor.c"), "-lbpf"],
                       check=True)
        tools[1:1] = ["floor_tpbtf", "floor_rawtp", "floor_persc"]
    if a.tools:
        tools = [t for t in tools if t in a.tools.split(",")]
    if {"bpftrace", "perftrace", "floor_persc"} & set(tools):
        ensure_tracefs()
    with open("/proc/loadavg") as f:
        load_before = f.read().split()[0]
    times = {t: [] for t in tools}
    cpus = {t: [] for t in tools}
    foreign = []
    for r in range(a.runs):
        order = tools[r % len(tools):] + tools[:r % len(tools)]
        for t in order:
            foreign.append(wait_clean(a.wait_clean))
            el, cpu = run_tool(t, b, a.iterations, tmp)
            times[t].append(el / 1e9)
            cpus[t].append(cpu / 1e9)
        print(f"round {r + 1}: " + ", ".join(f"{t} {times[t][-1]:.3f} s ({cpus[t][-1]:.3f} s CPU)"
                                             for t in tools) +
              f"; other tracers' sys_exit links: {foreign[-len(tools):]}", flush=True)
    if a.runs == 0:
        tools = []
    base = statistics.median(times["untraced"]) if a.runs else 1
    cbase = statistics.median(cpus["untraced"]) if a.runs else 1
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[0]
    print(f"\nchurn, {a.iterations} iterations, {a.runs} alternating rounds, load average "
          f"{load_before} at start, {load_after} at the end, {os.cpu_count()} CPUs; other "
          f"tracers' sys_exit links before the runs: min {min(foreign, default=0)}, max "
          f"{max(foreign, default=0)}\n")
    print("| tool | median loop time | vs untraced | fastest vs fastest untraced | "
          "median loop CPU time | vs untraced | runs (wall) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    names = {"untraced": "untraced", "counting": "`madvtrace --metrics` (counting mode)",
             "records": "`madvtrace -o FILE --` (records mode)",
             "records_base": "`madvtrace -o FILE --`, built before the counting mode existed",
             "bpftrace": "bpftrace, `count()` in a map on sys_exit_{mmap,munmap,madvise}",
             "perftrace": "`perf trace -s -e mmap,munmap,madvise`",
             "floor_tpbtf": "a program that returns at once, tp_btf/sys_exit",
             "floor_rawtp": "a program that returns at once, raw_tracepoint/sys_exit",
             "floor_persc": "programs that return at once, syscalls:sys_exit_{mmap,munmap,madvise}"}
    for t in tools:
        m = statistics.median(times[t])
        c = statistics.median(cpus[t])
        # the fastest run: least disturbed by anything else on a shared machine; CPU time:
        # churn's own, kernel work for its calls included, not its waits for a CPU
        print(f"| {names[t]} | {m:.3f} s | {m / base:.3f}x | "
              f"{min(times[t]) / min(times['untraced']):.3f}x | {c:.3f} s | {c / cbase:.3f}x | "
              f"{', '.join(f'{v:.3f}' for v in times[t])} |")
    for iv, adv in [] if a.skip_steady else [(i, v) for v in a.advice.split(",")
                                              for i in a.intervals.split(",")]:
        s = steady(b, tmp, 200, 10000, 20, iv, adv)
        with open("/proc/loadavg") as f:
            load = f.read().split()[0]
        print(f"\n--interval {iv}, MADV_{adv.upper()} (load average {load}): "
              f"{s['procs']} processes tracked, {s['calls_per_s']:.0f} traced calls/s measured: "
              f"madvtrace used {s['cpu_pct']:.2f}% of a CPU over {s['window']:.0f} s without scrapes; "
              f"scrapes ({s['bytes'] // 1024} KiB): wall median {s['scrape_wall_med'] * 1000:.1f} ms, "
              f"max {s['scrape_wall_max'] * 1000:.1f} ms; madvtrace_scrape_duration_seconds median "
              f"{s['scrape_gauge_med'] * 1000:.1f} ms, max {s['scrape_gauge_max'] * 1000:.1f} ms")
    if a.percall and a.floor:
        percall(b, tmp, [t for t in ("untraced", "floor_tpbtf", "floor_rawtp", "floor_persc",
                                     "counting") if not a.tools or t in a.tools.split(",")],
                2000000, a.percall, a.wait_clean)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except TestFailure as e:  # what the shared helpers raise
        die(str(e))
