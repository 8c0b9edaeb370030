"""Kafka header names carried by every raw record from ingest to every output."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

CORRELATION_ID = "recon-correlation-id"
SOURCE_FILE = "recon-source-file"
FILE_SHA256 = "recon-file-sha256"
LINE = "recon-line"
FORMAT = "recon-format"
COLUMNS = "recon-columns"
RUN_ID = "recon-run-id"
INGESTED_AT = "recon-ingested-at"
ATTEMPTS = "recon-attempts"
TRACEPARENT = "traceparent"
MANIFEST_AT = "recon-manifest-at"  # an inventory manifest's time (docs/inventory.md)
RESUBMITS = "recon-resubmits"  # the DLQ id a resubmitted inventory row corrects

HeaderList = list[tuple[str, bytes]]


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def to_dict(
    headers: Iterable[tuple[str, bytes | None]] | Mapping[str, bytes] | None,
) -> dict[str, str]:
    """Decode Kafka headers (list of pairs or mapping) to text; the last value of a name wins."""
    if headers is None:
        return {}
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in pairs:
        if value is not None:
            out[name] = _text(value)
    return out


def all_values(
    headers: Iterable[tuple[str, bytes | None]] | Mapping[str, bytes] | None, name: str
) -> list[str]:
    """Every value of header ``name``, in order: match and exception events carry one
    correlation id per record they concern (Kafka allows a name more than once)."""
    if headers is None:
        return []
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return [_text(value) for key, value in pairs if key == name and value is not None]
