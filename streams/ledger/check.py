"""Checking the ledger against the plain reference computation over the source files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from streams.accrual.reference import TotalKey, reference_totals
from streams.errors import RecordError
from streams.ingest.csv_source import read_csv_records
from streams.ledger.reader import Ledger
from streams.models.parsing import parse_columns, to_model
from streams.models.pos import SaleLine
from streams.models.promotion import Agreement

M = TypeVar("M", bound=BaseModel)


def valid_records(path: Path, model: type[M]) -> Iterator[M]:
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
