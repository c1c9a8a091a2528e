# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Shared helpers of the preload backend's integration tests (test_preload_*.py).

The preload backend is for users without privileges, so madvtrace and the
programs run unprivileged: run by root (CI), as the user that
tests/setup-unpriv-user.sh creates (MT_TEST_USER, default mtuser), through
setpriv; run by anyone else, as that user. madvtrace, the agent (side by side,
where madvtrace looks for it) and the workloads are copied into a scratch
directory that user owns. Only the comparison with the bpf backend needs root;
it is left out otherwise.

Arguments: --madvtrace PATH --agent PATH --workloads DIR [--static PATH] [--tally32 PATH].
Exit status: 0 pass, 1 fail (reason on stderr).
"""
import argparse
import json
import os
import pwd
import subprocess
import sys
import tempfile

import mtest
from mtest import check, fail, log

HERE = os.path.dirname(os.path.abspath(__file__))
USER = os.environ.get("MT_TEST_USER", "mtuser")
WORKLOADS = ("tally", "churn", "ptrace_cases", "preload_cases")


class PreloadEnv(mtest.Env):
    def __init__(self, args):
        super().__init__(args)
        os.rmdir(self.tmp)
        self.tmp = tempfile.mkdtemp(prefix="mt-preload-")
        os.chmod(self.tmp, 0o755)
        self.root = os.geteuid() == 0
        self.orig_madvtrace = self.madvtrace
        self.orig_workloads = self.workloads
        if self.root:
            if subprocess.run(["id", "-u", USER], capture_output=True).returncode:
                cp = mtest.run([os.path.join(HERE, "..", "setup-unpriv-user.sh")])
                check(cp.returncode == 0, f"cannot create user {USER}: {mtest.show(cp)}")
            pw = pwd.getpwnam(USER)
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
            os.chown(self.tmp, self.uid, self.gid)
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        bindir, install = mtest.bin_dir(self.tmp)

        self.madvtrace = install(self.madvtrace)
        self.agent = install(os.path.abspath(args.agent))
        for name in WORKLOADS:
            install(os.path.join(self.workloads, name))
        self.static = install(args.static) if args.static else None
        self.tally32 = install(self.tally32) if self.tally32 else None
        self.workloads = bindir
        self.who = USER if self.root else pwd.getpwuid(os.getuid()).pw_name
        # scratch files the user can write
        self.out = os.path.join(self.tmp, "out")
        os.mkdir(self.out)
        os.chmod(self.out, 0o777)

    def path(self, name):
        return os.path.join(self.out, name)

    def user(self, cmd, env=None):
        """cmd as the unprivileged user, with env (a dict of extra variables) set."""
        extra = [f"{k}={v}" for k, v in (env or {}).items()]
        if not self.root:
            return (["env"] + extra if extra else []) + list(cmd)
        return ["setpriv", f"--reuid={self.uid}", f"--regid={self.gid}", "--init-groups",
                "--reset-env", "--", "env", f"PATH={os.environ.get('PATH', '/usr/bin:/bin')}"] \
            + extra + list(cmd)

    def mt(self, *args, env=None):
        """madvtrace with the preload backend, as the unprivileged user."""
        return self.user([self.madvtrace, "--backend", "preload"] + list(args), env)

    def by_hand(self, trace, cmd, env=None):
        """cmd with the agent preloaded by hand, writing trace."""
        e = {"LD_PRELOAD": self.agent, "MADVTRACE_OUTPUT": trace}
        e.update(env or {})
        return self.user(cmd, e)


def main(test, description):
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--agent", required=True)
    ap.add_argument("--workloads", required=True)
    ap.add_argument("--static")
    ap.add_argument("--tally32")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    for p in [args.madvtrace, args.agent, args.static, args.tally32] + \
            [os.path.join(args.workloads, w) for w in WORKLOADS]:
        if p and not os.path.exists(p):
            print(f"FAIL: {p} is missing: build it first", file=sys.stderr)
            sys.exit(1)
    mtest.run_test(lambda: PreloadEnv(args), test, args.keep,
                   lambda env: f"running madvtrace and the programs as {env.who} (uid {env.uid})")


# --- helpers ---

def tasks(recs, event, pid=None):
    return [r for r in recs if r["type"] == "task" and r.get("event") == event
            and (pid is None or r["pid"] == pid)]


def calls(recs, pid=None):
    """The recorded calls (not the synthetic mmap records of the mappings at start)."""
    return [r for r in recs if r["type"] in mtest.SYSCALLS and not r.get("synth")
            and (pid is None or r["pid"] == pid)]


def info(recs, key, pid=None):
    return [r["value"] for r in recs if r["type"] == "info" and r.get("key") == key
            and (pid is None or r["pid"] == pid)]


def header_backend(trace):
    """The backend field of a trace file's header (offset 40, little-endian)."""
    with open(trace, "rb") as f:
        head = f.read(44)
    check(len(head) == 44 and head[:8] == b"MADVTRC\0", f"{trace} is not a madvtrace trace")
    return int.from_bytes(head[40:44], "little")


def json_objs(text, what):
    return mtest.json_lines(text, what)
