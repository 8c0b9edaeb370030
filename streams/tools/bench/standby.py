"""Failover with and without standby replicas, measured by hand (not in `make test`):

    python -m streams.tools.bench.standby [--lines 60000] [--standbys 0 1]

For each standby count, on the benchmark's own broker: two workers start and become
ready, then process a POS feed (the first 80 % of its lines); once they have caught up,
one is killed with ``kill -9`` and the rest of the feed is ingested. Measured on the survivor:

- **takeover**: from the kill until the app group has committed every raw record, the
  killed worker's partitions included (the session timeout, the rebalance, the recovery
  of the partitions it was handed, and processing the new lines);
- **replayed**: changelog records the survivor's recovery read for its active partitions
  in that rebalance (Faust's "Reading Starts At" and "Highwater" tables for the active
  partitions: highwater minus start, summed);
- **recovery**: the survivor's ``recon_recovery_duration_seconds`` over the takeover.

The ledger totals are checked against the reference computation afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from confluent_kafka import KafkaException

from streams.formats import avro
from streams.kafka import topics as t
from streams.kafka.read import group_lag, read_topic
from streams.kafka.topics import create_topics
from streams.ops.ledger import distinct_entries
from streams.settings import Settings
from streams.tools.batch import worker_command, worker_env
from streams.tools.bench.ours import ingest
from streams.tools.bench.procs import BenchError, Child
from streams.tools.bench.setup import bench_kafka, make_workload, stage_settings
from streams.tools.references import differences

KILL_FRACTION = 0.8  # of the feed's lines ingested before the kill
METRICS_PORTS = (29411, 29412)
ROW = re.compile(r"^\|\s*(\S+)\s*\|\s*(\d+)\s*\|\s*(-?\d+)\s*\|\s*$")
RECOVERY_SUM = re.compile(r"^recon_recovery_duration_seconds_sum\s+([0-9.e+-]+)$", re.M)


@dataclass(frozen=True)
class Failover:
    standbys: int
    lines: int
    takeover_seconds: float
    replayed_records: int
    recovery_seconds: float
    problems: list[str]


def log_tables(log: str, title: str) -> list[dict[tuple[str, int], int]]:
    """Every Faust log table titled ``title`` in ``log``, in order: (topic, partition) ->
    offset. Faust writes a repeated topic name as a ditto mark."""
    tables: list[dict[tuple[str, int], int]] = []
    current: dict[tuple[str, int], int] | None = None
    topic = ""
    for line in log.splitlines():
        if line.startswith("+") and title in line:
            current = {}
            tables.append(current)
            continue
        if current is None:
            continue
        found = ROW.match(line)
        if found:
            topic = topic if found[1] == "〃" else found[1]
            current[(topic, int(found[2]))] = int(found[3])
        elif not line.startswith(("+", "| topic")):
            current = None
    return tables


def replayed_records(log: str) -> int:
    """Changelog records the last active recovery in ``log`` read: per partition, its
    highwater minus where reading started."""
    starts = log_tables(log, "Reading Starts At - Active")
    highs = log_tables(log, "Highwater - Active")
    if not starts or not highs:
        return 0
    start, high = starts[-1], highs[-1]
    return sum(max(0, high[tp] - start.get(tp, -1)) for tp in high)


def recovery_seconds(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        found = RECOVERY_SUM.search(response.read().decode())
    return float(found[1]) if found else 0.0


def wait_ready(ports: tuple[int, ...], timeout: float) -> None:
    """Until every worker's /readyz answers 200 (its active partitions restored)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if all(ready(port) for port in ports):
                return
        except OSError:
            pass  # not listening yet (bulk restore) or answering 503
        time.sleep(0.2)
    raise BenchError(f"workers not ready after {timeout:.0f} s")


