"""An X12 file as ingest records: one Avro ``edi_document`` per transaction set or fault.

Each record is ``(position, key, value)``: the position is the 1-based segment index of
the set's ST (or of the broken segment) in the file, which takes the place of the CSV line
in the headers (so correlation ids ``<run>:<segment>`` are deterministic per set within a
run); the key is the routing key (PO number, or ``210:<PRO>``) so that an order's 850, 856
and 810 meet in one partition. A broken envelope or set is published too, with its error,
and dead-lettered by the agent: nothing read is dropped and the audit still adds up. A TA1
a partner sent (outside any set) is a record of its own (``set_id`` TA1), which the worker
applies without effect; what it says goes to the acks pipeline (docs/edi-controls.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, Self

from streams.domain.threeway.summary import partition_key, routing_key
from streams.formats import avro
from streams.formats.x12 import Fault, ParsedDocument, X12Reader
from streams.formats.x12.ack_x12 import ReceivedTa1
from streams.formats.x12.acks import AckCollector

EDI_FORMAT = "x12-edi"
EDI_COLUMNS = "x12-transaction-set"  # no CSV columns: the value is an edi_document record


def document_record(
    item: ParsedDocument | Fault | ReceivedTa1,
) -> tuple[int, bytes, dict[str, Any]]:
    """(segment index, partition key, edi_document record) of one set, fault or TA1."""
    if isinstance(item, ReceivedTa1):
        return _ta1_record(item)
    if isinstance(item, Fault):
        isa, gs, pos = item.interchange, item.group, item.position
        err = item.error
        index = pos.segment_index if pos else 0
        record: dict[str, Any] = {
            "set_id": item.set_id,
            "control_number": item.control_number,
            "sender": isa.sender_id if isa else None,
            "receiver": isa.receiver_id if isa else None,
            "interchange_control": isa.control_number if isa else None,
            "group_control": gs.control_number if gs else None,
            "segment_index": index,
            "byte_offset": pos.byte_offset if pos else 0,
            "raw": item.raw,
            "error": {
                "category": str(item.category),
                "scope": item.scope,
                "message": err.message,
                "segment_id": err.segment_id,
                "element": err.element,
            },
        }
        return index, hashlib.sha256(item.raw).hexdigest().encode(), record
    ts, doc = item.transaction_set, item.document
    key = routing_key(doc)
    record = {
        "set_id": ts.set_id,
        "control_number": ts.control_number,
        "document_id": item.document_id,
        "routing_key": key,
        "idempotency_key": item.idempotency_key,
        "sender": ts.interchange.sender_id,
        "receiver": ts.interchange.receiver_id,
        "interchange_control": ts.interchange.control_number,
        "group_control": ts.group.control_number,
        "segment_index": ts.position.segment_index,
        "byte_offset": ts.position.byte_offset,
        "raw": ts.standalone_bytes(),
        "document": doc.model_dump_json(),
    }
    # A 210 goes by its carrier (its rate rows' key), the rest by routing key (PO number)
    by = partition_key(doc) or item.idempotency_key
    return ts.position.segment_index, by.encode(), record


def _ta1_record(item: ReceivedTa1) -> tuple[int, bytes, dict[str, Any]]:
    """A partner's TA1: applied by the worker (no effect), read by the acks pipeline."""
    isa, index, key = item.interchange, item.position.segment_index, item.idempotency_key
    ta1: dict[str, Any] = {
        "set_id": "TA1",
        "control_number": item.facts["control"],
        "document_id": None,
        "routing_key": None,
        "idempotency_key": key,
        "sender": isa.sender_id,
        "receiver": isa.receiver_id,
        "interchange_control": isa.control_number,
        "group_control": None,
        "segment_index": index,
        "byte_offset": item.position.byte_offset,
        "raw": item.standalone_bytes(),
        "document": item.document(),
        "error": None,
    }
    return index, key.encode(), ta1


def x12_bytes(value: bytes) -> bytes:
    """The X12 bytes of the set (or fault) inside one encoded edi_document value."""
    return bytes(avro.decode("edi_document", value)["raw"])


class X12File:
    """An X12 file open for streaming while used as a context manager: its reader and the
    bytes read so far (the ingest progress and manifest)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: BinaryIO | None = None
        self._reader: X12Reader | None = None

    def __enter__(self) -> Self:
        self._file = self.path.open("rb")
        self._reader = X12Reader(self._file)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._file is not None:
            self._file.close()

    @property
    def bytes_read(self) -> int:
        return self._reader.bytes_read if self._reader else 0


class EdiRecords(X12File):
    """Iterate ``(segment index, key, Avro value)`` over an X12 file, in constant memory."""

    header = EDI_COLUMNS

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._acks: AckCollector | None = None

    def take_acks(self) -> list[dict[str, Any]]:
        """The ack requests of the groups and interchanges read so far, each once
        (docs/edi-controls.md); the last ones once iteration has ended."""
        return self._acks.take() if self._acks is not None else []

    def reject_last(self) -> None:
        """The record yielded last was dead-lettered at ingest: its ack rejects it."""
        if self._acks is not None:
            self._acks.reject_last()

    def __iter__(self) -> Iterator[tuple[int, bytes, bytes]]:
        assert self._reader is not None, "use EdiRecords as a context manager"
        self._acks = AckCollector(self._reader, self.path.name)
        for item in self._acks:
            position, key, record = document_record(item)
            yield position, key, avro.encode("edi_document", record)
