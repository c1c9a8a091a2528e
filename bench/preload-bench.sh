#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The preload agent's cost on the churn loop (tests/workloads/churn.c: mmap
# 64 KiB, touch a page, MADV_FREE or MADV_DONTNEED, munmap: three recorded
# calls and a page fault per iteration), untraced and under the agent:
#
#   untraced   churn alone
#   agent      LD_PRELOAD=libmadvtrace-agent.so MADVTRACE_OUTPUT=t.mtr churn
#   nocatch    the same with MADVTRACE_CATCH=0 (hooks only, no seccomp filter)
#   madvtrace  madvtrace --backend=preload -q -o t.mtr -- churn
#
# Two figures per run: churn's own elapsed time for a fixed number of
# iterations (its start-up and madvtrace's are not in it), and the CPU time
# (user + system) of the process tree, from getrusage(RUSAGE_CHILDREN): on a shared
# machine the CPU time moves less with what else runs. Runs alternate between
# the modes, round after round; each mode's median is compared with the
# untraced median: overhead in percent, and nanoseconds added per recorded
# call (the calls are counted in the trace of the last madvtrace run).
#
#   bench/preload-bench.sh BUILD_DIR [ROUNDS] [ITERATIONS]
#
# BUILD_DIR: a build (Release or RelWithDebInfo for figures worth keeping).
# ROUNDS: default 9. ITERATIONS: default: about one second of untraced churn.
# PRELOAD_BENCH_CPU=N runs everything on CPU N (taskset): no migration
# between CPUs, which on a small shared machine moves the figures by points.
# Runs unprivileged; needs python3.
set -euo pipefail

die() {
	echo "preload-bench: $*" >&2
	exit 1
}

[ $# -ge 1 ] || die "usage: bench/preload-bench.sh BUILD_DIR [ROUNDS] [ITERATIONS]"
build=$(cd "$1" && pwd) || die "no build directory $1"
rounds=${2:-9}
iters=${3:-0}
command -v python3 >/dev/null || die "python3 is needed"
for f in tests/churn loader/madvtrace loader/libmadvtrace-agent.so; do
	[ -e "$build/$f" ] || die "$build/$f is missing: build churn, madvtrace and madvtrace-agent"
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/preload-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

exec python3 - "$build" "$rounds" "$iters" "$tmp" <<'EOF'
import json, os, platform, statistics, subprocess, sys

build, rounds, iters, tmp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
cpu = os.environ.get("PRELOAD_BENCH_CPU")
pin = ["taskset", "-c", cpu] if cpu else []
churn = f"{build}/tests/churn"
madvtrace = f"{build}/loader/madvtrace"
agent = f"{build}/loader/libmadvtrace-agent.so"
trace = f"{tmp}/t.mtr"
MODES = ("untraced", "agent", "nocatch", "madvtrace")


def run(mode, n):
    """churn's elapsed ns in one run."""
    env = dict(os.environ)
    cmd = [churn, "-n", str(n)]
    if mode in ("agent", "nocatch"):
        env.update(LD_PRELOAD=agent, MADVTRACE_OUTPUT=trace)
        if mode == "nocatch":
            env["MADVTRACE_CATCH"] = "0"
    elif mode == "madvtrace":
        cmd = [madvtrace, "--backend=preload", "-q", "-o", trace, "--"] + cmd
    cmd = pin + cmd
    if os.path.exists(trace):
        os.unlink(trace)
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate()
    if p.returncode:
        sys.exit(f"preload-bench: {mode} run failed ({p.returncode}): {err.decode()[-500:]}")
    elapsed = json.loads(out.decode().strip().splitlines()[-1])["elapsed_ns"]
    return elapsed


def run_cpu(mode, n):
    """(elapsed ns, CPU ns of the whole process tree): children's rusage before and after."""
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    elapsed = run(mode, n)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return elapsed, int(cpu * 1e9)


if iters <= 0:
    # about a second untraced: the median of three short runs, scaled
    t = statistics.median(run("untraced", 100000) for _ in range(3))
    iters = int(100000 * 1e9 / t)
print(f"preload-bench: churn -n {iters}, {rounds} rounds of: {' '.join(MODES)}", file=sys.stderr)
res = {m: [] for m in MODES}
for r in range(rounds):
    for m in MODES:
        res[m].append(run_cpu(m, iters))
    print(f"  round {r + 1} done", file=sys.stderr)

dump = subprocess.run([madvtrace, "dump", trace], stdout=subprocess.PIPE, check=True).stdout
calls = sum(1 for l in dump.decode().splitlines()
            if json.loads(l)["type"] in ("mmap", "munmap", "madvise") and '"synth":true' not in l)
want = 3 * iters
load = open("/proc/loadavg").read().split()[:3]
print(f"churn -n {iters} ({want} recorded calls; the last trace holds {calls}): {rounds} "
      f"alternating rounds, medians; {os.cpu_count()} CPUs{f', all on CPU {cpu}' if cpu else ''}, "
      f"load average {' '.join(load)} at the end, kernel {platform.release()}")
print()
print("| mode | elapsed | overhead | ns/call | CPU time | overhead | ns/call |")
print("|------|--------:|---------:|--------:|---------:|---------:|--------:|")
base_e = statistics.median(e for e, _ in res["untraced"])
base_c = statistics.median(c for _, c in res["untraced"])
for m in MODES:
    e = statistics.median(x for x, _ in res[m])
    c = statistics.median(y for _, y in res[m])
    if m == "untraced":
        print(f"| {m} | {e / 1e6:.0f} ms | | | {c / 1e6:.0f} ms | | |")
        continue
    print(f"| {m} | {e / 1e6:.0f} ms | {(e - base_e) / base_e * 100:+.1f} % | "
          f"{(e - base_e) / want:+.0f} | {c / 1e6:.0f} ms | {(c - base_c) / base_c * 100:+.1f} % | "
          f"{(c - base_c) / want:+.0f} |")
EOF
