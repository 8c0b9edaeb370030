"""844s ingested as rows of the claims CSV: the same headers and lines back, positions
unique, a broken set a fault row the agent dead-letters with its category."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.errors import Category, RecordError
from streams.formats.claims import parse_claim_row
from streams.formats.claims_x12_source import ClaimX12Records, is_x12
from streams.formats.csv_source import read_csv_records
from streams.formats.x12.claims import Claim844, interchange, write_844

pytestmark = pytest.mark.unit

CLAIMS = Path(__file__).resolve().parents[3] / "examples" / "claims.csv"


def sample_claims() -> list[Claim844]:
    header, records = read_csv_records(CLAIMS)
    columns = header.split(",")
    claims: dict[tuple[str, int], Claim844] = {}
    lines: list[ClaimLine] = []
    for rec in records:
        try:
            row = parse_claim_row(columns, rec.raw, "x")
        except RecordError:
            continue
        if isinstance(row, ClaimHeader):
            claims[(row.claim_id, row.version)] = Claim844(row, [])
        else:
            lines.append(row)
    for line in lines:
        claims[(line.claim_id, line.version)].lines.append(line)
    return list(claims.values())


def test_each_844_comes_back_as_its_header_and_lines(tmp_path: Path) -> None:
    claims = sample_claims()
    path = tmp_path / "claims.edi"
    path.write_bytes(interchange([write_844(c, f"{n:04d}") for n, c in enumerate(claims, 1)]))
    assert is_x12(path) and not is_x12(CLAIMS)
    with ClaimX12Records(path) as source:
        records = list(source)
        columns = source.columns
    positions = [p for p, _, _ in records]
    assert len(set(positions)) == len(positions)
    rows = [parse_claim_row(columns, raw, f"line {p}") for p, _, raw in records]
    assert [k for _, k, _ in records] == [r.vendor_id.encode() for r in rows]
    expected = [x for c in claims for x in (c.header, *c.lines)]
    assert rows == expected


def test_a_broken_844_is_a_fault_row_with_its_category(tmp_path: Path) -> None:
    claim = sample_claims()[0]
    good = write_844(claim, "0001")
    # a segment lost in transit: SE01 no longer counts the set's segments
    broken = [s for s in write_844(claim, "0002") if not s.startswith("CTT")]
    path = tmp_path / "broken.edi"
    path.write_bytes(interchange([good, broken]))
    with ClaimX12Records(path) as source:
        records = list(source)
        columns = source.columns
    assert len(records) == 1 + len(claim.lines) + 1
    _, _, fault = records[-1]
    with pytest.raises(RecordError) as err:
        parse_claim_row(columns, fault, "broken.edi line 9")
    assert err.value.category is Category.SCHEMA_VIOLATION
    assert "SE01" in err.value.message and "segment 49 at byte" in err.value.message
