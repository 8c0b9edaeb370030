"""Baseline (c): the bare computation, in one process, with no Kafka.

The same product code path over the same POS lines as the worker stages: each record as
the worker receives it (a ``Source`` with the headers ``recon ingest`` gives it), parsed
into its pydantic model and applied by one ``RebateEngine``, agreements first, on the
worker's write-behind state over an in-memory ``DictState`` instead of RocksDB
(``compute.WriteBehind``: values decoded once per key per batch of ``BATCH`` records and
encoded once at its flush), then every output built as the worker builds it: the outcome
record per line, the DLQ record per bad line, the agreement records, and one ledger entry
per posting (the postings of each batch settled at its end, as the worker settles them)
as the relay builds them (``compute.RecordWork``).

The CPU seconds (``time.process_time``) of exactly that work are what the worker's CPU per
line is compared with: the worker's overhead factor. Reading the files and building each
record's headers (what the broker hands the worker) are outside the measurement.

The machine's noise only adds CPU time, so the run repeats the computation (three times in
``recon bench``, each on fresh state) and reports the run of median CPU time.

``python -m streams.tools.bench.bare POS_CSV PROMOTIONS_CSV [REPEATS]`` prints one JSON
line.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

from streams.domain.accrual.reference import TotalKey
from streams.formats import avro
from streams.formats.chunks import LINES, Chunker
from streams.formats.csv_source import CsvRecords, file_sha256
from streams.formats.records import HeaderList, Source, source_of_message
from streams.ingest.producer import FORMATS, RunContext, utc_now_iso
from streams.ingest.publishers import chunk_message, record_headers
from streams.kafka.partitioner import keyer, partition_of
from streams.observability.tracing import new_traceparent
from streams.ops.ledger import distinct_entries
from streams.settings import Settings
from streams.tools.bench.compute import (
    KINDS,
    LEDGER,
    Output,
    RecordWork,
    WriteBehind,
)
from streams.tools.bench.procs import run_child
from streams.tools.bench.setup import Workload
from streams.tools.references import compare_totals

# Messages per batch: the worker's default agent batch (RECON_AGENT_BATCH_MAX) of
# one-record messages, or of chunks up to about as many lines as that many chunks of the
# default size hold. Each batch's messages are built untimed, then processed and its state
# flushed, timed.
BATCH = 1_000
BATCH_LINES = 10_000
# The field's default, not the environment's: no settings are read at import.
CHUNK_BYTES: int = Settings.model_fields["ingest_chunk_bytes"].default


@dataclass(frozen=True)
class BareRun:
    lines: int  # POS lines
    agreements: int  # promotion records, applied first
    cpu_seconds: float  # process_time of the computation: every record, agreements included
    wall_seconds: float
    outputs: dict[str, int]  # messages built, by kind (outcome, dlq, ledger, agreement)
    entries: int  # distinct ledger entries
    totals: dict[TotalKey, Decimal]  # from the ledger entries built, decoded
    problems: list[str] = field(default_factory=list)  # totals against the reference
    cpu_runs: list[float] = field(default_factory=list)  # every repeat's CPU seconds

    @property
    def cpu_us_per_line(self) -> float:
        return self.cpu_seconds / self.lines * 1e6 if self.lines else 0.0

    @property
    def cpu_rate(self) -> float:
        return self.lines / self.cpu_seconds if self.cpu_seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "agreements": self.agreements,
            "cpu_seconds": self.cpu_seconds,
            "wall_seconds": self.wall_seconds,
            "outputs": self.outputs,
            "entries": self.entries,
            "totals": [[*key, str(amount)] for key, amount in self.totals.items()],
            "cpu_runs": self.cpu_runs,
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> BareRun:
        return cls(
            lines=int(doc["lines"]),
            agreements=int(doc["agreements"]),
            cpu_seconds=float(doc["cpu_seconds"]),
            wall_seconds=float(doc["wall_seconds"]),
            outputs={str(k): int(v) for k, v in doc["outputs"].items()},
            entries=int(doc["entries"]),
            totals={(a, p, c): Decimal(amount) for a, p, c, amount in doc["totals"]},
            cpu_runs=[float(c) for c in doc.get("cpu_runs", [])],
        )


def sources(path: Path, kind: str, partitions: int = 1, chunk_records: int = 1) -> Iterator[Source]:
    """The records of ``path`` as the worker receives them from its raw topic: one message
    per record, or (``chunk_records`` > 1) chunks per partition as ``recon ingest``
    publishes a POS feed; headers as ingest sets them, offsets in order per partition."""
    topic, record_format, _ = FORMATS[kind]
    run_id = uuid.uuid4().hex
    offsets = [0] * partitions

    def message(partition: int, key: bytes | None, value: bytes, headers: HeaderList) -> Source:
        offsets[partition] += 1
        return source_of_message(topic, partition, offsets[partition] - 1, key, value, headers)

    with CsvRecords(path) as records:
        constant = RunContext(
            run_id, path.name, file_sha256(path), record_format, records.header
        ).constant_headers()
        key_of = keyer(kind, records.columns)
        if chunk_records <= 1:
            for line, raw in records:
                key = key_of(raw)
                headers = record_headers(
                    constant, run_id, line, utc_now_iso(), new_traceparent()
                )
                yield message(partition_of(key, partitions), key, raw, headers)
            return
        chunker = Chunker(chunk_records, CHUNK_BYTES)
        for line, raw in records:
            partition = partition_of(key_of(raw), partitions)
            for chunk in chunker.add(partition, line, raw, utc_now_iso(), 0.0):
                yield message(partition, None, *chunk_message(chunk, run_id, constant))
        for chunk in chunker.close_all():
            yield message(chunk.partition, None, *chunk_message(chunk, run_id, constant))


class Tally:
    """Counts the outputs by kind and keeps the ledger entries for the totals check."""

    def __init__(self) -> None:
        self.counts = dict.fromkeys(KINDS, 0)
        self.ledger: list[bytes] = []

    def add(self, outputs: list[Output]) -> None:
        for out in outputs:
            self.counts[out.kind] += 1
            if out.kind == LEDGER:
                self.ledger.append(out.value)


def run_bare(pos: Path, promotions: Path, repeats: int = 1, chunk_records: int = 1) -> BareRun:
    """The computation ``repeats`` times, each on fresh state: the run of median CPU time
    (the machine's noise only ever adds time), with every run's CPU seconds."""
    runs = sorted((run_once(pos, promotions, chunk_records) for _ in range(max(1, repeats))),
                  key=lambda run: run.cpu_seconds)  # fmt: skip
    median = runs[(len(runs) - 1) // 2]
    return replace(median, cpu_runs=[run.cpu_seconds for run in runs])


def run_once(pos: Path, promotions: Path, chunk_records: int = 1) -> BareRun:
    """Agreements, then every POS line (in chunks of ``chunk_records``, or one message per
    line), through the product's code path; only the processing is timed (CPU and wall),
    a batch of prepared messages at a time, each batch ending as the worker's does: its
    postings settled (one ledger entry per (agreement, period) its sales touched), then
    its state flushed."""
    state = WriteBehind()
    work = RecordWork(state)
    tally = Tally()
    cpu = wall = 0.0
    partitions = Settings().partitions
    per_batch = max(1, BATCH_LINES // chunk_records) if chunk_records > 1 else BATCH
    counts = {"promotions": 0, "pos": 0}
    for kind, feed, apply, size in (
        ("promotions", sources(promotions, "promotions", partitions), work.agreement, BATCH),
        ("pos", sources(pos, "pos", partitions, chunk_records), work.sales_chunk, per_batch),
    ):
        while batch := list(islice(feed, size)):
            counts[kind] += sum(lines_in(src) for src in batch)
            c0, w0 = time.process_time(), time.perf_counter()
            built = [apply(src) for src in batch]
            built.append(work.settle())  # as the worker's write_state: settle, then flush
            state.flush()
            cpu += time.process_time() - c0
            wall += time.perf_counter() - w0
            for outputs in built:
                tally.add(outputs)
    ledger = distinct_entries(avro.decode("ledger_entry", value) for value in tally.ledger)
    totals = {k: amount for k, (amount, _) in ledger.totals().items() if amount}
    return BareRun(
        lines=counts["pos"],
        agreements=counts["promotions"],
        cpu_seconds=cpu,
        wall_seconds=wall,
        outputs=tally.counts,
        entries=len(ledger.entries),
        totals=totals,
    )


def lines_in(src: Source) -> int:
    lines = src.headers.get(LINES)
    return 1 if lines is None else lines.count(",") + 1


def run_bare_child(
    workload: Workload,
    expected: dict[TotalKey, Decimal],
    timeout: float,
    repeats: int = 3,
    chunk_records: int = 1,
) -> BareRun:
    """``run_bare`` in a process of its own (no Kafka client threads in its CPU time),
    its totals checked against the reference."""
    argv = [sys.executable, "-m", "streams.tools.bench.bare", str(workload.pos),
            str(workload.promotions), str(repeats), str(chunk_records)]  # fmt: skip
    run = BareRun.from_json(run_child(argv, None, timeout).json())
    return replace(run, problems=compare_totals(run.totals, expected, "bare"))


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3, 4):
        raise SystemExit(
            "usage: python -m streams.tools.bench.bare POS_CSV PROMOTIONS_CSV [REPEATS "
            "[CHUNK_RECORDS]]"
        )
    repeats = int(argv[2]) if len(argv) > 2 else 1
    chunk = int(argv[3]) if len(argv) > 3 else 1
    print(json.dumps(run_bare(Path(argv[0]), Path(argv[1]), repeats, chunk).to_json()))


if __name__ == "__main__":
    main(sys.argv[1:])
