# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Shared helpers of the ptrace backend's integration tests (test_ptrace_*.py).

They test what a user without privileges gets, so madvtrace always runs
unprivileged: run by root (CI), every command runs as the user that
tests/setup-unpriv-user.sh creates (MT_TEST_USER, default mtuser), through
setpriv; run by anyone else, as that user. The binaries are copied into a
scratch directory that user owns, so the build directory's permissions (say,
under /root) do not matter.

Arguments: --madvtrace PATH --workloads DIR [--tally32 PATH] [--cases32 PATH].
Exit status: 0 pass, 1 fail (reason on stderr).
"""
import argparse
import json
import os
import pwd
import re
import signal
import subprocess
import sys
import tempfile
import time

import mtest
from mtest import check, fail, log

HERE = os.path.dirname(os.path.abspath(__file__))
USER = os.environ.get("MT_TEST_USER", "mtuser")


class PtraceEnv(mtest.Env):
    def __init__(self, args):
        super().__init__(args)
        # a name of our own: other suites may sweep theirs
        os.rmdir(self.tmp)
        self.tmp = tempfile.mkdtemp(prefix="mt-ptrace-")
        self.root = os.geteuid() == 0
        self.orig_madvtrace = self.madvtrace
        self.cases32 = os.path.abspath(args.cases32) if args.cases32 else None
        os.chmod(self.tmp, 0o755)
        if self.root:
            if subprocess.run(["id", "-u", USER], capture_output=True).returncode:
                setup = os.path.join(HERE, "..", "setup-unpriv-user.sh")
                cp = mtest.run([setup])
                check(cp.returncode == 0, f"cannot create user {USER}: {mtest.show(cp)}")
            pw = pwd.getpwnam(USER)
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            os.chown(self.tmp, self.uid, self.gid)
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        # copies that the unprivileged user can run, wherever the build is
        bindir, install = mtest.bin_dir(self.tmp)

        self.madvtrace = install(self.madvtrace)
        for name in ("tally", "churn", "ptrace_cases"):
            install(os.path.join(self.workloads, name))
        self.tally32 = install(self.tally32) if self.tally32 else None
        self.cases32 = install(self.cases32) if self.cases32 else None
        self.workloads = bindir
        self.who = USER if self.root else pwd.getpwuid(os.getuid()).pw_name

    def user(self, cmd):
        """cmd, run as the unprivileged user."""
        if not self.root:
            return list(cmd)
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups",
                "--reset-env", "--"] + list(cmd)

    def mt(self, *args):
        """A madvtrace command line with the ptrace backend, as the unprivileged user."""
        return self.user([self.madvtrace, "--backend", "ptrace"] + list(args))

    def cases(self, *args):
        return [self.wl("ptrace_cases")] + list(args)


def main(test, description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--workloads", required=True)
    ap.add_argument("--tally32")
    ap.add_argument("--cases32")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    if not os.access(args.madvtrace, os.X_OK):
        print(f"FAIL: {args.madvtrace} is not an executable: build it first", file=sys.stderr)
        sys.exit(1)
    mtest.run_test(lambda: PtraceEnv(args), test, args.keep,
                   lambda env: f"running madvtrace as {env.who} (uid {env.uid})")


# --- helpers ---

def read_ready(stream, timeout=10):
    """The pid of a "ready PID" line on stream (skipping other lines), or fail."""
    return mtest.read_ready(stream, timeout)[0]


def wait_attached(stream, timeout=10):
    """Wait for madvtrace's one line saying the attach is complete; return stderr so far."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = mtest.read_line_with_timeout(stream, max(0.1, deadline - time.monotonic()))
        if line is None:
            break
        seen.append(line)
        if "attached to" in line:
            return seen
    fail(f"madvtrace did not report the attach within {timeout} s; stderr: {seen!r}")


def case_result(text, case):
    """The JSON object ptrace_cases printed for case."""
    for obj in mtest.json_lines(text, "ptrace_cases output"):
        if obj.get("case") == case:
            return obj
    fail(f"ptrace_cases printed no result for {case}: {text[-500:]!r}")


def tasks(recs, event, pid=None):
    return [r for r in recs if r["type"] == "task" and r.get("event") == event
            and (pid is None or r["pid"] == pid)]


def markers(recs, base, pid=None, page=4096):
    """Marker numbers of the zero-length madvise calls at base + n * page, in order."""
    out = []
    for r in recs:
        if r["type"] != "madvise" or r.get("len") != 0 or (pid is not None and r["pid"] != pid):
            continue
        a = r.get("addr", 0)
        if a >= base and (a - base) % page == 0 and (a - base) // page < 1 << 24:
            out.append((a - base) // page)
    return out


def thread_states(pid):
    """{tid: state letter} of the live threads of pid."""
    states = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return states
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                s = f.read()
        except OSError:
            continue
        states[int(tid)] = s[s.rindex(")") + 2]
    return states


def tracer_of(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"^TracerPid:\s*(\d+)", f.read(), re.M)
    except OSError:
        return None
    return int(m.group(1)) if m else None


def stop(proc, timeout=10):
    """Kill a Popen that is still running (cleanup)."""
    if proc and proc.poll() is None:
        proc.kill()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
