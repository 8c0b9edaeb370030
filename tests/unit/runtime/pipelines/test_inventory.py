"""The inventory processor on stand-in topics: a row's outcome, its events on the inventory
and ledger topics, and quarantine (the DLQ) naming the failing fields."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.domain.inventory.book import InventoryBook
from streams.domain.inventory.reference import final_inventory
from streams.domain.inventory.rows import COLUMNS, validate_row
from streams.domain.models.outcome import Outcome
from streams.domain.state import DictState
from streams.errors import Category, RecordError
from streams.formats import avro
from streams.formats import headers as h
from streams.observability.metrics import Metrics
from streams.runtime.pipelines.inventory import InventoryProcessor
from streams.runtime.sequence import source_of
from tests.unit.runtime.test_sequence import Event, FakeTopic, Message

pytestmark = pytest.mark.unit

AT = "2026-03-01T09:00:00+00:00"


def event(offset: int, value: bytes, at: str = AT, columns: str = ",".join(COLUMNS)) -> Event:
    headers = [
        (h.CORRELATION_ID, f"run:{offset + 2}".encode()),
        (h.LINE, str(offset + 2).encode()),
        (h.SOURCE_FILE, b"lab.csv"),
        (h.FORMAT, b"inventory-csv"),
        (h.COLUMNS, columns.encode()),
        (h.MANIFEST_AT, at.encode()),
    ]
    return Event(Message("raw.inventory", 0, offset, b"k", value, headers))


def setup() -> tuple[InventoryProcessor, dict[str, FakeTopic], Metrics]:
    topics = {n: FakeTopic(n) for n in ("outcomes", "dlq", "inventory", "ledger")}
    metrics = Metrics()
    processor = InventoryProcessor(
        InventoryBook(DictState()),
        *(cast(Any, topics[n]) for n in ("outcomes", "dlq", "inventory", "ledger")),
        metrics,
    )
    return processor, topics, metrics


def test_rows_applied_duplicated_and_quarantined() -> None:
    processor, topics, metrics = setup()
    events = [
        event(0, b"MS-1,nih-r01,reagent,12,chem-214-s3,2024-03-15"),
        event(1, b"MS-1,NIH-R01,reagent,12,CHEM-214-S3,2024-03-15"),  # the same content
        event(2, b"MS-2,XYZ-9,glass,-1,CHEM-214-S3,03/15/2024"),
        event(3, b"MS-1,NIH-R01,reagent,7,CHEM-214-S3,2024-03-15", at="2026-04-01T00:00:00Z"),
    ]
    outcomes = asyncio.run(processor.run(cast(Any, events)))
    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE, Outcome.DEAD_LETTERED, Outcome.APPLIED]
    inventory = [avro.decode("inventory_event", s["value"]) for s in topics["inventory"].sent]
    assert [(e["kind"], e["asset_key"], e["quantity"]) for e in inventory] == [
        ("created", "MS-1:NIH-R01", 12),
        ("updated", "MS-1:NIH-R01", 7),
    ]
    assert topics["ledger"].sent == topics["inventory"].sent
    assert topics["inventory"].sent[0]["key"] == b"MS-1:NIH-R01"
    (dead,) = [avro.decode("dlq_record", s["value"]) for s in topics["dlq"].sent]
    assert dead["category"] == Category.SCHEMA_VIOLATION.value
    assert dead["field"] == "grant_code"
    assert dead["error"].startswith("lab.csv line 4: field grant_code='XYZ-9'")
    assert "field quantity='-1'" in dead["error"]
    assert "field acquisition_date='03/15/2024'" in dead["error"]
    value = metrics.inventory_quarantined.labels("schema_violation", "other")._value.get()
    assert value == 1
    assert metrics.inventory_rows.labels("applied", "NIH")._value.get() == 2


def test_a_header_with_an_extra_column_quarantines_the_row() -> None:
    processor, _, _ = setup()
    extra = event(0, b"MS-1,NIH-1,r,1,A1-1-1,2024-01-01,x", columns=",".join([*COLUMNS, "notes"]))
    with pytest.raises(RecordError) as caught:
        processor.decide(source_of(cast(Any, extra)))
    assert caught.value.category is Category.SCHEMA_VIOLATION
    assert "unknown column(s) notes" in caught.value.message


def test_a_row_without_a_manifest_time_is_quarantined() -> None:
    processor, _, _ = setup()
    with pytest.raises(RecordError) as caught:
        processor.decide(source_of(cast(Any, event(0, b"MS-1,NIH-1,r,1,AB-1-1,2024-01-01", at=""))))
    assert caught.value.field == h.MANIFEST_AT


def test_a_resubmitted_row_is_a_new_record_that_names_its_origin() -> None:
    processor, topics, _ = setup()
    resubmitted = event(0, b"EQ-5,NSF-1,freezer,1,BIO-303-B3,2026-03-11")
    resubmitted.message.headers = [
        (h.CORRELATION_ID, b"resubmit-r1:abcd") if name == h.CORRELATION_ID else (name, value)
        for name, value in resubmitted.message.headers
    ] + [(h.RESUBMITS, b"abcd")]
    outcomes = asyncio.run(processor.run(cast(Any, [resubmitted])))
    assert outcomes == [Outcome.APPLIED]
    (sent,) = topics["inventory"].sent
    assert avro.decode("inventory_event", sent["value"])["correlation_id"] == "resubmit-r1:abcd"


GOOD_ROWS = st.builds(
    lambda a, g, q, loc: f"{a},{g},reagent,{q},{loc},2024-01-02".encode(),
    st.sampled_from(["A1", "A2", "B7"]),
    st.sampled_from(["NIH-1", "nsf-22"]),
    st.integers(0, 3),
    st.sampled_from(["BIO-1-1", "chem-214-s3"]),
)
BAD_ROWS = st.sampled_from(
    [
        (b"A1,XYZ-1,reagent,1,BIO-1-1,2024-01-02", "grant_code"),
        (b"A2,NIH-1,reagent,-4,BIO-1-1,2024-01-02", "quantity"),
        (b"A2,NIH-1,reagent,4,Room 4,2024-01-02", "location"),
        (b"B7,NSF-2,reagent,4,BIO-1-1,01/02/2024", "acquisition_date"),
        (b",NSF-2,reagent,4,BIO-1-1,2024-01-02", "asset_id"),
    ]
)
MANIFEST = st.tuples(
    st.sampled_from(["2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z"]),
    st.lists(st.one_of(GOOD_ROWS, BAD_ROWS), min_size=1, max_size=6),
)


@settings(max_examples=25, deadline=None)
@given(st.lists(MANIFEST, min_size=1, max_size=4), st.data())
def test_any_interleaving_of_manifests_gives_the_reference_and_quarantines_the_bad_rows(
    manifests: list[tuple[str, list[bytes | tuple[bytes, str]]]], data: st.DataObject
) -> None:
    processor, topics, _ = setup()
    rows = [(at, row) for at, rows in manifests for row in rows]
    delivered = rows + data.draw(st.lists(st.sampled_from(rows), max_size=4), label="copies")
    order = data.draw(st.permutations(range(len(delivered))), label="order")
    events = [
        event(n, r if isinstance(r, bytes) else r[0], at=at)
        for n, (at, r) in ((n, delivered[i]) for n, i in enumerate(order))
    ]
    asyncio.run(processor.run(cast(Any, events)))

    compacted = {}
    for sent in topics["inventory"].sent:
        e = avro.decode("inventory_event", sent["value"])
        compacted[e["asset_key"]] = {c: e[c] for c in COLUMNS} | {
            "acquisition_date": e["acquisition_date"].isoformat()
        }
    versions = [
        (validate_row(COLUMNS, r.decode().split(","), "x"), manifest_micros(at))
        for at, r in rows
        if isinstance(r, bytes)
    ]
    assert compacted == final_inventory(versions)
    dead = [avro.decode("dlq_record", s["value"]) for s in topics["dlq"].sent]
    want = sorted(r[1] for _, r in (delivered[i] for i in order) if not isinstance(r, bytes))
    assert sorted(d["field"] for d in dead) == want
    assert {d["category"] for d in dead} <= {"schema_violation"}


def manifest_micros(at: str) -> int:
    return round(datetime.fromisoformat(at).timestamp() * 1_000_000)
