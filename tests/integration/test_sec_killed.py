#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A recording killed with SIGKILL keeps what was recorded up to its last
flush: at most the last MT_WRITER_FLUSH_NS (0.5 s) is lost, the file is
readable up to its last whole record, and the reader says it was cut
(docs/trace-format.md, "Writing").

    test_sec_killed.py --writer PATH            the writer as a recorder drives it
    test_sec_killed.py --madvtrace PATH --workloads DIR --recorder
                                                `madvtrace -o` itself: passes once
                                                the recorder calls
                                                mt_writer__flush_if_due from its tick

Each case, quiet (no record after the first) and busy (a record every
millisecond), is killed after 3 s.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

LOSS_NS = 500_000_000 + 250_000_000  # the bound, plus a tick and scheduling slack


def dump(mt, path):
    p = subprocess.run([mt, "dump", path], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise SystemExit("FAIL: dump of %s exited %d: %s" % (path, p.returncode, p.stderr))
    return [json.loads(line) for line in p.stdout.splitlines() if line.strip()], p.stderr


def killed(cmd, path, mt, busy, what):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    time.sleep(3)
    kill_ns = time.monotonic_ns()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    if not os.path.exists(path) or os.path.getsize(path) < 16:
        raise SystemExit("FAIL: %s: killed after 3 s, the file holds %d bytes" %
                         (what, os.path.getsize(path) if os.path.exists(path) else -1))
    recs, err = dump(mt, path)
    if not recs:
        raise SystemExit("FAIL: %s: killed after 3 s, no record in the file" % what)
    if "cut short" not in err and "truncated" not in err:
        raise SystemExit("FAIL: %s: the reader does not say the file was cut: %r" % (what, err))
    if busy:
        last = max(r["t_ns"] for r in recs)
        if kill_ns - last > LOSS_NS:
            raise SystemExit("FAIL: %s: the last record in the file is %.2f s older than the "
                             "kill" % (what, (kill_ns - last) / 1e9))
        print("ok: %s: %d records, the last %.2f s before the kill; %s" %
              (what, len(recs), (kill_ns - last) / 1e9, err.strip()))
    else:
        print("ok: %s: %d records; %s" % (what, len(recs), err.strip()))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--writer")
    ap.add_argument("--workloads")
    ap.add_argument("--tally32")
    ap.add_argument("--recorder", action="store_true")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mt-sec-kill-")
    try:
        for mode in ("quiet", "busy"):
            out = os.path.join(tmp, mode + ".mtr")
            if a.recorder:
                target = (["sleep", "30"] if mode == "quiet" else
                          [os.path.join(a.workloads, "churn"), "-s", "30"])
                cmd = [a.madvtrace, "-q", "-o", out, "--"] + target
                what = "madvtrace -o, %s target" % mode
            else:
                cmd = [a.writer, out, mode]
                what = "writer, %s" % mode
            killed(cmd, out, a.madvtrace, mode == "busy", what)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
