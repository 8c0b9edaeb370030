"""Chunk hashes of a manifest (docs/inventory.md, "Batch audit").

A manifest is cut into chunks of ``chunk_rows`` data rows in file order (chunk 0 holds
rows 1..N). A chunk's hash is the SHA-256 of its normalised payload: for each row in
order, its canonical JSON if it is valid, else ``!`` and its raw CSV text, each followed
by a newline. So the hash is reproducible from the file alone, whatever the worker did,
and the same rows written differently (spaces, case of codes) hash the same.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from streams.domain.inventory.rows import InventoryRow


@dataclass(frozen=True)
class ChunkHash:
    index: int
    first_row: int  # 1-based data row numbers
    last_row: int
    sha256: str


def payload_line(row: InventoryRow | None, raw: str) -> bytes:
    return (row.canonical() if row is not None else b"!" + raw.encode()) + b"\n"


def chunk_of_row(row_number: int, chunk_rows: int) -> int:
    """The chunk index of 1-based data row ``row_number``."""
    return (row_number - 1) // chunk_rows


def chunk_hashes(
    rows: Iterable[tuple[InventoryRow | None, str]], chunk_rows: int
) -> Iterator[ChunkHash]:
    """The hash of every chunk of ``rows`` (each: the valid row or None, and its raw text)."""
    digest, first, n = hashlib.sha256(), 1, 0
    for n, (row, raw) in enumerate(rows, start=1):
        digest.update(payload_line(row, raw))
        if n % chunk_rows == 0:
            yield ChunkHash(chunk_of_row(n, chunk_rows), first, n, digest.hexdigest())
            digest, first = hashlib.sha256(), n + 1
    if n >= first:
        yield ChunkHash(chunk_of_row(n, chunk_rows), first, n, digest.hexdigest())
