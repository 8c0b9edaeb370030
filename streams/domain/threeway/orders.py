"""The purchase order in force: the 850 amended by its 860 change orders, and what shipped.

Changes apply in change-sequence order (BCH05, numerically when it is a number, then as
text; ties by idempotency key), never in arrival order, so the order in force is a function
of the *set* of documents. Per POC line (POC02):

- ``AI`` adds the line (or replaces it when the PO already has it);
- ``DI`` cancels it: ordered quantity 0;
- any other code (``QI``/``QD`` quantity, ``PC`` price, ``CA``/``RZ`` change/replace...)
  sets the quantity (POC03) and/or the unit price (POC06) it carries;
- an 860 whose purpose (BCH01) is ``01`` cancels the whole order: every line ordered 0.

Nothing is dropped silently: a change line (other than ``AI``) to a line the PO does not
have is kept in ``unmatched`` and an 860 without its 850 in ``orphans``; the rules make
them exceptions (``unmatched_change``, ``missing_document``; docs/threeway.md).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def change_rank(change: dict[str, Any]) -> tuple[int, int, str, str]:
    seq = str(change.get("seq") or "")
    number = int(seq) if seq.isdigit() else 0
    return (0 if seq.isdigit() else 1, number, seq, str(change.get("idem", "")))


class OrderLines:
    """An order's PO lines, reachable by any of their ids, as amended; shipped quantities
    per PO line (over every ship notice of the order)."""

    def __init__(
        self,
        pos: list[dict[str, Any]],
        asns: list[dict[str, Any]],
        changes: list[dict[str, Any]] | None = None,
    ) -> None:
        self.canonical: dict[str, str] = {}
        self.ordered: dict[str, tuple[Decimal | None, Decimal | None]] = {}
        # (860, POC line) pairs naming a line the PO (as amended so far) does not have
        self.unmatched: list[tuple[dict[str, Any], dict[str, Any]]] = []
        self.orphans = [] if pos else sorted(changes or [], key=change_rank)
        for po in pos:
            for line in po["lines"]:
                name = self._add(line["ids"])
                self.ordered.setdefault(name, (_dec(line["q"]), _dec(line["p"])))
        if pos:  # a change without the PO it changes has nothing to amend
            for change in sorted(changes or [], key=change_rank):
                self._amend(change)
        self.shipped: dict[str, Decimal] = {}
        for asn in asns:
            for line in asn["lines"]:
                name = self.name(line["ids"])
                self.shipped[name] = self.shipped.get(name, Decimal(0)) + (
                    _dec(line["q"]) or Decimal(0)
                )

    def _add(self, ids: list[str]) -> str:
        known = next((self.canonical[i] for i in ids if i in self.canonical), None)
        name = known or (ids[0] if ids else f"#{len(self.ordered) + 1}")
        for ident in ids:
            self.canonical.setdefault(ident, name)
        return name

    def _amend(self, change: dict[str, Any]) -> None:
        if change.get("cancel"):
            for name, (_, price) in self.ordered.items():
                self.ordered[name] = (Decimal(0), price)
            return
        for line in change["lines"]:
            quantity, price = _dec(line["q"]), _dec(line["p"])
            if line["code"] == "AI":
                name = self._add(line["ids"])
                self.ordered[name] = (quantity, price)
                continue
            name = self.name(line["ids"])
            if name not in self.ordered:
                self.unmatched.append((change, line))  # nothing to amend: an exception
                continue
            old_q, old_p = self.ordered[name]
            if line["code"] == "DI":
                self.ordered[name] = (Decimal(0), old_p)
            else:
                self.ordered[name] = (
                    old_q if quantity is None else quantity,
                    old_p if price is None else price,
                )

    def name(self, ids: list[str]) -> str:
        for ident in ids:
            if ident in self.canonical:
                return self.canonical[ident]
        return ids[0] if ids else "?"
