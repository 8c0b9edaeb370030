"""A private local PostgreSQL server, started the way the local Kafka broker is: initdb'd
under ``<home>/postgres`` on first use, listening on 127.0.0.1 only, trust authentication
for the superuser ``recon`` (local and throw-away: the demo and the tests).

PostgreSQL refuses to run as root. When we are root, initdb and pg_ctl run as
``RECON_POSTGRES_USER`` (default ``postgres``, the Debian package's user) through
``runuser``, and the server's directory is owned by that user; every directory above it
must then be searchable by that user. ``RECON_POSTGRES_DSN`` names an existing server
instead, and nothing is started.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from streams.broker.server import port_in_use
from streams.errors import BrokerError
from streams.settings import Settings

HOST = "127.0.0.1"
SUPERUSER = "recon"
START_TIMEOUT_SECONDS = 60
INSTALL_HINT = "install it with deploy/ensure-postgresql.sh (apt-get install -y postgresql)"


def server_bin(name: str) -> Path:
    """``name`` (initdb, pg_ctl) of the newest PostgreSQL installed."""
    found = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path is None:
        raise BrokerError(f"PostgreSQL's {name} is not installed: {INSTALL_HINT}")
    return Path(on_path)


@dataclass(frozen=True)
class PostgresStatus:
    running: bool
    dsn: str
    log_file: Path
    data_dir: Path


class LocalPostgres:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.dir = settings.postgres_dir.expanduser().resolve()
        self.data_dir = self.dir / "data"
        self.log_file = self.dir / "postgres.log"
        self.port = settings.postgres_port
        self.run_as = settings.postgres_user if os.geteuid() == 0 else None

    @property
    def dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/postgres"

    def start(self) -> bool:
        """Start the server (initdb first if there is none) and wait until it accepts
        connections; False if it was already running."""
        with self._locked():
            if self._running():
                return False
            if port_in_use(self.port):
                raise BrokerError(
                    f"port {self.port} on {HOST} is already in use by a process that is not "
                    f"the PostgreSQL of {self.dir} (another checkout's `make demo`?): stop "
                    "that process, pick a free port with RECON_POSTGRES_PORT, or set "
                    "RECON_POSTGRES_DSN to use an existing server"
                )
            self._prepare_dir()
            if not (self.data_dir / "PG_VERSION").exists():
                self._run(
                    server_bin("initdb"),
                    "-D", str(self.data_dir), "-U", SUPERUSER, "--auth=trust",
                    "--encoding=UTF8", "--no-locale", "--no-sync",
                )  # fmt: skip
            options = (
                f"-p {self.port} -c listen_addresses={HOST} -k {self.dir} "
                "-c fsync=on -c max_connections=50"
            )
            self._run(
                server_bin("pg_ctl"), "start", "-D", str(self.data_dir), "-l",
                str(self.log_file), "-w", "-t", str(START_TIMEOUT_SECONDS), "-o", options,
                what=f"start (see {self.log_file})",
            )  # fmt: skip
            return True

    def stop(self) -> bool:
        """Stop the server (fast shutdown); False if it was not running."""
        with self._locked():
            if not self._running():
                return False
            self._run(server_bin("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "fast", "-w")
            return True

    def kill(self) -> None:
        """Stop at once, as a crash would (immediate shutdown: recovery at the next start)."""
        with self._locked():
            if self._running():
                self._run(server_bin("pg_ctl"), "stop", "-D", str(self.data_dir), "-m", "immediate")

    def status(self) -> PostgresStatus:
        return PostgresStatus(self._running(), self.dsn, self.log_file, self.data_dir)

    # --- internals -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _running(self) -> bool:
        if not (self.data_dir / "PG_VERSION").exists():
            return False
        status = subprocess.run(
            self._as_user([str(server_bin("pg_ctl")), "status", "-D", str(self.data_dir)]),
            capture_output=True,
            check=False,
        )
        return status.returncode == 0

    def _prepare_dir(self) -> None:
        if self.run_as is None:
            return
        try:
            user = pwd.getpwnam(self.run_as)
        except KeyError as exc:
            raise BrokerError(
                f"RECON_POSTGRES_USER={self.run_as!r}: no such user (PostgreSQL does not run "
                "as root; the postgresql package creates 'postgres')"
            ) from exc
        for parent in self.dir.parents:
            mode = parent.stat().st_mode
            if not mode & stat.S_IXOTH and parent.stat().st_uid != user.pw_uid:
                raise BrokerError(
                    f"{parent} is not searchable by {self.run_as}, who runs PostgreSQL: put "
                    f"RECON_HOME elsewhere or chmod o+x {parent}"
                )
        for path in (self.dir, *self.dir.rglob("*")):
            os.chown(path, user.pw_uid, user.pw_gid)

    def _as_user(self, cmd: list[str]) -> list[str]:
        return cmd if self.run_as is None else ["runuser", "-u", self.run_as, "--", *cmd]

    def _run(self, binary: Path, *args: str, what: str = "") -> None:
        # A session of its own: Ctrl-C in the shell or pytest must not stop the server.
        proc = subprocess.run(
            self._as_user([str(binary), *args]),
            capture_output=True,
            text=True,
            check=False,
            start_new_session=True,
            cwd=self.dir,
        )
        if proc.returncode != 0:
            raise BrokerError(
                f"PostgreSQL {binary.name} {what or args[0]} failed ({proc.returncode}): "
                f"{(proc.stderr or proc.stdout).strip()[-2000:]}"
            )


def ensure_postgres(settings: Settings) -> str:
    """The DSN to deliver to: RECON_POSTGRES_DSN, else the local server (started)."""
    if settings.postgres_dsn:
        return settings.postgres_dsn
    server = LocalPostgres(settings)
    server.start()
    return server.dsn
