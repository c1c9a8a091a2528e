#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Reclaim under memory pressure. The Go spike runs with GODEBUG=madvdontneed=0
in a memory cgroup of its own (it moves itself in before exec): cgroup v1
(memory.limit_in_bytes under /sys/fs/cgroup/memory), or with --cgroup v2 a
cgroup2 group with the memory controller (memory.max, under
/sys/fs/cgroup/unified or /sys/fs/cgroup, whichever is the cgroup2 mount).
Once it has released its 512 MiB with MADV_FREE (it creates a file then),
the group's limit is lowered to 128 MiB: the kernel takes the lazily freed
pages back. The report must show it: rss records with reason reclaim, RSS
falling by more than 300 MiB, and no release call from the process after the
limit was lowered; the spike's own LazyFree (its oracle) fell too.

    test_go_pressure.py --madvtrace PATH --report CMD --spike PATH [--cgroup v1|v2]
Exit 0 on success, 1 on failure, 77 (skipped) when not root, without Go or
without that cgroup version's memory controller. In CI (mtest.skip) a skip
is a failure, except one version missing while the other is there (the
machine truly lacks it, and the other test covers pressure): where v1 holds
the memory controller, cgroup2 cannot have it, and the v2 test says exactly
that.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import mtest
import time

SKIP = 77
MIB = 1 << 20
CG_ROOT = "/sys/fs/cgroup/memory"
LIMIT = 128 * MIB


class V1:
    """A cgroup v1 memory group."""
    name = "v1"

    def __init__(self):
        self.path = f"{CG_ROOT}/mt-test-{os.getpid()}"
        os.mkdir(self.path)

    def usage(self):
        with open(f"{self.path}/memory.usage_in_bytes") as f:
            return int(f.read())

    def limit(self, v):
        with open(f"{self.path}/memory.limit_in_bytes", "w") as f:
            f.write(str(v))


class V2(V1):
    """A cgroup2 group with the memory controller (enabled in its parent)."""
    name = "v2"

    def __init__(self, root):
        ctl = f"{root}/cgroup.subtree_control"
        with open(ctl) as f:
            if "memory" not in f.read().split():
                with open(ctl, "w") as w:
                    w.write("+memory")
        self.path = f"{root}/mt-test-{os.getpid()}"
        os.mkdir(self.path)
        with open(f"{self.path}/cgroup.controllers") as f:
            check("memory" in f.read().split(), f"no memory controller in {self.path}")

    def usage(self):
        with open(f"{self.path}/memory.current") as f:
            return int(f.read())

    def limit(self, v):
        with open(f"{self.path}/memory.max", "w") as f:
            f.write(str(v))


def cgroup2_root():
    """The cgroup2 mount point, or None."""
    with open("/proc/self/mounts") as f:
        for line in f:
            dev, mnt, fstype = line.split()[:3]
            if fstype == "cgroup2":
                return mnt
    return None


def v1_available():
    return os.path.exists(f"{CG_ROOT}/memory.limit_in_bytes")


def v1_holds_memory():
    """Is the memory controller bound to a v1 hierarchy (/proc/cgroups, hierarchy != 0)?"""
    with open("/proc/cgroups") as f:
        for line in f:
            p = line.split()
            if p and p[0] == "memory":
                return int(p[1]) != 0 and p[3] == "1"
    return False


def v2_status():
    """(root, None) when cgroup2 can have the memory controller, else (None, why)."""
    root = cgroup2_root()
    if not root:
        return None, "no cgroup2 file system is mounted"
    with open(f"{root}/cgroup.controllers") as f:
        ctls = f.read().split()
    if "memory" in ctls:
        return root, None
    why = (f"cgroup2 is mounted at {root} but its memory controller is not available "
           f"({root}/cgroup.controllers lists only: {' '.join(ctls) or 'nothing'})")
    if v1_holds_memory():
        why += (": cgroup v1 holds the memory controller (/proc/cgroups gives it a v1 "
                "hierarchy, mounted at /sys/fs/cgroup/memory), and a controller can be bound "
                "to one version only")
    return None, why


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def mib(v):
    return f"{v / MIB:.1f} MiB"


