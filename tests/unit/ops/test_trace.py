from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from streams.domain.accrual.postings import EntryKind, Posting, posting_from_json, posting_to_json
from streams.formats import avro
from streams.formats import headers as h
from streams.kafka import topics as t
from streams.ops.trace import STAGES, Hop, Position, covers, describe, matches, matching_id

pytestmark = pytest.mark.unit


def test_a_trace_includes_replays_of_the_record_but_not_other_lines() -> None:
    assert matches("run1:7", "run1:7")
    assert matches("replay-abc:run1:7", "run1:7")
    assert not matches("run1:17", "run1:7")
    assert not matches("redrive-abc:run1:7", "run1:7")  # redrives are keyed by dlq id
    assert not matches("run1:7", "replay-abc:run1:7")


def test_hop_line_names_position_time_and_trace() -> None:
    hop = Hop(
        "outcome",
        "p.outcomes",
        3,
        41,
        datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        "run1:7",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "outcome=applied",
    )
    assert hop.line() == (
        "outcome   p.outcomes[3]@41  2026-03-01T10:00:00.000+00:00  outcome=applied  "
        "traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    )


def test_posting_rows_carry_trace_context_and_read_old_rows_without_it() -> None:
    p = Posting(
        "e1",
        "A1",
        "V1",
        "2026-03",
        EntryKind.ACCRUAL,
        Decimal("1.25"),
        "USD",
        Decimal(5),
        Decimal("1.25"),
        "k",
        "pos.csv",
        3,
        "run1:3",
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ingested_at="2026-03-01T10:00:00.000000Z",
    )
    doc = posting_to_json(p)
    assert posting_from_json(doc) == p
    new = ("traceparent", "ingested_at", "records", "source_topic", "source_partition",
           "first_offset", "last_offset")  # fmt: skip
    old = {k: v for k, v in doc.items() if k not in new}
    restored = posting_from_json(old)
    assert (restored.traceparent, restored.ingested_at) == ("", "")
    assert (restored.records, restored.first_offset, restored.last_offset) == (1, -1, -1)
    assert restored.amount == Decimal("1.25")


def test_a_ledger_entry_is_on_the_path_of_every_sale_it_covers() -> None:
    entry = {"source_topic": "p.raw.pos", "source_partition": 2, "first_offset": 10,
             "last_offset": 20, "vendor_id": "V1"}  # fmt: skip
    assert covers(entry, {Position("p.raw.pos", 2, 10, b"V1")})
    assert covers(entry, {Position("p.raw.pos", 2, 15, b"V1")})
    assert covers(entry, {Position("p.raw.pos", 2, 20, b"V1")})
    assert not covers(entry, {Position("p.raw.pos", 2, 21, b"V1")})  # after its flush
    assert not covers(entry, {Position("p.raw.pos", 3, 15, b"V1")})  # another partition
    assert not covers(entry, {Position("p.raw.pos", 2, 15, b"V2")})  # another vendor
    assert not covers(entry, {Position("p.raw.promotions", 2, 15, b"V1")})
    assert not covers(entry, set())


def test_an_event_is_on_the_path_of_every_record_it_names() -> None:
    headers: list[tuple[str, bytes | None]] = [
        (avro.SCHEMA_HEADER, b"match"),
        (h.CORRELATION_ID, b"trades:4"),
        (h.CORRELATION_ID, b"confirmations:2"),
        (h.CORRELATION_ID, None),
    ]
    assert h.to_dict(headers)[h.CORRELATION_ID] == "confirmations:2"  # one value per name
    cids = h.all_values(headers, h.CORRELATION_ID)
    assert cids == ["trades:4", "confirmations:2"]
    assert h.all_values({h.CORRELATION_ID: b"x"}, h.CORRELATION_ID) == ["x"]
    assert h.all_values(None, h.CORRELATION_ID) == []
    assert matching_id(cids, "trades:4") == "trades:4"
    assert matching_id(cids, "confirmations:2") == "confirmations:2"
    assert matching_id(["replay-r9:trades:4"], "trades:4") == "replay-r9:trades:4"
    assert matching_id(cids, "trades:44") is None
    assert matching_id([], "trades:4") is None


def test_match_exception_and_document_match_hops_are_described() -> None:
    pair = {
        "event": "unmatched",
        "pair_id": "0123456789abcdef",
        "trade_id": "T1",
        "trade_version": 1,
        "confirm_id": "C1",
        "confirm_version": 2,
        "match_type": "tolerance",
        "reason": "amended",
    }
    assert describe("match", pair, {}, "match") == (
        "unmatched pair=0123456789ab trade=T1 v1 confirm=C1 v2 match_type=tolerance reason=amended"
    )
    doc = {
        "event": "matched",
        "record_type": "invoice",
        "record_id": "INV1",
        "po_number": "PO1",
        "line": "BP:A-1",
    }
    assert describe("match", doc, {}, "document_match") == (
        "matched invoice=INV1 po=PO1 line=BP:A-1"
    )
    exc = {
        "status": "open",
        "kind": "mismatch",
        "record_type": "trade",
        "record_id": "T3",
        "version": 1,
        "partner_type": "confirmation",
        "partner_id": "C3",
    }
    assert describe("exception", exc, {}, "match_exception") == (
        "open mismatch trade=T3 v1 partner=confirmation:C3"
    )
    alone = {**exc, "kind": "unmatched_trade", "partner_type": None, "partner_id": None}
    assert describe("exception", alone, {}) == "open unmatched_trade trade=T3 v1"
    raw = {h.SOURCE_FILE: "trades.csv", h.LINE: "4"}
    assert describe("raw", None, raw) == "trades.csv line 4"


def test_every_raw_and_matching_topic_is_read() -> None:
    topics = {logical for logical, _, _ in STAGES}
    assert {t.RAW_TRADES, t.RAW_CONFIRMATIONS, t.RAW_EDI, t.MATCHES, t.EXCEPTIONS} <= topics
