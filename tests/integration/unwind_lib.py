# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""What the unwinder's tests (test_unwind.py, test_unwind_backends.py) share:
the call chains their workloads mark in their sources (`CALL:x` on the line
that calls x), the allocators they preload, and the releasers of a report.
python3 standard library only; failures raise mtest.TestFailure."""
import json
import os
import re

import mtest
from mtest import check

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "workloads")
LIBDIR = "/usr/lib/x86_64-linux-gnu"
# each allocator's library, and the environment that makes it give memory back at once
ALLOCATORS = {
    "jemalloc": ("libjemalloc.so.2", {"MALLOC_CONF": "dirty_decay_ms:0,muzzy_decay_ms:0"}),
    "tcmalloc": ("libtcmalloc.so.4", {"TCMALLOC_AGGRESSIVE_DECOMMIT": "1"}),
    "mimalloc": ("libmimalloc.so.2", {"MIMALLOC_PURGE_DELAY": "0", "MIMALLOC_RESET_DELAY": "0"}),
}


def marks(src):
    """CALL:x -> line number, from a source file (relative to tests/workloads)."""
    out = {}
    with open(os.path.join(SRC, src)) as f:
        for i, line in enumerate(f, 1):
            m = re.search(r"CALL:(\w+)", line)
            if m:
                out[m.group(1)] = i
    return out


def run(cmd, env=None, cwd=None):
    """Run cmd to completion; its failure is the test's."""
    cp = mtest.run(cmd, env=env, cwd=cwd)
    check(cp.returncode == 0, "%s exited %d: %s" % (" ".join(cmd), cp.returncode,
                                                    cp.stderr.strip()))
    return cp


def report(mt, trace, *extra, env=None):
    """The releasers of trace's JSON report, and its text report."""
    doc = json.loads(run([mt, "report", "--format", "json", *extra, trace], env=env).stdout)
    text = run([mt, "report", *extra, trace], env=env).stdout
    return doc["releasers"], text


def stacks_by_call(rel, call):
    return [s for s in rel["top_stacks"] if call in s["by_call"]]

