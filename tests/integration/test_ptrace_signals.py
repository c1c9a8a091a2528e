#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The ptrace backend where tracers go wrong, checked by the traced program's own
account (ptrace_cases): signals handled exactly once (SIGUSR1, a SIGSEGV from a
PROT_NONE page), SIGSTOP/SIGCONT as if untraced, a process stopped before the
attach staying stopped after the detach, stop requests in launch mode, the
tracee dying with a SIGKILLed tracer, exec from a non-leader thread, fork and
vfork children with and without -f, a tracee with its own seccomp filter, and
the i386 old mmap call.
"""
import os
import signal
import subprocess
import threading
import time

import mtest
import ptrace_env
from mtest import check, fail, log, show

MARK64 = 0x100000000000
MARK32 = 0x60000000
EXEC_MARK = 0x5a2e0000


class Lines:
    """Collects a stream's lines in a thread."""

    def __init__(self, stream):
        self.lines = []
        self.stream = stream
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        for line in iter(self.stream.readline, b""):
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    def ticks(self):
        t = [l for l in self.lines if l.startswith("tick ")]
        return int(t[-1].split()[1]) if t else 0

    def text(self):
        return "\n".join(self.lines)


def assert_frozen(pid, out, what):
    """pid is stopped (T, or t while its tracer holds it) and makes no progress."""
    time.sleep(0.3)
    before = out.ticks()
    time.sleep(0.5)
    states = set(ptrace_env.thread_states(pid).values())
    check(states and states <= {"T", "t"}, f"{what}: threads in states {states}, not stopped")
    check(out.ticks() == before, f"{what}: ticks went on from {before} to {out.ticks()}")


def assert_running(out, what):
    before = out.ticks()
    time.sleep(0.4)
    check(out.ticks() > before, f"{what}: no progress ({before} ticks)")


def launch_simple(env, name, args, extra=(), rc=0):
    trace = env.path(f"{name}.mtr")
    cp = mtest.run(env.mt("-q", "-o", trace, *extra, "--", *args))
    check(cp.returncode == rc, f"madvtrace -- {' '.join(args[1:])}: {show(cp)}")
    return cp, mtest.dump(env, trace)


def signals_launch(env):
    cp, _ = launch_simple(env, "signals", env.cases("signals", "5"))
    r = ptrace_env.case_result(cp.stdout, "signals")
    check(r["usr1"] == 5 and r["segv"] == 1, f"signals not handled exactly once: {r}")
    log(f"launch: SIGUSR1 x5 and a SIGSEGV from PROT_NONE each handled once: {r}")


