"""The final inventory computed plainly, for tests and self-checks: per asset, the
content of its version with the greatest ``(manifest_at, content hash)``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from streams.domain.inventory.rows import InventoryRow


def final_inventory(versions: Iterable[tuple[InventoryRow, int]]) -> dict[str, dict[str, Any]]:
    """``versions``: (valid row, manifest_at in microseconds) in any order, copies allowed."""
    best: dict[str, tuple[int, str, dict[str, Any]]] = {}
    for row, at in versions:
        candidate = (at, row.content_hash, row.normalised())
        held = best.get(row.asset_key)
        if held is None or candidate[:2] > held[:2]:
            best[row.asset_key] = candidate
    return {key: value[2] for key, value in best.items()}
