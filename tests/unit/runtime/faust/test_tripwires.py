"""Tripwires for the Faust stack pinned in pyproject.toml (faust-streaming, mode-streaming,
aiokafka): they fail on an upgrade that changes what our code replaces or relies on.

- Fingerprints: a SHA-256 of the source of every upstream function that a module of ours
  replaces or wraps (streams/runtime/faust/) or whose behaviour it relies on or repeats
  (the write-behind state, the dedupe purge, the batch frame, the worker). The text hashed
  is what ``inspect.getsource`` gives for the unpatched function, but read from the
  installed package's file: a patch installed by another test does not hide it.
- Reached-into internals: the private attributes, methods and signatures the runtime uses
  still exist.
- The installed versions are the pins, and the pins are the versions fingerprinted here.

On a failure: read the upstream change, re-check the module of ours that the message
names (is the patch still needed, still right?), then update the fingerprint (the message
gives the new value) and FINGERPRINTED_AT.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import re
import textwrap
import tomllib
import weakref
from contextvars import ContextVar
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from faust.sensors import Sensor
from faust.stores.rocksdb import Store
from faust.tables.base import Collection
from faust.tables.recovery import Recovery
from faust.transport.consumer import Consumer
from faust.transport.producer import ProducerBuffer
from faust.worker import Worker
from mode import Service
from mode.services import WaitResults

from streams.runtime.app import PRODUCER_BUFFER_MESSAGES, create_app
from streams.settings import Settings

pytestmark = pytest.mark.unit

PYPROJECT = Path(__file__).resolve().parents[4] / "pyproject.toml"

# The versions whose source the fingerprints below were taken from.
FINGERPRINTED_AT = {
    "faust-streaming": "0.15.3",
    "mode-streaming": "0.7.1",
    "aiokafka": "0.14.0",
}
DIST_OF = {"faust": "faust-streaming", "mode": "mode-streaming", "aiokafka": "aiokafka"}


@dataclass(frozen=True)
class Fingerprint:
    target: str  # "module:Qualified.name" of the upstream function
    ours: str  # the module(s) of ours that depend on it
    verb: str  # what ours does with it: replaces, wraps, works around, repeats, relies on
    why: str
    sha256: str


FINGERPRINTS = [
    # -- patched: streams/runtime/faust/ replaces or wraps these -------------------------
    Fingerprint(
        "mode.services:Service.wait_first",
        "streams/runtime/faust/eager.py",
        "replaces on the Consumer",
        "the patched Consumer.wait_first falls back to it and builds its WaitResults the same way",
        "3ed3b8c32e14dec3b29b3e8a99646855499158e23a779331afdbf198ef7247e5",
    ),
    Fingerprint(
        "faust.transport.consumer:Consumer._drain_messages",
        "streams/runtime/faust/eager.py and seek.py",
        "works around",
        "its per-message wait_first(callback(message), suspend_flow.wait()) is what eager.py "
        "short-circuits; seek.py counts its getmany rounds",
        "8f35dd7a11144daa6ec9a3739a497b03a9dd6b57cca18aa861bb4a549400fc68",
    ),
    Fingerprint(
        "faust.transport.consumer:Consumer.getmany",
        "streams/runtime/faust/seek.py",
        "wraps",
        "wrapped to track the fetch rounds in progress",
        "e486c434b7928ee8dc33eb66f8ad03adae289861dcec23f4cbd767ccc3c38148",
    ),
    Fingerprint(
        "faust.transport.consumer:Consumer.perform_seek",
        "streams/runtime/faust/seek.py",
        "wraps",
        "wrapped: pauses the stream partitions before it, rewinds what it does not seek",
        "2b4ceebd23deb7ee43ff9bb6894715c3ff49da43160fc37b0351a7db7ea07e3e",
    ),
    Fingerprint(
        "faust.transport.consumer:Consumer.resume_flow",
        "streams/runtime/faust/seek.py",
        "wraps",
        "wrapped: resumes the held stream partitions first",
        "192f20bc377f5fec2acaa88023ea74747b60c0251687d77163196376cc6b5ffb",
    ),
    Fingerprint(
        "faust.tables.recovery:Recovery.on_recovery_completed",
        "streams/runtime/faust/seek.py",
        "works around",
        "its resume_partitions, perform_seek, flow_control.resume, resume_flow sequence is "
        "the record drop the patch fixes",
        "895e7c415a4d137997ea0e6c04f0c180d3c783cd6ef18a977a14338ca1073b59",
    ),
    Fingerprint(
        "faust.tables.recovery:Recovery._resume_streams",
        "streams/runtime/faust/seek.py",
        "works around",
        "the same resume, seek, clear sequence on a rebalance without recovery",
        "fbe0f747b84c0b2743bc83626a6836c0b1ffc3b1e3b3ac0073eb13552fd44c75",
    ),
    Fingerprint(
        "mode.utils.queues:FlowControlEvent.resume",
        "streams/runtime/faust/seek.py",
        "works around",
        "clearing the agents' queues on resume is what dropped the records",
        "da6fc70c770ea01b0ccee8833de3ea239acb3e2545a83c17827fb4718dbafcd7",
    ),
    Fingerprint(
        "aiokafka.consumer.consumer:AIOKafkaConsumer.seek_to_committed",
        "streams/runtime/faust/seek.py",
        "works around",
        "it skips partitions whose committed offset is None or 0, which the patch rewinds",
        "9c20926f17126a19ea5bd34f9875bbe9e91dd8d9489c5325f69b7a5132ccf8dd",
    ),
    Fingerprint(
        "faust.tables.manager:TableManager.on_start",
        "streams/runtime/faust/tables.py",
        "replaces",
        "PromptTableManager.on_start repeats it without the one-second sleep",
        "b82e759be50ccebee63b899d780ce636de218a3bee253545d26d006a2388d2ee",
    ),
    # -- reached into: behaviour our runtime relies on or repeats ------------------------
    Fingerprint(
        "faust.streams:Stream.take_events",
        "streams/runtime/sequence.py",
        "relies on",
        "a batch's events are not current (in_event sets them) and it acks a batch even "
        "when the agent raises (exit_without_acking)",
        "3eabc46f38f44665f843071595cf07667c92fcd275278163976595710f32c429",
    ),
    Fingerprint(
        "faust.transport.consumer:Consumer._commit_offsets",
        "streams/runtime/sequence.py and drain.py",
        "relies on",
        "it flushes Faust's producer before it commits, so a batch sent through it is "
        "durable once committed",
        "86b3e9b0aec773ac0923dd4409d8ff220781c0017cc356258331792009c903a8",
    ),
    Fingerprint(
        "faust.streams:current_event",
        "streams/runtime/sequence.py and state/batch.py",
        "relies on",
        "in_event sets faust.streams._current_event to a weakref that this dereferences",
        "3b821f1a78d86a58234dfe781fbf539775b00e66fdac9489c1c398a2d81d7e9d",
    ),
    Fingerprint(
        "faust.stores.rocksdb:Store._get",
        "streams/runtime/state/batch.py",
        "repeats",
        "the write-behind state reads the event's partition DB directly, as this does for "
        "a keyed table",
        "87e3ce60eaba3171c984eb133ca3e07e5f4667b3f2c78f39365bc2927123b9ba",
    ),
    Fingerprint(
        "faust.stores.rocksdb:Store._set",
        "streams/runtime/state/batch.py",
        "repeats",
        "the write-behind state writes the event's partition DB directly, as this does",
        "40e273d6ef07db1e7a19f5546d8d0e4864834e3d5165c721f53c4f7a930b668d",
    ),
    Fingerprint(
        "faust.stores.rocksdb:Store._dbs_for_actives",
        "streams/runtime/state/dedupe_purge.py and health.py",
        "repeats and calls",
        "TableMarks._active_dbs repeats its selection; table_keys calls it",
        "ca59b171d6d8471f4c34f7b47bf4e7df99dbb7fac85f74e7f6040d2228dded8b",
    ),
    Fingerprint(
        "faust.tables.base:Collection._on_changelog_sent",
        "streams/runtime/state/batch.py",
        "repeats",
        "BatchTableState._persisted repeats it (set_persisted_offset once a changelog "
        "record is sent)",
        "146c7ea5c7530a94ff7c6a74d8c72a671f2ac325fdbd98cbceeee130125a36ae",
    ),
    Fingerprint(
        "faust.tables.table:Table.on_key_del",
        "streams/runtime/state/dedupe_purge.py",
        "repeats",
        "TableMarks.delete repeats it (a raw None to the key's changelog partition)",
        "efc068c6a2d3cd95296b2e9ff589bd0f4f27e313668f0ec38d59d5b477c2c6ae",
    ),
    Fingerprint(
        "faust.transport.producer:ProducerBuffer.wait_until_ebb",
        "streams/runtime/app.py",
        "tunes",
        "PRODUCER_BUFFER_MESSAGES sets the max_messages this applies backpressure above",
        "191a87d5d9c664673e995fcdac961a3afe34bd22f2dbc2247817cf2910991e1a",
    ),
    Fingerprint(
        "faust.worker:Worker._setup_spinner_handler",
        "streams/runtime/runner.py",
        "relies on",
        "run_worker sets worker.spinner = None after construction; this reads it later",
        "f3c8eed262a5565d14ce501a84e3b28ce24019e3e35c4801e317c423a5ed7210",
    ),
]


def upstream_source(target: str) -> str:
    """The source text of ``target`` as the installed package's file has it (decorators
    included), whatever a patch may have put on the class since."""
    module_name, qualname = target.split(":")
    path = importlib.import_module(module_name).__file__
    assert path is not None
    text = Path(path).read_text(encoding="utf-8")
    body: list[ast.stmt] = ast.parse(text).body
    node: ast.stmt | None = None
    for name in qualname.split("."):
        found = [
            n
            for n in body
            if isinstance(n, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and n.name == name
        ]
        if not found:
            pytest.fail(
                f"{DIST_OF[module_name.split('.')[0]]} no longer defines {qualname} in "
                f"{module_name}: re-check whatever of ours depends on it (see FINGERPRINTS)"
            )
        node = found[-1]  # the last definition wins, as at import
        body = getattr(node, "body", [])
    assert node is not None and node.end_lineno is not None
    start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
    lines = text.splitlines(keepends=True)[start - 1 : node.end_lineno]
    return textwrap.dedent("".join(lines))


def digest(target: str) -> str:
    return hashlib.sha256(upstream_source(target).encode("utf-8")).hexdigest()


@pytest.mark.parametrize("fp", FINGERPRINTS, ids=[fp.target for fp in FINGERPRINTS])
def test_upstream_code_is_what_was_fingerprinted(fp: Fingerprint) -> None:
    dist = DIST_OF[fp.target.split(".")[0]]
    actual = digest(fp.target)
    what = "the patch" if fp.ours.startswith("streams/runtime/faust/") else "it"
    assert actual == fp.sha256, (
        f"{dist} {version(dist)} changed {fp.target}, which {fp.ours} {fp.verb} "
        f"({fp.why}): re-check {what}, then update this fingerprint to {actual}"
    )


def pins() -> dict[str, str]:
    """The exact (==) pins of pyproject.toml's dependencies, by distribution name."""
    deps = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    out = {}
    for dep in deps:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;,]+)", dep.strip())
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


