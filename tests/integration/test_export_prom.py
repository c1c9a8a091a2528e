#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The exporter against a real Prometheus: madvtrace --metrics watches a cgroup
(v1 memory controller) and Debian's prometheus scrapes it every second. Then,
through Prometheus' query API: the counters of a tally started before madvtrace,
and of one started after it that runs for less than one collector interval,
equal what the tallies say they did; a Go program's RSS and LazyFree agree with
/proc; an exited process's series go after the grace period; promtool accepts
a scrape; the server answers only GET /metrics and keeps serving while one
client sends 1 MiB of headers and another never finishes its request.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import mtest
from mtest import check, fail, log
from prom_lib import Prom, http_get, in_cgroup, make_cgroup, reap, remove_cgroup, scrape, \
    start_exporter

GRACE = 8


def tally_expect(t):
    """What madvtrace must count exactly for one tally: the calls only the tally makes."""
    calls = t["calls"]
    ok = [c for c in calls if c["ret"] >= 0 or c["ret"] < -4095]
    return {
        'syscall="mremap"': (t["counts"]["mremap"],
                             sum(c["new_len"] for c in ok if c["type"] == "mremap")),
        'syscall="madvise",advice="MADV_FREE"': (
            t["advice"].get("MADV_FREE", 0),
            sum(c["len"] for c in ok if c["type"] == "madvise" and c["advice"] == "MADV_FREE")),
        'syscall="madvise",advice="other"': (t["advice"].get("1234", 0), 0),
    }, sum(t["errors"].values())


def check_tally(prom, t, what):
    exp, errors = tally_expect(t)
    pid = t["pid"]
    for sel, (calls, nbytes) in exp.items():
        check(calls > 0, f"{what}: the tally made no {sel} call: a test that cannot fail")
        prom.wait_value(f'madvtrace_calls_total{{pid="{pid}",{sel}}}', calls)
        prom.wait_value(f'madvtrace_call_bytes_total{{pid="{pid}",{sel}}}', nbytes)
    prom.wait_value(f'sum(madvtrace_call_errors_total{{pid="{pid}"}})', errors)
    prom.wait_value(f'madvtrace_call_errors_total{{pid="{pid}",syscall="madvise",advice="other"}}',
                    t["advice"]["1234"])
    log(f"{what} (pid {pid}): mremap, MADV_FREE and bad-advice calls and bytes, and "
        f"{errors} errors, as tallied")


def proc_kb(path, key):
    with open(path) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    fail(f"{path}: no {key}")


def slow_clients(port):
    """One client sends 1 MiB of headers, another never finishes: scrapes go on."""
    big = socket.create_connection(("127.0.0.1", port))
    stuck = socket.create_connection(("127.0.0.1", port))
    stuck.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    t0 = time.monotonic()
    big.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    sent, refused = 0, False
    try:
        line = b"X-Pad: " + b"a" * 1000 + b"\r\n"
        while sent < (1 << 20):
            big.sendall(line)
            sent += len(line)
    except (BrokenPipeError, ConnectionResetError):
        refused = True
    if not refused:
        # the headers end here: a server without a limit would now answer the request
        big.settimeout(5)
        try:
            big.sendall(b"\r\n")
            reply = big.recv(200)
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            reply = b""
        check(not reply.startswith(b"HTTP/1.1 200"), f"1 MiB of headers was served: {reply[:60]!r}")
    big.close()
    for _ in range(3):
        t = time.monotonic()
        status, _, body = http_get(f"http://127.0.0.1:{port}/metrics", 3)
        check(status == 200 and "madvtrace_processes_tracked" in body,
              "no scrape while a client hangs")
        check(time.monotonic() - t < 1, "a scrape took more than 1 s while a client hangs")
    stuck.close()
    log(f"a client with 1 MiB of headers was refused after {sent} bytes; scrapes went on "
        f"beside a client that never finished its request ({time.monotonic() - t0:.1f} s)")


