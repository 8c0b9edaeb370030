"""The local broker's config, pid and port handling, and jar fetching — without Java."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.broker import maven
from streams.broker import server as broker_server
from streams.broker.server import LocalBroker, ensure_broker
from streams.cli.broker import app as broker_app
from streams.errors import BrokerError
from streams.settings import Settings

pytestmark = pytest.mark.unit


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def no_java(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if it gets as far as fetching jars or running Java."""

    def refuse(version: str) -> Path:
        raise AssertionError("unit tests must not fetch jars or start Java")

    monkeypatch.setattr(broker_server, "fetch_broker_jars", refuse)


def test_server_properties_use_ports_and_dirs(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, broker_port=40001, controller_port=40002)
    props = _properties(LocalBroker(settings).render_server_properties())

    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:40002"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:40001,CONTROLLER://127.0.0.1:40002"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:40001"
    assert props["log.dirs"] == str(tmp_path.resolve() / "broker" / "data")
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.min.isr"] == "1"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "false"


def test_relative_home_becomes_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The JVM runs in another working dir, so log.dirs must not be relative.
    monkeypatch.chdir(tmp_path)
    broker = LocalBroker(Settings(home=Path(".recon"), broker_port=29092))
    assert broker.dir == tmp_path.resolve() / ".recon" / "broker"
    assert Path(_properties(broker.render_server_properties())["log.dirs"]).is_absolute()
    assert broker.bootstrap == "127.0.0.1:29092"


def test_status_when_never_started(tmp_path: Path) -> None:
    status = LocalBroker(Settings(home=tmp_path, broker_port=40011)).status()
    assert not status.running
    assert status.pid is None
    assert status.bootstrap == "127.0.0.1:40011"
    assert status.log_file == tmp_path.resolve() / "broker" / "broker.log"


@pytest.mark.parametrize("content", ["dead", "not-a-pid", ""])
def test_stale_pid_file_is_cleaned_up(tmp_path: Path, content: str) -> None:
    broker = LocalBroker(Settings(home=tmp_path))
    broker.dir.mkdir(parents=True)
    if content == "dead":
        exited = subprocess.Popen([sys.executable, "-c", "pass"])
        exited.wait()
        content = str(exited.pid)
    broker.pid_file.write_text(content)

    assert not broker.status().running
    assert not broker.pid_file.exists()
    assert broker.stop() is False


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs procfs")
def test_pid_file_of_another_live_process_is_stale(tmp_path: Path) -> None:
    # A reused pid (here: pytest itself) is not our broker and must not be signalled.
    broker = LocalBroker(Settings(home=tmp_path))
    broker.dir.mkdir(parents=True)
    broker.pid_file.write_text(str(os.getpid()))
    assert broker.stop() is False
    assert not broker.pid_file.exists()


@pytest.mark.parametrize("which", ["broker_port", "controller_port"])
@pytest.mark.usefixtures("no_java")
def test_start_refuses_a_port_in_use(tmp_path: Path, which: str) -> None:
    ports = {"broker_port": _free_port(), "controller_port": _free_port()}
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports[which]))
        squatter.listen()
        broker = LocalBroker(Settings(home=tmp_path, **ports))
        with pytest.raises(BrokerError, match=f"port {ports[which]} .*already in use"):
            broker.start()
    assert not broker.pid_file.exists()


def test_ensure_broker_does_nothing_for_an_external_cluster(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, bootstrap_servers="kafka.example:9092")
    assert ensure_broker(settings) is None
    assert not (tmp_path / "broker").exists()


# --- jar fetching, with a fake mvn -------------------------------------------------------

FAKE_MVN = """#!/bin/sh
echo run >> "{calls}"
for arg in "$@"; do
  case "$arg" in -DoutputDirectory=*) out="${{arg#-DoutputDirectory=}}";; esac
done
{body}
"""


@pytest.fixture
def fake_bin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A PATH of its own (holding a fake java) and an empty XDG cache."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _script(bin_dir / "java", "#!/bin/sh\nexit 0\n")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    yield bin_dir


def _script(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def _fake_mvn(bin_dir: Path, body: str) -> Path:
    calls = bin_dir.parent / "mvn-calls"
    _script(bin_dir / "mvn", FAKE_MVN.format(calls=calls, body=body))
    return calls


def test_fetch_caches_the_lib_dir(fake_bin: Path, tmp_path: Path) -> None:
    calls = _fake_mvn(fake_bin, '/bin/mkdir -p "$out" && : > "$out/kafka_2.13-9.9.9.jar"')

    lib = maven.fetch_broker_jars("9.9.9")
    assert lib == tmp_path / "cache" / "recon-streams" / "kafka-9.9.9" / "lib"
    assert (lib / "kafka_2.13-9.9.9.jar").exists()
    assert maven.fetch_broker_jars("9.9.9") == lib
    assert calls.read_text().count("run") == 1  # the second call used the cache


def test_fetch_redoes_an_unfinished_copy(fake_bin: Path, tmp_path: Path) -> None:
    calls = _fake_mvn(fake_bin, '/bin/mkdir -p "$out" && : > "$out/kafka_2.13-9.9.9.jar"')
    half_done = tmp_path / "cache" / "recon-streams" / "kafka-9.9.9" / "lib"
    half_done.mkdir(parents=True)  # a lib dir without the marker: a copy cut short

    assert (maven.fetch_broker_jars("9.9.9") / "kafka_2.13-9.9.9.jar").exists()
    assert calls.read_text().count("run") == 1


def test_fetch_reports_mvn_failure_with_its_output(fake_bin: Path) -> None:
    _fake_mvn(fake_bin, "echo 'Could not resolve org.apache.kafka:kafka_2.13:0.0.1'\nexit 1")
    with pytest.raises(BrokerError, match=r"(?s)exit 1.*Could not resolve"):
        maven.fetch_broker_jars("0.0.1")
    assert not (maven.cache_root() / "kafka-0.0.1" / maven.MARKER).exists()


def test_fetch_without_mvn_says_what_to_install(fake_bin: Path) -> None:
    with pytest.raises(BrokerError, match="mvn was not found"):
        maven.fetch_broker_jars("9.9.9")


def test_fetch_without_java_says_what_to_install(fake_bin: Path) -> None:
    (fake_bin / "java").unlink()
    with pytest.raises(BrokerError, match="java was not found"):
        maven.fetch_broker_jars("9.9.9")


def test_fetch_rejects_a_bad_version() -> None:
    with pytest.raises(BrokerError, match="invalid Kafka version"):
        maven.fetch_broker_jars("../../etc")


# --- CLI -----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["start", "stop"])
def test_cli_does_nothing_for_an_external_cluster(command: str, tmp_path: Path) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": "kafka.example:9092", "RECON_HOME": str(tmp_path)}
    result = CliRunner().invoke(broker_app, [command], env=env)
    assert result.exit_code == 0, result.output
    assert "external cluster configured" in result.output
    assert not (tmp_path / "broker").exists()


def test_cli_status_of_a_stopped_broker_exits_1(tmp_path: Path) -> None:
    env = {
        "RECON_HOME": str(tmp_path),
        "RECON_BROKER_PORT": str(_free_port()),
        "KAFKA_BOOTSTRAP_SERVERS": None,  # unset: the local broker, whatever the caller's env
    }
    result = CliRunner().invoke(broker_app, ["status"], env=env)
    assert result.exit_code == 1
    assert "not running" in result.output
