"""`recon deliver postgres` against the real broker and a real PostgreSQL: the table ends
equal to the ledger to the cent, once per entry, with the offsets stored beside it."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from streams.delivery.breaker import Breaker
from streams.delivery.loop import DeliveryLoop, delivery_group
from streams.delivery.postgres import PostgresTarget
from streams.delivery.target import Position
from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.settings import Settings
from tests.integration.delivery.conftest import local_postgres
from tests.integration.delivery.ledger_feed import (
    LoopThread,
    end_offsets,
    ledger_totals,
    postings,
    publish,
    wait_until,
)
from tests.integration.delivery.processes import recon

pytestmark = pytest.mark.integration

OUTAGE_PORT = 29443  # a server of its own, stopped mid-test: not the session's
OUTAGE_SECONDS = 30.0  # as the issue asks: longer than a session timeout, many probes


def query(settings: Settings, text: str, *args: Any) -> list[tuple[Any, ...]]:
    assert settings.postgres_dsn
    with psycopg.connect(settings.postgres_dsn) as conn:
        statement = sql.SQL(text).format(schema=sql.Identifier(settings.postgres_schema))
        return conn.execute(statement, args).fetchall()


def rows(settings: Settings) -> int:
    try:
        return int(query(settings, "SELECT count(*) FROM {schema}.ledger_entries")[0][0])
    except psycopg.errors.UndefinedTable:
        return 0


def stored_offsets(settings: Settings) -> dict[int, int]:
    found = query(
        settings,
        "SELECT partition, next_offset FROM {schema}.delivery_offsets "
        "WHERE consumer_group = %s AND topic = %s",
        delivery_group(settings, "postgres"),
        settings.topic(t.LEDGER),
    )
    return {int(p): int(o) for p, o in found}


def assert_equal_to_ledger(settings: Settings) -> None:
    """Per (agreement, period, currency): the same sum to the cent and the same number of
    entries; every entry once; offsets stored up to the end of every partition."""
    breaker = Breaker("postgres", Metrics(), 3, 1.0)
    assert settings.postgres_dsn
    target = PostgresTarget(settings.postgres_dsn, settings.postgres_schema, breaker)
    try:
        assert target.totals() == ledger_totals(settings)
    finally:
        target.close()
    ((total, distinct),) = query(
        settings, "SELECT count(*), count(DISTINCT entry_id) FROM {schema}.ledger_entries"
    )
    assert total == distinct
    ends = end_offsets(settings)
    assert {p: o for p, o in stored_offsets(settings).items() if ends[p]} == {
        p: o for p, o in ends.items() if o
    }


def loop_for(settings: Settings, metrics: Metrics) -> LoopThread:
    breaker = Breaker(
        "postgres", metrics, settings.breaker_fail_max, settings.breaker_reset_seconds
    )
    assert settings.postgres_dsn
    target = PostgresTarget(settings.postgres_dsn, settings.postgres_schema, breaker)
    loop = DeliveryLoop(settings, target, breaker, metrics)
    return LoopThread(lambda should_stop: loop.run(should_stop, lambda: None))


def test_every_entry_lands_once_with_its_offsets(delivery_settings: Settings) -> None:
    settings = delivery_settings.with_overrides(deliver_batch_max=200)
    t.create_topics(settings)
    entries = postings(3000)
    sent = publish(settings, entries, duplicate_every=7)  # relay replays: same ids again
    metrics = Metrics()
    loop = loop_for(settings, metrics)
    wait_until(lambda: rows(settings) == len(entries), 120, "every entry in PostgreSQL")
    wait_until(
        lambda: stored_offsets(settings) == {p: o for p, o in end_offsets(settings).items() if o},
        60,
        "offsets",
    )
    loop.stop()
    assert_equal_to_ledger(settings)
    sample = metrics.registry.get_sample_value
    assert sample("recon_delivery_delivered_total", {"target": "postgres"}) == sent
    lag = {
        "group": delivery_group(settings, "postgres"),
        "topic": settings.topic(t.LEDGER),
        "partition": "0",
    }
    assert sample("recon_consumer_lag_records", lag) == 0


def test_a_restart_seeks_to_the_offsets_stored_in_the_database(
    delivery_settings: Settings,
) -> None:
    """Offsets in the table win over the group's commits: a partition whose stored offset
    is already at its end is not read again (here: never read at all)."""
    settings = delivery_settings
    t.create_topics(settings)
    publish(settings, postings(600))
    ends = end_offsets(settings)
    skipped = max(ends, key=lambda p: ends[p])
    metrics = Metrics()
    breaker = Breaker("postgres", metrics, 3, 1.0)
    assert settings.postgres_dsn
    target = PostgresTarget(settings.postgres_dsn, settings.postgres_schema, breaker)
    target.start()
    group = delivery_group(settings, "postgres")
    target.deliver(group, [], [Position(settings.topic(t.LEDGER), skipped, ends[skipped])])
    target.close()
    loop = loop_for(settings, metrics)
    expected = sum(o for p, o in ends.items() if p != skipped)
    wait_until(lambda: rows(settings) == expected, 120, "the other partitions delivered")
    loop.stop()
    ((partitions,),) = query(
        settings, "SELECT array_agg(DISTINCT ledger_partition) FROM {schema}.ledger_entries"
    )
    assert skipped not in partitions and len(partitions) == len([o for o in ends.values() if o]) - 1


def test_postgres_down_mid_stream_pauses_then_resumes_losing_nothing(
    delivery_settings: Settings,
) -> None:
    """The server stopped (immediate shutdown, as a crash) for a while mid-stream: the
    breaker opens, nothing is committed meanwhile, and after the restart the table ends
    equal to the ledger."""
    home = Path(tempfile.mkdtemp(prefix="recon-test-postgres-down-"))
    server = local_postgres(home, OUTAGE_PORT)
    server.start()
    try:
        settings = delivery_settings.with_overrides(postgres_dsn=server.dsn, deliver_batch_max=20)
        t.create_topics(settings)
        entries = postings(4000, seed=3)
        publish(settings, entries)
        metrics = Metrics()
        loop = loop_for(settings, metrics)
        wait_until(lambda: rows(settings) > 200, 120, "delivery under way")
        server.kill()
        sample = metrics.registry.get_sample_value
        wait_until(
            lambda: sample("recon_delivery_breaker_state", {"target": "postgres"}) == 2,
            60,
            "the breaker to open",
        )
        delivered = sample("recon_delivery_delivered_total", {"target": "postgres"})
        time.sleep(OUTAGE_SECONDS)  # paused: nothing delivered, nothing committed
        loop.check_alive()
        assert sample("recon_delivery_delivered_total", {"target": "postgres"}) == delivered
        server.start()
        wait_until(lambda: rows(settings) == len(entries), 180, "every entry after the outage")
        wait_until(
            lambda: sample("recon_delivery_breaker_state", {"target": "postgres"}) == 0,
            30,
            "the breaker to close",
        )
        loop.stop()
        assert_equal_to_ledger(settings)
        # a probe every cool-down (1 s) through the outage, each opening the breaker again
        opened = sample("recon_delivery_breaker_opened_total", {"target": "postgres"}) or 0
        assert opened >= OUTAGE_SECONDS / 3
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


def test_ledger_check_passes_then_finds_a_tampered_cent(delivery_settings: Settings) -> None:
    settings = delivery_settings
    t.create_topics(settings)
    entries = postings(300, seed=12)
    publish(settings, entries, duplicate_every=5)
    loop = loop_for(settings, Metrics())
    wait_until(lambda: rows(settings) == len(entries), 120, "every entry in PostgreSQL")
    loop.stop()
    passed = recon(settings, "ledger", "check", "--against", "postgres")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "equals the ledger topic" in passed.stderr

    victim = entries[42]
    assert settings.postgres_dsn
    with psycopg.connect(settings.postgres_dsn) as conn:
        conn.execute(
            sql.SQL(
                "UPDATE {schema}.ledger_entries SET amount = amount + 0.01 WHERE entry_id = %s"
            ).format(schema=sql.Identifier(settings.postgres_schema)),
            (victim.entry_id,),
        )
    failed = recon(settings, "ledger", "check", "--against", "postgres")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"agreement {victim.agreement_id} period {victim.period} EUR" in failed.stderr
    assert "(difference +0.01)" in failed.stderr
    assert "1 difference(s) against postgres" in failed.stderr


def test_recon_deliver_drain_exits_once_caught_up(delivery_settings: Settings) -> None:
    settings = delivery_settings
    t.create_topics(settings)
    publish(settings, postings(700, seed=13), duplicate_every=4)
    done = recon(settings, "deliver", "postgres", "--drain")
    assert done.returncode == 0, done.stdout + done.stderr
    assert_equal_to_ledger(settings)
