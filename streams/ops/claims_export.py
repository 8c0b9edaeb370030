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
from streams.formats import avro
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.relay.claims import CLAIM_HEADER, PART_HEADER
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


SETTLEMENT_KINDS = frozenset({"settlement", "settlement_reversal"})


def settlement_doc_of(entry: dict[str, Any]) -> dict[str, Any]:
    """A ledger entry of a claim settlement, as the outbox held it."""
    claim, version = entry["source_file"].removeprefix("claim ").rsplit(" version ", 1)
    return {
        "type": SETTLEMENT,
        "entry_id": entry["entry_id"],
        "claim_id": claim,
        "version": int(version),
        "vendor_id": entry["vendor_id"],
        "agreement_id": entry["agreement_id"],
        "period": entry["period"],
        "kind": entry["kind"],
        "amount": str(entry["amount"]),
        "currency": entry["currency"],
        "settled_total": str(entry["posted_total"]),
        "source_key": entry["source_key"],
    }


def exception_doc_of(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": EXCEPTION,
        "exception_id": event["exception_id"],
        "kind": event["kind"],
        "open": event["status"] == "open",
        "claim_id": event["record_id"],
        "version": event["version"],
        "vendor_id": event["seller"],
        "sale_key": event["product"],
        "details": event["details"],
        "seq": event["seq"],
    }


def read_claims(settings: Settings) -> ClaimsView:
    """Results from the claim results topic, exception events from the exceptions topic
    and settlement entries from the ledger."""
    view = ClaimsView()
    for m in read_topic(settings, settings.topic(t.CLAIM_RESULTS)):
        if value := m.value():
            view.add(json.loads(value))
    for m in read_topic(settings, settings.topic(t.EXCEPTIONS)):
        event = avro.decode("match_exception", m.value() or b"")
        if event["record_type"] == "claim":
            view.add(exception_doc_of(event))
    for m in read_topic(settings, settings.topic(t.LEDGER)):
        entry = avro.decode("ledger_entry", m.value() or b"")
        if entry["kind"] in SETTLEMENT_KINDS:
            view.add(settlement_doc_of(entry))
    return view


def read_responses(settings: Settings) -> dict[str, bytes]:
    """The latest 849 answer of each claim version (``claim_id:version``) that came as an
    844: its interchanges, one per set of the answer, in order. A version is answered
    again each time its decision changes, and keyed by vendor, so its 849s are in order on
    one partition; an answer whose sets are not all there yet (the relay is mid-way, or a
    crash cut it and the re-evaluation answers again) leaves the one before it standing."""
    answers = Answers()
    for m in read_topic(settings, settings.topic(t.CLAIM_RESPONSES)):
        raw = dict(m.headers() or [])
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in raw.items()}
        claim = headers.get(CLAIM_HEADER)
        if claim is not None and (value := m.value()):
            answers.add(claim, headers.get(PART_HEADER), value)
    return answers.whole()


@dataclass
class Answers:
    """The 849 answers read so far, by claim version: the latest whole one, and the sets
    of a newer one being read."""

    latest: dict[str, bytes] = field(default_factory=dict)
    reading: dict[str, tuple[str, dict[int, bytes]]] = field(default_factory=dict)

    def add(self, claim: str, part: str | None, value: bytes) -> None:
        seq, _, k_of_n = (part or "0:1/1").partition(":")
        k, _, n = k_of_n.partition("/")
        current_seq, sets = self.reading.get(claim, (seq, {}))
        if current_seq != seq:
            sets = {}
        sets[int(k)] = value
        self.reading[claim] = (seq, sets)
        if len(sets) == int(n):
            self.latest[claim] = b"".join(sets[i] for i in sorted(sets))
            del self.reading[claim]

    def whole(self) -> dict[str, bytes]:
        return dict(sorted(self.latest.items()))
