#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
`-o FILE` in a directory other users share, madvtrace as root under sudo
(SUDO_UID of a throwaway user made for the test, removed at the end):

  - a 0666 file another user (mtuser) made at the path beforehand: refused
    in one line, non-zero exit, nothing written into it;
  - a FIFO at the path: refused within seconds in one line, non-zero exit
    (it used to block forever in open);
  - a symbolic link at the path: refused;
  - a new trace is the invoking user's, mode 0600; --mode 0640 gives 0640;
    --mode with a bad value is a usage error;
  - the user's own earlier trace (0600) is reused, truncated and rewritten.

    test_sec2_output.py --madvtrace PATH --workloads DIR
"""
import os
import pwd
import stat
import subprocess

import mtest
from mtest import check, log, show

OTHER = "mtuser"
ME = "mtsec2out"


def madvtrace(env, sudo, trace, extra=(), timeout=30):
    cmd = [env.madvtrace, "-q", "--backend", "ptrace"] + list(extra) + ["-o", trace, "--",
                                                                        "/bin/true"]
    return mtest.run(cmd, env=sudo, timeout=timeout)


def one_line_refusal(cp, what):
    lines = mtest.stderr_lines(cp.stderr)
    check(cp.returncode != 0, f"{what}: exit 0: {show(cp)}")
    check(len(lines) == 1 and lines[0].startswith("madvtrace: "),
          f"{what}: not one line on stderr: {show(cp)}")
    log(f"{what}: refused: {lines[0]}")


def test(env):
    other = pwd.getpwnam(OTHER)
    made = mtest.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                      ME])
    check(made.returncode == 0, f"useradd {ME}: {show(made)}")
    try:
        me = pwd.getpwnam(ME)
        sudo = dict(os.environ, SUDO_UID=str(me.pw_uid), SUDO_GID=str(me.pw_gid), SUDO_USER=ME)
        shared = env.path("shared")
        os.mkdir(shared)
        os.chmod(env.tmp, 0o755)
        os.chmod(shared, 0o777)  # a project directory everyone may write (no sticky bit)

        # another user's 0666 file, waiting for the trace
        planted = os.path.join(shared, "planted.mtr")
        cp = mtest.run(["setpriv", f"--reuid={other.pw_uid}", f"--regid={other.pw_gid}",
                        "--clear-groups", "--", "sh", "-c", f"umask 0; : > {planted}"])
        check(cp.returncode == 0, f"creating {planted} as {OTHER}: {show(cp)}")
        cp = madvtrace(env, sudo, planted)
        st = os.stat(planted)
        check(st.st_size == 0, f"{OTHER}'s 0666 file received the trace of {ME} "
              f"({st.st_size} bytes, readable by {OTHER}): {show(cp)}")
        check(st.st_uid == other.pw_uid and stat.S_IMODE(st.st_mode) == 0o666,
              f"{OTHER}'s file changed owner or mode: {oct(st.st_mode)} uid {st.st_uid}")
        one_line_refusal(cp, f"-o a 0666 file of {OTHER}")

        # a FIFO: refused promptly, not a hang
        fifo = os.path.join(shared, "fifo.mtr")
        os.mkfifo(fifo)
        os.chmod(fifo, 0o666)  # the user may open it: only the check can refuse it
        try:
            cp = madvtrace(env, sudo, fifo, timeout=10)
        except subprocess.TimeoutExpired:
            mtest.fail("-o a FIFO: madvtrace still blocked after 10 s")
        one_line_refusal(cp, "-o a FIFO")

        # a symbolic link
        link = os.path.join(shared, "link.mtr")
        os.symlink(os.path.join(shared, "elsewhere"), link)
        cp = madvtrace(env, sudo, link)
        one_line_refusal(cp, "-o a symbolic link")
        check(not os.path.exists(os.path.join(shared, "elsewhere")), "the link was followed")

        # a new file: the user's, 0600 whatever the umask
        new = os.path.join(shared, "new.mtr")
        cp = madvtrace(env, sudo, new)
        check(cp.returncode == 0, f"-o a new file: {show(cp)}")
        st = os.stat(new)
        check(st.st_uid == me.pw_uid, f"new trace owned by uid {st.st_uid}, not {ME}")
        check(stat.S_IMODE(st.st_mode) == 0o600,
              f"new trace has mode {oct(stat.S_IMODE(st.st_mode))}, not 0600")
        log("a new trace: the user's, 0600")

        # the user's own earlier trace: reused
        size = st.st_size
        with open(new, "r+b") as f:
            f.write(b"\0" * 16)
            f.seek(size + 4096)
            f.write(b"x")
        cp = madvtrace(env, sudo, new)
        check(cp.returncode == 0, f"-o the user's own earlier trace: {show(cp)}")
        check(mtest.run([env.madvtrace, "dump", new]).returncode == 0,
              "the rewritten trace does not read back")
        check(os.stat(new).st_size < size + 4096, "the old trace was not truncated")
        log("the user's own earlier trace: reused")

        # --mode
        m = os.path.join(shared, "mode.mtr")
        cp = madvtrace(env, sudo, m, ["--mode", "0640"])
        check(cp.returncode == 0, f"--mode 0640: {show(cp)}")
        got = stat.S_IMODE(os.stat(m).st_mode)
        check(got == 0o640, f"--mode 0640 gave {oct(got)}")
        cp = madvtrace(env, sudo, os.path.join(shared, "bad.mtr"), ["--mode", "0999"])
        check(cp.returncode == 2 and len(mtest.stderr_lines(cp.stderr)) == 1,
              f"--mode 0999: not a one-line usage error: {show(cp)}")
        log("--mode 0640: 0640; --mode 0999: usage error")
    finally:
        mtest.run(["userdel", ME])


if __name__ == "__main__":
    mtest.main(test, __doc__)
