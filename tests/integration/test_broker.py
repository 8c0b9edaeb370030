"""The embedded local broker, for real: it answers, reports itself, and starts idempotently."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from typer.testing import CliRunner

from streams.broker.server import LocalBroker, check_cluster
from streams.cli.broker import app as broker_app
from streams.settings import Settings

pytestmark = pytest.mark.integration

# Ports of the throw-away broker of the lifecycle test; the session broker has 29192/29193.
LIFECYCLE_PORTS = {"broker_port": 29194, "controller_port": 29195}


def _local_only(settings: Settings) -> None:
    if not settings.uses_local_broker:
        pytest.skip("KAFKA_BOOTSTRAP_SERVERS is set: there is no local broker to inspect")


def test_broker_answers(kafka_settings: Settings) -> None:
    metadata = AdminClient({"bootstrap.servers": kafka_settings.bootstrap}).list_topics(timeout=10)
    assert len(metadata.brokers) >= 1
    assert check_cluster(kafka_settings.bootstrap) >= 1


def test_round_trip_on_a_created_topic(isolated_settings: Settings) -> None:
    bootstrap = isolated_settings.bootstrap
    topic = isolated_settings.topic("smoke")
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])[topic].result(
        timeout=15
    )
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce(topic, key=b"k", value=b"hello")
    assert producer.flush(10) == 0

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": isolated_settings.app_id,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.subscribe([topic])
        message = None
        for _ in range(30):
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                break
        assert message is not None and message.value() == b"hello"
    finally:
        consumer.close()


def test_status_reports_running(kafka_settings: Settings) -> None:
    _local_only(kafka_settings)
    status = LocalBroker(kafka_settings).status()
    assert status.running
    assert status.pid is not None
    assert status.bootstrap == kafka_settings.bootstrap
    assert status.log_file.exists()
    assert (status.data_dir / "meta.properties").exists()


def test_second_start_is_a_no_op(kafka_settings: Settings) -> None:
    _local_only(kafka_settings)
    broker = LocalBroker(kafka_settings)
    pid = broker.status().pid
    assert broker.start() is False
    assert broker.status().pid == pid


def test_cli_status_of_the_running_broker(kafka_settings: Settings) -> None:
    _local_only(kafka_settings)
    env = {
        "RECON_HOME": str(kafka_settings.home),
        "RECON_BROKER_PORT": str(kafka_settings.broker_port),
        "KAFKA_BOOTSTRAP_SERVERS": None,
    }
    result = CliRunner().invoke(broker_app, ["status"], env=env)
    assert result.exit_code == 0, result.output
    assert "running" in result.output


def test_cli_status_of_an_external_cluster(kafka_settings: Settings) -> None:
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap}
    result = CliRunner().invoke(broker_app, ["status"], env=env)
    assert result.exit_code == 0, result.output
    assert "answering" in result.output


def test_start_stop_lifecycle(kafka_settings: Settings, tmp_path: Path) -> None:
    """A second, throw-away broker: start, no-op start, stop, and the ports are free again."""
    _local_only(kafka_settings)
    env = {
        "RECON_HOME": str(tmp_path),
        "RECON_BROKER_PORT": str(LIFECYCLE_PORTS["broker_port"]),
        "RECON_CONTROLLER_PORT": str(LIFECYCLE_PORTS["controller_port"]),
        "KAFKA_BOOTSTRAP_SERVERS": None,
    }
    runner = CliRunner()
    broker = LocalBroker(Settings(home=tmp_path, **LIFECYCLE_PORTS))
    try:
        started = runner.invoke(broker_app, ["start"], env=env)
        assert started.exit_code == 0, started.output
        assert "started" in started.output
        pid = broker.status().pid
        assert pid is not None
        again = runner.invoke(broker_app, ["start"], env=env)
        assert "already running" in again.output
        stopped = runner.invoke(broker_app, ["stop"], env=env)
        assert stopped.exit_code == 0, stopped.output
        assert "stopped" in stopped.output
    finally:
        broker.stop()  # no-op unless an assertion above failed
    assert not broker.status().running
    assert not _pid_alive(pid)
    with socket.socket() as sock:  # the client port is free again
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", LIFECYCLE_PORTS["broker_port"]))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
