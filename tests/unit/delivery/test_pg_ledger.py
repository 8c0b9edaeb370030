"""The PostgreSQL target's own reading of ledger entries: each body's COPY line holds, column
for column, what avro.decode reads (decimals as numeric text PostgreSQL reads to the same
value, strings escaped for COPY), and a body that is not a ledger entry, or one no
PostgreSQL text can hold, is a parse error in a batch, never a broken COPY."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import fastavro
import pytest
from confluent_kafka import Message
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.delivery.loop import batch_of
from streams.delivery.pg_ledger import COPY_LINE, ENTRY_ID, LedgerRowError, copy_reader
from streams.delivery.postgres import ENTRY_COLUMNS, PostgresTarget, copy_line
from streams.delivery.target import Entry
from streams.domain.accrual.postings import EntryKind, Posting
from streams.errors import Category
from streams.formats import avro
from streams.formats.records import ledger_record

pytestmark = pytest.mark.unit

CREATED = datetime(2026, 3, 31, 12, 0, 0, 123456, tzinfo=UTC)
READ = copy_reader(ENTRY_COLUMNS)
_UNESCAPE = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def copy_fields(line: bytes) -> list[str]:
    """A COPY text line split into its columns, escapes undone (PostgreSQL's reading)."""
    fields, out, chars = [], [], iter(line.decode())
    for c in chars:
        if c == "\\":
            out.append(_UNESCAPE[next(chars)])
        elif c == "\t":
            fields.append("".join(out))
            out = []
        else:
            out.append(c)
    fields.append("".join(out))
    return fields


def as_copy_text(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, EntryKind):
        return value.value
    return str(value)


def body(
    amount: str = "1.25", measure: str = "1", created: datetime = CREATED, **texts: str
) -> bytes:
    p = Posting(
        entry_id=texts.get("entry_id", "e1"),
        agreement_id=texts.get("agreement_id", "A"),
        vendor_id="V",
        period="2026-03",
        kind=EntryKind.REVERSAL,
        amount=Decimal(amount),
        currency="EUR",
        measure=Decimal(measure),
        posted_total=Decimal("-0.01"),
        source_key="k",
        source_file=texts.get("source_file", ""),
        source_line=1234567,
        correlation_id=texts.get("correlation_id", ""),
    )
    return ledger_record(p, created)


def assert_line_is_the_entry(value: bytes) -> None:
    expected = avro.decode("ledger_entry", value)
    row = READ(value)
    assert row[ENTRY_ID] == expected["entry_id"]
    got = copy_fields(row[COPY_LINE])
    assert len(got) == len(ENTRY_COLUMNS)
    for name, text in zip(ENTRY_COLUMNS, got, strict=True):
        want = expected[name]
        if isinstance(want, Decimal):
            assert Decimal(text) == want, name  # "12345e-2"
        elif isinstance(want, datetime):
            assert datetime.fromisoformat(text) == want, name
        else:
            assert text == as_copy_text(want), name


@pytest.mark.parametrize(
    ("amount", "measure"),
    [("1.25", "1"), ("-123456789012.34", "0.000001"), ("0.00", "-99999.5"), ("-0.01", "0")],
)
def test_a_line_holds_the_decoded_entry_with_decimals_as_exact_numeric_text(
    amount: str, measure: str
) -> None:
    assert_line_is_the_entry(body(amount, measure))


TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    entry_id=TEXT.filter(bool),
    agreement_id=TEXT,
    source_file=TEXT,
    correlation_id=st.text(alphabet="\\\t\n\r ab", max_size=12),
    cents=st.integers(-(10**16), 10**16),
    micros=st.integers(-(10**12), 10**12),
    created=st.integers(0, 10**15),
)
def test_any_strings_and_amounts_come_back_exactly_from_the_copy_text(
    entry_id: str,
    agreement_id: str,
    source_file: str,
    correlation_id: str,
    cents: int,
    micros: int,
    created: int,
) -> None:
    value = body(
        str(Decimal(cents).scaleb(-2)),
        str(Decimal(micros).scaleb(-6)),
        datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=created),
        entry_id=entry_id,
        agreement_id=agreement_id,
        source_file=source_file,
        correlation_id=correlation_id,
    )
    assert_line_is_the_entry(value)


def test_every_cut_short_body_is_refused() -> None:
    value = body(source_file="f.csv", correlation_id="run:1")
    for end in range(len(value)):
        with pytest.raises(LedgerRowError):
            READ(value[:end])


def test_strings_no_postgresql_text_can_hold_are_refused() -> None:
    with pytest.raises(LedgerRowError, match="NUL"):
        READ(body(source_file="a\x00b"))
    good = body(source_file="éé")
    broken = good.replace("éé".encode(), b"\xff\xfe\xfd\xfc")
    with pytest.raises(UnicodeDecodeError):
        READ(broken)


def test_the_line_ends_with_where_the_entry_was_read() -> None:
    entry = Entry("recon.ledger", 3, 42, READ(body()))
    assert copy_fields(copy_line(entry).rstrip(b"\n"))[-3:] == ["recon.ledger", "3", "42"]


def test_the_postgres_target_reads_ledger_entries_itself_and_garbage_is_still_a_parse_error() -> (
    None
):
    good = Message(topic="l", partition=0, offset=0, value=body("1.25", "1"), headers=[])
    garbage = Message(topic="l", partition=0, offset=1, value=b"\x07", headers=[])
    nul = Message(topic="l", partition=0, offset=2, value=body(source_file="\x00"), headers=[])
    batch = batch_of([good, garbage, nul], {"l": "ledger_entry"}, PostgresTarget.readers)
    assert [copy_fields(e.record[COPY_LINE])[5] for e in batch.entries] == ["125e-2"]
    assert [(e.offset, err.category) for e, err in batch.undecodable] == [
        (1, Category.PARSE_ERROR),
        (2, Category.PARSE_ERROR),
    ]
    assert batch.next_offsets == {("l", 0): 3}


def test_bare_entries_of_earlier_releases_read_the_same() -> None:
    framed = body(source_file="f.csv", correlation_id="run:1")
    assert framed[:2] == avro.SINGLE_OBJECT_MARKER
    assert READ(framed[10:]) == READ(framed)
    assert_line_is_the_entry(framed[10:])


def test_an_entry_written_with_an_older_schema_version_is_resolved(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An older writer (here: one with a field the current schema dropped), known by its
    fingerprint, is read through schema resolution into the same COPY line."""
    current = json.loads(avro.schema_text("ledger_entry"))
    old = fastavro.parse_schema(
        {**current, "fields": [*current["fields"], {"name": "memo", "type": "string"}]}
    )
    framed = body("-0.07", "3", source_file="f.csv")
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, old, {**avro.decode("ledger_entry", framed), "memo": "x"})
    value = avro.SINGLE_OBJECT_MARKER + avro.fingerprint_of(old) + buf.getvalue()
    monkeypatch.setattr(avro, "_by_fingerprint", lambda: {avro.fingerprint_of(old): ("l", old)})
    assert READ(value) == READ(framed)
