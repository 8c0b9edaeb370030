"""The Kafka ACLs each role needs, derived from the real topic and group names (docs/security.md).

Roles are what a principal runs: ``worker`` (the Faust app, its outbox relay and
``--drain``), ``ingest`` (``recon ingest``), ``delivery`` (``recon deliver``, every target)
and ``operator`` (the other commands: topics, audit, DLQ, replay, redrive, trace, lag, group
reset, exports). Operations follow Kafka's semantics: READ, WRITE, DELETE and ALTER imply
DESCRIBE, so DESCRIBE is listed only where nothing implies it. No role uses transactions
(producers are idempotent, which needs only WRITE on a topic since Kafka 3.0, KIP-679),
so no transactional id and no cluster operation appears.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from confluent_kafka import KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)

from streams.delivery.loop import delivery_group
from streams.delivery.run import TARGETS
from streams.errors import ConfigError, KafkaOperationError
from streams.kafka import topics as t
from streams.kafka.clients import admin_client
from streams.ops.redrive import REDRIVEN
from streams.settings import Settings

Role = Literal["worker", "ingest", "delivery", "operator"]
ROLES: tuple[Role, ...] = get_args(Role)
Resource = Literal["topic", "group"]
Operation = Literal["READ", "WRITE", "CREATE", "DESCRIBE", "DESCRIBE_CONFIGS"]

RAW = (
    t.RAW_POS,
    t.RAW_PROMOTIONS,
    t.RAW_TRADES,
    t.RAW_CONFIRMATIONS,
    t.RAW_EDI,
    t.RAW_RATES,
    t.RAW_INVENTORY,
    t.RAW_CLAIMS,
)
INTERNAL = (t.MATCH_RECORDS, t.MATCH_INPUT, t.THREEWAY_INPUT, t.THREEWAY_IDENTITY)
# Written by the worker's agents and relay.
WORKER_OUTPUTS = (
    t.DLQ,
    t.OUTCOMES,
    t.AGREEMENTS,
    t.LEDGER,
    t.MATCHES,
    t.EXCEPTIONS,
    t.ACKS,
    t.RATES,
    t.INVENTORY,
    t.INVENTORY_LEDGER,
    t.CLAIM_RESULTS,
    t.CLAIM_RESPONSES,
    t.SCHEMAS,  # refilled at start: every schema version by its fingerprint
    *INTERNAL,
)
# The union of the targets' topics.
DELIVERY_INPUTS = (t.LEDGER, t.MATCHES, t.EXCEPTIONS, t.INVENTORY_LEDGER)


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW ACL: ``operation`` on a literal ``resource`` called ``name``."""

    resource: Resource
    name: str
    operation: Operation
    why: str


def leader_topic(settings: Settings) -> str:
    """The topic Faust's partition assignor creates at start (and then uses) by itself."""
    return f"{settings.app_id}-__assignor-__leader"


def _changelogs(settings: Settings) -> list[str]:
    return [t.changelog_topic(settings, table) for table in t.TABLES]


def _grants(
    resource: Resource, names: Iterable[str], operations: Iterable[Operation], why: str
) -> list[Grant]:
    return [Grant(resource, n, op, why) for n in names for op in operations]


def _worker(settings: Settings) -> list[Grant]:
    topic = settings.topic
    return [
        *_grants("topic", [topic(n) for n in RAW], ["READ"], "agents consume the raw feeds"),
        *_grants(
            "topic",
            [topic(n) for n in WORKER_OUTPUTS],
            ["WRITE"],
            "agents and the relay publish results",
        ),
        *_grants("topic", [topic(n) for n in INTERNAL], ["READ"], "agents consume stages"),
        *_grants(
            "topic", [topic(t.ACKS_INPUT)], ["READ", "WRITE"], "ack requests; the acks' ticks"
        ),
        *_grants("topic", [topic(t.RAW_CLAIMS)], ["WRITE"], "the claims agent's ticks"),
        *_grants(
            "topic",
            _changelogs(settings),
            ["READ", "WRITE"],
            "tables: changelog writes, restore, outbox relay",
        ),
        *_grants(
            "topic",
            [leader_topic(settings)],
            ["CREATE", "READ", "WRITE"],
            "Faust's assignor topic",
        ),
        *_grants("group", [settings.app_id], ["READ"], "the app's consumer group"),
        *_grants("group", [t.relay_group(settings)], ["READ"], "the outbox relay's group"),
    ]


def _ingest(settings: Settings) -> list[Grant]:
    topic = settings.topic
    checked = [*(topic(n) for n in RAW), topic(t.DLQ), topic(t.OUTCOMES)]
    return [
        *_grants("topic", [topic(n) for n in RAW], ["WRITE"], "raw records"),
        *_grants("topic", [topic(t.MANIFESTS)], ["WRITE"], "the run's manifest"),
        *_grants("topic", [topic(t.ACKS_INPUT)], ["WRITE"], "an ack request per X12 group"),
        *_grants(
            "topic",
            [topic(t.DLQ), topic(t.OUTCOMES)],
            ["WRITE"],
            "oversized records are dead-lettered at ingest",
        ),
        *_grants("topic", checked, ["DESCRIBE_CONFIGS"], "max.message.bytes of the topics"),
    ]