def bad_requests(port):
    base = f"http://127.0.0.1:{port}"
    for path, code in (("/", 404), ("/metrics/x", 404), ("/debug", 404)):
        try:
            http_get(base + path)
            fail(f"GET {path} was answered 200")
        except urllib.error.HTTPError as e:
            check(e.code == code, f"GET {path}: {e.code}, not {code}")
    req = urllib.request.Request(base + "/metrics", data=b"x=1", method="POST")
    try:
        urllib.request.urlopen(req, timeout=5)
        fail("POST /metrics was answered 200")
    except urllib.error.HTTPError as e:
        check(e.code == 405, f"POST /metrics: {e.code}, not 405")
    log("GET / and others: 404; POST /metrics: 405")


def scrape_values(port):
    """{series line's name and labels: value} of one scrape."""
    out = {}
    for line in scrape(port).splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out


def check_cap(env):
    """--max-processes 1 over a cgroup of two waiting tallies: one traced, the cap said."""
    cg = make_cgroup("mt-export-cap")
    procs, mt = [], None
    try:
        for _ in range(2):
            t = in_cgroup(cg, [env.wl("tally"), "-w", "60", "-n", "1", "-o", os.devnull],
                          stderr=subprocess.PIPE)
            procs.append(t)
            line = mtest.read_line_with_timeout(t.stderr, 10)
            check(line and line.startswith("ready "), f"tally did not say ready: {line!r}")
        mt, port = start_exporter(env.madvtrace, ["--cgroup", cg, "--max-processes", "1",
                                                  "--interval", "0.2"])
        deadline = time.monotonic() + 15
        while True:
            check(mt.poll() is None, "madvtrace exited")
            v = scrape_values(port)
            # the refusal is said at the collector pass, the refused calls at the tally's probes
            if v.get("madvtrace_processes_refused") == 1 and \
                    v.get("madvtrace_cap_refused_calls_total", 0) > 0:
                break
            check(time.monotonic() < deadline,
                  "the cap's refusal, or its refused calls, not reported within 15 s")
            time.sleep(0.2)
        time.sleep(0.5)  # the refused tally probes every 50 ms: refused calls grow
        v2 = scrape_values(port)
        check(v2["madvtrace_processes_max"] == 1 and v2["madvtrace_processes_traced"] == 1,
              f"max {v2['madvtrace_processes_max']}, traced {v2['madvtrace_processes_traced']}")
        check(v2["madvtrace_cap_refused_calls_total"] > v["madvtrace_cap_refused_calls_total"] > 0,
              "the refused tally's calls are not counted as refused")
        pids = {re.search(r'pid="(\d+)"', k).group(1) for k in v2 if
                k.startswith("madvtrace_calls_total{")}
        check(len(pids) == 1 and pids <= {str(p.pid) for p in procs},
              f"series of {pids}, want one of the two tallies")
        log(f"--max-processes 1, two processes: one traced (pid {pids.pop()}), "
            f"processes_refused 1, {v2['madvtrace_cap_refused_calls_total']:.0f} calls refused")
    finally:
        reap([mt] + procs)
        remove_cgroup(cg)


