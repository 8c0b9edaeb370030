"""Duplicate invoices and freight bills by business identity (docs/domain.md §5.6).

Runs in the three-way engine after the envelope dedupe (§1.2) and before a document is
stored. State keys, in the partition of the document's routing key (an invoice's PO
number, a 210's PRO number, so every copy of an identity whose PO is unchanged meets its
first):

- ``i:<identity key>`` -> the owner: ``{"idem", "c", "id", "content", "facts"}``;
- ``n:<near key>`` -> ``{"inv": {normalised number: {"id", "day", "c", "tp"}}}``: the
  invoices of one (vendor, PO, amount), for near-duplicates.

"First" is the first copy the partition processes, i.e. the first in the raw topic's
order for that PO: it owns the identity and stays in force. An exact resend (same content)
is a ``duplicate``; another content is a ``duplicate`` too and opens one
``duplicate_conflict`` exception per identity (its id does not depend on which copy came
first; its details name the content in force and the conflicting one). Two owners of one
(vendor, PO, amount) with different invoice numbers dated at most ``near_days`` apart open
a ``suspected_duplicate`` exception for the pair, the same whatever their order; both stay
applied (it is for review).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from streams.domain.models.keys import digest
from streams.domain.state import KeyValueState
from streams.domain.threeway.rules import RECORD_TYPES, result

DUPLICATE_CONFLICT = "duplicate_conflict"
SUSPECTED_DUPLICATE = "suspected_duplicate"


def _ref(doc: dict[str, Any]) -> list[list[str]]:
    return [[doc["c"], doc.get("tp", "")]] if doc.get("c") else []


def conflict(doc: dict[str, Any], ident: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """The exception body of a copy of ``owner``'s identity with other content."""
    diffs = [
        (name, value, ident["facts"].get(name, ""))
        for name, value in sorted(owner["facts"].items())
        if ident["facts"].get(name, "") != value
    ] or [("content", owner["content"][:16], ident["content"][:16])]
    what = "; ".join(f"{f} {mine!r} in force, {theirs!r} in the copy" for f, mine, theirs in diffs)
    _, body = result(
        DUPLICATE_CONFLICT,
        doc,
        "",
        f"{ident['kind'].replace('_', ' ')} {ident['label']} received again with other "
        f"content: {what}",
        diffs,
    )
    body["partner_type"], body["partner_id"] = RECORD_TYPES[doc["t"]], owner["id"]
    body["refs"] = [[owner["c"], owner.get("tp", "")], *_ref(doc)]
    return body


def suspected(
    doc: dict[str, Any], ident: dict[str, Any], mine: dict[str, Any], other: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The exception of two invoices that look like one: the same body for either order."""
    first, second = sorted((mine, other), key=lambda x: (x["n"], x["id"]))
    rid = digest("threeway", SUSPECTED_DUPLICATE, ident["near"], first["n"], second["n"])
    body = {
        "kind": SUSPECTED_DUPLICATE,
        "record_type": RECORD_TYPES[doc["t"]],
        "record_id": first["id"],
        "po": doc.get("po") or "",
        "line": "",
        "buyer": doc["buyer"],
        "seller": doc["seller"],
        "details": (
            f"invoices {first['id']} ({first['day']}) and {second['id']} ({second['day']}) "
            f"of {doc['seller']} for PO {doc.get('po')}: same amount "
            f"{ident['facts']['total']}, different invoice numbers"
        ),
        "differences": [
            ["invoice_number", first["id"], second["id"]],
            ["invoice_date", first["day"], second["day"]],
        ],
        "partner_type": RECORD_TYPES[doc["t"]],
        "partner_id": second["id"],
    }
    refs = [[x["c"], x.get("tp", "")] for x in (first, second) if x.get("c")]
    if refs:
        body["refs"] = refs
    return rid, body


class DuplicateGuard:
    """Decides whether a document is a business duplicate; raises exceptions on its row."""

    def __init__(self, state: KeyValueState, near_days: int) -> None:
        self.state = state
        self.near_days = near_days

    def check(
        self, doc: dict[str, Any], ident: dict[str, Any], idem: str, row: dict[str, Any]
    ) -> tuple[bool, bool]:
        """(is a duplicate, the row's exceptions changed) for the envelope owner ``idem``
        of ``doc``; the exceptions are in ``row["flags"]`` (id -> result body)."""
        flags: dict[str, dict[str, Any]] = row.setdefault("flags", {})
        before = dict(flags)
        key = f"i:{ident['key']}"
        owner = self.state.get(key)
        if owner is not None and owner["idem"] != idem:
            if owner["content"] != ident["content"]:
                rid = digest("threeway", DUPLICATE_CONFLICT, ident["key"])
                flags[rid] = conflict(doc, ident, owner)
            return True, flags != before
        if owner is None:
            self.state.put(
                key,
                {
                    "idem": idem,
                    "c": doc.get("c", ""),
                    "tp": doc.get("tp", ""),
                    "id": doc["id"],
                    "content": ident["content"],
                    "facts": ident["facts"],
                },
            )
        if ident.get("near"):
            self._near(doc, ident, flags)
        return False, flags != before

    def _near(self, doc: dict[str, Any], ident: dict[str, Any], flags: dict[str, Any]) -> None:
        key = f"n:{ident['near']}"
        bucket = self.state.get(key) or {"inv": {}}
        mine = {"n": ident["number"], "id": doc["id"], "day": ident["day"]}
        mine |= {"c": doc.get("c", ""), "tp": doc.get("tp", "")}
        day = date.fromisoformat(ident["day"])
        for number, other in sorted(bucket["inv"].items()):
            if number == ident["number"]:
                continue
            if abs((date.fromisoformat(other["day"]) - day).days) <= self.near_days:
                rid, body = suspected(doc, ident, mine, {**other, "n": number})
                flags[rid] = body
        if ident["number"] not in bucket["inv"]:
            bucket["inv"][ident["number"]] = {k: v for k, v in mine.items() if k != "n"}
            self.state.put(key, bucket)
