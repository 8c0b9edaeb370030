"""The SRE commands on the real broker: lag, dlq list/show/redrive, replay, group reset,
state rebuild. Replays and redrives keep the books: the ledger does not move and the audit still
reconciles (read = applied + duplicate + dead_lettered)."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import pytest
import typer
from confluent_kafka import Consumer
from typer.testing import CliRunner

from streams.cli import dlq as dlq_cli
from streams.cli import sre
from streams.formats import avro
from streams.formats import headers as h
from streams.formats.records import outcomes_of
from streams.ingest.producer import ingest_file
from streams.kafka import topics as t
from streams.kafka.read import read_topic
from streams.ops import group as g
from streams.ops.audit import audit
from streams.ops.dlq import dlq_records
from streams.ops.ledger import read_ledger
from streams.ops.redrive import redrive
from streams.ops.replay import plan, replay, resolve_raw_topic
from streams.settings import Settings
from streams.tools.batch import drain, worker_command, worker_env
from streams.tools.references import differences, expected_totals

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
POS, PROMOTIONS = EXAMPLES / "pos.csv", EXAMPLES / "promotions.csv"


def create_topics(settings: Settings) -> None:
    """Create the app's topics and wait until the cluster's metadata lists them all (right
    after a broker start, create can return before every topic is visible)."""
    t.create_topics(settings)
    wanted = set(t.app_topic_names(settings))
    deadline = time.monotonic() + 30
    while wanted - set(t.admin_client(settings).list_topics(timeout=10).topics):
        assert time.monotonic() < deadline, "created topics never became visible"
        time.sleep(0.2)


def cli(settings: Settings) -> typer.Typer:
    """The SRE commands as main.py registers them, on these settings."""
    app = typer.Typer()

    @app.callback()
    def root(ctx: typer.Context) -> None:
        ctx.obj = settings

    app.add_typer(dlq_cli.app, name="dlq")
    app.add_typer(sre.group_app, name="group")
    app.add_typer(sre.state_app, name="state")
    app.command("replay")(sre.replay)
    app.command("lag")(sre.lag)
    return app


def run(settings: Settings, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli(settings), list(args), terminal_width=250)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == code, result.output
    return result.output


def outcomes(settings: Settings) -> dict[str, str]:
    out = {}
    for msg in read_topic(settings, settings.topic(t.OUTCOMES)):
        schema = h.to_dict(cast(Any, msg.headers())).get(avro.SCHEMA_HEADER)
        for o in outcomes_of(msg.value() or b"", schema):
            out[o["correlation_id"]] = o["outcome"]
    return out


def messages_in(settings: Settings, *topics: str) -> int:
    return sum(1 for topic in topics for _ in read_topic(settings, settings.topic(topic)))


def assert_books_kept(settings: Settings) -> None:
    assert differences(read_ledger(settings), expected_totals([POS], [PROMOTIONS])) == []
    rows = audit(settings)
    assert rows and all(r.reconciles for r in rows), rows
    assert all(lag.lag.behind == 0 for lag in g.lags(settings))


def test_replay_and_redrive_keep_the_books(isolated_settings: Settings) -> None:
    settings = isolated_settings
    ingest_and_drain(settings)
    assert "total lag: 0" in run(settings, "lag")

    # dlq list / show
    dead = list(dlq_records(settings))
    invalid = [r for r in dead if r["category"] == "invalid_value"]
    assert len(dead) == 7 and len(invalid) == 4
    listed = run(settings, "dlq", "list", "--category", "invalid_value")
    assert "4 dead-lettered record(s)" in listed
    assert "0 dead-lettered" in run(settings, "dlq", "list", "--since", "2999-01-01T00:00:00Z")
    shown = run(settings, "dlq", "show", invalid[0]["dlq_id"][:10])
    assert invalid[0]["dlq_id"] in shown and "header recon-correlation-id" in shown
    assert bytes(invalid[0]["original"]).decode()[:20] in shown

    # replay raw.pos from offset 0: dry run, then for real
    topic = resolve_raw_topic(settings, "raw.pos")
    chunks = messages_in(settings, t.RAW_POS)  # the 264 lines in chunks
    assert 0 < chunks < 264
    assert sum(x.count for x in plan(settings, topic, from_offset=0)) == chunks
    assert f"would replay {chunks} message(s)" in run(
        settings, "replay", "--topic", "raw.pos", "--from-offset", "0", "--dry-run"
    )
    replayed = replay(settings, topic, plan(settings, topic, from_offset=0))
    assert replayed.records == 264

    # redrive invalid_value: a dry run, the run, then nothing left to redrive twice
    assert "would redrive 4 record(s)" in run(
        settings, "dlq", "redrive", "--category", "invalid_value", "--dry-run"
    )
    redriven = redrive(settings, category="invalid_value")
    assert len(redriven.redriven) == 4
    again = redrive(settings, category="invalid_value", dry_run=True)
    assert (again.redriven, again.skipped) == ([], 4)

    drain(settings)
    assert_books_kept(settings)
    decided = outcomes(settings)
    mine = Counter(v for k, v in decided.items() if k.startswith(f"replay-{replayed.run_id}:"))
    assert mine == {"duplicate": 259, "dead_lettered": 5}
    back = [
        r
        for r in dlq_records(settings)
        if r["correlation_id"].startswith(f"redrive-{redriven.run_id}:")
    ]
    assert sorted(r["attempts"] for r in back) == [2] * 4
    assert {r["category"] for r in back} == {"invalid_value"}
    first_seen = {r["dlq_id"]: r["first_seen"] for r in invalid}
    assert {r["first_seen"] for r in back} == set(first_seen.values())
    # next redrive: the records that came back (and the replay's), never the originals
    todo = redrive(settings, category="invalid_value", dry_run=True)
    assert not {r["dlq_id"] for r in todo.redriven} & set(first_seen)
    assert {r["dlq_id"] for r in back} <= {r["dlq_id"] for r in todo.redriven}


def ingest_and_drain(settings: Settings) -> None:
    create_topics(settings)
    ingest_file(settings, POS, "pos")
    ingest_file(settings, PROMOTIONS, "promotions")
    drain(settings)
    assert_books_kept(settings)


def test_group_reset_to_earliest_keeps_the_books(isolated_settings: Settings) -> None:
    """With no worker running, reset the app's group to the earliest offsets: the next
    drain reprocesses every record under its own correlation id, books unchanged."""
    settings = isolated_settings
    ingest_and_drain(settings)
    assert "dry run" in run(settings, "group", "reset", "--to-earliest", "--dry-run")
    assert "reset" in run(settings, "group", "reset", "--to-earliest")
    raw = messages_in(settings, t.RAW_POS, t.RAW_PROMOTIONS)
    assert sum(x.lag.behind for x in g.lags(settings)) >= raw
    drain(settings)
    assert_books_kept(settings)
    assert sum(1 for _ in dlq_records(settings)) == 7  # same dlq_ids: nothing new


def test_state_rebuild_restores_the_tables_from_the_changelogs(
    isolated_settings: Settings,
) -> None:
    settings = isolated_settings
    ingest_and_drain(settings)
    assert (settings.state_dir / "faust").exists()
    assert "removed" in run(settings, "state", "rebuild", "--yes")
    assert not (settings.state_dir / "faust").exists()
    drain(settings)
    assert_books_kept(settings)


def test_group_reset_refuses_while_the_group_has_members(isolated_settings: Settings) -> None:
    settings = isolated_settings
    create_topics(settings)
    member = Consumer(
        {
            "bootstrap.servers": settings.bootstrap,
            "group.id": settings.app_id,
            "session.timeout.ms": 6000,
        }
    )
    member.subscribe([settings.topic(t.RAW_POS)])
    try:
        deadline = time.monotonic() + 30
        while not member.assignment():
            member.poll(0.2)
            assert time.monotonic() < deadline, "the consumer never joined its group"
        out = run(settings, "group", "reset", "--to-earliest", code=1)
        assert "active member" in out and "stop every worker" in out
    finally:
        member.close()


def test_a_running_worker_blocks_group_reset_and_state_rebuild(
    isolated_settings: Settings,
) -> None:
    settings = isolated_settings
    create_topics(settings)
    ingest_file(settings, PROMOTIONS, "promotions")
    worker = subprocess.Popen(worker_command(), env=worker_env(settings))
    try:
        deadline = time.monotonic() + 60
        while not (
            g.describe_group(settings, settings.app_id).active
            and any((settings.state_dir / "faust").rglob("LOCK"))
        ):
            assert worker.poll() is None, "the worker exited"
            assert time.monotonic() < deadline, "the worker never joined its group"
            time.sleep(0.5)
        out = run(settings, "group", "reset", "--to-earliest", code=1)
        assert "active member" in out
        out = run(settings, "state", "rebuild", "--yes", code=1)
        assert "a worker is running" in out
        assert (settings.state_dir / "faust").exists()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
