#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The README's first command: set up, build, and trace the bundled demo.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${MT_BUILD_DIR:-$top/build}
"$top/scripts/setup.sh"

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
trace=$(mktemp /tmp/madvtrace-demo.XXXXXX.mtr)
echo
echo "== madvtrace -o $trace --live -- demo   (every call as it happens)"
$sudo "$build/loader/madvtrace" -o "$trace" --live -- "$build/tests/demo"
if "$build/loader/madvtrace" report --help >/dev/null 2>&1; then
	echo
	echo "== madvtrace report $trace   (the timeline and why RSS lags)"
	"$build/loader/madvtrace" report "$trace"
fi
echo
echo "The trace is in $trace: try 'madvtrace dump $trace | head' or 'madvtrace report --format svg $trace > demo.svg'."