def wait_launch(env):
    trace = env.path("wait.mtr")
    mt = subprocess.Popen(env.mt("-q", "-o", trace, "--", *env.cases("wait", "60")),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    try:
        pid = ptrace_env.read_ready(mt.stderr)
        out = Lines(mt.stdout)
        assert_running(out, "launched")
        for _ in range(3):
            os.kill(pid, signal.SIGUSR1)
            time.sleep(0.05)
        os.kill(pid, signal.SIGUSR2)
        os.kill(pid, signal.SIGSTOP)
        assert_frozen(pid, out, "after SIGSTOP")
        os.kill(pid, signal.SIGCONT)
        assert_running(out, "after SIGCONT")
        os.kill(pid, signal.SIGTERM)
        rc = mt.wait(timeout=20)
        out.t.join(5)
    finally:
        ptrace_env.stop(mt)
    check(rc == 0, f"madvtrace exited with {rc}")
    r = ptrace_env.case_result(out.text(), "wait")
    want = {"usr1": 3, "usr2": 1, "segv": 1, "cont": 1, "term": 1, "int": 0, "failed": 0}
    check({k: r[k] for k in want} == want, f"launch: signals seen {r}, want {want}")
    log(f"launch: SIGUSR1 x3, SIGSEGV, SIGSTOP/SIGCONT, SIGTERM each seen once: {r}")


def wait_attach(env):
    trace = env.path("wait-attach.mtr")
    w = subprocess.Popen(env.user(env.cases("wait", "60")), stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    mt = None
    try:
        pid = ptrace_env.read_ready(w.stderr)
        out = Lines(w.stdout)
        assert_running(out, "before the attach")
        # stopped before we attach: it must stay stopped through the attach
        os.kill(pid, signal.SIGSTOP)
        assert_frozen(pid, out, "stopped before the attach")
        mt = subprocess.Popen(env.mt("-q", "-o", trace, "-p", str(pid)),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        ptrace_env.wait_attached(mt.stderr)
        assert_frozen(pid, out, "stopped, attached")
        os.kill(pid, signal.SIGCONT)
        assert_running(out, "attached, after SIGCONT")
        for _ in range(3):
            os.kill(pid, signal.SIGUSR1)
            time.sleep(0.05)
        os.kill(pid, signal.SIGUSR2)
        time.sleep(0.2)
        # stopped while traced: still stopped once we are gone
        os.kill(pid, signal.SIGSTOP)
        assert_frozen(pid, out, "attached, after SIGSTOP")
        mt.send_signal(signal.SIGINT)
        rc = mt.wait(timeout=20)
        check(rc == 0, f"madvtrace -p exited with {rc} on SIGINT: {mt.stderr.read()}")
        check(ptrace_env.tracer_of(pid) == 0, "still traced after madvtrace left")
        assert_frozen(pid, out, "stopped when madvtrace detached")
        os.kill(pid, signal.SIGCONT)
        assert_running(out, "detached, after SIGCONT")
        os.kill(pid, signal.SIGTERM)
        check(w.wait(timeout=20) == 0, f"the workload exited with {w.returncode}")
        out.t.join(5)
    finally:
        ptrace_env.stop(w)
        ptrace_env.stop(mt)
    r = ptrace_env.case_result(out.text(), "wait")
    want = {"usr1": 3, "usr2": 1, "segv": 1, "cont": 2, "term": 1, "failed": 0}
    check({k: r[k] for k in want} == want, f"attach: signals seen {r}, want {want}")
    recs = mtest.dump(env, trace)
    check(ptrace_env.tasks(recs, "detach", pid), "no detach record")
    log(f"attach: stopped before and at the detach stays stopped; signals each seen once: {r}")


def stop_requests(env):
    """Launch mode: the command hears of a stop request once (it cannot run untraced)."""
    cases = {
        # Ctrl-C on a terminal: the whole process group gets SIGINT, the command its own
        "ctrl-c": ({"int": 1, "term": 0}, lambda mt, pid: os.killpg(mt.pid, signal.SIGINT), ()),
        # madvtrace alone told to stop: the command gets SIGTERM from it
        "sigint": ({"int": 0, "term": 1}, lambda mt, pid: mt.send_signal(signal.SIGINT), ()),
        "duration": ({"int": 0, "term": 1}, None, ("-d", "1")),
    }
    for name, (want, act, extra) in cases.items():
        trace = env.path(f"stop-{name}.mtr")
        mt = subprocess.Popen(env.mt("-q", "-o", trace, *extra, "--", *env.cases("wait", "60")),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, start_new_session=True)
        try:
            pid = ptrace_env.read_ready(mt.stderr)
            out = Lines(mt.stdout)
            t0 = time.monotonic()
            time.sleep(0.3)
            if act:
                act(mt, pid)
            rc = mt.wait(timeout=20)
            took = time.monotonic() - t0
            out.t.join(5)
        finally:
            ptrace_env.stop(mt)
        check(rc == 0, f"{name}: madvtrace exited with {rc}")
        r = ptrace_env.case_result(out.text(), "wait")
        check({k: r[k] for k in want} == {k: want[k] for k in want},
              f"{name}: the command saw {r}, want {want}")
        check(took < 10, f"{name}: took {took:.1f} s")
        log(f"launch, stop by {name}: the command saw {want} and exited; {took:.1f} s")


def tracer_killed(env):
    mt = subprocess.Popen(env.mt("-q", "-o", env.path("killed.mtr"), "--",
                                 *env.cases("wait", "60")),
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    try:
        pid = ptrace_env.read_ready(mt.stderr)
        mt.kill()
        mt.wait(10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and mtest.proc_state(pid) not in (None, "Z"):
            time.sleep(0.05)
        state = mtest.proc_state(pid)
    finally:
        ptrace_env.stop(mt)
    if state not in (None, "Z"):
        os.kill(pid, signal.SIGKILL)
        fail(f"the tracee {pid} outlived its SIGKILLed tracer (state {state})")
    log("launch: SIGKILL to madvtrace kills the tracee too (PTRACE_O_EXITKILL)")


def exec_thread(env):
    cp, recs = launch_simple(env, "execthread", env.cases("execthread"))
    r = ptrace_env.case_result(cp.stdout, "exec-done")
    pid = r["pid"]
    execs = ptrace_env.tasks(recs, "exec", pid)
    # the launch's own exec, then the thread's, which took over the leader's pid
    check(len(execs) == 2, f"expected 2 exec records for {pid}: {execs}")
    check(execs[1]["other_pid"] != pid and execs[1]["tid"] == pid,
          f"the second exec should come from another thread and end as {pid}: {execs[1]}")
    m = [x for x in recs if x["type"] == "madvise" and x.get("addr") == EXEC_MARK]
    check(len(m) == 1 and m[0]["tid"] == pid and m[0]["ret"] == 0,
          f"the new image's marker call: {m}")
    check(m[0]["t_ns"] >= execs[1]["t_ns"], "the marker call is recorded before the exec")
    ex = ptrace_env.tasks(recs, "exit", pid)
    check(len(ex) == 1 and ex[0]["code"] == 0, f"exit records: {ex}")
    log(f"exec from thread {execs[1]['other_pid']}: recorded as pid {pid} going on")


def forks(env):
    for kind in ("fork", "vfork"):
        for follow in (False, True):
            extra = ("-f",) if follow else ()
            cp, recs = launch_simple(env, f"{kind}{'-f' if follow else ''}", env.cases(kind),
                                     extra)
            r = ptrace_env.case_result(cp.stdout, kind)
            pid, child = r["pid"], r["child"]
            check(r["child_status"] == 0, f"{kind}: the child failed ({r})")
            f = ptrace_env.tasks(recs, "fork", pid)
            check(len(f) == 1 and f[0]["other_pid"] == child, f"{kind}: fork records {f}")
            check(ptrace_env.markers(recs, MARK64, pid) == [200], f"{kind}: parent markers")
            got = ptrace_env.markers(recs, MARK64, child)
            check(got == ([100, 101] if follow else []),
                  f"{kind}{' -f' if follow else ''}: child markers {got}")
            if follow:
                ex = ptrace_env.tasks(recs, "exit", child)
                check(len(ex) == 1 and ex[0]["code"] == 0, f"{kind} -f: child exit {ex}")
            log(f"{kind}{' with -f' if follow else ' without -f'}: the child's calls "
                f"{'recorded' if follow else 'ran (not recorded)'}, parent's recorded")


def own_filter(env):
    cp, recs = launch_simple(env, "ownfilter", env.cases("ownfilter"))
    r = ptrace_env.case_result(cp.stdout, "ownfilter")
    pid = [x for x in recs if x["type"] == "task" and x.get("event") == "exit"][0]["pid"]
    # its own filter answers madvise with EPERM before ours can trace it: not recorded
    check(ptrace_env.markers(recs, MARK64, pid) == [300], "own filter: markers recorded")
    check(r["after"] == -1 and r["errno"] == 1, f"own filter: {r}")
    last = [x for x in recs if x["type"] == "mmap" and x["pid"] == pid][-1]
    check(last["len"] == 4096 and last["ret"] > 0, f"the mmap after its filter: {last}")
    log("own seccomp filter: calls it refuses fail unrecorded, the others are recorded")


def old_mmap(env):
    if not env.cases32:
        log("no 32-bit build (gcc-multilib): old_mmap skipped")
        return
    trace = env.path("oldmmap.mtr")
    cp = mtest.run(env.mt("-q", "-o", trace, "--", env.cases32, "oldmmap"))
    check(cp.returncode == 0, f"oldmmap: {show(cp)}")
    r = ptrace_env.case_result(cp.stdout, "oldmmap")
    recs = mtest.dump(env, trace)
    good = [x for x in recs if x["type"] == "mmap" and x.get("ret") == r["ret"]]
    check(good and good[-1]["len"] == r["len"] and mtest.abi_name(good[-1].get("abi")) == "i386",
          f"old mmap with its block: {good}")
    bad = [x for x in recs if x["type"] == "mmap" and x.get("args_unread")]
    check(len(bad) == 1 and bad[0]["ret"] == -r["bad_errno"], f"unreadable block: {bad}")
    log("i386 old mmap: arguments read from its block; an unreadable block flagged")


def test(env):
    signals_launch(env)
    wait_launch(env)
    wait_attach(env)
    stop_requests(env)
    tracer_killed(env)
    exec_thread(env)
    forks(env)
    own_filter(env)
    old_mmap(env)


if __name__ == "__main__":
    ptrace_env.main(test, __doc__)
