#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# ustack-bench.sh [BUILD_DIR [CALLS...]]
#
# Times `madvtrace report` unwinding and symbolizing release stacks without
# frame pointers (issue 12): bench/usbench records 4,000 of its own release
# calls with their registers and 8 KiB of stack (thousands of distinct
# stacks, 5 to 20 frames, through madvise and glibc's free), then
# bench/gen_ustack_trace repeats them into traces of CALLS calls (default
# 100000 300000), each of which report unwinds. Prints seconds and the peak
# RSS of the report process, per format. The target: 100,000 stacks in
# under 5 s and 256 MiB (docs/performance.md).
set -euo pipefail

build=${1:-build}
shift || true
if [ $# -gt 0 ]; then calls=("$@"); else calls=(100000 300000); fi
for t in bench/usbench bench/gen_ustack_trace loader/madvtrace; do
	if [ ! -x "$build/$t" ]; then
		echo "ustack-bench: $build/$t not found: build the project first" >&2
		exit 1
	fi
done
if [ ! -x /usr/bin/time ]; then
	echo "ustack-bench: /usr/bin/time not found (Debian package: time)" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$build/bench/usbench" 4000 "$tmp/template.mtr"
printf '%-8s %-6s %9s %10s %10s %12s\n' calls format seconds calls/s "peak RSS" "trace size"
for n in "${calls[@]}"; do
	trace=$tmp/us-$n.mtr
	"$build/bench/gen_ustack_trace" "$tmp/template.mtr" "$n" "$trace"
	size=$(stat -c %s "$trace")
	for fmt in text json; do
		/usr/bin/time -f '%e %M' -o "$tmp/time" "$build/loader/madvtrace" report \
			--format "$fmt" -o "$tmp/out" "$trace"
		read -r secs kib <"$tmp/time"
		awk -v n="$n" -v f="$fmt" -v s="$secs" -v k="$kib" -v z="$size" 'BEGIN {
			printf "%-8d %-6s %9.2f %10.0f %6.1f MiB %8.1f MiB\n", n, f, s, n / (s ? s : 0.01),
				k / 1024, z / 1048576 }'
	done
done
