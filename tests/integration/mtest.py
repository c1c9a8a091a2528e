# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Shared helpers of the integration tests (python3 standard library only).

Every test is a script run by ctest as
    test_x.py --madvtrace PATH --workloads DIR [--tally32 PATH]
It exits 0 on success, 1 on failure (with the reason on stderr), and 77 (the
SKIP_RETURN_CODE ctest is told about) only when not run as root.

In CI (CI=true in the environment) a skip is a failure: skip() exits 1
instead of 77, unless the test says the machine truly lacks what it needs
(ci_ok=True: then it prints "CI-ALLOWED-SKIP: reason", which
scripts/test.sh looks for when it checks that nothing was skipped).

The oracles: the workloads print what they did themselves (tally), /proc
(rssdrop), and strace. `madvtrace dump` gives the recording as JSON Lines.
"""
import argparse
import errno
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
SYSCALLS = ("mmap", "munmap", "mremap", "madvise", "brk", "mprotect")

ADVICE = {
    "MADV_NORMAL": 0, "MADV_RANDOM": 1, "MADV_SEQUENTIAL": 2, "MADV_WILLNEED": 3,
    "MADV_DONTNEED": 4, "MADV_FREE": 8, "MADV_REMOVE": 9, "MADV_DONTFORK": 10,
    "MADV_DOFORK": 11, "MADV_MERGEABLE": 12, "MADV_UNMERGEABLE": 13, "MADV_HUGEPAGE": 14,
    "MADV_NOHUGEPAGE": 15, "MADV_DONTDUMP": 16, "MADV_DODUMP": 17, "MADV_WIPEONFORK": 18,
    "MADV_KEEPONFORK": 19, "MADV_COLD": 20, "MADV_PAGEOUT": 21, "MADV_POPULATE_READ": 22,
    "MADV_POPULATE_WRITE": 23, "MADV_DONTNEED_LOCKED": 24, "MADV_COLLAPSE": 25,
    "MADV_HWPOISON": 100, "MADV_SOFT_OFFLINE": 101, "MADV_GUARD_INSTALL": 102,
    "MADV_GUARD_REMOVE": 103,
}
PROT = {"PROT_NONE": 0, "PROT_READ": 1, "PROT_WRITE": 2, "PROT_EXEC": 4, "PROT_SEM": 8,
        "PROT_GROWSDOWN": 0x01000000, "PROT_GROWSUP": 0x02000000}
MAP = {"MAP_SHARED": 1, "MAP_PRIVATE": 2, "MAP_SHARED_VALIDATE": 3, "MAP_FIXED": 0x10,
       "MAP_ANONYMOUS": 0x20, "MAP_ANON": 0x20, "MAP_32BIT": 0x40, "MAP_GROWSDOWN": 0x100,
       "MAP_DENYWRITE": 0x800, "MAP_EXECUTABLE": 0x1000, "MAP_LOCKED": 0x2000,
       "MAP_NORESERVE": 0x4000, "MAP_POPULATE": 0x8000, "MAP_NONBLOCK": 0x10000,
       "MAP_STACK": 0x20000, "MAP_HUGETLB": 0x40000, "MAP_SYNC": 0x80000,
       "MAP_FIXED_NOREPLACE": 0x100000, "MAP_UNINITIALIZED": 0x4000000}
MREMAP = {"MREMAP_MAYMOVE": 1, "MREMAP_FIXED": 2, "MREMAP_DONTUNMAP": 4}

# Keys a dump record must have for a tally entry; others are compared if present.
OPTIONAL_KEYS = {"mremap": {"flags"}, "mprotect": {"prot"}}


class TestFailure(Exception):
    pass


def fail(msg):
    raise TestFailure(msg)


def check(cond, msg):
    if not cond:
        fail(msg)


def log(msg):
    print(msg, flush=True)


def in_ci():
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def skip(reason, ci_ok=False):
    """
    Leave with ctest's skip code (77), the reason on stderr. In CI, a skip
    turns the run red (exit 1) unless ci_ok: the reason is one the CI
    machine truly lacks (a kernel that refuses it), said in a line
    scripts/test.sh accepts.
    """
    if ci_ok:
        print(f"CI-ALLOWED-SKIP: {reason}", flush=True)
        sys.exit(SKIP)
    if in_ci():
        print(f"FAIL: skipped in CI (CI=true), which counts as a failure: {reason}",
              file=sys.stderr, flush=True)
        sys.exit(1)
    print(f"SKIP: {reason}", file=sys.stderr, flush=True)
    sys.exit(SKIP)


class Env:
    """Paths from the command line, and a scratch directory removed at the end."""

    def __init__(self, args):
        self.madvtrace = os.path.abspath(args.madvtrace)
        self.workloads = os.path.abspath(args.workloads)
        self.tally32 = os.path.abspath(args.tally32) if args.tally32 else None
        self.args = args
        self.tmp = tempfile.mkdtemp(prefix="mt-integration-")

    def wl(self, name):
        return os.path.join(self.workloads, name)

    def path(self, name):
        return os.path.join(self.tmp, name)


def main(test, description, options=(), root=True):
    """Parse the arguments (and options: (flags, keywords) of more, in env.args), skip
    unless root (where root), run test(env), map the outcome to an exit code."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--workloads", required=True)
    ap.add_argument("--tally32")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    for flags, kw in options:
        ap.add_argument(*flags, **kw)
    args = ap.parse_args()
    if root and os.geteuid() != 0:
        skip("needs root (loading BPF programs); run ctest as root")
    for p in (args.madvtrace,):
        if not os.access(p, os.X_OK):
            print(f"FAIL: {p} is not an executable: build it first", file=sys.stderr)
            sys.exit(1)
    run_test(lambda: Env(args), test, args.keep)


