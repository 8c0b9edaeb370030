"""A file of X12 844s as claim ingest records: each 844 becomes the rows of the claims CSV
layout (docs/claims.md), so the claims agent reads one format whatever the file was.

Each record is ``(position, key, CSV row)``: the header row at the 1-based segment index
of the set's ST, its lines at that index + 1, + 2, … (a set has more segments than PAD
loops, so positions never collide with the next set's); the key is the vendor. A broken
envelope or an 844 that does not extract is published as a fault row (``record`` =
``x12-fault``, its category and its message naming the segment and position), which the
agent dead-letters with that category: nothing read is dropped and the audit adds up.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

from streams.formats.claims import COLUMNS, FAULT
from streams.formats.edi_source import X12File
from streams.formats.x12 import Fault
from streams.formats.x12.claims import parse_claim_sets

CLAIMS_X12_FORMAT = "claims-x12"


def is_x12(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(3) == b"ISA"


def row(values: dict[str, object]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(
        ["" if values.get(c) is None else values.get(c, "") for c in COLUMNS]
    )
    return out.getvalue().encode()


class ClaimX12Records(X12File):
    """Iterate ``(position, key, CSV row)`` over a file of 844s, one set at a time."""

    header = ",".join(COLUMNS)

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.columns = list(COLUMNS)

    def __iter__(self) -> Iterator[tuple[int, bytes, bytes]]:
        assert self._reader is not None, "use ClaimX12Records as a context manager"
        for item in parse_claim_sets(self._reader):
            if isinstance(item, Fault):
                pos = item.position  # the error's message names the segment and position
                message = f"{self.path.name}: {item.error.message}"
                index = pos.segment_index if pos else 0
                fault = row(
                    {"record": FAULT, "claim_id": str(item.category), "agreement_id": message}
                )
                yield index, hashlib.sha256(item.raw).hexdigest().encode(), fault
                continue
            ts, claim = item
            h = claim.header
            key, first = h.vendor_id.encode(), ts.position.segment_index
            yield (
                first,
                key,
                row(
                    {
                        "record": "header",
                        "claim_id": h.claim_id,
                        "version": h.version,
                        "vendor_id": h.vendor_id,
                        "agreement_id": h.agreement_id,
                        "period": h.period,
                        "claimed_amount": h.claimed_amount,
                        "currency": h.currency,
                        "line_count": h.line_count,
                    }
                ),
            )
            for n, line in enumerate(claim.lines, start=1):
                yield (
                    first + n,
                    key,
                    row(
                        {
                            "record": "line",
                            "claim_id": line.claim_id,
                            "version": line.version,
                            "vendor_id": line.vendor_id,
                            "txn_id": line.txn_id,
                            "line_no": line.line_no,
                            "sold_on": line.sold_on.isoformat(),
                            "sku": line.sku,
                            "qty": line.qty,
                            "amount": line.amount,
                        }
                    ),
                )
