# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""What the exporter's tests (test_export_*.py) and its benchmark
(bench/export-bench.py) share: the exporter started and serving, a memory
cgroup (v1) of their own, and a real Prometheus scraping the exporter.
python3 standard library only; failures raise mtest.TestFailure."""
import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

from mtest import check, fail, unused_port as free_port  # noqa: F401 (re-exported)

CG_V1 = "/sys/fs/cgroup/memory"


def http_get(url, timeout=5, headers=None):
    """(status, Content-Type, body) of a GET; urllib's errors as they come."""
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def scrape(port, timeout=5):
    """The body of one GET /metrics of the exporter at port."""
    return http_get(f"http://127.0.0.1:{port}/metrics", timeout)[2]


def start_exporter(madvtrace, args, stdout=subprocess.DEVNULL, timeout=15):
    """madvtrace --metrics on a free loopback port with args, once it serves /metrics:
    (its Popen, with stderr a pipe, and the port)."""
    port = free_port()
    mt = subprocess.Popen([madvtrace, "--metrics", f"127.0.0.1:{port}"] + args,
                          stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE,
                          text=True)
    deadline = time.monotonic() + timeout
    while True:
        if mt.poll() is not None:
            fail(f"madvtrace --metrics exited: {mt.stderr.read()}")
        try:
            scrape(port, 2)
            return mt, port
        except OSError:  # URLError and the connection's errors
            check(time.monotonic() < deadline, f"madvtrace not serving within {timeout} s")
            time.sleep(0.05)


def make_cgroup(name):
    """A new v1 memory cgroup of this process: its path."""
    cg = f"{CG_V1}/{name}-{os.getpid()}"
    os.mkdir(cg)
    return cg


def remove_cgroup(cg, timeout=10):
    """rmdir a cgroup: it can be removed once its last task is reaped."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            os.rmdir(cg)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def in_cgroup(cg, cmd, env_extra=None, **kw):
    """Start cmd inside cgroup cg: a shell moves itself in, then execs it."""
    env = dict(os.environ, **(env_extra or {}))
    return subprocess.Popen(["sh", "-c", f'echo $$ > "{cg}/cgroup.procs" && exec "$@"', "sh"] + cmd,
                            env=env, stdin=subprocess.DEVNULL, **kw)


def reap(procs):
    """Kill what still runs of procs (None entries allowed) and wait for all."""
    for p in procs:
        if p is None:
            continue
        if p.poll() is None:
            p.kill()
        p.wait()


class Prom:
    """Debian's prometheus, scraping target every second, on a free port."""

    def __init__(self, env, target):
        self.port = free_port()
        self.dir = env.path("prom")
        os.makedirs(self.dir)
        cfg = os.path.join(self.dir, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\n"
                    "scrape_configs:\n  - job_name: madvtrace\n"
                    f"    static_configs:\n      - targets: ['{target}']\n")
        self.log = open(os.path.join(self.dir, "log"), "w")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if http_get(f"http://127.0.0.1:{self.port}/-/ready", 2)[0] == 200:
                    return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            if self.proc.poll() is not None:
                fail("prometheus exited at start")
            time.sleep(0.2)
        fail("prometheus not ready within 30 s")

    def query(self, q):
        url = f"http://127.0.0.1:{self.port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
        _, _, body = http_get(url, 5)
        r = json.loads(body)
        check(r["status"] == "success", f"query {q}: {r}")
        return [(s["metric"], float(s["value"][1])) for s in r["data"]["result"]]

    def series(self, q, t0, t1, step):
        """{time: value} of the one series q returns over [t0, t1]."""
        url = (f"http://127.0.0.1:{self.port}/api/v1/query_range?" +
               urllib.parse.urlencode({"query": q, "start": t0, "end": t1, "step": step}))
        _, _, body = http_get(url, 5)
        r = json.loads(body)
        check(r["status"] == "success", f"query_range {q}: {r}")
        res = r["data"]["result"]
        check(len(res) == 1, f"query_range {q}: {len(res)} series")
        return {round(t, 3): float(v) for t, v in res[0]["values"]}

    def value(self, q):
        res = self.query(q)
        return res[0][1] if len(res) == 1 else None

    def wait_value(self, q, want, timeout=6):
        deadline = time.monotonic() + timeout
        got = None
        while time.monotonic() < deadline:
            got = self.value(q)
            if got == want:
                return
            time.sleep(0.5)
        fail(f"Prometheus: {q} = {got}, the workload says {want}")

    def targets_up(self):
        return self.value('up{job="madvtrace"}') == 1

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
