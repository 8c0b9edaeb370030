"""The PostgreSQL target: ledger entries upserted on entry_id, with the consumed offsets in
the same transaction, so the database holds each entry once whatever crashes when.

Tables (schema ``RECON_POSTGRES_SCHEMA``, default ``recon``; docs/delivery.md):

- ``ledger_entries``: one row per entry_id; an entry already there is left as it is
  (entries are immutable: an id always carries the same amount, docs/domain.md §3.7);
- ``match_events``, ``exception_events`` (and the views ``live_matches``,
  ``open_exceptions``): the matches and exceptions topics, one row per event id
  (``pg_events``);
- ``delivery_offsets``: per (consumer group, topic, partition) the next offset to read.
  It only moves forward; a restarted ``recon deliver postgres`` seeks there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeVar

import psycopg
from psycopg import errors, sql

from streams.delivery.breaker import Breaker, BreakerOpen
from streams.delivery.pg_events import EVENT_DDL, event_row, insert_statements
from streams.delivery.pg_ledger import COPY_LINE, copy_reader
from streams.delivery.target import (
    LEDGER_SCHEMA,
    Delivered,
    Entry,
    Position,
    Readers,
    TargetUnavailable,
)
from streams.errors import DeliveryError
from streams.kafka import topics as t

log = logging.getLogger(__name__)

T = TypeVar("T")

CONNECT_TIMEOUT_SECONDS = 5
DDL_LOCK = 0x7265636F6E  # pg_advisory_xact_lock key: one CREATE at a time ("recon")

# Columns of ledger_entries that come straight from the Avro ledger_entry.
ENTRY_COLUMNS = (
    "entry_id",
    "agreement_id",
    "vendor_id",
    "period",
    "kind",
    "amount",
    "currency",
    "debit_account",
    "credit_account",
    "measure",
    "posted_total",
    "source_key",
    "source_file",
    "source_line",
    "correlation_id",
    "created_at",
)
POSITION_COLUMNS = ("ledger_topic", "ledger_partition", "ledger_offset")

DDL = """
CREATE SCHEMA IF NOT EXISTS {schema};
CREATE TABLE IF NOT EXISTS {schema}.ledger_entries (
    entry_id         text PRIMARY KEY,
    agreement_id     text NOT NULL,
    vendor_id        text NOT NULL,
    period           text NOT NULL,
    kind             text NOT NULL,
    amount           numeric(18, 2) NOT NULL,
    currency         text NOT NULL,
    debit_account    text NOT NULL,
    credit_account   text NOT NULL,
    measure          numeric(24, 6) NOT NULL,
    posted_total     numeric(18, 2) NOT NULL,
    source_key       text NOT NULL,
    source_file      text NOT NULL,
    source_line      bigint NOT NULL,
    correlation_id   text NOT NULL,
    created_at       timestamptz NOT NULL,
    ledger_topic     text NOT NULL,
    ledger_partition integer NOT NULL,
    ledger_offset    bigint NOT NULL,
    delivered_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ledger_ledgeragreement_period
    ON {schema}.ledger_entries (agreement_id, period);
CREATE TABLE IF NOT EXISTS {schema}.delivery_offsets (
    consumer_group text NOT NULL,
    topic          text NOT NULL,
    partition      integer NOT NULL,
    next_offset    bigint NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, topic, partition)
);
"""


def copy_line(e: Entry) -> bytes:
    """The entry's line of COPY text (ENTRY_COLUMNS then POSITION_COLUMNS); topic names
    hold nothing COPY must escape."""
    line: bytes = e.record[COPY_LINE]
    return b"%s\t%s\t%d\t%d\n" % (line, e.topic.encode(), e.partition, e.offset)


class PostgresTarget:
    name = "postgres"
    topics: tuple[str, ...] = (t.LEDGER, t.MATCHES, t.EXCEPTIONS)
    stores_positions = True
    # Ledger entries read straight into COPY text: see pg_ledger.
    readers: Readers = MappingProxyType({LEDGER_SCHEMA: copy_reader(ENTRY_COLUMNS)})

    def __init__(self, dsn: str, schema: str, breaker: Breaker) -> None:
        self.dsn = dsn
        self.schema = sql.Identifier(schema)
        self.breaker = breaker
        self._conn: psycopg.Connection[Any] | None = None
        self._staged = False  # the session's staging table exists
        # A batch is COPYed straight into ledger_entries (in a savepoint) while the last
        # batch held no entry the table already had: COPY fails on a duplicate entry_id,
        # so a COPY that succeeds wrote exactly what the merge would have. Replays (after
        # a crash upstream, a rebalance) switch to the merge until a batch holds none.
        self._direct = True
        columns = sql.SQL(", ").join(map(sql.Identifier, ENTRY_COLUMNS + POSITION_COLUMNS))
        self._stage = sql.SQL(
            "CREATE TEMPORARY TABLE incoming (LIKE {schema}.ledger_entries INCLUDING DEFAULTS) "
            "ON COMMIT DELETE ROWS"
        ).format(schema=self.schema)
        self._events = insert_statements(self.schema)
        self._copy = sql.SQL("COPY incoming ({columns}) FROM STDIN").format(columns=columns)
        self._copy_direct = sql.SQL("COPY {schema}.ledger_entries ({columns}) FROM STDIN").format(
            schema=self.schema, columns=columns
        )
        self._merge = sql.SQL(
            "INSERT INTO {schema}.ledger_entries ({columns}) SELECT {columns} FROM incoming "
            "ON CONFLICT (entry_id) DO NOTHING"
        ).format(schema=self.schema, columns=columns)
        self._offsets = sql.SQL(
            "INSERT INTO {schema}.delivery_offsets "
            "(consumer_group, topic, partition, next_offset) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (consumer_group, topic, partition) DO UPDATE SET "
            "next_offset = GREATEST(delivery_offsets.next_offset, EXCLUDED.next_offset), "
            "updated_at = now()"
        ).format(schema=self.schema)

    # --- Target --------------------------------------------------------------------------

    def start(self) -> None:
        def create() -> None:
            with self._connection().transaction():
                conn = self._connection()
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK,))
                conn.execute(sql.SQL(DDL).format(schema=self.schema))  # type: ignore[arg-type]
                conn.execute(sql.SQL(EVENT_DDL).format(schema=self.schema))  # type: ignore[arg-type]

        self._call(create)

    def stored_positions(self, group: str, topic: str) -> dict[int, int]:
        def read() -> dict[int, int]:
            rows = (
                self._connection()
                .execute(
                    sql.SQL(
                        "SELECT partition, next_offset FROM {schema}.delivery_offsets "
                        "WHERE consumer_group = %s AND topic = %s"
                    ).format(schema=self.schema),
                    (group, topic),
                )
                .fetchall()
            )
            return {int(p): int(o) for p, o in rows}

        return self._call(read)

    def deliver(
        self,
        group: str,
        entries: list[Entry],
        positions: list[Position],
        meanwhile: Callable[[], None] | None = None,
    ) -> Delivered:
        def write() -> None:
            conn = self._connection()
            with conn.transaction(), conn.cursor() as cur:
                events: dict[str, list[tuple[Any, ...]]] = {}
                for e in entries:
                    if e.schema != LEDGER_SCHEMA:
                        table, row = event_row(e)
                        events.setdefault(table, []).append(row)
                for table, rows in events.items():
                    cur.executemany(self._events[table], rows)
                lines = [copy_line(e) for e in entries if e.schema == LEDGER_SCHEMA]
                if lines:
                    self._write_ledger(conn, cur, b"".join(lines), len(lines), meanwhile)
                cur.executemany(
                    self._offsets, [(group, p.topic, p.partition, p.offset) for p in positions]
                )

        self._call(write)
        return Delivered(accepted=len(entries))

    def _write_ledger(
        self,
        conn: psycopg.Connection[Any],
        cur: psycopg.Cursor[Any],
        text: bytes,
        rows: int,
        meanwhile: Callable[[], None] | None,
    ) -> None:
        """Insert the ``rows`` lines of COPY ``text``, leaving an entry_id already held as
        it is (entries are immutable).

        A COPY into ledger_entries is the bulk insert itself; without the staging table and
        the merge (each about as costly as the COPY) the batch costs a third. It is tried
        in a savepoint: a duplicate entry_id undoes it and the batch goes through the merge
        (ON CONFLICT DO NOTHING), so the outcome is the same either way."""
        if self._direct:
            try:
                with conn.transaction(), cur.copy(self._copy_direct) as copy:
                    copy.write(text)
                    if meanwhile is not None:
                        # The rows are on their way: the server inserts them while the
                        # caller decodes its next batch, instead of one waiting on the other.
                        meanwhile()
                return
            except errors.UniqueViolation:
                self._direct = False  # replays: merge until a batch holds none
        if not self._staged:
            cur.execute(self._stage)
            self._staged = True
        with cur.copy(self._copy) as copy:
            copy.write(text)
        cur.execute(self._merge)
        # Every row new: the replays are over, the next batch is tried as a plain COPY.
        self._direct = cur.rowcount == rows

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # --- reads for checks ------------------------------------------------------------------

    def totals(self) -> dict[tuple[str, str, str], tuple[Decimal, int]]:
        """Sum and count of the entries per (agreement, period, currency)."""
        rows = (
            self._connection()
            .execute(
                sql.SQL(
                    "SELECT agreement_id, period, currency, sum(amount), count(*) "
                    "FROM {schema}.ledger_entries GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
                ).format(schema=self.schema)
            )
            .fetchall()
        )
        return {(a, p, c): (Decimal(s), int(n)) for a, p, c, s, n in rows}

    # --- internals -------------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(
                self.dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
            )
            self._staged = False
        return self._conn

    def _call(self, work: Callable[[], T]) -> T:
        """``work()`` through the breaker; a server that is down or restarting makes the
        target unavailable (the batch is offered again), not the process fail."""
        try:
            return self.breaker.call(work)
        except BreakerOpen as exc:
            self.close()
            raise TargetUnavailable(f"PostgreSQL: {exc}") from exc
        except psycopg.OperationalError as exc:
            self.close()
            raise TargetUnavailable(f"PostgreSQL unreachable: {exc}") from exc
        except psycopg.Error as exc:
            raise DeliveryError(f"PostgreSQL refused the batch: {exc}") from exc
