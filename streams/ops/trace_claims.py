"""The claims hops of ``recon trace`` (docs/claims.md, "Tracing a claim").

Claim results (JSON) and 849s (X12) are not Avro: they decode here, and each hop of a
claim (result, claim exception, settlement entry, 849) gets a detail line naming the claim,
its version, status and amount. A claim row on the path puts the claim-level outputs of its
version (those with a ``recon-claim`` header) on the path once it was applied.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

from streams.domain.models.parsing import parse_columns
from streams.formats import headers as h
from streams.formats.csv_source import extract_field
from streams.formats.x12 import TransactionSet, X12Error, X12Reader
from streams.formats.x12.claims import read_849
from streams.relay.claims import CLAIM_HEADER

CLAIM_RESULT, CLAIM_849 = "claim_result", "claim_849"
SETTLEMENT_KINDS = ("settlement", "settlement_reversal")


def decode_result(value: bytes) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(value)
    return doc


def decode_849(value: bytes) -> dict[str, Any]:
    """The response of an 849 interchange; an unreadable one is shown by its error."""
    try:
        ts = next(i for i in X12Reader(io.BytesIO(value)) if isinstance(i, TransactionSet))
        r = read_849(ts)
    except (StopIteration, X12Error) as err:
        return {"error": str(err) or "no transaction set"}
    return {
        "claim_id": r.claim_id,
        "version": r.version,
        "status": r.status,
        "claimed": str(r.claimed),
        "accrued": str(r.accrued),
        "lines": len(r.lines),
        "rejected": sum(1 for v in r.lines if v.kind),
        "part": "{}/{}".format(*r.part),
    }


DECODERS: dict[str, Callable[[bytes], dict[str, Any]]] = {
    CLAIM_RESULT: decode_result,
    CLAIM_849: decode_849,
}


def describe_result(value: dict[str, Any]) -> str:
    failing = ";".join(f"{k}:{n}" for k, n in sorted(value["failing"].items()))
    return (
        f"claim={value['claim_id']} v{value['version']} status={value['status']} "
        f"claimed={value['claimed']} accrued={value['accrued']} settled={value['settled']} "
        f"{value['currency']} lines={value['received']}/{value['line_count']}"
        + (f" failing={failing}" if failing else "")
        + _approval(value)
        + f" seq={value['seq']}"
    )


def _approval(value: dict[str, Any]) -> str:
    """The version's approval or rejection (docs/claims.md, "Analyst approval"), if any."""
    if approval := value.get("approval"):
        return f" approved={approval['amount']} by={approval['by']} reason={approval['reason']!r}"
    if rejection := value.get("rejection"):
        return f" rejected by={rejection['by']} reason={rejection['reason']!r}"
    return ""


def describe_849(value: dict[str, Any]) -> str:
    if "error" in value:
        return f"849 unreadable: {value['error']}"
    return (
        f"849 claim={value['claim_id']} v{value['version']} status={value['status']} "
        f"claimed={value['claimed']} accrued={value['accrued']} "
        f"lines={value['lines']} rejected={value['rejected']}"
        + ("" if value.get("part", "1/1") == "1/1" else f" set={value['part']}")
    )


def claim_suffix(stage: str, value: dict[str, Any], headers: dict[str, str]) -> str:
    """What a settlement entry or a claim exception adds to its ledger or exception line."""
    if stage == "ledger" and value["kind"] in SETTLEMENT_KINDS:
        claim, _, version = headers.get(CLAIM_HEADER, "?:?").rpartition(":")
        return f" claim={claim} v{version} settled_total={value['posted_total']}"
    if stage == "exception" and value["record_type"] == "claim" and value.get("details"):
        return f" {value['details']!r}"
    return ""


def claim_of_row(record: bytes, headers: dict[str, str]) -> str | None:
    """``claim_id:version`` of a raw claim row (CSV layout, also for an 844's rows), the
    value of the ``recon-claim`` header of its version's claim-level outputs."""
    columns = parse_columns(headers.get(h.COLUMNS, ""))
    claim = extract_field(columns, record, "claim_id")
    version = extract_field(columns, record, "version")
    if claim is None or version is None or not version.strip().isdigit():
        return None
    return f"{claim}:{int(version)}"
