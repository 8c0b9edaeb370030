"""The three-way outputs folded (document matches and exceptions), and the demo's check of
them against the reference over the example EDI files."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from streams.domain.models.rates import RateRow
from streams.domain.threeway import identities
from streams.domain.threeway.identity import as_state, identity_of
from streams.domain.threeway.reference import expected_results
from streams.domain.threeway.rules import PriceTolerance, RateAudit
from streams.domain.threeway.summary import part_key, routing_key, split_parts, summarize
from streams.formats.x12 import ParsedDocument, parse_file
from streams.ops.matches import exception_events, fold, match_events, open_exceptions
from streams.settings import Settings

THREEWAY_RECORD_TYPES = (
    "purchase_order", "change_order", "ship_notice", "invoice", "freight_invoice",
)  # fmt: skip


def routed_documents(paths: Iterable[Path]) -> list[tuple[str, str, dict[str, Any]]]:
    """(routing key, idempotency key, summary) of every document the match reads."""
    out = []
    for path in paths:
        for item in parse_file(path):
            if not isinstance(item, ParsedDocument):
                continue
            isa = item.transaction_set.interchange
            summary = summarize(item.document, isa.sender_id, isa.receiver_id)
            key = routing_key(item.document)
            if summary is not None and key is not None:
                out.append((key, item.idempotency_key, summary))
            for po in split_parts(item.document):
                part = summarize(item.document, isa.sender_id, isa.receiver_id, po)
                assert part is not None  # an 856 always summarizes
                out.append((po, part_key(item.idempotency_key, po), part))
    return out


def resolved_documents(
    paths: Iterable[Path],
) -> tuple[list[tuple[str, str, dict[str, Any]]], dict[str, dict[str, Any]]]:
    """The documents the match keeps once business identities are resolved (the files
    ingested in this order: the first copy of an identity is its original, the others
    leave), and the identities' exceptions (``duplicate_conflict``)."""
    docs: list[tuple[str, str, dict[str, Any]]] = []
    copies: list[tuple[dict[str, Any], dict[str, Any]]] = []
    original: dict[int, str] = {}  # index in docs -> correlation id of an identified copy
    for path in paths:
        for item in parse_file(path):
            if not isinstance(item, ParsedDocument):
                continue
            isa = item.transaction_set.interchange
            ident = identity_of(item.document, isa.sender_id)
            summary = summarize(item.document, isa.sender_id, isa.receiver_id)
            key = routing_key(item.document)
            if ident is None or summary is None or key is None:
                continue
            cid = f"{path.name}:{len(docs)}"
            where = (cid, path.name, "", item.transaction_set.position.segment_index, "x12-edi")
            state = as_state(ident)
            # ingest order: the files in turn (the rank's ingest time), segments in a file
            copy = identities.copy_of(
                summary, state, item.idempotency_key, key, key, where, len(original)
            )
            copies.append((state, copy))
            original[len(docs)] = cid
            docs.append((key, item.idempotency_key, summary))
    outcomes, live = identities.reference(copies)
    everything = routed_documents(paths)
    kept = [doc for i, doc in enumerate(docs) if outcomes.get(original[i]) == "applied"]
    identified = {idem for _, idem, _ in docs}
    kept += [doc for doc in everything if doc[1] not in identified]
    return kept, live


def live_document_matches(settings: Settings) -> list[dict[str, Any]]:
    found = fold(match_events(settings, "document_match"), "match_id").values()
    return sorted(
        (m for m in found if m["event"] == "matched"), key=lambda m: (m["record_id"], m["line"])
    )


def open_threeway_exceptions(settings: Settings) -> list[dict[str, Any]]:
    return [
        e
        for e in open_exceptions(exception_events(settings))
        if e["record_type"] in THREEWAY_RECORD_TYPES
    ]


def rate_rows(path: Path) -> list[RateRow]:
    """The rows of a rates CSV (all valid: the demo's and the tests' own files)."""
    with path.open(encoding="utf-8", newline="") as f:
        return [RateRow.model_validate(row) for row in csv.DictReader(f)]


def check_against_reference(
    settings: Settings,
    paths: Iterable[Path],
    tol: PriceTolerance,
    rates: RateAudit | None = None,
) -> list[str]:
    """Differences between the topics' live results and the reference (windows closed)."""
    paths = list(paths)
    kept, identity_exceptions = resolved_documents(paths)
    want = [*expected_results(kept, tol, rates).values(), *identity_exceptions.values()]
    want_m = {(w["record_id"], w["line"]) for w in want if w["kind"] == "matched"}
    want_e = {(w["kind"], w["record_id"], w["line"]) for w in want if w["kind"] != "matched"}
    got_m = {(m["record_id"], m["line"]) for m in live_document_matches(settings)}
    got_e = {(e["kind"], e["record_id"], e["product"]) for e in open_threeway_exceptions(settings)}
    problems = [f"document match {m} missing" for m in sorted(want_m - got_m)]
    problems += [f"document match {m} unexpected" for m in sorted(got_m - want_m)]
    problems += [f"three-way exception {e} missing" for e in sorted(want_e - got_e)]
    problems += [f"three-way exception {e} unexpected" for e in sorted(got_e - want_e)]
    return problems
