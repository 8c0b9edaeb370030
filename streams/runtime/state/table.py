"""KeyValueState (and MatchState) over a Faust table backed by RocksDB (rocksdict)."""

from __future__ import annotations

from typing import Any

from faust.types import TableT

from streams.domain.state import decode, encode


class TableState:
    """Reads and writes must happen inside an agent's event (Faust routes the changelog
    write to the partition of the event being processed)."""

    def __init__(self, table: TableT[bytes, bytes]) -> None:
        self.table = table

    def get(self, key: str) -> dict[str, Any] | None:
        raw = self.table.get(key.encode("utf-8"))
        return None if raw is None else decode(raw)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.table[key.encode("utf-8")] = encode(value)

    def delete(self, key: str) -> None:
        # The changelog tombstone goes to the partition of the event being processed.
        raw = key.encode("utf-8")
        if raw in self.table:
            del self.table[raw]
