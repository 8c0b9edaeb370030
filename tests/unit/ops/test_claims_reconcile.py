"""`recon claims reconcile` over the sample files: the CSV claims, the same claims as X12
844s (same results), the 849 answers and the export table."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from streams.domain.claims.models import ClaimHeader, ClaimLine
from streams.domain.claims.rules import Tolerances
from streams.domain.models.parsing import parse_columns
from streams.errors import RecordError
from streams.formats.claims import parse_claim_row
from streams.formats.x12 import X12Reader
from streams.formats.x12.claims import Claim844, interchange, read_849, write_844
from streams.formats.x12.sets import TransactionSet
from streams.ops.claims import reconcile, write_export

pytestmark = pytest.mark.unit

EXAMPLES = Path(__file__).parents[3] / "examples"
POS, PROMOTIONS, CLAIMS = (EXAMPLES / n for n in ("pos.csv", "promotions.csv", "claims.csv"))

EXPECTED = """\
claim,version,agreement,period,currency,claimed,accrued,difference,status,failing_lines,approved_by,approved_amount,approval_reason,rejected_by,rejection_reason
CLM-050,1,AGR-ACME-Q1,2026-01,USD,7.00,7.00,0.00,matched,,,,,,
CLM-100,1,AGR-GLOBX-1,agreement,EUR,10.98,10.98,0.00,matched,,,,,,
CLM-200,1,AGR-INITECH,2026-01,USD,140.00,121.67,18.33,disputed,claim_line_over_quantity:1;claim_line_unknown_sale:1,,,,,
CLM-300,1,AGR-ACME-Q1,2026-02,USD,20.00,0,20.00,superseded,,,,,,
CLM-300,2,AGR-ACME-Q1,2026-02,USD,18.88,18.88,0.00,matched,,,,,,
CLM-400,1,AGR-ACME-Q1,2026-01,USD,7.00,7.00,0.00,disputed,claim_line_double_claimed:1,,,,,
"""


def test_the_sample_claims_table() -> None:
    result = reconcile(POS, PROMOTIONS, CLAIMS, Tolerances())
    out = io.StringIO()
    write_export(result.results, out)
    assert out.getvalue() == EXPECTED
    assert [e for e in result.errors if e.startswith("claims.csv")] == [
        "claims.csv line 17: field period='2026-13': period '2026-13' must be YYYY-MM, "
        "YYYY-Qn or 'agreement'"
    ]


def test_the_same_claims_as_844s_give_the_same_table_and_849s(tmp_path: Path) -> None:
    lines = CLAIMS.read_bytes().splitlines()
    columns = parse_columns(lines[0].decode())
    headers: dict[tuple[str, int], ClaimHeader] = {}
    claim_lines: dict[tuple[str, int], list[ClaimLine]] = {}
    for raw in lines[1:]:
        try:
            row = parse_claim_row(columns, raw, "claims.csv")
        except RecordError:
            continue
        if isinstance(row, ClaimHeader):
            headers[(row.claim_id, row.version)] = row
        else:
            claim_lines.setdefault((row.claim_id, row.version), []).append(row)
    sets = [
        write_844(Claim844(h, claim_lines.get(key, [])), control=f"{n:04d}")
        for n, (key, h) in enumerate(headers.items(), start=1)
    ]
    edi = tmp_path / "claims.edi"
    edi.write_bytes(interchange(sets))
    result = reconcile(POS, PROMOTIONS, edi, Tolerances())
    out = io.StringIO()
    write_export(result.results, out)
    assert out.getvalue() == EXPECTED
    assert len(result.responses) == len(sets)
    answers = [
        read_849(ts)
        for ts in X12Reader(io.BytesIO(interchange(result.responses)))
        if isinstance(ts, TransactionSet)
    ]
    assert {(a.claim_id, a.version): a.status for a in answers} == {
        (r.claim_id, r.version): r.status.value for r in result.results
    }
    clm200 = next(a for a in answers if a.claim_id == "CLM-200")
    assert sorted(v.kind for v in clm200.lines) == [
        "",
        "claim_line_over_quantity",
        "claim_line_unknown_sale",
    ]


def test_the_command_writes_the_table_and_lists_bad_records(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from streams.cli.main import app

    out = tmp_path / "claims.csv"
    args = ["claims", "reconcile", "--pos", str(POS), "--promotions", str(PROMOTIONS)]
    args += ["--claims", str(CLAIMS), "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert out.read_text() == EXPECTED
    assert "bad record: claims.csv line 17: field period='2026-13'" in result.output
    assert CliRunner().invoke(app, [*args, "--strict"]).exit_code == 1
