#!/bin/sh
# Make sure PostgreSQL's server binaries (initdb, pg_ctl) are installed: `recon deliver
# postgres` without RECON_POSTGRES_DSN and the delivery tests start a private server with
# them. Installs Debian's `postgresql` package when they are missing; fails (never skips)
# when it cannot. The package's own cluster is not used.
set -eu
if command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    exit 0
fi
echo "pg_ctl not found: installing Debian's postgresql package" >&2
sh "$(dirname "$0")/apt-install.sh" postgresql
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || {
    echo "error: the postgresql package installed but pg_ctl is still missing" >&2
    exit 1
}
