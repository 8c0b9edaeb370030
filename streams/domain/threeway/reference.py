"""The plain reference: every document at once, windows closed, results as a sorted list.

Tests (and the demo's self-check) compare the engine's folded outputs with this."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from streams.domain.models.rates import RateRow
from streams.domain.threeway.duplicates import suspected_duplicates
from streams.domain.threeway.rules import PriceTolerance, RateAudit, evaluate


def rate_tables(rows: Iterable[RateRow]) -> dict[str, dict[str, dict[str, str]]]:
    """The carriers' tables after ``rows`` in order: the last version of each rate key
    (none after a delete row), an exact copy of an earlier row counting once (it is a
    duplicate)."""
    tables: dict[str, dict[str, dict[str, str]]] = {}
    seen: set[str] = set()
    for row in rows:
        if row.idempotency_key not in seen:
            seen.add(row.idempotency_key)
            table, version = tables.setdefault(row.scac, {}), row.version()
            if version is None:
                table.pop(row.rate_key, None)
            else:
                table[row.rate_key] = version
    return tables


def expected_results(
    routed: Iterable[tuple[str, str, dict[str, Any]]],
    tol: PriceTolerance,
    rates: RateAudit | None = None,
    near_days: int = 30,
) -> dict[str, dict[str, Any]]:
    """``routed``: (routing key, idempotency key, summary); copies of a key count once.
    Business-identity copies must already be resolved (identities.reference): pass only
    the original of each identity."""
    by_key: dict[str, dict[str, dict[str, Any]]] = {}
    for key, idem, doc in routed:
        by_key.setdefault(key, {}).setdefault(idem, {**doc, "idem": idem})
    out: dict[str, dict[str, Any]] = {}
    for docs in by_key.values():
        out.update(evaluate(docs.values(), True, tol, rates))
        out.update(suspected_duplicates(docs.values(), near_days))
    return out


def fold(events: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Live results from outbox events: latest per id by seq, kept while matched/open."""
    latest: dict[str, dict[str, Any]] = {}
    for e in events:
        seen = latest.get(e["id"])
        if seen is None or e["seq"] >= seen["seq"]:
            latest[e["id"]] = e
    keep = ("matched", "open")
    return {
        rid: {k: v for k, v in e.items() if k in RESULT_FIELDS}
        for rid, e in latest.items()
        if e.get("event", e.get("status")) in keep
    }


RESULT_FIELDS = (
    "kind",
    "record_type",
    "record_id",
    "po",
    "line",
    "buyer",
    "seller",
    "details",
    "differences",
    "partner_type",
    "partner_id",
)
