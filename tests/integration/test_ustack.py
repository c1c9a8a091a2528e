#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The release stacks an unwinder gets (MT_USTACK) and the file mappings it
needs (MT_MAPPING), in every backend, against what the workload knows of
itself and what /proc and readelf say.

workloads/ustack (built -O2 -fomit-frame-pointer) releases 1 MiB with
MADV_DONTNEED through libc from a function that keeps a canary in a local
variable, and prints its stack pointer, the canary's address and value; a
library it opens with dlopen() after start (libustacklib.so) does the same.
At the end it prints its file mappings from /proc/self/maps. Oracles:

- the stack record of each release (same pid, tid and t_ns as its madvise
  record, which carries the ustack flag): rsp a few bytes below the
  function's own stack pointer (bpf and ptrace: the same distance, at the
  system call in libc; preload: within the agent's frames, under 4 KiB);
  the canary's 8 bytes at canary_addr - rsp in the copied bytes; rip inside
  an executable mapping record of libc (bpf, ptrace) or of the agent
  (preload: the agent takes the registers in-process), at the same offset
  in libc for bpf and ptrace; a copy that stops short of the size asked
  ends 64 bytes past where the main stack started (startstack in the
  workload's /proc/self/stat) or at an unreadable page;
- the mapping records: every file mapping /proc/self/maps shows at the end
  (the dlopen()ed library included) has a record with the same range,
  offset, device, inode, protection and path, and its build id is what
  `readelf -n` says of the file;
- --stack-size bounds the copy; --no-stacks records no stack bytes.
"""
import json
import os
import re
import subprocess

import backends
import mtest
from mtest import check, log, show

LEN = 1 << 20
US_SHORT, US_FAULT = 1, 2
F_USTACK = 32
RSP, RIP = 7, 16
WAIT_MS = "1100"


def build_id(path, cache={}):
    """The GNU build id readelf -n prints for path ('' if none)."""
    if path not in cache:
        cp = mtest.run(["readelf", "-n", path])
        m = re.search(r"Build ID: ([0-9a-f]+)", cp.stdout)
        cache[path] = m.group(1) if m else ""
    return cache[path]


def prot_of(perms):
    return (1 if perms[0] == "r" else 0) | (2 if perms[1] == "w" else 0) | \
        (4 if perms[2] == "x" else 0)


def dev_of(text):
    """makedev() of /proc/PID/maps' "fe:00" (glibc's encoding, as st_dev)."""
    ma, mi = (int(x, 16) for x in text.split(":"))
    return ((ma & 0xfff) << 8) | ((ma & ~0xfff) << 32) | (mi & 0xff) | ((mi & ~0xff) << 12)


def record(env, backend, *extra):
    trace = env.path(f"ustack-{backend}{'-'.join(extra)}.mtr")
    lib = env.wl("libustacklib.so")
    cp = mtest.run(env.mt(backend, "-q", *extra, "-o", trace, "--", env.wl("ustack"), lib,
                          WAIT_MS), timeout=120)
    check(cp.returncode == 0, f"{backend}: madvtrace {' '.join(extra)} failed: {show(cp)}")
    out = json.loads(cp.stdout)
    check(len(out["releases"]) == 2 and all(r["ret"] == 0 for r in out["releases"]),
          f"{backend}: the workload's releases failed: {out['releases']}")
    return out, mtest.dump(env, trace)


def mapping_of(maps, addr):
    for m in maps:
        if m["start"] <= addr < m["end"]:
            return m
    return None


def one(env, backend):
    out, recs = record(env, backend, "--stacks")
    calls = [r for r in recs if r["type"] == "madvise" and r["len"] == LEN and
             mtest.advice_value(r["advice"]) == 4]
    check(len(calls) == 2, f"{backend}: {len(calls)} MADV_DONTNEED records of 1 MiB, expected 2")
    stacks = {(r["pid"], r["tid"], r["t_ns"]): r for r in recs if r["type"] == "ustack"}
    maps = [r for r in recs if r["type"] == "mapping"]
    pid = calls[0]["pid"]
    check(all(m["pid"] == pid for m in maps), f"{backend}: mapping records of another process")
    seen = {}
    rip_in = "libmadvtrace-agent.so" if backend == "preload" else "libc.so.6"
    for rel, c in zip(out["releases"], calls):
        what = f"{backend}: the release in {rel['where']}"
        check(c["addr"] == rel["addr"], f"{what}: recorded at {c['addr']:#x}, made at "
              f"{rel['addr']:#x}")
        check(c.get("hdr_flags", 0) & F_USTACK, f"{what}: its record has no ustack flag: {c}")
        u = stacks.get((c["pid"], c["tid"], c["t_ns"]))
        check(u is not None, f"{what}: no ustack record with its pid, tid and t_ns")
        data = bytes.fromhex(u["data"])
        rsp, rip = u["regs"][RSP], u["regs"][RIP]
        check(u["sp"] == rsp and len(data) == u["len"], f"{what}: sp {u['sp']:#x}, rsp {rsp:#x}, "
              f"len {u['len']}, {len(data)} bytes")
        below = rel["sp"] - rsp
        check(0 < below <= (4096 if backend == "preload" else 256),
              f"{what}: rsp {rsp:#x} is {below} bytes below the caller's sp {rel['sp']:#x}")
        # the whole size, cut at an unreadable page, or up to where the main stack started
        check((u["len"] == 8192 and u["flags"] == US_SHORT) or
              (0 < u["len"] < 8192 and u["flags"] in (US_FAULT, 0)),
              f"{what}: {u['len']} bytes copied with flags {u['flags']}")
        if u["flags"] == 0:
            check(rsp + u["len"] == out["start_stack"] + 64, f"{what}: a whole stack of "
                  f"{u['len']} bytes from {rsp:#x}, but the stack started at "
                  f"{out['start_stack']:#x}")
        off = rel["canary_addr"] - rsp
        check(0 <= off <= len(data) - 8, f"{what}: the canary at {rel['canary_addr']:#x} is "
              f"outside the copy ({rsp:#x} + {len(data)})")
        got = int.from_bytes(data[off:off + 8], "little")
        check(got == rel["canary"], f"{what}: {got:#x} at the canary's place, expected "
              f"{rel['canary']:#x}")
        m = mapping_of(maps, rip)
        check(m is not None and m["prot"] & 4, f"{what}: rip {rip:#x} is in no executable "
              f"mapping record")
        check(os.path.basename(m["path"]) == rip_in, f"{what}: rip {rip:#x} is in {m['path']}, "
              f"expected {rip_in}")
        seen[rel["where"]] = (below, rip - m["start"] + m["off"])

    # every file mapping of the workload at its end, with the file's build id
    for line in out["maps"]:
        want = {"start": line["start"], "end": line["end"], "off": line["off"],
                "dev": dev_of(line["dev"]), "ino": line["ino"], "prot": prot_of(line["perms"]),
                "path": line["path"]}
        have = [m for m in maps if all(m[k] == v for k, v in want.items())]
        check(have, f"{backend}: no mapping record for {line}")
        bid = build_id(line["path"]) if os.path.exists(line["path"]) else ""
        check(have[0]["build_id"] == bid, f"{backend}: {line['path']}: build id "
              f"{have[0]['build_id']!r}, readelf says {bid!r}")
    lib = [m for m in maps if m["path"].endswith("/libustacklib.so")]
    check(lib and all(m["build_id"] == build_id(env.wl("libustacklib.so")) for m in lib),
          f"{backend}: the dlopen()ed library's mappings: {lib}")
    keys = [(m["start"], m["end"], m["ino"], m["prot"]) for m in maps]
    check(len(keys) == len(set(keys)), f"{backend}: a mapping written twice")
    files = {(line["path"], line["off"], prot_of(line["perms"])) for line in out["maps"]}
    seen["files"] = {(m["path"], m["off"], m["prot"], m["build_id"]) for m in maps
                     if (m["path"], m["off"], m["prot"]) in files}
    log(f"{backend}: 2 releases with their stack (rsp {seen['exe'][0]} bytes below the caller, "
        f"canary in place, rip in {rip_in}); {len(out['maps'])} file mappings of /proc/self/maps "
        f"recorded with their build ids ({len(maps)} records)")
    return seen


def test(env):
    seen = {b: one(env, b) for b in env.backends}
    # bpf and ptrace stop at the same instruction: the same registers, relatively
    if "bpf" in seen and "ptrace" in seen:
        for where in ("exe", "lib"):
            check(seen["bpf"][where] == seen["ptrace"][where], f"bpf and ptrace disagree on "
                  f"the {where} release's stack pointer or libc offset: {seen['bpf'][where]} "
                  f"vs {seen['ptrace'][where]}")
        log("bpf and ptrace: the same rsp distance and the same libc offset of rip")
    # the files all mapped (preload adds the agent and its libraries): the same
    # offsets, protections and build ids, whoever recorded them
    names = list(seen)
    common = set.intersection(*({f[0] for f in seen[b]["files"]} for b in names))
    mine = {b: {f for f in seen[b]["files"] if f[0] in common} for b in names}
    for b in names[1:]:
        check(mine[b] == mine[names[0]], f"{names[0]} and {b} recorded different file "
              f"mappings (path, offset, protection, build id): {mine[names[0]] ^ mine[b]}")
    check(any(p.endswith("/libustacklib.so") for p in common) and
          any(p.endswith("/libc.so.6") for p in common), f"files in common: {common}")
    log(f"{', '.join(names)}: the same {len(mine[names[0]])} mappings of the {len(common)} "
        "files all of them map (path, offset, protection, build id)")
    if "bpf" in env.backends:
        _, recs = record(env, "bpf", "--stacks", "--stack-size", "1000")
        us = [r for r in recs if r["type"] == "ustack"]
        check(us and all(r["len"] <= 1000 for r in us) and
              any(r["len"] == 1000 and r["flags"] == US_SHORT for r in us),
              f"--stack-size 1000: lengths {[r['len'] for r in us]}")
        _, recs = record(env, "bpf", "--no-stacks")
        check(not [r for r in recs if r["type"] in ("ustack", "mapping")],
              "--no-stacks: stack or mapping records")
        log("bpf: --stack-size 1000 copies 1000 bytes; --no-stacks none")


if __name__ == "__main__":
    backends.main(test, __doc__)
