"""X12 EDI: a streaming reader, envelope validation and the 850/860/856/810/210 documents.

The layers, each usable alone:

- :mod:`~streams.formats.x12.tokenizer`: bytes to segments, delimiters from each ISA;
- :mod:`~streams.formats.x12.envelope`: segments to :class:`TransactionSet` (ST..SE with its
  interchange, group and position) or :class:`Fault` (a broken envelope/set, for the DLQ);
- :mod:`~streams.formats.x12.extract`: a set to its pydantic document (or an X12Error);
- here, :func:`parse_file`: all three over a file, as :class:`ParsedDocument` or
  :class:`Fault`, in file order and in constant memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from streams.domain.models.edi import X12Document
from streams.formats.x12.envelope import X12Reader, read_transaction_sets
from streams.formats.x12.extract import extract
from streams.formats.x12.sets import Fault, TransactionSet
from streams.formats.x12.tokenizer import Position, X12Error

__all__ = [
    "Fault",
    "ParsedDocument",
    "Position",
    "TransactionSet",
    "X12Document",
    "X12Error",
    "X12Reader",
    "extract",
    "parse_file",
    "parse_sets",
    "read_transaction_sets",
]


@dataclass(frozen=True)
class ParsedDocument:
    """A valid transaction set and its document."""

    transaction_set: TransactionSet
    document: X12Document

    @property
    def idempotency_key(self) -> str:
        return self.transaction_set.idempotency_key

    @property
    def document_id(self) -> str | None:
        return self.document.document_id

    def as_dict(self) -> dict[str, object]:
        ts = self.transaction_set
        return {
            "type": ts.set_id,
            "control_number": ts.control_number,
            "document_id": self.document_id,
            "idempotency_key": self.idempotency_key,
            "interchange": ts.interchange.as_dict(),
            "group": ts.group.as_dict(),
            "position": ts.position_dict(),
            "document": self.document.model_dump(mode="json"),
        }


def parse_sets(items: Iterable[TransactionSet | Fault]) -> Iterator[ParsedDocument | Fault]:
    """Extract each set's document; a set that does not extract becomes a fault."""
    for item in items:
        if isinstance(item, Fault):
            yield item
            continue
        try:
            yield ParsedDocument(item, extract(item))
        except X12Error as exc:
            raw, ids = item.raw, (item.set_id, item.control_number)
            yield Fault(exc, "transaction_set", raw, len(raw), item.interchange, item.group, *ids)


def parse_file(path: Path) -> Iterator[ParsedDocument | Fault]:
    """Every document and fault of the X12 file at ``path``, in file order."""
    with path.open("rb") as f:
        yield from parse_sets(X12Reader(f))
