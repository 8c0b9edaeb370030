#!/bin/sh
# Make sure `prometheus` and `promtool` are on the PATH: the test suite starts a real
# Prometheus and checks the shipped alert rules. Installs Debian's `prometheus` package
# when they are missing; fails (never skips) when it cannot.
set -eu
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    exit 0
fi
echo "prometheus/promtool not found: installing Debian's prometheus package" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "error: not root and no sudo: install the prometheus package (apt-get install prometheus)" >&2
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no apt-get: install Prometheus >= 2.42 (prometheus and promtool on the PATH)" >&2
    exit 1
fi
# The package's service must not start (policy-rc.d denies it in containers; tests run
# their own process on a free loopback port with their own storage).
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || {
    echo "error: the prometheus package installed but prometheus/promtool are still missing" >&2
    exit 1
}
