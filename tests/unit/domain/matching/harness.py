"""The matching pipeline without Kafka: both engines over in-memory changelogs, the relay as
"every outbox entry of every changelog record, in order", and partitions as queues."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from streams.domain.matching import messages as m
from streams.domain.matching.engine import MatchConfig, MatchEngine
from streams.domain.matching.records import RecordBook
from streams.domain.matching.reference import Expected
from streams.domain.matching.rules import Tolerances
from streams.domain.models.outcome import Outcome
from streams.domain.models.trades import Confirmation, MatchRecord, Status, Trade
from streams.domain.state import DictState, decode
from streams.ops.matches import live_pairs, open_exceptions

PARTITIONS = 3
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
START, END = datetime(2026, 4, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)


def record(
    side: str,
    rid: str,
    version: int = 1,
    *,
    qty: str = "10",
    price: str = "50.00",
    minute: float = 0,
    product: str = "BASE",
    status: Status = Status.ACTIVE,
) -> MatchRecord:
    fields: dict[str, Any] = {
        "version": version,
        "buyer": "ACME",
        "seller": "NORD",
        "product": product,
        "delivery_start": START,
        "delivery_end": END,
        "quantity": Decimal(qty),
        "price": Decimal(price),
        "currency": "EUR",
        "trade_time": T0 + timedelta(minutes=minute),
        "status": status,
    }
    if side == "t":
        return Trade(trade_id=rid, **fields)
    return Confirmation(confirm_id=rid, **fields)


class ChangelogState(DictState):
    """Records every write in order, like a table's changelog partition."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, bytes | None]] = []

    def put(self, key: str, value: dict[str, Any]) -> None:
        super().put(key, value)
        self.log.append((key, self.data[key]))

    def delete(self, key: str) -> None:
        super().delete(key)
        self.log.append((key, None))

    @classmethod
    def recovered(cls, log: Sequence[tuple[str, bytes | None]]) -> ChangelogState:
        state = cls()
        for key, raw in log:
            if raw is None:
                state.data.pop(key, None)
            else:
                state.data[key] = raw
        state.log = list(log)
        return state


def relayed(log: Iterable[tuple[str, bytes | None]], prefix: str) -> list[dict[str, Any]]:
    """Every outbox entry of the rows with ``prefix``, in changelog order."""
    return [
        entry
        for key, raw in log
        if raw is not None and key.startswith(prefix)
        for entry in decode(raw).get("out", [])
    ]


def partition_of(group: str) -> int:
    return int(group[:8], 16) % PARTITIONS


@dataclass
class Stage3Input:
    """match-input as Kafka would hold it: per partition, messages with their timestamps."""

    queues: dict[int, list[tuple[m.Message, int]]] = field(
        default_factory=lambda: {p: [] for p in range(PARTITIONS)}
    )
    clock: int = 1_000_000_000

    def append(self, partition: int, msg: m.Message, step: int = 1_000_000) -> None:
        self.clock += step
        self.queues[partition].append((msg, self.clock))

    def publish(self, entries: Iterable[dict[str, Any]]) -> None:
        for entry in entries:
            if entry["to"] == m.INPUT:
                self.append(partition_of(entry["key"]), m.from_json(entry["doc"]))

    def final_ticks(self) -> None:
        for p in range(PARTITIONS):
            self.append(p, m.Tick(self.clock, final=True))


def run_records(
    book: RecordBook, arrivals: Sequence[tuple[MatchRecord, str]], at: int = 0
) -> list[Outcome]:
    return [book.apply(rec, corr, at) for rec, corr in arrivals]


def run_groups(engine: MatchEngine, messages: Iterable[tuple[int, m.Message, int]]) -> None:
    for partition, msg, ts in messages:
        engine.apply(msg, partition, ts)


def in_order(queues: dict[int, list[tuple[m.Message, int]]]) -> list[tuple[int, m.Message, int]]:
    """Partitions one after the other (any interleaving is equivalent: groups are disjoint
    and each partition has its own clock)."""
    return [(p, msg, ts) for p, q in sorted(queues.items()) for msg, ts in q]


def outputs(entries: Iterable[dict[str, Any]]) -> Expected:
    """Fold the relayed match and exception events the way the exports do."""
    matches, exceptions = [], []
    for entry in entries:
        if entry["to"] == m.MATCHES:
            matches.append(entry["doc"])
        elif entry["to"] == m.EXCEPTIONS:
            exceptions.append(entry["doc"])
    return Expected(
        frozenset(
            (
                p["trade_id"],
                p["trade_version"],
                p["confirm_id"],
                p["confirm_version"],
                p["match_type"],
            )
            for p in live_pairs(matches)
        ),
        frozenset(
            (e["kind"], e["record_type"], e["record_id"], e["version"])
            for e in open_exceptions(exceptions)
        ),
    )


def run_all(
    arrivals: Sequence[tuple[MatchRecord, str]], config: MatchConfig
) -> tuple[Expected, ChangelogState, ChangelogState]:
    """Both stages, no crash; final ticks close every window. Returns the folded outputs."""
    records = ChangelogState()
    run_records(RecordBook(records), arrivals)
    stage3 = Stage3Input()
    stage3.publish(relayed(records.log, "r:"))
    stage3.final_ticks()
    groups = ChangelogState()
    run_groups(MatchEngine(groups, config), in_order(stage3.queues))
    events = relayed(records.log, "r:") + relayed(groups.log, "g:")
    return outputs(events), records, groups


def tp(n: int) -> str:
    """A valid traceparent (one trace) whose span id is ``n``."""
    return f"00-{'ab' * 16}-{n:016x}-01"


class Both:
    """Both stages fed one record at a time, each with correlation id ``<id>:v<version>``
    and its own hop span ``tp(n)`` (n: arrival number), relaying after every record."""

    def __init__(self) -> None:
        self.records, self.groups = ChangelogState(), ChangelogState()
        self.book = RecordBook(self.records)
        self.engine = MatchEngine(self.groups, MatchConfig(Tolerances()))
        self.fed, self.n = 0, 0

    def feed(self, rec: MatchRecord) -> None:
        self.n += 1
        self.book.apply(rec, f"{rec.record_id}:v{rec.version}", 0, tp(self.n))
        entries = [e for e in relayed(self.records.log, "r:") if e["to"] == m.INPUT]
        for entry in entries[self.fed :]:
            self.engine.apply(m.from_json(entry["doc"]), 0, self.n * 1_000_000)
        self.fed = len(entries)

    def events(self, to: str) -> list[dict[str, Any]]:
        return [e["doc"] for e in relayed(self.groups.log, "g:") if e["to"] == to]
