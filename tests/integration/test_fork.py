#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A forked child is recorded with -f (exactly its calls) and not at all without it."""
import mtest
from mtest import check, log, show


def run_forking(env, name, follow):
    trace, tally_out = env.path(f"{name}.mtr"), env.path(f"{name}.jsonl")
    cmd = [env.madvtrace, "-o", trace] + (["-f"] if follow else []) + \
        ["--", env.wl("tally"), "-F", "-t", "2", "-n", "16", "-o", tally_out]
    cp = mtest.run(cmd)
    check(cp.returncode == 0, f"{' '.join(cmd)} failed: {show(cp)}")
    roles = {t["role"]: t for t in mtest.read_tallies(tally_out)}
    check(set(roles) == {"main", "child"}, f"expected a main and a child tally, got {list(roles)}")
    check(roles["child"]["ppid"] == roles["main"]["pid"], "the child tally's parent is not main")
    recs = mtest.dump(env, trace)
    mtest.check_no_lost(recs)
    return recs, roles["main"], roles["child"]


def test(env):
    recs, main, child = run_forking(env, "follow", True)
    c_main = mtest.compare_tally(recs, main)
    c_child = mtest.compare_tally(recs, child)
    log(f"-f: parent {main['pid']} {c_main}, child {child['pid']} {c_child}: exact")

    recs, main, child = run_forking(env, "nofollow", False)
    c_main = mtest.compare_tally(recs, main)
    theirs = [r for r in recs if r["pid"] == child["pid"]]
    check(not theirs, f"without -f, {len(theirs)} records of the child {child['pid']}, "
          f"e.g. {mtest.brief(theirs[0]) if theirs else ''}")
    log(f"no -f: parent {main['pid']} {c_main} exact, child {child['pid']}: no record")


if __name__ == "__main__":
    mtest.main(test, __doc__)
