"""Three-way match end to end on the real broker: `recon ingest edi` of the example files
twice, `recon worker --drain` closing windows at end of input, the exports, the audit (the
second ingest all duplicates) and the DLQ entry of the broken set (category, position).
In the same run (one drain: the suite's time budget), the PO lifecycle and the rate audit:
an 860 raises a PO line so that partial invoices match, an 856 of two POs reaches both, the
invoice past the amended quantity is a variance, and a 210 is re-rated against its
carrier's rate table (`recon ingest rates`): the over-billed line is an exception with the
billed and expected amounts."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from streams.cli.main import app as cli
from streams.domain.models.parsing import parse_columns, to_model
from streams.domain.models.rates import RateRow
from streams.domain.threeway.reference import expected_results, rate_tables
from streams.domain.threeway.rules import PriceTolerance, RateAudit
from streams.formats import avro
from streams.formats import headers as h
from streams.ingest.producer import ingest_file
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.kafka.topics import create_topics
from streams.observability.tracing import parse
from streams.ops.audit import audit
from streams.ops.dlq import dlq_records
from streams.ops.matches import exception_events, fold, match_events, open_exceptions, schema_of
from streams.ops.replay import message_headers
from streams.ops.threeway_report import check_against_reference, resolved_documents
from streams.ops.trace import trace
from streams.settings import Settings
from streams.tools.batch import drain
from tests.integration.test_trade_matching import counts, export
from tests.unit.domain.threeway.helpers import FIXTURES, rate_rows

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ORDERS, FREIGHT = EXAMPLES / "orders.edi", EXAMPLES / "freight.edi"
LIFECYCLE, BILL = FIXTURES / "po_lifecycle.edi", FIXTURES / "rate_audit_210.edi"
# INV1001 again in a new interchange, and INV1002 billed again against PO1001
RESENT = EXAMPLES / "resent-invoice.edi"


def test_edi_examples_end_to_end(
    isolated_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # settings for the drained worker, the environment for the in-process CLI
    settings = isolated_settings.with_overrides(
        close_windows_at_end_of_input=True, match_own_parties="ACMERETAIL"
    )
    monkeypatch.setenv("RECON_CLOSE_WINDOWS_AT_END_OF_INPUT", "true")
    monkeypatch.setenv("RECON_MATCH_OWN_PARTIES", "ACMERETAIL")
    create_topics(settings)
    first = ingest_file(settings, ORDERS, "edi")
    assert first.rows_read == first.rows_published == 14  # 13 sets and one broken set
    ingest_file(settings, FREIGHT, "edi")
    ingest_file(settings, RESENT, "edi")
    again = CliRunner().invoke(  # the same interchanges again, via the CLI: all duplicates
        cli,
        [
            "--bootstrap-servers",
            settings.bootstrap,
            "--topic-prefix",
            settings.topic_prefix,
            "ingest",
            "edi",
            str(ORDERS),
        ],
    )
    assert again.exit_code == 0, again.output
    assert "orders.edi: 14 rows read, 14 published" in again.output
    ingest_file(settings, FREIGHT, "edi")
    ingest_file(settings, BILL, "edi")
    ingest_file(settings, LIFECYCLE, "edi")
    ingest_file(settings, EXAMPLES / "rates.csv", "rates")  # after the bills it rates
    drain(settings)

    files = (ORDERS, FREIGHT, RESENT, LIFECYCLE, BILL)  # in ingest order: originals first
    documents, conflicts = resolved_documents(files)
    want = expected_results(documents, PriceTolerance(), RateAudit(rate_tables(rate_rows())))
    want |= conflicts
    found = export(settings, "exceptions", tmp_path / "exceptions.csv")
    assert sorted((r["kind"], r["record_type"], r["record_id"], r["version"]) for r in found) == (
        sorted(
            (w["kind"], w["record_type"], w["record_id"], "1")
            for w in want.values()
            if w["kind"] != "matched"
        )
    )
    assert {r["kind"] for r in found} == {
        "quantity_variance",
        "price_variance",
        "total_mismatch",
        "missing_document",
        "overbilled",  # the examples' 210s too: 214.25 of linehaul against the 120.00 minimum
        "unknown_accessorial",
        "duplicate_conflict",  # INV1002 billed against PO1001: it never reached PO1001
    }
    by_kind = {r["kind"]: r for r in found if r["record_type"] == "invoice"}
    assert by_kind["price_variance"]["counterparty_id"] == "WIDGETWORKS"
    assert "invoiced price 5.25 vs PO price 4.25" in by_kind["price_variance"]["details"]

    matched = fold(match_events(settings, "document_match"), "match_id").values()
    live = sorted((m["record_id"], m["line"]) for m in matched if m["event"] == "matched")
    assert live == sorted(
        (w["record_id"], w["line"]) for w in want.values() if w["kind"] == "matched"
    )
    assert ("PRO501", "") in live and ("INV1001", "BP:ACM-2") in live
    # trade pairs and document matches share the topic: the trade export still reads it
    assert export(settings, "matches", tmp_path / "matches.csv") == []

    rows = audit(settings)
    assert counts(rows, "orders.edi") == (28, 13, 13, 2)
    assert counts(rows, "freight.edi") == (4, 2, 2, 0)
    assert counts(rows, "po_lifecycle.edi") == (8, 8, 0, 0)
    assert counts(rows, "rates.csv") == (7, 7, 0, 0)
    assert counts(rows, "resent-invoice.edi") == (2, 0, 2, 0)
    check_lifecycle_and_rates(settings, set(live))
    # the demo's self-check, with the demo's rate table
    audit_ = RateAudit(rate_tables(rate_rows()))
    assert check_against_reference(settings, files, PriceTolerance(), audit_) == []
    (dead, again) = [r for r in dlq_records(settings) if r["source_file"] == "orders.edi"]
    assert dead["category"] == again["category"] == "schema_violation"
    assert dead["source_line"] == 134  # where the error is: the SE, segment 134 of the file
    assert "SE02 '0009' does not match ST02 '0001' (segment 134 at byte 2966)" in dead["error"]
    assert dead["field"] == "SE02"
    assert avro.decode("edi_document", dead["original"])["error"]["scope"] == "transaction_set"
    check_tracing(settings)
    check_rate_changes(settings, tmp_path, files)


AMENDED_COLUMNS = (
    "kind,scac,origin,destination,min_weight,rate_cwt,min_charge,valid_from,valid_to,"
    "fuel_percent,code,amount,per,action"
)
AMENDMENTS = ["accessorial,FDEG,,,,,,,,,RES,10,percent,", "accessorial,FDEG,,,,,,,,,LFT,,,delete"]


def check_rate_changes(settings: Settings, tmp_path: Path, files: tuple[Path, ...]) -> None:
    """A later rates file prices RES as a percentage of the linehaul and withdraws LFT: the
    carrier's bills already in are re-rated against the new table."""
    amended = tmp_path / "rates-amended.csv"
    amended.write_text("\n".join([AMENDED_COLUMNS, *AMENDMENTS]) + "\n")
    ingest_file(settings, amended, "rates")
    drain(settings)
    exceptions = {
        (e["kind"], e["record_id"], e["product"]): e
        for e in open_exceptions(exception_events(settings))
    }
    res = exceptions[("overbilled", "PRO601", "RES")]
    assert "billed 24.50, expected 18.00" in res["details"]  # 10 % of the 180.00 linehaul
    assert ("unknown_accessorial", "PRO601", "LFT") in exceptions
    assert ("overbilled", "PRO601", "LFT") not in exceptions
    assert ("unknown_accessorial", "PRO601", "RES") not in exceptions
    columns = parse_columns(AMENDED_COLUMNS)
    rows = [*rate_rows(), *(to_model(RateRow, columns, r.encode(), "row") for r in AMENDMENTS)]
    assert (
        check_against_reference(settings, files, PriceTolerance(), RateAudit(rate_tables(rows)))
        == []
    )
    deleted = [
        v
        for msg in read_topic(settings, settings.topic(t.RATES))
        if (v := avro.decode("rate_row", msg.value() or b""))["action"] == "delete"
    ]
    assert [v["rate_key"] for v in deleted] == ["accessorial:LFT"]


