#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The preload agent and children that share or copy the parent's memory
without a fork handler: tests/workloads/sec2_vfork (vfork + _exit, vfork +
a failed exec, vfork + exec, glibc clone() without CLONE_VM, each between
two MADV_DONTNEED of the parent), under --backend=preload, without -f:

  - every one of the parent's releases is recorded, under its pid (its
    own tally), once;
  - no call of a child (MADV_NORMAL of CHILD_LEN) is recorded under the
    parent's pid;
  - one exit record for the parent, its last record: a child's _exit is
    not the parent's;
  - no record twice.

    test_sec2_vfork.py --madvtrace PATH --workloads DIR
"""
import json
import re

import mtest
from mtest import check, log, show

PARENT_LEN = 3 * 4096
CHILD_LEN = 5 * 4096


def test(env):
    trace = env.path("v.mtr")
    cp = mtest.run([env.madvtrace, "-q", "--backend", "preload", "-o", trace, "--",
                    env.wl("sec2_vfork")], timeout=60)
    check(cp.returncode == 0, f"madvtrace -- sec2_vfork: {show(cp)}")
    m = re.search(r"^parent (\d+) releases (\d+)$", cp.stdout, re.M)
    check(m, f"no tally from sec2_vfork: {show(cp)}")
    parent, want = int(m.group(1)), int(m.group(2))
    dp = mtest.run([env.madvtrace, "dump", trace])
    check(dp.returncode == 0, f"dump: {show(dp)}")
    recs = [json.loads(line) for line in dp.stdout.splitlines()]
    mine = [r for r in recs if r.get("pid") == parent]
    rel = [r for r in mine if r["type"] == "madvise" and r.get("len") == PARENT_LEN]
    check(len(rel) == want, f"{len(rel)} of the parent's {want} releases recorded")
    wrong = [r for r in mine if r["type"] == "madvise" and r.get("len") == CHILD_LEN]
    check(not wrong, f"{len(wrong)} calls of children recorded under the parent's pid {parent}")
    exits = [i for i, r in enumerate(mine) if r["type"] == "task" and r.get("event") == "exit"]
    check(len(exits) == 1 and exits[0] == len(mine) - 1 - sum(
        1 for r in mine[exits[0] + 1:] if r["type"] in ("rss", "info")),
        f"the parent's exit records: {[mtest.brief(mine[i]) for i in exits]} "
        f"(want one, after its last call)")
    keys = [json.dumps(r, sort_keys=True) for r in recs]
    dups = len(keys) - len(set(keys))
    check(dups == 0, f"{dups} records recorded twice")
    log(f"parent {parent}: {want} releases, one exit, no child call under its pid, no duplicates")


if __name__ == "__main__":
    mtest.main(test, __doc__)
