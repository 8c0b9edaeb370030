"""Every metric recon-streams exposes, as one typed container around its own registry.

A ``Metrics`` is created by whoever runs (the worker, an ingest or replay run) and passed
down; nothing registers at import time, so tests and one-shot commands get fresh,
independent registries. Names follow Prometheus conventions: ``recon_`` prefix, base units
(seconds, records), ``_total`` on counters (prometheus-client appends it).

Label meanings:

- ``stage`` of records in/out: ``ingest``, ``replay``, ``redrive`` (one-shot publishers),
  ``process`` (the agents), ``relay`` (the outbox relay to the ledger); of DLQ records: the
  error's stage (parse, validate, compute...); of latency: the output reached (outcome, dlq,
  agreement, ledger).
- ``topic``: the real Kafka topic name.
- ``target`` of delivery metrics: ``postgres`` or ``erp`` (`recon deliver TARGET`).
"""

from __future__ import annotations

from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics import MetricWrapperBase

# End-to-end latency spans milliseconds (a live stream) to minutes (a backlog after a restart).
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
PROCESSING_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
DURATION_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)

PARTITION_LABELS = ("group", "topic", "partition")

M = TypeVar("M", bound=MetricWrapperBase)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = r = registry or CollectorRegistry()
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.records_in = Counter(
            "recon_records_in",
            "Records read, per topic and stage.",
            ["topic", "stage"],
            registry=r,
        )
        self.records_out = Counter(
            "recon_records_out",
            "Records published, per topic and stage.",
            ["topic", "stage"],
            registry=r,
        )
        self.outcomes = Counter(
            "recon_outcomes",
            "Decided records, per source topic and outcome.",
            ["topic", "outcome"],
            registry=r,
        )
        self.outcome_revisions = Counter(
            "recon_outcome_revisions",
            "Earlier records whose outcome a later one changed (a copy applied before the "
            "original of its business identity arrived), per source topic and new outcome.",
            ["topic", "outcome"],
            registry=r,
        )
        self.duplicates_skipped = Counter(
            "recon_duplicates_skipped",
            "Valid records skipped as duplicates, per source topic.",
            ["topic"],
            registry=r,
        )
        self.dlq_records = Counter(
            "recon_dlq_records",
            "Records dead-lettered, per category and error stage.",
            ["category", "stage"],
            registry=r,
        )
        self.dedupe_marks_purged = Counter(
            "recon_dedupe_marks_purged",
            "Dedupe marks deleted because their sale is beyond the dedupe horizon, per table.",
            ["table"],
            registry=r,
        )
        self.consumer_lag = Gauge(
            "recon_consumer_lag_records",
            "Records between the committed offset and the end.",
            PARTITION_LABELS,
            registry=r,
        )
        self.committed_offset = Gauge(
            "recon_consumer_committed_offset",
            "Committed offset per partition (progress).",
            PARTITION_LABELS,
            registry=r,
        )
        self.latency = Histogram(
            "recon_end_to_end_latency_seconds",
            "From the ingest header timestamp to the output record, per output stage.",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.record_processing = Histogram(
            "recon_record_processing_seconds",
            "Time an agent spends on one record.",
            ["agent"],
            buckets=PROCESSING_BUCKETS,
            registry=r,
        )
        self.batch_processing = Histogram(
            "recon_batch_processing_seconds",
            "Time to process one consumed batch.",
            ["component"],
            buckets=PROCESSING_BUCKETS,
            registry=r,
        )
        self.state_writes = Counter(
            "recon_state_writes",
            "Table writes (changelog records) flushed by agent batches.",
            ["agent"],
            registry=r,
        )
        self.table_keys = Gauge(
            "recon_table_keys",
            "Keys held in a state table on this worker.",
            ["table"],
            registry=r,
        )
        self.rebalance_duration = Histogram(
            "recon_rebalance_duration_seconds",
            "Consumer group rebalances, start to end.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.recovery_duration = Histogram(
            "recon_recovery_duration_seconds",
            "Table recovery from the changelogs.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.producer_retries = Counter(
            "recon_producer_retries",
            "Produce requests retried by the client library.",
            ["client"],
            registry=r,
        )
        self.producer_errors = Counter(
            "recon_producer_errors", "Messages whose delivery failed.", ["client"], registry=r
        )
        self.ledger_posted = Gauge(
            "recon_ledger_posted_amount",
            "Net amount of the ledger entries published, in units of the currency "
            "(reversals are negative, so it can fall).",
            ["currency"],
            registry=r,
        )
        self.ledger_entries = Counter(
            "recon_ledger_entries",
            "Ledger entries published, per currency and kind.",
            ["currency", "kind"],
            registry=r,
        )
        self.delivered = Counter(
            "recon_delivery_delivered",
            "Ledger entries the target accepted, per target.",
            ["target"],
            registry=r,
        )
        self.delivery_retried = Counter(
            "recon_delivery_retried",
            "Calls to the target retried after a transient failure.",
            ["target"],
            registry=r,
        )
        self.delivery_failed = Counter(
            "recon_delivery_failed",
            "Ledger entries dead-lettered by delivery, per category.",
            ["target", "category"],
            registry=r,
        )
        self.breaker_state = Gauge(
            "recon_delivery_breaker_state",
            "Circuit breaker of a target: 0 closed, 1 half-open, 2 open (partitions paused).",
            ["target"],
            registry=r,
        )
        self.breaker_opened = Counter(
            "recon_delivery_breaker_opened",
            "Times the target's breaker opened.",
            ["target"],
            registry=r,
        )
        self.rate_limited = Counter(
            "recon_delivery_rate_limited_seconds",
            "Time delivery waited for the target's rate limit.",
            ["target"],
            registry=r,
        )
        self.delivery_batch = Histogram(
            "recon_delivery_batch_seconds",
            "Time to deliver and commit one batch.",
            ["target"],
            buckets=PROCESSING_BUCKETS,
            registry=r,
        )
        self.ledger_check_differences = Gauge(
            "recon_ledger_check_differences",
            "(agreement, period, currency) rows where a target differs from the ledger topic, "
            "at the last `recon ledger check`.",
            ["target"],
            registry=r,
        )
        # Lab inventory manifests (docs/inventory.md): rows decided and rows quarantined,
        # per grant prefix (NIH, NSF, DOE, DOD, EPA, or other: a bounded label).
        self.inventory_rows = Counter(
            "recon_inventory_rows",
            "Inventory manifest rows decided, per outcome and grant prefix.",
            ["outcome", "grant_prefix"],
            registry=r,
        )
        self.inventory_quarantined = Counter(
            "recon_inventory_quarantined",
            "Inventory manifest rows quarantined, per DLQ category and grant prefix.",
            ["category", "grant_prefix"],
            registry=r,
        )
        self.inventory_alert_share = Gauge(
            "recon_inventory_quarantine_alert_share",
            "The share of quarantined inventory "
            "rows above which the quarantine alert fires (RECON_INVENTORY_QUARANTINE_ALERT_"
            "SHARE).",
            registry=r,
        )
        self.ready = Gauge(
            "recon_worker_ready",
            "1 while the assigned partitions are restored, else 0.",
            registry=r,
        )
        self.run_duration = Gauge(
            "recon_run_duration_seconds",
            "Duration of the last one-shot run.",
            ["command"],
            registry=r,
        )
        self.run_finished = Gauge(
            "recon_run_last_finished_timestamp_seconds",
            "When the last one-shot run ended.",
            ["command"],
            registry=r,
        )

    def child(self, metric: M, *labels: str) -> M:
        """``metric.labels(*labels)``, looked up once: prometheus-client takes a lock and
        rebuilds the label tuple on every ``labels`` call, several times per record."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found  # type: ignore[no-any-return]

    def exposed_names(self) -> set[str]:
        """Every series name this registry can expose (with _total, _bucket... suffixes)."""
        suffixes = {
            "counter": ("_total", "_created"),
            "histogram": ("_bucket", "_count", "_sum", "_created"),
            "gauge": ("",),
        }
        return {
            family.name + suffix
            for family in self.registry.collect()
            for suffix in suffixes.get(family.type, ("",))
        }
