"""The worker's consumer groups and local state: lag, offset resets, state rebuild.

- ``lags``: committed offset against the end of every partition, for the app's consumer
  group (the topics its agents consume) and for the ledger relay's group (the changelogs).
- ``reset_offsets``: move the app's group to the earliest offsets, to a time or to an
  offset. Only while no member is active (a running worker would overwrite the commits).
  Reprocessing is safe: records keep their correlation ids, so the engine recognises each
  as the owner of its dedupe mark and every state value skips offsets it already folded in.
- ``rebuild_state``: delete the local RocksDB state; the next worker start restores it
  from the changelogs (local state is a cache of the changelog). Only when no worker runs
  on this state directory.
"""

from __future__ import annotations

import errno
import fcntl
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from confluent_kafka import ConsumerGroupState, ConsumerGroupTopicPartitions, TopicPartition

from streams.errors import ReconError
from streams.kafka import topics as t
from streams.kafka.clients import admin_client, consumer
from streams.kafka.read import Lag, group_lag
from streams.settings import Settings

# Logical topics the app's agents consume (rebate and matching pipelines).
APP_INPUTS = (
    t.RAW_POS,
    t.RAW_PROMOTIONS,
    t.RAW_TRADES,
    t.RAW_CONFIRMATIONS,
    t.MATCH_RECORDS,
    t.MATCH_INPUT,
    t.RAW_EDI,
    t.THREEWAY_INPUT,
    t.THREEWAY_IDENTITY,
    t.RAW_INVENTORY,
)
WORKER_LOCK = "worker.lock"  # held (flock) by a running worker: see the runbook / report
ACTIVE_STATES = (
    ConsumerGroupState.STABLE,
    ConsumerGroupState.PREPARING_REBALANCING,
    ConsumerGroupState.COMPLETING_REBALANCING,
)


class GroupError(ReconError):
    """A group or state operation refused or failed."""


def _existing(settings: Settings, names: list[str], timeout: float) -> list[str]:
    existing = admin_client(settings).list_topics(timeout=timeout).topics
    return [name for name in names if name in existing]


def app_input_topics(settings: Settings, timeout: float = 10.0) -> list[str]:
    return _existing(settings, [settings.topic(n) for n in APP_INPUTS], timeout)


def changelog_topics(settings: Settings, timeout: float = 10.0) -> list[str]:
    names = [t.changelog_topic(settings, table) for table in t.TABLES]
    return _existing(settings, names, timeout)


@dataclass(frozen=True)
class GroupLag:
    group: str
    lag: Lag


def lags(settings: Settings) -> list[GroupLag]:
    """Lag of the app's group on its inputs, then of the relay's group on the changelogs."""
    out: list[GroupLag] = []
    for group, topics in (
        (settings.app_id, app_input_topics(settings)),
        (t.relay_group(settings), changelog_topics(settings)),
    ):
        if topics:
            out += [GroupLag(group, lag) for lag in group_lag(settings, group, topics)]
    return out


@dataclass(frozen=True)
class GroupInfo:
    group: str
    state: str
    members: list[str]  # "client_id@host"

    @property
    def active(self) -> bool:
        return bool(self.members)


def describe_group(settings: Settings, group: str, timeout: float = 10.0) -> GroupInfo:
    admin = admin_client(settings)  # keep a reference: futures never resolve without it
    futures = admin.describe_consumer_groups([group], request_timeout=timeout)
    desc = futures[group].result(timeout=timeout + 5)
    members = [f"{m.client_id}@{m.host}" for m in desc.members]
    state: ConsumerGroupState = desc.state
    if state in ACTIVE_STATES and not members:
        members = ["(rebalancing)"]
    return GroupInfo(group, state.name.lower(), members)


def refuse_if_active(settings: Settings, timeout: float = 30.0) -> None:
    """Raise unless the app's group is empty: a running worker would overwrite new commits."""
    info = describe_group(settings, settings.app_id, timeout)
    if info.active:
        raise GroupError(
            f"consumer group {info.group} is {info.state} with {len(info.members)} active "
            f"member(s) ({', '.join(info.members)}): stop every worker first, then retry"
        )


@dataclass(frozen=True)
class OffsetMove:
    topic: str
    partition: int
    committed: int | None
    target: int


