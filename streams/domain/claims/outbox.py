"""What the claims engine's output looks like in the state outbox, and back.

After an evaluation the runtime writes a claim version's results, exception events and
settlement entries into that version's own document (``ch:`` keys, field ``out``), the
accruals' posting-row pattern: the outputs become durable in the same write as the state
that produced them (the settled total, the write sequence their ids derive from), so a
crash can lose neither without the other. The relay publishes each entry from the table's
changelog (docs/claims.md, "Runtime"); the engine drops ``out`` when it next reads the
document. Entries are plain JSON, money as text, so a re-relayed entry always encodes to
the same bytes.

An evaluation with more line exception events than a page holds (``page_entries``), or
whose 849 answer is split into several sets, puts them all into pages instead (``op:``
keys, one per ``page_entries`` events, then one per 849 set), so no record outgrows the
changelog's message size. A page is keyed by the version's write sequence:
the document carrying that sequence is written before its pages (``store.write_rank``),
so a page's key is never reused for other content, and the pages before the line buckets
that record the new exception kinds: a crash between them leaves the buckets as they were,
and the re-evaluation emits the same events again (under the next sequence).
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
from streams.domain.claims.store import OUT, SEP, new_version_doc, version_key
from streams.domain.state import KeyValueState

OUTBOX_PREFIX = "ch:"  # the version documents (``store.version_key``)
PAGE_PREFIX = "op:"  # pages of line exception events (``page_key``)
OUTBOX_PREFIXES = (OUTBOX_PREFIX, PAGE_PREFIX)
# The default of ``Settings.claims_outbox_page_entries``: a line exception entry takes about
# 465 bytes in its page (measured with 18-character claim and transaction ids and its line's
# 55-character correlation id), so a full page is about 0.47 MB, under half the default
# max.message.bytes (1 MB) with room for longer ids and details.
PAGE_ENTRIES = 1000
PAGES = "pg"  # on the version document: [seq, count] of the pages its last write staged
RESULT, EXCEPTION, SETTLEMENT, RESPONSE = "result", "exception", "settlement", "response"
# The default of ``Settings.claims_849_part_bytes``: the line segments of one 849 set. A
# line takes 40 to 80 bytes (its PAD, REF*TN, REF*LI and NTE segments), about 4,000 lines a
# set; with the document's other entries (up to a page of line exceptions when its events
# are not paged) the record stays under the default max.message.bytes.
RESPONSE_PART_BYTES = 262_144


def outbox_key(claim_id: str, version: int) -> str:
    return version_key(claim_id, version)


def page_key(claim_id: str, version: int, seq: int, n: int) -> str:
    return f"{PAGE_PREFIX}{claim_id}{SEP}{version}{SEP}{seq}{SEP}{n}"


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
    if r.rejected_by:
        doc["rejection"] = {"by": r.rejected_by, "reason": r.rejection_reason}
    return doc


def result_from_doc(doc: dict[str, Any]) -> ClaimResult:
    approval, rejection = doc.get("approval") or {}, doc.get("rejection") or {}
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
        rejection.get("by", ""),
        rejection.get("reason", ""),
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


def response_docs(
    r: ClaimResult, sets: list[list[str]], first_control: int
) -> list[dict[str, Any]]:
    """The outbox entries of the 849 answering result ``r``: one per X12 set (``sets``),
    each sent as an interchange of its own numbered from ``first_control``."""
    return [
        {
            "type": RESPONSE,
            "claim_id": r.claim_id,
            "version": r.version,
            "vendor_id": r.vendor_id,
            "seq": r.seq,
            "control": first_control + k,
            "part": [k + 1, len(sets)],
            "segments": segments,
        }
        for k, segments in enumerate(sets)
    ]


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


def is_line_exception(entry: dict[str, Any]) -> bool:
    return entry["type"] == EXCEPTION and bool(entry["sale_key"])


def is_response_part(entry: dict[str, Any]) -> bool:
    """One set of an 849 split into several: each goes into a page of its own."""
    return entry["type"] == RESPONSE and int(entry.get("part", [1, 1])[1]) > 1


def _pageable(entry: dict[str, Any]) -> bool:
    return is_line_exception(entry) or is_response_part(entry)


def stage(
    state: KeyValueState,
    rows: dict[str, list[dict[str, Any]]],
    page_entries: int = PAGE_ENTRIES,
) -> int:
    """Write the outbox ``rows`` (``outbox_entries``) into their version documents, the
    line exception events of a row with more than ``page_entries`` of them, or with an 849
    split into several sets, into pages (and each set into a page of its own); returns how
    many entries. Write-behind state merges two writes of one document in a
    batch so that both writes' entries are kept (``merge_outbox``). The records the
    entries name are staged with them (``refs.attach``)."""
    n = 0
    for key, entries in rows.items():
        doc = state.get(key) or new_version_doc()
        lines = [e for e in entries if is_line_exception(e)]
        parts = [e for e in entries if is_response_part(e)]
        paged = len(lines) > page_entries or bool(parts)
        kept = [e for e in entries if not _pageable(e)] if paged else entries
        claim_id, version = entries[0]["claim_id"], int(entries[0]["version"])
        seq = int(doc["seq"])
        # the pages an earlier write staged were relayed from that write (as ``out`` of
        # the document, which the engine drops): emptied, so the state does not keep them
        old = doc.pop(PAGES, None)
        if old is not None and old[0] != seq:
            for i in range(old[1]):
                state.put(page_key(claim_id, version, old[0], i), {})
        doc[OUT] = kept
        refs.attach(state, doc, kept)
        pages = [lines[i : i + page_entries] for i in range(0, len(lines), page_entries)]
        pages += [[part] for part in parts]
        if paged:
            doc[PAGES] = [seq, len(pages)]
        state.put(key, doc)
        if paged:
            for i, page in enumerate(pages):
                row: dict[str, Any] = {OUT: page}
                refs.attach(state, row, page)
                state.put(page_key(claim_id, version, seq, i), row)
        n += len(entries)
    return n
