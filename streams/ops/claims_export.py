"""`recon claims export`: the claims as the worker decided them, read from the claim
results topic (docs/claims.md, "Runtime").

The topic holds every result, exception event and settlement entry the relay published,
at least once each: results and exceptions are folded by their ``seq`` (the latest of a
claim version or exception counts), settlement entries by ``entry_id``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from streams.domain.claims.outbox import (
    EXCEPTION,
    RESULT,
    SETTLEMENT,
    exception_from_doc,
    result_from_doc,
    settlement_from_doc,
)
from streams.domain.claims.results import ClaimException, ClaimResult, Settlement
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.settings import Settings

Version = tuple[str, int]


@dataclass
class ClaimsView:
    results: dict[Version, ClaimResult] = field(default_factory=dict)
    exceptions: dict[str, ClaimException] = field(default_factory=dict)
    settlements: dict[str, Settlement] = field(default_factory=dict)

    def add(self, doc: dict[str, Any]) -> None:
        kind = doc.get("type")
        if kind == RESULT:
            r = result_from_doc(doc)
            old = self.results.get((r.claim_id, r.version))
            if old is None or r.seq >= old.seq:
                self.results[(r.claim_id, r.version)] = r
        elif kind == EXCEPTION:
            e = exception_from_doc(doc)
            old_e = self.exceptions.get(e.exception_id)
            if old_e is None or e.seq >= old_e.seq:
                self.exceptions[e.exception_id] = e
        elif kind == SETTLEMENT:
            s = settlement_from_doc(doc)
            self.settlements[s.entry_id] = s

    def sorted_results(self) -> list[ClaimResult]:
        return [self.results[v] for v in sorted(self.results)]

    def open_exceptions(self) -> list[ClaimException]:
        return sorted(
            (e for e in self.exceptions.values() if e.open),
            key=lambda e: (e.claim_id, e.version, e.kind.value, e.sale_key),
        )

    def settled(self) -> dict[Version, Decimal]:
        """The settlement total of each claim version (its entries summed)."""
        totals: dict[Version, Decimal] = {}
        for s in self.settlements.values():
            totals[(s.claim_id, s.version)] = (
                totals.get((s.claim_id, s.version), Decimal(0)) + s.amount
            )
        return totals


def fold(docs: Iterable[dict[str, Any]]) -> ClaimsView:
    view = ClaimsView()
    for doc in docs:
        view.add(doc)
    return view


def read_claims(settings: Settings) -> ClaimsView:
    messages = read_topic(settings, settings.topic(t.CLAIM_RESULTS))
    return fold(json.loads(value) for m in messages if (value := m.value()))