def check_lifecycle_and_rates(settings: Settings, live: set[tuple[str, str]]) -> None:
    exceptions = {
        (e["kind"], e["record_id"], e["product"]): e
        for e in open_exceptions(exception_events(settings))
    }
    over = exceptions[("overbilled", "PRO601", "LFT")]
    assert [(d["field"], d["value"], d["partner_value"]) for d in over["differences"]] == [
        ("LFT", "95.00", "75.00")
    ]
    assert "billed 95.00, expected 75.00" in over["details"]
    assert ("unknown_accessorial", "PRO601", "RES") in exceptions
    assert not [k for k in exceptions if k[1] == "PRO601" and k[2] in ("linehaul", "fuel")]
    variance = exceptions[("quantity_variance", "INV2001C", "BP:A-1")]
    assert "ordered 15" in variance["details"]  # the 860 raised it from 10
    assert {("INV2001A", "BP:A-1"), ("INV2001B", "BP:A-1"), ("INV2001B", "BP:A-3")} <= live
    assert ("INV2002", "BP:B-1") in live  # through PO2002's part of the two-PO 856
    versions = [
        avro.decode("rate_row", msg.value() or b"")
        for msg in read_topic(settings, settings.topic(t.RATES))
    ]
    assert {v["rate_key"] for v in versions} >= {"accessorial:LFT", "fuel:2024-11-01"}