@pytest.mark.parametrize("dist", sorted(FINGERPRINTED_AT))
def test_the_patched_stack_is_pinned_installed_and_fingerprinted_at_one_version(
    dist: str,
) -> None:
    pinned = pins().get(dist)
    assert pinned is not None, (
        f"pyproject.toml must pin {dist} exactly (==): streams/runtime/faust/ replaces "
        "upstream internals, checked for one version only"
    )
    assert version(dist) == pinned, (
        f"{dist} {version(dist)} is installed but pyproject.toml pins {pinned}: "
        "run `make venv` (or `make lock` after changing the pin)"
    )
    assert pinned == FINGERPRINTED_AT[dist], (
        f"pyproject.toml pins {dist} {pinned}, but the tripwires were fingerprinted on "
        f"{FINGERPRINTED_AT[dist]}: re-check every patch in streams/runtime/faust/ and the "
        "internals listed in this file against the new version, then update the "
        "fingerprints and FINGERPRINTED_AT"
    )


# -- reached-into internals: attributes, methods, signatures --------------------------


def params(func: Any) -> list[str]:
    return list(inspect.signature(func).parameters)


def annotated(cls: type, name: str) -> bool:
    return any(name in getattr(k, "__annotations__", {}) for k in cls.__mro__)


def test_consumer_internals_the_seek_and_eager_patches_use() -> None:
    # streams/runtime/faust/seek.py and eager.py
    for method in (
        "wait_first",
        "getmany",
        "perform_seek",
        "resume_flow",
        "_get_active_partitions",
        "_is_changelog_tp",
        "pause_partitions",
        "resume_partitions",
        "earliest_offsets",
        "_new_topicpartition",
        "seek",
        "assignment",
        "seek_to_committed",
    ):
        assert callable(getattr(Consumer, method, None)), (
            f"faust-streaming's Consumer has no {method}() any more, which "
            "streams/runtime/faust/seek.py or eager.py uses: re-check the patches"
        )
    for attr in ("flow_active", "_committed_offset", "_read_offset", "suspend_flow"):
        assert annotated(Consumer, attr), (
            f"faust-streaming's Consumer no longer declares {attr}, which "
            "streams/runtime/faust/seek.py or eager.py uses: re-check the patches"
        )
    assert params(Consumer.seek) == ["self", "partition", "offset"], "seek.py calls seek(tp, n)"


