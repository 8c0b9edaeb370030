"""The key-value state of the group stage: KeyValueState plus deletes (for the deadline
buckets, which would otherwise pile up as empty rows in the compacted changelog)."""

from __future__ import annotations

from typing import Protocol

from streams.accrual.state import DictState, KeyValueState
from streams.agents.table_state import TableState


class MatchState(KeyValueState, Protocol):
    def delete(self, key: str) -> None: ...


class MatchDictState(DictState):
    def delete(self, key: str) -> None:
        self.data.pop(key, None)


class MatchTableState(TableState):
    """Like TableState, inside an agent's event only (the delete's changelog tombstone goes
    to the partition of the event being processed)."""

    def delete(self, key: str) -> None:
        raw = key.encode("utf-8")
        if raw in self.table:
            del self.table[raw]