def run(args, tmp, cg):
    group = cg.path
    trace = os.path.join(tmp, "pressure.mtr")
    ready = os.path.join(tmp, "released")
    inner = (f"echo $$ > {group}/cgroup.procs && exec {args.spike} -hold 6s -ready {ready}")
    env = dict(os.environ, GODEBUG="madvdontneed=0")
    p = subprocess.Popen([args.madvtrace, "-o", trace, "--", "/bin/sh", "-c", inner], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(ready):
            if p.poll() is not None:
                raise Failure(f"madvtrace ended early: {p.communicate()[1][-2000:]}")
            check(time.monotonic() < deadline, "the spike never released its memory")
            time.sleep(0.05)
        time.sleep(0.3)  # let a sample of the released state be taken
        before = cg.usage()
        lowered = time.monotonic_ns()
        cg.limit(LIMIT)
        after = cg.usage()
        print(f"cgroup {cg.name} usage {mib(before)} -> {mib(after)} with the limit at "
              f"{mib(LIMIT)}")
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(p.returncode == 0, f"madvtrace exited {p.returncode}: {err[-2000:]}")
    spikes = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    check(len(spikes) == 1, f"the spike printed {len(spikes)} JSON objects")
    return trace, spikes[0], before, lowered


def test(args, tmp, cg):
    trace, spike, before, lowered = run(args, tmp, cg)
    check(before > 400 * MIB, f"the group used only {mib(before)} before the limit was lowered")
    # the oracle: the spike's own view after the pressure
    check(spike["LazyFree_bytes"] < 200 * MIB and spike["VmRSS_bytes"] < 200 * MIB,
          f"the spike still has LazyFree {mib(spike['LazyFree_bytes'])}, VmRSS "
          f"{mib(spike['VmRSS_bytes'])}: no reclaim happened")
    rep = subprocess.run([args.report, "report", "--format", "json", "--interval", "50ms", trace],
                         capture_output=True, text=True, timeout=120)
    check(rep.returncode == 0, f"report failed: {rep.stderr}")
    doc = json.loads(rep.stdout)
    s = doc["summary"]
    rc = s["reclaim"]
    print(f"report: reclaim records {rc['records']}, sample drops {rc['sample_drops']}, "
          f"RSS fell by {mib(rc['bytes'])} between {rc['first_t_ns']} and {rc['last_t_ns']}; "
          f"RSS at the end {mib(s['rss_bytes'])}, LazyFree {mib(s['lazyfree_bytes'] or 0)}")
    check(rc["records"] > 0, "no rss record with reason reclaim")
    # same clock (CLOCK_MONOTONIC): nothing fell before the limit was lowered
    check(rc["first_t_ns"] >= lowered,
          f"RSS fell at {rc['first_t_ns']}, before the limit was lowered at {lowered}")
    check(rc["bytes"] > 300 * MIB, f"RSS fell by only {mib(rc['bytes'])} without calls")
    check(s["rss_bytes"] < 200 * MIB, f"RSS at the end is {mib(s['rss_bytes'])}")
    check(s["released_lazy_bytes"] > 400 * MIB,
          "the released range must stay released lazily in the model")
    # no release call from the process between the first reclaim and the end
    tl = doc["timeline"]
    first = rc["first_t_ns"]
    before_rows = [r for r in tl if r["t_ns"] < first]
    check(before_rows, "no timeline row before the reclaim")
    b, e = before_rows[-1], tl[-1]
    for k in ("madv_free_calls", "madv_dontneed_calls", "munmap_calls"):
        check(b[k] == e[k], f"{k} went from {b[k]} to {e[k]} during the reclaim")
    check(b["rss_bytes"] - e["rss_bytes"] > 300 * MIB,
          f"the timeline shows RSS {mib(b['rss_bytes'])} -> {mib(e['rss_bytes'])}")
    v = s["verdict"]
    check("Reclaim seen" in v, f"the verdict does not report the reclaim: {v}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--spike", default="")
    ap.add_argument("--cgroup", choices=("v1", "v2"), default="v1")
    args = ap.parse_args()
    if os.geteuid() != 0:
        mtest.skip("needs root (BPF, cgroups)")
    if not args.spike or not os.path.exists(args.spike):
        mtest.skip("the Go spike was not built (no go compiler?)")
    root, why2 = v2_status()
    if args.cgroup == "v1" and not v1_available():
        why = f"no cgroup v1 memory controller at {CG_ROOT}"
        if root:
            mtest.skip(f"{why}; cgroup v2 has it, and integration_go_pressure_v2 tests "
                       "pressure there", ci_ok=True)
        mtest.skip(f"{why}, and none in cgroup v2 either: {why2}")
    if args.cgroup == "v2" and not root:
        if v1_available():
            mtest.skip(f"{why2}; integration_go_pressure tests pressure in cgroup v1",
                       ci_ok=True)
        mtest.skip(why2)
    print(f"cgroup {args.cgroup}" + (f" at {root}" if args.cgroup == "v2" else f" at {CG_ROOT}"))
    if args.cgroup == "v2" and why2 is None:
        print(f"(cgroup v1 memory: {'also available' if v1_available() else 'absent'})")
    cg = None
    tmp = tempfile.mkdtemp(prefix="mt-pressure-")
    try:
        cg = V1() if args.cgroup == "v1" else V2(root)
        test(args, tmp, cg)
    except (Failure, subprocess.TimeoutExpired, OSError) as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        for _ in range(50):  # the group can be removed once its last task is reaped
            try:
                if cg:
                    os.rmdir(cg.path)
                break
            except OSError:
                time.sleep(0.1)
    print("go pressure: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
