"""The plain reference computations over the source files, for the demo, the benchmark and
the tests: what the ledger and the matching must converge to."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from streams.domain.accrual.reference import TotalKey, reference_totals
from streams.domain.claims.reference import ClaimsReference, Record, reference_claims
from streams.domain.claims.results import ClaimResult
from streams.domain.claims.rules import Tolerances as ClaimTolerances
from streams.domain.matching.reference import Expected, expected
from streams.domain.matching.rules import Tolerances
from streams.domain.models.parsing import parse_columns, to_model
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.domain.models.trades import Confirmation, MatchRecord, Trade
from streams.errors import RecordError
from streams.formats.claims import parse_claim_row
from streams.formats.csv_source import read_csv_records
from streams.ops.ledger import Ledger

M = TypeVar("M", bound=BaseModel)


def valid_records(path: Path, model: type[M]) -> Iterator[M]:
    """The valid records of a CSV file, in file order (the pipeline dead-letters the
    others, so a reference skips them)."""
    header, records = read_csv_records(path)
    columns = parse_columns(header)
    for rec in records:
        try:
            yield to_model(model, columns, rec.raw, f"{path.name} line {rec.line}")
        except RecordError:
            continue


def expected_totals(
    pos_files: Sequence[Path], promotion_files: Sequence[Path]
) -> dict[TotalKey, Decimal]:
    """What the ledger must hold once every file is processed (in any order)."""
    sales = [s for p in pos_files for s in valid_records(p, SaleLine)]
    agreements = [a for p in promotion_files for a in valid_records(p, Agreement)]
    return reference_totals([*sales, *agreements])


def expected_matches(
    trades: Iterable[Path], confirmations: Iterable[Path], tol: Tolerances
) -> Expected:
    """What the matching pipeline must converge to once every window has closed."""
    records: list[MatchRecord] = [r for p in trades for r in valid_records(p, Trade)]
    records += [r for p in confirmations for r in valid_records(p, Confirmation)]
    return expected(records, tol)


def expected_claims(
    pos: Path,
    promotions: Path,
    claims: Path,
    tolerances: ClaimTolerances,
    decisions: Path | None = None,
) -> ClaimsReference:
    """The plain reference of a claims CSV (and a decisions CSV) over its sales and
    agreements (bad rows skipped): every claim version's status, open exceptions and
    settled total."""
    records: list[Record] = [*valid_records(pos, SaleLine), *valid_records(promotions, Agreement)]
    for path in (claims, *([decisions] if decisions else [])):
        header, rows = read_csv_records(path)
        columns = parse_columns(header)
        for rec in rows:
            try:
                records.append(parse_claim_row(columns, rec.raw, f"{path.name} line {rec.line}"))
            except RecordError:
                continue
    return reference_claims(records, tolerances)


def claim_differences(
    results: Sequence[ClaimResult],
    pos: Path,
    promotions: Path,
    claims: Path,
    tolerances: ClaimTolerances,
    decisions: Path | None = None,
) -> list[str]:
    """Claim statuses and settled totals that differ from the plain reference."""
    ref = expected_claims(pos, promotions, claims, tolerances, decisions)
    problems = []
    for r in results:
        key = (r.claim_id, r.version)
        want = (ref.status.get(key), ref.settled.get(key, Decimal(0)))
        if (r.status, r.settled) != want:
            problems.append(f"claim {key}: {r.status} settled {r.settled}, reference {want}")
    if {(r.claim_id, r.version) for r in results} != set(ref.status):
        problems.append(f"claims: versions differ from the reference {sorted(ref.status)}")
    return problems


def differences(ledger: Ledger, expected: dict[TotalKey, Decimal]) -> list[str]:
    """Human-readable mismatches between the ledger and the reference; empty when exact."""
    actual = {k: amount for k, (amount, _) in ledger.totals().items() if amount}
    return compare_totals(actual, expected, "ledger")


def compare_totals(
    actual: dict[TotalKey, Decimal], expected: dict[TotalKey, Decimal], name: str
) -> list[str]:
    """One line per (agreement, period, currency) where ``name``'s totals differ from the
    reference; a key missing on one side counts as zero."""
    out = []
    for key in sorted(set(actual) | set(expected)):
        got, want = actual.get(key, Decimal(0)), expected.get(key, Decimal(0))
        if got != want:
            out.append(f"{'/'.join(key)}: {name} {got}, reference {want}")
    return out
