"""`recon trace CORRELATION_ID`: the path of one record through the topics.

Every hop's messages carry the record's correlation id (and a traceparent of the same
trace) in their headers, so the path is found by reading the raw, outcome, agreement, DLQ,
claim result, ledger, matches, exceptions, inventory and claim response topics and keeping
the messages whose header matches. A
match or exception event concerns several records and carries one correlation-id header
per record: it is on the path of each. A ledger entry names the last sale it covers and is
on the path of every sale it covers (its vendor's, between its first and last offset of
the partition). A claim's outputs (results, claim exceptions, settlement entries, 849s)
name its header row, a line exception its line row too; an applied claim row also reaches
the claim-level outputs of its version by their ``recon-claim`` header (``trace_claims``).
Replays of the record (``replay-<run>:<id>``) are part of its path too.
Topics are read in full: an ops tool for one record at a time, not a query engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import TIMESTAMP_NOT_AVAILABLE, Message

from streams.domain.models.parsing import parse_columns
from streams.errors import ReconError
from streams.formats import avro
from streams.formats import headers as h
from streams.formats.chunks import LENGTHS, LINES, line_correlation_id
from streams.formats.csv_source import extract_field
from streams.formats.records import outcomes_of
from streams.kafka import topics as t
from streams.kafka.partitioner import KEY_COLUMN
from streams.kafka.read import read_topic
from streams.ops import trace_claims as claims
from streams.ops.replay import message_headers
from streams.relay.claims import CLAIM_HEADER
from streams.settings import Settings

# (logical topic, stage shown, Avro schema of the value or None for raw bytes), path order.
# An output's ``recon-schema`` header overrides the schema: ``matches`` carries trade pairs
# (``match``) and three-way document matches (``document_match``). Claim results and 849s
# are not Avro: ``trace_claims.DECODERS`` reads them.
STAGES: tuple[tuple[str, str, str | None], ...] = (
    (t.RAW_POS, "raw", None),
    (t.RAW_PROMOTIONS, "raw", None),
    (t.RAW_TRADES, "raw", None),
    (t.RAW_CONFIRMATIONS, "raw", None),
    (t.RAW_EDI, "raw", None),
    (t.RAW_INVENTORY, "raw", None),
    (t.RAW_CLAIMS, "raw", None),
    (t.OUTCOMES, "outcome", "outcome"),
    (t.AGREEMENTS, "agreement", "agreement"),
    (t.DLQ, "dlq", "dlq_record"),
    (t.CLAIM_RESULTS, "claim", claims.CLAIM_RESULT),
    (t.LEDGER, "ledger", "ledger_entry"),
    (t.MATCHES, "match", "match"),
    (t.EXCEPTIONS, "exception", "match_exception"),
    (t.INVENTORY_LEDGER, "inventory", "inventory_event"),
    (t.CLAIM_RESPONSES, "849", claims.CLAIM_849),
)


class TraceNotFound(ReconError):
    """No message carries the correlation id asked for."""


@dataclass(frozen=True)
class Hop:
    stage: str
    topic: str
    partition: int
    offset: int
    timestamp: datetime | None
    correlation_id: str
    traceparent: str
    detail: str

    def line(self) -> str:
        at = self.timestamp.isoformat(timespec="milliseconds") if self.timestamp else "-"
        return (
            f"{self.stage:<9} {self.topic}[{self.partition}]@{self.offset}  {at}  "
            f"{self.detail}  traceparent={self.traceparent or '-'}"
        )


def matches(correlation_id: str, wanted: str) -> bool:
    return correlation_id == wanted or (
        correlation_id.endswith(f":{wanted}") and (correlation_id.startswith("replay-"))
    )


def matching_id(correlation_ids: list[str], wanted: str) -> str | None:
    """The first of a message's correlation ids (one header per record it concerns) that is
    on the path of ``wanted``, or None."""
    return next((cid for cid in correlation_ids if matches(cid, wanted)), None)


def _pair(value: dict[str, Any]) -> str:
    reason = f" reason={value['reason']}" if value.get("reason") else ""
    return (
        f"{value['event']} pair={value['pair_id'][:12]} trade={value['trade_id']} "
        f"v{value['trade_version']} confirm={value['confirm_id']} v{value['confirm_version']} "
        f"match_type={value['match_type']}{reason}"
    )


def _document_match(value: dict[str, Any]) -> str:
    return (
        f"{value['event']} {value['record_type']}={value['record_id']} "
        f"po={value['po_number']} line={value['line'] or '-'}"
    )


def _exception(value: dict[str, Any]) -> str:
    partner = (
        f" partner={value['partner_type']}:{value['partner_id']}" if value["partner_id"] else ""
    )
    return (
        f"{value['status']} {value['kind']} {value['record_type']}={value['record_id']} "
        f"v{value['version']}{partner}"
    )


def describe(
    stage: str, value: dict[str, Any] | None, headers: dict[str, str], schema: str | None = None
) -> str:
    if value is None:
        return f"{headers.get(h.SOURCE_FILE, '?')} line {headers.get(h.LINE, '?')}"
    if stage == "match":
        return _document_match(value) if schema == "document_match" else _pair(value)
    if stage == "claim":
        return claims.describe_result(value)
    if stage == "849":
        return claims.describe_849(value)
    if stage == "exception":
        return _exception(value) + claims.claim_suffix(stage, value, headers)
    if stage == "outcome":
        return f"outcome={value['outcome']}"
    if stage == "dlq":
        return f"category={value['category']} stage={value['stage']} error={value['error']!r}"
    if stage == "ledger":
        covered = f" covers={value['records']}" if value.get("records", 1) > 1 else ""
        return (
            f"entry={value['entry_id']} {value['kind']} {value['amount']} {value['currency']} "
            f"agreement={value['agreement_id']} period={value['period']}{covered}"
            + claims.claim_suffix(stage, value, headers)
        )
    return f"agreement={value['agreement_id']} version={value['version_key'][:12]}"


def decode(schema: str, value: bytes) -> dict[str, Any]:
    decoder = claims.DECODERS.get(schema)
    return decoder(value) if decoder else avro.decode(schema, value)


def timestamp_of(msg: Message) -> datetime | None:
    kind, millis = msg.timestamp()
    return None if kind == TIMESTAMP_NOT_AVAILABLE else datetime.fromtimestamp(millis / 1000, UTC)


@dataclass(frozen=True)
class Position:
    """Where a raw record of the path sits, and its key (a sale's vendor)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None


def covers(entry: dict[str, Any], raw: set[Position]) -> bool:
    """A ledger entry covers the sales of one flush folded into its (agreement, period):
    those of its vendor between its first and last offset in one partition."""
    return any(
        entry["source_topic"] == p.topic
        and entry["source_partition"] == p.partition
        and entry["first_offset"] <= p.offset <= entry["last_offset"]
        and (p.key or b"").decode(errors="replace") == entry["vendor_id"]
        for p in raw
    )


def chunk_line(headers: dict[str, str], wanted: str) -> tuple[str, int] | None:
    """For a chunked message: the correlation id of its record on the path of ``wanted``
    and that record's index, or None."""
    lines = headers.get(LINES)
    base = headers.get(h.CORRELATION_ID)
    _, _, line = wanted.rpartition(":")
    if lines is None or base is None or not line.isdigit():
        return None
    numbers = lines.split(",")
    if line not in numbers:
        return None
    cid = line_correlation_id(base, int(line))
    return (cid, numbers.index(line)) if matches(cid, wanted) else None


def trace_hops(settings: Settings, correlation_id: str) -> Iterator[Hop]:
    raw: set[Position] = set()
    claim_rows: dict[str, str] = {}  # a claim row on the path: correlation id -> its version
    applied: set[str] = set()  # the versions of the claim rows applied (``recon-claim``)
    for logical, stage, default_schema in STAGES:
        for msg in read_topic(settings, settings.topic(logical)):
            pairs = message_headers(msg)
            headers = h.to_dict(pairs)
            cid = matching_id(h.all_values(pairs, h.CORRELATION_ID), correlation_id)
            in_chunk = chunk_line(headers, correlation_id) if cid is None else None
            # raw values are shown by their headers; outputs decode with the schema they name
            schema = default_schema and headers.get(avro.SCHEMA_HEADER, default_schema)
            via_claim = headers.get(CLAIM_HEADER) in applied
            if (
                cid is None
                and in_chunk is None
                and not via_claim
                and not (schema == "outcome_batch" or (stage == "ledger" and raw))
            ):
                continue
            value = msg.value() or b""
            position = Position(msg.topic() or "", msg.partition() or 0, msg.offset() or 0,
                                msg.key())  # fmt: skip
            outcome = ""
            if in_chunk is not None:  # a record of a chunked raw message
                cid, index = in_chunk
                position, detail = chunk_record(value, headers, index, position)
                value = chunk_bytes(value, headers, index)
            elif schema == "outcome_batch":  # the outcomes of a chunk's records
                found = next((o for o in outcomes_of(value, schema)
                              if matches(o["correlation_id"], correlation_id)), None)  # fmt: skip
                if found is None:
                    continue
                cid, detail = found["correlation_id"], describe(stage, found, headers)
                outcome = found["outcome"]
            else:
                decoded = decode(schema, value) if schema else None
                # else a claim-level output of a claim row on the path, or a ledger entry
                # on the path if it covers the raw record
                if cid is None and not via_claim and (decoded is None or not covers(decoded, raw)):
                    continue
                if cid is None:
                    cid = headers.get(h.CORRELATION_ID, "")
                detail = describe(stage, decoded, headers, schema)
                outcome = (decoded or {}).get("outcome", "") if stage == "outcome" else ""
            if stage == "raw":
                raw.add(position)
                claim = claims.claim_of_row(value, headers) if logical == t.RAW_CLAIMS else None
                if claim is not None:
                    claim_rows[cid] = claim
            elif outcome == "applied" and cid in claim_rows:
                applied.add(claim_rows[cid])
            yield Hop(
                stage=stage,
                topic=msg.topic() or "",
                partition=msg.partition() or 0,
                offset=msg.offset() or 0,
                timestamp=timestamp_of(msg),
                correlation_id=cid,
                traceparent=headers.get(h.TRACEPARENT, ""),
                detail=detail,
            )


def chunk_bytes(value: bytes, headers: dict[str, str], index: int) -> bytes:
    """Record ``index`` of a chunked raw message."""
    lengths = [int(n) for n in headers.get(LENGTHS, "").split(",")]
    start = sum(lengths[:index])
    return value[start : start + lengths[index]]


def chunk_record(
    value: bytes, headers: dict[str, str], index: int, position: Position
) -> tuple[Position, str]:
    """Record ``index`` of a chunked raw message: its position with its vendor (what the
    ledger entries covering it name) and how the hop shows it."""
    lines = headers[LINES].split(",")
    record = chunk_bytes(value, headers, index)
    columns = parse_columns(headers.get(h.COLUMNS, ""))
    vendor = extract_field(columns, record, KEY_COLUMN)
    detail = (
        f"{headers.get(h.SOURCE_FILE, '?')} line {lines[index]} "
        f"(record {index + 1} of {len(lines)} of the message)"
    )
    return replace(position, key=vendor.encode() if vendor else None), detail


def trace(settings: Settings, correlation_id: str) -> list[Hop]:
    """Every hop of ``correlation_id``, raw record first, then in time order."""
    hops = list(trace_hops(settings, correlation_id))
    if not hops:
        raise TraceNotFound(
            f"no message on {settings.topic_prefix}.* carries correlation id {correlation_id!r}"
        )
    order = {stage: i for i, (_, stage, _) in enumerate(STAGES)}
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(
        hops, key=lambda hop: (hop.stage != "raw", hop.timestamp or far, order[hop.stage])
    )
