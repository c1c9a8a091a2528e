#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# report-bench.sh [BUILD_DIR [EVENTS...]]
#
# Times `madvtrace report` on synthetic traces (bench/gen_bench_trace.c: a
# Go-like service releasing and re-using scattered ranges, with mmap churn
# and rss records) of EVENTS records each (default 100000 1000000 3000000),
# in every output format, and prints events per second and the peak RSS of
# the report process. Peak memory should not grow with the number of events.
# Build with -DCMAKE_BUILD_TYPE=RelWithDebInfo (the default) for figures
# worth recording in docs/performance.md.
set -euo pipefail

build=${1:-build}
shift || true
if [ $# -gt 0 ]; then events=("$@"); else events=(100000 1000000 3000000); fi
gen=$build/bench/gen_bench_trace
if [ ! -x "$gen" ]; then
	echo "report-bench: $gen not found: build the project first (cmake --build $build)" >&2
	exit 1
fi
# `madvtrace report` once the command line has it; the test driver runs the same code
if "$build/loader/madvtrace" report --help >/dev/null 2>&1; then
	report=("$build/loader/madvtrace" report)
elif [ -x "$build/tests/mt_report" ]; then
	report=("$build/tests/mt_report" report)
else
	echo "report-bench: neither madvtrace report nor $build/tests/mt_report works" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run CMD...: prints "seconds peak_rss_bytes" of the command. GNU time reads
# the peak from wait4() of the command itself (a Python wrapper would count
# its own pages too: the child's RSS before exec is the parent's).
if [ ! -x /usr/bin/time ]; then
	echo "report-bench: /usr/bin/time not found (Debian package: time)" >&2
	exit 1
fi
measure() {
	/usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >/dev/null
	awk '{ printf "%s %d\n", $1, $2 * 1024 }' "$tmp/time"
}

printf '%-10s %-9s %9s %12s %10s %12s\n' records format seconds records/s "peak RSS" "trace size"
for n in "${events[@]}"; do
	trace=$tmp/bench-$n.mtr
	got=$("$gen" "$n" "$trace")
	size=$(stat -c %s "$trace")
	for fmt in text json csv svg perfetto; do
		read -r secs rss < <(measure "${report[@]}" --format "$fmt" -o "$tmp/out" "$trace")
		awk -v n="$got" -v f="$fmt" -v s="$secs" -v r="$rss" -v z="$size" 'BEGIN {
			printf "%-10d %-9s %9.3f %12.0f %6.1f MiB %8.1f MiB\n", n, f, s, n / s,
				r / 1048576, z / 1048576 }'
	done
done
