"""Start, stop and inspect the embedded single-node KRaft broker (broker + controller)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from streams.broker.maven import fetch_broker_jars, format_storage, java_command
from streams.errors import BrokerError
from streams.settings import Settings

HOST = "127.0.0.1"
STOP_TIMEOUT_SECONDS = 30.0
LOG_TAIL_LINES = 20


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    log_file: Path
    data_dir: Path


def check_cluster(bootstrap: str, timeout: float = 5.0) -> int:
    """The number of brokers a cluster reports; BrokerError if it does not answer in time."""
    # log_level 2 (critical): connection retries while polling are expected, not news.
    admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 2})
    try:
        return len(admin.list_topics(timeout=timeout).brokers)
    except KafkaException as exc:
        raise BrokerError(
            f"Kafka at {bootstrap} did not answer within {timeout:g} s ({exc}): "
            "start it (`recon broker start`) or fix KAFKA_BOOTSTRAP_SERVERS"
        ) from exc


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR: lingering TIME_WAIT connections of a stopped broker must not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return True
            raise BrokerError(f"cannot probe port {port} on {HOST}: {exc}") from exc
    return False


def _can_connect(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


class LocalBroker:
    """The broker under ``settings.broker_dir``: config, data, log file and pid file."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # Absolute: the paths go into server.properties and the JVM's working dir differs.
        self.dir = settings.broker_dir.expanduser().resolve()
        self.data_dir = self.dir / "data"
        self.log_file = self.dir / "broker.log"
        self.pid_file = self.dir / "broker.pid"
        self.properties_file = self.dir / "server.properties"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.settings.broker_port}"

    def render_server_properties(self) -> str:
        port, cport = self.settings.broker_port, self.settings.controller_port
        # Static controller.quorum.voters: formatted without --standalone, one fixed voter.
        # Internal topics (offsets, transactions, share groups) default to 3 replicas: 1 here.
        # group.initial.rebalance.delay.ms=0: tests and the demo consume at once.
        # log.cleaner.dedupe.buffer.size: the 128 MiB default is too much for a small heap.
        # auto.create.topics.enable=false: topics come from `recon topics create`, not typos.
        return f"""\
# Written by recon-streams (streams/broker/server.py) at every start; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@{HOST}:{cport}
listeners=PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{cport}
advertised.listeners=PLAINTEXT://{HOST}:{port}
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={self.data_dir}
num.partitions={self.settings.partitions}
offsets.topic.replication.factor=1
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.cleaner.dedupe.buffer.size=33554432
auto.create.topics.enable=false
"""

    # --- public operations -------------------------------------------------------------

    def start(self) -> bool:
        """Start the broker and wait until it answers; False if it was already running."""
        with self._locked():
            if self._live_pid() is not None:
                self._wait_ready(self.settings.broker_start_timeout_seconds, log_offset=0)
                return False
            for port, what in (
                (self.settings.broker_port, "Kafka client"),
                (self.settings.controller_port, "KRaft controller"),
            ):
                if port_in_use(port):
                    raise BrokerError(
                        f"port {port} ({what} port) on {HOST} is already in use by a process "
                        f"that is not the broker of {self.dir}: stop that process, pick free "
                        "ports with RECON_BROKER_PORT / RECON_CONTROLLER_PORT, or set "
                        "KAFKA_BOOTSTRAP_SERVERS to use an existing cluster"
                    )
            lib = fetch_broker_jars(self.settings.kafka_version)
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self.properties_file.write_text(self.render_server_properties())
            if not (self.data_dir / "meta.properties").exists():
                format_storage(lib, self.properties_file, self.data_dir)
            offset = self.log_file.stat().st_size if self.log_file.exists() else 0
            self._launch(lib)
            try:
                self._wait_ready(self.settings.broker_start_timeout_seconds, log_offset=offset)
            except BaseException:
                self._terminate()  # never leave a half-started broker holding the ports
                raise
            return True

    def stop(self) -> bool:
        """Stop the broker (SIGTERM, then SIGKILL after 30 s); False if it was not running."""
        with self._locked():
            if self._live_pid() is None:
                return False
            self._terminate()
            return True

    def status(self) -> BrokerStatus:
        pid = self._live_pid()
        return BrokerStatus(pid is not None, pid, self.bootstrap, self.log_file, self.data_dir)

    # --- internals -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # Serialises start/stop across processes (two commands, parallel test sessions).
        self.dir.mkdir(parents=True, exist_ok=True)
        with (self.dir / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _launch(self, lib: Path) -> None:
        # Exit on OOM: a dead JVM is reported by `status`, a stuck one is not.
        jvm = (f"-Xmx{self.settings.broker_heap}", "-XX:+ExitOnOutOfMemoryError")
        cmd = java_command(lib, "kafka.Kafka", str(self.properties_file), jvm_options=jvm)
        with self.log_file.open("ab") as log:
            log.write(f"--- recon-streams: starting {' '.join(cmd)}\n".encode())
            log.flush()
            # A session of its own: Ctrl-C in the shell that ran `recon broker start` or
            # pytest must not kill the broker behind our back.
            self._proc = subprocess.Popen(
                cmd, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.pid_file.write_text(f"{self._proc.pid}\n")

    def _wait_ready(self, timeout: float, log_offset: int) -> None:
        deadline = time.monotonic() + timeout
        while True:
            pid = self._live_pid()
            if pid is None:
                raise BrokerError(
                    f"the Kafka broker exited during start-up (Kafka 4 needs Java 17+); "
                    f"see {self.log_file}:\n{self._log_tail(log_offset)}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerError(
                    f"the Kafka broker did not answer on {self.bootstrap} within {timeout:g} s "
                    f"(RECON_BROKER_START_TIMEOUT_SECONDS); see {self.log_file}:\n"
                    f"{self._log_tail(log_offset)}"
                )
            # The client port opens only once the broker is ready; then the admin API must answer.
            if _can_connect(self.settings.broker_port):
                with contextlib.suppress(BrokerError):
                    check_cluster(self.bootstrap, timeout=max(0.5, min(5.0, remaining)))
                    return
            time.sleep(0.2)

    def _log_tail(self, offset: int) -> str:
        try:
            with self.log_file.open("rb") as log:
                log.seek(offset)
                text = log.read().decode(errors="replace")
        except OSError:
            return "(no broker log)"
        return "\n".join(text.strip().splitlines()[-LOG_TAIL_LINES:]) or "(broker log is empty)"

    def _live_pid(self) -> int | None:
        """The pid of this dir's running broker; a stale pid file is removed."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            self.pid_file.unlink(missing_ok=True)
            return None
        if self._proc is not None and self._proc.pid == pid:
            alive = self._proc.poll() is None  # our own child: no /proc guesswork
        else:
            alive = _alive(pid) and self._is_our_broker(pid)
        if alive:
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def _is_our_broker(self, pid: int) -> bool:
        # Guards against pid reuse: the process must be kafka.Kafka run on *our* properties.
        cmdline = Path(f"/proc/{pid}/cmdline")
        if not cmdline.parent.exists():
            return True  # no procfs (macOS): trust the pid file
        try:
            raw = cmdline.read_bytes()
        except OSError:
            return False
        if not raw:  # empty while the process is mid-exec: trust the pid file
            return True
        args = raw.split(b"\0")
        return b"kafka.Kafka" in args and str(self.properties_file).encode() in args

    def _terminate(self) -> None:
        pid = self._proc.pid if self._proc is not None else self._live_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            if not _wait_exit(pid, STOP_TIMEOUT_SECONDS):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                _wait_exit(pid, 10.0)
        if self._proc is not None:
            self._proc.wait(timeout=10.0)  # reap it, and keep Popen from warning
            self._proc = None
        self.pid_file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    # Reap it first if it is our own exited child: a zombie still answers kill(pid, 0).
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, owned by someone else
    if _is_zombie(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # it may have just become our zombie: reap it
        return False
    return True


def _is_zombie(pid: int) -> bool:
    # Exited but not reaped by its parent (say, a pytest session): dead too. Every thread
    # counts: the JVM's main thread shows Z while the others still shut down, holding ports.
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
        return all((t / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z" for t in tasks)
    except (OSError, IndexError):
        return False  # no procfs, or it vanished meanwhile: kill(pid, 0) already decided


def _wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


def ensure_broker(settings: Settings) -> LocalBroker | None:
    """Start the local broker unless KAFKA_BOOTSTRAP_SERVERS names an existing cluster."""
    if not settings.uses_local_broker:
        return None
    broker = LocalBroker(settings)
    broker.start()
    return broker
