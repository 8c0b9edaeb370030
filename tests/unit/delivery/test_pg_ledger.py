"""The PostgreSQL target's own reading of ledger entries: the same record as avro.decode,
decimals as numeric text PostgreSQL reads to the same value, and a body that is not a
ledger entry still a parse error in a batch."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import fastavro
import pytest
from confluent_kafka import Message

from streams.delivery.loop import batch_of
from streams.delivery.pg_ledger import read_ledger_row
from streams.delivery.postgres import PostgresTarget
from streams.domain.accrual.postings import EntryKind, Posting
from streams.errors import Category
from streams.formats import avro
from streams.formats.records import ledger_record

pytestmark = pytest.mark.unit

CREATED = datetime(2026, 3, 31, 12, 0, 0, 123456, tzinfo=UTC)


def body(amount: str, measure: str) -> bytes:
    p = Posting(
        entry_id="e1",
        agreement_id="A",
        vendor_id="V",
        period="2026-03",
        kind=EntryKind.REVERSAL,
        amount=Decimal(amount),
        currency="EUR",
        measure=Decimal(measure),
        posted_total=Decimal("-0.01"),
        source_key="k",
    )
    return ledger_record(p, CREATED)


@pytest.mark.parametrize(
    ("amount", "measure"),
    [("1.25", "1"), ("-123456789012.34", "0.000001"), ("0.00", "-99999.5"), ("-0.01", "0")],
)
def test_a_row_is_the_decoded_entry_with_decimals_as_exact_numeric_text(
    amount: str, measure: str
) -> None:
    value = body(amount, measure)
    expected = avro.decode("ledger_entry", value)
    row = read_ledger_row(value)
    assert row.keys() == expected.keys()
    for name, want in expected.items():
        got = row[name]
        if isinstance(want, Decimal):
            assert isinstance(got, str) and Decimal(got) == want, name  # "12345e-2"
        else:
            assert got == want, name
    assert row["created_at"] == CREATED


def test_the_postgres_target_reads_ledger_entries_itself_and_garbage_is_still_a_parse_error() -> (
    None
):
    good = Message(topic="l", partition=0, offset=0, value=body("1.25", "1"), headers=[])
    garbage = Message(topic="l", partition=0, offset=1, value=b"\x07", headers=[])
    batch = batch_of([good, garbage], {"l": "ledger_entry"}, PostgresTarget.readers)
    assert [e.record["amount"] for e in batch.entries] == ["125e-2"]
    ((entry, error),) = batch.undecodable
    assert entry.offset == 1 and error.category is Category.PARSE_ERROR
    assert batch.next_offsets == {("l", 0): 2}


def test_schemaless_entries_of_earlier_releases_read_the_same() -> None:
    framed = body("1.25", "1")
    assert framed[:2] == avro.SINGLE_OBJECT_MARKER
    assert read_ledger_row(framed[10:]) == read_ledger_row(framed)


def test_an_entry_written_with_an_older_schema_version_is_resolved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An older writer (here: one with a field the current schema dropped), known by its
    fingerprint, is read through schema resolution, decimals still exact text."""
    current = json.loads(avro.schema_text("ledger_entry"))
    old_doc = {**current, "fields": [*current["fields"], {"name": "memo", "type": "string"}]}
    old = fastavro.parse_schema(old_doc)
    record = {**avro.decode("ledger_entry", body("-0.07", "3")), "memo": "gone"}
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, old, record)
    value = avro.SINGLE_OBJECT_MARKER + avro.fingerprint_of(old) + buf.getvalue()
    known = {avro.fingerprint_of(old): ("ledger_entry", old)}
    monkeypatch.setattr(avro, "_by_fingerprint", lambda: known)
    row, fast = read_ledger_row(value), read_ledger_row(body("-0.07", "3"))
    assert row.keys() == fast.keys()
    for name, want in fast.items():
        if name in ("amount", "measure", "posted_total"):
            assert Decimal(row[name]) == Decimal(want), name
        else:
            assert row[name] == want, name
    assert Decimal(row["amount"]) == Decimal("-0.07") and row["created_at"] == CREATED
