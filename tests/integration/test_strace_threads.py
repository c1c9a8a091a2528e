#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
strace as the oracle for every backend, with 8 threads. `tally -X -t 8`
makes the same calls in every run, thread by thread, whatever the
interleaving: each thread maps at addresses fixed by its index
(MAP_FIXED_NOREPLACE), moves with MREMAP_FIXED, and makes no brk. So one
run under `strace -ff` (a file per thread: no call split by another
thread's) and one run under each backend (an identical run) must agree,
for each thread, on the exact sequence of calls between its markers:
same syscalls, arguments and return values, in the same order. The bpf
backend is also compared with strace on the same run (strace -ff tracing
madvtrace and the tally it launches).
"""
import glob
import os
import shutil

import backends
import mtest
import test_strace
from mtest import check, fail, log, show

TRACED = "trace=mmap,munmap,mremap,madvise,mprotect,brk"
TALLY = ["-X", "-t", "8", "-n", "16"]


def strace_thread(path):
    """One thread's calls from an `strace -ff` file, as test_strace's keys."""
    calls = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.endswith("+++") or line.endswith("---") or not line:
                continue
            m = test_strace.re.match(r"^(\w+)\((.*)\)\s+=\s+(.*)$", line)
            if not m:
                fail(f"cannot parse strace line of {path}: {line}")
            calls.append(test_strace.key_from_strace(m.group(1), m.group(2),
                                                     test_strace.strace_ret(m.group(3))))
    return calls


def is_marker_key(k, addr):
    return k[0] == "madvise" and k[1] == addr and k[2] == 0 and k[3] == 0


def window(keys, tally, what):
    b, e = tally["markers"]["begin"], tally["markers"]["end"]
    bi = [i for i, k in enumerate(keys) if is_marker_key(k, b)]
    ei = [i for i, k in enumerate(keys) if is_marker_key(k, e)]
    check(len(bi) == 1 and len(ei) == 1, f"{what}: {len(bi)} begin and {len(ei)} end markers")
    return keys[bi[0]:ei[0] + 1]


def strace_windows(prefix, tally):
    """Thread index -> the strace keys of its window."""
    out = []
    for i, tid in enumerate(tally["tids"]):
        path = f"{prefix}.{tid}"
        check(os.path.exists(path), f"strace wrote no {path} for thread {i} (tid {tid})")
        out.append(window(strace_thread(path), tally, f"strace thread {i}"))
    return out


def record_windows(recs, tally, what):
    out = []
    pid = tally["pid"]
    for i, tid in enumerate(tally["tids"]):
        keys = [test_strace.key_from_record(r) for r in recs
                if r["type"] in mtest.SYSCALLS and r["pid"] == pid and r["tid"] == tid
                and not r.get("synth")]
        out.append(window(keys, tally, f"{what} thread {i}"))
    return out


def compare(what, want, got):
    total = 0
    for i, (w, g) in enumerate(zip(want, got)):
        for j, (s, m) in enumerate(zip(w, g)):
            # fields a record may lack (None) are not compared
            if len(s) != len(m) or any(a != b for a, b in zip(s, m) if b is not None):
                ctx = "\n".join(f"  strace {a}\n  madvt. {b}"
                                for a, b in zip(w[max(0, j - 2):j + 3], g[max(0, j - 2):j + 3]))
                fail(f"{what}: thread {i}, call {j} of {len(w)} differs:\n{ctx}")
        check(len(w) == len(g), f"{what}: thread {i}: strace saw {len(w)} calls between the "
              f"markers, madvtrace recorded {len(g)}")
        total += len(w)
    check(len(want) == len(got) == 8, f"{what}: {len(got)} threads, expected 8")
    return total


def test(env):
    strace = shutil.which("strace")
    check(strace, "strace is needed (scripts/setup.sh installs it)")
    sdir = os.path.join(env.out, "strace")
    os.mkdir(sdir)
    os.chmod(sdir, 0o777)

    # the oracle run: tally alone under strace -ff
    out = env.path("strace-tally.jsonl")
    cp = mtest.run([strace, "-ff", "-qq", "-e", TRACED, "-o", f"{sdir}/t",
                    env.wl("tally")] + TALLY + ["-o", out])
    check(cp.returncode == 0, f"strace -ff tally failed: {show(cp)}")
    tally = mtest.read_tallies(out)[0]
    want = strace_windows(f"{sdir}/t", tally)
    log(f"strace: 8 threads, {sum(len(w) for w in want)} calls between the markers")

    for b in env.backends:
        trace, out = env.path(f"st-{b}.mtr"), env.path(f"st-{b}.jsonl")
        cp = mtest.run(env.mt(b, "-q", "-o", trace, "--", env.wl("tally"), *TALLY, "-o", out))
        check(cp.returncode == 0, f"{b}: madvtrace -- tally failed: {show(cp)}")
        t = mtest.read_tallies(out)[0]
        recs = mtest.dump(env, trace)
        mtest.check_no_lost(recs)
        n = compare(f"{b} vs strace (identical run)", want, record_windows(recs, t, b))
        mtest.compare_tally(recs, t)
        log(f"{b}: 8 threads, {n} calls: each thread's sequence is strace's, call for call")

    if "bpf" in env.backends:
        # the same run under both: strace follows madvtrace and the tally it launches
        trace, out = env.path("st-same.mtr"), env.path("st-same.jsonl")
        cp = mtest.run([strace, "-ff", "-qq", "-e", TRACED, "-o", f"{sdir}/s",
                        env.madvtrace, "-q", "-o", trace, "--", env.wl("tally")] + TALLY +
                       ["-o", out], timeout=180)
        check(cp.returncode == 0, f"strace -ff madvtrace -- tally failed: {show(cp)}")
        t = mtest.read_tallies(out)[0]
        n = compare("bpf vs strace (same run)", strace_windows(f"{sdir}/s", t),
                    record_windows(mtest.dump(env, trace), t, "bpf"))
        log(f"bpf, same run as strace: 8 threads, {n} calls identical")


if __name__ == "__main__":
    backends.main(test, __doc__)
