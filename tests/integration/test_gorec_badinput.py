#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
--go-metrics given bad input. Attached to a metricsvc that serves and idles,
each of these says one line on stderr and the recording goes on as without
the flag (the periodic samples the drain thread takes are all there, nothing
is lost, the session ends on time):

  an unreachable URL, a 404, an HTML page, a body of 100 MiB (capped), a
  server that never answers.

Refused at the start, one line and exit status 2: --go-metrics on a target
that is not a Go program (launched or attached), a URL that is not http.
"""
import subprocess
import time

import mtest
from mtest import check, log

IV_MS = 200
DURATION = 3


def record(env, svc, name, extra):
    trace = env.path(f"{name}.mtr")
    t0 = time.monotonic()
    cp = mtest.run([env.madvtrace, "-q", "-o", trace, "--smaps-interval", str(IV_MS), "-d",
                    str(DURATION), "-p", str(svc.pid)] + extra, timeout=60)
    wall = time.monotonic() - t0
    check(cp.returncode == 0, f"{name}: {mtest.show(cp)}")
    recs = mtest.dump(env, trace)
    mtest.check_no_lost(recs)
    samples = [r for r in mtest.of_type(recs, "rss", svc.pid) if r.get("reason") == "sample"]
    return cp, recs, len(samples), wall


def go_lines(text):
    return [l for l in mtest.stderr_lines(text) if "Go metrics" in l or "go-metrics" in l]


def refused(env, what, cmd, rx):
    cp = mtest.run([env.madvtrace, "-q", "-o", env.path("refused.mtr")] + cmd, timeout=30)
    lines = mtest.stderr_lines(cp.stderr)
    check(cp.returncode == 2, f"{what}: exit {cp.returncode}, want 2: {cp.stderr}")
    check(len(lines) == 1 and rx in lines[0], f"{what}: want one line with {rx!r}: {lines}")
    log(f"{what}: refused: {lines[0]}")


def test(env):
    bad = mtest.BadMetricsServer()
    svc = mtest.Metricsvc(env, "bad", ["-wait", "120s"])
    try:
        _, base_recs, base_n, base_wall = record(env, svc, "baseline", [])
        check(mtest.of_type(base_recs, "gostat"), "baseline: no gostat record")
        log(f"baseline (no flag): {base_n} smaps samples in {base_wall:.1f} s")
        cases = [
            ("unreachable", f"http://127.0.0.1:{mtest.unused_port()}/metrics", "unreachable"),
            ("404", bad.url("/nothing"), "404"),
            ("html", bad.url("/html"), "not Go numbers"),
            ("100 MiB", bad.url("/big"), "too big"),
            ("never answers", bad.url("/hang"), "no answer in time"),
        ]
        for name, url, word in cases:
            cp, recs, n, wall = record(env, svc, name.replace(" ", "_"), ["--go-metrics", url])
            lines = go_lines(cp.stderr)
            check(len(lines) == 1 and word in lines[0] and url in lines[0],
                  f"{name}: want one line saying {word!r} of {url}: {mtest.stderr_lines(cp.stderr)}")
            check(len(mtest.stderr_lines(cp.stderr)) == 1,
                  f"{name}: more said than the one line: {cp.stderr}")
            check(not mtest.of_type(recs, "gostat"), f"{name}: gostat records from {url}?")
            check(abs(n - base_n) <= 2,
                  f"{name}: {n} smaps samples, {base_n} without the flag: the recording was held up")
            check(wall <= base_wall + 1.5,
                  f"{name}: the session took {wall:.1f} s, {base_wall:.1f} s without the flag")
            check(svc.proc.poll() is None, f"{name}: metricsvc is gone")
            log(f"{name}: one line ({lines[0][:110]}...); {n} samples in {wall:.1f} s")
    finally:
        svc.stop()
        bad.close()

    url = "http://127.0.0.1:9/metrics"
    refused(env, "a launched C program", ["--go-metrics", url, "--", env.wl("churn")],
            "not a Go program")
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        refused(env, "an attached C program", ["--go-metrics", url, "-p", str(sleeper.pid)],
                "not a Go program")
    finally:
        sleeper.kill()
        sleeper.wait()
    for u, word in (("https://127.0.0.1:8443/metrics", "only http://"),
                    ("ftp://127.0.0.1/metrics", "only http://"),
                    ("127.0.0.1:8080", "--go-metrics")):
        refused(env, f"--go-metrics {u}", ["--go-metrics", u, "--", env.metricsvc], word)


if __name__ == "__main__":
    mtest.main_go(test, __doc__)
