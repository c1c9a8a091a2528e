#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The preload backend and records a traced program forges. madvtrace runs as
root under sudo (SUDO_UID of a throwaway user, removed at the end) with
--backend=preload on tests/workloads/sec2_forge, which writes on the agent's
socket an exec record naming a process of another user (a sleep started as
mtuser with GODEBUG set to a secret):

  - the trace holds no record of that pid, not its exe, not the secret;
  - madvtrace says, in one line, that it dropped a forged record;
  - the program's own records are there (its exec, its exit).

    test_sec2_preload.py --madvtrace PATH --workloads DIR
"""
import os
import pwd
import subprocess

import mtest
from mtest import check, log, show

OTHER = "mtuser"
ME = "mtsec2pl"
SECRET = "sec2victimsecret=4711"


def test(env):
    other = pwd.getpwnam(OTHER)
    made = mtest.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                      ME])
    check(made.returncode == 0, f"useradd {ME}: {show(made)}")
    victim = None
    try:
        me = pwd.getpwnam(ME)
        victim = subprocess.Popen(["setpriv", f"--reuid={other.pw_uid}", f"--regid={other.pw_gid}",
                                   "--clear-groups", "--", "/bin/sleep", "60"],
                                  env=dict(os.environ, GODEBUG=SECRET))
        os.chmod(env.tmp, 0o755)
        out = env.path("out")
        os.mkdir(out)
        os.chown(out, me.pw_uid, me.pw_gid)
        trace = os.path.join(out, "t.mtr")
        sudo = dict(os.environ, SUDO_UID=str(me.pw_uid), SUDO_GID=str(me.pw_gid), SUDO_USER=ME)
        cp = mtest.run([env.madvtrace, "-q", "--backend", "preload", "-o", trace, "--",
                        env.wl("sec2_forge"), str(victim.pid)], env=sudo, timeout=60)
        check(cp.returncode == 0, f"madvtrace -- sec2_forge: {show(cp)}")
        check("forged an exec record" in cp.stdout, f"sec2_forge did not forge: {show(cp)}")
        dp = mtest.run([env.madvtrace, "dump", trace])
        check(dp.returncode == 0, f"madvtrace dump: {show(dp)}")
        recs = mtest.json_lines(dp.stdout, "dump")
        named = [r for r in recs if r.get("pid") == victim.pid]
        check(not named, f"the trace holds {len(named)} records of pid {victim.pid}, a process "
              f"of {OTHER}: {[mtest.brief(r) for r in named[:4]]}")
        check(SECRET not in dp.stdout and "/sleep" not in dp.stdout,
              f"the trace holds {OTHER}'s process's environment or exe")
        lines = [l for l in mtest.stderr_lines(cp.stderr) if "forged" in l]
        check(len(lines) == 1, f"madvtrace did not say once that it dropped a forged record: "
              f"{show(cp)}")
        log(f"said: {lines[0]}")
        own = [r for r in recs if r.get("type") == "task" and r.get("pid") != victim.pid]
        check(any(r.get("event") == "exec" for r in own) and
              any(r.get("event") == "exit" for r in own),
              f"the program's own exec and exit are missing: {[mtest.brief(r) for r in own]}")
        log(f"pid {victim.pid} ({OTHER}): nothing of it in the trace; the program's own records kept")
    finally:
        if victim:
            victim.kill()
            victim.wait()
        mtest.run(["userdel", ME])


if __name__ == "__main__":
    mtest.main(test, __doc__)
