#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The recorder benchmark of issue 2: the churn loop (mmap 64 KiB, touch a page,
MADV_FREE or MADV_DONTNEED alternately, munmap) run untraced, under
`madvtrace -o`, under `strace -f --seccomp-bpf -e trace=memory -o` and under
`perf trace -e mmap,munmap,madvise -o`; runs alternate between the tools and
the median whole-command wall time of each is compared with the untraced one.
Then madvtrace's start-up (launching /bin/true; attaching to and detaching
from a sleeping process) and, for the record, the cost of a traced process's
syscalls madvtrace does not record (a getppid loop).

It builds nothing: give it a build directory (cmake --build DIR first, in
Release or RelWithDebInfo for figures worth writing down). Run as root.
perf trace reads tracepoint formats from tracefs: when /sys/kernel/tracing is
not mounted the script mounts it (and says so). Figures go to stdout and, with
--write, into the "Recorder" section of docs/performance.md (the rest of that
file is left as it is).

    sudo bench/run-bench.py /work/build [--runs 3] [--seconds 5] [--write]
    sudo bench/run-bench.py /work/build --only untraced,strace,perf   # no madvtrace
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOOLS = ("untraced", "madvtrace", "stacks", "strace", "perf")
HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(HERE, "..", "docs", "performance.md")
SECTION = "## Recorder"


def die(msg):
    print(f"run-bench: {msg}", file=sys.stderr)
    sys.exit(1)


def note(msg):
    print(msg, flush=True)


def ensure_tracefs():
    """perf trace needs tracefs; mount it where the kernel expects it if nobody has."""
    with open("/proc/mounts") as f:
        if any(l.split()[2] == "tracefs" for l in f if len(l.split()) > 2):
            return "tracefs was already mounted"
    subprocess.run(["mount", "-t", "tracefs", "nodev", "/sys/kernel/tracing"], check=True)
    # leave the machine as we found it: madvtrace itself needs no tracefs
    import atexit
    atexit.register(subprocess.run, ["umount", "/sys/kernel/tracing"], check=False)
    return "mounted tracefs on /sys/kernel/tracing for perf trace (unmounted at the end)"


def timed(cmd, **kw):
    """Run cmd; (wall seconds, CompletedProcess)."""
    t0 = time.monotonic()
    cp = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        stdin=subprocess.DEVNULL, text=True, **kw)
    return time.monotonic() - t0, cp


