# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Running one test on every backend (test_loss, test_rss_kinds, test_process_madvise,
test_strace_threads).

bpf runs as root (it loads BPF programs); ptrace and preload run as the
unprivileged user tests/setup-unpriv-user.sh creates (MT_TEST_USER, default
mtuser), as their own tests do (ptrace_env.py, preload_env.py): madvtrace,
the agent and the workloads are copied into a scratch directory that user
owns. Needs root (bpf, and setpriv to the user).

Arguments: --madvtrace PATH --agent PATH --workloads DIR [--backends LIST].
"""
import argparse
import os
import pwd
import signal
import subprocess
import sys
import tempfile
import time

import mtest
from mtest import check, fail

HERE = os.path.dirname(os.path.abspath(__file__))
USER = os.environ.get("MT_TEST_USER", "mtuser")
WORKLOADS = ("tally", "churn", "burst", "memkinds", "rssdrop", "ustack", "libustacklib.so")
ALL = ("bpf", "ptrace", "preload")


class MultiEnv(mtest.Env):
    def __init__(self, args):
        super().__init__(args)
        os.rmdir(self.tmp)
        self.tmp = tempfile.mkdtemp(prefix="mt-multi-")
        os.chmod(self.tmp, 0o755)
        self.backends = args.backends.split(",") if args.backends else list(ALL)
        if subprocess.run(["id", "-u", USER], capture_output=True).returncode:
            cp = mtest.run([os.path.join(HERE, "..", "setup-unpriv-user.sh")])
            check(cp.returncode == 0, f"cannot create user {USER}: {mtest.show(cp)}")
        pw = pwd.getpwnam(USER)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        os.chown(self.tmp, self.uid, self.gid)
        bindir, install = mtest.bin_dir(self.tmp)

        self.madvtrace = install(self.madvtrace)
        self.agent = install(os.path.abspath(args.agent))
        for name in WORKLOADS:
            install(os.path.join(self.workloads, name))
        self.workloads = bindir
        self.out = os.path.join(self.tmp, "out")
        os.mkdir(self.out)
        os.chmod(self.out, 0o777)

    def path(self, name):
        return os.path.join(self.out, name)

    def user(self, cmd, env=None):
        """cmd as the unprivileged user, with env (a dict of extra variables) set."""
        extra = [f"{k}={v}" for k, v in (env or {}).items()]
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups",
                "--reset-env", "--", "env", f"PATH={os.environ.get('PATH', '/usr/bin:/bin')}"] \
            + extra + list(cmd)

    def mt(self, backend, *args, env=None):
        """madvtrace with backend: bpf as root, the others as the unprivileged user."""
        if backend == "bpf":
            extra = [f"{k}={v}" for k, v in (env or {}).items()]
            return (["env"] + extra if extra else []) + [self.madvtrace] + list(args)
        return self.user([self.madvtrace, "--backend", backend] + list(args), env)


def main(test, description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--workloads", required=True)
    ap.add_argument("--tally32")
    ap.add_argument("--backends", help=f"comma-separated, of {','.join(ALL)} (default: all)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    if os.geteuid() != 0:
        mtest.skip("needs root (the bpf backend, and setpriv to the unprivileged user)")
    for p in [args.madvtrace, args.agent] + [os.path.join(args.workloads, w) for w in WORKLOADS]:
        if not os.path.exists(p):
            print(f"FAIL: {p} is missing: build it first", file=sys.stderr)
            sys.exit(1)
    mtest.run_test(lambda: MultiEnv(args), test, args.keep,
                   lambda env: f"backends {','.join(env.backends)}; ptrace and preload as {USER}")


# --- helpers ---

read_ready = mtest.read_ready


def wait_line(stream, want, timeout):
    """Read lines until one equals want; the lines before it. Fails on timeout."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = mtest.read_line_with_timeout(stream, max(0.1, deadline - time.monotonic()))
        if line is None:
            break
        if line.strip() == want:
            return seen
        seen.append(line)
    fail(f"no {want!r} line within {timeout} s; got {seen[-5:]!r}")


def kill_all(*procs):
    """Cleanup: continue (a recorder may be stopped) and kill what still runs."""
    for p in procs:
        if p is not None and p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)
                p.kill()
                p.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                pass


def rss_before(recs, pid, t_ns):
    """The last rss record of pid stamped before t_ns (records sorted by time)."""
    best = None
    for r in recs:
        if r["type"] == "rss" and r["pid"] == pid and r["t_ns"] <= t_ns:
            if best is None or r["t_ns"] >= best["t_ns"]:
                best = r
    return best
