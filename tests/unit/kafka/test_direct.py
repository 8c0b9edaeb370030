"""Agent outputs through confluent-kafka: a failed delivery fails the batch, and a failed
batch exits the worker before Faust can ack it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from streams.kafka.direct import DeliveryFailed, DirectOutput
from streams.observability.metrics import Metrics
from streams.runtime import agents as records
from streams.settings import Settings

pytestmark = pytest.mark.unit


def test_an_undeliverable_output_fails_the_flush_and_is_counted() -> None:
    metrics = Metrics()
    output = DirectOutput(Settings(bootstrap_servers="127.0.0.1:1"), metrics)
    output.send("recon.outcomes", b"k", b"x" * 2_000_000)  # over message.max.bytes
    with pytest.raises(DeliveryFailed, match=r"recon\.outcomes"):
        asyncio.run(output.flush())
    assert (
        metrics.registry.get_sample_value("recon_producer_errors_total", {"client": "agents"}) == 1
    )
    asyncio.run(output.flush())  # reported once: the next batch starts clean


def test_a_failed_batch_exits_without_returning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    codes: list[int] = []

    def fake_exit(code: int) -> None:
        codes.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(records.os, "_exit", fake_exit)
    with caplog.at_level(logging.CRITICAL), pytest.raises(SystemExit):
        records.exit_without_acking("recon.pos", DeliveryFailed("1 agent outputs not delivered"))
    assert codes == [records.EXIT_BATCH_FAILED]
    assert "recon.pos: a batch failed, exiting without committing it" in caplog.text
