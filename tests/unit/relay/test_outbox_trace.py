"""The relays' trace headers: one correlation id per record an event concerns, and a
deterministic child traceparent, so a re-relayed copy is byte-identical."""

from __future__ import annotations

from typing import Any

import pytest

from streams.domain.matching import messages as m
from streams.domain.threeway.engine import ThreeWayConfig, ThreeWayEngine
from streams.domain.threeway.rules import PriceTolerance
from streams.domain.threeway.summary import ASN, INVOICE, PO
from streams.formats import avro
from streams.formats import headers as h
from streams.observability.tracing import parse
from streams.relay.matching import EVENT_ID_HEADER, publish_of, reference_headers
from streams.relay.publish import Publish
from streams.relay.threeway import publish_of as threeway_publish_of
from streams.settings import Settings
from tests.unit.domain.matching.harness import Both, ChangelogState, record, relayed, tp
from tests.unit.domain.threeway.helpers import routed

pytestmark = pytest.mark.unit

SETTINGS = Settings(topic_prefix="p")


def trace_of(pub: Publish) -> tuple[list[str], str]:
    pairs = [(k, v) for k, v in pub.headers if isinstance(v, bytes)]
    return h.all_values(pairs, h.CORRELATION_ID), h.to_dict(pairs).get(h.TRACEPARENT, "")


def test_reference_headers_name_each_record_once_and_continue_the_first_trace() -> None:
    other = "00-" + "cd" * 16 + "-00000000000000aa-01"
    refs = [["T1:v1", tp(1)], ["C1:v1", other], ["T1:v1", tp(1)], ["", ""]]
    headers = reference_headers(refs, "event-1")
    assert headers[:2] == [(h.CORRELATION_ID, b"T1:v1"), (h.CORRELATION_ID, b"C1:v1")]
    assert len(headers) == 3 and headers[2][0] == h.TRACEPARENT
    child, parent = parse(headers[2][1].decode()), parse(tp(1))
    assert child is not None and parent is not None
    assert child.trace_id == parent.trace_id and child.span_id != parent.span_id
    assert reference_headers(refs, "event-1") == headers  # deterministic per event
    assert reference_headers(refs, "event-2")[2] != headers[2]
    # a record without a trace is skipped for the parent; none at all: no traceparent
    assert reference_headers([["a", ""], ["b", tp(2)]], "e")[2][1].decode().startswith(
        f"00-{'ab' * 16}-"
    )
    assert reference_headers([["a", "garbage"]], "e") == [(h.CORRELATION_ID, b"a")]
    assert reference_headers([], "e") == []


def test_match_events_carry_both_records_and_relay_byte_identically() -> None:
    run = Both()
    run.feed(record("c", "C1"))  # the confirmation first: the trade's trace still leads
    run.feed(record("t", "T1"))
    run.feed(record("t", "T1", 2, qty="11"))  # breaks the pair
    entries = [e for e in relayed(run.groups.log, "g:") if e["to"] == m.MATCHES]
    (matched, unmatched) = [publish_of(SETTINGS, e) for e in entries]
    for pub, entry in ((matched, entries[0]), (unmatched, entries[1])):
        cids, traceparent = trace_of(pub)
        assert cids == ["T1:v1", "C1:v1"]
        child, trade = parse(traceparent), parse(tp(2))
        assert child is not None and trade is not None and child.trace_id == trade.trace_id
        assert (avro.SCHEMA_HEADER, b"match") in pub.headers
        assert (EVENT_ID_HEADER, entry["doc"]["event_id"].encode()) in pub.headers
        assert publish_of(SETTINGS, entry) == pub  # a re-relayed copy: same bytes, headers
    assert trace_of(matched)[1] != trace_of(unmatched)[1]  # one span per event
    value = avro.decode("match", matched.value)
    assert (value["trade_id"], value["confirm_id"], value["event"]) == ("T1", "C1", "matched")


def test_extra_fields_do_not_change_the_avro_bytes() -> None:
    run = Both()
    run.feed(record("t", "T1"))
    run.feed(record("c", "C1"))
    run.engine.apply(m.Tick(10**12, final=True), 0, 10**12)
    for entry in relayed(run.groups.log, "g:"):
        bare = {**entry, "doc": {k: v for k, v in entry["doc"].items() if k != "refs"}}
        assert entry["doc"]["refs"]
        assert publish_of(SETTINGS, entry).value == publish_of(SETTINGS, bare).value
        # rows from before trace propagation: schema and event id only
        assert [k for k, _ in publish_of(SETTINGS, bare).headers] == [
            avro.SCHEMA_HEADER,
            EVENT_ID_HEADER,
        ]


def test_exceptions_and_match_input_carry_the_trace() -> None:
    run = Both()
    run.feed(record("t", "T1"))
    run.feed(record("c", "C1", price="51"))
    run.engine.apply(m.Tick(10**12, final=True), 0, 10**12)
    by_record = {
        e["doc"]["record_id"]: publish_of(SETTINGS, e)
        for e in relayed(run.groups.log, "g:")
        if e["to"] == m.EXCEPTIONS
    }
    assert trace_of(by_record["C1"])[0] == ["C1:v1", "T1:v1"]  # mismatch: record, partner
    parent = parse(trace_of(by_record["C1"])[1])
    assert parent is not None and parent.trace_id == "ab" * 16
    inputs = [e for e in relayed(run.records.log, "r:") if e["to"] == m.INPUT]
    pub = publish_of(SETTINGS, inputs[0])
    assert pub.topic == "p.matching.input" and trace_of(pub)[0] == ["T1:v1"]
    assert parse(trace_of(pub)[1]) is not None and pub == publish_of(SETTINGS, inputs[0])


def test_document_matches_name_invoice_po_and_ship_notices() -> None:
    docs = routed("orders.edi")
    engine = ThreeWayEngine(
        ChangelogState(), ThreeWayConfig(PriceTolerance(), window_micros=10**6)
    )
    kinds: dict[str, str] = {}
    for n, (key, idem, doc) in enumerate(d for d in docs if d[0] == "PO1001"):
        kinds[f"run:{n}"] = doc["t"]
        engine.apply(doc, key, idem, f"run:{n}", 0, n, n, tp(n + 1))
    # the owner redelivered after a crash (new hop span): nothing changes
    key, idem, doc = next(d for d in docs if d[0] == "PO1001")
    engine.apply(doc, key, idem, "run:0", 0, 9, 9, tp(99))
    entries: list[dict[str, Any]] = relayed(engine.state.log, "o:")  # type: ignore[attr-defined]
    matched = [e for e in entries if e["to"] == "matches" and e["doc"]["event"] == "matched"]
    assert matched and all(tp(99) not in str(e["doc"]["refs"]) for e in entries)
    pub = threeway_publish_of(SETTINGS, matched[0])
    cids, traceparent = trace_of(pub)
    assert [kinds[c] for c in cids] == [INVOICE, PO, ASN]
    invoice_n = int(cids[0].split(":")[1])
    assert parse(traceparent) is not None
    assert traceparent != tp(invoice_n + 1) and traceparent.startswith(f"00-{'ab' * 16}-")
    assert threeway_publish_of(SETTINGS, matched[0]) == pub
    bare = {**matched[0], "doc": {k: v for k, v in matched[0]["doc"].items() if k != "refs"}}
    assert threeway_publish_of(SETTINGS, bare).value == pub.value
