"""Documents of the example EDI files, as the agent sees them: (routing key, idem, summary)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streams.domain.models.rates import RateRow
from streams.ops.threeway_report import rate_rows as read_rate_rows
from streams.ops.threeway_report import routed_documents

EXAMPLES = Path(__file__).resolve().parents[4] / "examples"
FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "x12"


def routed(*names: str | Path) -> list[tuple[str, str, dict[str, Any]]]:
    """Documents of example files (by name) or of other files (by path)."""
    return routed_documents(EXAMPLES / name for name in names)


def rate_rows() -> list[RateRow]:
    """The rows of examples/rates.csv."""
    return read_rate_rows(EXAMPLES / "rates.csv")


def kinds_by_record(results: dict[str, dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(r["kind"], r["record_type"], r["record_id"]) for r in results.values()}
