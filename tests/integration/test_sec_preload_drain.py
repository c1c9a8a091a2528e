#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The preload backend and a program padded to 1 GiB (a copy of sleep, made a
sparse file), exec'd 8 times for 0.3 s each under `madvtrace
--backend=preload -f` (test_sec_bigexe.py does the same under bpf): each
exec's description (/proc/PID/exe, the ELF file, its environment) is read
on the info worker, never on the thread that drains the agents' socket
(docs/security.md, issue 13: no /proc or ELF work inside the
event-draining path).

  - the run takes under 20 s and madvtrace's peak RSS stays under 128 MiB;
  - every exec of the padded program is recorded and described (an exe=
    record names it for the pid that exec'd);
  - the oracle for which thread does the reading, strace -ff (one file per
    thread): madvtrace's main thread, the one that drains the socket,
    never reads a traced pid's /proc/PID/exe link, environ or maps, nor
    opens the padded program (it may pin it: an O_PATH open of
    /proc/PID/exe, which reads nothing), and another thread of madvtrace
    reads the padded program's path once per exec.

    test_sec_preload_drain.py --madvtrace PATH --workloads DIR
"""
import glob
import os
import re
import subprocess
import time

import mtest
from mtest import check, log
from test_sec_lib import padded_exe

RUNS = 8


def record(env, big, trace, strace_prefix=None):
    script = f"for i in $(seq {RUNS}); do {big} 0.3; done"
    cmd = [env.madvtrace, "--backend", "preload", "-q", "-f", "-o", trace, "--",
           "/bin/sh", "-c", script]
    if strace_prefix:
        cmd = ["strace", "-ff", "-qq", "-s", "4096",
               "-e", "trace=execve,clone,clone3,readlink,readlinkat,open,openat",
               "-o", strace_prefix] + cmd
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    err = p.stderr.read()
    check(os.waitstatus_to_exitcode(status) == 0, f"madvtrace: exit {status}: {err[-2000:]}")
    return wall, ru.ru_maxrss / 1024


def exec_pids(env, trace, big):
    recs = mtest.dump(env, trace)
    execs = {r["pid"] for r in recs if r["type"] == "task" and r.get("event") == "exec"
             and r.get("comm") == "big"}
    check(len(execs) == RUNS, f"{len(execs)} execs of big recorded, {RUNS} made")
    named = {r["pid"] for r in recs if r["type"] == "info" and r.get("key") == "exe"
             and r.get("value") == big}
    check(named == execs, f"exe={big} for pids {sorted(named)}, execs by {sorted(execs)}")
    return execs


def test(env):
    big = padded_exe(env.path("big"))

    trace = env.path("t.mtr")
    wall, rss = record(env, big, trace)
    check(wall < 20, f"{RUNS} execs of a 1 GiB padded program took {wall:.1f} s")
    check(rss < 128, f"madvtrace's peak RSS was {rss:.0f} MiB")
    exec_pids(env, trace, big)
    log(f"{RUNS} execs of a 1 GiB padded program under preload: {wall:.1f} s, madvtrace's "
        f"peak RSS {rss:.0f} MiB; each recorded and described")

    # which thread reads: strace -ff, a file per thread
    prefix = env.path("st")
    trace2 = env.path("t2.mtr")
    record(env, big, trace2, prefix)
    pids = exec_pids(env, trace2, big)
    main, threads = None, {}
    for f in glob.glob(prefix + ".*"):
        with open(f, errors="replace") as fh:
            text = fh.read()
        execve = re.search(r'^execve\("([^"]*)"', text, re.M)
        if execve and execve.group(1) == env.madvtrace:
            check(main is None, "two files of strace exec madvtrace")
            main = (f, text)
        elif not execve:
            threads[f] = text  # madvtrace's own threads exec nothing
    check(main, "strace wrote no file for madvtrace's main thread")
    # from its first thread on it drains (before, as root, it read the command's own file)
    lines = main[1].splitlines()
    first = next((i for i, ln in enumerate(lines) if "CLONE_THREAD" in ln), None)
    check(first is not None, "madvtrace's main thread started no thread")
    bad = [ln for ln in lines[first:]
           if re.search(r'"/proc/\d+/(environ|maps)"|"/proc/self/fd/\d+"|^readlink.*"/proc/\d+/',
                        ln)
           or (re.search(r'"/proc/\d+/exe"', ln) and "O_PATH" not in ln) or f'"{big}"' in ln]
    check(not bad, "madvtrace's draining thread read a program's description itself:\n" +
          "\n".join(bad[:5]))
    # the program's path, read from /proc/PID/exe or from the pinned descriptor
    read_by = {}
    for f, text in threads.items():
        n = len(re.findall(r'^readlink(?:at)?\(.*, "%s", \d+\) = ' % re.escape(big), text,
                           re.M))
        if n:
            read_by[os.path.basename(f)] = n
    check(sum(read_by.values()) >= len(pids),
          f"madvtrace's other threads read the program's path {sum(read_by.values())} "
          f"times, for {len(pids)} execs")
    log(f"under strace: the main thread read no /proc/PID/exe link, environ or maps nor "
        f"the program; thread(s) {sorted(read_by)} read its path {sum(read_by.values())} "
        f"times for {len(pids)} execs")


if __name__ == "__main__":
    mtest.main(test, __doc__)
