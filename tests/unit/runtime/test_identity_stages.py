"""The identity stages through the pipeline sequence on stand-in topics: invoices are
routed by identity, other sets straight to the engine; an invoice billed again against
another PO that reaches the stage first is forwarded, then displaced by its original
(retracted from its order, its outcome revised to duplicate); the engine applies what the
stage forwards without an outcome of its own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest

from streams.domain.models.outcome import Outcome
from streams.domain.state import DictState
from streams.domain.threeway.engine import ThreeWayConfig, ThreeWayEngine
from streams.domain.threeway.identities import IdentityBook
from streams.domain.threeway.rules import PriceTolerance
from streams.formats import avro
from streams.formats import headers as h
from streams.formats.edi_source import EdiRecords
from streams.observability.metrics import Metrics
from streams.runtime.pipelines.identity import ACCEPTED, RETRACT, EdiRoute, IdentityProcessor
from streams.runtime.pipelines.threeway import ThreeWayProcessor
from tests.unit.domain.threeway.invoices import interchange, invoice_set
from tests.unit.runtime.test_sequence import Event, FakeTopic, Message

pytestmark = pytest.mark.unit

PO = "ST*850*0001~BEG*00*SA*PO7**20241101~PO1*1*10*EA*5.00*PE*BP*P-1~SE*4*0001~"


def records(tmp_path: Path) -> list[tuple[int, bytes, bytes]]:
    path = tmp_path / "f.edi"
    path.write_bytes(
        interchange("ACME", "WW", 1, "PO", [PO])
        + interchange("WW", "ACME", 2, "IN", [invoice_set("INV1", "20241103", "PO7", [(2, "5")])])
        + interchange("WW", "ACME", 3, "IN", [invoice_set("inv-1", "20241103", "PO8", [(2, "5")])])
    )
    with EdiRecords(path) as found:
        return list(found)


def event(line: int, key: bytes, value: bytes, ingested: str, topic: str = "raw") -> Event:
    headers = [
        (h.CORRELATION_ID, f"run:{line}".encode()),
        (h.LINE, str(line).encode()),
        (h.SOURCE_FILE, b"f.edi"),
        (h.INGESTED_AT, ingested.encode()),
    ]
    return Event(Message(topic, 0, line, key, value, headers))


def forwarded(sent: dict[str, Any]) -> Event:
    return Event(Message("into", 0, 0, sent["key"], sent["value"], sent["headers"]))


def run(processor: Any, events: list[Event]) -> list[Outcome | None]:
    return cast(list[Outcome | None], asyncio.run(processor.run(cast(Any, events))))


def test_a_copy_billed_against_another_po_is_displaced_by_its_original(tmp_path: Path) -> None:
    (po_line, po_key, po), (orig_line, orig_key, orig), (copy_line, copy_key, copy) = records(
        tmp_path
    )
    assert (po_key, orig_key, copy_key) == (b"PO7", b"PO7", b"PO8")
    ids, into, outcomes, dlq = (FakeTopic(n) for n in ("ids", "into", "outcomes", "dlq"))
    topics = cast(Any, (ids, into, outcomes, dlq))
    route = EdiRoute(*topics, Metrics())
    metrics = Metrics()
    stage = IdentityProcessor(IdentityBook(DictState()), *topics[1:], metrics)
    engine = ThreeWayEngine(DictState(), ThreeWayConfig(PriceTolerance(), 10**6))
    threeway = ThreeWayProcessor(engine, cast(Any, outcomes), cast(Any, dlq), Metrics())

    first = event(orig_line, orig_key, orig, "2024-11-04T09:00:00+00:00")
    second = event(copy_line, copy_key, copy, "2024-11-04T09:00:00+00:00")
    assert run(route, [event(po_line, po_key, po, ""), first, second]) == [None] * 3
    assert [s["key"] for s in into.sent] == [b"PO7"]  # the 850, untouched
    assert ids.sent[0]["key"] == ids.sent[1]["key"]  # both invoices: one identity

    # the copy (later in the file) reaches the stage first: applied, forwarded to PO8
    assert run(stage, [forwarded(ids.sent[1])]) == [Outcome.APPLIED]
    # then the original: applied; the copy retracted from PO8 and revised to duplicate
    assert run(stage, [forwarded(ids.sent[0])]) == [Outcome.APPLIED]
    schemas = [(s["key"], h.to_dict(s["headers"])[avro.SCHEMA_HEADER]) for s in into.sent[1:]]
    assert schemas == [(b"PO8", ACCEPTED), (b"PO8", RETRACT), (b"PO7", ACCEPTED)]
    decided = [avro.decode("outcome", s["value"]) for s in outcomes.sent]
    assert [(o["correlation_id"], o["source_line"], o["outcome"]) for o in decided] == [
        (f"run:{copy_line}", copy_line, "applied"),
        (f"run:{orig_line}", orig_line, "applied"),
        (f"run:{copy_line}", copy_line, "duplicate"),  # the latest decision counts
    ]
    labels = {"topic": "into", "outcome": "duplicate"}
    assert metrics.registry.get_sample_value("recon_outcome_revisions_total", labels) == 1

    outcomes.sent.clear()
    assert run(threeway, [forwarded(s) for s in into.sent]) == [Outcome.APPLIED, None, None, None]
    assert len(outcomes.sent) == 1  # the 850's: the invoices' outcomes are the stage's
    orders = {k: engine.state.get(k) for k in ("o:PO7", "o:PO8")}
    invoices = {
        k: [d["id"] for d in (r or {})["docs"].values() if d["t"] == "810"]
        for k, r in orders.items()
    }
    assert invoices == {"o:PO7": ["INV1"], "o:PO8": []}
    assert dlq.sent == []


def test_another_invoice_reusing_an_envelope_key_is_a_duplicate(tmp_path: Path) -> None:
    """A partner reusing ISA13, GS06 and ST02 for another invoice of the same order: two
    identities, both accepted by their stage, but the engine holds the envelope key for the
    first; the second's outcome is revised to duplicate (the envelope rule), not lost."""
    path = tmp_path / "f.edi"
    path.write_bytes(
        interchange("WW", "ACME", 2, "IN", [invoice_set("INV1", "20241103", "PO7", [(2, "5")])])
        + interchange("WW", "ACME", 2, "IN", [invoice_set("INV2", "20241104", "PO7", [(1, "9")])])
    )
    with EdiRecords(path) as found:
        (one_line, one_key, one), (two_line, two_key, two) = list(found)
    ids, into, outcomes, dlq = (FakeTopic(n) for n in ("ids", "into", "outcomes", "dlq"))
    topics = cast(Any, (ids, into, outcomes, dlq))
    stage = IdentityProcessor(IdentityBook(DictState()), *topics[1:], Metrics())
    engine = ThreeWayEngine(DictState(), ThreeWayConfig(PriceTolerance(), 10**6))
    threeway = ThreeWayProcessor(engine, cast(Any, outcomes), cast(Any, dlq), Metrics())
    at = "2024-11-04T09:00:00+00:00"
    run(
        EdiRoute(*topics, Metrics()),
        [event(one_line, one_key, one, at), event(two_line, two_key, two, at)],
    )
    assert ids.sent[0]["key"] != ids.sent[1]["key"]  # two identities
    assert run(stage, [forwarded(s) for s in ids.sent]) == [Outcome.APPLIED, Outcome.APPLIED]
    assert run(threeway, [forwarded(s) for s in into.sent]) == [None, None]
    decided = [avro.decode("outcome", s["value"]) for s in outcomes.sent]
    assert [(o["correlation_id"], o["outcome"]) for o in decided] == [
        (f"run:{one_line}", "applied"),
        (f"run:{two_line}", "applied"),
        (f"run:{two_line}", "duplicate"),  # the latest decision counts
    ]
    row = engine.state.get("o:PO7") or {}
    assert [d["id"] for d in row["docs"].values()] == ["INV1"]
