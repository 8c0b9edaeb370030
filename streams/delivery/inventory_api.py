"""The inventory API target: inventory changes POSTed in chunks over HTTP
(docs/inventory.md, "Commit to the inventory API").

The ERP target's protocol (streams/delivery/erp.py): requests cut in position order, each
event id once per batch, retries with full-jitter backoff on 408, 429, 5xx and no answer,
409 Conflict = already committed, the circuit breaker and the rate limits. What differs:

- the body is the chunk of ``inventory_event`` records as JSON, with ``chunk_sha256``: the
  SHA-256 of the chunk's normalised payload (each event's canonical JSON, keys sorted, one
  a line), which is also the request's ``Idempotency-Key``: the same chunk always has the
  same key;
- retries exhausted: each event of the chunk is dead-lettered ``transient_failure``, and
  `recon dlq redrive --category transient_failure` puts it back on ``inventory.ledger``
  once the API is healthy. The API must apply an event at most once per ``event_id`` and
  keep, per asset, the version with the greatest ``(manifest_at, content_hash)``: then a
  redriven or replayed event leaves it as it was, and its state is the reference.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import UTC
from typing import Any

import orjson

from streams.delivery.breaker import Breaker
from streams.delivery.erp import ErpTarget
from streams.delivery.target import Entry
from streams.errors import Category, ConfigError
from streams.kafka import topics as t
from streams.observability.metrics import Metrics
from streams.settings import Settings


def inventory_line(e: Entry) -> dict[str, Any]:
    """One event as the API takes it: JSON types only, times ISO 8601 UTC."""
    r = e.record
    return {
        "event_id": r["event_id"],
        "kind": r["kind"],
        "asset_key": r["asset_key"],
        "asset_id": r["asset_id"],
        "grant_code": r["grant_code"],
        "category": r["category"],
        "quantity": r["quantity"],
        "location": r["location"],
        "acquisition_date": r["acquisition_date"].isoformat(),
        "content_hash": r["content_hash"],
        "previous_hash": r["previous_hash"],
        "manifest_at": r["manifest_at"].astimezone(UTC).isoformat(),
        "correlation_id": r["correlation_id"],
    }


def chunk_sha256(lines: list[dict[str, Any]]) -> str:
    digest = hashlib.sha256()
    for line in lines:
        digest.update(orjson.dumps(line, option=orjson.OPT_SORT_KEYS) + b"\n")
    return digest.hexdigest()


class InventoryApiTarget(ErpTarget):
    name = "inventory"
    topics: tuple[str, ...] = (t.INVENTORY_LEDGER,)
    entry_noun, id_field, endpoint = "inventory event", "event_id", "the inventory API"
    exhausted_category = Category.TRANSIENT_FAILURE

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        breaker: Breaker,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not settings.inventory_api_url:
            raise ConfigError("delivery to inventory: no endpoint (set RECON_INVENTORY_API_URL)")
        super().__init__(settings, metrics, breaker, sleep=sleep, url=settings.inventory_api_url)

    def request(self, chunk: list[Entry]) -> tuple[str, bytes]:
        lines = [inventory_line(e) for e in chunk]
        key = chunk_sha256(lines)
        return key, orjson.dumps({"chunk_sha256": key, "entries": lines})
