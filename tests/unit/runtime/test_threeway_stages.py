"""The three-way stages' decisions on stand-in topics: an 856 of two POs sends its second
PO's part (once, not for a duplicate), a part has no outcome of its own, and a rate row
is applied to the carrier's table and published as master data (a copy: a duplicate)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import pytest

from streams.domain.models.outcome import Outcome
from streams.domain.state import DictState
from streams.domain.threeway.engine import ThreeWayConfig, ThreeWayEngine
from streams.domain.threeway.rules import PriceTolerance
from streams.formats import avro
from streams.formats import headers as h
from streams.formats.edi_source import EdiRecords
from streams.formats.records import Source, source_of_message
from streams.observability.metrics import Metrics
from streams.runtime.pipelines.rates import RatesProcessor
from streams.runtime.pipelines.threeway import PART, ThreeWayProcessor
from tests.unit.domain.threeway.helpers import EXAMPLES, FIXTURES
from tests.unit.runtime.test_sequence import FakeTopic

pytestmark = pytest.mark.unit


def stages() -> tuple[ThreeWayProcessor, RatesProcessor, ThreeWayEngine]:
    engine = ThreeWayEngine(DictState(), ThreeWayConfig(PriceTolerance(), 10**6))
    into, rates, other = FakeTopic("into"), FakeTopic("rates"), FakeTopic("other")
    t = cast(Any, other)
    edi = ThreeWayProcessor(engine, t, t, Metrics(), cast(Any, into))
    return edi, RatesProcessor(engine, t, t, cast(Any, rates), Metrics()), engine


def source(value: bytes, cid: str, extra: list[tuple[str, bytes]] | None = None) -> Source:
    headers = [(h.CORRELATION_ID, cid.encode()), *(extra or [])]
    return source_of_message("t", 0, 0, b"k", value, headers, 1_700_000_000_000)


def test_a_two_po_ship_notice_sends_its_second_po_part_once() -> None:
    edi, _, engine = stages()
    with EdiRecords(FIXTURES / "po_lifecycle.edi") as records:
        (asn,) = [v for _, _, v in records if avro.decode("edi_document", v)["set_id"] == "856"]
    decision = edi.decide(source(asn, "run1:9"))
    assert decision.outcome is Outcome.APPLIED
    (send,) = decision.sends
    part = avro.decode("edi_document", send.value)
    assert (send.key, send.schema, part["routing_key"]) == (b"PO2002", PART, "PO2002")
    assert part["idempotency_key"] == f"{decision.idempotency_key}:PO2002"
    # the part, as it comes back: applied to PO2002's order, no outcome of its own
    back = edi.decide(source(send.value, "run1:9", [(avro.SCHEMA_HEADER, PART.encode())]))
    assert back.outcome is None and not back.sends
    row = engine.state.get("o:PO2002")
    assert row is not None and [d["t"] for d in row["docs"].values()] == ["856"]
    copy = edi.decide(source(asn, "run2:9"))  # the interchange ingested again
    assert copy.outcome is Outcome.DUPLICATE and not copy.sends


def test_a_rate_row_is_applied_and_published_as_master_data() -> None:
    _, rates, engine = stages()
    columns = (EXAMPLES / "rates.csv").read_text().splitlines()[0]
    line = b"accessorial,FDEG,,,,,,,,,LFT,75.00"
    src = source(line, "run1:8", [(h.COLUMNS, columns.encode())])
    decision = rates.decide(src)
    assert decision.outcome is Outcome.APPLIED
    (send,) = decision.sends
    assert send.key == b"FDEG:accessorial:LFT"
    published = avro.decode("rate_row", send.value)
    assert (published["code"], Decimal(published["amount"])) == ("LFT", 75)
    assert engine.state.get("r:FDEG") == {"accessorial:LFT": {**published_state(published)}}
    again = rates.decide(source(line, "run2:8", [(h.COLUMNS, columns.encode())]))
    assert again.outcome is Outcome.DUPLICATE and not again.sends


def published_state(record: dict[str, Any]) -> dict[str, str]:
    return {
        k: v for k, v in record.items() if v is not None and k not in ("rate_key", "version_key")
    }
