#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The command and the agent built with link-time optimisation, warnings as
# errors: across translation units, GCC then checks that every function and
# object is declared with one type (-Wlto-type-mismatch, C11 6.2.7), which a
# normal build cannot see. Usage: build-lto.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
flags="-flto=auto -Wlto-type-mismatch -Wodr -Werror"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF \
	-DCMAKE_AR="$(command -v gcc-ar)" -DCMAKE_RANLIB="$(command -v gcc-ranlib)" \
	-DCMAKE_C_FLAGS="$flags" -DCMAKE_EXE_LINKER_FLAGS="$flags" \
	-DCMAKE_SHARED_LINKER_FLAGS="$flags" >"$build.log" 2>&1 || {
	cat "$build.log"
	exit 1
}
if ! cmake --build "$build" -j"$(nproc)" --target madvtrace madvtrace-agent >>"$build.log" 2>&1; then
	grep -E "warning|error" "$build.log" | head -40
	echo "FAIL: the LTO build is not clean (full log: $build.log)"
	exit 1
fi
if grep -qiE "warning:" "$build.log"; then
	grep -iE "warning:" "$build.log" | head -40
	echo "FAIL: the LTO build warns"
	exit 1
fi
echo "LTO build clean: madvtrace and the agent"
