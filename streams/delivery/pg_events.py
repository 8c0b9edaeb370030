"""Match events and exception events in PostgreSQL: one row per event (its id is
deterministic, so a replay adds nothing), and views that fold them the way the topics are
read (docs/matching.md): per pair, document match or exception, the event with the highest
``seq`` is its state, in whatever order the events arrived."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from streams.delivery.events import event_json, state_of, subject_of
from streams.delivery.target import Entry

# Columns every event table ends with: its order, its content, where it was read.
EVENT_COLUMNS = """
    seq              bigint NOT NULL,
    event_at         timestamptz NOT NULL,
    record           jsonb NOT NULL,
    source_topic     text NOT NULL,
    source_partition integer NOT NULL,
    source_offset    bigint NOT NULL,
    delivered_at     timestamptz NOT NULL DEFAULT now()
"""

EVENT_DDL = (
    """
CREATE TABLE IF NOT EXISTS {schema}.match_events (
    event_id         text PRIMARY KEY,
    kind             text NOT NULL,
    subject_id       text NOT NULL,
    event            text NOT NULL,"""
    + EVENT_COLUMNS
    + """);
CREATE TABLE IF NOT EXISTS {schema}.exception_events (
    event_id         text PRIMARY KEY,
    exception_id     text NOT NULL,
    status           text NOT NULL,
    exception_kind   text NOT NULL,"""
    + EVENT_COLUMNS
    + """);
CREATE OR REPLACE VIEW {schema}.live_matches AS
    SELECT * FROM (
        SELECT DISTINCT ON (kind, subject_id) * FROM {schema}.match_events
        ORDER BY kind, subject_id, seq DESC
    ) latest WHERE event = 'matched';
CREATE OR REPLACE VIEW {schema}.open_exceptions AS
    SELECT * FROM (
        SELECT DISTINCT ON (exception_id) * FROM {schema}.exception_events
        ORDER BY exception_id, seq DESC
    ) latest WHERE status = 'open';
"""
)


def event_row(e: Entry) -> tuple[str, tuple[Any, ...]]:
    """The table of an event entry and its row."""
    r = e.record
    common = (r["seq"], r["event_at"], event_json(e), e.topic, e.partition, e.offset)
    if e.schema == "match_exception":
        return "exception_events", (r["event_id"], subject_of(e), state_of(e), r["kind"], *common)
    return "match_events", (r["event_id"], e.schema, subject_of(e), state_of(e), *common)


def insert_statements(schema: sql.Identifier) -> dict[str, sql.Composed]:
    """Per table, its INSERT ... ON CONFLICT (event_id) DO NOTHING."""
    columns = {
        "match_events": ("event_id", "kind", "subject_id", "event", "seq", "event_at"),
        "exception_events": (
            "event_id", "exception_id", "status", "exception_kind", "seq", "event_at",
        ),
    }  # fmt: skip
    out = {}
    for table, first in columns.items():
        names = (*first, "record", "source_topic", "source_partition", "source_offset")
        out[table] = sql.SQL(
            "INSERT INTO {schema}.{table} ({columns}) VALUES ({marks}) "
            "ON CONFLICT (event_id) DO NOTHING"
        ).format(
            schema=schema,
            table=sql.Identifier(table),
            columns=sql.SQL(", ").join(map(sql.Identifier, names)),
            marks=sql.SQL(", ").join(sql.Placeholder() * len(names)),
        )
    return out