def run_test(make_env, test, keep, intro=None):
    """Make the env, run test(env), keep the scratch files of a failure; exit with the outcome."""
    rc = 1
    env = None
    try:
        env = make_env()
        if intro:
            log(intro(env))
        test(env)
        rc = 0
        log("PASS")
    except TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
    except subprocess.TimeoutExpired as e:
        print(f"FAIL: timed out: {e}", file=sys.stderr)
    finally:
        if env:
            if keep or rc:
                print(f"(scratch files kept in {env.tmp})", file=sys.stderr)
            else:
                shutil.rmtree(env.tmp, ignore_errors=True)
    sys.exit(rc)


def run(cmd, timeout=120, **kw):
    """Run cmd to completion, capturing text output."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.run(cmd, timeout=timeout, text=True, **kw)


def show(cp):
    """A finished process's output, for failure messages."""
    out = (cp.stdout or "")[-2000:]
    err = (cp.stderr or "")[-2000:]
    return f"exit {cp.returncode}\n--- stdout (tail) ---\n{out}\n--- stderr (tail) ---\n{err}"


def json_lines(text, what):
    objs = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            objs.append(json.loads(line))
        except json.JSONDecodeError as e:
            fail(f"{what}: line {n} is not JSON ({e}): {line[:200]}")
    return objs


def read_tallies(path):
    """The tally objects a tally run wrote (-o FILE), by role."""
    with open(path) as f:
        objs = json_lines(f.read(), f"tally output {path}")
    check(objs, f"tally wrote nothing to {path}")
    return objs


def dump(env, trace):
    """`madvtrace dump TRACE` as a list of dicts; the dump must succeed cleanly."""
    cp = run([env.madvtrace, "dump", trace], timeout=300)
    check(cp.returncode == 0, f"madvtrace dump {trace} failed: {show(cp)}")
    check(cp.stderr.strip() == "", f"madvtrace dump {trace} complained: {cp.stderr.strip()}")
    recs = []
    for n, line in enumerate(cp.stdout.splitlines(), 1):
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            fail(f"dump line {n} is not JSON ({e}): {line[:200]}")
        for k in ("type", "t_ns", "pid", "tid"):
            check(k in r, f"dump line {n} lacks key {k!r}: {line[:200]}")
        recs.append(r)
    check(recs, f"dump of {trace} is empty")
    return recs


# --- normalisation of values that may be printed by name or by number ---

def advice_value(v):
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        if v in ADVICE:
            return ADVICE[v]
        # an advice without a name: "1234", "0x4d2" or the decoder's "MADV_#1234"
        m = re.fullmatch(r"(?:MADV_#)?(-?(?:0x[0-9a-fA-F]+|\d+))", v)
        if m:
            return int(m.group(1), 0)
    fail(f"cannot read advice {v!r}")


def flags_value(v, table):
    """A flag word given as a number, or as NAME|NAME|0x10 (strace, the decoder)."""
    if isinstance(v, int):
        return v
    if not isinstance(v, str):
        fail(f"cannot read flags {v!r}")
    total = 0
    for part in v.split("|"):
        part = part.strip()
        if part in table:
            total |= table[part]
        elif re.fullmatch(r"0x[0-9a-fA-F]+|\d+", part):
            total |= int(part, 0)
        else:
            fail(f"unknown flag {part!r} in {v!r}")
    return total


