# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Helpers of the test_sec_* tests: trace files written by hand, byte by byte
as docs/trace-format.md lays them out, the way anyone could craft one to hand
to `madvtrace report`, and running a command under time and memory bounds."""
import os
import resource
import shutil
import struct
import subprocess
import time
import zlib

MT_MADVISE, MT_TASK, MT_STACK, MT_INFO = 4, 8, 10, 11
MADV_DONTNEED = 4


def header(entries, pid=100, backend=1, start_ns=1_000_000_000):
    body = b""
    for k, v in entries:
        k, v = k.encode(), v.encode()
        body += struct.pack("<HI", len(k), len(v)) + k + v
    hlen = 52 + len(body) + 4
    h = b"MADVTRC\0" + struct.pack("<III", 1, hlen, 4096)
    h += struct.pack("<IqQIiI", 1, 0, start_ns, backend, pid, len(entries)) + body
    return h + struct.pack("<I", zlib.crc32(h) & 0xffffffff)


def record(rtype, payload, pid=100, t_ns=1_000_000_000, stack_id=0):
    size = 32 + len(payload)
    hdr = struct.pack("<QIIHHBBHII", t_ns, pid, pid, rtype, size, 0, 0, 0, stack_id, 0)
    return struct.pack("<I", size) + hdr + payload


def info(text, **kw):
    return record(MT_INFO, text.encode() + b"\0", **kw)


def madvise(addr, length, advice=MADV_DONTNEED, stack_id=0, pid=100, **kw):
    return record(MT_MADVISE, struct.pack("<QQqiI", addr, length, 0, advice, pid),
                  pid=pid, stack_id=stack_id, **kw)


def stack(sid, ips, **kw):
    return record(MT_STACK, struct.pack("<II", sid, len(ips)) +
                  b"".join(struct.pack("<Q", ip) for ip in ips), **kw)


def releasing_process(pid, exe, t_ns, ips, exe_base=0x555555554000, sid=None):
    """One process that ran exe and released 1 MiB with MADV_DONTNEED from stack ips."""
    sid = sid if sid is not None else pid
    return (info("exe=" + exe, pid=pid, t_ns=t_ns) +
            info("exe_base=0x%x" % exe_base, pid=pid, t_ns=t_ns) +
            madvise(0x7f0000000000, 1 << 20, stack_id=sid, pid=pid, t_ns=t_ns + 1000) +
            stack(sid, ips, pid=pid, t_ns=t_ns + 2000))


def write_trace(path, records, pid=100):
    with open(path, "wb") as f:
        f.write(header([("target", "crafted"), ("kernel_release", "6.0-crafted")], pid=pid))
        f.write(records)


def run_bounded(cmd, timeout, as_limit=None):
    """Run cmd with stdout and stderr in files; returns (exit status or None on
    timeout, stdout, stderr, seconds, peak RSS in KiB)."""
    import tempfile

    def limit():
        if as_limit:
            resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, preexec_fn=limit)
        code, rss = None, 0
        while time.monotonic() - t0 < timeout:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                code, rss = os.waitstatus_to_exitcode(status), ru.ru_maxrss
                p.returncode = code
                break
            time.sleep(0.02)
        if code is None:
            p.kill()
            p.wait()
        secs = time.monotonic() - t0
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read(), secs, rss


def padded_exe(path, size=1 << 30):
    """A copy of /bin/sleep padded to size bytes, sparse: the program's pages, then
    zeros nobody wrote (what a reader that takes the whole file pays for)."""
    shutil.copy("/bin/sleep", path)
    os.chmod(path, 0o755)
    os.truncate(path, size)
    return path
