"""The per-record work both the bare and the quixstreams baselines run: the outputs are
the worker's, byte for byte where they are deterministic."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from streams.domain.accrual.postings import EntryKind, Posting
from streams.domain.state import decode
from streams.formats import avro
from streams.formats import headers as h
from streams.formats.records import Source, ledger_record, source_of_message
from streams.tools.bench.compute import (
    AGREEMENT,
    DLQ,
    LEDGER,
    OUTCOME,
    RecordWork,
    WriteBehind,
)
from streams.tools.generate import POS_HEADER, PROMO_HEADER

pytestmark = pytest.mark.unit


def test_a_ledger_entry_carries_what_it_covers() -> None:
    p = Posting(
        entry_id="e" * 32, agreement_id="AG-1", vendor_id="V1", period="2026-01",
        kind=EntryKind.TRUE_UP, amount=Decimal("-1.25"), currency="USD",
        measure=Decimal("12.5"), posted_total=Decimal("3.75"), source_key="k",
        source_file="pos.csv", source_line=7, correlation_id="run:7",
        records=3, source_topic="raw.pos", source_partition=2, first_offset=10, last_offset=14,
    )  # fmt: skip
    at = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    entry = avro.decode("ledger_entry", ledger_record(p, at))
    assert entry["amount"] == Decimal("-1.25") and entry["kind"] == "true_up"
    assert (entry["records"], entry["source_topic"], entry["source_partition"]) == (3, "raw.pos", 2)
    assert (entry["first_offset"], entry["last_offset"]) == (10, 14)
    assert entry["created_at"] == at


def message(topic: str, header: str, line: int, value: str) -> Source:
    """A raw record as the worker would consume it (the headers ingest sets that matter)."""
    headers = [
        (h.CORRELATION_ID, f"run:{line}".encode()),
        (h.LINE, str(line).encode()),
        (h.SOURCE_FILE, b"feed.csv"),
        (h.COLUMNS, header.strip().encode()),
    ]
    return source_of_message(topic, 0, line, b"V0001", value.encode(), headers)


def test_a_sale_and_an_agreement_give_the_workers_outputs() -> None:
    work = RecordWork(WriteBehind())
    agreement = message(
        "raw.promotions", PROMO_HEADER, 2,
        "AG-1,V0001,*,2026-01-01,2026-12-31,per_unit,month,incremental,0:0.5,USD",
    )  # fmt: skip
    out = work.agreement(agreement)
    assert [o.kind for o in out] == [AGREEMENT, OUTCOME]
    assert avro.decode("agreement", out[0].value)["agreement_id"] == "AG-1"
    sale = message(
        "raw.pos", POS_HEADER, 2,
        "T1,1,S1,SKU-1,V0001,4,2.50,USD,2026-03-05T10:00:00Z",
    )  # fmt: skip
    out = work.sale(sale)
    assert [o.kind for o in out] == [OUTCOME]  # folded in; posted when settled
    outcome = avro.decode("outcome", out[0].value)
    assert (outcome["outcome"], outcome["correlation_id"]) == ("applied", "run:2")
    assert [o.kind for o in work.sale(sale)] == [OUTCOME]  # the same line again: a duplicate
    (settled,) = work.settle()
    assert settled.kind == LEDGER
    entry = avro.decode("ledger_entry", settled.value)
    assert (entry["agreement_id"], entry["period"], entry["amount"]) == (
        "AG-1", "2026-03", Decimal("2.00"),
    )  # fmt: skip
    assert settled.key == b"AG-1|2026-03"
    assert dict(settled.headers)[avro.SCHEMA_HEADER] == b"ledger_entry"
    assert work.settle() == []  # nothing folded in since


def test_a_bad_line_is_dead_lettered_with_its_outcome() -> None:
    work = RecordWork(WriteBehind())
    bad = message("raw.pos", POS_HEADER, 9, "T1,1,S1,SKU-1,V0001,many")
    out = work.sale(bad)
    assert [o.kind for o in out] == [DLQ, OUTCOME]
    record = avro.decode("dlq_record", out[0].value)
    assert (record["category"], record["source_line"]) == ("parse_error", 9)
    assert avro.decode("outcome", out[1].value)["outcome"] == "dead_lettered"


def test_write_behind_encodes_each_key_once_per_batch() -> None:
    state = WriteBehind()
    state.put("p:AG-1|2026-01", {"x": "1", "out": [{"entry_id": "a"}]})
    got = state.get("p:AG-1|2026-01")
    assert got is not None
    got["x"] = "changed"  # a copy: the engine always puts what it changes
    assert state.get("p:AG-1|2026-01") == {"x": "1", "out": [{"entry_id": "a"}]}
    state.put("p:AG-1|2026-01", {"x": "2", "out": [{"entry_id": "b"}]})
    assert state.store.data == {}  # nothing written before the flush
    assert state.flush() == 1
    # Both writes' outboxes are kept, as the worker's write-behind state keeps them.
    assert decode(state.store.data["p:AG-1|2026-01"]) == {
        "x": "2", "out": [{"entry_id": "a"}, {"entry_id": "b"}],
    }  # fmt: skip
    assert state.get("p:AG-1|2026-01") == {"x": "2", "out": [{"entry_id": "a"}, {"entry_id": "b"}]}
