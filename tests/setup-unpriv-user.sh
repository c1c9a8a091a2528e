#!/usr/bin/env bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Create the unprivileged user the ptrace backend's tests run madvtrace as
# (MT_TEST_USER, default mtuser): no password, no home, no login shell.
# Safe to run again; needs root only when the user is missing.
set -euo pipefail
user=${MT_TEST_USER:-mtuser}
if id -u "$user" >/dev/null 2>&1; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "setup-unpriv-user: user $user is missing and only root can create it" >&2
	exit 1
fi
useradd --system --user-group --no-create-home --home-dir /nonexistent \
	--shell /usr/sbin/nologin "$user"
echo "setup-unpriv-user: created user $user ($(id "$user"))"
