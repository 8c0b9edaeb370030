"""The inventory pipeline: lab inventory manifest rows in, current inventory and its ledger
out (docs/inventory.md).

``recon.inventory`` validates each row of ``raw.inventory`` (keyed by asset, so every
version of an asset meets in one partition), quarantines the bad ones (the DLQ, category
``schema_violation``, every failing field named), and applies the good ones to the
``inventory-assets`` table (InventoryBook). A new current version is published to the
compacted ``inventory`` topic and to ``inventory.ledger``, keyed by asset; both are direct
outputs, rebuilt from the state alone, so a reprocessed record re-sends the same bytes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import faust
from faust.types import TopicT

from streams.domain.inventory.book import Change, InventoryBook
from streams.domain.inventory.rows import grant_prefix, validate_row
from streams.domain.models.outcome import Outcome
from streams.domain.models.parsing import split_record
from streams.errors import Category, RecordError, Stage
from streams.formats import avro
from streams.formats import headers as h
from streams.formats.csv_source import field_at
from streams.formats.records import Source
from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.runtime.agents import attach
from streams.runtime.decisions import Decision, Send
from streams.runtime.pipeline import Pipeline, raw_topic, state_table
from streams.runtime.sequence import RecordProcessor
from streams.runtime.state.table import TableState
from streams.settings import Settings

FORMATS = ("inventory-csv", "inventory-xlsx")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def manifest_micros(src: Source, what: str) -> int:
    """The manifest's time (its ingest header) in microseconds since the epoch."""
    text = src.headers.get(h.MANIFEST_AT, "")
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        stamp = None
    if stamp is None or stamp.tzinfo is None:
        raise RecordError(
            Category.SCHEMA_VIOLATION,
            Stage.PARSE,
            f"{what}: header {h.MANIFEST_AT}={text!r} is not an ISO time with an offset "
            "(publish manifests with `recon ingest inventory`)",
            field=h.MANIFEST_AT,
            value=text,
        )
    return (stamp - EPOCH) // (datetime.resolution)


def event_record(change: Change) -> bytes:
    row: dict[str, Any] = change.row
    return avro.encode(
        "inventory_event",
        {
            "event_id": change.event_id,
            "kind": change.kind,
            "asset_key": change.asset_key,
            **row,
            "acquisition_date": date.fromisoformat(row["acquisition_date"]),
            "content_hash": change.content_hash,
            "previous_hash": change.previous_hash,
            "manifest_at": change.manifest_at,
            "correlation_id": change.correlation_id,
        },
    )


class InventoryProcessor(RecordProcessor):
    def __init__(
        self,
        book: InventoryBook,
        outcomes: TopicT,
        dlq: TopicT,
        inventory: TopicT,
        ledger: TopicT,
        metrics: Metrics,
    ) -> None:
        super().__init__(outcomes, dlq, metrics)
        self.book = book
        self.inventory, self.ledger = inventory, ledger

    @staticmethod
    def what(src: Source) -> str:
        unit = "row" if src.record_format == "inventory-xlsx" else "line"
        return f"{src.source_file} {unit} {src.line}"

    def decide(self, src: Source) -> Decision:
        try:
            decision = self._decide_row(src)
        except RecordError as err:
            prefix = self._prefix(src)
            self.metrics.child(self.metrics.inventory_rows, "dead_lettered", prefix).inc()
            self.metrics.child(self.metrics.inventory_quarantined, err.category.value, prefix).inc()
            raise
        assert decision.outcome is not None
        self.metrics.child(
            self.metrics.inventory_rows, decision.outcome.value, self._prefix(src)
        ).inc()
        return decision

    def _prefix(self, src: Source) -> str:
        try:
            columns = self.columns(src)
        except RecordError:
            return "other"
        if "grant_code" not in columns:
            return "other"
        return grant_prefix(field_at(src.value, columns.index("grant_code")) or "")

    def _decide_row(self, src: Source) -> Decision:
        what = self.what(src)
        if src.record_format not in FORMATS:
            raise RecordError(
                Category.SCHEMA_VIOLATION,
                Stage.PARSE,
                f"{what}: record format {src.record_format!r} is not an inventory manifest "
                "(publish with `recon ingest inventory`)",
                field=h.FORMAT,
                value=src.record_format,
            )
        columns = self.columns(src)
        row = validate_row(columns, split_record(src.value, what), what)
        applied = self.book.apply(row, manifest_micros(src, what), src.correlation_id)
        decision = Decision(applied.outcome, applied.idempotency_key)
        if applied.change is not None:
            assert applied.outcome is Outcome.APPLIED
            key, value = applied.change.asset_key.encode(), event_record(applied.change)
            decision.sends += [
                Send(self.inventory, key, value, "inventory_event"),
                Send(self.ledger, key, value, "inventory_event"),
            ]
        return decision


def register(app: faust.App, settings: Settings, metrics: Metrics) -> Pipeline:
    # The alert rule compares the quarantined share with this (deploy/prometheus/alerts.yml).
    metrics.inventory_alert_share.set(settings.inventory_quarantine_alert_share)
    outcomes, dlq = raw_topic(app, settings, t.OUTCOMES), raw_topic(app, settings, t.DLQ)
    book = InventoryBook(TableState(state_table(app, settings, t.INVENTORY_TABLE)))
    processor = InventoryProcessor(
        book,
        outcomes,
        dlq,
        raw_topic(app, settings, t.INVENTORY),
        raw_topic(app, settings, t.INVENTORY_LEDGER),
        metrics,
    )
    attach(app, settings, raw_topic(app, settings, t.RAW_INVENTORY), processor, "recon.inventory")
    return Pipeline(name="inventory", source_topics=(settings.topic(t.RAW_INVENTORY),))
