#!/bin/sh
# Make sure `prometheus` and `promtool` are on the PATH: the test suite starts a real
# Prometheus and checks the shipped alert rules. Installs Debian's `prometheus` package
# when they are missing; fails (never skips) when it cannot.
set -eu
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    exit 0
fi
echo "prometheus/promtool not found: installing Debian's prometheus package" >&2
sh "$(dirname "$0")/apt-install.sh" prometheus
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || {
    echo "error: the prometheus package installed but prometheus/promtool are still missing" >&2
    exit 1
}
