#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A 32-bit (i386) target: its compat syscalls are recorded exactly, with abi i386."""
import sys

import mtest
from mtest import check, fail, log, show


def test(env):
    if not env.tally32:
        fail("no --tally32 given (the test is registered only when tally32 is built)")
    trace, tally_out = env.path("compat.mtr"), env.path("tally.jsonl")
    cp = mtest.run([env.madvtrace, "-o", trace, "--", env.tally32, "-t", "2", "-n", "16",
                    "-o", tally_out])
    check(cp.returncode == 0, f"madvtrace -- tally32 failed: {show(cp)}")
    tallies = mtest.read_tallies(tally_out)
    check(len(tallies) == 1 and tallies[0]["abi"] == "i386",
          f"tally32 is not a 32-bit program: {[t.get('abi') for t in tallies]}")
    recs = mtest.dump(env, trace)
    counts = mtest.compare_tally(recs, tallies[0], abi="i386")
    mtest.check_no_lost(recs)
    log(f"i386: pid {tallies[0]['pid']}: {counts} recorded exactly, all abi i386")


if __name__ == "__main__":
    mtest.main(test, __doc__)
