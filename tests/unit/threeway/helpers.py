"""Documents of the example EDI files, as the agent sees them: (routing key, idem, summary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streams.ingest.x12 import ParsedDocument, parse_file
from streams.threeway.summary import routing_key, summarize

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def routed(*names: str) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for name in names:
        for item in parse_file(EXAMPLES / name):
            if not isinstance(item, ParsedDocument):
                continue
            isa = item.transaction_set.interchange
            summary = summarize(item.document, isa.sender_id, isa.receiver_id)
            key = routing_key(item.document)
            assert summary is not None and key is not None
            out.append((key, item.idempotency_key, summary))
    return out


def kinds_by_record(results: dict[str, dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(r["kind"], r["record_type"], r["record_id"]) for r in results.values()}
