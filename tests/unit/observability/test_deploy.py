"""The shipped alert rules and dashboard: valid for promtool, firing on the right series,
and querying only metrics the worker exposes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from streams.observability.metrics import Metrics
from tests.integration.prometheus_server import binary

pytestmark = pytest.mark.unit

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "recon-streams.json"
# Series names in PromQL: identifiers not followed by "(" (functions) and not label names,
# keywords or label values.
PROMQL_WORDS = {"by", "without", "and", "or", "unless", "on", "ignoring", "group_left",
                "group_right", "offset", "bool", "le"}


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary("promtool"), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_promtool_check_rules_passes() -> None:
    result = promtool("check", "rules", str(ALERTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 11 rules found" in result.stdout


def test_alerts_fire_on_their_series_and_not_on_healthy_ones() -> None:
    result = promtool("test", "rules", str(DEPLOY / "prometheus" / "alerts_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def series_names(expr: str) -> set[str]:
    without_strings = re.sub(r'"[^"]*"', '""', expr)
    without_labels = re.sub(r"\{[^}]*\}", "", without_strings)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_labels)
    without_grouping = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", without_ranges)
    without_calls = re.sub(r"[a-zA-Z_]+\s*\(", "(", without_grouping)
    names = set(re.findall(r"[a-zA-Z_:][\w:]*", without_calls))
    return {n for n in names if n not in PROMQL_WORDS}


def test_series_names_are_found_in_promql() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (stage, le) (rate(a_bucket{stage="x"}[5m]))) '
        "/ sum(rate(b_total[1m])) and on (topic) c > 0"
    )
    assert series_names(expr) == {"a_bucket", "b_total", "c"}


def dashboard_exprs() -> list[tuple[str, str]]:
    doc = json.loads(DASHBOARD.read_text())
    return [(panel["title"], t["expr"]) for panel in doc["panels"] for t in panel["targets"]]


def test_every_dashboard_panel_queries_exposed_metrics() -> None:
    exposed = Metrics().exposed_names() | {"up"}  # `up` is Prometheus' own scrape series
    exprs = dashboard_exprs()
    assert len(exprs) >= 10
    for title, expr in exprs:
        names = series_names(expr)
        assert names, f"panel {title!r}: no metric in {expr!r}"
        assert names <= exposed, f"panel {title!r}: {sorted(names - exposed)} not exposed"


def test_dashboard_covers_the_issue_panels() -> None:
    used = set().union(*(series_names(e) for _, e in dashboard_exprs()))
    for metric in (
        "recon_records_in_total",
        "recon_consumer_lag_records",
        "recon_end_to_end_latency_seconds_bucket",
        "recon_dlq_records_total",
        "recon_ledger_posted_amount",
        "recon_delivery_delivered_total",
        "recon_delivery_breaker_state",
        "recon_delivery_failed_total",
        "recon_delivery_rate_limited_seconds_total",
    ):
        assert metric in used


def test_alert_rules_query_exposed_metrics() -> None:
    exposed = Metrics().exposed_names() | {"up"}
    exprs = re.findall(r"expr: \|?\n?((?:.*\n)*?)\s+for:", ALERTS.read_text())
    assert len(exprs) == 10
    for expr in exprs:
        assert series_names(expr) <= exposed, expr
