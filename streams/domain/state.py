"""The key-value state every engine runs on.

In the worker the store is a Faust table on RocksDB (streams/runtime/state/); in tests and
reference runs it is a dict. Values are small JSON documents, encoded one way.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson


class KeyValueState(Protocol):
    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, value: dict[str, Any]) -> None: ...


class MatchState(KeyValueState, Protocol):
    """KeyValueState plus deletes: the matching windows' deadline buckets would otherwise
    pile up as empty rows in the compacted changelog."""

    def delete(self, key: str) -> None: ...


class DictState:
    """In-memory state for unit tests and reference runs."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self.data.get(key)
        return None if raw is None else decode(raw)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.data[key] = encode(value)

    def delete(self, key: str) -> None:
        self.data.pop(key, None)


def encode(value: dict[str, Any]) -> bytes:
    """Compact, keys sorted: one value always encodes to the same bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def decode(raw: bytes) -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(raw)
    return result