def value_of(type_, key, v):
    if key == "advice":
        return advice_value(v)
    if key == "prot":
        return flags_value(v, PROT)
    if key == "flags":
        return flags_value(v, MREMAP if type_ == "mremap" else MAP)
    return v


def abi_name(v):
    return {0: "x86_64", 1: "i386", 2: "x32"}.get(v, v) if isinstance(v, int) else v


# --- comparison of a recording with a tally ---

def syscall_records(recs, pid):
    return [r for r in recs if r["type"] in SYSCALLS and r["pid"] == pid]


def is_marker(r, addr):
    return r["type"] == "madvise" and r.get("addr") == addr and r.get("len") == 0 \
        and advice_value(r.get("advice")) == 0


def record_matches(rec, call):
    """None if the record is the call the tally lists, else what differs."""
    if rec["type"] != call["type"]:
        return f"type {rec['type']} != {call['type']}"
    if rec["tid"] != call["tid"]:
        return f"tid {rec['tid']} != {call['tid']}"
    for key, want in call.items():
        if key in ("type", "tid"):
            continue
        if key not in rec:
            if key in OPTIONAL_KEYS.get(call["type"], ()):
                continue
            return f"key {key!r} missing"
        got = value_of(call["type"], key, rec[key])
        if got != value_of(call["type"], key, want):
            return f"{key} {rec[key]!r} != {want!r}"
    return None


def brief(r):
    keys = [k for k in r if k not in ("t_ns", "stack_id")]
    return "{" + ", ".join(f"{k}: {r[k]}" for k in keys) + "}"


def compare_tally(recs, tally, abi=None):
    """
    The recorded calls of each of the tally's threads, from its begin marker
    to its end marker, must be exactly the calls the tally lists: same count,
    order, arguments, advice and return values. Returns per-type counts.
    """
    pid = tally["pid"]
    mine = syscall_records(recs, pid)
    check(mine, f"no syscall record at all for pid {pid} ({tally['role']})")
    tids = set(tally["tids"])
    strangers = {r["tid"] for r in mine} - tids
    check(not strangers, f"pid {pid}: records from tids {sorted(strangers)} that are not "
          f"the workload's threads {sorted(tids)}")
    begin, end = tally["markers"]["begin"], tally["markers"]["end"]
    counts = {}
    for tid in tally["tids"]:
        seq = [r for r in mine if r["tid"] == tid]
        want = [c for c in tally["calls"] if c["tid"] == tid]
        b = [i for i, r in enumerate(seq) if is_marker(r, begin)]
        e = [i for i, r in enumerate(seq) if is_marker(r, end)]
        check(len(b) == 1 and len(e) == 1,
              f"pid {pid} tid {tid}: expected one begin and one end marker, found "
              f"{len(b)} and {len(e)} among {len(seq)} records")
        window = seq[b[0]:e[0] + 1]
        for i, (rec, call) in enumerate(zip(window, want)):
            why = record_matches(rec, call)
            if why:
                ctx = "\n".join(f"  recorded: {brief(r)}" for r in window[max(0, i - 2):i + 3])
                fail(f"pid {pid} tid {tid}: call {i} of {len(want)} differs ({why})\n"
                     f"  expected: {call}\n{ctx}")
        check(len(window) == len(want),
              f"pid {pid} tid {tid}: {len(window)} calls recorded between the markers, the "
              f"workload made {len(want)}")
        if abi is not None:
            bad = [r for r in window if abi_name(r.get("abi")) != abi]
            check(not bad, f"pid {pid} tid {tid}: {len(bad)} records not marked abi {abi}, "
                  f"e.g. {brief(bad[0]) if bad else ''}")
        for r in window:
            counts[r["type"]] = counts.get(r["type"], 0) + 1
    check(counts == {k: v for k, v in tally["counts"].items() if v},
          f"pid {pid}: recorded counts {counts} != tally {tally['counts']}")
    # Nothing else in the process uses MADV_FREE: the whole recording must agree too.
    frees = sum(1 for r in mine if r["type"] == "madvise" and advice_value(r["advice"]) == 8)
    check(frees == tally["advice"].get("MADV_FREE", 0),
          f"pid {pid}: {frees} MADV_FREE records in the whole trace, the workload made "
          f"{tally['advice'].get('MADV_FREE', 0)}")
    return counts


