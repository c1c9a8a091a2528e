#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
`madvtrace godebug` on the Go spike (tests/go/spike: 512 MiB grown, dropped,
debug.FreeOSMemory), checked against what the spike itself reports and
against the Go release rules:

  - three rows; madvdontneed=0 observes MADV_FREE, =1 and unset (Go 1.19)
    observe MADV_DONTNEED; the released bytes of each row are within 2% (or
    8 MiB) of the spike's own HeapReleased; RSS falls by half under
    DONTNEED and does not under FREE; exit 0.
  - --expect free on a run whose runtime uses MADV_DONTNEED: exit 1, the
    mismatch named.
  - GODEBUG=madvdontneed=0 --expect free: exit 0.
  - --pressure: under madvdontneed=0 the kernel reclaims lazily freed pages
    once the cgroup limit is lowered.
  - a run that releases nothing: said so, exit 1 (the check could not be made).
  - not a Go program: refused with one line, exit 1.

    test_godebug.py --madvtrace PATH --spike PATH
Exit 0 on success, 1 on failure, 77 (skipped) when not root.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

SKIP = 77
MIB = 1 << 20


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def size(s):
    """'512.3 MiB' -> bytes"""
    num, unit = s.split()
    return float(num) * {"B": 1, "KiB": 1 << 10, "MiB": MIB, "GiB": 1 << 30}[unit]


def run(args, extra, env=None, timeout=240):
    cmd = [args.madvtrace, "godebug"] + extra + ["--", args.spike, "-hold", "1s"]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    return p


ROW = re.compile(r"^(\S+)\s+(go\S+)\s+(MADV_\w+) (\d+) calls ([\d.]+ \w+)\s+([\d.]+ \w+)\s+"
                 r"([\d.]+ \w+)\s+(\d+ ms|did not fall)\s+([\d.]+ \w+)(.*)\s(ok|MISMATCH)$")


def rows(out):
    r = {}
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            r[m.group(1)] = m
    return r


def go_version(path):
    """`go version FILE`, in full (go1.19.8): the oracle of the rows' Go column."""
    go = shutil.which("go")
    if not go:
        fail("no go command on PATH, though the spike was built with one")
    p = subprocess.run([go, "version", path], capture_output=True, text=True, timeout=60)
    m = re.fullmatch(r".*: (go\d+\.\d+(?:\.\d+)?)", p.stdout.strip())
    if p.returncode or not m:
        fail(f"go version {path}: {p.stdout} {p.stderr}")
    return m.group(1)


def spike_released(args, godebug):
    """The spike's own HeapReleased, untraced, under the same GODEBUG."""
    env = dict(os.environ, GODEBUG=godebug)
    p = subprocess.run([args.spike, "-hold", "0s"], capture_output=True, text=True, env=env)
    m = re.search(r'"HeapReleased":\s*(\d+)', p.stdout)
    if not m:
        fail(f"the spike printed no HeapReleased: {p.stdout[-300:]}")
    return int(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--spike", required=True)
    args = ap.parse_args()
    if os.geteuid() != 0:
        mtest.skip("needs root (the bpf backend)")

    env = {k: v for k, v in os.environ.items() if k != "GODEBUG"}
    p = run(args, [], env)
    if p.returncode != 0:
        fail(f"godebug exit {p.returncode}:\n{p.stdout}\n{p.stderr}")
    r = rows(p.stdout)
    gov = go_version(args.spike)
    want = {"(unset)": "MADV_DONTNEED", "madvdontneed=0": "MADV_FREE",
            "madvdontneed=1": "MADV_DONTNEED"}
    for label, advice in want.items():
        if label not in r:
            fail(f"no row for {label}:\n{p.stdout}")
        m = r[label]
        if m.group(2) != gov:
            fail(f"{label}: the row names Go {m.group(2)!r}, `go version {args.spike}` says "
                 f"{gov!r}:\n{p.stdout}")
        if m.group(3) != advice or m.group(11) != "ok":
            fail(f"{label}: {m.group(3)} {m.group(11)}, expected {advice} ok:\n{p.stdout}")
        oracle = spike_released(args, "madvdontneed=0" if advice == "MADV_FREE" else "madvdontneed=1")
        got = size(m.group(5))
        if abs(got - oracle) > max(0.02 * oracle, 8 * MIB):
            fail(f"{label}: released {got / MIB:.1f} MiB, the spike's HeapReleased is "
                 f"{oracle / MIB:.1f} MiB")
        before, after = size(m.group(6)), size(m.group(7))
        if advice == "MADV_DONTNEED" and not (m.group(8).endswith("ms") and after < before / 2):
            fail(f"{label}: RSS {before / MIB:.0f} -> {after / MIB:.0f} MiB, {m.group(8)}")
        if advice == "MADV_FREE" and (m.group(8) != "did not fall" or after < before * 0.9):
            fail(f"{label}: RSS fell under MADV_FREE without pressure: {m.group(0)}")
    print(f"three rows as Go 1.19 should: {', '.join(f'{k} {v}' for k, v in want.items())}")

    p = run(args, ["--expect", "free"], env)
    if p.returncode != 1 or "MISMATCH" not in p.stdout or "MADV_DONTNEED was observed" not in p.stdout:
        fail(f"--expect free on a DONTNEED run: exit {p.returncode}:\n{p.stdout}")
    print("--expect free on a DONTNEED runtime: exit 1, mismatch named")

    p = run(args, ["--expect", "free"], dict(env, GODEBUG="madvdontneed=0"))
    if p.returncode != 0:
        fail(f"GODEBUG=madvdontneed=0 --expect free: exit {p.returncode}:\n{p.stdout}\n{p.stderr}")
    print("GODEBUG=madvdontneed=0 --expect free: exit 0")

    p = run(args, ["--pressure"], env)
    if p.returncode != 0:
        fail(f"--pressure: exit {p.returncode}:\n{p.stdout}\n{p.stderr}")
    m = rows(p.stdout).get("madvdontneed=0")
    rec = re.search(r"([\d.]+ \w+) in (\d+) ms", m.group(10) if m else "")
    if not rec or size(rec.group(1)) < 100 * MIB:
        fail(f"--pressure: no reclaim of lazily freed pages shown:\n{p.stdout}")
    print(f"--pressure: {rec.group(1)} reclaimed in {rec.group(2)} ms under madvdontneed=0")

    p = subprocess.run([args.madvtrace, "godebug", "--expect", "dontneed", "--", args.spike,
                        "-size", "0", "-hold", "0s"], capture_output=True, text=True, env=env,
                       timeout=120)
    if p.returncode != 1 or "nothing was released" not in p.stdout:
        fail(f"a run that releases nothing: exit {p.returncode}:\n{p.stdout}")
    print("a run that releases nothing: reported, exit 1")

    p = subprocess.run([args.madvtrace, "godebug", "--", "/bin/true"], capture_output=True,
                       text=True)
    lines = [l for l in p.stderr.splitlines() if l.startswith("madvtrace:")]
    if p.returncode != 1 or len(lines) != 1 or "not a Go program" not in lines[0]:
        fail(f"not Go: exit {p.returncode}, {p.stderr!r}")
    print("not a Go program: refused, exit 1")


if __name__ == "__main__":
    main()