def ready(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
        return bool(response.status == 200)


def wait_caught_up(settings: Settings, timeout: float) -> None:
    """Until the app group has committed every raw record and the relay every changelog
    record."""
    raw = [settings.topic(t.RAW_POS), settings.topic(t.RAW_PROMOTIONS)]
    changelog = [t.changelog_topic(settings, t.STATE_TABLE)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            lags = group_lag(settings, settings.app_id, raw) + group_lag(
                settings, t.relay_group(settings), changelog
            )
        except KafkaException:  # a coordinator moving or loading: ask again
            lags = []
        if lags and all(lag.committed is not None and lag.behind == 0 for lag in lags):
            return
        time.sleep(0.2)
    raise BenchError(f"workers not caught up after {timeout:.0f} s")


def split_feed(pos: Path, work: Path) -> tuple[Path, Path]:
    """The POS file as two files with its header: the first KILL_FRACTION of its lines,
    and the rest."""
    work.mkdir(parents=True, exist_ok=True)
    header, *lines = pos.read_text(encoding="utf-8").splitlines(keepends=True)
    cut = int(len(lines) * KILL_FRACTION)
    first, rest = work / "pos-before.csv", work / "pos-after.csv"
    first.write_text(header + "".join(lines[:cut]), encoding="utf-8")
    rest.write_text(header + "".join(lines[cut:]), encoding="utf-8")
    return first, rest


def failover(
    kafka: Settings, work: Path, lines: int, standbys: int, logs: Path | None = None
) -> Failover:
    settings = stage_settings(kafka, work, f"standby{standbys}").with_overrides(
        table_standby_replicas=standbys, log_format="text"
    )
    workload = make_workload(work, f"standby{standbys}", lines)
    before, after = split_feed(workload.pos, work / f"standby{standbys}")
    create_topics(settings)
    workers = [
        Child(
            worker_command("--loglevel", "info"),
            {
                **worker_env(settings.with_overrides(home=settings.home / f"worker{i}")),
                "RECON_METRICS_PORT": str(METRICS_PORTS[i]),
            },
        )
        for i in range(2)
    ]
    survivor, victim = workers
    killed_run = None
    try:
        # Both in the group and done with their recovery before any record arrives, so
        # both process the feed as it comes (and each follows the other's partitions).
        wait_ready(METRICS_PORTS, 300)
        ingest(settings, "promotions", str(workload.promotions), 600)
        ingest(settings, "pos", str(before), 600)
        wait_caught_up(settings, 900)
        wait_ready(METRICS_PORTS, 300)
        time.sleep(3)  # standbys read the last changelog records
        recovered_before = recovery_seconds(METRICS_PORTS[0])
        os.kill(victim.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        killed_run = victim.wait(30)  # reaped here, before anything else polls it
        ingest(settings, "pos", str(after), 600)
        wait_caught_up(settings, 900)
        takeover = time.monotonic() - killed
        recovery = recovery_seconds(METRICS_PORTS[0]) - recovered_before
    finally:
        for child in workers:
            if child.proc.returncode is None:
                child.proc.kill() if child is victim else child.terminate()
    survived = survivor.wait(120)
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
        (logs / f"standby{standbys}-survivor.log").write_text(survived.log, encoding="utf-8")
        if killed_run is not None:
            (logs / f"standby{standbys}-killed.log").write_text(killed_run.log, encoding="utf-8")
    problems = [f"survivor exited {survived.returncode}"] if survived.returncode else []
    messages = read_topic(settings, settings.topic(t.LEDGER))
    ledger = distinct_entries(avro.decode("ledger_entry", m.value() or b"") for m in messages)
    problems += differences(ledger, workload.expected())
    return Failover(
        standbys, lines, round(takeover, 2), replayed_records(survived.log), round(recovery, 2),
        problems,
    )  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=60_000)
    parser.add_argument("--standbys", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--logs", type=Path, help="keep both workers' logs here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="recon-standby-") as tmp:
        work = Path(tmp)
        with bench_kafka(Settings(), work) as kafka:
            for standbys in args.standbys:
                print(
                    json.dumps(asdict(failover(kafka, work, args.lines, standbys, args.logs))),
                    flush=True,
                )


if __name__ == "__main__":
    main()
