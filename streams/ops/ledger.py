"""The ledger as downstream consumers see it: each entry_id counted once.

An entry id always carries the same amount (the relay may publish an entry twice after a
crash, never two versions of it); a conflict is a broken invariant and is reported loudly.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from streams.errors import ReconError
from streams.formats import avro
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.settings import Settings

EXPORT_COLUMNS = (
    "entry_id",
    "agreement_id",
    "vendor_id",
    "period",
    "kind",
    "amount",
    "currency",
    "source_key",
)
TOTAL_COLUMNS = ("agreement_id", "period", "currency", "amount", "entries")
SETTLEMENT_KINDS = frozenset({"settlement", "settlement_reversal"})


class LedgerConflictError(ReconError):
    """The ledger breaks an invariant: an entry_id with two amounts, or an agreement id
    used by two vendors."""


@dataclass(frozen=True)
class Ledger:
    entries: dict[str, dict[str, Any]]  # entry_id -> entry, first occurrence order
    copies: int  # messages read, duplicates included

    @property
    def duplicate_copies(self) -> int:
        return self.copies - len(self.entries)

    def accruals(self) -> Ledger:
        """The accrual entries alone, without the settlements of vendor claims
        (docs/claims.md): what the accrual reference computes."""
        kept = {i: e for i, e in self.entries.items() if e["kind"] not in SETTLEMENT_KINDS}
        return Ledger(kept, self.copies)

    def totals(self) -> dict[tuple[str, str, str], tuple[Decimal, int]]:
        out: dict[tuple[str, str, str], tuple[Decimal, int]] = {}
        vendors: dict[str, str] = {}
        for e in self.entries.values():
            # Agreement ids must be unique across vendors; two vendors' agreements sharing
            # an id (possible when they sit on different partitions) must not be summed.
            owner = vendors.setdefault(e["agreement_id"], e["vendor_id"])
            if owner != e["vendor_id"]:
                raise LedgerConflictError(
                    f"agreement {e['agreement_id']} has entries for vendors {owner} and "
                    f"{e['vendor_id']}; fix the promotions feed (agreement ids are global)"
                )
            key = (e["agreement_id"], e["period"], e["currency"])
            amount, count = out.get(key, (Decimal("0.00"), 0))
            out[key] = (amount + e["amount"], count + 1)
        return dict(sorted(out.items()))


def distinct_entries(records: Iterable[dict[str, Any]]) -> Ledger:
    entries: dict[str, dict[str, Any]] = {}
    copies = 0
    for rec in records:
        copies += 1
        seen = entries.get(rec["entry_id"])
        if seen is None:
            entries[rec["entry_id"]] = rec
        elif seen["amount"] != rec["amount"]:
            raise LedgerConflictError(
                f"ledger entry {rec['entry_id']} appears with amounts {seen['amount']} and "
                f"{rec['amount']}"
            )
    return Ledger(entries, copies)


def read_ledger(settings: Settings) -> Ledger:
    messages = read_topic(settings, settings.topic(t.LEDGER))
    return distinct_entries(avro.decode("ledger_entry", m.value() or b"") for m in messages)


def write_totals(ledger: Ledger, out: Path) -> int:
    rows = ledger.totals()
    with _open(out) as f:
        w = csv.writer(f)
        w.writerow(TOTAL_COLUMNS)
        for (agreement, period, currency), (amount, count) in rows.items():
            w.writerow([agreement, period, currency, f"{amount:.2f}", count])
    return len(rows)


def write_export(ledger: Ledger, out: Path) -> int:
    with _open(out) as f:
        w = csv.writer(f)
        w.writerow(EXPORT_COLUMNS)
        for e in ledger.entries.values():
            w.writerow([f"{e[c]:.2f}" if c == "amount" else e[c] for c in EXPORT_COLUMNS])
    return len(ledger.entries)


def _open(out: Path) -> Any:
    out.parent.mkdir(parents=True, exist_ok=True)
    return out.open("w", newline="", encoding="utf-8")
