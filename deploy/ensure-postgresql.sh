#!/bin/sh
# Make sure PostgreSQL's server binaries (initdb, pg_ctl) are installed: `recon deliver
# postgres` without RECON_POSTGRES_DSN, the demo and the delivery tests start a private
# server with them. Installs Debian's `postgresql` package when they are missing; fails
# (never skips) when it cannot. The package's own cluster service is not used.
set -eu
if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    exit 0
fi
echo "pg_ctl not found: installing Debian's postgresql package" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        echo "error: not root and no sudo: install the postgresql package (apt-get install postgresql)" >&2
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: no apt-get: install PostgreSQL >= 13 (initdb and pg_ctl)" >&2
    exit 1
fi
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || {
    echo "error: the postgresql package installed but pg_ctl is still missing" >&2
    exit 1
}