def plan_reset(
    settings: Settings,
    *,
    to_earliest: bool = False,
    to_time: datetime | None = None,
    to_offset: int | None = None,
    topics: list[str] | None = None,
    timeout: float = 10.0,
) -> list[OffsetMove]:
    """Where each partition of the app's inputs (or ``topics``) would move to."""
    if sum((to_earliest, to_time is not None, to_offset is not None)) != 1:
        raise GroupError("give exactly one of --to-earliest, --to-time, --to-offset")
    if to_time is not None and to_time.tzinfo is None:
        raise GroupError(f"time {to_time.isoformat()} has no UTC offset (add Z or +00:00)")
    names = topics or app_input_topics(settings, timeout)
    if not names:
        raise GroupError("none of the app's input topics exist (run `recon topics create`)")
    current = {
        (lag.topic, lag.partition): lag.committed
        for lag in group_lag(settings, settings.app_id, names, timeout)
    }
    c = consumer(settings)
    try:
        tps = [TopicPartition(topic, p) for topic, p in sorted(current)]
        marks = {
            (tp.topic, tp.partition): c.get_watermark_offsets(tp, timeout=timeout) for tp in tps
        }
        if to_time is not None:
            millis = int(to_time.timestamp() * 1000)
            found = c.offsets_for_times(
                [TopicPartition(tp.topic, tp.partition, millis) for tp in tps], timeout=timeout
            )
            by_time = {(tp.topic, tp.partition): tp.offset for tp in found}
        moves = []
        for (topic, p), (low, high) in sorted(marks.items()):
            if to_earliest:
                target = low
            elif to_offset is not None:
                target = min(max(to_offset, low), high)
            else:
                found_at = by_time[(topic, p)]
                target = found_at if found_at >= 0 else high  # nothing after: the end
            moves.append(OffsetMove(topic, p, current.get((topic, p)), target))
        return moves
    finally:
        c.close()


def reset_offsets(settings: Settings, moves: list[OffsetMove], timeout: float = 30.0) -> None:
    """Commit ``moves`` for the app's group; refuses while the group has active members."""
    refuse_if_active(settings, timeout)
    request = ConsumerGroupTopicPartitions(
        settings.app_id, [TopicPartition(m.topic, m.partition, m.target) for m in moves]
    )
    admin = admin_client(settings)
    futures = admin.alter_consumer_group_offsets([request], request_timeout=timeout)
    for future in futures.values():
        try:
            future.result(timeout=timeout + 5)
        except Exception as exc:  # KafkaException, or a per-partition error
            raise GroupError(f"cannot reset the offsets of {settings.app_id}: {exc}") from exc


# -- local state ----------------------------------------------------------------------------


def _locked_by_other_process(path: Path) -> bool:
    """True if another process holds a lock on ``path``: ``flock`` (the worker lock) or a
    POSIX record lock (RocksDB's ``LOCK`` file of an open database)."""
    try:
        with path.open("a") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(f, fcntl.LOCK_UN)
                fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.lockf(f, fcntl.LOCK_UN)
            except OSError as exc:
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    return True
                raise
    except FileNotFoundError:
        return False
    return False


def running_worker_locks(settings: Settings) -> list[Path]:
    """Lock files of this state directory held by a running process."""
    candidates = [settings.state_dir / WORKER_LOCK]
    faust_dir = settings.state_dir / "faust"
    if faust_dir.exists():
        candidates += sorted(faust_dir.rglob("LOCK"))
    return [p for p in candidates if p.exists() and _locked_by_other_process(p)]


def rebuild_state(settings: Settings) -> list[Path]:
    """Delete the local table state so the next worker start restores it from the
    changelogs. Returns what was removed. Refuses while a worker uses the state dir."""
    held = running_worker_locks(settings)
    if held:
        raise GroupError(
            f"a worker is running on {settings.state_dir} (lock held on {held[0]}): "
            "stop it first (local state can only be dropped while no worker uses it)"
        )
    removed = []
    root = settings.state_dir / "faust"
    if root.exists():
        shutil.rmtree(root)
        removed.append(root)
    marker = settings.clean_shutdown_marker
    if marker.exists():
        marker.unlink()
        removed.append(marker)
    return removed
