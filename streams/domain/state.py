"""The key-value state every engine runs on.

In the worker the store is a Faust table on RocksDB (streams/runtime/state/); in tests and
reference runs it is a dict. Values are small JSON documents, encoded one way.
"""

from __future__ import annotations

from collections.abc import Callable
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


# Combines a pending (not yet written) value of a key with a newer one for the same key.
Merge = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
Rank = Callable[[bytes], int]  # write order of a key: lower first, then first written


class BatchedState:
    """Reads and writes of one batch, kept decoded until the batch is written: a key the
    batch's records keep coming back to (a vendor, an agreement, a posting row) is
    decoded once and encoded once. ``get`` returns a shallow copy (the engine always
    ``put``s what it changes, and ``merge`` must see the pending value as it was).
    Subclasses read the store (``_read``) and write ``take_pending()`` to it."""

    def __init__(self, merge: Merge | None = None, order: Rank | None = None) -> None:
        self.merge = merge
        self.order = order
        self._seen: dict[bytes, dict[str, Any] | None] = {}  # read or written this batch
        self._pending: dict[bytes, dict[str, Any]] = {}  # written this batch

    def get(self, key: str) -> dict[str, Any] | None:
        raw_key = key.encode("utf-8")
        if raw_key in self._seen:
            doc = self._seen[raw_key]
            return None if doc is None else dict(doc)
        raw = self._read(raw_key)
        doc = None if raw is None else decode(raw)
        self._seen[raw_key] = doc
        return None if doc is None else dict(doc)

    def put(self, key: str, value: dict[str, Any]) -> None:
        raw_key = key.encode("utf-8")
        older = self._pending.get(raw_key)
        if older is not None and self.merge is not None:
            value = self.merge(older, value)
        self._pending[raw_key] = self._seen[raw_key] = value

    @property
    def pending(self) -> int:
        return len(self._pending)

    def take_pending(self) -> list[tuple[bytes, bytes]]:
        """The batch's writes, encoded, in ``order`` (stable: first written first within a
        rank); the batch is over."""
        keys = list(self._pending)
        if self.order is not None:
            keys.sort(key=self.order)
        writes = [(raw_key, encode(self._pending[raw_key])) for raw_key in keys]
        self._pending.clear()
        self._seen.clear()
        return writes

    def _read(self, raw_key: bytes) -> bytes | None:
        raise NotImplementedError


def encode(value: dict[str, Any]) -> bytes:
    """Compact, keys sorted: one value always encodes to the same bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def decode(raw: bytes) -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(raw)
    return result
