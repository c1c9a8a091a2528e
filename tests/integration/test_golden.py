# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Golden tests of `madvtrace report` (python3 standard library only).

    test_golden.py --report CMD --gen GEN_TRACES --data tests/data/golden
                   [--madvtrace PATH] [--update]

CMD is `mt_report` (or `madvtrace`): it is run as `CMD report ...`. With
--madvtrace, once `madvtrace report` exists, its outputs must be mt_report's.
For every scenario NAME in the data directory:
  - NAME.mtr, committed, must be what gen_traces writes today (the trace
    format is a stable interface: a change here is a format change);
  - the report of NAME.mtr as text, json and csv must equal NAME.txt,
    NAME.json and NAME.csv (reviewed by hand when they were made);
  - the json summary must agree with NAME.expect.json, the figures the
    scenario's author worked out from the calls gen_traces writes;
  - the perfetto and svg outputs must be well-formed and account for every
    call.
Then the bad inputs: missing, truncated, corrupt, newer-version and empty
files, an unknown format, a bad interval. Last, with --madvtrace, the
escaping of names holding any byte: `dump` and `report --format json` must
write them alike.

--update rewrites the committed files from the current code; review the diff.
"""
import argparse
import csv
import difflib
import io
import json
import re
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

# Go's numbers reconciled with the kernel's (gostat and resident records)
GO_SCENARIOS = ("go-recon-lazy", "go-recon-eager", "go-recon-untouched")
# whose verdict speaks of each process that matters, of what the backend could not see,
# and of a C program's allocator (docs/why-rss-lags.md)
VERDICT_SCENARIOS = ("wrapper", "fork2", "preload-go", "c-glibc", "c-glibc-trim", "c-jemalloc",
                     "c-jemalloc-decay0", "c-tcmalloc", "c-tcmalloc-rate", "c-mimalloc",
                     "c-mimalloc-purge")
SCENARIOS = ("go-lazy", "go-eager", "reclaim", "mixed", "stacks") + GO_SCENARIOS + \
    VERDICT_SCENARIOS
FORMATS = (("text", "txt"), ("json", "json"), ("csv", "csv"))
# the Go scenarios' SVG is golden too; every Perfetto output is checked by structure
# (check_perfetto: counters, calls), a golden of it being megabytes of a 1 ms grid
PICTURES = (("svg", "svg"),)


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def run_report(args, report, *opts, ok=True, cwd=None):
    env = dict(os.environ, TZ="UTC", LC_ALL="C")
    p = subprocess.run([os.path.abspath(report), "report", *opts], capture_output=True,
                       text=True, env=env, timeout=60, cwd=cwd)
    if ok and p.returncode != 0:
        raise Failure(f"report {' '.join(opts)} exited {p.returncode}: {p.stderr.strip()}")
    return p


def diff(expected, got, name):
    if expected == got:
        return
    lines = difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                 f"{name} (expected)", f"{name} (got)")
    raise Failure("".join(list(lines)[:80]))


def check_releasers(name, got, want, where="releasers"):
    """Every key of want, at any depth, has that value in got (other keys may be there);
    a list matches item by item."""
    if isinstance(want, list):
        check(isinstance(got, list) and len(got) == len(want),
              f"{name}: {where} is {got!r}, expected {len(want)} items")
        for i, (g, w) in enumerate(zip(got, want)):
            check_releasers(name, g, w, f"{where}[{i}]")
        return
    for key, w in want.items():
        check(key in got, f"{name}: {where} has no {key!r}")
        if isinstance(w, (dict, list)):
            check_releasers(name, got[key], w, f"{where}.{key}")
        else:
            check(got[key] == w, f"{name}: {where}.{key} = {got[key]} != {w}")


def check_expect(name, summary, expect, doc):
    for key, want in expect.items():
        if key in ("releasers", "reconciliation"):
            check(key in doc, f"{name}: the report has no {key!r}")
            check_releasers(name, doc[key], want, key)
            continue
        if key == "calls":
            by = summary["calls"]["by_syscall"]
            for sc, n in want.items():
                check(by[sc]["calls"] == n, f"{name}: {sc} calls {by[sc]['calls']} != {n}")
            continue
        if key == "verdict_names":
            for word in want:
                check(word in summary["verdict"], f"{name}: the verdict does not say {word!r}")
            continue
        if key == "verdict_not":
            for word in want:
                check(word not in summary["verdict"], f"{name}: the verdict says {word!r}")
            continue
        if key == "verdict_order":
            at = [summary["verdict"].find(word) for word in want]
            check(-1 not in at and at == sorted(at),
                  f"{name}: the verdict does not say {want} in that order")
            continue
        check(key in summary, f"{name}: the summary has no {key!r}")
        check(summary[key] == want, f"{name}: summary {key} = {summary[key]} != {want}")


def check_no_go(name, text, csv_text, doc):
    """A trace without gostat records reports as before: no Go keys, columns or sentences."""
    check("reconciliation" not in doc, f"{name}: a reconciliation without gostat records")
    check("go_heap_released_bytes" not in doc["summary"], f"{name}: Go gauges without gostat")
    check("go_heap" not in csv_text.splitlines()[0], f"{name}: Go csv columns without gostat")
    check("HeapReleased" not in text, f"{name}: the text report speaks of HeapReleased")


def check_perfetto(name, text, summary):
    doc = json.loads(text)
    events = doc["traceEvents"]
    calls = 0
    counters = set()
    last = {}
    for e in events:
        check("ph" in e and "pid" in e, f"{name}: perfetto event without ph/pid: {e}")
        if e["ph"] == "C":
            counters.add(e["name"])
            if e["name"] not in last or e["ts"] >= last[e["name"]][0]:
                last[e["name"]] = (e["ts"], e["args"]["bytes"])
            check(list(e["args"]) == ["bytes"], f"{name}: counter args {e['args']}")
        elif e["ph"] == "X":
            check(e["dur"] > 0, f"{name}: slice without duration")
            calls += e["args"]["calls"]
        elif e["ph"] == "i" and e.get("s") == "t":
            calls += 1
    want = sum(v["calls"] for v in summary["calls"]["by_syscall"].values())
    check(calls == want, f"{name}: perfetto has {calls} calls, the summary {want}")
    for c in ("RSS", "committed", "released lazily", "released eagerly", "reserved"):
        check(c in counters, f"{name}: perfetto lacks the {c!r} counter track")
    go = name in GO_SCENARIOS
    for c in ("Go HeapReleased", "Go HeapInuse"):
        check((c in counters) == go, f"{name}: perfetto {'lacks' if go else 'has'} {c!r}")
    # the tracks end where the report ends
    for c, key in (("RSS", "rss_bytes"), ("Go HeapReleased", "go_heap_released_bytes"),
                   ("Go HeapInuse", "go_heap_inuse_bytes")):
        if c in last and summary.get(key) is not None:
            check(last[c][1] == summary[key],
                  f"{name}: perfetto's {c!r} ends at {last[c][1]}, the report's {summary[key]}")


UNITS = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}


def size_of(num, unit):
    return float(num) * UNITS[unit]


def check_svg(name, text, summary):
    root = ET.fromstring(text)
    ns = "{http://www.w3.org/2000/svg}"
    check(root.tag == ns + "svg", f"{name}: not an svg document")
    lines = root.findall(f".//{ns}polyline")
    check(len(lines) >= 2, f"{name}: svg has {len(lines)} series")
    labels = "".join(t.text or "" for t in root.iter(ns + "text"))
    # the figures of its head are the report's own (one decimal, as the text report prints)
    m = re.search(r"RSS ([\d.]+) (B|KiB|MiB|GiB)(?:, LazyFree (?:([\d.]+) (B|KiB|MiB|GiB)|not sampled))?, "
                  r"released lazily ([\d.]+) (B|KiB|MiB|GiB), released eagerly ([\d.]+) "
                  r"(B|KiB|MiB|GiB)", labels)
    check(m, f"{name}: svg head has no end figures: {labels[:300]!r}")
    want = [("RSS", 1, summary["rss_bytes"]), ("LazyFree", 3, summary.get("lazyfree_bytes")),
            ("released lazily", 5, summary["released_lazy_bytes"]),
            ("released eagerly", 7, summary["released_eager_bytes"])]
    for what, g, value in want:
        if m.group(g) is None:
            check(what == "LazyFree", f"{name}: svg head lacks {what}")
            continue
        got = size_of(m.group(g), m.group(g + 1))
        check(value is not None and abs(got - value) <= 0.051 * UNITS[m.group(g + 1)] + 0.5,
              f"{name}: svg says {what} {m.group(g)} {m.group(g + 1)}, the report {value}")
    for word in ("RSS", "MADV_FREE", "MiB"):
        check(word in labels, f"{name}: svg text lacks {word!r}")
    go = name in GO_SCENARIOS
    for word in ("HeapReleased (Go)", "HeapInuse (Go)"):
        check((word in labels) == go, f"{name}: svg legend {'lacks' if go else 'has'} {word!r}")


def golden(args, tmp):
    gen_dir = os.path.join(tmp, "gen")
    os.mkdir(gen_dir)
    subprocess.run([args.gen, gen_dir], check=True)
    for name in SCENARIOS:
        committed = os.path.join(args.data, name + ".mtr")
        fresh = os.path.join(gen_dir, name + ".mtr")
        for suffix in (".mtr", ".expect.json"):
            if args.update:
                shutil.copyfile(os.path.join(gen_dir, name + suffix),
                                os.path.join(args.data, name + suffix))
            with open(os.path.join(gen_dir, name + suffix), "rb") as a, \
                    open(os.path.join(args.data, name + suffix), "rb") as b:
                check(a.read() == b.read(),
                      f"{name}{suffix}: gen_traces writes something else than the committed "
                      "file (a trace format change?); see --update")
        for fmt, ext in FORMATS + (PICTURES if name in GO_SCENARIOS else ()):
            # relative to the data directory: the reports name the file
            got = run_report(args, args.report, "--format", fmt, name + ".mtr",
                             cwd=args.data).stdout
            path = os.path.join(args.data, f"{name}.{ext}")
            if args.update:
                with open(path, "w") as f:
                    f.write(got)
            with open(path) as f:
                diff(f.read(), got, f"{name}.{ext}")
        doc = json.loads(run_report(args, args.report, "-f", "json", fresh).stdout)
        summary = doc["summary"]
        if name not in GO_SCENARIOS:
            check_no_go(name, run_report(args, args.report, fresh).stdout,
                        run_report(args, args.report, "-f", "csv", fresh).stdout, doc)
        with open(os.path.join(args.data, name + ".expect.json")) as f:
            check_expect(name, summary, json.load(f), doc)
        rows = list(csv.DictReader(io.StringIO(
            run_report(args, args.report, "-f", "csv", committed).stdout)))
        check(rows and int(rows[-1]["released_lazy_bytes"]) == summary["released_lazy_bytes"],
              f"{name}: the last csv row is not the end of the trace")
        check_perfetto(name, run_report(args, args.report, "-f", "perfetto", committed).stdout,
                       summary)
        out = os.path.join(tmp, name + ".svg")
        run_report(args, args.report, "-f", "svg", "-o", out, committed)
        with open(out) as f:
            check_svg(name, f.read(), summary)
        print(f"ok {name}")


def expect_error(args, opts, rc, words, name):
    p = run_report(args, args.report, *opts, ok=False)
    check(p.returncode == rc, f"{name}: exit {p.returncode}, expected {rc} ({p.stderr.strip()})")
    lines = p.stderr.strip().splitlines()
    check(len(lines) == 1 and lines[0].startswith("madvtrace: "),
          f"{name}: expected one 'madvtrace: ' line on stderr, got {p.stderr!r}")
    for w in words:
        check(w in lines[0], f"{name}: the message does not say {w!r}: {lines[0]}")
    check(p.stdout == "", f"{name}: printed a report anyway")
    print(f"ok bad input: {name}")


def bad_inputs(args, tmp):
    src = os.path.join(args.data, "go-lazy.mtr")
    with open(src, "rb") as f:
        data = f.read()
    hdr_len = struct.unpack_from("<I", data, 12)[0]

    expect_error(args, [os.path.join(tmp, "missing.mtr")], 1, ["missing.mtr", "No such file"],
                 "missing file")
    empty = os.path.join(tmp, "empty.mtr")
    with open(empty, "wb") as f:
        # the header and an end marker of 0 records (docs/trace-format.md): complete, empty
        f.write(data[:hdr_len] + struct.pack("<I", 40) +
                struct.pack("<QIIHHBBHIIQ", 0, 0, 0, 0x7f02, 40, 0, 0, 0, 0, 0, 0))
    expect_error(args, [empty], 1, ["no records"], "header only")
    zero = os.path.join(tmp, "zero.mtr")
    open(zero, "wb").close()
    expect_error(args, [zero], 1, ["zero.mtr"], "empty file")
    newer = os.path.join(tmp, "newer.mtr")
    with open(newer, "wb") as f:
        f.write(data[:8] + struct.pack("<I", 99) + data[12:])
    expect_error(args, [newer], 1, ["version"], "newer version")
    notrace = os.path.join(tmp, "text.mtr")
    with open(notrace, "w") as f:
        f.write("this is not a trace\n" * 10)
    expect_error(args, [notrace], 1, ["not a madvtrace trace"], "not a trace")
    # a record frame claiming a size smaller than a record header
    corrupt = os.path.join(tmp, "corrupt.mtr")
    with open(corrupt, "wb") as f:
        f.write(data[:hdr_len] + struct.pack("<I", 3) + data[hdr_len + 4:])
    expect_error(args, [corrupt], 1, ["corrupt.mtr"], "corrupt record")
    expect_error(args, ["--format", "pdf", src], 2, ["pdf"], "unknown format")
    expect_error(args, ["--interval", "soon", src], 2, ["soon"], "bad interval")
    expect_error(args, [], 2, ["no trace file"], "no file")
    expect_error(args, [src, src], 2, ["more than one"], "two files")
    # truncated in the middle of a record: a report up to there, a warning, exit 0
    cut = os.path.join(tmp, "cut.mtr")
    with open(cut, "wb") as f:
        f.write(data[:-(44 + 20)])  # 20 bytes into the last record, before the end marker
    p = run_report(args, args.report, "-f", "json", cut, ok=False)
    check(p.returncode == 0, f"truncated: exit {p.returncode}: {p.stderr}")
    check("cut short" in p.stderr and p.stderr.startswith("madvtrace: warning: "),
          f"truncated: no warning: {p.stderr!r}")
    doc = json.loads(p.stdout)
    full = json.loads(run_report(args, args.report, "-f", "json", src).stdout)
    check(doc["trace"]["truncated"] and doc["trace"]["records"] == full["trace"]["records"] - 1,
          "truncated: the report should hold every complete record")
    print("ok bad input: truncated")
    # output to a place that cannot be written
    expect_error(args, ["-o", os.path.join(tmp, "no", "such", "dir.txt"), src], 1, ["dir.txt"],
                 "unwritable output")


# The escaped forms, worked out by hand from docs/dump-format.md: `"` and `\`
# escaped, control characters and bytes that are not UTF-8 as \u00XX, valid
# UTF-8 (here U+00E9 and U+1F600) as is.
ESC_COMM = 'a\\u00ffb\\u0001\\"\\\\c\u00e9'
ESC_EXE = '/opt/\\u00fe\\u007f\\u0009bin\\u00e2\\u0082/\U0001f600prog'


def escapes(args, tmp):
    """A command name and an exe path with any byte: dump and the json report agree."""
    if not args.madvtrace:
        print("note: no --madvtrace: the dump side of the escapes is not tested")
        return
    out = os.path.join(tmp, "esc")
    os.mkdir(out)
    subprocess.run([args.gen, "--escapes", out], check=True)
    trace = os.path.join(out, "escapes.mtr")
    p = subprocess.run([args.madvtrace, "dump", trace], capture_output=True, timeout=60)
    check(p.returncode == 0, f"escapes: dump exited {p.returncode}: {p.stderr!r}")
    dump = p.stdout.decode("utf-8")  # the escaping leaves only UTF-8
    recs = [json.loads(line) for line in dump.splitlines()]
    # bytes: the warning that the exe cannot be opened names it as it is
    p = subprocess.run([os.path.abspath(args.report), "report", "-f", "json", trace],
                       capture_output=True, timeout=60)
    check(p.returncode == 0, f"escapes: report exited {p.returncode}: {p.stderr!r}")
    report = p.stdout.decode("utf-8")
    doc = json.loads(report)
    # the same escaped text, to the byte, in both
    for what, esc, dump_key, report_key in (("comm", ESC_COMM, "comm", "comm"),
                                            ("exe", ESC_EXE, "value", "exe")):
        check(f'"{dump_key}":"{esc}"' in dump, f"escapes: dump does not write the {what} "
              f"as {esc}:\n{dump}")
        check(f'"{report_key}": "{esc}"' in report, f"escapes: the json report does not "
              f"write the {what} as {esc}")
    # and the same string once parsed
    comm = next(r["comm"] for r in recs if r["type"] == "task" and r["event"] == "launch")
    exe = next(r["value"] for r in recs if r["type"] == "info" and r["key"] == "exe")
    check(doc["summary"]["target"]["comm"] == comm,
          f"escapes: comm {doc['summary']['target']['comm']!r} != dump's {comm!r}")
    check(doc["releasers"]["programs"][0]["exe"] == exe,
          f"escapes: exe {doc['releasers']['programs'][0]['exe']!r} != dump's {exe!r}")
    print("ok escapes: dump and report write names alike")


def dispatch(args):
    """Once `madvtrace report` exists, it must print what mt_report prints."""
    if not args.madvtrace:
        return
    p = subprocess.run([args.madvtrace, "report", "--help"], capture_output=True, text=True)
    if p.returncode != 0:
        print("note: madvtrace has no report command yet; tested through mt_report only")
        return
    for name in SCENARIOS:
        for fmt, _ in FORMATS:
            a = run_report(args, args.report, "-f", fmt, name + ".mtr", cwd=args.data).stdout
            b = run_report(args, args.madvtrace, "-f", fmt, name + ".mtr", cwd=args.data).stdout
            check(a == b, f"madvtrace report -f {fmt} {name}.mtr differs from mt_report's")
    expect_error(argparse.Namespace(report=args.madvtrace),
                 ["--format", "pdf", os.path.join(args.data, "go-lazy.mtr")], 2, ["pdf"],
                 "madvtrace report: unknown format")
    print("ok madvtrace report")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report", required=True)
    ap.add_argument("--madvtrace", help="also check `madvtrace report` when it exists")
    ap.add_argument("--gen", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--update", action="store_true")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="mt-golden-")
    try:
        golden(args, tmp)
        bad_inputs(args, tmp)
        dispatch(args)
        escapes(args, tmp)
    except Failure as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("golden: all passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
