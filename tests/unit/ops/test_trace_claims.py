"""The claims hops of `recon trace`: the claims topics are read, claim results and 849s
decode, each hop's line names the claim, its version, status and amount, and a claim row's
path holds the outputs it is on (docs/claims.md, "Tracing a claim")."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from streams.domain.claims import outbox
from streams.domain.claims.refs import LINE_REF
from streams.domain.claims.results import ClaimResult
from streams.domain.claims.rules import ClaimStatus
from streams.domain.models.outcome import Outcome
from streams.formats import headers as h
from streams.formats.claims import COLUMNS
from streams.formats.records import outcome_record, source_of_message
from streams.formats.x12.claims import LineVerdict, interchange, write_849
from streams.kafka import topics as t
from streams.ops import trace as trace_module
from streams.ops.trace import STAGES, decode, describe, trace
from streams.ops.trace_claims import CLAIM_849, CLAIM_RESULT, claim_of_row
from streams.relay.claims import CLAIM_HEADER, publish_of
from streams.settings import Settings

pytestmark = pytest.mark.unit

RESULT = ClaimResult(
    "CLM-200", 1, "INITECH", "AGR-INITECH", "2026-01", "USD", Decimal("140.00"),
    Decimal("12.30"), ClaimStatus.DISPUTED, 3, 3,
    {"claim_line_unknown_sale": 1, "claim_line_over_quantity": 1}, Decimal(0), 4,
)  # fmt: skip


def test_the_claims_topics_are_read_after_the_raw_rows_and_their_outcomes() -> None:
    order = [logical for logical, _, _ in STAGES]
    assert {t.CLAIM_RESULTS, t.CLAIM_RESPONSES, t.RAW_CLAIMS} <= set(order)
    # a claim row's version is known (raw) and applied (outcome) before its outputs are read
    first_output = min(order.index(x) for x in (t.CLAIM_RESULTS, t.LEDGER, t.EXCEPTIONS))
    assert order.index(t.RAW_CLAIMS) < order.index(t.OUTCOMES) < first_output
    assert order.index(t.CLAIM_RESPONSES) == len(order) - 1


def test_a_claim_result_hop_names_claim_version_status_and_amounts() -> None:
    doc = {
        "type": "result", "claim_id": "CLM-100", "version": 2, "vendor_id": "GLOBEX",
        "agreement_id": "AGR-GLOBX-1", "period": "agreement", "currency": "EUR",
        "claimed": "10.98", "accrued": "10.98", "difference": "0.00", "status": "matched",
        "line_count": 2, "received": 2, "failing": {}, "settled": "10.98", "seq": 3,
    }  # fmt: skip
    value = decode(CLAIM_RESULT, json.dumps(doc).encode())
    assert describe("claim", value, {}) == (
        "claim=CLM-100 v2 status=matched claimed=10.98 accrued=10.98 settled=10.98 EUR "
        "lines=2/2 seq=3"
    )
    failing = {**doc, "status": "disputed", "failing": {"b": 2, "a": 1}, "settled": "0"}
    assert describe("claim", failing, {}).endswith("lines=2/2 failing=a:1;b:2 seq=3")
    rejected = {**failing, "status": "rejected", "rejection": {"by": "ana", "reason": "no"}}
    assert describe("claim", rejected, {}).endswith(
        "failing=a:1;b:2 rejected by=ana reason='no' seq=3"
    )


def test_an_849_hop_names_claim_version_status_amounts_and_rejected_lines() -> None:
    lines = [LineVerdict("TX1", 1, ""), LineVerdict("TX4", 1, "claim_line_over_quantity"),
             LineVerdict("TX9", 1, "claim_line_unknown_sale")]  # fmt: skip
    value = decode(CLAIM_849, interchange(write_849(RESULT, lines, "0004")))
    assert describe("849", value, {}) == (
        "849 claim=CLM-200 v1 status=disputed claimed=140.00 accrued=12.30 lines=3 rejected=2"
    )
    assert describe("849", decode(CLAIM_849, b"not x12"), {}).startswith("849 unreadable: ")
    # one set of an answer split in three: its own lines, and which set it is
    second = write_849(RESULT, lines, "0004", part_bytes=1)[1]
    assert describe("849", decode(CLAIM_849, interchange([second])), {}) == (
        "849 claim=CLM-200 v1 status=disputed claimed=140.00 accrued=12.30 lines=1 rejected=1"
        " set=2/3"
    )


def test_a_settlement_hop_names_its_claim_and_settled_total() -> None:
    entry = {
        "entry_id": "e1", "kind": "settlement_reversal", "amount": Decimal("-10.98"),
        "currency": "EUR", "agreement_id": "AGR-GLOBX-1", "period": "agreement",
        "posted_total": Decimal(0), "records": 1,
    }  # fmt: skip
    assert describe("ledger", entry, {CLAIM_HEADER: "CLM-100:1"}) == (
        "entry=e1 settlement_reversal -10.98 EUR agreement=AGR-GLOBX-1 period=agreement "
        "claim=CLM-100 v1 settled_total=0"
    )
    accrual = {**entry, "kind": "accrual", "amount": Decimal("1.00")}
    assert describe("ledger", accrual, {}) == (
        "entry=e1 accrual 1.00 EUR agreement=AGR-GLOBX-1 period=agreement"
    )


def test_a_claim_exception_hop_shows_its_details() -> None:
    exc = {
        "status": "open", "kind": "claim_line_unknown_sale", "record_type": "claim",
        "record_id": "CLM-200", "version": 1, "partner_type": None, "partner_id": None,
        "details": "claim_line_unknown_sale: sale TX9 line 1 of 2026-01-02",
    }  # fmt: skip
    assert describe("exception", exc, {}) == (
        "open claim_line_unknown_sale claim=CLM-200 v1 "
        "'claim_line_unknown_sale: sale TX9 line 1 of 2026-01-02'"
    )
    trade = {**exc, "kind": "mismatch", "record_type": "trade", "details": "qty"}
    assert describe("exception", trade, {}) == "open mismatch trade=CLM-200 v1"


def test_a_claim_row_names_its_version_whatever_its_kind() -> None:
    headers = {h.COLUMNS: ",".join(COLUMNS)}
    assert claim_of_row(b"header,CLM-100,1,GLOBEX,AGR,agreement,1.00,EUR,2,,,,,,", headers) == (
        "CLM-100:1"
    )
    assert claim_of_row(b"line,CLM-100,02,GLOBEX,,,,,,TX6,2,2026-02-02,G,6,0.30", headers) == (
        "CLM-100:2"
    )
    assert claim_of_row(b"line,CLM-100,x,GLOBEX,,,,,,TX6,2,2026-02-02,G,6,0.30", headers) is None
    assert claim_of_row(b"header,CLM-100,1", {}) is None  # no columns header


class Msg:
    """A consumed message as ``read_topic`` yields it."""

    def __init__(self, topic: str, offset: int, value: bytes, headers: list[Any]) -> None:
        self._topic, self._offset, self._value, self._headers = topic, offset, value, headers

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"INITECH"

    def value(self) -> bytes:
        return self._value

    def headers(self) -> list[Any]:
        return self._headers

    def timestamp(self) -> tuple[int, int]:
        return 1, 1_767_225_600_000 + self._offset


def claim_topics() -> dict[str, list[Msg]]:
    """CLM-200's rows (a header, two lines, a duplicate copy of a line from another file),
    their outcomes, and its outputs as the relay publishes them."""
    settings = Settings(topic_prefix="p")
    columns = (h.COLUMNS, ",".join(COLUMNS).encode())
    rows = [
        ("run1:2", b"header,CLM-200,1,INITECH,AGR-INITECH,2026-01,140.00,USD,2,,,,,,", "applied"),
        ("run1:3", b"line,CLM-200,1,INITECH,,,,,,TX1,1,2026-01-01,INI-7,6,5.91", "applied"),
        ("run1:4", b"line,CLM-200,1,INITECH,,,,,,TX9,1,2026-01-02,INI-7,2,1.95", "applied"),
        ("run2:3", b"line,CLM-200,1,INITECH,,,,,,TX1,1,2026-01-01,INI-7,6,5.91", "duplicate"),
    ]
    topics: dict[str, list[Msg]] = {}

    def add(topic: str, value: bytes, headers: list[Any]) -> None:
        on = topics.setdefault(settings.topic(topic), [])
        on.append(Msg(settings.topic(topic), len(on), value, headers))

    for cid, row, outcome in rows:
        add(t.RAW_CLAIMS, row, [(h.CORRELATION_ID, cid.encode()), columns])
        src = source_of_message(settings.topic(t.RAW_CLAIMS), 0, 0, b"INITECH", row,
                                [(h.CORRELATION_ID, cid.encode())])  # fmt: skip
        add(t.OUTCOMES, outcome_record(src, Outcome(outcome), None), src.trace_headers("outcome"))
    result = outbox.result_doc(RESULT)
    exceptions = [
        {"type": "exception", "exception_id": f"x{sale}", "kind": kind, "open": True,
         "claim_id": "CLM-200", "version": 1, "vendor_id": "INITECH", "sale_key": sale,
         "details": details, "seq": 4, **({LINE_REF: line} if line else {})}
        for sale, kind, details, line in [
            ("s1", "claim_line_over_quantity", "TX1", "run1:3"),
            ("s9", "claim_line_unknown_sale", "TX9", "run1:4"),
            ("", "claim_dispute", "claimed 140.00", ""),
        ]
    ]  # fmt: skip
    (response,) = outbox.response_docs(RESULT, write_849(RESULT, []), 7)
    ref = ["run1:2", "00-" + "ab" * 16 + "-00f067aa0ba902b7-01"]
    for doc in [*exceptions, result, response]:
        pub = publish_of(settings, doc, datetime(2026, 1, 1, tzinfo=UTC), ref)
        logical = pub.topic.removeprefix("p.")
        add(logical, pub.value, pub.headers)
    return topics


@pytest.fixture
def topics(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[Msg]]:
    on = claim_topics()
    monkeypatch.setattr(trace_module, "read_topic", lambda _s, name: iter(on.get(name, [])))
    return on


def path(cid: str) -> list[str]:
    """The stages of a trace, an exception's with its kind."""
    return sorted(
        f"exception {hop.detail.split(' ')[1]}" if hop.stage == "exception" else hop.stage
        for hop in trace(Settings(topic_prefix="p"), cid)
    )


@pytest.mark.usefixtures("topics")
def test_a_line_row_reaches_its_own_exception_and_its_claims_outputs_a_duplicate_none() -> None:
    claim = ["849", "claim", "exception claim_dispute"]
    assert path("run1:3") == sorted(
        ["raw", "outcome", "exception claim_line_over_quantity", *claim]
    )
    assert path("run1:2") == sorted([
        "raw", "outcome", "exception claim_line_over_quantity", "exception claim_line_unknown_sale",
        *claim,
    ])  # fmt: skip
    assert path("run2:3") == ["outcome", "raw"]  # a duplicate produced none of them