def check_tracing(settings: Settings) -> None:
    """A document match names the invoice, the PO and the ship notice (first ingest: the
    second is all duplicates) and continues the invoice's trace; `recon trace` of the
    invoice shows raw -> outcome -> match."""
    raw: dict[str, tuple[str, str]] = {}  # correlation id -> (set id, ingest traceparent)
    for msg in read_topic(settings, settings.topic(t.RAW_EDI)):
        headers = h.to_dict(message_headers(msg))
        set_id = avro.decode("edi_document", msg.value() or b"")["set_id"] or ""
        raw[headers[h.CORRELATION_ID]] = (set_id, headers[h.TRACEPARENT])
    found = None
    for msg in read_topic(settings, settings.topic(t.MATCHES)):
        if schema_of(msg) != "document_match":
            continue
        value = avro.decode("document_match", msg.value() or b"")
        wanted = ("matched", "INV1001", "BP:ACM-1")
        if (value["event"], value["record_id"], value["line"]) == wanted:
            found = (value, message_headers(msg), msg.partition(), msg.offset())
    assert found is not None
    value, headers, partition, offset = found
    cids = h.all_values(headers, h.CORRELATION_ID)
    assert [raw[c][0] for c in cids] == ["810", "850", "856"]
    child, invoice = parse(h.to_dict(headers).get(h.TRACEPARENT)), parse(raw[cids[0]][1])
    assert child is not None and invoice is not None and child.trace_id == invoice.trace_id

    hops = trace(settings, cids[0])
    stages = [hop.stage for hop in hops]
    assert stages[0] == "raw" and hops[0].topic == settings.topic(t.RAW_EDI)
    assert "outcome" in stages
    at = (partition, offset)
    (hop,) = [x for x in hops if x.stage == "match" and (x.partition, x.offset) == at]
    assert hop.detail == "matched invoice=INV1001 po=PO1001 line=BP:ACM-1"
    # the PO's path reaches the same document match
    assert any(x.offset == offset and x.stage == "match" for x in trace(settings, cids[1]))
