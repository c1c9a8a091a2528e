#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Launch mode: `madvtrace -o T -- tally -t 4` records exactly the calls tally made."""
import mtest
from mtest import check, log, show


def test(env):
    trace, tally_out = env.path("launch.mtr"), env.path("tally.jsonl")
    cp = mtest.run([env.madvtrace, "-o", trace, "--", env.wl("tally"), "-t", "4", "-n", "32",
                    "-o", tally_out])
    check(cp.returncode == 0, f"madvtrace -- tally failed: {show(cp)}")
    tallies = mtest.read_tallies(tally_out)
    check(len(tallies) == 1 and tallies[0]["role"] == "main", f"unexpected tallies {tallies}")
    tally = tallies[0]
    check(len(tally["tids"]) == 4, f"tally ran {len(tally['tids'])} threads, not 4")
    recs = mtest.dump(env, trace)
    counts = mtest.compare_tally(recs, tally)
    mtest.check_no_lost(recs)
    log(f"launch: pid {tally['pid']}, 4 threads: {counts} recorded exactly as tallied "
        f"(errors {tally['errors']})")


if __name__ == "__main__":
    mtest.main(test, __doc__)
