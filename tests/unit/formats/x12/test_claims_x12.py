"""844 claims in and 849 responses out: round trips through the X12 reader, and bad 844s
as faults with their category and segment position."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.domain.claims.results import ClaimResult
from streams.domain.claims.rules import ClaimStatus
from streams.errors import Category
from streams.formats.x12 import Fault, X12Reader
from streams.formats.x12.claims import (
    Claim844,
    LineVerdict,
    parse_claim_sets,
    read_849,
    write_844,
    write_849,
)
from streams.formats.x12.sets import TransactionSet
from tests.unit.formats.x12.helpers import interchange

pytestmark = pytest.mark.unit

HEADER = ClaimHeader(
    claim_id="CLM-7", version=2, agreement_id="AGR-1", vendor_id="ACME", period="2026-Q1",
    claimed_amount=Decimal("1234.56"), currency="USD", line_count=2,
)  # fmt: skip
LINES = [
    ClaimLine(claim_id="CLM-7", version=2, vendor_id="ACME", txn_id=f"TX{n}", line_no=n,
              sold_on=date(2026, 2, n), sku=f"SKU-{n}", qty=n * 3, amount=Decimal("1.25") * n)
    for n in (1, 2)
]  # fmt: skip


def read(data: bytes) -> list[tuple[TransactionSet, Claim844] | Fault]:
    return list(parse_claim_sets(X12Reader(io.BytesIO(data))))


def test_an_844_round_trips_to_the_same_claim() -> None:
    items = read(interchange(write_844(Claim844(HEADER, LINES)), functional_id="CF"))
    assert len(items) == 1 and not isinstance(items[0], Fault)
    _, claim = items[0]
    assert claim.header == HEADER
    assert claim.lines == LINES


def test_an_849_round_trips_the_status_amounts_and_line_verdicts() -> None:
    result = ClaimResult(
        "CLM-7", 2, "ACME", "AGR-1", "2026-Q1", "USD", Decimal("1234.56"), Decimal("1200.00"),
        ClaimStatus.DISPUTED, 2, 2,
    )  # fmt: skip
    verdicts = [LineVerdict("TX1", 1, ""), LineVerdict("TX2", 2, "claim_line_over_quantity")]
    (answer,) = write_849(result, verdicts)
    data = interchange(answer, functional_id="CF")
    sets = list(X12Reader(io.BytesIO(data)))
    assert len(sets) == 1 and isinstance(sets[0], TransactionSet)
    response = read_849(sets[0])
    assert (response.claim_id, response.version, response.status) == ("CLM-7", 2, "disputed")
    assert (response.claimed, response.accrued) == (Decimal("1234.56"), Decimal("1200.00"))
    assert response.lines == verdicts
    assert response.part == (1, 1)


@given(
    st.lists(
        st.tuples(st.text("ABCXYZ0123456789", min_size=1, max_size=40), st.booleans()),
        max_size=60,
    ),
    st.integers(min_value=1, max_value=600),
)
def test_a_large_849_splits_into_sets_that_read_back_to_every_line(
    lines: list[tuple[str, bool]], part_bytes: int
) -> None:
    result = ClaimResult(
        "CLM-7", 2, "ACME", "AGR-1", "2026-Q1", "USD", Decimal("10.00"), Decimal("9.00"),
        ClaimStatus.DISPUTED, len(lines), len(lines),
    )  # fmt: skip
    verdicts = [
        LineVerdict(txn, n, "claim_line_over_quantity" if bad else "")
        for n, (txn, bad) in enumerate(lines, start=1)
    ]
    answer = write_849(result, verdicts, part_bytes=part_bytes)
    data = interchange(*answer, functional_id="CF")
    read = [read_849(ts) for ts in X12Reader(io.BytesIO(data))]  # type: ignore[arg-type]
    assert [r.part for r in read] == [(k, len(answer)) for k in range(1, len(answer) + 1)]
    assert [v for r in read for v in r.lines] == verdicts  # every line once, in order
    assert all(r.lines for r in read) or len(read) == 1  # no empty set but an empty answer's
    assert {(r.claim_id, r.status, r.claimed, r.accrued) for r in read} == {
        ("CLM-7", "disputed", Decimal("10.00"), Decimal("9.00"))
    }
    for ts in answer:  # each set's lines within the budget, unless a single line is over it
        body = [s for s in ts if s.startswith(("PAD", "REF*TN", "REF*LI", "NTE"))]
        assert sum(map(len, body)) <= part_bytes or sum(s.startswith("PAD") for s in body) == 1
        pads = [s for s in ts if s.startswith("PAD")]
        assert f"CTT*{len(pads)}" in ts


def _broken(old: str, new: str) -> Fault:
    segments = [new if s == old else s for s in write_844(Claim844(HEADER, LINES))]
    segments = [s for s in segments if s]
    segments[-1] = f"SE*{len(segments)}*0001"
    items = read(interchange(segments, functional_id="CF"))
    assert len(items) == 1 and isinstance(items[0], Fault), items
    return items[0]


@pytest.mark.parametrize(
    ("old", "new", "category", "segment_index", "text"),
    [
        ("CON*CT*AGR-1", "", Category.SCHEMA_VIOLATION, 3, "has no CON segment"),
        ("REF*ZZ*PERIOD:2026-Q1", "REF*ZZ*PERIOD:Q1", Category.INVALID_VALUE, 6, "YYYY-MM"),
        ("CTT*2", "CTT*3", Category.INVALID_VALUE, 24, "says 3 PAD loops, the set has 2"),
        ("DTM*003*20260201", "DTM*003*20260231", Category.SCHEMA_VIOLATION, 13, "not a date"),
        ("QTY*01*3", "QTY*01*-3", Category.INVALID_VALUE, 10, "qty must be >= 1"),
        ("AMT*TT*1234.56", "AMT*TT*12.345", Category.INVALID_VALUE, 25, "more than 2 decimal"),
        ("LIN**SK*SKU-1", "LIN**UP*0001", Category.SCHEMA_VIOLATION, 14, "no SK qualifier"),
    ],
)
def test_a_bad_844_is_a_fault_with_its_category_and_segment_position(
    old: str, new: str, category: Category, segment_index: int, text: str
) -> None:
    fault = _broken(old, new)
    assert fault.category is category
    assert fault.scope == "transaction_set" and fault.set_id == "844"
    assert fault.position is not None and fault.position.segment_index == segment_index
    assert text in fault.error.message


def test_an_envelope_error_is_a_fault_too() -> None:
    segments = write_844(Claim844(HEADER, LINES))
    segments[-1] = "SE*99*0001"
    items = read(interchange(segments, functional_id="CF"))
    assert [type(i) for i in items] == [Fault]
    assert isinstance(items[0], Fault) and items[0].category is Category.SCHEMA_VIOLATION
