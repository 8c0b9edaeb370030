"""`recon ledger check --against postgres`: the ledger topic's totals per (agreement,
period, currency) against what a delivery target holds, to the cent and by entry count."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from streams.delivery.breaker import Breaker
from streams.delivery.postgres import PostgresTarget
from streams.observability.metrics import Metrics
from streams.ops.ledger import read_ledger
from streams.settings import Settings

Totals = dict[tuple[str, str, str], tuple[Decimal, int]]
ZERO = (Decimal("0.00"), 0)


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
