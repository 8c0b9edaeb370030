"""Duplicate invoices by business identity: the exception kinds, and near-duplicates
(docs/domain.md §5.6).

Exact resends and conflicting copies are decided by the identity book (identities.py),
before a document reaches its order. Near-duplicates are a property of one order's
invoices: two invoices of one (vendor, PO, amount) with different invoice numbers dated
at most ``near_days`` apart open a ``suspected_duplicate`` exception for the pair, for
review (both stay applied). They are evaluated from the set of the order's invoices, like
every other result of the order, so the exception is the same whatever the arrival order
and ends if one of the two leaves the order (a copy displaced by the original).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from itertools import combinations
from typing import Any

from streams.domain.models.keys import digest
from streams.domain.threeway.identity import normalise_amount, normalise_ref
from streams.domain.threeway.rules import RECORD_TYPES
from streams.domain.threeway.summary import INVOICE

DUPLICATE_CONFLICT = "duplicate_conflict"
SUSPECTED_DUPLICATE = "suspected_duplicate"


def _near_key(inv: dict[str, Any]) -> str:
    amount = normalise_amount(Decimal(inv["tds"]))
    return digest("near", normalise_ref(inv["seller"]), normalise_ref(inv.get("po") or ""), amount)


def _order(doc: dict[str, Any]) -> tuple[str, str]:
    return doc["id"], doc.get("idem", "")


def suspected(
    near: str, first: dict[str, Any], second: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The exception of two invoices that look like one (``first`` by normalised number)."""
    n1, n2 = normalise_ref(first["id"]), normalise_ref(second["id"])
    rid = digest("threeway", SUSPECTED_DUPLICATE, near, n1, n2)
    total = normalise_amount(Decimal(first["tds"]))
    body = {
        "kind": SUSPECTED_DUPLICATE,
        "record_type": RECORD_TYPES[first["t"]],
        "record_id": first["id"],
        "po": first.get("po") or "",
        "line": "",
        "buyer": first["buyer"],
        "seller": first["seller"],
        "details": (
            f"invoices {first['id']} ({first['date']}) and {second['id']} ({second['date']}) "
            f"of {first['seller']} for PO {first.get('po')}: same amount {total}, different "
            "invoice numbers"
        ),
        "differences": [
            ["invoice_number", first["id"], second["id"]],
            ["invoice_date", first["date"], second["date"]],
        ],
        "partner_type": RECORD_TYPES[second["t"]],
        "partner_id": second["id"],
    }
    refs = [[x["c"], x.get("tp", "")] for x in (first, second) if x.get("c")]
    if refs:
        body["refs"] = refs
    return rid, body


def suspected_duplicates(
    docs: Iterable[dict[str, Any]], near_days: int
) -> dict[str, dict[str, Any]]:
    """The ``suspected_duplicate`` exceptions among one order's documents."""
    buckets: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in docs:
        if doc["t"] == INVOICE:
            # One invoice per normalised number: copies of one number are the identity
            # book's business, and the lowest (id, envelope) keeps the result stable.
            number = normalise_ref(doc["id"])
            bucket = buckets.setdefault(_near_key(doc), {})
            seen = bucket.get(number)
            if seen is None or _order(doc) < _order(seen):
                bucket[number] = doc
    out: dict[str, dict[str, Any]] = {}
    for near, bucket in sorted(buckets.items()):
        for (_, a), (_, b) in combinations(sorted(bucket.items()), 2):
            days = abs((date.fromisoformat(a["date"]) - date.fromisoformat(b["date"])).days)
            if days <= near_days:
                rid, body = suspected(near, a, b)
                out[rid] = body
    return out
