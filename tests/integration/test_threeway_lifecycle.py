"""PO lifecycle and 210 rate audit end to end on the real broker: an 860 raises a PO line
so that partial invoices match, an 856 of two POs reaches both, the invoice past the
amended quantity is a variance, and a 210 ingested *before* its carrier's rate table is
re-rated when the table arrives: the over-billed line is an exception with both amounts."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.formats import avro
from streams.ingest.producer import ingest_file
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.kafka.topics import create_topics
from streams.ops.audit import audit
from streams.ops.matches import exception_events, fold, match_events, open_exceptions
from streams.settings import Settings
from streams.tools.batch import drain
from tests.integration.test_trade_matching import counts

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
LIFECYCLE = ROOT / "tests" / "fixtures" / "x12" / "po_lifecycle.edi"
BILL = ROOT / "tests" / "fixtures" / "x12" / "rate_audit_210.edi"
RATES = ROOT / "examples" / "rates.csv"


def test_change_orders_partial_invoices_and_a_rate_audit(isolated_settings: Settings) -> None:
    settings = isolated_settings.with_overrides(close_windows_at_end_of_input=True)
    create_topics(settings)
    ingest_file(settings, BILL, "edi")
    ingest_file(settings, LIFECYCLE, "edi")
    drain(settings)  # the bill is in before any rate row
    ingest_file(settings, RATES, "rates")
    drain(settings)

    exceptions = {
        (e["kind"], e["record_id"], e["product"]): e
        for e in open_exceptions(exception_events(settings))
    }
    assert set(exceptions) == {
        ("quantity_variance", "INV2001C", "BP:A-1"),
        ("overbilled", "PRO601", "LFT"),
        ("unknown_accessorial", "PRO601", "RES"),
    }
    over = exceptions[("overbilled", "PRO601", "LFT")]
    assert [(d["field"], d["value"], d["partner_value"]) for d in over["differences"]] == [
        ("LFT", "95.00", "75.00")
    ]
    assert "billed 95.00, expected 75.00" in over["details"]
    variance = exceptions[("quantity_variance", "INV2001C", "BP:A-1")]
    assert "ordered 15" in variance["details"]  # the 860 raised it from 10

    matched = fold(match_events(settings, "document_match"), "match_id").values()
    live = {(m["record_id"], m["line"]) for m in matched if m["event"] == "matched"}
    assert {("INV2001A", "BP:A-1"), ("INV2001B", "BP:A-1"), ("INV2001B", "BP:A-3")} <= live
    assert ("INV2002", "BP:B-1") in live  # through PO2002's part of the two-PO 856

    rows = audit(settings)
    assert counts(rows, "po_lifecycle.edi") == (8, 8, 0, 0)
    assert counts(rows, "rates.csv") == (7, 7, 0, 0)
    versions = [
        avro.decode("rate_row", msg.value() or b"")
        for msg in read_topic(settings, settings.topic(t.RATES))
    ]
    assert {v["rate_key"] for v in versions} >= {"accessorial:LFT", "fuel:2024-11-01"}
