"""Which records a claim's outputs name (docs/claims.md, "Tracing a claim"): results,
settlements, claim disputes and 849s the header row, a line exception its line row and the
header row; never more than two ids, read from state, so a re-evaluation after a restart
(started by a sale, not by a claim row) names them all the same."""

from __future__ import annotations

from typing import Any

import pytest

from streams.domain.claims import outbox
from streams.domain.claims.engine import ClaimsEngine
from streams.domain.claims.facts import RebateStateFacts
from streams.domain.claims.models import ClaimLine
from streams.domain.claims.results import ClaimsOutput
from streams.domain.claims.rules import Tolerances
from streams.domain.state import encode
from streams.formats import avro
from streams.formats import headers as h
from streams.formats.x12.claims import write_849
from streams.kafka import topics as t
from streams.observability.tracing import parse
from streams.relay.claims import CLAIM_HEADER, claims_publishes
from streams.relay.publish import Publish
from streams.settings import Settings
from tests.unit.domain.claims.test_claims_engine import AGREEMENT, World, header, line, sale
from tests.unit.relay.test_claims_relay import FakeMessage

pytestmark = pytest.mark.unit

SETTINGS = Settings(topic_prefix="p")
HEADER_TP = "00-" + "ab" * 16 + "-00f067aa0ba902b7-01"


def staged(w: World, out: ClaimsOutput) -> list[Publish]:
    """Stage ``out`` like the claims agent (an 849 for every result, as if each version came
    as an 844) and relay each written version document."""
    rows = outbox.outbox_entries(out)
    for r in out.results:
        rows[outbox.outbox_key(r.claim_id, r.version)] += outbox.response_docs(
            r, write_849(r, []), r.seq
        )
    outbox.stage(w.state, rows)
    handle = claims_publishes(SETTINGS)
    sent: list[Publish] = []
    for key in rows:
        doc = w.state.get(key)
        assert doc is not None
        sent += handle(FakeMessage(key.encode(), encode(doc)))  # type: ignore[arg-type]
    return sent


def ids(pub: Publish) -> list[str]:
    pairs = [(k, v) for k, v in pub.headers if isinstance(v, bytes)]
    return h.all_values(pairs, h.CORRELATION_ID)


def header_of(pub: Publish, name: str) -> str | None:
    pairs = [(k, v) for k, v in pub.headers if isinstance(v, bytes)]
    return h.to_dict(pairs).get(name)


def kind_of(pub: Publish) -> str:
    if pub.topic == SETTINGS.topic(t.EXCEPTIONS):
        value: dict[str, Any] = avro.decode("match_exception", pub.value)
        return "line_exception" if value["product"] else "dispute"
    return {
        SETTINGS.topic(t.CLAIM_RESULTS): "result",
        SETTINGS.topic(t.LEDGER): "settlement",
        SETTINGS.topic(t.CLAIM_RESPONSES): "849",
    }[pub.topic]


def lines(n: int) -> list[tuple[ClaimLine, str]]:
    return [(line("C1", f"T{i}", 1), f"run1:{i + 3}") for i in range(n)]


def test_each_output_names_the_header_row_and_a_line_exception_its_line_too() -> None:
    w = World()
    w.feed(AGREEMENT)
    w.claims.apply_header(header("C1", "10.00", 1), "run1:2", HEADER_TP)
    w.claims.apply_lines([(line("C1", "T1", 20), "run1:3")])
    first = staged(w, w.claims.settle())  # disputed: the sale is unknown
    assert sorted(kind_of(p) for p in first) == ["849", "dispute", "line_exception", "result"]

    # a restart: the engine's memory is gone; a sale (no claim row) matches the claim
    w.claims = ClaimsEngine(w.state, RebateStateFacts(w.state), Tolerances())
    second = staged(w, w.feed(sale("T1", 20)))
    assert sorted(kind_of(p) for p in second) == [
        "849", "dispute", "line_exception", "result", "settlement"
    ]  # fmt: skip

    parent = parse(HEADER_TP)
    assert parent is not None
    for pub in first + second:
        kind = kind_of(pub)
        if kind == "line_exception":
            assert ids(pub) == ["run1:3", "run1:2"]
            assert header_of(pub, CLAIM_HEADER) is None  # on its line's path, by id
        else:
            assert ids(pub) == ["run1:2"], kind
            assert header_of(pub, CLAIM_HEADER) == "C1:1", kind
        child = parse(header_of(pub, h.TRACEPARENT))
        assert child is not None and child.trace_id == parent.trace_id, kind
        assert child.span_id != parent.span_id
    (entry,) = [p for p in second if kind_of(p) == "settlement"]
    assert avro.decode("ledger_entry", entry.value)["correlation_id"] == "run1:2"
    # each output a span of its own: traceparents differ between the outputs
    spans = [header_of(p, h.TRACEPARENT) for p in first + second]
    assert len(set(spans)) == len(spans)


def test_a_large_claim_names_at_most_two_records_per_message() -> None:
    w = World()
    w.feed(AGREEMENT)
    w.claims.apply_header(header("C1", "50.00", 50), "run1:2", HEADER_TP)
    w.claims.apply_lines(lines(50))  # every sale unknown: 50 line exceptions
    sent = staged(w, w.claims.settle())
    exceptions = [p for p in sent if kind_of(p) == "line_exception"]
    assert len(exceptions) == 50
    assert {len(ids(p)) for p in sent if kind_of(p) != "line_exception"} == {1}
    assert {tuple(ids(p)) for p in exceptions} == {(f"run1:{i + 3}", "run1:2") for i in range(50)}


def test_outputs_before_the_header_name_no_record_and_old_headers_no_trace() -> None:
    w = World()
    w.feed(AGREEMENT)
    w.claims.apply_lines([(line("C1", "T1", 1), "run1:3")])  # the header is not there yet
    (result,) = [p for p in staged(w, w.claims.settle()) if kind_of(p) == "result"]
    assert ids(result) == [] and header_of(result, h.TRACEPARENT) is None
    assert header_of(result, CLAIM_HEADER) == "C1:1"  # still on the line row's path
    w.claims.apply_header(header("C1", "9.00", 1), "run1:2")  # a mark without a traceparent
    sent = staged(w, w.claims.settle())
    assert sent and all("run1:2" in ids(p) for p in sent)
    assert all(header_of(p, h.TRACEPARENT) is None for p in sent)


def test_a_re_relayed_version_document_gives_the_same_messages_and_headers() -> None:
    w = World()
    w.feed(AGREEMENT)
    w.claims.apply_header(header("C1", "10.00", 1), "run1:2", HEADER_TP)
    w.claims.apply_lines([(line("C1", "T1", 20), "run1:3")])
    outbox.stage(w.state, outbox.outbox_entries(w.claims.settle()))
    doc = w.state.get(outbox.outbox_key("C1", 1))
    handle = claims_publishes(SETTINGS)
    msg = FakeMessage(outbox.outbox_key("C1", 1).encode(), encode(doc))
    assert handle(msg) == handle(msg)  # type: ignore[arg-type]
