#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
process_madvise(2) against the workload's own list of its calls, in every
backend. memkinds advises itself through a pidfd of its own: MADV_COLD over
three ranges, MADV_PAGEOUT over two, MADV_DONTNEED over one (allowed on
oneself since Linux 6.13; the call's result is whatever the kernel said,
and the record must carry it), and MADV_COLD over ten ranges (a recorder
keeps 8 entries and flags the record iov_trunc). Then an untraced process
(memkinds -a, run by the test) advises it from outside: MADV_PAGEOUT over
two ranges, MADV_COLD over one, and MADV_DONTNEED, which the kernel refuses
for another process (EINVAL) since process_madvise exists.

Every iovec entry is one madvise record flagged process_madvise, in order:
base, length, advice, the call's return value and the target pid exact.
The remote calls are seen by the bpf backend only (its hook sees every
process's calls and keeps those aimed at a traced process); ptrace and the
preload agent see only calls their own tracee makes, so for them no record
may name the untraced caller.
"""
import json
import os
import signal
import subprocess

import backends
import mtest
from mtest import check, fail, log, show

MIB = 1 << 20
MAX_IOV = 8
EINVAL = 22


def expected(call, caller):
    n = len(call["iov"])
    return [{"pid": caller, "addr": b, "len": l, "advice": call["advice"], "ret": call["ret"],
             "target_pid": call["target"], "iov_trunc": n > MAX_IOV}
            for b, l in call["iov"][:MAX_IOV]]


def got(r):
    return {"pid": r["pid"], "addr": r["addr"], "len": r["len"],
            "advice": mtest.advice_value(r["advice"]), "ret": r["ret"],
            "target_pid": r["target_pid"], "iov_trunc": bool(r.get("iov_trunc"))}


def compare(what, recs, want):
    have = [got(r) for r in recs]
    for i, (h, w) in enumerate(zip(have, want)):
        check(h == w, f"{what}: iovec record {i} of {len(want)} differs:\n  expected {w}\n"
              f"  recorded {h}")
    check(len(have) == len(want), f"{what}: {len(have)} process_madvise records, expected "
          f"{len(want)} (one per iovec entry, at most {MAX_IOV} per call)")


def one(env, backend, fpath):
    trace = env.path(f"pmadv-{backend}.mtr")
    mt = subprocess.Popen(env.mt(backend, "-q", "-o", trace, "--", env.wl("memkinds"), "-f",
                                 fpath, "-R", "-q", "150"),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, text=True)
    helpers = []
    try:
        line = mtest.read_line_with_timeout(mt.stdout, 60)
        check(line and line.startswith('{"remote"'), f"{backend}: memkinds did not reach its "
              f"remote phase: {line!r}")
        rem = json.loads(line)["remote"]
        pid, a = rem["pid"], rem["addr"]
        for advice, iov in ((21, [(a, 2 * MIB), (a + 3 * MIB, MIB)]),
                            (20, [(a + 5 * MIB, MIB // 2)]),
                            (4, [(a, MIB)])):
            cp = mtest.run([env.wl("memkinds"), "-a", str(pid), "-v", str(advice)] +
                           [f"{b}:{l}" for b, l in iov])
            check(cp.returncode == 0, f"memkinds -a failed: {show(cp)}")
            helpers.append(json.loads(cp.stdout))
        os.kill(pid, signal.SIGUSR1)
        out, err = mt.communicate(timeout=60)
        check(mt.returncode == 0, f"{backend}: madvtrace exited {mt.returncode}: {err[-1500:]}")
    finally:
        backends.kill_all(mt)
    res = [o for o in mtest.json_lines(out, "memkinds output") if "points" in o]
    check(len(res) == 1, f"{backend}: memkinds printed no result: {out[-500:]!r}")
    res = res[0]
    check(res["pid"] == pid, "memkinds changed pid?")
    recs = mtest.dump(env, trace)
    pm = [r for r in recs if r["type"] == "madvise" and r.get("process_madvise")]

    # its own calls, on itself
    own = [r for r in pm if r["pid"] == pid]
    want = [e for c in res["calls"] for e in expected(c, pid)]
    check(len(res["calls"]) == 4 and all(c["target"] == pid for c in res["calls"]),
          f"memkinds made unexpected calls: {res['calls']}")
    check(res["calls"][0]["ret"] == 6 * MIB and res["calls"][1]["ret"] == 5 * MIB,
          f"the kernel refused MADV_COLD or MADV_PAGEOUT on oneself: {res['calls'][:2]}")
    compare(f"{backend}: process_madvise on itself", own, want)
    log(f"{backend}: {len(res['calls'])} process_madvise calls on itself, {len(own)} iovec "
        f"records exact (MADV_DONTNEED on itself returned {res['calls'][2]['ret']})")

    # from outside: the helpers' calls
    remote = [r for r in pm if r["pid"] != pid]
    hpids = {h["caller"] for h in helpers}
    check(helpers[2]["calls"][0]["ret"] == -EINVAL,
          f"the kernel let another process MADV_DONTNEED this one: {helpers[2]}")
    if backend == "bpf":
        want = [e for h in helpers for c in h["calls"] for e in expected(c, h["caller"])]
        compare(f"{backend}: process_madvise from an untraced process", remote, want)
        log(f"{backend}: 3 calls from untraced processes into pid {pid}: {len(remote)} records "
            f"exact (caller pid, target pid, MADV_DONTNEED refused with EINVAL)")
    else:
        strays = [r for r in recs if r["pid"] in hpids]
        check(not strays, f"{backend}: records of the untraced caller: {strays[:3]}")
        log(f"{backend}: calls from the untraced process not seen (it is not the tracee), "
            "and nothing recorded in its name")


def test(env):
    fpath = os.path.join(env.out, "mapped.bin")
    with open(fpath, "wb") as f:
        f.write(os.urandom(4 * MIB))
    os.chmod(fpath, 0o644)
    for b in env.backends:
        one(env, b, fpath)


if __name__ == "__main__":
    backends.main(test, __doc__)
