"""What the claims engine's output looks like in the state outbox, and back.

After an evaluation the runtime writes a claim version's results, exception events and
settlement entries into that version's own document (``ch:`` keys, field ``out``), the
accruals' posting-row pattern: the outputs become durable in the same write as the state
that produced them (the settled total, the write sequence their ids derive from), so a
crash can lose neither without the other. The relay publishes each entry from the table's
changelog (docs/claims.md, "Runtime"); the engine drops ``out`` when it next reads the
document. Entries are plain JSON, money as text, so a re-relayed entry always encodes to
the same bytes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from streams.domain.claims import refs
from streams.domain.claims.results import (
    ClaimException,
    ClaimResult,
    ClaimsOutput,
    Settlement,
    SettlementKind,
)
from streams.domain.claims.rules import ClaimExceptionKind, ClaimStatus
from streams.domain.claims.store import OUT, new_version_doc, version_key
from streams.domain.state import KeyValueState

OUTBOX_PREFIX = "ch:"  # the version documents (``store.version_key``)
RESULT, EXCEPTION, SETTLEMENT, RESPONSE = "result", "exception", "settlement", "response"


def outbox_key(claim_id: str, version: int) -> str:
    return version_key(claim_id, version)


def result_doc(r: ClaimResult) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": RESULT,
        "claim_id": r.claim_id,
        "version": r.version,
        "vendor_id": r.vendor_id,
        "agreement_id": r.agreement_id,
        "period": r.period,
        "currency": r.currency,
        "claimed": str(r.claimed),
        "accrued": str(r.accrued),
        "difference": str(r.difference),
        "status": r.status.value,
        "line_count": r.line_count,
        "received": r.received,
        "failing": dict(sorted(r.failing.items())),
        "settled": str(r.settled),
        "seq": r.seq,
    }
    if r.approved_by:  # only then: the results of versions never approved are unchanged
        doc["approval"] = {
            "by": r.approved_by,
            "amount": str(r.approved_amount),
            "reason": r.approval_reason,
        }
    return doc


def result_from_doc(doc: dict[str, Any]) -> ClaimResult:
    approval = doc.get("approval") or {}
    return ClaimResult(
        doc["claim_id"],
        int(doc["version"]),
        doc["vendor_id"],
        doc["agreement_id"],
        doc["period"],
        doc["currency"],
        Decimal(doc["claimed"]),
        Decimal(doc["accrued"]),
        ClaimStatus(doc["status"]),
        int(doc["line_count"]),
        int(doc["received"]),
        {k: int(v) for k, v in doc["failing"].items()},
        Decimal(doc["settled"]),
        int(doc["seq"]),
        approval.get("by", ""),
        Decimal(approval["amount"]) if approval else None,
        approval.get("reason", ""),
    )


def exception_doc(e: ClaimException) -> dict[str, Any]:
    return {
        "type": EXCEPTION,
        "exception_id": e.exception_id,
        "kind": e.kind.value,
        "open": e.open,
        "claim_id": e.claim_id,
        "version": e.version,
        "vendor_id": e.vendor_id,
        "sale_key": e.sale_key,
        "details": e.details,
        "seq": e.seq,
    }


def exception_from_doc(doc: dict[str, Any]) -> ClaimException:
    return ClaimException(
        doc["exception_id"],
        ClaimExceptionKind(doc["kind"]),
        bool(doc["open"]),
        doc["claim_id"],
        int(doc["version"]),
        doc["vendor_id"],
        doc["sale_key"],
        doc["details"],
        int(doc["seq"]),
    )


def settlement_doc(s: Settlement) -> dict[str, Any]:
    return {
        "type": SETTLEMENT,
        "entry_id": s.entry_id,
        "claim_id": s.claim_id,
        "version": s.version,
        "vendor_id": s.vendor_id,
        "agreement_id": s.agreement_id,
        "period": s.period,
        "kind": s.kind.value,
        "amount": str(s.amount),
        "currency": s.currency,
        "settled_total": str(s.settled_total),
        "source_key": s.source_key,
    }


def settlement_from_doc(doc: dict[str, Any]) -> Settlement:
    return Settlement(
        doc["entry_id"],
        doc["claim_id"],
        int(doc["version"]),
        doc["vendor_id"],
        doc["agreement_id"],
        doc["period"],
        SettlementKind(doc["kind"]),
        Decimal(doc["amount"]),
        doc["currency"],
        Decimal(doc["settled_total"]),
        doc["source_key"],
    )


def outbox_entries(out: ClaimsOutput) -> dict[str, list[dict[str, Any]]]:
    """The entries of ``out`` grouped by the outbox row of their claim version, each row's
    in the order the engine emitted them (exceptions, then settlements, then the result)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for e in out.exceptions:
        rows.setdefault(outbox_key(e.claim_id, e.version), []).append(exception_doc(e))
    for s in out.settlements:
        rows.setdefault(outbox_key(s.claim_id, s.version), []).append(settlement_doc(s))
    for r in out.results:
        rows.setdefault(outbox_key(r.claim_id, r.version), []).append(result_doc(r))
    return rows


def stage(state: KeyValueState, rows: dict[str, list[dict[str, Any]]]) -> int:
    """Write the outbox ``rows`` (``outbox_entries``) into their version documents;
    returns how many entries. Write-behind state merges two writes of one document in a
    batch so that both writes' entries are kept (``merge_outbox``). The records the
    entries name are staged with them (``refs.attach``)."""
    n = 0
    for key, entries in rows.items():
        doc = state.get(key) or new_version_doc()
        doc[OUT] = entries
        refs.attach(state, doc, entries)
        state.put(key, doc)
        n += len(entries)
    return n
