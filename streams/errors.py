"""The root exception type and the error categories shared by every stage.

Every error raised by recon-streams derives from :class:`ReconError`. Errors about a
record carry the record's position, the field and the offending value so that a DLQ entry
or a log line can say exactly what was wrong where.
"""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    """DLQ error categories (docs/domain.md §2)."""

    PARSE_ERROR = "parse_error"
    SCHEMA_VIOLATION = "schema_violation"
    INVALID_VALUE = "invalid_value"
    UNKNOWN_REFERENCE = "unknown_reference"
    TRANSIENT_EXHAUSTED = "transient_exhausted"
    TARGET_REJECTED = "target_rejected"
    TRANSIENT_FAILURE = "transient_failure"  # the inventory API's: docs/inventory.md
    PROCESSING_ERROR = "processing_error"
    OVERSIZED_RECORD = "oversized_record"


class Stage(StrEnum):
    INGEST = "ingest"
    PARSE = "parse"
    VALIDATE = "validate"
    ENRICH = "enrich"
    COMPUTE = "compute"
    SINK = "sink"


class ReconError(Exception):
    """Root of every error raised by recon-streams."""


class ConfigError(ReconError):
    """Settings or command-line options that cannot work together."""


class BrokerError(ReconError):
    """The local Kafka broker could not be fetched, started or reached."""


class KafkaOperationError(ReconError):
    """A Kafka admin, produce or consume operation failed."""


class DeliveryError(ReconError):
    """A delivery target is misconfigured, or refused something it should have accepted."""


class RecordError(ReconError):
    """A record that cannot be processed; it is dead-lettered, never dropped."""

    def __init__(
        self,
        category: Category,
        stage: Stage,
        message: str,
        *,
        field: str | None = None,
        value: object = None,
    ) -> None:
        super().__init__(message)
        self.category = category
        self.stage = stage
        self.field = field
        self.value = value

    @property
    def message(self) -> str:
        return str(self.args[0])
