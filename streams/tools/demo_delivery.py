"""The demo's delivery step: the ledger, matches and exceptions delivered to the local
PostgreSQL (schema ``demo``, emptied first), then checked against the topics: ledger
totals to the cent (`recon ledger check`), live pairs, document matches and open
exceptions as `recon matches export` folds them."""

from __future__ import annotations

import contextlib

import psycopg
from confluent_kafka import KafkaException
from psycopg import sql
from rich.console import Console

from streams.broker.postgres import ensure_postgres
from streams.delivery.drain import deliver_until_caught_up
from streams.delivery.loop import delivery_group
from streams.delivery.run import build_target
from streams.kafka.clients import admin_client
from streams.observability.metrics import Metrics
from streams.ops.ledger_check import check_against_postgres
from streams.ops.matches import exception_events, live_pairs, match_events, open_exceptions
from streams.ops.threeway_report import live_document_matches
from streams.settings import Settings

SCHEMA = "demo"


def ids(dsn: str, query: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        statement = sql.SQL(query).format(schema=sql.Identifier(SCHEMA))
        return {str(row[0]) for row in conn.execute(statement).fetchall()}


def postgres_report(base: Settings, settings: Settings, out: Console) -> list[str]:
    """Deliver to PostgreSQL and return the differences from the topics."""
    dsn = ensure_postgres(base)
    settings = settings.with_overrides(postgres_dsn=dsn, postgres_schema=SCHEMA)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {s} CASCADE").format(s=sql.Identifier(SCHEMA)))
    admin = admin_client(settings)
    group = delivery_group(settings, "postgres")
    for future in admin.delete_consumer_groups([group], request_timeout=30).values():
        with contextlib.suppress(KafkaException):  # no group yet: nothing to forget
            future.result()
    metrics = Metrics()
    target, breaker = build_target("postgres", settings, metrics, dsn)
    deliver_until_caught_up(settings, target, breaker, metrics)

    problems = [f"postgres: {d.describe()}" for d in check_against_postgres(settings, dsn, metrics)]
    views = {
        "live pairs": (
            ids(dsn, "SELECT subject_id FROM {schema}.live_matches WHERE kind = 'match'"),
            {p["pair_id"] for p in live_pairs(match_events(settings))},
        ),
        "document matches": (
            ids(dsn, "SELECT subject_id FROM {schema}.live_matches WHERE kind = 'document_match'"),
            {m["match_id"] for m in live_document_matches(settings)},
        ),
        "open exceptions": (
            ids(dsn, "SELECT exception_id FROM {schema}.open_exceptions"),
            {e["exception_id"] for e in open_exceptions(exception_events(settings))},
        ),
    }
    for what, (held, expected) in views.items():
        if held != expected:
            problems.append(
                f"postgres: {what}: {len(held - expected)} extra, {len(expected - held)} missing"
            )
    counts = ", ".join(f"{len(held)} {what}" for what, (held, _) in views.items())
    out.print(
        f"[bold]PostgreSQL[/]: ledger, matches and exceptions delivered to {dsn} schema "
        f"{SCHEMA} ({counts}); `recon ledger check --against postgres` with "
        "RECON_TOPIC_PREFIX=demo RECON_APP_ID=recon-demo RECON_POSTGRES_SCHEMA=demo"
    )
    return problems
