#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The README's second command: set up, build, and run the whole test suite.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${MT_BUILD_DIR:-$top/build}
"$top/scripts/setup.sh"
[ -x "$top/tests/setup-unpriv-user.sh" ] && "$top/tests/setup-unpriv-user.sh"
ctest --test-dir "$build" --output-on-failure -j1 "$@"
