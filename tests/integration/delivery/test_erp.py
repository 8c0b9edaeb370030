"""`recon deliver erp` against a fault-injecting HTTP server on the real broker: every
entry accepted exactly once after 5xx bursts, resets, slow answers, 429s and lost answers;
the breaker opens and closes again; exhausted retries go to the DLQ and come back with
`recon dlq redrive`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaException

from streams.delivery.breaker import Breaker
from streams.delivery.erp import ErpTarget
from streams.delivery.loop import DeliveryLoop, delivery_group
from streams.formats import avro
from streams.kafka import topics as t
from streams.kafka.read import group_lag
from streams.observability.metrics import Metrics
from streams.ops.dlq import dlq_records
from streams.ops.redrive import redrive
from streams.settings import Settings
from tests.integration.delivery.fault_server import FaultyErp
from tests.integration.delivery.ledger_feed import LoopThread, postings, publish, wait_until
from tests.integration.delivery.processes import Deliverer, recon

pytestmark = pytest.mark.integration

BATCH = 50  # entries per POST


@pytest.fixture
def erp_settings(isolated_settings: Settings) -> Settings:
    return isolated_settings.with_overrides(
        deliver_poll_seconds=0.1,
        deliver_batch_max=200,
        session_timeout_seconds=6.0,
        erp_batch_size=BATCH,
        erp_timeout_seconds=0.5,
        erp_retries=3,
        erp_backoff_base_seconds=0.05,
        erp_backoff_max_seconds=0.5,
        erp_jitter_seconds=0.1,
        erp_requests_per_second=5.0,  # about 30 requests: the bucket runs dry
        erp_records_per_second=5000.0,
        breaker_fail_max=3,
        breaker_reset_seconds=1.0,
    )


def start(settings: Settings, server: FaultyErp, metrics: Metrics) -> LoopThread:
    settings = settings.with_overrides(erp_url=server.url)
    breaker = Breaker("erp", metrics, settings.breaker_fail_max, settings.breaker_reset_seconds)
    loop = DeliveryLoop(settings, ErpTarget(settings, metrics, breaker), breaker, metrics)
    return LoopThread(lambda should_stop: loop.run(should_stop, lambda: None))


def caught_up(settings: Settings) -> bool:
    """The ERP group has committed the end of every partition; False while the cluster
    cannot say (a coordinator moving or loading)."""
    try:
        lags = group_lag(settings, delivery_group(settings, "erp"), [settings.topic(t.LEDGER)])
    except KafkaException:
        return False
    return all(lag.behind == 0 for lag in lags)


def entry_id(dlq_record: dict[str, Any]) -> str:
    """The entry id of a dead-lettered ledger entry, from its original bytes."""
    return str(avro.decode("ledger_entry", bytes(dlq_record["original"]))["entry_id"])


@pytest.fixture
def server_factory() -> Iterator[list[FaultyErp]]:
    servers: list[FaultyErp] = []
    yield servers
    for s in servers:
        s.stop()


def test_every_entry_accepted_exactly_once_through_faults(
    erp_settings: Settings, server_factory: list[FaultyErp], tmp_path: Path
) -> None:
    settings = erp_settings
    t.create_topics(settings)
    entries = postings(1500, seed=9)
    sent = publish(settings, entries, duplicate_every=10)
    # Request 1: 429, 503, reset: the breaker opens (3 failures); the probe after the
    # cool-down is processed but answered too late (slow): open again; the next probe is a
    # replay (409): closed. Request 2 is processed, its answer lost (503), then a 409.
    # Request 3: two 503s, then accepted.
    faults = ["429", "503", "reset", "slow", "ok", "lost", "ok", "503", "503"]
    server = FaultyErp(faults).start()
    server_factory.append(server)
    metrics = Metrics()
    loop = start(settings, server, metrics)
    wait_until(lambda: caught_up(settings), 180, "the ERP group to catch up")
    loop.stop()

    assert set(server.accepted) == {p.entry_id for p in entries}
    assert set(server.accepted.values()) == {1}, "an entry was accepted twice"
    assert server.amounts == {p.entry_id: f"{p.amount:.2f}" for p in entries}
    answers = server.answers()
    assert answers["409"] == 2  # the slow and the lost request, offered again
    assert len(server.posts) == len(server.keys) + len(faults) - 2
    first, second = server.posts[0], server.posts[1]
    assert first[2] == "429" and second[0] - first[0] >= 1.0, "Retry-After not honoured"

    sample = metrics.registry.get_sample_value
    assert sample("recon_delivery_delivered_total", {"target": "erp"}) == sent
    assert sample("recon_delivery_breaker_opened_total", {"target": "erp"}) == 2
    assert sample("recon_delivery_breaker_state", {"target": "erp"}) == 0  # recovered
    assert sample("recon_delivery_retried_total", {"target": "erp"}) == 5
    assert (sample("recon_delivery_rate_limited_seconds_total", {"target": "erp"}) or 0) > 0
    assert not list(dlq_records(settings))

    export = tmp_path / "erp-export.csv"
    server.export(export)
    passed = recon(settings, "ledger", "check", "--against", "erp-export", "--export", str(export))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    server.export(export, leave_out=1)
    failed = recon(settings, "ledger", "check", "--against", "erp-export", "--export", str(export))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "1 difference(s) against erp-export" in failed.stderr


def test_exhausted_and_refused_entries_are_dead_lettered_then_redriven(
    erp_settings: Settings, server_factory: list[FaultyErp]
) -> None:
    """Retries exhausted with the breaker closed: transient_exhausted, redrivable; a 422:
    target_rejected with the response. The rest is delivered; the redriven entries are
    accepted once."""
    settings = erp_settings.with_overrides(breaker_fail_max=10, erp_retries=2)
    t.create_topics(settings)
    entries = postings(400, seed=4)
    publish(settings, entries)
    server = FaultyErp(["503", "503", "503", "422"]).start()
    server_factory.append(server)
    metrics = Metrics()
    loop = start(settings, server, metrics)
    wait_until(lambda: caught_up(settings), 180, "the ERP group to catch up")

    exhausted = list(dlq_records(settings, "transient_exhausted"))
    refused = list(dlq_records(settings, "target_rejected"))
    assert len(exhausted) == BATCH and len(refused) == BATCH
    assert all("3 attempts failed" in r["error"] for r in exhausted)
    assert all("HTTP 422" in r["error"] and "is closed" in r["error"] for r in refused)
    assert all(r["stage"] == "sink" and r["field"] == "entry_id" for r in exhausted + refused)
    refused_ids = {entry_id(r) for r in refused}
    exhausted_ids = {entry_id(r) for r in exhausted}
    assert len(refused_ids) == len(exhausted_ids) == BATCH
    assert all(entry_id(r) in r["error"] for r in exhausted + refused)
    assert not (refused_ids | exhausted_ids) & set(server.accepted)
    sample = metrics.registry.get_sample_value
    failed = {"target": "erp", "category": "transient_exhausted"}
    assert sample("recon_delivery_failed_total", failed) == BATCH

    result = redrive(settings, category="transient_exhausted")
    assert len(result.redriven) == BATCH
    assert result.files == []  # no ingest manifest: the audit stays reconciled
    expected = {p.entry_id for p in entries} - refused_ids
    wait_until(lambda: set(server.accepted) == expected, 120, "the redriven entries")
    loop.stop()
    assert set(server.accepted.values()) == {1}


def test_kill_9_mid_stream_three_times_loses_nothing(
    erp_settings: Settings,
    server_factory: list[FaultyErp],
    deliverers: list[Deliverer],
    tmp_path: Path,
) -> None:
    """`recon deliver erp` killed three times mid-stream, against an ERP that holds
    entry_id unique as required: every entry posted once, none lost, the group caught up.
    Requests cut differently after a restart show up as replayed lines (printed)."""
    server = FaultyErp(["503", "reset"], unique_entries=True).start()
    server_factory.append(server)
    settings = erp_settings.with_overrides(
        erp_url=server.url, deliver_batch_max=100, erp_batch_size=20, erp_requests_per_second=25.0
    )
    t.create_topics(settings)
    entries = postings(5000, seed=31)
    publish(settings, entries, duplicate_every=17)
    log = tmp_path / "deliver.log"
    for kill in range(3):
        run = Deliverer(settings, "erp", log)
        deliverers.append(run)
        before = len(server.accepted)
        wait_until(
            lambda b=before, r=run: len(server.accepted) >= b + 300 or not r.alive(),  # type: ignore[misc]
            180,
            f"progress, kill {kill + 1}",
        )
        assert len(server.accepted) < len(entries), "everything was posted before the kill"
        run.kill_9()
    final = Deliverer(settings, "erp", log)
    deliverers.append(final)
    wait_until(lambda: caught_up(settings) or not final.alive(), 300, "the ERP group to catch up")
    assert final.stop() == 0, f"recon deliver exit status: see {log}"
    assert set(server.accepted) == {p.entry_id for p in entries}
    assert set(server.accepted.values()) == {1}
    assert server.amounts == {p.entry_id: f"{p.amount:.2f}" for p in entries}
    print(f"replayed lines after 3 kills: {server.replayed_lines}, 409s: {server.answers()['409']}")
