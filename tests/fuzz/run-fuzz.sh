#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Usage: run-fuzz.sh BUILD_DIR SECONDS [FUZZER SEEDER MAX_LEN]
#
# Configures a separate clang build with -DMT_FUZZ=ON in BUILD_DIR, builds
# the fuzzer (default: fuzz_reader, the trace reader), seeds a corpus with
# what SEEDER writes (default: fuzz_seeds, valid traces) and fuzzes for
# SECONDS with inputs of up to MAX_LEN bytes (default 16384). Exit status:
# 0 clean, 1 on a crash or build failure, 77 (skipped) when clang or
# libFuzzer is missing (Debian: clang and libclang-rt-dev).
set -eu

if [ $# -ne 2 ] && [ $# -ne 5 ]; then
	echo "usage: $0 BUILD_DIR SECONDS [FUZZER SEEDER MAX_LEN]" >&2
	exit 2
fi
build=$1
secs=$2
fuzzer=${3:-fuzz_reader}
seeder=${4:-fuzz_seeds}
maxlen=${5:-16384}
src=$(cd "$(dirname "$0")/../.." && pwd)

cc=${MT_FUZZ_CC:-}
if [ -z "$cc" ]; then
	for c in clang clang-14; do
		if command -v "$c" >/dev/null 2>&1; then
			cc=$(command -v "$c")
			break
		fi
	done
fi
if [ -z "$cc" ]; then
	echo "run-fuzz.sh: clang not found: fuzzing skipped" >&2
	exit 77
fi

mkdir -p "$build"
build=$(cd "$build" && pwd)
probe="$build/probe"
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { return d && n == 42; }\n' \
	>"$probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$probe.c" -o "$probe" >"$probe.log" 2>&1; then
	cat "$probe.log" >&2
	echo "run-fuzz.sh: $cc cannot link libFuzzer (Debian: apt-get install libclang-rt-dev): fuzzing skipped" >&2
	exit 77
fi

if ! cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DMT_FUZZ=ON >"$build/configure.log" 2>&1; then
	cat "$build/configure.log" >&2
	echo "run-fuzz.sh: configuring the fuzz build failed" >&2
	exit 1
fi
if ! cmake --build "$build" --target "$fuzzer" "$seeder" -j2 >"$build/build.log" 2>&1; then
	cat "$build/build.log" >&2
	echo "run-fuzz.sh: building the fuzzer failed" >&2
	exit 1
fi

# New inputs accumulate in corpus/ across runs; seeds/ is regenerated each time.
rm -rf "$build/seeds" "$build/artifacts"
mkdir -p "$build/seeds" "$build/corpus" "$build/artifacts"
"$build/tests/$seeder" "$build/seeds"

status=0
# inputs of MiB (ELF files): their length grows at once, not over hours
lenctl=""
if [ "$maxlen" -gt 65536 ]; then
	lenctl="-len_control=0"
fi
# libFuzzer's own default error code is 77, which ctest would read as "skipped"
"$build/tests/$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-max_len="$maxlen" $lenctl -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
	-artifact_prefix="$build/artifacts/" "$build/corpus" "$build/seeds" || status=$?
if [ "$status" -ne 0 ] || [ -n "$(ls -A "$build/artifacts")" ]; then
	echo "run-fuzz.sh: the fuzzer found a problem; reproducer(s) in $build/artifacts:" >&2
	ls -l "$build/artifacts" >&2
	exit 1
fi
echo "run-fuzz.sh: no crash in ${secs}s"
