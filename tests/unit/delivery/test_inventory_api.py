"""The inventory API request: the Idempotency-Key is the chunk's hash, the same for the
same chunk, and exhausted retries are transient_failure."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest

from streams.delivery.breaker import Breaker
from streams.delivery.erp import Retryable
from streams.delivery.inventory_api import InventoryApiTarget, chunk_sha256
from streams.delivery.target import Entry
from streams.errors import Category, ConfigError, Stage
from streams.observability.metrics import Metrics
from streams.settings import Settings

pytestmark = pytest.mark.unit


def event(n: int, quantity: int = 1) -> Entry:
    record: dict[str, Any] = {
        "event_id": f"e{n}",
        "kind": "created",
        "asset_key": f"A{n}:NIH-1",
        "asset_id": f"A{n}",
        "grant_code": "NIH-1",
        "category": "reagent",
        "quantity": quantity,
        "location": "BIO-1-1",
        "acquisition_date": date(2024, 1, 2),
        "content_hash": "c" * 64,
        "previous_hash": None,
        "manifest_at": datetime(2026, 3, 1, tzinfo=UTC),
        "correlation_id": f"run:{n}",
    }
    return Entry("t.inventory.ledger", 0, n, record, None, "inventory_event")


def target() -> InventoryApiTarget:
    settings = Settings(inventory_api_url="http://127.0.0.1:1/inventory")
    metrics = Metrics()
    return InventoryApiTarget(settings, metrics, Breaker("inventory", metrics, 5, 30))


def test_the_key_is_the_hash_of_the_chunks_normalised_payload() -> None:
    api = target()
    key, body = api.request([event(1), event(2)])
    doc = orjson.loads(body)
    assert doc["chunk_sha256"] == key == chunk_sha256(doc["entries"])
    assert [e["event_id"] for e in doc["entries"]] == ["e1", "e2"]
    assert doc["entries"][0]["acquisition_date"] == "2024-01-02"
    assert doc["entries"][0]["manifest_at"] == "2026-03-01T00:00:00+00:00"
    assert api.request([event(1), event(2)])[0] == key  # the same chunk, the same key
    assert api.request([event(1), event(2, quantity=5)])[0] != key
    assert api.request([event(2), event(1)])[0] != key  # order is part of the payload


def test_exhausted_retries_are_a_transient_failure() -> None:
    err = target()._exhausted(event(7), Retryable("HTTP 503: maintenance"))
    assert err.category is Category.TRANSIENT_FAILURE and err.stage is Stage.SINK
    assert err.field == "event_id" and err.value == "e7"
    assert "inventory event e7" in err.message and "HTTP 503" in err.message


def test_an_endpoint_is_required() -> None:
    metrics = Metrics()
    with pytest.raises(ConfigError, match="RECON_INVENTORY_API_URL"):
        InventoryApiTarget(Settings(), metrics, Breaker("inventory", metrics, 5, 30))