def test_the_service_internals_the_eager_patch_uses() -> None:
    # streams/runtime/faust/eager.py: self._stopped, self._crashed, self.loop, WaitResults
    service = Service()
    for attr in ("_stopped", "_crashed"):
        assert callable(getattr(getattr(service, attr, None), "is_set", None)), (
            f"mode-streaming's Service has no {attr} event any more, which "
            "streams/runtime/faust/eager.py checks: re-check the patch"
        )
    assert hasattr(Service, "loop"), "eager.py creates the resumed task on self.loop"
    assert WaitResults._fields == ("done", "results", "stopped"), (
        "mode-streaming changed WaitResults, which streams/runtime/faust/eager.py builds "
        "positionally: re-check the patch"
    )
    assert params(Service.wait_first) == ["self", "coros", "timeout"], (
        "mode-streaming changed Service.wait_first's signature, which "
        "streams/runtime/faust/eager.py replaces on the Consumer: re-check the patch"
    )


def test_the_current_event_contextvar_sequence_and_batch_set_and_read() -> None:
    # streams/runtime/sequence.py (in_event) and state/batch.py (current_event)
    import faust.streams as fs

    assert isinstance(fs._current_event, ContextVar), (
        "faust-streaming's faust.streams._current_event is no longer a ContextVar, which "
        "streams/runtime/sequence.py sets (in_event): re-check it"
    )

    class Event:  # what in_event hands it: something a weakref can point at
        message = SimpleNamespace(partition=3)

    event: Any = Event()
    token = fs._current_event.set(weakref.ref(event))
    try:
        current: Any = fs.current_event()
        assert current is event, (
            "faust.streams.current_event() no longer dereferences the weakref in "
            "_current_event, which streams/runtime/sequence.py in_event relies on"
        )
    finally:
        fs._current_event.reset(token)
    assert "take_events" in vars(fs.Stream), "sequence.py's agents batch with take_events"
    assert params(fs.Stream.take_events) == ["self", "max_", "within"]