def test(env, args):
    cg = make_cgroup("mt-export")
    procs, mt, prom = [], None, None
    try:
        # a tally in the cgroup before madvtrace starts, waiting for SIGUSR1
        early_out = env.path("early.jsonl")
        early = in_cgroup(cg, [env.wl("tally"), "-w", "60", "-t", "2", "-n", "16", "-o",
                               early_out], stderr=subprocess.PIPE)
        procs.append(early)
        line = mtest.read_line_with_timeout(early.stderr, 10)
        check(line and line.startswith("ready "), f"tally did not say ready: {line!r}")
        early_pid = int(line.split()[1])

        mt, port = start_exporter(env.madvtrace, ["--cgroup", cg, "--grace", str(GRACE),
                                                  "--interval", "0.5"])
        prom = Prom(env, f"127.0.0.1:{port}")
        deadline = time.monotonic() + 10
        while not prom.targets_up():
            check(time.monotonic() < deadline, "Prometheus does not see madvtrace up")
            time.sleep(0.5)
        # picked up before its first own call: its gauges and labels are there
        prom.wait_value(f'count(madvtrace_rss_bytes{{pid="{early_pid}",comm="tally",'
                        f'cgroup="/mt-export-{os.getpid()}",kind="anon"}})', 1)
        # no MADV_FREE yet: smaps_rollup is not read again, LazyFree is 0 and Rss - LazyFree
        # is status's RSS (as /proc says it, within a sample)
        check(prom.value(f'madvtrace_lazyfree_bytes{{pid="{early_pid}"}}') == 0, "LazyFree")
        rml = prom.value(f'madvtrace_rss_minus_lazyfree_bytes{{pid="{early_pid}"}}')
        st = sum(proc_kb(f"/proc/{early_pid}/status", k) for k in ("RssAnon", "RssFile", "RssShmem"))
        check(abs(rml - st) <= (256 << 10), f"Rss - LazyFree {rml}, /proc status's RSS {st}")
        os.kill(early_pid, signal.SIGUSR1)
        check(early.wait(30) == 0, "early tally failed")
        (t,) = mtest.read_tallies(early_out)
        check_tally(prom, t, "tally started before madvtrace")

        # one started after madvtrace, gone before any collector pass could see it
        late_out = env.path("late.jsonl")
        late = in_cgroup(cg, [env.wl("tally"), "-t", "4", "-n", "32", "-o", late_out])
        procs.append(late)
        check(late.wait(30) == 0, "late tally failed")

        # the Go program: lazily released memory, held
        ready = env.path("spike.ready")
        spike = in_cgroup(cg, [args.spike, "-size", "96", "-hold", "60s", "-ready", ready],
                          env_extra={"GODEBUG": "madvdontneed=0"}, stdout=subprocess.DEVNULL)
        procs.append(spike)

        (t,) = mtest.read_tallies(late_out)
        check_tally(prom, t, "tally started after madvtrace")

        deadline = time.monotonic() + 30
        while not os.path.exists(ready):
            check(spike.poll() is None and time.monotonic() < deadline, "spike never got ready")
            time.sleep(0.2)
        sp = spike.pid
        sel = f'pid="{sp}",comm="spike",godebug="madvdontneed=0"'
        deadline = time.monotonic() + 10
        while prom.value(f'madvtrace_lazyfree_bytes{{{sel}}}') in (None, 0.0):
            check(time.monotonic() < deadline, "no LazyFree for the spike in Prometheus")
            time.sleep(0.5)
        time.sleep(2.5)  # the memory is still: two more samples of the same numbers
        lf0 = proc_kb(f"/proc/{sp}/smaps_rollup", "LazyFree")
        anon0 = proc_kb(f"/proc/{sp}/status", "RssAnon")
        lf = prom.value(f'madvtrace_lazyfree_bytes{{{sel}}}')
        anon = prom.value(f'madvtrace_rss_bytes{{{sel},kind="anon"}}')
        rml = prom.value(f'madvtrace_rss_minus_lazyfree_bytes{{{sel}}}')
        lf1 = proc_kb(f"/proc/{sp}/smaps_rollup", "LazyFree")
        anon1 = proc_kb(f"/proc/{sp}/status", "RssAnon")
        rss1 = proc_kb(f"/proc/{sp}/smaps_rollup", "Rss")
        # the runtime's scavenger still releases (and its threads fault) a page now and
        # then between the exporter's last sample and these reads: one sample's slack
        check(min(lf0, lf1) - (256 << 10) <= lf <= max(lf0, lf1) + (256 << 10),
              f"LazyFree: Prometheus {lf}, /proc {lf0} then {lf1}")
        check(min(anon0, anon1) - (256 << 10) <= anon <= max(anon0, anon1) + (256 << 10),
              f"RssAnon: Prometheus {anon}, /proc {anon0} then {anon1}")
        check(abs(rml - (rss1 - lf1)) <= (256 << 10), f"Rss-LazyFree: {rml} vs {rss1 - lf1}")
        check(lf > 64 << 20, f"only {lf} bytes LazyFree after releasing 96 MiB lazily")
        freed = prom.value(f'madvtrace_call_bytes_total{{pid="{sp}",syscall="madvise",'
                           'advice="MADV_FREE"}')
        check(freed and freed >= lf, f"MADV_FREE bytes {freed} < LazyFree {lf}")
        gv = prom.query(f'madvtrace_lazyfree_bytes{{{sel}}}')[0][0].get("go_version", "")
        check(gv.startswith("go1."), f"go_version label {gv!r}")
        log(f"spike (pid {sp}, {gv}): LazyFree {lf / 2**20:.1f} MiB and RssAnon "
            f"{anon / 2**20:.1f} MiB in Prometheus, as /proc says; MADV_FREE "
            f"{freed / 2**20:.1f} MiB counted")

        # an exited process's series go after the grace period
        (t,) = mtest.read_tallies(early_out)
        q = f'madvtrace_calls_total{{pid="{t["pid"]}"}}'
        check(prom.query(q), "the early tally's series are already gone")
        deadline = time.monotonic() + GRACE + 8
        while prom.query(q):
            check(time.monotonic() < deadline,
                  f"the early tally's series still there {GRACE + 8} s after it exited")
            time.sleep(0.5)
        check(prom.value("madvtrace_processes_expired_total") >= 1, "expired count")
        log(f"exited processes' series gone after the {GRACE} s grace period")

        status, ctype, body = http_get(f"http://127.0.0.1:{port}/metrics", 5)
        cp = subprocess.run(["promtool", "check", "metrics"], input=body, text=True,
                            capture_output=True, timeout=30)
        check(cp.returncode == 0, f"promtool check metrics: {cp.stdout}{cp.stderr}")
        _, ctype, om = http_get(f"http://127.0.0.1:{port}/metrics", 5,
                                {"Accept": "application/openmetrics-text; version=1.0.0"})
        check(ctype.startswith("application/openmetrics-text") and om.endswith("# EOF\n"),
              f"no OpenMetrics when asked: {ctype}")
        log("promtool check metrics accepts a scrape; OpenMetrics served when asked")

        bad_requests(port)
        slow_clients(port)
        scrape = prom.value('madvtrace_scrape_duration_seconds')
        check(scrape is not None and scrape < 0.05, f"scrape took {scrape} s")

        mt.send_signal(signal.SIGTERM)
        rc = mt.wait(10)
        err = mt.stderr.read()
        check(rc == 0 and not err.strip(), f"madvtrace exit {rc} on SIGTERM: {err}")
        check(spike.poll() is None, "the spike did not survive madvtrace leaving")
        log("SIGTERM: madvtrace exits 0, the traced Go program runs on")
        check_cap(env)
    finally:
        if prom:
            prom.stop()
        reap([mt] + procs)
        remove_cgroup(cg)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--madvtrace", required=True)
    ap.add_argument("--workloads", required=True)
    ap.add_argument("--spike", default="")
    ap.add_argument("--tally32")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (BPF, cgroups)", file=sys.stderr)
        sys.exit(mtest.SKIP)
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            print(f"SKIP: no {tool} (Debian: prometheus)", file=sys.stderr)
            sys.exit(mtest.SKIP)
    if not args.spike or not os.access(args.spike, os.X_OK):
        print("SKIP: no Go spike (Debian: golang-go)", file=sys.stderr)
        sys.exit(mtest.SKIP)
    if not os.path.isdir("/sys/fs/cgroup/memory"):
        print("SKIP: no cgroup v1 memory controller", file=sys.stderr)
        sys.exit(mtest.SKIP)
    mtest.run_test(lambda: mtest.Env(args), lambda env: test(env, args), args.keep)


if __name__ == "__main__":
    main()
