#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Calls no preload library can interpose: glibc's malloc maps a 64 MiB block
with its own internal mmap and frees it with its own munmap. The agent's
seccomp filter catches them: every block malloc returned (the program
prints the addresses) lies in one recorded mmap of at least 64 MiB, unmapped
later by one recorded munmap of the same range, and there are no others.
With catching turned off (MADVTRACE_CATCH=0) the trace says so instead, and
the same run then has none of these calls.
"""
import mtest
import preload_env
from mtest import check, log, show

MIB = 1 << 20


def blocks_case(env, case, n, mib):
    trace = env.path(f"{case}.mtr")
    cp = mtest.run(env.mt("-q", "-o", trace, "--", env.wl("preload_cases"), case, str(n),
                          str(mib)))
    check(cp.returncode == 0, f"preload_cases {case} under the agent failed: {show(cp)}")
    out = preload_env.json_objs(cp.stdout, "preload_cases")[0]
    blocks = out["blocks"]
    check(len(blocks) == n, f"preload_cases printed {len(blocks)} blocks, not {n}")
    recs = mtest.dump(env, trace)
    pid = [r for r in recs if r["type"] == "task" and r["event"] == "exec"][0]["pid"]
    mine = preload_env.calls(recs, pid)
    big_maps = [r for r in mine if r["type"] == "mmap" and r["len"] >= mib * MIB and r["ret"] > 0]
    big_unmaps = [r for r in mine if r["type"] == "munmap" and r["len"] >= mib * MIB]
    check(len(big_maps) == n, f"{len(big_maps)} mmap records of {mib} MiB or more, the program "
          f"malloc'd {n} blocks: {big_maps[:3]}")
    check(len(big_unmaps) == n, f"{len(big_unmaps)} munmap records of {mib} MiB or more, "
          f"the program freed {n} blocks")
    # in the order malloc gave them out (freed in turn, a block may take its predecessor's place)
    if case == "malloc":
        pairs = zip(blocks, sorted(big_maps, key=lambda r: r["t_ns"]))
    else:
        pairs = []
        for b in blocks:
            m = [r for r in big_maps if r["ret"] <= b < r["ret"] + r["len"]]
            check(len(m) == 1, f"block {b:#x}: {len(m)} recorded mmaps hold it")
            pairs.append((b, m[0]))
    for b, m in pairs:
        check(m["ret"] <= b < m["ret"] + m["len"], f"block {b:#x} is not in its mapping {m}")
        check(b + mib * MIB <= m["ret"] + m["len"], f"block {b:#x} overruns its mapping {m}")
        u = [r for r in big_unmaps if r["addr"] == m["ret"] and r["len"] == m["len"]
             and r["t_ns"] > m["t_ns"] and r["ret"] == 0]
        check(u, f"block {b:#x}: no munmap of its mapping {m['ret']:#x} after it")
        big_unmaps.remove(min(u, key=lambda r: r["t_ns"]))
    check(not big_unmaps, f"munmaps of no block: {big_unmaps}")
    # caught calls are recorded from the thread that made them, with the caller's address
    check(all(r["tid"] == pid for r in big_maps + big_unmaps),
          "a caught call recorded with another thread's id")
    log(f"{case}: the {n} internal mmaps and munmaps of glibc's malloc, all caught")


def not_caught(env):
    trace = env.path("nocatch.mtr")
    cp = mtest.run(env.mt("-q", "-o", trace, "--", env.wl("preload_cases"), "malloc", "4", "64",
                          env={"MADVTRACE_CATCH": "0"}))
    check(cp.returncode == 0, f"preload_cases malloc with MADVTRACE_CATCH=0 failed: {show(cp)}")
    recs = mtest.dump(env, trace)
    pid = [r for r in recs if r["type"] == "task" and r["event"] == "exec"][0]["pid"]
    said = preload_env.info(recs, "agent.catch", pid)
    check(said == ["MADVTRACE_CATCH=0"], f"the trace does not say catching was off: {said}")
    big = [r for r in preload_env.calls(recs, pid) if r["len"] >= 64 * MIB]
    check(not big, f"calls no hook can see were recorded with catching off: {big[:2]}")
    log("catching off: the trace says so (info agent.catch), and has none of malloc's calls")


def test(env):
    blocks_case(env, "malloc", 16, 64)
    blocks_case(env, "mallochold", 8, 64)
    not_caught(env)


if __name__ == "__main__":
    preload_env.main(test, __doc__)
