"""`recon ledger check --against postgres|erp-export`: the ledger topic's totals per
(agreement, period, currency) against what a delivery target holds, to the cent and by
entry count. The ERP is checked through an export of its posted journal lines (CSV:
``entry_id,agreement_id,period,currency,amount``, other columns ignored, each entry_id
counted once)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from streams.delivery.breaker import Breaker
from streams.delivery.postgres import PostgresTarget
from streams.errors import ReconError
from streams.observability.metrics import Metrics
from streams.ops.ledger import read_ledger
from streams.settings import Settings

Totals = dict[tuple[str, str, str], tuple[Decimal, int]]
ZERO = (Decimal("0.00"), 0)
EXPORT_COLUMNS = ("entry_id", "agreement_id", "period", "currency", "amount")


class ExportError(ReconError):
    """An ERP export that cannot be compared: a missing column, an unreadable amount, an
    entry with two amounts."""


@dataclass(frozen=True)
class Difference:
    agreement_id: str
    period: str
    currency: str
    ledger: tuple[Decimal, int]  # amount, entries
    target: tuple[Decimal, int]

    def describe(self) -> str:
        (la, ln), (ta, tn) = self.ledger, self.target
        return (
            f"agreement {self.agreement_id} period {self.period} {self.currency}: ledger "
            f"{la:.2f} in {ln} entries, target {ta:.2f} in {tn} entries "
            f"(difference {ta - la:+.2f})"
        )


def differences(ledger: Totals, target: Totals) -> list[Difference]:
    """Every (agreement, period, currency) whose amount or entry count differs."""
    return [
        Difference(*key, ledger.get(key, ZERO), target.get(key, ZERO))
        for key in sorted(ledger.keys() | target.keys())
        if ledger.get(key, ZERO) != target.get(key, ZERO)
    ]


def check_against_postgres(settings: Settings, dsn: str, metrics: Metrics) -> list[Difference]:
    """Differences between the ledger topic and the PostgreSQL target's ledger_entries; the
    count goes to ``recon_ledger_check_differences{target="postgres"}``."""
    ledger = read_ledger(settings).totals()
    breaker = Breaker("postgres", metrics, settings.breaker_fail_max, 1.0)
    target = PostgresTarget(dsn, settings.postgres_schema, breaker)
    try:
        held = target.totals()
    finally:
        target.close()
    found = differences(ledger, held)
    metrics.ledger_check_differences.labels("postgres").set(len(found))
    return found


def export_totals(path: Path) -> Totals:
    """Totals per (agreement, period, currency) of an ERP export, each entry_id once."""
    amounts: dict[str, tuple[tuple[str, str, str], Decimal]] = {}
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in EXPORT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ExportError(f"{path}: no column {', '.join(missing)} in the header")
        for row in reader:
            where = f"{path} line {reader.line_num}"
            try:
                amount = Decimal(row["amount"])
            except InvalidOperation as exc:
                raise ExportError(
                    f"{where}: field amount={row['amount']!r}: not a decimal number"
                ) from exc
            key = (row["agreement_id"], row["period"], row["currency"])
            seen = amounts.setdefault(row["entry_id"], (key, amount))
            if seen != (key, amount):
                raise ExportError(
                    f"{where}: entry {row['entry_id']} posted twice, differently: "
                    f"{seen[1]} and {amount}"
                )
    totals: Totals = {}
    for key, amount in amounts.values():
        total, count = totals.get(key, ZERO)
        totals[key] = (total + amount, count + 1)
    return totals


def check_against_export(settings: Settings, export: Path, metrics: Metrics) -> list[Difference]:
    """Differences between the ledger topic and an ERP export; the count goes to
    ``recon_ledger_check_differences{target="erp-export"}``."""
    found = differences(read_ledger(settings).totals(), export_totals(export))
    metrics.ledger_check_differences.labels("erp-export").set(len(found))
    return found
