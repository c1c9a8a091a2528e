#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""`madvtrace report` on crafted traces whose exe records name what anyone
can point them at (docs/security.md):

- a FIFO, /dev/zero, a directory: the report comes back at once, with a
  note that the file is not a regular file (a FIFO used to hang it);
- one 1 GiB sparse program named by many spellings of its path (/d/big,
  /d//big, /d/./big, a hard link, ...): it is read once, in its useful parts,
  and every alias gets its names, within a small memory bound (each alias
  used to read the whole file: gigabytes).

Usage: test_sec_symbolize.py --madvtrace PATH --workloads DIR
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_sec_lib as L  # noqa: E402

BASE = 0x555555554000


def report_json(mt, trace, timeout=20, as_limit=None):
    code, out, err, secs, rss = L.run_bounded([mt, "report", "--format", "json", trace],
                                              timeout, as_limit)
    if code is None:
        raise SystemExit("FAIL: report of %s still running after %d s" % (trace, timeout))
    if code != 0:
        raise SystemExit("FAIL: report of %s exited %s: %s" % (trace, code, err.strip()))
    return json.loads(out), err, secs, rss


def programs(doc):
    return doc["releasers"]["programs"]


def not_regular(mt, tmp):
    fifo = os.path.join(tmp, "fifo")
    os.mkfifo(fifo)
    cases = {"FIFO": fifo, "/dev/zero": "/dev/zero", "a directory": tmp}
    recs = b""
    for i, (what, path) in enumerate(cases.items()):
        recs += L.releasing_process(200 + i, path, 1_000_000_000 + i * 10_000, [BASE + 0x1000])
    trace = os.path.join(tmp, "notreg.mtr")
    L.write_trace(trace, recs)
    doc, err, secs, _ = report_json(mt, trace)
    progs = {p["exe"]: p for p in programs(doc)}
    for what, path in cases.items():
        p = progs.get(path)
        if not p or "not a regular file" not in (p.get("error") or ""):
            raise SystemExit("FAIL: %s as exe: expected 'not a regular file', got %r" % (what, p))
        if "not a regular file" not in err:
            raise SystemExit("FAIL: no note on stderr for %s: %s" % (what, err))
    print("ok: FIFO, /dev/zero and a directory as exe: refused in %.2f s" % secs)


def aliases(mt, workloads, tmp):
    d = os.path.join(tmp, "d")
    os.mkdir(d)
    big = os.path.join(d, "big")
    shutil.copy(os.path.join(workloads, "tally"), big)
    nm = subprocess.run(["nm", "--defined-only", big], capture_output=True, text=True).stdout
    main = next(int(a, 16) for a, t, n in (line.split() for line in nm.splitlines()
                                            if len(line.split()) == 3) if n == "main")
    os.truncate(big, 1 << 30)  # the program padded to 1 GiB: sparse, costs no disk
    os.link(big, os.path.join(d, "hardlink"))
    names = [big, d + "//big", d + "/./big", d + "/../d/big", d + "/hardlink",
             d + "/././big", d + "///big", tmp + "/./d/big"]
    recs = b""
    for i, n in enumerate(names):
        recs += L.releasing_process(300 + i, n, 1_000_000_000 + i * 10_000, [BASE + main + 4])
    trace = os.path.join(tmp, "aliases.mtr")
    L.write_trace(trace, recs)
    # an address-space limit far below one copy of the file: reading it whole fails
    doc, err, secs, rss = report_json(mt, trace, timeout=60, as_limit=768 << 20)
    bad = [p for p in programs(doc) if p.get("error") or p.get("symbols") in (None, "none")]
    if bad or len(programs(doc)) != len(names):
        raise SystemExit("FAIL: aliases of one 1 GiB program not all symbolized: %r (%s)" %
                         (bad or programs(doc), err.strip()))
    if rss > 200 * 1024:
        raise SystemExit("FAIL: report of %d aliases of a 1 GiB file took %d MiB of RSS" %
                         (len(names), rss // 1024))
    if secs > 10:
        raise SystemExit("FAIL: report of the aliases took %.1f s" % secs)
    print("ok: %d aliases of a 1 GiB program symbolized in %.2f s, %d MiB RSS" %
          (len(names), secs, rss // 1024))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--workloads", required=True)
    ap.add_argument("--tally32")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mt-sec-sym-")
    try:
        not_regular(a.madvtrace, tmp)
        aliases(a.madvtrace, a.workloads, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
