"""One settings model for every command, read from the environment (and CLI flags)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_DEDUPE_HORIZON_DAYS = 7  # shorter would refuse ordinary late-arriving sales
MAX_DEDUPE_HORIZON_DAYS = 36_500

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Settings(BaseSettings):
    """All knobs of recon-streams.

    Environment variables use the ``RECON_`` prefix (``RECON_PARTITIONS=12``), except
    ``KAFKA_BOOTSTRAP_SERVERS`` which is honoured as-is so that an existing cluster can be
    used instead of the embedded local broker.
    """

    model_config = SettingsConfigDict(
        env_prefix="RECON_", frozen=True, extra="ignore", populate_by_name=True
    )

    bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "RECON_BOOTSTRAP_SERVERS"),
        description="Existing cluster to use; unset means the embedded local broker.",
    )
    home: Path = Field(default=Path(".recon"), description="Local state, broker data, pid files.")

    # Connection security of every Kafka client (docs/security.md): confluent-kafka's
    # producers, consumers and admin clients and Faust's aiokafka clients alike. The
    # password is a SecretStr: masked in reprs, logs and settings dumps.
    kafka_security_protocol: SecurityProtocol = "PLAINTEXT"
    kafka_sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_ca_file: Path | None = Field(
        default=None, description="CA bundle that signed the brokers; unset: the system's."
    )
    kafka_ssl_cert_file: Path | None = Field(default=None, description="mTLS client cert.")
    kafka_ssl_key_file: Path | None = Field(default=None, description="mTLS client key.")
    kafka_ssl_key_password: SecretStr | None = None
    kafka_ssl_check_hostname: bool = Field(
        default=True, description="Verify the broker's certificate names its host."
    )
    kafka_auth_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Longest wait for a first authenticated answer."
    )

    # Topics
    topic_prefix: str = "recon"
    partitions: int = Field(default=6, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    retention_ms: int = Field(default=-1, description="Retention of raw and output topics.")

    # Ingest: a POS feed is published in chunks of lines of one partition (docs/design.md,
    # "Chunked raw records"); 1 publishes one message per line, as a till would.
    ingest_chunk_records: int = Field(
        default=500, ge=1, le=1 << 16, description="Most POS lines in one Kafka message."
    )
    ingest_chunk_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="Most bytes of lines in one Kafka message (at most half the record limit).",
    )
    ingest_chunk_linger_ms: float = Field(
        default=50.0, gt=0, description="Longest a line waits for its chunk to fill."
    )
    # A record whose Kafka message would be larger than this (or than its raw topic's
    # max.message.bytes, whichever is smaller) is dead-lettered at ingest as
    # oversized_record (docs/domain.md §2) instead of failing the run. At most librdkafka's
    # message.max.bytes, which every producer of the pipeline uses; at least what a dead
    # letter needs.
    max_record_bytes: int = Field(default=1_000_000, ge=65_536, le=1_000_000)

    # Worker
    app_id: str = "recon-streams"
    drain_idle_seconds: float = Field(default=1.5, gt=0)
    drain_timeout_seconds: float = Field(default=600.0, gt=0)
    commit_interval_seconds: float = Field(default=1.0, gt=0)
    # Agents take records in batches: the state is written once per key per batch, which
    # is most of the cost of a record. A batch waits at most agent_batch_seconds to fill.
    agent_batch_max: int = Field(default=1000, ge=1, description="Messages per agent batch.")
    # A batch is decided, written and flushed in parts of at most this many records (a
    # chunk counts its lines): a part settles its postings once per (agreement, period),
    # so larger parts mean fewer ledger entries and fewer writes, and bound the memory and
    # the time a part holds the event loop.
    agent_part_records: int = Field(
        default=10_000, ge=1, description="Most records decided before their outputs flush."
    )
    agent_batch_seconds: float = Field(
        default=0.05, gt=0, description="Longest wait for an agent batch to fill."
    )
    # RocksDB memory of each state table. Faust's defaults give every partition's database
    # its own 2 GB block cache and up to 3 x 64 MB memtables: with a few million keys, a
    # worker's RSS grows past any sensible pod limit. The cache is split over the partitions.
    state_cache_mb: int = Field(
        default=64, ge=1, description="RocksDB block cache per state table (all partitions)."
    )
    state_write_buffer_mb: int = Field(
        default=8, ge=1, description="RocksDB memtable size per partition database (2 at most)."
    )
    # How long the group coordinator keeps a silent member (a worker killed with kill -9,
    # OOM, a lost host) before handing its partitions to the others. Faust's default of
    # 60 s stalls every restart after a crash for that long. Heartbeats come from
    # aiokafka's own thread, so a busy event loop does not miss them; too short a timeout
    # would still evict a worker on a long GC pause or a network hiccup (a rebalance, not a
    # loss: the books are idempotent). Heartbeats go every third of it.
    session_timeout_seconds: float = Field(default=10.0, ge=6.0, le=90.0)
    # Dedupe horizon (docs/domain.md §1.3): sales dated more than this many days before
    # today (UTC) are refused (DLQ invalid_value), and their dedupe marks are purged, so the
    # state stops growing with every applied record. 800 days = a financial year, a year of
    # audit and a margin. 0 keeps every mark forever and refuses nothing.
    dedupe_horizon_days: int = Field(default=800, ge=0, le=MAX_DEDUPE_HORIZON_DAYS)
    # Standby replicas (docs/deploy.md): each table partition is also kept up to date, from
    # its changelog, on this many other workers, so the one that takes it over after a crash
    # reads only the records it had not yet applied instead of the whole partition.
    table_standby_replicas: int = Field(
        default=0, ge=0, description="Workers holding a warm copy of each table partition."
    )
    dedupe_purge_interval_seconds: float = Field(
        default=3600.0, gt=0, description="How often a worker purges marks beyond the horizon."
    )

    # Observability
    metrics_host: str = Field(default="0.0.0.0", description="Interface of /metrics, /healthz.")
    metrics_port: int = Field(default=9108, ge=0, description="0: any free port (logged).")
    metrics_interval_seconds: float = Field(
        default=10.0, gt=0, description="How often lag and table sizes are sampled."
    )
    liveness_stall_seconds: float = Field(
        default=30.0, gt=0, description="/healthz fails when the event loop stalls this long."
    )
    log_format: Literal["auto", "json", "text"] = Field(
        default="auto", description="auto: JSON lines unless stderr is a terminal."
    )
    # Data contract (docs/data-contract.md): with a registry, outputs use the Confluent wire
    # format (schema ids registered there); without one, Avro single-object encoding.
    schema_registry_url: str | None = Field(
        default=None, description="Confluent Schema Registry; unset: single-object encoding."
    )
    avro_framing: Literal["single_object", "bare"] = Field(
        default="single_object",
        description="bare: write unframed bodies, while readers of an older release still run.",
    )
    pushgateway_url: str | None = Field(
        default=None, description="Pushgateway for one-shot commands (ingest, replay)."
    )

    # Trade matching (docs/domain.md §4, docs/matching.md)
    match_quantity_tolerance: Decimal = Field(default=Decimal("0"), ge=0)
    match_price_tolerance: Decimal = Field(default=Decimal("0.01"), ge=0)
    match_time_tolerance_seconds: float = Field(default=300.0, ge=0)
    match_allowed_lateness_seconds: float = Field(
        default=3600.0, ge=0, description="Event time a window stays open past its record."
    )
    match_window_timeout_seconds: float = Field(
        default=3600.0, gt=0, description="Wall-clock close, so a quiet feed still closes."
    )
    match_tick_seconds: float = Field(default=10.0, gt=0, description="Window-close tick period.")
    match_own_parties: str = Field(
        default="",
        description="Our party ids (comma-separated): the other side of a record "
        "is its counterparty in exception exports.",
    )
    close_windows_at_end_of_input: bool = Field(
        default=False, description="`worker --drain`: end of input closes every window (batch)."
    )

    # Three-way match of EDI documents (docs/domain.md §5, docs/threeway.md)
    threeway_price_tolerance_amount: Decimal = Field(
        default=Decimal("0.01"), ge=0, description="Max |invoice - PO| unit price, money."
    )
    threeway_price_tolerance_percent: Decimal = Field(
        default=Decimal("1"), ge=0, description="Max |invoice - PO| unit price, % of PO price."
    )
    threeway_window_seconds: float = Field(
        default=86400.0,
        gt=0,
        description="Wait after an invoice arrives for its PO and ASN: then missing_document.",
    )
    freight_rate_tolerance: Decimal = Field(
        default=Decimal("0.01"), ge=0, description="210 line billed above its rate: overbilled."
    )
    freight_require_rate_table: bool = Field(
        default=False, description="A 210 of a carrier without a rate table is missing_rate."
    )

    # EDI controls (docs/edi-controls.md): duplicate identity and acknowledgements
    duplicate_near_days: int = Field(
        default=30,
        ge=0,
        le=3660,
        description="Invoices of one vendor, PO and amount dated at most this many days "
        "apart with different numbers: suspected_duplicate.",
    )
    ack_timeout_seconds: float = Field(
        default=86400.0,
        gt=0,
        description="A group we sent without a 997/999 after this long: ack_overdue.",
    )

    # Lab inventory manifests (docs/inventory.md)
    inventory_chunk_rows: int = Field(
        default=500, ge=1, le=100_000, description="Manifest data rows per audited chunk."
    )
    inventory_quarantine_alert_share: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="Alert when more than this share of inventory rows is quarantined.",
    )

    inventory_api_url: str | None = Field(
        default=None,
        description="Inventory API endpoint (POST) of `recon deliver inventory`; it retries, "
        "backs off and rate-limits with the RECON_ERP_* settings.",
    )

    # Vendor rebate claims against accruals (docs/claims.md, docs/domain.md §10). A claim is
    # within tolerance when |claimed - accrued| is within the amount and the percentage.
    claim_over_tolerance_amount: Decimal = Field(
        default=Decimal("1.00"), ge=0, description="Max over-claim, money."
    )
    claim_over_tolerance_percent: Decimal = Field(
        default=Decimal("0.5"), ge=0, description="Max over-claim, % of the accrued total."
    )
    claim_under_tolerance_amount: Decimal = Field(
        default=Decimal("50.00"), ge=0, description="Max under-claim, money."
    )
    claim_under_tolerance_percent: Decimal = Field(
        default=Decimal("5"), ge=0, description="Max under-claim, % of the accrued total."
    )
    claims_sweep_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How often a claims tick re-evaluates every claim of its partition.",
    )
    claims_outbox_page_entries: int = Field(
        default=1000,
        ge=1,
        description="Line exception events per outbox page of a claim evaluation (a page "
        "is one changelog record: keep it under the changelog's max.message.bytes).",
    )
    claims_849_part_bytes: int = Field(
        default=262_144,
        ge=1,
        description="Bytes of line segments per transaction set of an 849: a larger answer "
        "is split into several sets, each its own changelog record and message.",
    )

    # Delivery to downstream targets (`recon deliver TARGET`, docs/delivery.md). Each target
    # is its own consumer group on the ledger topic; a batch is delivered, then committed.
    deliver_batch_max: int = Field(default=2000, ge=1, description="Entries per delivery batch.")
    deliver_poll_seconds: float = Field(
        default=0.5, gt=0, description="Longest wait for a delivery batch to fill."
    )
    # How long a target that is down (breaker open, database unreachable) is left alone
    # before the next probe; the consumer's partitions stay paused meanwhile.
    breaker_fail_max: int = Field(
        default=5, ge=1, description="Consecutive failed calls that open a target's breaker."
    )
    breaker_reset_seconds: float = Field(
        default=30.0, gt=0, description="Cool-down of an open breaker before a probe."
    )
    # PostgreSQL target. Without a DSN, the commands start a private local server (initdb
    # under <home>/postgres, run as an unprivileged user when we are root).
    postgres_dsn: str | None = Field(default=None, description="Existing PostgreSQL server.")
    postgres_schema: str = Field(
        default="recon", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="Schema of the tables."
    )
    postgres_port: int = Field(default=29432, ge=1, description="Port of the local server.")
    postgres_user: str = Field(
        default="postgres", description="OS user that runs the local server when we are root."
    )
    # ERP journal API (HTTP). Retries: full-jitter exponential backoff, uniform(0, min(max,
    # base * 2^(n-1))) before retry n; a Retry-After is honoured and spread by up to
    # erp_jitter_seconds so the clients it throttled do not come back at the same instant.
    erp_url: str | None = Field(default=None, description="Journal endpoint (POST).")
    erp_batch_size: int = Field(default=100, ge=1, description="Entries per POST.")
    erp_timeout_seconds: float = Field(default=10.0, gt=0)
    erp_retries: int = Field(default=3, ge=0, description="Retries after the first attempt.")
    erp_backoff_base_seconds: float = Field(default=2.0, ge=0)
    erp_backoff_max_seconds: float = Field(default=60.0, ge=0)
    erp_jitter_seconds: float = Field(default=5.0, ge=0)
    erp_requests_per_second: float = Field(
        default=10.0, ge=0, description="Token bucket of POSTs; 0: unlimited."
    )
    erp_records_per_second: float = Field(
        default=1000.0, ge=0, description="Token bucket of entries; 0: unlimited."
    )

    # Parquet archive target (`recon deliver archive`): files under <archive dir>/<topic>/
    # date=<business date>/, each batch committed by a manifest record (docs/delivery.md).
    archive_dir: Path | None = Field(default=None, description="Default: <home>/archive.")

    # Local broker (embedded default). Ports sit below Linux's ephemeral range (32768+), where
    # any outgoing client socket could already hold them.
    kafka_version: str = "4.2.0"
    broker_port: int = 29092
    controller_port: int = 29093
    broker_heap: str = "512m"
    broker_start_timeout_seconds: float = 90.0

    @field_validator("dedupe_horizon_days")
    @classmethod
    def _horizon_off_or_long_enough(cls, value: int) -> int:
        if 0 < value < MIN_DEDUPE_HORIZON_DAYS:
            raise ValueError(
                f"dedupe_horizon_days={value}: must be 0 (keep every mark forever) or at "
                f"least {MIN_DEDUPE_HORIZON_DAYS} days, or ordinary late sales are refused"
            )
        return value

    @model_validator(mode="after")
    def _security_complete(self) -> Settings:
        protocol = self.kafka_security_protocol
        if protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError(
                f"kafka_security_protocol={protocol} needs RECON_KAFKA_SASL_USERNAME and "
                "RECON_KAFKA_SASL_PASSWORD"
            )
        if (self.kafka_ssl_cert_file is None) != (self.kafka_ssl_key_file is None):
            raise ValueError(
                "kafka_ssl_cert_file and kafka_ssl_key_file go together (mTLS needs both)"
            )
        tls_files = (self.kafka_ssl_ca_file, self.kafka_ssl_cert_file)
        if not protocol.endswith("SSL") and any(f is not None for f in tls_files):
            raise ValueError(
                f"TLS files are set but kafka_security_protocol={protocol} does not use "
                "TLS: use SSL or SASL_SSL"
            )
        return self

    @property
    def bootstrap(self) -> str:
        return self.bootstrap_servers or f"127.0.0.1:{self.broker_port}"

    @property
    def uses_local_broker(self) -> bool:
        return self.bootstrap_servers is None

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    @property
    def clean_shutdown_marker(self) -> Path:
        """Written by a worker that stopped cleanly; without it the local state is dropped
        at the next start and rebuilt from the changelogs."""
        return self.state_dir / "CLEAN_SHUTDOWN"

    @property
    def broker_dir(self) -> Path:
        return self.home / "broker"

    @property
    def archive_root(self) -> Path:
        return self.archive_dir or self.home / "archive"

    @property
    def postgres_dir(self) -> Path:
        return self.home / "postgres"

    def topic(self, name: str) -> str:
        return f"{self.topic_prefix}.{name}"

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with the given fields replaced (CLI flags win over the environment)."""
        data = self.model_dump()
        data.update({k: v for k, v in overrides.items() if v is not None})
        return Settings(**data)
