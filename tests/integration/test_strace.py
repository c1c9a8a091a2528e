#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
strace as the oracle: the same single-threaded tally run under
`strace -f -e trace=mmap,munmap,mremap,madvise,mprotect,brk` and under
madvtrace gives the same calls for the whole process, the dynamic loader's
and libc's included: the same count per syscall and, with address space
randomisation off for both runs (setarch -R), the same sequence of calls
with the same arguments and return values.
"""
import re
import shutil

import mtest
from mtest import MAP, MREMAP, PROT, check, fail, log, show

LINE_RX = re.compile(r"^(\d+)\s+(\w+)\((.*)\)\s+=\s+(.*)$")


def split_args(s):
    s = re.sub(r"/\*.*?\*/", "", s)  # strace's comments: 0x4d2 /* MADV_??? */
    return [a.strip() for a in s.split(",")]


def num(s):
    s = s.strip()
    if s == "NULL":
        return 0
    return int(s, 0)


def strace_ret(s):
    m = re.match(r"-1 (E[A-Z0-9]+)", s)
    if m:
        return -mtest.errno_value(m.group(1))
    return int(s.split()[0], 0)


def key_from_strace(name, args, ret):
    a = split_args(args)
    if name == "mmap":
        return ("mmap", num(a[0]), num(a[1]), mtest.flags_value(a[2], PROT),
                mtest.flags_value(a[3], MAP), num(a[4]), num(a[5]), ret)
    if name == "munmap":
        return ("munmap", num(a[0]), num(a[1]), ret)
    if name == "mremap":
        flags = mtest.flags_value(a[3], MREMAP)
        return ("mremap", num(a[0]), num(a[1]), num(a[2]), flags, ret)
    if name == "madvise":
        adv = a[2]
        return ("madvise", num(a[0]), num(a[1]), mtest.advice_value(
            adv if adv.startswith("MADV_") else int(adv, 0)), ret)
    if name == "mprotect":
        return ("mprotect", num(a[0]), num(a[1]), mtest.flags_value(a[2], PROT), ret)
    if name == "brk":
        return ("brk", num(a[0]), ret)
    fail(f"unexpected syscall {name} in the strace output")


def key_from_record(r):
    t = r["type"]
    v = lambda k: mtest.value_of(t, k, r[k])  # noqa: E731
    if t == "mmap":
        return ("mmap", r["addr"], r["len"], v("prot"), v("flags"), r["fd"], r["off"], r["ret"])
    if t in ("munmap",):
        return (t, r["addr"], r["len"], r["ret"])
    if t == "mremap":
        return ("mremap", r["old_addr"], r["old_len"], r["new_len"],
                v("flags") if "flags" in r else None, r["ret"])
    if t == "madvise":
        return ("madvise", r["addr"], r["len"], v("advice"), r["ret"])
    if t == "mprotect":
        return ("mprotect", r["addr"], r["len"], v("prot") if "prot" in r else None, r["ret"])
    if t == "brk":
        return ("brk", r["addr"], r["ret"])
    fail(f"unexpected record type {t}")


def strace_calls(path):
    calls, pids = [], set()
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.endswith("+++") or line.endswith("---"):
                continue  # exit and signal notes
            m = LINE_RX.match(line)
            if not m:
                fail(f"cannot parse strace line: {line}")
            pids.add(int(m.group(1)))
            calls.append(key_from_strace(m.group(2), m.group(3), strace_ret(m.group(4))))
    check(len(pids) == 1, f"strace saw {len(pids)} processes, expected one")
    return calls


def counts(calls):
    c = {}
    for k in calls:
        c[k[0]] = c.get(k[0], 0) + 1
    return c


def test(env):
    strace = shutil.which("strace")
    setarch = shutil.which("setarch")
    check(strace and setarch, "strace and setarch (util-linux) are needed")
    s_out, s_tally = env.path("strace.txt"), env.path("strace-tally.jsonl")
    trace, m_tally = env.path("oracle.mtr"), env.path("mt-tally.jsonl")
    tally = [env.wl("tally"), "-t", "1", "-n", "16"]

    cp = mtest.run([setarch, "-R", strace, "-f", "-qq", "-e",
                    "trace=mmap,munmap,mremap,madvise,mprotect,brk", "-o", s_out] +
                   tally + ["-o", s_tally])
    check(cp.returncode == 0, f"strace run failed: {show(cp)}")
    cp = mtest.run([setarch, "-R", env.madvtrace, "-o", trace, "--"] + tally + ["-o", m_tally])
    check(cp.returncode == 0, f"madvtrace run failed: {show(cp)}")

    s_calls = strace_calls(s_out)
    pid = mtest.read_tallies(m_tally)[0]["pid"]
    recs = mtest.dump(env, trace)
    mtest.check_no_lost(recs)
    m_calls = [key_from_record(r) for r in mtest.syscall_records(recs, pid)]

    sc, mc = counts(s_calls), counts(m_calls)
    check(sc == mc, f"per-syscall counts differ: strace {sc}, madvtrace {mc}")
    for i, (s, m) in enumerate(zip(s_calls, m_calls)):
        # fields a record may lack (None) are not compared
        if len(s) != len(m) or any(a != b for a, b in zip(s, m) if b is not None):
            ctx = "\n".join(f"  strace {a}\n  madvt. {b}" for a, b in
                            zip(s_calls[max(0, i - 2):i + 3], m_calls[max(0, i - 2):i + 3]))
            fail(f"call {i} of {len(s_calls)} differs:\n{ctx}")
    log(f"strace oracle: {len(s_calls)} calls of the whole process {sc}: "
        "identical counts and identical sequence (arguments and return values)")


if __name__ == "__main__":
    mtest.main(test, __doc__)
