#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The recorder's privilege drop (docs/security.md, "What the recorder keeps"),
read by the kernel's word: /proc/PID/status of the running recorder, each of
its threads, for the bpf, ptrace and preload backends and the exporter
(--metrics), each run as root under sudo (SUDO_UID of mtuser,
tests/setup-unpriv-user.sh) and as root directly:

  - Uid and Gid (real, effective, saved, fs): mtuser's under sudo (Groups:
    mtuser's login groups), nobody's run directly (no groups);
  - CapEff = CapPrm = CapBnd = CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH (plus
    CAP_KILL for the ptrace backend signalling a command of root), CapInh and
    CapAmb empty, NoNewPrivs 1;
  - /proc/PID/mem of the recorder is root's (it is not dumpable: the user it
    became cannot ptrace the capabilities it kept);
  - what it does after the drop still works: the command's calls are
    recorded (ptrace: its tracees stay traced), its RSS at the end is read
    from /proc (root's command read by nobody), a scrape of the exporter
    has the watched process's RSS as /proc gives it.

    test_sec_privdrop.py --madvtrace PATH --workloads DIR
"""
import os
import pwd
import socket
import subprocess
import time
import urllib.request

import mtest
from mtest import check, log, show

USER = "mtuser"
CAP_DAC_READ_SEARCH, CAP_KILL, CAP_SYS_PTRACE = 2, 5, 19
KEPT = (1 << CAP_SYS_PTRACE) | (1 << CAP_DAC_READ_SEARCH)


def status(pid):
    """Every thread's /proc status as {tid: {key: value}}."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                out[int(tid)] = dict(l.rstrip("\n").split(":\t", 1) for l in f if ":\t" in l)
        except FileNotFoundError:
            pass
    return out


def wait_dropped(proc, pid, timeout=20):
    """The recorder's status once its main thread has no_new_privs (the drop's last step)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            mtest.fail(f"the recorder exited ({proc.returncode}) before its drop was seen: "
                       f"{proc.stderr.read()[-2000:]}")
        st = status(pid)
        if st.get(pid, {}).get("NoNewPrivs") == "1":
            time.sleep(0.3)  # its threads start right after the drop
            return status(pid)
        time.sleep(0.05)
    mtest.fail(f"pid {pid} never set no_new_privs within {timeout} s: {status(pid).get(pid)}")


def check_creds(what, st, uid, gid, groups, caps):
    for tid, s in st.items():
        where = f"{what}, thread {tid}"
        check(s["Uid"].split() == [str(uid)] * 4, f"{where}: Uid {s['Uid']}, expected {uid} x4")
        check(s["Gid"].split() == [str(gid)] * 4, f"{where}: Gid {s['Gid']}, expected {gid} x4")
        check(sorted(int(g) for g in s["Groups"].split()) == sorted(groups),
              f"{where}: Groups {s['Groups']!r}, expected {sorted(groups)}")
        for k in ("CapEff", "CapPrm", "CapBnd"):
            check(int(s[k], 16) == caps, f"{where}: {k} {s[k]}, expected {caps:016x}")
        for k in ("CapInh", "CapAmb"):
            check(int(s[k], 16) == 0, f"{where}: {k} {s[k]}, expected none")
        check(s["NoNewPrivs"] == "1", f"{where}: NoNewPrivs {s['NoNewPrivs']}")


def recorder(env, backend, sudo, out, uid, gid, groups, caps, cmd_uid):
    what = f"{backend}, {'sudo ' + USER if sudo else 'root directly'}"
    trace = os.path.join(out, f"{backend}-{'sudo' if sudo else 'root'}.mtr")
    e = dict(os.environ)
    for k in ("SUDO_UID", "SUDO_GID", "SUDO_USER"):
        e.pop(k, None)
    if sudo:
        e.update(SUDO_UID=str(uid), SUDO_GID=str(gid), SUDO_USER=USER)
    # the command lives past the drop: its calls after it must be recorded
    p = subprocess.Popen([env.madvtrace, "-q", "--backend", backend, "-o", trace, "--",
                          "/bin/sh", "-c", "sleep 2; exec /bin/sleep 1"], env=e,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        st = wait_dropped(p, p.pid)
        check_creds(what, st, uid, gid, groups, caps)
        # /proc/PID/mem is root's for a process that is not dumpable (the directory never is)
        owner = os.stat(f"/proc/{p.pid}/mem").st_uid
        check(owner == 0, f"{what}: /proc/{p.pid}/mem belongs to {owner}: the recorder is "
              f"dumpable, its user could ptrace what it kept")
        out_, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(p.returncode == 0, f"{what}: madvtrace exit {p.returncode}: {err[-2000:]}")
    recs = mtest.dump(env, trace)
    tasks = [r for r in recs if r["type"] == "task"]
    execs = [r for r in tasks if r.get("event") == "exec"]
    # the exec of /bin/sleep happens 2 s after the drop
    check(len(execs) >= 1 and any("sleep" in str(r.get("comm", "")) for r in execs),
          f"{what}: the command's exec of sleep after the drop is not recorded: "
          f"{[mtest.brief(r) for r in tasks]}")
    calls = [r for r in recs if r["type"] in ("mmap", "munmap", "mprotect", "brk")
             and r["t_ns"] > execs[-1]["t_ns"]]
    check(calls, f"{what}: no call of sleep recorded after its exec")
    rss = [r for r in recs if r["type"] == "rss" and r["t_ns"] >= execs[-1]["t_ns"]]
    check(rss and any(int(r.get("anon", 0)) + int(r.get("file", 0)) > 0 for r in rss),
          f"{what}: no RSS of the command (uid {cmd_uid}) read from /proc after the drop: "
          f"{[mtest.brief(r) for r in rss]}")
    log(f"{what}: uid {uid}, caps {caps:#x}, {len(calls)} calls of sleep and {len(rss)} rss "
        f"records after the drop")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exporter(env, sudo, uid, gid, groups):
    what = f"--metrics, {'sudo ' + USER if sudo else 'root directly'}"
    e = dict(os.environ)
    for k in ("SUDO_UID", "SUDO_GID", "SUDO_USER"):
        e.pop(k, None)
    if sudo:
        e.update(SUDO_UID=str(uid), SUDO_GID=str(gid), SUDO_USER=USER)
    # a process of root's: the exporter, no longer root, reads its /proc
    target = subprocess.Popen(["/bin/sleep", "60"])
    port = free_port()
    p = subprocess.Popen([env.madvtrace, "--metrics", f"127.0.0.1:{port}", "-p", str(target.pid)],
                         env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        st = wait_dropped(p, p.pid)
        check_creds(what, st, uid, gid, groups, KEPT)
        body, deadline = "", time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics",
                                              timeout=5).read().decode()
            except OSError:
                time.sleep(0.2)
                continue
            if f'pid="{target.pid}"' in body and "madvtrace_rss_bytes" in body:
                break
            time.sleep(0.3)
        with open(f"/proc/{target.pid}/status") as f:
            vmrss = [int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS:")][0]
        series = [l for l in body.splitlines()
                  if l.startswith("madvtrace_rss_bytes{") and f'pid="{target.pid}"' in l]
        total = sum(float(l.rsplit(None, 1)[1]) for l in series)
        # sleep's RSS does not move: what the exporter read is what /proc says
        check(series and abs(total - vmrss) <= 64 * 1024,
              f"{what}: RSS of pid {target.pid} (root's) after the drop: {series!r}, /proc "
              f"says VmRSS {vmrss}")
        log(f"{what}: uid {uid}, caps {KEPT:#x}; RSS of root's pid {target.pid} "
            f"{int(total)} B (VmRSS {vmrss} B)")
    finally:
        p.terminate()
        try:
            p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
        target.kill()
        target.wait()


def test(env):
    cp = mtest.run([os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                 "setup-unpriv-user.sh")])
    check(cp.returncode == 0, f"setup-unpriv-user.sh: {show(cp)}")
    user = pwd.getpwnam(USER)
    nobody = pwd.getpwnam("nobody")
    user_groups = os.getgrouplist(USER, user.pw_gid)
    os.chmod(env.tmp, 0o755)
    out = env.path("out")
    os.mkdir(out)
    os.chown(out, user.pw_uid, user.pw_gid)
    os.chmod(out, 0o777)  # nobody's traces too (root directly opens -o as itself)
    for backend in ("bpf", "ptrace", "preload"):
        # under sudo the command runs as the user the recorder becomes
        recorder(env, backend, True, out, user.pw_uid, user.pw_gid, user_groups, KEPT,
                 user.pw_uid)
        # run directly the command is root's: the ptrace backend may have to signal it
        caps = KEPT | (1 << CAP_KILL) if backend == "ptrace" else KEPT
        recorder(env, backend, False, out, nobody.pw_uid, nobody.pw_gid, [], caps, 0)
    exporter(env, True, user.pw_uid, user.pw_gid, user_groups)
    exporter(env, False, nobody.pw_uid, nobody.pw_gid, [])


if __name__ == "__main__":
    mtest.main(test, __doc__)
