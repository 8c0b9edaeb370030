"""Current inventory per asset, and the changes a row makes to it (docs/domain.md §9.3).

An asset's state is the version with the greatest ``(manifest_at, content_hash)`` of every
row of it seen, so the final inventory is the same for any arrival order and any number
of copies. A row is:

- a **duplicate** if its content is the asset's current content (it may only raise the
  current version's ``manifest_at``: no new ledger state), or an older version already
  seen;
- **applied** otherwise: a newer version becomes current (a ``created`` or ``updated``
  ledger event), an older one not seen before is recorded and changes nothing.

The record that made a version owns it (its correlation id): reprocessed after a crash it
stays applied and re-emits the same event, which downstream dedupes by event id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from streams.domain.inventory.rows import InventoryRow
from streams.domain.models.outcome import Outcome
from streams.domain.state import KeyValueState

PREFIX = "a:"  # state rows of assets


def idempotency_key(asset_key: str, content_hash: str) -> str:
    """docs/domain.md §1.2: ``sha256("inventory:" asset ":" content hash)``."""
    return hashlib.sha256(f"inventory:{asset_key}:{content_hash}".encode()).hexdigest()


def event_id(asset_key: str, content_hash: str, manifest_at: int) -> str:
    return hashlib.sha256(f"{asset_key}:{content_hash}:{manifest_at}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Change:
    """A new current version of an asset: what the inventory and ledger topics get."""

    event_id: str
    kind: str  # created | updated
    asset_key: str
    row: dict[str, Any]  # normalised
    content_hash: str
    previous_hash: str | None
    manifest_at: int  # microseconds since the epoch, UTC
    correlation_id: str


@dataclass(frozen=True)
class Applied:
    outcome: Outcome
    idempotency_key: str
    change: Change | None = None


class InventoryBook:
    def __init__(self, state: KeyValueState) -> None:
        self.state = state

    def current(self, asset_key: str) -> dict[str, Any] | None:
        doc = self.state.get(PREFIX + asset_key)
        return None if doc is None else doc.get("current")

    def apply(self, row: InventoryRow, manifest_at: int, correlation_id: str) -> Applied:
        key, digest = row.asset_key, row.content_hash
        idem = idempotency_key(key, digest)
        doc = self.state.get(PREFIX + key) or {"current": None, "seen": {}}
        cur, seen = doc["current"], doc["seen"]
        # Our own decision, reprocessed after a crash: the same effects again.
        if cur is not None and cur["owner"] == correlation_id:
            return Applied(Outcome.APPLIED, idem, change_of(key, cur))
        owner = seen.get(digest)
        if owner == correlation_id:
            return Applied(Outcome.APPLIED, idem)
        if cur is not None and cur["hash"] == digest:
            if manifest_at > cur["at"]:
                cur["at"] = manifest_at
                self.state.put(PREFIX + key, doc)
            return Applied(Outcome.DUPLICATE, idem)
        if cur is None or (manifest_at, digest) > (cur["at"], cur["hash"]):
            new = {
                "row": row.normalised(),
                "hash": digest,
                "at": manifest_at,
                "made_at": manifest_at,
                "owner": correlation_id,
                "previous": None if cur is None else cur["hash"],
            }
            doc["current"] = new
            seen[digest] = correlation_id
            self.state.put(PREFIX + key, doc)
            return Applied(Outcome.APPLIED, idem, change_of(key, new))
        if owner is not None:
            return Applied(Outcome.DUPLICATE, idem)
        seen[digest] = correlation_id  # an older version, first seen: changes nothing
        self.state.put(PREFIX + key, doc)
        return Applied(Outcome.APPLIED, idem)


def change_of(asset_key: str, cur: dict[str, Any]) -> Change:
    """The event of a current version, rebuilt from the state alone (deterministic)."""
    return Change(
        event_id=event_id(asset_key, cur["hash"], cur["made_at"]),
        kind="created" if cur["previous"] is None else "updated",
        asset_key=asset_key,
        row=cur["row"],
        content_hash=cur["hash"],
        previous_hash=cur["previous"],
        manifest_at=cur["made_at"],
        correlation_id=cur["owner"],
    )
