"""The identity book: one row per business identity of an invoice or freight bill
(docs/domain.md §5.6), wherever its copies were routed.

Invoices are partitioned by PO number and 210s by carrier, so copies of one identity that
name another PO (or route otherwise) never meet in the three-way engine. The pipeline
re-keys every 810 and 210 by its identity key first; this book, in that partition, decides
which copy is the original and forwards only the original to its order.

Row ``i:<identity key>``: ``{"copies": {envelope key: copy}, "owner": envelope key,
"res", "seq", "out"}``. A copy is what the book needs of one envelope's document: its
envelope key ``idem``, correlation id and traceparent (``c``, ``tp``), ``rank``, routing
``key`` and message key ``pkey`` in the three-way input, PO number ``po``, document type
``t``, id, buyer, seller, content hash, facts, and ``src`` (correlation id, file, file
sha256, line, format: where its outcome is recorded).

**The original** is the copy with the lowest ``rank`` = (ingest time, source line,
envelope key): the copy ingested first, then the earliest in its file; the envelope key
breaks a tie between copies of one instant and line. It does not depend on arrival: a
copy that ranks before the current owner takes its place. The displaced owner is
retracted from its order and its outcome becomes ``duplicate``, so whatever the arrival
order, the same copy is ``applied``, the others are ``duplicate``, and the same results
and exceptions stand once every copy is in.

A copy whose content differs from the original's (another PO, total, lines, charges...)
opens one ``duplicate_conflict`` per identity; its body names the original and the
lowest-ranked conflicting copy, so it is a function of the set of copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streams.domain.models.keys import digest
from streams.domain.models.outcome import Outcome
from streams.domain.state import KeyValueState
from streams.domain.threeway.duplicates import DUPLICATE_CONFLICT
from streams.domain.threeway.engine import diff
from streams.domain.threeway.rules import RECORD_TYPES


@dataclass(frozen=True)
class Verdict:
    """What one copy decided: its outcome, whether it goes to its order (``forward``), and
    the copy it displaced (``retract``: to take out of its order, now a duplicate)."""

    outcome: Outcome
    forward: bool = False
    retract: dict[str, Any] | None = None


def copy_of(
    summary: dict[str, Any],
    ident: dict[str, Any],
    idem: str,
    key: str,
    pkey: str,
    src: tuple[str, str, str, int, str],
    ingested: int,
    traceparent: str = "",
) -> dict[str, Any]:
    """A copy as the book keeps it: ``summary`` and ``ident`` of its document, ``key`` and
    ``pkey`` its routing and message keys, ``src`` (correlation id, file, file sha256, line,
    format) where it was read, ``ingested`` its ingest time (micros)."""
    return {
        "idem": idem,
        "c": src[0],
        "tp": traceparent,
        "rank": [ingested, src[3], idem],
        "key": key,
        "pkey": pkey,
        "po": summary.get("po") or "",
        "t": summary["t"],
        "id": summary["id"],
        "buyer": summary["buyer"],
        "seller": summary["seller"],
        "content": ident["content"],
        "facts": ident["facts"],
        "src": list(src),
    }


def rank(copy: dict[str, Any]) -> tuple[int, int, str]:
    ingested, line, idem = copy["rank"]
    return int(ingested), int(line), str(idem)


def conflict(
    owner: dict[str, Any], other: dict[str, Any], ident: dict[str, Any], more: int
) -> dict[str, Any]:
    """The exception of an identity whose copies disagree: the original against ``other``
    (the lowest-ranked copy with other content), ``more``: how many others also differ."""
    diffs = [
        (name, value, other["facts"].get(name, ""))
        for name, value in sorted(owner["facts"].items())
        if other["facts"].get(name, "") != value
    ] or [("content", owner["content"][:16], other["content"][:16])]
    what = "; ".join(f"{f} {mine!r} in force, {theirs!r} in the copy" for f, mine, theirs in diffs)
    also = f" ({more} more copies with other content)" if more else ""
    record_type = RECORD_TYPES[owner["t"]]
    return {
        "kind": DUPLICATE_CONFLICT,
        "record_type": record_type,
        "record_id": owner["id"],
        "po": owner.get("po") or "",
        "line": "",
        "buyer": owner["buyer"],
        "seller": owner["seller"],
        "details": (
            f"{ident['kind'].replace('_', ' ')} {ident['label']} received again with other "
            f"content: {what}{also}; in force: the copy ingested first "
            f"({owner['src'][1]} segment {owner['src'][3]})"
        ),
        "differences": [list(d) for d in diffs],
        "partner_type": record_type,
        "partner_id": other["id"],
        "refs": [[x["c"], x.get("tp", "")] for x in (owner, other)],
    }


class IdentityBook:
    def __init__(self, state: KeyValueState) -> None:
        self.state = state

    def apply(self, ident: dict[str, Any], copy: dict[str, Any], at: int) -> Verdict:
        """Add one copy (``copy["idem"]``: its envelope key) of identity ``ident``."""
        row_key = f"i:{ident['key']}"
        row = self.state.get(row_key) or {"copies": {}, "owner": None, "res": {}, "seq": 0}
        copies: dict[str, dict[str, Any]] = row["copies"]
        idem = copy["idem"]
        known = copies.get(idem)
        if known is not None:
            if known["c"] != copy["c"]:  # the same envelope again (§1.2)
                return Verdict(Outcome.DUPLICATE)
            # The copy reprocessed after a crash: the same decision, the same outputs.
            if row["owner"] == idem:
                return Verdict(Outcome.APPLIED, True, copies.get(known.get("displaced") or ""))
            return Verdict(Outcome.DUPLICATE)
        stored = dict(copy)
        owner = copies.get(row["owner"] or "")
        if owner is None or rank(copy) < rank(owner):
            stored["displaced"] = row["owner"]
            copies[idem] = stored
            row["owner"] = idem
            verdict = Verdict(Outcome.APPLIED, True, owner)
        else:
            copies[idem] = stored
            verdict = Verdict(Outcome.DUPLICATE)
        self._write(row_key, row, ident, at)
        return verdict

    def _write(self, row_key: str, row: dict[str, Any], ident: dict[str, Any], at: int) -> None:
        results = exceptions_of(row["copies"], row["owner"], ident)
        seq = row["seq"] + 1
        row["out"] = diff(row["res"], results, row_key, seq, at)
        row["res"], row["seq"] = results, seq
        self.state.put(row_key, row)


def exceptions_of(
    copies: dict[str, dict[str, Any]], owner_idem: str, ident: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """The identity's exception (none, or one ``duplicate_conflict``) from its copies."""
    owner = copies[owner_idem]
    others = sorted((c for c in copies.values() if c["content"] != owner["content"]), key=rank)
    if not others:
        return {}
    rid = digest("threeway", DUPLICATE_CONFLICT, ident["key"])
    return {rid: conflict(owner, others[0], ident, len(others) - 1)}


def reference(
    copies: list[tuple[dict[str, Any], dict[str, Any]]],
) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    """The plain reference: (identity, copy) pairs, each envelope once, all at once ->
    (correlation id -> outcome, live exceptions). The lowest rank of an identity is
    applied, the other copies are duplicates (an envelope seen again is not a copy: it
    gets no outcome here)."""
    by_identity: dict[str, tuple[dict[str, Any], dict[str, dict[str, Any]]]] = {}
    for ident, copy in copies:
        # the same envelope twice is one copy (§1.2): the first stands
        by_identity.setdefault(ident["key"], (ident, {}))[1].setdefault(copy["idem"], copy)
    outcomes: dict[str, str] = {}
    live: dict[str, dict[str, Any]] = {}
    for ident, group in by_identity.values():
        first = min(group.values(), key=rank)
        for copy in group.values():
            applied = copy is first
            outcomes[copy["c"]] = (Outcome.APPLIED if applied else Outcome.DUPLICATE).value
        live.update(exceptions_of(group, first["idem"], ident))
    return outcomes, live
