"""The one pipeline sequence and its failure policy, on stand-in topics and events: a bad
record is dead-lettered and the batch moves on; only the named conditions stop the worker."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from streams.domain.matching.messages import Tick
from streams.domain.models.outcome import Outcome
from streams.errors import Category, RecordError, Stage
from streams.formats import avro, chunks, ticks
from streams.formats import headers as h
from streams.formats.records import Source, outcomes_of
from streams.observability.metrics import Metrics
from streams.runtime.decisions import Decision, OutputsUndelivered, Send, StateLost
from streams.runtime.pipelines.forward import Forward
from streams.runtime.sequence import RecordProcessor, parts

pytestmark = pytest.mark.unit


@dataclass
class FakeTopic:
    name: str
    sent: list[dict[str, Any]] = field(default_factory=list)
    fail_on: bytes | None = None  # a value whose send raises

    def get_topic_name(self) -> str:
        return self.name

    async def send(self, **kwargs: Any) -> None:
        if self.fail_on is not None and kwargs["value"] == self.fail_on:
            raise RuntimeError("cannot send this one")
        self.sent.append(kwargs)


@dataclass
class Message:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    timestamp: float = 1_700_000_000.0


@dataclass
class Event:
    message: Message


def event(offset: int, value: bytes, key: bytes | None = b"k", partition: int = 0) -> Event:
    headers = [(h.CORRELATION_ID, f"run:{offset}".encode()), (h.LINE, str(offset).encode())]
    return Event(Message("raw", partition, offset, key, value, headers))


class Processor(RecordProcessor):
    """Applies ``ok``, raises RecordError on ``bad``, a bug on ``bug``; ``sends`` one output."""

    def __init__(self, out: FakeTopic, outcomes: FakeTopic, dlq: FakeTopic) -> None:
        super().__init__(cast(Any, outcomes), cast(Any, dlq), Metrics())
        self.out = out
        self.ticks: list[tuple[int, Tick]] = []
        self.writes = 0
        self.fail_write = False

    def decide(self, src: Source) -> Decision:
        if src.value == b"bad":
            raise RecordError(Category.INVALID_VALUE, Stage.VALIDATE, "bad value", field="x")
        if src.value == b"bug":
            raise ZeroDivisionError("planted")
        return Decision(Outcome.APPLIED, "idem", [Send(cast(Any, self.out), b"k", src.value, "x")])

    def tick(self, src: Source, tick: Tick) -> None:
        self.ticks.append((src.partition, tick))

    def write_state(self) -> None:
        if self.fail_write:
            raise OSError("disk gone")
        self.writes += 1


def setup() -> tuple[Processor, FakeTopic, FakeTopic, FakeTopic]:
    out, outcomes, dlq = FakeTopic("out"), FakeTopic("outcomes"), FakeTopic("dlq")
    return Processor(out, outcomes, dlq), out, outcomes, dlq


def run(processor: RecordProcessor, events: list[Event]) -> list[Outcome | None]:
    return asyncio.run(processor.run(cast(Any, events)))


def dlq_categories(dlq: FakeTopic) -> list[tuple[str, str]]:
    records = [avro.decode("dlq_record", s["value"]) for s in dlq.sent]
    return [(r["category"], r["error"]) for r in records]


def test_a_bad_record_and_a_bug_are_dead_lettered_and_the_batch_moves_on() -> None:
    processor, out, outcomes, dlq = setup()
    got = run(processor, [event(1, b"ok"), event(2, b"bad"), event(3, b"bug"), event(4, b"ok")])
    assert got == [Outcome.APPLIED, Outcome.DEAD_LETTERED, Outcome.DEAD_LETTERED, Outcome.APPLIED]
    assert [s["value"] for s in out.sent] == [b"ok", b"ok"]
    (bad, bad_error), (bug, bug_error) = dlq_categories(dlq)
    assert bad == "invalid_value" and bad_error == "bad value"
    assert bug == "processing_error"
    assert "ZeroDivisionError: planted" in bug_error and "decide (test_sequence.py:" in bug_error
    assert len(outcomes.sent) == 4  # one outcome per record
    assert processor.writes == 1  # state written once for the partition's run


def test_state_is_written_once_per_partition_run() -> None:
    processor, *_ = setup()
    run(processor, [event(1, b"ok", partition=0), event(2, b"ok", partition=1)])
    assert processor.writes == 2


def test_a_tick_advances_the_clock_and_has_no_outcome() -> None:
    processor, out, outcomes, dlq = setup()
    tick = ticks.encode(Tick(42, final=True))
    got = run(processor, [event(1, tick, key=ticks.TICK_KEY, partition=3)])
    assert got == [None]
    assert processor.ticks == [(3, Tick(42, True))]
    assert out.sent == outcomes.sent == dlq.sent == []


def test_a_failing_tick_is_dead_lettered_without_an_outcome() -> None:
    processor, _out, outcomes, dlq = setup()

    def broken(src: Source, tick: Tick) -> None:
        raise KeyError("w:3")

    processor.tick = broken  # type: ignore[method-assign]
    got = run(processor, [event(1, ticks.encode(Tick(1)), key=ticks.TICK_KEY), event(2, b"ok")])
    assert got == [None, Outcome.APPLIED]  # the record after it is decided as usual
    assert [c for c, _ in dlq_categories(dlq)] == ["processing_error"]
    assert len(outcomes.sent) == 1  # the record's, none for the tick


def test_a_stage_that_takes_no_ticks_dead_letters_one() -> None:
    out, outcomes, dlq = FakeTopic("out"), FakeTopic("outcomes"), FakeTopic("dlq")
    forward = Forward(cast(Any, out), cast(Any, outcomes), cast(Any, dlq), Metrics())
    run(forward, [event(1, ticks.encode(Tick(1)), key=ticks.TICK_KEY)])
    assert [c for c, _ in dlq_categories(dlq)] == ["schema_violation"]


def test_an_internal_stage_dead_letters_without_an_outcome() -> None:
    processor, _out, outcomes, dlq = setup()
    processor.dead_letter_is_outcome = False
    assert run(processor, [event(1, b"bug")]) == [None]
    assert len(dlq.sent) == 1 and outcomes.sent == []


def test_a_record_whose_outputs_cannot_be_built_is_dead_lettered() -> None:
    processor, out, _outcomes, dlq = setup()
    out.fail_on = b"ok-but-unsendable"
    got = run(processor, [event(1, b"ok-but-unsendable"), event(2, b"ok")])
    assert got == [Outcome.DEAD_LETTERED, Outcome.APPLIED]
    assert [c for c, _ in dlq_categories(dlq)] == ["processing_error"]


def test_lost_state_stops_the_worker() -> None:
    processor, *_ = setup()
    processor.fail_write = True
    with pytest.raises(StateLost, match="disk gone"):
        run(processor, [event(1, b"ok")])


def test_undelivered_outputs_stop_the_worker() -> None:
    class Failing:
        def send(self, *args: Any) -> None:
            pass

        async def flush(self) -> None:
            raise RuntimeError("2 agent outputs not delivered: broker unreachable")

    processor, *_ = setup()
    processor.output = cast(Any, Failing())
    with pytest.raises(OutputsUndelivered, match="broker unreachable"):
        run(processor, [event(1, b"ok")])


def test_a_dead_letter_that_cannot_be_sent_stops_the_worker() -> None:
    processor, _out, _outcomes, dlq = setup()
    dlq.send = cast(Any, _raise)  # type: ignore[method-assign]
    with pytest.raises(OutputsUndelivered, match="cannot dead-letter"):
        run(processor, [event(1, b"bug")])


async def _raise(**kwargs: Any) -> None:
    raise RuntimeError("dlq unreachable")


def test_forward_keeps_bytes_and_headers() -> None:
    out, outcomes, dlq = FakeTopic("out"), FakeTopic("outcomes"), FakeTopic("dlq")
    forward = Forward(cast(Any, out), cast(Any, outcomes), cast(Any, dlq), Metrics())
    original = event(7, b"a,b,c", key=b"group")
    assert run(forward, [original]) == [None]
    (sent,) = out.sent
    assert sent["key"] == b"group" and sent["value"] == b"a,b,c"
    assert sent["headers"] == original.message.headers
    assert outcomes.sent == []


def chunk_event(offset: int, records: list[tuple[int, bytes]], partition: int = 0) -> Event:
    value, framing = chunks.frame(records)
    headers = [(h.CORRELATION_ID, b"run"), (h.RUN_ID, b"run"), *framing]
    return Event(Message("raw", partition, offset, None, value, headers))


def test_a_chunk_is_decided_record_by_record_with_one_outcome_record() -> None:
    processor, out, outcomes, dlq = setup()
    chunk = chunk_event(7, [(2, b"ok"), (3, b"bad"), (5, b"bug"), (6, b"ok")])
    got = run(processor, [chunk, event(8, b"ok")])
    assert got == [Outcome.APPLIED, Outcome.DEAD_LETTERED, Outcome.DEAD_LETTERED,
                   Outcome.APPLIED, Outcome.APPLIED]  # fmt: skip
    assert [s["value"] for s in out.sent] == [b"ok", b"ok", b"ok"]
    # One DLQ record per bad record, naming its own line, id, bytes and index.
    records = [avro.decode("dlq_record", s["value"]) for s in dlq.sent]
    assert [(r["source_line"], r["correlation_id"], r["original"], r["source_index"])
            for r in records] == [(3, "run:3", b"bad", 1), (5, "run:5", b"bug", 2)]  # fmt: skip
    assert len({r["dlq_id"] for r in records}) == 2
    assert [r["category"] for r in records] == ["invalid_value", "processing_error"]
    # The chunk's outcomes in one record, per line; the single record's in its own.
    batch, single = outcomes.sent
    assert batch["key"] == b"run:2-6"
    per_line = outcomes_of(batch["value"], "outcome_batch")
    assert [(o["correlation_id"], o["source_line"], o["outcome"]) for o in per_line] == [
        ("run:2", 2, "applied"),
        ("run:3", 3, "dead_lettered"),
        ("run:5", 5, "dead_lettered"),
        ("run:6", 6, "applied"),
    ]
    assert avro.decode("outcome", single["value"])["correlation_id"] == "run:8"
    assert processor.writes == 1


def test_a_chunk_whose_framing_does_not_fit_its_value_is_one_dead_letter() -> None:
    processor, _out, outcomes, dlq = setup()
    broken = chunk_event(1, [(2, b"ok"), (3, b"ok")])
    broken.message.value += b"x"
    assert run(processor, [broken]) == [Outcome.DEAD_LETTERED]
    assert [c for c, _ in dlq_categories(dlq)] == ["parse_error"]
    assert len(outcomes.sent) == 1


def test_a_batch_of_chunks_is_decided_and_flushed_in_parts_of_bounded_records() -> None:
    processor, _out, outcomes, _dlq = setup()
    processor.records_per_part = 5
    events = [chunk_event(1, [(2, b"ok"), (3, b"ok"), (4, b"ok")]), event(2, b"ok"),
              chunk_event(3, [(5, b"ok"), (6, b"ok")]), chunk_event(4, [(7, b"ok")] * 7),
              event(5, b"ok")]  # fmt: skip
    assert [len(p) for p in parts(cast(Any, events), 5)] == [2, 1, 1, 1]
    got = run(processor, events)
    assert got == [Outcome.APPLIED] * 14
    assert processor.writes == 4  # state written once per part
    assert len(outcomes.sent) == 5


def test_a_chunk_that_cannot_be_read_dead_letters_each_line_with_the_reason() -> None:
    processor, _out, outcomes, dlq = setup()

    def unreadable(chunk: chunks.Chunk) -> list[Decision | RecordError]:
        raise RecordError(Category.SCHEMA_VIOLATION, Stage.PARSE, "no recon-columns header")

    processor.decide_chunk = unreadable  # type: ignore[method-assign]
    got = run(processor, [chunk_event(1, [(2, b"ok"), (3, b"ok")])])
    assert got == [Outcome.DEAD_LETTERED] * 2
    assert dlq_categories(dlq) == [("schema_violation", "no recon-columns header")] * 2
    assert len(outcomes.sent) == 1
