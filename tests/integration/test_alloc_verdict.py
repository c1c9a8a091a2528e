#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The verdict of a C program names its allocator and what that allocator did.

tests/workloads/allocfree mallocs and frees 64 KiB..4 MiB blocks, then idles
(one small malloc/free per 100 ms). It runs under glibc's malloc and under
jemalloc, tcmalloc and mimalloc by LD_PRELOAD (through `env`, so that
madvtrace itself keeps glibc), each with and without the setting that makes
the allocator give memory back at once. For each trace (bpf backend):

  - the recorder wrote allocator=NAME and allocator_linked=dynamic for the
    workload's program, and env.KEY for the setting when set;
  - the report's allocator findings name that allocator and the setting;
  - "Seen here: ..." lists exactly the release calls the summary counts
    (MADV_FREE, MADV_DONTNEED, munmap: calls and bytes);
  - with the release-forcing setting, the allocator did release (calls > 0);
  - no sentence speaks of Go.

    test_alloc_verdict.py --madvtrace PATH --workloads DIR [...]
"""
import json
import os
import re
import subprocess
import sys

import mtest

LIBDIR = "/usr/lib/x86_64-linux-gnu"
# allocator: (preloaded object or None, the release-forcing environment, extra args)
CASES = {
    "glibc": (None, {"MALLOC_TRIM_THRESHOLD_": "0", "MALLOC_MMAP_THRESHOLD_": "65536"}, ["-t"]),
    "jemalloc": ("libjemalloc.so.2", {"MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"}, []),
    "tcmalloc": ("libtcmalloc.so.4", {"TCMALLOC_RELEASE_RATE": "10",
                                      "TCMALLOC_AGGRESSIVE_DECOMMIT": "true"}, []),
    # 2.0.x (Debian bookworm) still reads the 1.x name; 2.1 and later MIMALLOC_PURGE_DELAY
    "mimalloc": ("libmimalloc.so.2", {"MIMALLOC_RESET_DELAY": "0"}, []),
}
# (the releasers sentence may say stacks are "the default for Go programs": not about this one)
GO_WORDS = re.compile(r"Go program \(|Go runtime|GODEBUG|go1\.|runtime\.|scavenger|HeapReleased")
SEEN = re.compile(r"(MADV_FREE|MADV_DONTNEED|munmap) " + mtest.SIZE + r" in (\d+) calls?")


def trace_case(env, name, forcing):
    lib, setting, extra = CASES[name]
    vars_ = dict(setting) if forcing else {}
    if lib:
        path = os.path.join(LIBDIR, lib)
        if not os.path.exists(path):
            mtest.skip(f"{path} is not installed", ci_ok=False)
        vars_["LD_PRELOAD"] = path
    tag = f"{name}-{'forced' if forcing else 'default'}"
    trace = env.path(tag + ".mtr")
    cmd = [env.madvtrace, "-q", "-o", trace, "--", "env"] + [f"{k}={v}" for k, v in vars_.items()]
    cmd += [env.wl("allocfree"), "-i", "3"] + (extra if forcing else [])
    cp = mtest.run(cmd)
    mtest.check(cp.returncode == 0, f"{tag}: madvtrace exited {cp.returncode}: {cp.stderr[-1500:]}")
    mtest.check("allocfree:" in cp.stdout, f"{tag}: the workload did not run: {cp.stdout!r}")
    return tag, trace, vars_


def check_case(env, name, forcing):
    tag, trace, vars_ = trace_case(env, name, forcing)
    recs = mtest.dump(env, trace)
    pid = next(r["pid"] for r in recs if r["type"] == "task" and r["event"] == "launch")
    last = {}
    for r in [r for r in recs if r["type"] == "info" and r["pid"] == pid]:
        last[r["key"]] = r["value"]
    mtest.check(last.get("allocator") == name,
                f"{tag}: allocator info {last.get('allocator')!r}, expected {name!r}")
    mtest.check(last.get("allocator_linked") == "dynamic",
                f"{tag}: allocator_linked {last.get('allocator_linked')!r}")
    for k, v in vars_.items():
        if k != "LD_PRELOAD":
            mtest.check(last.get("env." + k) == v, f"{tag}: env.{k} is {last.get('env.' + k)!r}, "
                        f"set to {v!r}")

    rep = subprocess.run([env.madvtrace, "report", "--format", "json", trace],
                         capture_output=True, text=True, timeout=120)
    mtest.check(rep.returncode == 0, f"{tag}: report failed: {rep.stderr}")
    s = json.loads(rep.stdout)["summary"]
    txt = subprocess.run([env.madvtrace, "report", trace], capture_output=True, text=True,
                         timeout=120).stdout
    texts = [f["text"] for f in s["findings"]]
    alloc = [f["text"] for f in s["findings"] if f["kind"] == "allocator"]
    mtest.check(alloc, f"{tag}: no allocator finding: {texts}")
    mtest.check(any(f"allocates with {name}" in t for t in alloc),
                f"{tag}: the allocator findings do not name {name}: {alloc}")
    mtest.check(f"allocates with {name}" in " ".join(txt.split()),
                f"{tag}: the text verdict does not name {name}")
    for k, v in vars_.items():
        if k != "LD_PRELOAD":
            mtest.check(any(f"{k}={v}" in t for t in alloc),
                        f"{tag}: the findings do not mention {k}={v}: {alloc}")
    for t in texts:
        mtest.check(not GO_WORDS.search(t), f"{tag}: a sentence about Go: {t}")

    # what the allocator was seen doing, against the calls the summary counts
    seen = [t for t in alloc if t.startswith("Seen here")]
    adv = s["calls"]["by_advice"]
    counted = {"MADV_FREE": (adv.get("MADV_FREE", {}).get("calls", 0),
                             adv.get("MADV_FREE", {}).get("bytes", 0)),
               "MADV_DONTNEED": (adv.get("MADV_DONTNEED", {}).get("calls", 0),
                                 adv.get("MADV_DONTNEED", {}).get("bytes", 0)),
               "munmap": (s["munmap_calls"], s["munmap_bytes"])}
    said = {}
    for t in seen:
        for m in SEEN.finditer(t):
            said[m.group(1)] = (m.group(2), m.group(3), int(m.group(4)))
    for what, (calls, nbytes) in counted.items():
        if not calls:
            mtest.check(what not in said, f"{tag}: the verdict names {what}, the trace has none")
            continue
        mtest.check(what in said, f"{tag}: {calls} {what} calls, not in the verdict: {seen}")
        mtest.check(said[what][2] == calls and mtest.size_near(said[what][0], said[what][1], nbytes),
                    f"{tag}: the verdict says {what} {said[what]}, the summary {calls} calls, "
                    f"{nbytes} bytes")
    mtest.check_verdict_vs_summary(s, tag)
    mtest.log(f"{tag}: {name}, seen {said}")
    return counted


def released_by_allocator(name, counted):
    """What the allocator itself released: page-heap allocators advise; glibc unmaps."""
    if name == "glibc":
        return counted["munmap"][0]
    return counted["MADV_FREE"][0] + counted["MADV_DONTNEED"][0]


def test(env):
    for name in CASES:
        default = released_by_allocator(name, check_case(env, name, False))
        forced = released_by_allocator(name, check_case(env, name, True))
        # the setting (or malloc_trim) made it give back more, and the verdict said so
        mtest.check(forced > default, f"{name}: {forced} release calls with its release-forcing "
                    f"setting, {default} without")


if __name__ == "__main__":
    mtest.main_paths(test)
