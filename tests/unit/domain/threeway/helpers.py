"""Documents of the example EDI files, as the agent sees them: (routing key, idem, summary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streams.ops.threeway_report import routed_documents

EXAMPLES = Path(__file__).resolve().parents[4] / "examples"


def routed(*names: str) -> list[tuple[str, str, dict[str, Any]]]:
    return routed_documents(EXAMPLES / name for name in names)


def kinds_by_record(results: dict[str, dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(r["kind"], r["record_type"], r["record_id"]) for r in results.values()}
