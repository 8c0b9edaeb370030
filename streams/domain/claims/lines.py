"""The line checks of docs/domain.md §10.3, over the claims engine's state.

Double claims need the other claimers of a sale: ``cs:<sale key>`` lists them and each
line stores whether it passes the sale and coverage checks in a version in force (``v``).
When a line's flag changes, the other claimers of its sale are marked dirty, so they are
re-evaluated in the same ``settle``.
"""

from __future__ import annotations

from typing import Any

from streams.domain.claims import store
from streams.domain.claims.facts import AccrualFacts
from streams.domain.claims.models import ClaimHeader
from streams.domain.claims.rules import ClaimExceptionKind as K
from streams.domain.models.periods import period_bounds, period_of
from streams.domain.models.promotion import Agreement
from streams.domain.state import KeyValueState

Version = tuple[str, int]


class LineChecker:
    def __init__(self, state: KeyValueState, facts: AccrualFacts, dirty: set[Version]) -> None:
        self.state = state
        self.facts = facts
        self._dirty = dirty

    def kinds(
        self,
        claim: str,
        version: int,
        header: ClaimHeader | None,
        agr: Agreement | None,
        buckets: dict[str, dict[str, Any]],
        superseded: bool,
    ) -> tuple[dict[str, str], set[str]]:
        """Each line's exception kind ('' when it passes), in the order of §10.3, and the
        buckets whose lines' claimer flags changed."""
        kinds: dict[str, str] = {}
        facts: dict[str, Any] = {}
        flagged: set[str] = set()
        for name, bucket in buckets.items():
            for sale_key, entry in bucket.items():
                sale = None if superseded else self.facts.sale(sale_key)
                if superseded:
                    kind = ""  # a superseded version's lines are not checked
                elif sale is None or sale.sku != entry["s"] or sale.day.isoformat() != entry["d"]:
                    kind = K.UNKNOWN_SALE.value
                elif (
                    header is None
                    or agr is None
                    or not agr.covers(sale.sku, sale.day)
                    or period_of(sale.day, agr.period) != header.period
                ):
                    kind = K.NOT_COVERED.value
                else:
                    kind = ""
                    facts[sale_key] = sale
                valid = not superseded and kind == ""
                if valid != entry["v"]:
                    entry["v"] = valid
                    flagged.add(name)
                    self._others_changed(sale_key, claim, version)
                kinds[sale_key] = kind
        if superseded or header is None or agr is None:
            return kinds, flagged
        for sale_key in facts:
            if self._owned_by_smaller(sale_key, claim, version):
                kinds[sale_key] = K.DOUBLE_CLAIMED.value
        # Over quantity: the line's own sale, then the claim's running total per SKU (in
        # sale order) against the units sold net of returns in the claimed period.
        running: dict[str, int] = {}
        net: dict[str, int] = {}
        first, last = period_bounds(header.period, agr.start_date, agr.end_date)
        order = sorted((k for k in facts if not kinds[k]), key=lambda k: _order(buckets, k))
        for sale_key in order:
            entry = _entry(buckets, sale_key)
            sku, qty = entry["s"], entry["q"]
            if qty > facts[sale_key].qty:
                kinds[sale_key] = K.OVER_QUANTITY.value
                continue
            if sku not in net:
                net[sku] = self.facts.net_units(header.vendor_id, sku, first, last)
            if running.get(sku, 0) + qty > net[sku]:
                kinds[sale_key] = K.OVER_QUANTITY.value
            else:  # accepted: counts against what is left of the net quantity
                running[sku] = running.get(sku, 0) + qty
        return kinds, flagged

    def _others_changed(self, sale_key: str, claim: str, version: int) -> None:
        doc = self.state.get(store.claimers_key(sale_key)) or {"c": []}
        self._dirty.update((c, v) for c, v in doc["c"] if (c, v) != (claim, version))

    def _owned_by_smaller(self, sale_key: str, claim: str, version: int) -> bool:
        doc = self.state.get(store.claimers_key(sale_key)) or {"c": []}
        for other, other_version in doc["c"]:
            if other >= claim:
                break  # sorted: no smaller claim id follows
            bucket = self.state.get(
                store.bucket_key(other, other_version, store.bucket_of(sale_key))
            )
            if bucket is not None and bucket.get(sale_key, {}).get("v"):
                return True
        return False


def _entry(buckets: dict[str, dict[str, Any]], sale_key: str) -> dict[str, Any]:
    entry: dict[str, Any] = buckets[store.bucket_of(sale_key)][sale_key]
    return entry


def _order(buckets: dict[str, dict[str, Any]], sale_key: str) -> tuple[str, str, int]:
    """Lines are checked in sale order (day, transaction, line), never arrival order."""
    entry = _entry(buckets, sale_key)
    return (entry["d"], entry["t"], entry["l"])
