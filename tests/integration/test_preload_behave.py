#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
A program behaves the same under the agent as without it: results and errno
of failing and succeeding calls (and no record for the calls glibc refuses
without making them); children by posix_spawn, system(), popen(), fork and
vfork with their exit statuses; threads with every signal blocked (glibc
blocks them all around a thread's exit, where it calls madvise: a trap then
would kill the process); signals, exec from a thread, fork and vfork,
a program's own seccomp filter and 64 threads churning short threads
(ptrace_cases); all descriptors closed; exec with an environment of its own;
exit statuses, a signal death included. Each run is compared with the same
program run without the agent, and the recording with what the program saw.
"""
import mtest
import preload_env
from mtest import check, log, show

MARK = 0x5A200000
# what differs from run to run: process ids, addresses, how many threads a second makes
VOLATILE = {"pid", "child", "before", "tid", "blocks", "short_threads", "calls"}


def norm(text, what):
    return [{k: v for k, v in o.items() if k not in VOLATILE}
            for o in preload_env.json_objs(text, what)]


def both(env, cmd, name, follow=True, timeout=120):
    """Run cmd without, then with the agent; same exit status and output; the records."""
    plain = mtest.run(env.user(cmd), timeout=timeout)
    trace = env.path(f"{name}.mtr")
    traced = mtest.run(env.mt("-q", *(["-f"] if follow else []), "-o", trace, "--", *cmd),
                       timeout=timeout)
    check(traced.returncode == plain.returncode,
          f"{name}: exit status {traced.returncode} under the agent, {plain.returncode} "
          f"without:\n{show(traced)}")
    a, b = norm(plain.stdout, name), norm(traced.stdout, name)
    check(a == b, f"{name}: the program saw\n  {a}\nwithout the agent and\n  {b}\nunder it")
    check("madvtrace: pid" not in traced.stderr, f"{name}: the agent complained: {traced.stderr}")
    return plain, mtest.dump(env, trace)


def errno_case(env):
    plain, recs = both(env, [env.wl("preload_cases"), "errno"], "errno")
    seen = {o["call"]: o for o in preload_env.json_objs(plain.stdout, "errno")}
    calls = preload_env.calls(recs)

    def rec(type_, **kw):
        return [r for r in calls if r["type"] == type_ and all(r.get(k) == v for k, v in kw.items())]

    # what the program saw failing, recorded with the same error as -errno
    expect = (("mmap zero length", "mmap", {"len": 0}),
              ("mmap bad fd", "mmap", {"fd": 12345}),
              ("munmap unaligned", "munmap", {}),
              ("mprotect unaligned", "mprotect", {}),
              ("mremap zero length", "mremap", {"new_len": 0}))
    for call, type_, kw in expect:
        want = -seen[call]["errno"]
        got = [r for r in rec(type_, **kw) if r["ret"] == want]
        check(got, f"{call}: no {type_} record with ret {want} ({seen[call]})")
    bad = [r for r in rec("madvise", advice_n=1234) if r.get("ret") == -seen["madvise bad advice"]["errno"]]
    check(len(bad) == 3, f"expected 3 madvise records with the bad advice (madvise, "
          f"posix_madvise, syscall(2)), got {len(bad)}")
    pm = [r for r in calls if r["type"] == "madvise" and r.get("process_madvise")]
    check(len(pm) == 1 and pm[0]["ret"] == -seen["process_madvise bad pidfd"]["errno"],
          f"process_madvise with a bad pidfd: {pm}")
    # glibc fails these without a call: no record either
    check(not rec("mmap", off=1), "a record for the mmap glibc refused (unaligned offset)")
    check(not rec("mremap", flags=99), "a record for the mremap glibc refused (bad flags)")
    check(seen["sbrk huge"]["ret"] == -1 and seen["malloc after sbrk"]["ret"] == 1,
          f"sbrk/malloc: {seen['sbrk huge']} {seen['malloc after sbrk']}")
    brks = rec("brk")
    check(len(brks) >= 4, f"expected the brk calls behind sbrk, got {len(brks)}")
    log(f"errno: {len(seen)} outcomes as without the agent; failures recorded as -errno, "
        f"glibc's own refusals not recorded")


def simple_cases(env):
    for case in (["spawn"], ["sigblock", "8"]):
        _, recs = both(env, [env.wl("preload_cases")] + case, case[0])
        log(f"{case[0]}: same statuses and output; {len(preload_env.calls(recs))} calls recorded")

    _, recs = both(env, [env.wl("preload_cases"), "closefds"], "closefds")
    after = [r for r in preload_env.calls(recs) if r.get("addr") in (MARK, MARK + 2 * 4096)]
    check(len(after) == 3, f"closefds: the calls after every descriptor was closed are not all "
          f"recorded: {after}")
    log("closefds: closing every descriptor leaves the agent's open; calls after it recorded")

    _, recs = both(env, [env.wl("preload_cases"), "execenv"], "execenv")
    execs = preload_env.tasks(recs, "exec")
    check(len(execs) == 2 and execs[0]["pid"] == execs[1]["pid"],
          f"execenv: expected two exec records of one process: {execs}")
    marker = [r for r in preload_env.calls(recs) if r.get("addr") == MARK + 3 * 4096]
    check(len(marker) == 1, "execenv: the exec'd program's call is not recorded")
    log("execenv: exec with an environment of its own is still traced")


def signal_handlers(env):
    """Calls in signal handlers that interrupt calls: each recorded once, none lost."""
    trace = env.path("sighook.mtr")
    cp = mtest.run(env.mt("-q", "-o", trace, "--", env.wl("preload_cases"), "sighook", "100000"))
    check(cp.returncode == 0, f"preload_cases sighook under the agent: {show(cp)}")
    out = preload_env.json_objs(cp.stdout, "sighook")[0]
    check(out["handled"] > 100, f"too few signals handled to test anything: {out}")
    recs = mtest.dump(env, trace)
    mtest.check_no_lost(recs)
    calls = preload_env.calls(recs)
    for size, want, who in ((4096, out["loop"], "loop"), (8192, out["handled"], "handler")):
        for type_ in ("mmap", "munmap"):
            got = sum(1 for r in calls if r["type"] == type_ and r["len"] == size
                      and (type_ == "munmap" or r["prot"] == 1))
            check(got == want, f"sighook: {got} {type_} records of the {who}'s {size}-byte "
                  f"pages, it made {want}")
    log(f"signals: {out['handled']} handlers mapping and unmapping inside {out['loop']} "
        f"interrupted mmap/munmap pairs, every call recorded once")


def ptrace_cases(env):
    for case in (["signals", "200"], ["execthread"], ["fork"], ["vfork"], ["ownfilter"]):
        _, recs = both(env, [env.wl("ptrace_cases")] + case, case[0])
        log(f"ptrace_cases {case[0]}: same outcome under the agent")
    churn = env.path("churn.txt")
    plain, recs = both(env, [env.wl("ptrace_cases"), "churn", "1", churn], "churn", timeout=300)
    pid = preload_env.tasks(recs, "exec")[0]["pid"]
    clones = len(preload_env.tasks(recs, "clone", pid))
    exits = len(preload_env.tasks(recs, "thread_exit", pid))
    check(clones > 64 and clones == exits,
          f"churn: {clones} clone and {exits} thread_exit records")
    mtest.check_no_lost(recs)
    log(f"ptrace_cases churn: {clones} threads, each with its clone and thread_exit record")


def exits(env):
    for script, rc in (("exit 3", 3), ("kill -KILL $$", 128 + 9)):
        trace = env.path("exit.mtr")
        cp = mtest.run(env.mt("-q", "-o", trace, "--", "/bin/sh", "-c", script))
        check(cp.returncode == rc, f"sh -c '{script}': madvtrace exited {cp.returncode}, "
              f"not {rc}: {show(cp)}")
        recs = mtest.dump(env, trace)
        ex = preload_env.tasks(recs, "exit")
        status = 3 << 8 if rc == 3 else 9
        check(len(ex) == 1 and ex[0]["code"] == status,
              f"sh -c '{script}': expected one exit record with wait status {status}: {ex}")
    log("exit statuses passed on; a death by signal gets its exit record from madvtrace")


def test(env):
    errno_case(env)
    simple_cases(env)
    signal_handlers(env)
    ptrace_cases(env)
    exits(env)


if __name__ == "__main__":
    preload_env.main(test, __doc__)