def test_the_store_and_table_internals_the_state_uses() -> None:
    # streams/runtime/state/batch.py, dedupe_purge.py, health.py
    assert annotated(Store, "_dbs"), (
        "faust-streaming's rocksdb Store no longer has _dbs, which "
        "streams/runtime/state/dedupe_purge.py reads: re-check it"
    )
    for method, expected in (
        ("_db_for_partition", ["self", "partition"]),
        ("set_persisted_offset", ["self", "tp", "offset"]),
        ("_dbs_for_actives", ["self"]),
    ):
        assert callable(getattr(Store, method, None)), (
            f"faust-streaming's rocksdb Store has no {method}() any more, which "
            "streams/runtime/state/ (batch.py, dedupe_purge.py) or health.py calls"
        )
        assert params(getattr(Store, method)) == expected, f"Store.{method} changed signature"
    assert params(Collection.send_changelog) == [
        "self",
        "partition",
        "key",
        "value",
        "key_serializer",
        "value_serializer",
    ], "faust changed Collection.send_changelog, which state/dedupe_purge.py calls"
    assert isinstance(inspect.getattr_static(Collection, "changelog_topic"), property), (
        "faust changed Collection.changelog_topic, which state/batch.py and dedupe_purge.py use"
    )


def test_the_app_internals_the_runtime_sets_and_reads(tmp_path: Path) -> None:
    # app.py (producer buffer, TableManager), health.py and dedupe_purge.py (recovery,
    # rebalancing, in_recovery, assignor)
    app, _ = create_app(Settings(home=tmp_path))
    buffer = app.producer.buffer
    assert isinstance(buffer, ProducerBuffer) and annotated(ProducerBuffer, "max_messages"), (
        "faust's producer buffer has no max_messages any more, which streams/runtime/app.py "
        "raises to PRODUCER_BUFFER_MESSAGES: re-check the backpressure setting"
    )
    assert buffer.max_messages == PRODUCER_BUFFER_MESSAGES
    recovery = app.tables.recovery  # type: ignore[attr-defined]
    assert isinstance(recovery, Recovery)
    assert callable(getattr(recovery.completed, "is_set", None))
    assert callable(getattr(recovery.completed, "wait", None)), (
        "faust's Recovery.completed is no longer an event, which health.py (readiness) and "
        "state/dedupe_purge.py (purge after recovery) wait on"
    )
    assert app.rebalancing is False and app.in_recovery is False
    assert callable(getattr(app.assignor, "assigned_actives", None)), (
        "faust's assignor has no assigned_actives() any more, which state/dedupe_purge.py calls"
    )


def test_the_sensor_hooks_the_metrics_sensor_overrides() -> None:
    # streams/runtime/health.py MetricsSensor
    for hook, expected in (
        ("on_rebalance_start", ["self", "app"]),
        ("on_rebalance_return", ["self", "app", "state"]),
        ("on_rebalance_end", ["self", "app", "state"]),
        ("on_send_error", ["self", "producer", "exc", "state"]),
    ):
        assert params(getattr(Sensor, hook)) == expected, (
            f"faust changed Sensor.{hook}, which streams/runtime/health.py overrides"
        )


def test_the_worker_spinner_the_runner_disables() -> None:
    # streams/runtime/runner.py sets worker.spinner = None
    assert annotated(Worker, "spinner"), (
        "faust's Worker has no spinner attribute any more, which streams/runtime/runner.py "
        "disables: re-check the root logger's level in a worker"
    )