def check_no_lost(recs):
    lost = sum(r.get("count", 0) for r in recs if r["type"] == "lost")
    check(lost == 0, f"{lost} events lost")


# --- processes ---

class PtyReader:
    """
    Runs a command with stdout on a pseudo-terminal (so madvtrace prints each
    line as it happens, as on a terminal) and collects what it prints; stderr
    is collected separately.
    """

    def __init__(self, cmd):
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(cmd, stdout=slave, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        os.close(slave)
        self.master = master
        self.out = bytearray()
        self.err = b""
        self.lock = threading.Lock()
        self.t_out = threading.Thread(target=self._read_out, daemon=True)
        self.t_err = threading.Thread(target=self._read_err, daemon=True)
        self.t_out.start()
        self.t_err.start()

    def _read_out(self):
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not chunk:
                break
            with self.lock:
                self.out += chunk

    def _read_err(self):
        self.err = self.proc.stderr.read()

    def text(self):
        with self.lock:
            return self.out.decode(errors="replace")

    def wait_for(self, pattern, timeout):
        """Wait until the output matches the regex; False on timeout or exit."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if rx.search(self.text()):
                return True
            if self.proc.poll() is not None:
                time.sleep(0.2)
                return bool(rx.search(self.text()))
            time.sleep(0.02)
        return False

    def finish(self, timeout):
        self.proc.wait(timeout=timeout)
        self.t_out.join(5)
        self.t_err.join(5)
        os.close(self.master)
        return self.proc.returncode

    def stderr(self):
        return self.err.decode(errors="replace")


def read_line_with_timeout(stream, timeout):
    """One line from a pipe, or None if none comes in time."""
    fd = stream.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], max(0, deadline - time.monotonic()))
        if not r:
            break
        c = os.read(fd, 1)
        if not c:
            break
        if c == b"\n":
            return buf.decode(errors="replace")
        buf += c
    return None


def start_waiting_tally(env, args, tally_out):
    """Start tally -w (it waits for SIGUSR1); return (Popen, pid) once it said ready."""
    p = subprocess.Popen([env.wl("tally"), "-o", tally_out] + args, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    line = read_line_with_timeout(p.stderr, 10)
    if not line or not line.startswith("ready "):
        p.kill()
        fail(f"tally did not say ready (got {line!r})")
    return p, int(line.split()[1])


# The probe address tally -w issues while waiting (madvise(PROBE, 0, MADV_NORMAL)).
PROBE_RX = r"(?i)0x5a1d0000|1511849984"



def bin_dir(tmp):
    """
    A bin/ in the scratch directory that another user may read, and a function
    that copies a program into it (returning the copy's path): the programs an
    unprivileged user runs under ptrace or preload must not live in root's build tree.
    """
    bindir = os.path.join(tmp, "bin")
    os.mkdir(bindir)
    os.chmod(bindir, 0o755)

    def install(src):
        dst = os.path.join(bindir, os.path.basename(src))
        shutil.copy(src, dst)
        os.chmod(dst, 0o755)
        return dst
    return bindir, install


def read_ready(stream, timeout=10):
    """The pid of a "ready PID" line on stream (other lines skipped), and the lines before."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = read_line_with_timeout(stream, max(0.1, deadline - time.monotonic()))
        if line is None:
            break
        if line.startswith("ready "):
            return int(line.split()[1]), seen
        seen.append(line)
    fail(f"no 'ready PID' line within {timeout} s; got {seen[-5:]!r}")

def proc_state(pid):
    """The state letter of /proc/PID/stat, or None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    return s[s.rindex(")") + 2]


def stderr_lines(text):
    return [l for l in text.splitlines() if l.strip()]


def errno_value(name):
    v = getattr(errno, name, None)
    if v is None:
        fail(f"unknown errno name {name}")
    return v


def signal_name(sig):
    return signal.Signals(sig).name


# --- Go metrics and residency (test_gorec_*.py) ---

MIB = 1 << 20


def main_go(test, description):
    """main() for the tests of a Go target: --metricsvc and --spike too; root, never a skip."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--workloads", required=True)
    ap.add_argument("--metricsvc", required=True)
    ap.add_argument("--spike", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    if os.geteuid() != 0:
        skip("needs root (loading BPF programs); run ctest as root")
    for p in (args.madvtrace, args.metricsvc, args.spike):
        if not os.access(p, os.X_OK):
            print(f"FAIL: {p} is not an executable: build it first", file=sys.stderr)
            sys.exit(1)

    def make_env():
        env = Env(argparse.Namespace(madvtrace=args.madvtrace, workloads=args.workloads,
                                     tally32=None))
        env.metricsvc = os.path.abspath(args.metricsvc)
        env.spike = os.path.abspath(args.spike)
        return env
    run_test(make_env, test, args.keep)


def of_type(recs, t, pid=None):
    return [r for r in recs if r["type"] == t and (pid is None or r["pid"] == pid)]


def infos(recs, key, pid=None):
    return [r["value"] for r in of_type(recs, "info", pid) if r.get("key") == key]


class Metricsvc:
    """tests/go/metricsvc started on its own (to attach to): its pid, port and MemStats log."""

    def __init__(self, env, name, args):
        self.log = env.path(f"{name}.memstats.jsonl")
        port_file = env.path(f"{name}.port")
        self.proc = subprocess.Popen([env.metricsvc, "-log", self.log, "-port-file", port_file]
                                     + args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with open(port_file) as f:
                    self.port = int(f.read().strip())
                return
            except (OSError, ValueError):
                time.sleep(0.05)
            if self.proc.poll() is not None:
                break
        self.stop()
        fail(f"metricsvc did not say its port within 20 s: {self.proc.stderr.read()!r}")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def memstats_log(path):
    with open(path) as f:
        return json_lines(f.read(), f"metricsvc log {path}")


def check_gostats_match_log(gostats, log_lines, interval_ns, what, skip=(0, 0)):
    """
    Every gostat's heap_released is what metricsvc logged around then: a
    value it logged within one sample interval of the record, to 1 MiB (the
    value moves by tens of KiB between its lines, 50 ms apart), or, while
    the heap grows or the scavenger works and it moves by megabytes between
    two lines, a value between those of the last line logged before the
    request began and the first after the answer came (1 MiB tolerance).
    Records in the window skip (t0, t1) are not checked; at least 5 must be.
    """
    check(gostats, f"{what}: no gostat record")
    log_lines = sorted(log_lines, key=lambda l: l["t_ns"])
    checked = [g for g in gostats if not skip[0] <= g["t_ns"] <= skip[1]]
    check(len(checked) >= 5, f"{what}: only {len(checked)} gostat records to check")
    for g in checked:
        v = g["heap_released"]
        near = [l["HeapReleased"] for l in log_lines if abs(l["t_ns"] - g["t_ns"]) <= interval_ns]
        check(near, f"{what}: metricsvc logged nothing within {interval_ns / 1e6:.0f} ms of the "
                    f"gostat at {g['t_ns']}")
        if min(abs(x - v) for x in near) <= MIB:
            continue
        t0, t1 = g["t_ns"] - g["req_ns"], g["t_ns"]
        before = [l for l in log_lines if l["t_ns"] <= t0]
        after = [l for l in log_lines if l["t_ns"] >= t1]
        check(before and after, f"{what}: gostat at {g['t_ns']} says heap_released {v}, no "
                                f"value metricsvc logged within 1 MiB: {near}")
        span = [l["HeapReleased"] for l in log_lines
                if before[-1]["t_ns"] <= l["t_ns"] <= after[0]["t_ns"]]
        check(min(span) - MIB <= v <= max(span) + MIB,
              f"{what}: gostat at {g['t_ns']} says heap_released {v}, but metricsvc logged "
              f"{near} around then, {span} just before and after the request")


class BadMetricsServer:
    """An HTTP server on 127.0.0.1 that answers wrongly: /404, /html, /big (100 MiB), /hang."""

    def __init__(self, hang_s=20):
        import http.server

        hang = threading.Event()
        self.hang = hang

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                try:
                    if self.path == "/html":
                        body = b"<!doctype html><html><body><h1>It works</h1></body></html>\n"
                        self.send_response(200)
                        self.send_header("Content-Type", "text/html")
                        self.send_header("Content-Length", str(len(body)))
                        self.end_headers()
                        self.wfile.write(body)
                    elif self.path == "/big":
                        chunk = b"# HELP x a comment line of a very long page\n" * 1489
                        total = 100 * MIB
                        self.send_response(200)
                        self.send_header("Content-Type", "text/plain")
                        self.send_header("Content-Length", str(total))
                        self.end_headers()
                        sent = 0
                        while sent < total:
                            n = min(len(chunk), total - sent)
                            self.wfile.write(chunk[:n])
                            sent += n
                    elif self.path == "/hang":
                        hang.wait(hang_s)  # never answers (bounded, for the test's sake)
                    else:
                        self.send_error(404)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.hang.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def unused_port():
    """A loopback port nothing listens on (bound, then closed)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- the verdict's figures, against the report's JSON summary ---

UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}
SIZE = r"(\d+(?:\.\d+)?) (B|KiB|MiB|GiB|TiB)"


def size_near(text_num, unit, value):
    """Does "512.2 MiB" (as mt_fmt_bytes prints: one decimal) stand for value bytes?"""
    u = UNITS[unit]
    return abs(float(text_num) * u - value) <= 0.051 * u + 0.5


def verdict_figures(verdict):
    """The figures of the verdict's sentences, as (text, unit) pairs, by name."""
    out = {}
    for adv in ("MADV_FREE", "MADV_DONTNEED"):
        m = re.search(adv + r" released " + SIZE + r" in (\d+) calls?", verdict)
        if m:
            out[adv] = (m.group(1), m.group(2), int(m.group(3)))
    m = re.search(r"RSS was " + SIZE + r" \(anon " + SIZE + r", file " + SIZE + r", shmem " +
                  SIZE + r"\)", verdict)
    if m:
        out["rss"] = [(m.group(i), m.group(i + 1)) for i in (1, 3, 5, 7)]
    m = re.search(r"smaps_rollup at \S+ \(the last sample\): Rss " + SIZE + r", LazyFree " +
                  SIZE, verdict)
    if m:
        out["smaps"] = [(m.group(1), m.group(2)), (m.group(3), m.group(4))]
    m = re.search(r"Rss - LazyFree = " + SIZE, verdict)
    if m:
        out["held"] = (m.group(1), m.group(2))
    m = re.search(r"The region model counts " + SIZE + r" released lazily, " + SIZE +
                  r" released eagerly", verdict)
    if m:
        out["model"] = [(m.group(1), m.group(2)), (m.group(3), m.group(4))]
    return out


def check_verdict_vs_summary(s, what):
    """
    Every figure the verdict (the JSON summary's "verdict", the text the
    report prints) states must be the summary's own number. Returns the
    figures found.
    """
    v = s["verdict"]
    f = verdict_figures(v)

    def same(pair, value, name):
        check(size_near(pair[0], pair[1], value), f"{what}: the verdict says {name} "
              f"{pair[0]} {pair[1]}, the JSON summary {value} bytes\n  verdict: {v}")

    adv = s["calls"]["by_advice"]
    for a in ("MADV_FREE", "MADV_DONTNEED"):
        if a in f:
            same(f[a][:2], adv[a]["bytes"], f"{a} released")
            check(f[a][2] == adv[a]["calls"], f"{what}: the verdict counts {f[a][2]} {a} "
                  f"calls, the summary {adv[a]['calls']}")
        elif adv.get(a, {}).get("calls"):
            fail(f"{what}: {adv[a]['calls']} {a} calls, but the verdict does not say how much "
                 f"they released: {v}")
    if "rss" in f:
        for pair, key in zip(f["rss"], ("rss_bytes", "rss_anon_bytes", "rss_file_bytes",
                                        "rss_shmem_bytes")):
            same(pair, s[key], key)
    if "smaps" in f:
        same(f["smaps"][0], s["smaps_rss_bytes"], "smaps Rss")
        same(f["smaps"][1], s["lazyfree_bytes"], "LazyFree")
    if "held" in f:
        same(f["held"], max(0, s["smaps_rss_bytes"] - s["lazyfree_bytes"]), "Rss - LazyFree")
    if "model" in f:
        same(f["model"][0], s["released_lazy_bytes"], "released lazily")
        same(f["model"][1], s["released_eager_bytes"], "released eagerly")
    return f


def main_paths(test, paths=("spike", "gobin", "agent")):
    """main() for the per-program tests (test_alloc_*, test_wrapper_*): --PATH options become env.PATH."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--workloads", required=True)
    for p in paths:
        ap.add_argument("--" + p)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        skip("needs root (loading BPF programs); run ctest as root")

    def make_env():
        e = Env(argparse.Namespace(madvtrace=args.madvtrace, workloads=args.workloads,
                                   tally32=None))
        for p in paths:
            setattr(e, p, os.path.abspath(getattr(args, p)) if getattr(args, p) else None)
        return e
    run_test(make_env, test, args.keep)
