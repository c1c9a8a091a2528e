#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
Live output: `madvtrace -- tally` without -o prints one strace-like line per
call (MADV_FREE by name, failures as `= -1 EINVAL`), and exits with the
command's exit status (128+N when it is killed by signal N). Between each
thread's markers the lines are exactly tally's calls: the same count per
syscall, of MADV_FREE, of EINVAL and of ENOMEM failures.
"""
import re

import mtest
from mtest import check, log, show

# 14:03:07.123456 1234/1240 madvise(0x7f3a1c000000, 64 KiB, MADV_FREE) = 0
CALL_RX = re.compile(r"^\S+ (\d+)/(\d+) (mmap|munmap|mremap|madvise|brk|mprotect)\((.*)\) = (.*)$")


def test(env):
    tally_out = env.path("tally.jsonl")
    cp = mtest.run([env.madvtrace, "--", env.wl("tally"), "-t", "2", "-n", "16",
                    "-o", tally_out])
    check(cp.returncode == 0, f"madvtrace -- tally failed: {show(cp)}")
    tally = mtest.read_tallies(tally_out)[0]
    calls = []
    for line in cp.stdout.splitlines():
        m = CALL_RX.match(line)
        if m and int(m.group(1)) == tally["pid"]:
            calls.append(m)
    check(calls, f"no strace-like call line for pid {tally['pid']}: {show(cp)}")

    frees = [m for m in calls if m.group(3) == "madvise" and "MADV_FREE" in m.group(4)]
    want = tally["advice"]["MADV_FREE"]
    check(len(frees) == want, f"{len(frees)} madvise(..., MADV_FREE) lines, tally made {want}")
    check(all(m.group(5) == "0" for m in frees), "a MADV_FREE line does not end in = 0")
    # each thread's window, from its begin marker line to its end marker line
    begin = f"madvise({tally['markers']['begin']:#x}, 0 B, MADV_NORMAL)"
    end = f"madvise({tally['markers']['end']:#x}, 0 B, MADV_NORMAL)"
    window = []
    for tid in tally["tids"]:
        mine = [m for m in calls if int(m.group(2)) == tid]
        texts = [f"{m.group(3)}({m.group(4)})" for m in mine]
        check(texts.count(begin) == 1 and texts.count(end) == 1,
              f"tid {tid}: {texts.count(begin)} begin and {texts.count(end)} end marker lines")
        window += mine[texts.index(begin):texts.index(end) + 1]
    einval = [m for m in window if m.group(5).startswith("-1 EINVAL")]
    want = tally["errors"]["EINVAL"]
    check(len(einval) == want, f"{len(einval)} '= -1 EINVAL' lines in tally's windows, tally "
          f"had {want} EINVAL")
    enomem = [m for m in window if m.group(3) == "mmap" and m.group(5).startswith("-1 ENOMEM")]
    check(len(enomem) == tally["errors"]["ENOMEM"],
          f"{len(enomem)} mmap '= -1 ENOMEM' lines, tally had {tally['errors']['ENOMEM']}")
    per_type = {}
    for m in window:
        per_type[m.group(3)] = per_type.get(m.group(3), 0) + 1
    for t, n in tally["counts"].items():
        check(per_type.get(t, 0) == n, f"{per_type.get(t, 0)} {t} lines in tally's windows, "
              f"tally made {n}")
    check(len(window) == sum(tally["counts"].values()),
          f"{len(window)} lines in tally's windows, tally made {sum(tally['counts'].values())}")
    log(f"live: {len(calls)} call lines, {len(window)} in tally's windows = its calls, "
        f"{len(frees)} MADV_FREE, {len(einval)} EINVAL; "
        f"e.g. {frees[0].group(0)!r}, {einval[0].group(0)!r}")
    # the summary on stderr counts calls per advice
    check("MADV_FREE" in cp.stderr, f"no per-advice summary on stderr: {cp.stderr[-1500:]}")

    # exit status of the command, as strace does
    for script, want in (("exit 7", 7), ("kill -TERM $$", 128 + 15)):
        cp = mtest.run([env.madvtrace, "-q", "--", "/bin/sh", "-c", script])
        check(cp.returncode == want, f"madvtrace -- sh -c '{script}': exit {cp.returncode}, "
              f"expected {want}: {show(cp)}")
    log("exit status: 7 passed through, SIGTERM as 143")


if __name__ == "__main__":
    mtest.main(test, __doc__)
