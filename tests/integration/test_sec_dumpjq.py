#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Issue 13, defect 8: `madvtrace dump` of a record longer than its 4,096-byte
line buffer (a long path that is not UTF-8, each byte escaped six-fold as
\\u00XX) printed a cut line: invalid JSON, and exit 0.

A path of about 3,500 bytes in 13 nested directories, their names of bytes
that are not UTF-8 (0xff, 0x80, a lone 0xc3), valid UTF-8 (é, ÿ), control
characters, a newline, quote and backslash: some 17,000 bytes once escaped.

  - a crafted trace (test_sec_lib, as anyone could write one) whose exe
    record names it;
  - a real recording (bpf, as root) of a copy of sleep run from a path of
    1,000 bytes, most of them 0xff (an info record holds at most
    MT_MAX_INFO, 1,024 bytes: a longer exe path is not recorded at all),
    some 5,500 bytes once escaped: the recorder's own exe record names it.

The oracles: jq (Debian's, not ours) parses every line of the dump, one
value per line; and the path itself: the exe value, its JSON escapes
decoded by the rules of docs/dump-format.md (\\u00XX is byte XX), is the
path byte for byte, and what jq makes of it is the same string.

    test_sec_dumpjq.py --madvtrace PATH --workloads DIR
"""
import os
import shutil
import subprocess
import sys

import mtest
from mtest import check, log, show

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sec_lib as L  # noqa: E402

LEVELS = 13
# one directory name: 250 bytes of a mix the escaper must treat three ways
UNIT = b"\xff\x80\xc3" + "éÿ".encode() + b"\x01\x1f\x7f\n\"\\" + b"ab"
ESCAPES = {ord('"'): b'"', ord("\\"): b"\\", ord("/"): b"/", ord("b"): b"\b",
           ord("f"): b"\f", ord("n"): b"\n", ord("r"): b"\r", ord("t"): b"\t"}


def long_dir(base):
    """Make the nested directories under base; returns the deepest as bytes."""
    d = os.fsencode(base)
    for i in range(LEVELS):
        name = (b"%02d" % i + UNIT * 20)[:250]
        d = os.path.join(d, name)
        os.mkdir(d)
    return d


def json_string_bytes(raw, start):
    """The bytes a JSON string starting at raw[start] (its opening quote) stands for, the
    project's way: a literal byte is itself, \\u00XX is byte XX (docs/dump-format.md)."""
    check(raw[start:start + 1] == b'"', "not a string")
    out = bytearray()
    i = start + 1
    while True:
        c = raw[i]
        if c == ord('"'):
            return bytes(out)
        if c != ord("\\"):
            out.append(c)
            i += 1
            continue
        e = raw[i + 1]
        if e == ord("u"):
            v = int(raw[i + 2:i + 6], 16)
            check(v < 0x100, f"escape \\u{v:04x} is not a byte")
            out.append(v)
            i += 6
        else:
            check(e in ESCAPES, f"unknown escape \\{chr(e)}")
            out += ESCAPES[e]
            i += 2


def as_jq_sees(b):
    """What a JSON parser makes of the escaped path: valid UTF-8 as itself, any other
    byte as the code point of its value."""
    return b.decode("utf-8", errors="surrogateescape").translate(
        {0xdc00 + x: chr(x) for x in range(0x80, 0x100)})


def check_dump(env, trace, path, what):
    """dump | jq: every line one JSON value; the exe record carries path exactly."""
    cp = subprocess.run([env.madvtrace, "dump", trace], capture_output=True, timeout=60)
    check(cp.returncode == 0, f"{what}: dump exited {cp.returncode}: {cp.stderr[-500:]!r}")
    lines = cp.stdout.split(b"\n")
    check(lines[-1] == b"", f"{what}: dump's output does not end with a newline")
    lines = lines[:-1]
    # jq, line by line: each line must be one complete value (-c: one value per output line)
    jq = subprocess.run(["jq", "-c", "."], input=cp.stdout, capture_output=True, timeout=60)
    check(jq.returncode == 0, f"{what}: jq refused dump's output: {jq.stderr[-500:]!r}")
    values = jq.stdout.split(b"\n")[:-1]
    check(len(values) == len(lines), f"{what}: jq read {len(values)} values in {len(lines)} lines")
    longest = max(len(ln) for ln in lines)
    found = []
    for n, ln in enumerate(lines):
        one = subprocess.run(["jq", "-e", "-r", 'select(.type == "info" and .key == "exe") '
                              "| .value"], input=ln, capture_output=True, timeout=60)
        if one.returncode == 4 or (one.returncode == 1 and not one.stdout):
            continue  # not an exe record
        check(one.returncode == 0, f"{what}: jq on line {n + 1}: {one.stderr[-300:]!r}")
        at = ln.index(b'"value":') + len(b'"value":')
        got = json_string_bytes(ln, at)
        jq_text = one.stdout[:-1].decode("utf-8")
        check(jq_text == as_jq_sees(got),
              f"{what}: jq's string and the byte decoding of line {n + 1} differ")
        found.append(got)
    check(path in found, f"{what}: no exe record carries the {len(path)}-byte path back "
          f"({len(found)} exe records, lengths {[len(f) for f in found]})")
    return len(lines), longest


def crafted(env, path):
    trace = env.path("crafted.mtr")
    recs = (L.record(L.MT_INFO, b"exe=" + path + b"\0", pid=100) +
            L.info("exe_base=0x555555554000", pid=100) +
            L.madvise(0x7f0000000000, 1 << 20, pid=100, t_ns=1_000_001_000))
    L.write_trace(trace, recs)
    n, longest = check_dump(env, trace, path, "crafted trace")
    log(f"crafted trace: {n} dump lines, jq parses each; the {len(path)}-byte path comes back "
        f"whole from a {longest}-byte line")


def recorded(env):
    # as long as an info record allows, no newline (/proc/PID/maps writes it as \012)
    d, i = os.fsencode(env.tmp), 0
    while len(d) < 1000 - 250:
        d = os.path.join(d, (b"r%d" % i + b"\xff" * 200 + "é".encode() + b"\x80\x01")[:240])
        os.mkdir(d)
        i += 1
    prog = os.path.join(d, b"sl\xffeep" + b"\xfe" * (1000 - len(d) - 8))
    shutil.copy("/bin/sleep", prog)
    os.chmod(prog, 0o755)
    trace = env.path("rec.mtr")
    cp = mtest.run([env.madvtrace, "-q", "-o", trace, "--", prog, "0.5"], timeout=60)
    check(cp.returncode == 0, f"madvtrace: {show(cp)}")
    n, longest = check_dump(env, trace, prog, "recording")
    log(f"recording of {len(prog)}-byte path: {n} dump lines, jq parses each; the exe record "
        f"carries the path back whole ({longest}-byte line)")


def test(env):
    d = long_dir(env.tmp)
    check(len(d) > 3000, f"the path is only {len(d)} bytes")
    crafted(env, os.path.join(d, b"prog\xfe"))
    recorded(env)


if __name__ == "__main__":
    mtest.main(test, __doc__)
