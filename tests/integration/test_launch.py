#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Launch mode: `madvtrace -o T -- tally -t 4` records exactly the calls tally made;
and under sudo, every backend runs the command as the invoking user with that
user's supplementary groups, as `setpriv --init-groups` (a login) gives them."""
import glob
import grp
import os
import pwd
import shutil

import mtest
from mtest import check, log, show

HERE = os.path.dirname(os.path.abspath(__file__))
USER = os.environ.get("MT_TEST_USER", "mtuser")
GROUP = "mt-launch-test"  # made here when the user has no supplementary group
BACKENDS = ("bpf", "ptrace", "preload")


def test_tally(env):
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


def user_with_groups():
    """USER's passwd entry, USER made first if needed; and the group made for it, or None."""
    if subprocess_rc(["id", "-u", USER]):
        cp = mtest.run([os.path.join(HERE, "..", "setup-unpriv-user.sh")])
        check(cp.returncode == 0, f"cannot create user {USER}: {show(cp)}")
    pw = pwd.getpwnam(USER)
    if any(USER in g.gr_mem for g in grp.getgrall() if g.gr_gid != pw.pw_gid):
        return pw, None
    subprocess_rc(["groupdel", GROUP])  # left over by an interrupted run
    for cmd in (["groupadd", GROUP], ["gpasswd", "-a", USER, GROUP]):
        cp = mtest.run(cmd)
        check(cp.returncode == 0, f"{' '.join(cmd)} failed: {show(cp)}")
    return pw, GROUP


def subprocess_rc(cmd):
    return mtest.run(cmd).returncode


def test_groups(env):
    pw, made = user_with_groups()
    try:
        # copies that USER can read: the preload agent is loaded by USER's process
        bindir = env.path("bin")
        os.mkdir(bindir)
        os.chmod(env.tmp, 0o755)
        os.chmod(bindir, 0o755)
        here = os.path.dirname(env.madvtrace)
        for src in [env.madvtrace] + glob.glob(os.path.join(here, "libmadvtrace-agent*.so")):
            shutil.copy(src, bindir)
            os.chmod(os.path.join(bindir, os.path.basename(src)), 0o755)
        madvtrace = os.path.join(bindir, os.path.basename(env.madvtrace))
        # under sudo, madvtrace writes its trace as the invoking user
        out = env.path("out")
        os.mkdir(out)
        os.chown(out, pw.pw_uid, pw.pw_gid)
        cp = mtest.run(["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}",
                        "--init-groups", "--", "id"])
        check(cp.returncode == 0, f"setpriv ... id failed: {show(cp)}")
        want = cp.stdout.strip()
        check(",".join(want.split(",")[1:]), f"{USER} has no supplementary group: {want}")
        # sudo as USER: madvtrace, run as root, runs the command as SUDO_UID/SUDO_GID
        sudo = dict(os.environ, SUDO_UID=str(pw.pw_uid), SUDO_GID=str(pw.pw_gid),
                    SUDO_USER=USER)
        for b in BACKENDS:
            trace = os.path.join(out, f"id-{b}.mtr")
            cp = mtest.run([madvtrace, "-q", "--backend", b, "-o", trace, "--", "id"], env=sudo)
            check(cp.returncode == 0, f"madvtrace --backend={b} -- id failed: {show(cp)}")
            got = cp.stdout.strip()
            check(got == want, f"--backend={b}: the command ran as\n  {got}\nnot as "
                  f"{USER} logs in:\n  {want}")
        log(f"sudo, --backend={'|'.join(BACKENDS)} -- id: all print {want!r}")
    finally:
        if made:
            mtest.run(["groupdel", made])


def test(env):
    test_tally(env)
    test_groups(env)


if __name__ == "__main__":
    mtest.main(test, __doc__)
