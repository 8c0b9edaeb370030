"""What one evaluation of a claim version publishes besides its result: the line exception
events that open or resolve, and the settlement entry that brings the settled total to the
target (docs/claims.md, "Settlement")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from streams.domain.claims.models import ClaimHeader
from streams.domain.claims.results import (
    ClaimException,
    Settlement,
    SettlementKind,
    exception_id,
    settlement_id,
)
from streams.domain.claims.rules import ClaimExceptionKind as K

# (claim id, version, vendor, evaluation seq): who an event is about, and when
Where = tuple[str, int, str, int]


def event(
    kind: K,
    is_open: bool,
    claim: str,
    version: int,
    vendor: str,
    sale: str,
    details: str,
    seq: int,
) -> ClaimException:
    return ClaimException(
        exception_id(kind, claim, version, sale),
        kind,
        is_open,
        claim,
        version,
        vendor,
        sale,
        details,
        seq,
    )


def line_events(
    buckets: dict[str, dict[str, dict[str, Any]]],
    kinds: dict[str, str],
    decided: bool,
    where: Where,
    events: list[ClaimException],
) -> set[str]:
    """Append to ``events`` the line exceptions whose kind changed (``kinds`` per sale,
    published only for a decided version) and record the new kind on each line entry;
    returns the names of the buckets changed."""
    claim, version, vendor, seq = where
    changed: set[str] = set()
    for name, bucket in buckets.items():
        for sale, entry in bucket.items():
            new = kinds[sale] if decided else ""
            if new == entry["x"]:
                continue
            if entry["x"]:
                events.append(event(K(entry["x"]), False, claim, version, vendor, sale, "", seq))
            if new:
                details = _line_details(entry, new)
                events.append(event(K(new), True, claim, version, vendor, sale, details, seq))
            entry["x"] = new
            changed.add(name)
    return changed


def settlement(
    header: ClaimHeader, vendor: str, seq: int, settled: Decimal, target: Decimal
) -> Settlement:
    """The entry that moves the version's settled total from ``settled`` to ``target``."""
    amount = target - settled
    kind = SettlementKind.SETTLEMENT if amount > 0 else SettlementKind.SETTLEMENT_REVERSAL
    return Settlement(
        entry_id=settlement_id(header.claim_id, header.version, seq),
        claim_id=header.claim_id,
        version=header.version,
        vendor_id=vendor,
        agreement_id=header.agreement_id,
        period=header.period,
        kind=kind,
        amount=amount,
        currency=header.currency,
        settled_total=target,
        source_key=header.idempotency_key,
    )


def _line_details(entry: dict[str, Any], kind: str) -> str:
    return (
        f"{kind}: sale {entry['t']} line {entry['l']} of {entry['d']}, SKU {entry['s']}, "
        f"claimed qty {entry['q']}, amount {entry['a']}"
    )
