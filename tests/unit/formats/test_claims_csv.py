"""The claims CSV layout: both row kinds, the errors (category, field, value), and the
sample file against the reference computation."""

from __future__ import annotations

import contextlib
from decimal import Decimal
from pathlib import Path

import pytest

from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.domain.claims.reference import Record, reference_claims
from streams.domain.claims.rules import ClaimStatus, Tolerances
from streams.domain.models.parsing import parse_columns, to_model
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.errors import Category, RecordError
from streams.formats.claims import COLUMNS, parse_claim_row

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).parents[3] / "examples"
COLS = list(COLUMNS)


def test_a_header_row_and_a_line_row() -> None:
    header = parse_claim_row(COLS, b"header,C1,2,V1,A1,2026-Q1,10.50,USD,3,,,,,,", "f line 2")
    assert isinstance(header, ClaimHeader)
    assert (header.version, header.claimed_amount, header.line_count) == (2, Decimal("10.50"), 3)
    line = parse_claim_row(COLS, b"line,C1,2,V1,,,,,,T1,1,2026-02-03,S1,4,1.20", "f line 3")
    assert isinstance(line, ClaimLine)
    assert (line.txn_id, line.qty, line.sold_on.isoformat()) == ("T1", 4, "2026-02-03")


@pytest.mark.parametrize(
    ("raw", "category", "field", "value"),
    [
        (b"other,C1,1,V1,A1,2026-Q1,1,USD,0,,,,,,", Category.SCHEMA_VIOLATION, "record", "other"),
        (b"header,C1,1,V1,A1,2026-Q1,1,USD,0,T1,,,,,", Category.SCHEMA_VIOLATION, "txn_id", "T1"),
        (b"header,C1,0,V1,A1,2026-Q1,1,USD,0,,,,,,", Category.INVALID_VALUE, "version", "0"),
        (
            b"header,C1,1,V1,A1,2026-Q1,-1,USD,0,,,,,,",
            Category.INVALID_VALUE,
            "claimed_amount",
            "-1",
        ),
        (b"header,C1,1,V1,A1,2026-Q1,1,usd,0,,,,,,", Category.INVALID_VALUE, "currency", "usd"),
        (
            b"line,C1,1,V1,,,,,,T1,1,2026-02-30,S1,4,1",
            Category.SCHEMA_VIOLATION,
            "sold_on",
            "2026-02-30",
        ),
        (b"line,C1,1,V1,,,,,,T1,1,2026-02-03,S1,0,1", Category.INVALID_VALUE, "qty", "0"),
        (b"line,C1,1,V1,,,,,,T1,1,2026-02-03,S1,x,1", Category.SCHEMA_VIOLATION, "qty", "x"),
    ],
)
def test_bad_rows_name_the_field_and_value(
    raw: bytes, category: Category, field: str, value: str
) -> None:
    with pytest.raises(RecordError) as err:
        parse_claim_row(COLS, raw, "claims.csv line 7")
    assert (err.value.category, err.value.field, err.value.value) == (category, field, value)
    assert err.value.message.startswith("claims.csv line 7: field ")


def test_a_file_with_other_columns_is_a_schema_violation() -> None:
    with pytest.raises(RecordError) as err:
        parse_claim_row([*COLS[:-1], "amt"], b"line,C1,1,V1,,,,,,T1,1,2026-02-03,S1,4,1", "f")
    assert err.value.category is Category.SCHEMA_VIOLATION and err.value.field == "amt"


def _load(name: str, model: type[SaleLine] | type[Agreement]) -> list[Record]:
    lines = (EXAMPLES / name).read_bytes().splitlines()
    cols = parse_columns(lines[0].decode())
    out: list[Record] = []
    for raw in lines[1:]:
        with contextlib.suppress(RecordError):  # the samples hold bad rows on purpose
            out.append(to_model(model, cols, raw, name))
    return out


def test_the_sample_claims_reconcile_as_documented() -> None:
    lines = (EXAMPLES / "claims.csv").read_bytes().splitlines()
    cols = parse_columns(lines[0].decode())
    claims: list[Record] = []
    bad = []
    for n, raw in enumerate(lines[1:], start=2):
        try:
            claims.append(parse_claim_row(cols, raw, f"claims.csv line {n}"))
        except RecordError as exc:
            bad.append((n, exc.category, exc.field))
    assert bad == [(17, Category.INVALID_VALUE, "period")]
    records = _load("pos.csv", SaleLine) + _load("promotions.csv", Agreement) + claims
    ref = reference_claims(records, Tolerances())
    assert {f"{c}/{v}": s.value for (c, v), s in ref.status.items()} == {
        "CLM-050/1": ClaimStatus.MATCHED,
        "CLM-100/1": ClaimStatus.MATCHED,
        "CLM-200/1": ClaimStatus.DISPUTED,
        "CLM-300/1": ClaimStatus.SUPERSEDED,
        "CLM-300/2": ClaimStatus.MATCHED,
        "CLM-400/1": ClaimStatus.DISPUTED,
    }
    kinds = sorted((c, k) for k, c, _, _ in ref.exceptions)
    assert kinds == [
        ("CLM-200", "claim_dispute"),
        ("CLM-200", "claim_line_over_quantity"),
        ("CLM-200", "claim_line_unknown_sale"),
        ("CLM-400", "claim_line_double_claimed"),
    ]
