"""Which records a claim version's outputs name: the trace references staged with them.

The references come from state, never from the batch at hand: an evaluation is often
triggered by something else (a sale, an agreement, a sweep after a restart), so the
records of the claim are looked up by their idempotency marks (``cm:``), which hold the
correlation id of the record that owns them and, for a header, its hop's traceparent.

The rule (docs/claims.md, "Tracing a claim"): every output of a version names the claim
header row (``REF`` on the version document, written with the outbox); a line exception
also names its own line row (``LINE_REF`` on the entry). So no output carries more than two
correlation ids, however many lines the claim has; a line row reaches the claim-level
outputs through its claim version (``recon trace`` reads the raw row).
"""

from __future__ import annotations

from typing import Any

from streams.domain.claims.models import header_key, line_key
from streams.domain.claims.store import mark_key
from streams.domain.state import KeyValueState

REF = "ref"  # on the version document: [header correlation id, header hop traceparent]
LINE_REF = "c"  # on a line exception entry: its line's correlation id


def header_ref(state: KeyValueState, claim_id: str, version: int) -> list[str] | None:
    """``[correlation id, traceparent]`` of the header row that owns the version's header,
    or None before its header arrived. The traceparent is '' for a header applied without
    one (state written before trace propagation): no made-up trace then."""
    mark = state.get(mark_key(header_key(claim_id, version)))
    return None if mark is None else [mark["o"], mark.get("tp", "")]


def line_ref(state: KeyValueState, claim_id: str, version: int, sale_key: str) -> str:
    """The correlation id of the line row that owns the version's line on ``sale_key``."""
    mark = state.get(mark_key(line_key(claim_id, version, sale_key)))
    return "" if mark is None else str(mark["o"])


def attach(state: KeyValueState, doc: dict[str, Any], entries: list[dict[str, Any]]) -> None:
    """Stage the references of ``entries`` (one version's outbox row) with them: the
    header's on ``doc``, each line exception's own line on the entry."""
    if not entries:
        return
    claim_id, version = entries[0]["claim_id"], int(entries[0]["version"])
    ref = header_ref(state, claim_id, version)
    if ref is None:
        doc.pop(REF, None)
    else:
        doc[REF] = ref
    for entry in entries:
        if entry.get("sale_key"):  # a line exception (a claim dispute has no sale)
            cid = line_ref(state, claim_id, version, entry["sale_key"])
            if cid:
                entry[LINE_REF] = cid