def churn_result(cp, what):
    if cp.returncode != 0:
        die(f"{what} failed (exit {cp.returncode}): {cp.stderr[-1500:]}")
    for line in reversed(cp.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    die(f"{what}: churn printed no result: {cp.stdout[-500:]}")


def calibrate(churn, seconds, extra):
    """Iterations for about `seconds` of untraced churn (median of three short runs)."""
    probe = 200000 if not extra else 2000000
    per = []
    for _ in range(3):
        _, cp = timed([churn, "-n", str(probe)] + extra)
        r = churn_result(cp, "calibration")
        per.append(r["elapsed_ns"] / r["iterations"])
    n = int(seconds * 1e9 / statistics.median(per))
    return max(10000, round(n, -4))


def trace_stats(madvtrace, path):
    """Records per type and events lost, streamed from `madvtrace dump` (traces are large)."""
    counts, lost = {}, 0
    rx = re.compile(r'"type"\s*:\s*"(\w+)"')
    p = subprocess.Popen([madvtrace, "dump", path], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    for line in p.stdout:
        m = rx.search(line)
        t = m.group(1) if m else "?"
        counts[t] = counts.get(t, 0) + 1
        if t == "lost":
            lost += json.loads(line).get("count", 0)
    err = p.stderr.read()
    if p.wait() != 0:
        die(f"madvtrace dump {path} failed: {err}")
    return counts, lost


def commands(tool, b, n, extra, tmp):
    churn = [b["churn"], "-n", str(n)] + extra
    if tool == "untraced":
        return churn
    if tool == "madvtrace":
        return [b["madvtrace"], "-o", os.path.join(tmp, "bench.mtr"), "--"] + churn
    if tool == "stacks":
        # a stack walk and a ustack record (registers, stack top) per release (issue 12)
        return [b["madvtrace"], "--stacks", "-o", os.path.join(tmp, "bench.mtr"), "--"] + churn
    if tool == "strace":
        return ["strace", "-f", "--seccomp-bpf", "-e", "trace=memory",
                "-o", os.path.join(tmp, "strace.txt")] + churn
    if tool == "perf":
        return ["perf", "trace", "-e", "mmap,munmap,madvise",
                "-o", os.path.join(tmp, "perf.txt")] + churn
    raise ValueError(tool)


def loop_bench(b, tools, runs, n, extra, tmp, label):
    """Alternate the tools `runs` times; per tool the wall times, inner times and checks."""
    res = {t: {"wall": [], "inner": [], "lost": [], "records": [], "summary": ""} for t in tools}
    for run in range(runs):
        for tool in tools:
            cmd = commands(tool, b, n, extra, tmp)
            wall, cp = timed(cmd)
            r = churn_result(cp, f"{label} under {tool}")
            if r["iterations"] != n:
                die(f"{label} under {tool}: churn ran {r['iterations']} iterations, not {n}")
            res[tool]["wall"].append(wall)
            res[tool]["inner"].append(r["elapsed_ns"] / 1e9)
            extra_note = ""
            if tool == "madvtrace":
                path = os.path.join(tmp, "bench.mtr")
                counts, lost = trace_stats(b["madvtrace"], path)
                res[tool]["lost"].append(lost)
                res[tool]["records"].append(counts)
                res[tool]["size"] = os.path.getsize(path)
                res[tool]["summary"] = cp.stderr
                if not extra and counts.get("munmap", 0) < n:
                    die(f"only {counts.get('munmap', 0)} munmap records for {n} iterations "
                        f"and {lost} reported lost: calls went missing silently")
                extra_note = f", {sum(counts.values())} records, {lost} lost"
                os.unlink(path)
            for f in ("strace.txt", "perf.txt", "bench.mtr"):
                if os.path.exists(os.path.join(tmp, f)):
                    os.unlink(os.path.join(tmp, f))
            note(f"  {label} run {run + 1}/{runs} {tool:9s} {wall:7.2f} s wall "
                 f"(loop {r['elapsed_ns'] / 1e9:.2f} s){extra_note}")
    return res


def startup(b, tmp, reps):
    """Median and max seconds: launch of /bin/true; attach to a sleeper, detach from it."""
    launch, attach, detach, true_s = [], [], [], []
    for _ in range(reps):
        wall, _ = timed(["/bin/true"])
        true_s.append(wall)
        wall, cp = timed([b["madvtrace"], "-q", "-o", os.path.join(tmp, "true.mtr"), "--",
                          "/bin/true"])
        if cp.returncode != 0:
            die(f"madvtrace -- /bin/true failed: {cp.stderr}")
        launch.append(wall)

    sleeper = subprocess.Popen(["sleep", "600"])
    try:
        for _ in range(reps):
            # -v says when tracing is live: that is the end of load and attach
            t0 = time.monotonic()
            p = subprocess.Popen([b["madvtrace"], "-v", "-q", "-o", os.path.join(tmp, "a.mtr"),
                                  "-p", str(sleeper.pid)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True)
            live = None
            for line in p.stderr:
                if "tracing pid" in line:
                    live = time.monotonic()
                    break
            if live is None:
                p.wait()
                die("madvtrace -v -p did not say 'tracing pid ...'")
            p.send_signal(signal.SIGINT)
            p.communicate(timeout=30)
            done = time.monotonic()
            if p.returncode != 0:
                die(f"madvtrace -p exit {p.returncode}")
            attach.append(live - t0)
            detach.append(done - live)
    finally:
        sleeper.kill()
        sleeper.wait()
    f = lambda v: (statistics.median(v), max(v))  # noqa: E731
    return {"true": f(true_s), "launch": f(launch), "attach": f(attach), "detach": f(detach)}


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) // 1024
    return (f"{cpu}, {os.cpu_count()} CPUs, {mem // 1024} GiB, kernel {platform.release()}, "
            f"{platform.freedesktop_os_release().get('PRETTY_NAME', '?')}")


def table(res, tools, base):
    lines = ["| run | wall, median (s) | ratio to untraced | loop time, median (s) | runs (s) |",
             "|---|---|---|---|---|"]
    for t in tools:
        w = statistics.median(res[t]["wall"])
        ratio = w / base if base else float("nan")
        runs = ", ".join(f"{x:.2f}" for x in res[t]["wall"])
        lines.append(f"| {NAMES[t]} | {w:.2f} | {ratio:.2f}x | "
                     f"{statistics.median(res[t]['inner']):.2f} | {runs} |")
    return lines


NAMES = {
    "untraced": "untraced",
    "madvtrace": "`madvtrace -o FILE --`",
    "stacks": "`madvtrace --stacks -o FILE --`",
    "strace": "`strace -f --seccomp-bpf -e trace=memory -o FILE`",
    "perf": "`perf trace -e mmap,munmap,madvise -o FILE`",
}


def render(info):
    L = [SECTION, "",
         f"Measured {info['date']} with `sudo bench/run-bench.py BUILD_DIR --write` "
         f"({info['build_type']} build) on {info['machine']}; load average "
         f"{info['load'][0]:.2f} at the start, {info['load'][1]:.2f} at the end (other work on "
         "the machine inflates the traced runs most: the recorder needs a CPU of its own).", ""]
    L += ["### The churn loop", "",
          "Each iteration: mmap 64 KiB anonymous, touch one page, madvise MADV_FREE or "
          "MADV_DONTNEED (alternately), munmap. "
          f"{info['n']} iterations (about {info['seconds']:.0f} s untraced), "
          f"{info['runs']} runs of each, alternating; whole-command wall time, median.", ""]
    L += table(info["loop"], info["tools"], info["base"])
    L.append("")
    m = info["loop"].get("madvtrace")
    if m:
        lost = sum(m["lost"])
        rec = m["records"][-1]
        ratio = statistics.median(m["wall"]) / info["base"]
        L += [f"- madvtrace: {ratio:.2f}x untraced (goal: at most 1.10x) — "
              f"{'met' if ratio <= 1.10 else 'NOT met'}.",
              f"- Events lost at the default ring buffer size, all runs: {lost} (goal: 0) — "
              f"{'met' if lost == 0 else 'NOT met'}.",
              f"- Records per run: {sum(rec.values())} "
              f"({', '.join(f'{k} {v}' for k, v in sorted(rec.items()))}); "
              f"trace file {m['size'] / 2**20:.0f} MiB.", ""]
    st = info["loop"].get("stacks")
    if m and st:
        more = (statistics.median(st["wall"]) - statistics.median(m["wall"])) / info["base"]
        L += [f"- madvtrace --stacks: {statistics.median(st['wall']) / info['base']:.2f}x "
              f"untraced, {more:+.2f} over madvtrace without (goal: at most +0.10) — "
              f"{'met' if more <= 0.10 else 'NOT met'}.", ""]
    if info.get("startup"):
        s = info["startup"]
        L += ["### Start-up", "",
              "| | median (s) | max (s) |", "|---|---|---|",
              f"| `/bin/true` untraced | {s['true'][0]:.3f} | {s['true'][1]:.3f} |",
              f"| `madvtrace -o FILE -- /bin/true` (load, attach, run, tear down) | "
              f"{s['launch'][0]:.3f} | {s['launch'][1]:.3f} |",
              f"| `madvtrace -p PID` of a sleeping process: start to tracing live | "
              f"{s['attach'][0]:.3f} | {s['attach'][1]:.3f} |",
              f"| ... then SIGINT to exit (detach) | {s['detach'][0]:.3f} | "
              f"{s['detach'][1]:.3f} |", "",
              f"Goal: start-up (load and attach) under 0.5 s — "
              f"{'met' if s['attach'][1] < 0.5 and s['launch'][1] < 0.5 else 'NOT met'}.", ""]
    if info.get("getppid"):
        g = info["getppid"]
        L += ["### Syscalls madvtrace does not record", "",
              f"A loop of {info['gn']} getppid() calls: the price every other syscall of a "
              "traced process pays (the ptrace backend's case; for the bpf backend, the "
              "program on the sys_exit tracepoint puts every syscall of the system on the "
              "kernel's slow path and filters there).", ""]
        L += table(g, [t for t in ("untraced", "madvtrace", "strace") if t in g],
                   statistics.median(g["untraced"]["wall"]))
        L.append("")
    L += [f"Tool versions: {info['versions']}. {info['tracefs']}.", ""]
    return "\n".join(L)


def write_section(text):
    """Replace (or add) the Recorder section of docs/performance.md; keep the rest."""
    path = os.path.normpath(DOC)
    old = open(path).read() if os.path.exists(path) else \
        "# Performance\n\nFigures measured on this project's reference machine.\n\n"
    start = old.find(SECTION + "\n")
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        nxt = old.find("\n## ", start + len(SECTION))
        new = old[:start] + text + ("\n" + old[nxt + 1:] if nxt >= 0 else "")
    with open(path, "w") as f:
        f.write(new.rstrip("\n") + "\n")
    note(f"wrote the {SECTION[3:]} section of {path}")


def version(cmd):
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True).stdout
        return out.splitlines()[0].strip()
    except (OSError, IndexError):
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("build", help="the build directory (holds loader/madvtrace, tests/churn)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5.0, help="untraced run length to aim for")
    ap.add_argument("--iterations", type=int, help="skip calibration, use this many")
    ap.add_argument("--only", default=",".join(TOOLS),
                    help=f"comma-separated subset of {','.join(TOOLS)}")
    ap.add_argument("--no-startup", action="store_true")
    ap.add_argument("--no-getppid", action="store_true")
    ap.add_argument("--write", action="store_true", help="update docs/performance.md")
    a = ap.parse_args()

    if os.geteuid() != 0:
        die("run as root (madvtrace loads BPF programs; perf trace reads tracepoints)")
    tools = [t for t in TOOLS if t in a.only.split(",")]
    if "untraced" not in tools:
        tools.insert(0, "untraced")
    b = {"churn": os.path.join(a.build, "tests", "churn"),
         "madvtrace": os.path.join(a.build, "loader", "madvtrace")}
    need = ["churn"] + (["madvtrace"] if "madvtrace" in tools or "stacks" in tools else [])
    for k in need:
        if not os.access(b[k], os.X_OK):
            die(f"{b[k]} not found: build {a.build} first")
    for t, exe in (("strace", "strace"), ("perf", "perf")):
        if t in tools and not shutil.which(exe):
            die(f"{exe} is not installed")
    tracefs = ensure_tracefs() if "perf" in tools else "tracefs not needed"
    note(tracefs)
    build_type = "?"
    cache = os.path.join(a.build, "CMakeCache.txt")
    if os.path.exists(cache):
        m = re.search(r"^CMAKE_BUILD_TYPE:\w+=(.*)$", open(cache).read(), re.M)
        # empty: the top CMakeLists.txt picks its default, RelWithDebInfo
        build_type = m.group(1) if m and m.group(1) else "RelWithDebInfo"

    load0 = os.getloadavg()[0]
    if load0 > 0.5:
        note(f"warning: load average {load0:.2f}: other work will skew the figures")
    tmp = tempfile.mkdtemp(prefix="mt-bench-")
    try:
        n = a.iterations or calibrate(b["churn"], a.seconds, [])
        note(f"churn loop: {n} iterations (about {a.seconds:.0f} s untraced), {a.runs} runs each")
        loop = loop_bench(b, tools, a.runs, n, [], tmp, "churn")
        base = statistics.median(loop["untraced"]["wall"])
        info = {"date": datetime.date.today().isoformat(), "machine": machine(), "n": n,
                "seconds": a.seconds, "runs": a.runs, "tools": tools, "loop": loop,
                "base": base, "build_type": build_type, "tracefs": tracefs.capitalize(),
                "versions": ", ".join(filter(None, [
                    version([b["madvtrace"], "--version"]) if "madvtrace" in tools else None,
                    version(["strace", "-V"]) if "strace" in tools else None,
                    version(["perf", "version"]) if "perf" in tools else None]))}
        if "madvtrace" in tools and not a.no_startup:
            note("start-up ...")
            info["startup"] = startup(b, tmp, 5)
        if not a.no_getppid:
            gtools = [t for t in ("untraced", "madvtrace", "strace") if t in tools]
            gn = calibrate(b["churn"], min(a.seconds, 2.0), ["-g"])
            note(f"getppid loop: {gn} calls")
            info["gn"] = gn
            info["getppid"] = loop_bench(b, gtools, a.runs, gn, ["-g"], tmp, "getppid")
        info["load"] = (load0, os.getloadavg()[0])
        text = render(info)
        print()
        print(text)
        if "madvtrace" in tools and loop["madvtrace"]["summary"]:
            print("madvtrace's summary of its last run:")
            print(loop["madvtrace"]["summary"])
        if a.write:
            if "madvtrace" not in tools:
                die("--write needs the madvtrace runs")
            write_section(text)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
