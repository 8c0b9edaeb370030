"""deploy/k8s, offline: yamllint, Kubernetes' own schemas (kubernetes-validate's bundled
copies, strict: an unknown field fails), our schema for the PodMonitor (a CRD), and the
cross-references the schemas cannot see: probes on the endpoints the worker serves,
settings the app knows, selectors that select, commands that exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from typer.testing import CliRunner
from yamllint import linter
from yamllint.config import YamlLintConfig

from streams.cli.main import app as recon
from streams.observability.metrics import Metrics
from streams.observability.server import Health, wsgi_app
from streams.settings import Settings

pytestmark = pytest.mark.unit

K8S = Path(__file__).resolve().parents[3] / "deploy" / "k8s"
KUSTOMIZATION = K8S / "kustomization.yaml"
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != KUSTOMIZATION.name)
# The oldest Kubernetes release still supported upstream when these were written, and the
# newest the package bundles: a field added or removed in between fails one of them.
VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
POD_KINDS = {"Deployment", "StatefulSet", "Job"}

PODMONITOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PodMonitor"},
        "metadata": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"}
            },
        },
        "spec": {
            "type": "object",
            "required": ["selector", "podMetricsEndpoints"],
            "additionalProperties": False,
            "properties": {
                "jobLabel": {"type": "string"},
                "namespaceSelector": {"type": "object"},
                "selector": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "matchLabels": {
                            "type": "object",
                            "additionalProperties": {"type": "string"},
                            "minProperties": 1,
                        },
                        "matchExpressions": {"type": "array"},
                    },
                },
                "podMetricsEndpoints": {
                    "type": "array",
                    "minItems": 1,
                    "items": {
                        "type": "object",
                        "required": ["port"],
                        "additionalProperties": False,
                        "properties": {
                            "port": {"type": "string"},
                            "path": {"type": "string", "pattern": "^/"},
                            "scheme": {"enum": ["http", "https"]},
                            "interval": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                            "scrapeTimeout": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h)$"},
                            "honorLabels": {"type": "boolean"},
                            "relabelings": {"type": "array"},
                            "metricRelabelings": {"type": "array"},
                        },
                    },
                },
            },
        },
    },
}


def documents() -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in MANIFESTS:
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                found.append((path, doc))
    return found


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in documents() if doc["kind"] == kind]


def one(kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in of_kind(kind) if d["metadata"]["name"] == name]
    return doc


def pod_templates() -> list[tuple[str, dict[str, Any]]]:
    return [
        (doc["metadata"]["name"], doc["spec"]["template"])
        for _, doc in documents()
        if doc["kind"] in POD_KINDS
    ]


def containers() -> list[tuple[str, dict[str, Any]]]:
    return [(name, c) for name, tpl in pod_templates() for c in tpl["spec"]["containers"]]


def test_yamllint_passes_on_every_file() -> None:
    config = YamlLintConfig(file=str(K8S / ".yamllint"))
    problems = [
        f"{path.name}:{p.line}:{p.column} {p.message}"
        for path in [*MANIFESTS, KUSTOMIZATION]
        for p in linter.run(path.read_text(encoding="utf-8"), config, str(path))
    ]
    assert problems == []


def test_kustomization_lists_every_manifest() -> None:
    listed = yaml.safe_load(KUSTOMIZATION.read_text(encoding="utf-8"))["resources"]
    assert sorted(listed) == [p.name for p in MANIFESTS]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_builtin_resource_fits_the_kubernetes_schema(version: str) -> None:
    checked = 0
    for path, doc in documents():
        if doc["apiVersion"].startswith("monitoring.coreos.com/"):
            continue  # a CRD: checked against our schema below
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name}: {doc['kind']} {doc['metadata']['name']}: {exc.message}")
        checked += 1
    assert checked >= 10


def test_the_strict_validation_refuses_an_unknown_field() -> None:
    doc = one("StatefulSet", "recon-worker")
    bad = {**doc, "spec": {**doc["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, VERSIONS[0], strict=True)


def test_the_podmonitor_fits_its_schema_and_selects_the_metrics_ports() -> None:
    (monitor,) = of_kind("PodMonitor")
    jsonschema.validate(monitor, PODMONITOR_SCHEMA)
    wanted = monitor["spec"]["selector"]["matchLabels"]
    ports = {e["port"] for e in monitor["spec"]["podMetricsEndpoints"]}
    scraped = {
        name
        for name, tpl in pod_templates()
        if wanted.items() <= tpl["metadata"]["labels"].items()
        and any(p["name"] in ports for c in tpl["spec"]["containers"] for p in c.get("ports", []))
    }
    assert scraped == {
        "recon-worker",
        "recon-deliver-postgres",
        "recon-deliver-erp",
        "recon-deliver-archive",
    }
    with pytest.raises(jsonschema.ValidationError):
        broken = {**monitor, "spec": {**monitor["spec"], "podMetricsEndpoints": [{"path": "/x"}]}}
        jsonschema.validate(broken, PODMONITOR_SCHEMA)


def served(path: str, ready: bool) -> str:
    health = Health(stall_seconds=30)
    health.ready = ready
    statuses: list[str] = []
    wsgi_app(Metrics(), health)({"PATH_INFO": path}, lambda s, h: statuses.append(s))
    return statuses[0]


def test_probes_use_the_endpoints_the_process_serves_on_its_metrics_port() -> None:
    assert served("/healthz", ready=False).startswith("200")
    assert served("/readyz", ready=False).startswith("503")
    assert served("/readyz", ready=True).startswith("200")
    config = one("ConfigMap", "recon-config")["data"]
    probed = 0
    for name, c in containers():
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            if kind in c:
                get = c[kind]["httpGet"]
                assert get["path"] == ("/readyz" if kind == "readinessProbe" else "/healthz")
                assert ports[get["port"]] == int(config["RECON_METRICS_PORT"]), name
                probed += 1
        if ports:
            assert "livenessProbe" in c and "readinessProbe" in c, name
    assert probed >= 9


def test_config_and_secret_keys_are_settings_the_app_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    config = one("ConfigMap", "recon-config")["data"]
    secret = one("Secret", "recon-secrets")["stringData"]
    known = {f"RECON_{name.upper()}" for name in Settings.model_fields} | {
        "KAFKA_BOOTSTRAP_SERVERS"
    }
    assert set(config) - known == set()
    assert set(secret) - known == set()
    for key, value in {**config, **secret}.items():
        monkeypatch.setenv(key, value)
    settings = Settings()  # every value parses
    assert settings.table_standby_replicas >= 1
    assert str(settings.home) == "/var/lib/recon"


def test_worker_state_survives_on_its_claim_and_fits_the_measured_memory() -> None:
    worker = one("StatefulSet", "recon-worker")
    (claim,) = worker["spec"]["volumeClaimTemplates"]
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    home = one("ConfigMap", "recon-config")["data"]["RECON_HOME"]
    assert mounts[claim["metadata"]["name"]] == home
    # docs/benchmark.md: 479 MB peak for one worker over 1M lines, 1,580 MB for one of two.
    resources = container["resources"]
    assert mebibytes(resources["requests"]["memory"]) >= 480
    assert mebibytes(resources["limits"]["memory"]) >= 1_600
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 30


def mebibytes(quantity: str) -> float:
    units = {"Mi": 1.0, "Gi": 1024.0, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    raise AssertionError(f"unexpected memory quantity {quantity!r}")


def test_the_disruption_budget_and_the_service_select_the_workers() -> None:
    labels = one("StatefulSet", "recon-worker")["spec"]["template"]["metadata"]["labels"]
    pdb = one("PodDisruptionBudget", "recon-worker")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["maxUnavailable"] == 1
    service = one("Service", "recon-worker")
    assert service["spec"]["selector"].items() <= labels.items()
    assert one("StatefulSet", "recon-worker")["spec"]["serviceName"] == "recon-worker"


def test_every_container_runs_a_recon_command_that_exists() -> None:
    runner = CliRunner()
    commands = set()
    for name, c in containers():
        assert c["image"] == "recon-streams", name
        result = runner.invoke(recon, [*c["args"], "--help"])
        assert result.exit_code == 0, f"{name}: recon {' '.join(c['args'])}: {result.output}"
        commands.add(" ".join(c["args"]))
    assert commands == {
        "topics create",
        "worker",
        "deliver postgres",
        "deliver erp",
        "deliver archive",
    }
