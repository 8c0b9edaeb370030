"""The catalogue of topics the app uses, and their idempotent creation."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from confluent_kafka import KafkaException
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    ConfigResource,
    NewTopic,
    ResourceType,
)

from streams.errors import KafkaOperationError
from streams.kafka.clients import admin_client
from streams.settings import Settings


@dataclass(frozen=True)
class TopicSpec:
    name: str
    compacted: bool
    purpose: str


# Logical names; the real name is ``<prefix>.<name>`` (Settings.topic).
RAW_POS = "raw.pos"
RAW_PROMOTIONS = "raw.promotions"
AGREEMENTS = "agreements"
LEDGER = "ledger"
DLQ = "dlq"
OUTCOMES = "outcomes"
MANIFESTS = "manifests"
STATE_TABLE = "rebate-state"
RAW_TRADES = "raw.trades"
RAW_CONFIRMATIONS = "raw.confirmations"
MATCH_RECORDS = "matching.records"
MATCH_INPUT = "matching.input"
MATCHES = "matches"
EXCEPTIONS = "exceptions"
RECORDS_TABLE = "match-records"
GROUPS_TABLE = "match-groups"
RAW_EDI = "raw.edi"
THREEWAY_INPUT = "threeway.input"
THREEWAY_TABLE = "threeway-orders"
THREEWAY_IDENTITY = "threeway.identity"
IDENTITY_TABLE = "threeway-identities"
SCHEMAS = "schemas"
ACKS_INPUT = "edi.acks.input"
ACKS = "acks"
ACKS_TABLE = "edi-acks"
RAW_RATES = "raw.rates"
RATES = "rates"
RAW_INVENTORY = "raw.inventory"
INVENTORY = "inventory"
INVENTORY_LEDGER = "inventory.ledger"
INVENTORY_AUDIT = "inventory.audit"
INVENTORY_TABLE = "inventory-assets"
RAW_CLAIMS = "raw.claims"
CLAIM_RESULTS = "claims.results"
CLAIM_RESPONSES = "claims.responses"
TABLES = (
    STATE_TABLE,
    RECORDS_TABLE,
    GROUPS_TABLE,
    THREEWAY_TABLE,
    ACKS_TABLE,
    INVENTORY_TABLE,
    IDENTITY_TABLE,
)

CATALOGUE: tuple[TopicSpec, ...] = (
    TopicSpec(RAW_POS, False, "raw POS sales lines as read from CSV, keyed by vendor"),
    TopicSpec(RAW_PROMOTIONS, False, "raw promotion agreement rows, keyed by vendor"),
    TopicSpec(AGREEMENTS, True, "master data: current version of each valid agreement"),
    TopicSpec(LEDGER, False, "Avro journal entries (rebate accruals), keyed by agreement"),
    TopicSpec(DLQ, False, "dead-lettered records: original bytes plus category and error"),
    TopicSpec(OUTCOMES, True, "one outcome per raw record (applied/duplicate/dead_lettered)"),
    TopicSpec(MANIFESTS, True, "one summary per ingest run: rows read and published"),
    TopicSpec(RAW_TRADES, False, "raw trade captures as read from CSV, keyed by match group"),
    TopicSpec(RAW_CONFIRMATIONS, False, "raw counterparty confirmations, keyed by match group"),
    TopicSpec(MATCH_RECORDS, False, "internal: raw trades/confirmations keyed by record id"),
    TopicSpec(MATCH_INPUT, False, "internal: record versions and window ticks, by match group"),
    TopicSpec(MATCHES, False, "Avro matched/unmatched pair events, keyed by pair id"),
    TopicSpec(EXCEPTIONS, False, "Avro matching exceptions opened/resolved, keyed by id"),
    TopicSpec(RAW_EDI, False, "X12 transaction sets (Avro edi_document), keyed by PO number"),
    TopicSpec(THREEWAY_INPUT, False, "internal: raw.edi re-published with window ticks"),
    TopicSpec(SCHEMAS, True, "every Avro schema version, keyed by its 64-bit fingerprint"),
    TopicSpec(ACKS_INPUT, False, "internal: ack requests of X12 groups read, by partner"),
    TopicSpec(ACKS, False, "X12 997/999/TA1 we send, keyed by partner (docs/edi-controls.md)"),
    TopicSpec(RAW_RATES, False, "raw freight rate table rows, keyed by carrier (210:<SCAC>)"),
    TopicSpec(RATES, True, "master data: current version of each freight rate row"),
    TopicSpec(RAW_INVENTORY, False, "raw lab inventory manifest rows (CSV text), keyed by asset"),
    TopicSpec(INVENTORY, True, "current inventory per asset (asset_id:grant_code), JSON"),
    TopicSpec(INVENTORY_LEDGER, False, "every change of the inventory, one JSON event each"),
    TopicSpec(INVENTORY_AUDIT, True, "one JSON audit record per manifest chunk (SHA-256, counts)"),
    TopicSpec(RAW_CLAIMS, False, "raw vendor claim headers and lines (CSV rows), keyed by vendor"),
    TopicSpec(CLAIM_RESULTS, False, "JSON claim version results, exceptions, settlements"),
    TopicSpec(CLAIM_RESPONSES, False, "X12 849 responses to the 844 claims read, by vendor"),
    TopicSpec(THREEWAY_IDENTITY, False, "internal: 810s and 210s of raw.edi keyed by identity"),
)


def changelog_topic(settings: Settings, table: str) -> str:
    """Faust's name for a table's changelog topic."""
    return f"{settings.app_id}-{table}-changelog"


def relay_group(settings: Settings) -> str:
    """Consumer group of the ledger relay (reads the state changelog)."""
    return f"{settings.app_id}-ledger-relay"


def all_topics(settings: Settings) -> list[NewTopic]:
    retention = str(settings.retention_ms)
    topics = [
        NewTopic(
            settings.topic(spec.name),
            num_partitions=settings.partitions,
            replication_factor=settings.replication_factor,
            config={"cleanup.policy": "compact"}
            if spec.compacted
            else {"cleanup.policy": "delete", "retention.ms": retention},
        )
        for spec in CATALOGUE
    ]
    topics += [
        NewTopic(
            changelog_topic(settings, table),
            num_partitions=settings.partitions,
            replication_factor=settings.replication_factor,
            config={"cleanup.policy": "compact"},
        )
        for table in TABLES
    ]
    return topics


def create_topics(settings: Settings, timeout: float = 30.0) -> dict[str, str]:
    """Create every topic; existing ones are left alone. Returns name -> 'created'|'exists'."""
    admin = admin_client(settings)
    wanted = all_topics(settings)
    existing = set(admin.list_topics(timeout=timeout).topics)
    result = {t.topic: "exists" for t in wanted if t.topic in existing}
    todo = [t for t in wanted if t.topic not in existing]
    if not todo:
        return result
    futures = admin.create_topics(todo, operation_timeout=timeout, request_timeout=timeout)
    for name, future in futures.items():
        try:
            future.result()
            result[name] = "created"
        except KafkaException as exc:
            if exc.args and exc.args[0].code() == 36:  # TOPIC_ALREADY_EXISTS: a concurrent create
                result[name] = "exists"
            else:
                raise KafkaOperationError(f"cannot create topic {name}: {exc}") from exc
    # The controller has created them, but a broker's metadata may lag behind it (under
    # load, seconds): return only once they are visible, so the next client finds them.
    deadline = time.monotonic() + timeout
    while not {t.topic for t in todo} <= set(admin.list_topics(timeout=timeout).topics):
        if time.monotonic() > deadline:
            raise KafkaOperationError(f"topics created but not visible after {timeout:.0f} s")
        time.sleep(0.1)
    return result


def max_message_bytes(settings: Settings, *names: str, timeout: float = 15.0) -> int:
    """The smallest ``max.message.bytes`` of the topics ``names`` (the broker's default for
    a topic that sets none)."""
    resources = [ConfigResource(ResourceType.TOPIC, name) for name in names]
    admin = admin_client(settings)  # kept alive until the futures are resolved
    futures = admin.describe_configs(resources, request_timeout=timeout)
    limits: list[int] = []
    for resource, future in futures.items():
        try:
            limits.append(int(future.result()["max.message.bytes"].value))
        except (KafkaException, KeyError, ValueError) as exc:
            raise KafkaOperationError(
                f"cannot read max.message.bytes of topic {resource.name}: {exc}"
            ) from exc
    return min(limits)


def app_topic_names(settings: Settings) -> list[str]:
    return [t.topic for t in all_topics(settings)]


def reset_app(settings: Settings, timeout: float = 30.0) -> None:
    """Delete the app's topics and consumer groups (demo and test resets only)."""
    admin = admin_client(settings)
    existing = set(admin.list_topics(timeout=timeout).topics)
    doomed = [name for name in app_topic_names(settings) if name in existing]
    if doomed:
        for name, future in admin.delete_topics(doomed, operation_timeout=timeout).items():
            try:
                future.result()
            except KafkaException as exc:
                raise KafkaOperationError(f"cannot delete topic {name}: {exc}") from exc
    groups = [settings.app_id, relay_group(settings)]
    for future in admin.delete_consumer_groups(groups, request_timeout=timeout).values():
        with contextlib.suppress(KafkaException):  # a group that never existed
            future.result()
    deadline = time.monotonic() + timeout
    while set(doomed) & set(admin.list_topics(timeout=timeout).topics):
        if time.monotonic() > deadline:
            raise KafkaOperationError(f"topics still being deleted after {timeout:.0f} s")
        time.sleep(0.2)
