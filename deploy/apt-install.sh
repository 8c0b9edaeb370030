#!/bin/sh
# Install Debian packages (`sh deploy/apt-install.sh PACKAGE...`) as root, or through sudo;
# the ensure-*.sh scripts call it when a tool the tests need is missing. Fails, never skips.
# A package's own service does not start (policy-rc.d denies it in containers; the tests
# run their own processes on their own ports and data).
set -eu
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "error: not root and no sudo: install $* (apt-get install $*)" >&2
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no apt-get: install $* with this system's package manager" >&2
    exit 1
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
