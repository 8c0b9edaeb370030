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
from streams.formats.csv_source import CsvRecords, file_sha256
from streams.formats.records import Source, source_of_message
from streams.ingest.producer import FORMATS, RunContext, record_headers, utc_now_iso
from streams.kafka.partitioner import keyer
from streams.observability.tracing import new_traceparent
from streams.ops.ledger import distinct_entries
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

# Records per batch: the worker's default agent batch (RECON_AGENT_BATCH_MAX). Each batch's
# Sources are built untimed, then processed and its state flushed, timed.
BATCH = 1_000


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


def sources(path: Path, kind: str) -> Iterator[Source]:
    """The records of ``path`` as the worker receives them from its raw topic: headers as
    ``recon ingest`` sets them, offsets in file order."""
    topic, record_format, _ = FORMATS[kind]
    run_id = uuid.uuid4().hex
    with CsvRecords(path) as records:
        constant = RunContext(
            run_id, path.name, file_sha256(path), record_format, records.header
        ).constant_headers()
        key_of = keyer(kind, records.columns)
        for offset, (line, raw) in enumerate(records):
            headers = record_headers(constant, run_id, line, utc_now_iso(), new_traceparent())
            yield source_of_message(topic, 0, offset, key_of(raw), raw, headers)


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


def run_bare(pos: Path, promotions: Path, repeats: int = 1) -> BareRun:
    """The computation ``repeats`` times, each on fresh state: the run of median CPU time
    (the machine's noise only ever adds time), with every run's CPU seconds."""
    runs = sorted((run_once(pos, promotions) for _ in range(max(1, repeats))),
                  key=lambda run: run.cpu_seconds)  # fmt: skip
    median = runs[(len(runs) - 1) // 2]
    return replace(median, cpu_runs=[run.cpu_seconds for run in runs])


def run_once(pos: Path, promotions: Path) -> BareRun:
    """Agreements, then every POS line, through the product's code path; only the
    processing is timed (CPU and wall), a batch of ``BATCH`` prepared records at a time,
    each batch ending as the worker's does: its postings settled (one ledger entry per
    (agreement, period) its sales touched), then its state flushed."""
    state = WriteBehind()
    work = RecordWork(state)
    tally = Tally()
    cpu = wall = 0.0
    counts = {"promotions": 0, "pos": 0}
    for kind, path, apply in (
        ("promotions", promotions, work.agreement),
        ("pos", pos, work.sale),
    ):
        feed = sources(path, kind)
        while batch := list(islice(feed, BATCH)):
            counts[kind] += len(batch)
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


def run_bare_child(
    workload: Workload, expected: dict[TotalKey, Decimal], timeout: float, repeats: int = 3
) -> BareRun:
    """``run_bare`` in a process of its own (no Kafka client threads in its CPU time),
    its totals checked against the reference."""
    argv = [sys.executable, "-m", "streams.tools.bench.bare",
            str(workload.pos), str(workload.promotions), str(repeats)]  # fmt: skip
    run = BareRun.from_json(run_child(argv, None, timeout).json())
    return replace(run, problems=compare_totals(run.totals, expected, "bare"))


def main(argv: list[str]) -> None:
    if len(argv) not in (2, 3):
        raise SystemExit(
            "usage: python -m streams.tools.bench.bare POS_CSV PROMOTIONS_CSV [REPEATS]"
        )
    repeats = int(argv[2]) if len(argv) == 3 else 1
    print(json.dumps(run_bare(Path(argv[0]), Path(argv[1]), repeats).to_json()))


if __name__ == "__main__":
    main(sys.argv[1:])
