#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The ptrace backend's benchmark (issue 4), on the churn loop (mmap 64 KiB,
# touch a page, MADV_FREE/MADV_DONTNEED, munmap: three traced calls per
# iteration):
#   - untraced, under `madvtrace --backend ptrace -o F --`, and under
#     `strace -f --seccomp-bpf -e trace=memory -o F`: median wall time of
#     RUNS runs each, taken in turn, and the ratios;
#   - a loop of getppid() (a call no backend traces) untraced and launched
#     under madvtrace: the speed the seccomp filter leaves (goal >= 0.8x);
#   - attach mode (-p: a stop at every call): churn's iteration rate with
#     and without madvtrace attached.
# It builds nothing: give it a build directory (Release or RelWithDebInfo for
# figures worth writing down). Runs as whoever starts it: the ptrace backend
# needs no privilege.
#
#   bench/ptrace-bench.sh [BUILD_DIR]     (default: build)
#   RUNS=5 N=50000 G=2000000 SECONDS_ATTACH=4 MADVTRACE=path bench/ptrace-bench.sh
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$top/build}
runs=${RUNS:-5}
n=${N:-50000}
g=${G:-2000000}
secs=${SECONDS_ATTACH:-4}
mt=${MADVTRACE:-$build/loader/madvtrace}
churn=$build/tests/churn

die() {
	echo "ptrace-bench: $*" >&2
	exit 1
}
[ -x "$mt" ] || die "$mt is not built"
[ -x "$churn" ] || die "$churn is not built"
command -v strace >/dev/null || die "strace is not installed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

now_ns() {
	date +%s%N
}

# Run a churn command; append "WALL_NS LOOP_NS" (the loop's own clock) to file $1.
timed() {
	local file=$1 t0 t1 loop
	shift
	t0=$(now_ns)
	"$@" >"$tmp/out" 2>"$tmp/err" || {
		cat "$tmp/err" >&2
		die "failed: $*"
	}
	t1=$(now_ns)
	loop=$(sed -n 's/.*"elapsed_ns":\([0-9]*\).*/\1/p' "$tmp/out")
	[ -n "$loop" ] || die "no result from: $*"
	echo "$((t1 - t0)) $loop" >>"$file"
}

# median of column $2 of file $1
median() {
	awk -v c="$2" '{ print $c }' "$1" | sort -n |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : int((v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

secs_of() {
	awk -v ns="$1" 'BEGIN { printf "%.3f", ns / 1e9 }'
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}

echo "ptrace backend benchmark: $(uname -r), $(nproc) CPUs, $runs runs, churn -n $n"
: >"$tmp/untraced"
: >"$tmp/ptrace"
: >"$tmp/strace"
: >"$tmp/g-untraced"
: >"$tmp/g-ptrace"
for ((r = 1; r <= runs; r++)); do
	timed "$tmp/untraced" "$churn" -n "$n"
	timed "$tmp/ptrace" "$mt" --backend ptrace -q -o "$tmp/trace.mtr" -- "$churn" -n "$n"
	timed "$tmp/strace" strace -f --seccomp-bpf -e trace=memory -o "$tmp/strace.txt" \
		"$churn" -n "$n"
	timed "$tmp/g-untraced" "$churn" -g -n "$g"
	timed "$tmp/g-ptrace" "$mt" --backend ptrace -q -o "$tmp/g.mtr" -- "$churn" -g -n "$g"
done
for k in untraced ptrace strace g-untraced g-ptrace; do
	declare "w_${k//-/_}=$(median "$tmp/$k" 1)" "l_${k//-/_}=$(median "$tmp/$k" 2)"
done
records=$("$mt" dump "$tmp/trace.mtr" | wc -l)

# attach mode: iterations per second after the first 500 ms, attached or not
rate() {
	awk '$1 == "progress" && $2 >= 500 { if (!t0) { t0 = $2; i0 = $3 } t = $2; i = $3 }
	     END { printf "%.0f", (t > t0) ? (i - i0) * 1000 / (t - t0) : 0 }' "$1"
}
"$churn" -s "$secs" -p 100 >"$tmp/rate-untraced"
"$churn" -s "$secs" -p 100 >"$tmp/rate-attached" &
cpid=$!
"$mt" --backend ptrace -q -o "$tmp/attach.mtr" -p "$cpid" 2>"$tmp/attach.err" || {
	cat "$tmp/attach.err" >&2
	die "attach failed"
}
wait "$cpid"
ru=$(rate "$tmp/rate-untraced")
ra=$(rate "$tmp/rate-attached")

row() {
	printf '| %-58s | %8s s | %8s s | %s |\n' "$1" "$(secs_of "$2")" "$(secs_of "$3")" "$4"
}
echo
echo "| run (median of $runs)                                        | wall       | loop       | loop vs untraced |"
echo "|------------------------------------------------------------|------------|------------|------------------|"
row "churn -n $n, untraced" "$w_untraced" "$l_untraced" "1.00x"
row "madvtrace --backend ptrace -o F -- churn ($records records)" "$w_ptrace" "$l_ptrace" \
	"$(ratio "$l_ptrace" "$l_untraced")x time"
row "strace -f --seccomp-bpf -e trace=memory -o F churn" "$w_strace" "$l_strace" \
	"$(ratio "$l_strace" "$l_untraced")x time"
echo "| ptrace backend / strace: $(ratio "$l_ptrace" "$l_strace") of strace's loop time, $(ratio "$w_ptrace" "$w_strace") of its wall time |"
row "churn -g -n $g (getppid), untraced" "$w_g_untraced" "$l_g_untraced" "1.00x"
row "madvtrace --backend ptrace -o F -- churn -g" "$w_g_ptrace" "$l_g_ptrace" \
	"$(ratio "$l_g_untraced" "$l_g_ptrace")x speed"
echo "| attach mode (-p): churn iterations/s, untraced $ru, attached $ra: $(ratio "$ra" "$ru")x speed |"
