#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Install the Debian packages madvtrace builds and tests with, then configure
# and build it into build/ (or $MT_BUILD_DIR). Safe to run again.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${MT_BUILD_DIR:-$top/build}

pkgs=(build-essential cmake pkg-config clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev
	libseccomp-dev libcmocka-dev libclang-rt-14-dev gcc-multilib golang-go strace linux-perf python3
	util-linux procps golang-github-prometheus-client-golang-dev libcurl4-openssl-dev libjson-c-dev
	libmicrohttpd-dev prometheus libjemalloc2 libgoogle-perftools4 libmimalloc2.0 libdw-dev
	libiberty-dev jq)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "setup: installing ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)"
