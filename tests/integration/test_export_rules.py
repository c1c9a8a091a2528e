#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""
The shipped Prometheus rules and Grafana dashboard (docs/deploy/): promtool
check rules and promtool test rules pass; the dashboard is JSON with the
fields Grafana's schema needs (unique panel ids, gridPos, refIds, a
Prometheus data source), every query parses as PromQL (promtool, through a
generated rule file), and every series it names is one the rules record or
the exporter renders (loader/export/render.c). No root needed.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import mtest
from mtest import check, log


def promtool(*args, cwd=None):
    cp = subprocess.run(["promtool"] + list(args), capture_output=True, text=True, timeout=60,
                        cwd=cwd)
    check(cp.returncode == 0, f"promtool {' '.join(args)}: {cp.stdout}{cp.stderr}")
    return cp.stdout


def test(src, tmp):
    deploy = os.path.join(src, "docs", "deploy")
    rules = os.path.join(deploy, "prometheus-rules.yml")
    out = promtool("check", "rules", rules)
    log(out.strip().splitlines()[-1].strip())
    promtool("test", "rules", "prometheus-rules.test.yml", cwd=deploy)
    log("promtool test rules: the alerts fire on their pattern, not on an eager releaser")

    with open(os.path.join(deploy, "grafana-dashboard.json")) as f:
        dash = json.load(f)
    for key in ("uid", "title", "schemaVersion", "panels", "templating"):
        check(key in dash, f"dashboard lacks {key}")
    ids = [p["id"] for p in dash["panels"]]
    check(len(ids) == len(set(ids)), f"duplicate panel ids {ids}")
    exprs = []
    for p in dash["panels"]:
        for key in ("type", "title", "gridPos", "targets", "datasource"):
            check(key in p, f"panel {p.get('id')} lacks {key}")
        check(set(p["gridPos"]) >= {"x", "y", "w", "h"}, f"panel {p['id']} gridPos")
        check(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24, f"panel {p['id']} wider than 24")
        refs = [t["refId"] for t in p["targets"]]
        check(len(refs) == len(set(refs)), f"panel {p['id']}: duplicate refIds")
        exprs += [t["expr"] for t in p["targets"]]
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            exprs.append(re.sub(r"label_values\((.*),\s*\w+\)", r"\1", v["definition"]))
    # every query as a recording rule: promtool parses them all
    gen = os.path.join(tmp, "dashboard-exprs.yml")
    with open(gen, "w") as f:
        f.write("groups:\n  - name: dashboard\n    rules:\n")
        for i, e in enumerate(exprs):
            e = e.replace("$pid", ".*").replace("$cgroup", ".*")
            f.write(f"      - record: dashboard:expr{i}\n        expr: {json.dumps(e)}\n")
    promtool("check", "rules", gen)
    # every series named exists: recorded by the rules, or rendered by the exporter
    with open(rules) as f:
        recorded = set(re.findall(r"record:\s*(\S+)", f.read()))
    with open(os.path.join(src, "loader", "export", "render.c")) as f:
        rendered = set(re.findall(r'"(madvtrace_[a-z_]+)"', f.read()))
    with open(rules) as f:
        rule_text = f.read()
    for text in exprs + [rule_text]:
        for name in re.findall(r"\b(madvtrace[:_][a-z0-9_:]+)", text):
            if name.startswith("madvtrace.") or name in ("madvtrace_exporter",):
                continue
            check(name in recorded or name in rendered,
                  f"{name} is neither recorded by the rules nor rendered by the exporter")
    log(f"dashboard: {len(dash['panels'])} panels, {len(exprs)} queries, all PromQL, all "
        "on series that exist")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    if not shutil.which("promtool"):
        print("SKIP: no promtool (Debian: prometheus)", file=sys.stderr)
        sys.exit(mtest.SKIP)
    tmp = tempfile.mkdtemp(prefix="mt-rules-")
    rc = 1
    try:
        test(os.path.abspath(args.source), tmp)
        rc = 0
        log("PASS")
    except mtest.TestFailure as e:
        print(f"FAIL: {e}", file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(rc)


if __name__ == "__main__":
    main()