def _delivery(settings: Settings) -> list[Grant]:
    topic = settings.topic
    return [
        *_grants("topic", [topic(n) for n in DELIVERY_INPUTS], ["READ"], "what is delivered"),
        *_grants("topic", [topic(t.DLQ)], ["WRITE"], "entries a target rejects"),
        *_grants(
            "group",
            [delivery_group(settings, target) for target in TARGETS],
            ["READ"],
            "one consumer group per target",
        ),
    ]


def _operator(settings: Settings) -> list[Grant]:
    topic = settings.topic
    every = [*t.app_topic_names(settings), topic(REDRIVEN)]
    return [
        *_grants("topic", every, ["CREATE"], "recon topics create; redrive's marks topic"),
        *_grants("topic", every, ["READ"], "audit, dlq, trace, exports, replay"),
        *_grants(
            "topic",
            [*(topic(n) for n in RAW), topic(t.MANIFESTS), topic(REDRIVEN)],
            ["WRITE"],
            "replay and redrive republish raw records with a manifest",
        ),
        *_grants("topic", [topic(t.INVENTORY_AUDIT)], ["WRITE"], "recon inventory audit"),
        *_grants("topic", [topic(t.SCHEMAS)], ["WRITE"], "recon topics create publishes schemas"),
        *_grants("group", [settings.app_id], ["READ"], "lag; group reset moves its offsets"),
        *_grants("group", [t.relay_group(settings)], ["DESCRIBE"], "lag of the relay"),
        *_grants("group", [f"{settings.app_id}-reader"], ["READ"], "topic readers"),
    ]


_ROLE_GRANTS = {
    "worker": _worker,
    "ingest": _ingest,
    "delivery": _delivery,
    "operator": _operator,
}


def role_grants(settings: Settings, role: Role) -> list[Grant]:
    """The ACLs ``role`` needs, sorted, each once."""
    if role not in _ROLE_GRANTS:
        raise ConfigError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    unique = {(g.resource, g.name, g.operation): g for g in _ROLE_GRANTS[role](settings)}
    return sorted(unique.values())


def _principal(principal: str) -> str:
    kind, _, name = principal.partition(":")
    if not kind or not name:
        raise ConfigError(f"principal {principal!r}: expected TYPE:NAME, e.g. User:recon-worker")
    return principal


def bindings(grants: Iterable[Grant], principal: str, host: str = "*") -> list[AclBinding]:
    """The grants as confluent-kafka ACL bindings (ALLOW, literal names) for ``principal``."""
    principal = _principal(principal)
    types = {"topic": ResourceType.TOPIC, "group": ResourceType.GROUP}
    return [
        AclBinding(
            types[g.resource],
            g.name,
            ResourcePatternType.LITERAL,
            principal,
            host,
            AclOperation[g.operation],
            AclPermissionType.ALLOW,
        )
        for g in grants
    ]


def apply_acls(settings: Settings, role: Role, principal: str, timeout: float = 30.0) -> int:
    """Create the ACLs of ``role`` for ``principal`` (idempotent: Kafka keeps one copy of
    each) and wait until the broker enforces them; the connection's principal needs ALTER
    on the cluster. Returns how many."""
    grants = role_grants(settings, role)
    acls = bindings(grants, principal)
    admin = admin_client(settings)  # kept alive until its futures resolve
    futures = admin.create_acls(acls, request_timeout=timeout)
    for grant, binding in zip(grants, acls, strict=True):
        try:
            futures[binding].result()
        except KafkaException as exc:
            raise KafkaOperationError(
                f"cannot create ACL {grant.operation} on {grant.resource} {grant.name} "
                f"for {principal}: {exc}"
            ) from exc
    _wait_visible(admin, acls, principal, timeout)
    return len(acls)


def _wait_visible(admin: Any, acls: list[AclBinding], principal: str, timeout: float) -> None:
    # The controller commits the ACLs, then each broker's authorizer applies them from the
    # metadata log: a client that starts at once may still be refused. The broker answers
    # DescribeAcls from that same authorizer.
    # None matches any name and any host (confluent-kafka's stubs say str).
    mine = AclBindingFilter(
        ResourceType.ANY,
        None,  # type: ignore[arg-type]
        ResourcePatternType.ANY,
        principal,
        None,  # type: ignore[arg-type]
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    wanted = set(acls)
    deadline = time.monotonic() + timeout
    while True:
        try:
            present = set(admin.describe_acls(mine, request_timeout=timeout).result())
        except KafkaException as exc:
            raise KafkaOperationError(f"cannot describe the ACLs of {principal}: {exc}") from exc
        if wanted <= present:
            return
        if time.monotonic() > deadline:
            raise KafkaOperationError(
                f"{len(wanted - present)} ACLs of {principal} created but not in force after "
                f"{timeout:.0f} s"
            )
        time.sleep(0.1)
