#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The README's first command: set up, build, and tell madvtrace's main story on
# a real Go service: its /metrics says the heap was released (HeapReleased),
# yet RSS stays high. madvtrace records what happened and reconciles the two,
# on screen and in an SVG.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${MT_BUILD_DIR:-$top/build}
"$top/scripts/setup.sh"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
svc=$build/tests/metricsvc
if [ ! -x "$svc" ]; then
	echo "demo: $svc was not built (it needs golang-go and golang-github-prometheus-client-golang-dev)" >&2
	exit 1
fi
trace=$(mktemp /tmp/madvtrace-demo.XXXXXX.mtr)
svg=${trace%.mtr}.svg
cat <<EOT

== A Go service (tests/go/metricsvc: Prometheus /metrics and expvar) grows its heap to
   256 MiB, drops it and gives it back to the OS. It runs with GODEBUG=madvdontneed=0, as
   Go 1.12-1.15 did by default: the runtime releases with MADV_FREE. madvtrace finds its
   /metrics by itself and puts Go's numbers beside the kernel's.

== madvtrace -o $trace -- metricsvc
EOT
$sudo env GODEBUG=madvdontneed=0 "$build/loader/madvtrace" -o "$trace" -- \
	"$svc" -size 256 -idle 1s -hold 2s -log /dev/null
"$build/loader/madvtrace" report --format svg "$trace" >"$svg"
cat <<EOT

== The picture: madvtrace report --format svg $trace > $svg
   RSS stays up while Go's HeapReleased rises; LazyFree (smaps_rollup) explains the gap,
   and Rss - LazyFree is what the service really holds.

The trace is in $trace: try 'madvtrace report $trace' for the whole timeline, or
'madvtrace dump $trace | jq -c "select(.type==\"gostat\")"' for Go's own numbers as recorded.
EOT
