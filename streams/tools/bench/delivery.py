"""Delivery benchmark: N ledger entries delivered from the ledger topic to PostgreSQL and to
a local HTTP journal sink, beside a plain bulk insert (``COPY``) of the same rows into
PostgreSQL, measured in the same run: entries/s and client CPU per entry.

A stage of `recon bench` (``--delivery-entries``, default 1,000,000), or on its own:
``python -m streams.tools.bench.delivery [--entries N]`` on the local broker and
PostgreSQL (or KAFKA_BOOTSTRAP_SERVERS / RECON_POSTGRES_DSN), in topics and a schema of its
own, dropped afterwards. CPU is this process's (user + system): the loop's client side;
the servers' CPU is not in it. Target: delivery to PostgreSQL at least 0.5x the entries/s
of COPY (docs/delivery.md).
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from typing import Any, cast

import psycopg
from psycopg import sql

from streams.broker.postgres import ensure_postgres
from streams.broker.server import ensure_broker
from streams.delivery.breaker import Breaker
from streams.delivery.drain import deliver_until_caught_up
from streams.delivery.erp import ErpTarget
from streams.delivery.postgres import ENTRY_COLUMNS, POSITION_COLUMNS, PostgresTarget
from streams.domain.accrual.postings import EntryKind, Posting
from streams.formats.records import ledger_message
from streams.kafka import clients
from streams.kafka import topics as t
from streams.kafka.clients import admin_client
from streams.observability.metrics import Metrics
from streams.settings import Settings
from streams.tools.bench.procs import BenchError
from streams.tools.bench.report import Report, Target

TARGET_X_COPY = 0.5  # delivery to PostgreSQL / a plain COPY of the same rows
COPY = "COPY baseline"

CREATED = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Measured:
    name: str
    entries: int
    seconds: float
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.entries / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_entry(self) -> float:
        return 1e6 * self.cpu_seconds / self.entries if self.entries else 0.0


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(name: str, entries: int, work: Callable[[], None]) -> Measured:
    wall, cpu = time.perf_counter(), cpu_seconds()
    work()
    return Measured(name, entries, time.perf_counter() - wall, cpu_seconds() - cpu)


def postings(count: int) -> Iterator[Posting]:
    for n in range(count):
        yield Posting(
            entry_id=f"b{n:09d}",
            agreement_id=f"AGR-{n % 997:04d}",
            vendor_id=f"V{n % 997:04d}",
            period=f"2026-{1 + n % 12:02d}",
            kind=EntryKind.ACCRUAL,
            amount=Decimal(n % 100_000 - 20_000).scaleb(-2),
            currency="EUR",
            measure=Decimal(n % 5000),
            posted_total=Decimal(0),
            source_key=f"k{n}",
            correlation_id=f"bench:{n}",
        )


def publish(settings: Settings, count: int) -> None:
    producer = clients.producer(settings, "ingest")
    topic = settings.topic(t.LEDGER)
    for p in postings(count):
        key, value, headers = ledger_message(p, CREATED)
        while True:
            try:
                producer.produce(topic, key=key, value=value, headers=cast("list[Any]", headers))
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)
    if producer.flush(120):
        raise RuntimeError("benchmark entries not all delivered to Kafka")


def copy_rows(dsn: str, schema: str, count: int) -> Callable[[], None]:
    """A plain COPY of the same rows into a table shaped like ledger_entries."""
    ident = sql.Identifier(schema)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL(
                "CREATE TABLE {s}.copy_baseline (LIKE {s}.ledger_entries INCLUDING ALL)"
            ).format(s=ident)
        )
    columns = sql.SQL(", ").join(map(sql.Identifier, ENTRY_COLUMNS + POSITION_COLUMNS))
    statement = sql.SQL("COPY {s}.copy_baseline ({c}) FROM STDIN").format(s=ident, c=columns)

    def work() -> None:
        with psycopg.connect(dsn) as conn, conn.cursor() as cur, cur.copy(statement) as copy:
            for n, p in enumerate(postings(count)):
                copy.write_row(
                    (p.entry_id, p.agreement_id, p.vendor_id, p.period, p.kind.value,
                     p.amount, p.currency, "rebate_receivable", "cogs_vendor_rebates",
                     p.measure, p.posted_total, p.source_key, p.source_file, p.source_line,
                     p.correlation_id, CREATED, "baseline", 0, n)
                )  # fmt: skip

    return work


class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _serve(conn: Connection) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    conn.send(server.server_port)
    server.serve_forever()


def run(settings: Settings, entries: int) -> list[Measured]:
    tag = uuid.uuid4().hex[:8]
    settings = settings.with_overrides(
        topic_prefix=f"bench{tag}",
        app_id=f"recon-bench-{tag}",
        postgres_schema=f"bench_{tag}",
        erp_requests_per_second=0.0,
        erp_records_per_second=0.0,
    )
    ensure_broker(settings)
    dsn = ensure_postgres(settings)
    t.create_topics(settings)
    publish(settings, entries)
    metrics = Metrics()
    results = []
    breaker = Breaker(
        "postgres", metrics, settings.breaker_fail_max, settings.breaker_reset_seconds
    )
    pg = PostgresTarget(dsn, settings.postgres_schema, breaker)
    results.append(
        measure(
            "postgres", entries, lambda: deliver_until_caught_up(settings, pg, breaker, metrics)
        )
    )
    held = sum(n for _, n in pg.totals().values())
    if held != entries:
        raise BenchError(f"delivery benchmark: PostgreSQL holds {held} of {entries} entries")
    receive, send = multiprocessing.Pipe(duplex=False)
    sink = multiprocessing.get_context("fork").Process(target=_serve, args=(send,), daemon=True)
    sink.start()
    try:
        erp_settings = settings.with_overrides(erp_url=f"http://127.0.0.1:{receive.recv()}/j")
        breaker = Breaker("erp", metrics, settings.breaker_fail_max, settings.breaker_reset_seconds)
        erp = ErpTarget(erp_settings, metrics, breaker)
        results.append(
            measure(
                "erp (local HTTP sink)",
                entries,
                lambda: deliver_until_caught_up(erp_settings, erp, breaker, metrics),
            )
        )
    finally:
        sink.kill()
    results.append(measure(COPY, entries, copy_rows(dsn, settings.postgres_schema, entries)))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA {s} CASCADE").format(s=sql.Identifier(settings.postgres_schema))
        )
    admin = admin_client(settings)  # kept: its futures fail once the client is gone
    for future in admin.delete_topics(t.app_topic_names(settings), operation_timeout=30).values():
        future.result()
    return results


def add_stage(report: Report, results: list[Measured]) -> None:
    """The stage's figures and its target in a `recon bench` report."""
    copy = next(r for r in results if r.name == COPY)
    section = f"delivery of {copy.entries:,} ledger entries (ledger topic -> target)"
    for r in results:
        ratio = r.rate / copy.rate if copy.rate else 0.0
        report.add(
            section,
            r.name,
            f"{r.rate:,.0f} entries/s, {r.cpu_us_per_entry:.1f} us CPU per entry, "
            f"{ratio:.2f}x COPY",
        )
    postgres = next(r for r in results if r.name == "postgres")
    report.targets.append(
        Target(
            "delivery to PostgreSQL / a plain COPY of the same rows",
            postgres.rate / copy.rate if copy.rate else None,
            TARGET_X_COPY,
            "x",
            note="entries/s, same run",
        )
    )


def report(results: list[Measured]) -> str:
    copy = next(r for r in results if r.name == COPY)
    lines = [f"{'target':<24}{'entries':>10}{'entries/s':>12}{'CPU us/entry':>14}{'x COPY':>8}"]
    for r in results:
        ratio = r.rate / copy.rate if copy.rate else 0.0
        lines.append(
            f"{r.name:<24}{r.entries:>10,}{r.rate:>12,.0f}{r.cpu_us_per_entry:>14.1f}{ratio:>8.2f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    print(report(run(Settings(), args.entries)))


if __name__ == "__main__":
    main()
