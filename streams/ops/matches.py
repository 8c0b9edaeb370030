"""The matching outputs as downstream consumers see them: topics folded into current state.

``matches``: per pair_id the event with the highest seq wins; a pair is live while that
event is ``matched``. ``exceptions``: per exception_id likewise; open while ``open``. A
re-relayed copy has the same event id, seq and content, so folding is idempotent.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from streams.formats import avro
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.settings import Settings

MATCH_COLUMNS = ("trade_id", "trade_version", "confirm_id", "confirm_version", "match_type")
EXCEPTION_COLUMNS = ("kind", "record_type", "record_id", "version", "counterparty_id", "details")


def fold(events: Iterable[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    """Latest event per ``key`` by seq (ties are copies of one event)."""
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        seen = latest.get(event[key])
        if seen is None or event["seq"] >= seen["seq"]:
            latest[event[key]] = event
    return latest


def live_pairs(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    pairs = [e for e in fold(events, "pair_id").values() if e["event"] == "matched"]
    return sorted(pairs, key=lambda e: (e["trade_id"], e["confirm_id"], e["pair_id"]))


def open_exceptions(events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    found = [e for e in fold(events, "exception_id").values() if e["status"] == "open"]
    return sorted(found, key=lambda e: (e["kind"], e["record_type"], e["record_id"], e["version"]))


def schema_of(msg: Any) -> str:
    for name, value in msg.headers() or []:
        if name == avro.SCHEMA_HEADER and value is not None:
            return bytes(value).decode()
    return "match"


def match_events(settings: Settings, schema: str = "match") -> list[dict[str, Any]]:
    """Events of one schema on ``matches``: trade pairs (``match``) or three-way
    document matches (``document_match``) share the topic."""
    return [
        avro.decode(schema, msg.value() or b"")
        for msg in read_topic(settings, settings.topic(t.MATCHES))
        if schema_of(msg) == schema
    ]


def exception_events(settings: Settings) -> list[dict[str, Any]]:
    return [
        avro.decode("match_exception", msg.value() or b"")
        for msg in read_topic(settings, settings.topic(t.EXCEPTIONS))
    ]


def own_parties(settings: Settings) -> set[str]:
    return {p.strip() for p in settings.match_own_parties.split(",") if p.strip()}


def counterparty(buyer: str, seller: str, own: set[str]) -> str:
    """The side that is not ours; both sides (buyer/seller) when that is not clear."""
    if buyer in own and seller not in own:
        return seller
    if seller in own and buyer not in own:
        return buyer
    return f"{buyer}/{seller}"


def write_matches(pairs: list[dict[str, Any]], out: Path) -> int:
    with _open(out) as f:
        w = csv.writer(f)
        w.writerow(MATCH_COLUMNS)
        for p in pairs:
            w.writerow([p[c] for c in MATCH_COLUMNS])
    return len(pairs)


def write_exceptions(found: list[dict[str, Any]], out: Path, own: set[str]) -> int:
    with _open(out) as f:
        w = csv.writer(f)
        w.writerow(EXCEPTION_COLUMNS)
        for e in found:
            party = counterparty(e["buyer"], e["seller"], own)
            w.writerow(
                [e["kind"], e["record_type"], e["record_id"], e["version"], party, e["details"]]
            )
    return len(found)


def _open(out: Path) -> Any:
    out.parent.mkdir(parents=True, exist_ok=True)
    return out.open("w", newline="", encoding="utf-8")
