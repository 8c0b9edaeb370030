"""The ACLs of each role: derived from the real topic and group names, none missing for
what the role's code touches, and printed or turned into Kafka ACL bindings."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.admin import (  # type: ignore[attr-defined]
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
)
from typer.testing import CliRunner

from streams.cli.main import app
from streams.delivery.archive import ArchiveTarget
from streams.delivery.erp import ErpTarget
from streams.delivery.inventory_api import InventoryApiTarget
from streams.delivery.loop import delivery_group
from streams.delivery.postgres import PostgresTarget
from streams.delivery.run import TARGETS
from streams.errors import ConfigError
from streams.kafka import topics as t
from streams.ops.acls import ROLES, Grant, bindings, leader_topic, role_grants
from streams.settings import Settings

pytestmark = pytest.mark.unit

SETTINGS = Settings(topic_prefix="acme", app_id="recon-acme")


def ops(role: str, resource: str = "topic") -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for g in role_grants(SETTINGS, role):  # type: ignore[arg-type]
        if g.resource == resource:
            out.setdefault(g.name, set()).add(g.operation)
    return out


def test_the_worker_reads_its_inputs_writes_its_outputs_and_uses_its_groups() -> None:
    topics = ops("worker")
    for raw in ("raw.pos", "raw.promotions", "raw.trades", "raw.confirmations", "raw.edi"):
        assert topics[f"acme.{raw}"] == {"READ"}
    for out in ("ledger", "dlq", "outcomes", "agreements", "matches", "exceptions"):
        assert topics[f"acme.{out}"] == {"WRITE"}
    for stage in ("matching.records", "matching.input", "threeway.input"):
        assert topics[f"acme.{stage}"] == {"READ", "WRITE"}
    # Window ticks go to the input topic of their agent: the worker writes them there.
    assert topics["acme.raw.claims"] == {"READ", "WRITE"}
    assert topics["acme.edi.acks.input"] == {"READ", "WRITE"}
    for out in ("claims.results", "claims.responses"):
        assert topics[f"acme.{out}"] == {"WRITE"}
    for table in t.TABLES:
        assert topics[f"recon-acme-{table}-changelog"] == {"READ", "WRITE"}
    assert topics[leader_topic(SETTINGS)] == {"CREATE", "READ", "WRITE"}
    assert "acme.manifests" not in topics  # the worker never touches the manifests
    assert ops("worker", "group") == {
        "recon-acme": {"READ"},
        "recon-acme-ledger-relay": {"READ"},
    }


def test_ingest_writes_feeds_and_may_not_read_anything() -> None:
    topics = ops("ingest")
    assert all("READ" not in operations for operations in topics.values())
    assert topics["acme.raw.pos"] == {"WRITE", "DESCRIBE_CONFIGS"}
    assert topics["acme.manifests"] == {"WRITE"}
    assert "acme.ledger" not in topics
    assert ops("ingest", "group") == {}


def test_delivery_reads_what_its_targets_deliver_in_their_own_groups() -> None:
    targets = (PostgresTarget, ErpTarget, ArchiveTarget, InventoryApiTarget)
    assert sorted(TARGETS) == sorted(target.name for target in targets)
    delivered = {SETTINGS.topic(name) for target in targets for name in target.topics}
    assert ops("delivery") == {**{name: {"READ"} for name in delivered}, "acme.dlq": {"WRITE"}}
    assert set(ops("delivery", "group")) == {
        delivery_group(SETTINGS, target.name) for target in targets
    }


def test_the_operator_can_create_and_read_every_topic() -> None:
    topics = ops("operator")
    for name in [*t.app_topic_names(SETTINGS), "acme.dlq.redriven"]:
        assert {"CREATE", "READ"} <= topics[name], name
    assert "WRITE" in topics["acme.raw.pos"] and "WRITE" not in topics["acme.ledger"]


@pytest.mark.parametrize("role", ROLES)
def test_grants_are_unique_and_sorted(role: str) -> None:
    grants = role_grants(SETTINGS, role)  # type: ignore[arg-type]
    keys = [(g.resource, g.name, g.operation) for g in grants]
    assert keys == sorted(set(keys))


def test_an_unknown_role_or_principal_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown role"):
        role_grants(SETTINGS, "admin")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="expected TYPE:NAME"):
        bindings([Grant("topic", "x", "READ", "")], "recon-worker")


def test_bindings_are_literal_allow_acls_for_the_principal() -> None:
    [binding] = bindings([Grant("group", "recon-acme", "READ", "why")], "User:w")
    assert binding.restype == ResourceType.GROUP
    assert binding.name == "recon-acme"
    assert binding.resource_pattern_type == ResourcePatternType.LITERAL
    assert (binding.principal, binding.host) == ("User:w", "*")
    assert binding.operation == AclOperation.READ
    assert binding.permission_type == AclPermissionType.ALLOW


def test_the_command_prints_each_role_from_the_settings_names() -> None:
    runner = CliRunner()
    args = ["--topic-prefix", "acme", "--app-id", "recon-acme", "topics", "acls"]
    done = runner.invoke(app, [*args, "--role", "worker", "--format", "json"])
    assert done.exit_code == 0, done.output
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert {r["role"] for r in rows} == {"worker"}
    assert len(rows) == len(role_grants(SETTINGS, "worker"))
    assert {
        "role": "worker",
        "resource": "topic",
        "name": "acme.ledger",
        "operation": "WRITE",
    }.items() <= rows[[r["name"] for r in rows].index("acme.ledger")].items()
    everything = runner.invoke(app, [*args])
    assert everything.exit_code == 0
    assert {line.split()[0] for line in everything.stdout.splitlines()[1:]} == set(ROLES)
    bad = runner.invoke(app, [*args, "--apply", "--role", "worker"])
    assert bad.exit_code == 1 and "--apply needs --role and --principal" in bad.output


def test_every_catalogued_topic_has_a_writer_and_a_reader_among_the_roles() -> None:
    # A topic added to the catalogue without its place in the roles fails here, not on a
    # secured cluster: the pipeline role that writes it (the operator for what only an
    # operator command writes), and some role that reads it.
    by_operator = {SETTINGS.topic(t.INVENTORY_AUDIT)}
    writes = {
        g.name
        for r in ("ingest", "worker")
        for g in role_grants(SETTINGS, r)
        if g.operation == "WRITE"
    } | {
        g.name
        for g in role_grants(SETTINGS, "operator")
        if g.operation == "WRITE" and g.name in by_operator
    }  # type: ignore[arg-type]
    reads = {g.name for r in ROLES for g in role_grants(SETTINGS, r) if g.operation == "READ"}
    for spec in t.CATALOGUE:
        assert SETTINGS.topic(spec.name) in writes, f"no role writes {spec.name}"
        assert SETTINGS.topic(spec.name) in reads, f"no role reads {spec.name}"
