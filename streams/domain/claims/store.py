"""The claims engine's key layout. Claims share the vendor's state table with the rebate
engine (its prefixes are one letter, these start with ``c``), so a claim reads the accrual
state of its agreement on the same partition.

A claim version's lines are kept in buckets (the first four hex digits of the sale key):
a batch of lines rewrites the small buckets it touches, not a 500,000-line document. The
version document lists the bucket *groups* (their first three digits) that hold lines, so
it stays small (at most 4,096 names) however large the claim; a group's buckets are found
by reading its 16 possible keys. Each bucket of a 500,000-line claim holds about 8 lines,
so a batch of 10,000 lines decodes and encodes about 35,000 stored lines, not the whole
claim (with one bucket per group, 122 lines each, it was every bucket: 500,000).
"""

from __future__ import annotations

from typing import Any

from streams.domain.accrual import keys
from streams.domain.state import KeyValueState

SEP = "\x1f"
BUCKET_DIGITS = 4
GROUP_DIGITS = 3
HEX = "0123456789abcdef"


# Written last, in this order, after every other key of a batch (the accruals' first, in
# their order): a version document, then the pages of its line exception events, then the
# line buckets that record which exceptions are open (``outbox.py``, crash safety).
LAST = (b"op:", b"cb:")
# Written first of all: the last interchange control number used for a vendor's 849s, so
# that a crash may skip numbers but never gives a number to two interchanges.
FIRST = b"cn:"


def write_rank(key: bytes) -> int:
    """The write order of the shared state (``BatchedState.order``)."""
    prefix = key[:3]
    if prefix == FIRST:
        return -1
    rank = keys.write_rank(key)
    return rank + 1 + LAST.index(prefix) if prefix in LAST else rank


def mark_key(idem: str) -> str:
    return f"cm:{idem}"


def claim_key(claim_id: str) -> str:
    """The versions of a claim seen so far and the one in force (the highest)."""
    return f"cv:{claim_id}"


def version_key(claim_id: str, version: int) -> str:
    return f"ch:{claim_id}{SEP}{version}"


def control_key(vendor_id: str) -> str:
    return f"cn:{vendor_id}"


def next_controls(state: KeyValueState, vendor_id: str, count: int) -> int:
    """Reserve ``count`` interchange control numbers for the vendor's 849s; returns the
    first. Numbers run from 1 to 999,999,999 (ISA13's nine digits), then start again."""
    key = control_key(vendor_id)
    last = int((state.get(key) or {"n": 0})["n"])
    first = last + 1 if last + count <= 999_999_999 else 1
    state.put(key, {"n": first + count - 1})
    return first


def bucket_of(sale_key: str) -> str:
    return sale_key[:BUCKET_DIGITS]


def group_of(bucket: str) -> str:
    """The name the version document lists a bucket under."""
    return bucket[:GROUP_DIGITS]


def bucket_key(claim_id: str, version: int, bucket: str) -> str:
    return f"cb:{claim_id}{SEP}{version}{SEP}{bucket}"


def read_buckets(
    state: KeyValueState, claim_id: str, version: int, doc: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """Every bucket of a version that holds lines, by bucket name."""
    buckets = {}
    for group in doc["b"]:
        for digit in HEX:
            name = group + digit
            bucket = state.get(bucket_key(claim_id, version, name))
            if bucket:
                buckets[name] = bucket
    return buckets


def claimers_key(sale_key: str) -> str:
    """Every claim version with a line on this sale: how double claims are found."""
    return f"cs:{sale_key}"


def by_agreement_key(agreement_id: str) -> str:
    """The claim versions of an agreement: re-evaluated when its accruals change."""
    return f"ca:{agreement_id}"


INDEX_KEY = "cx"  # every claim version of the partition: the sweep
# The outputs of a version's last evaluation, in its own document (``outbox.py``).
OUT = "out"
# The version's latest analyst decision (``approvals.ClaimDecision.to_doc``), and the
# details of its open claim_approval_invalid exception ('' if none): absent until the
# first decision, so documents written before approvals existed read the same.
DECISION = "ap"
REFUSED = "apx"


def new_version_doc() -> dict[str, Any]:
    return {
        "h": None,  # the header, as JSON, once it arrived
        "n": 0,  # distinct lines received (counted as they arrive, recounted when evaluated)
        "b": [],  # bucket groups holding its lines
        "status": "incomplete",
        "accrued": "0",
        "failing": {},
        "settled": "0",
        "dispute": "",  # details of the open claim_dispute, '' if none
        "seq": 0,
    }


def add_member(state: KeyValueState, key: str, member: list[Any]) -> bool:
    """Add ``member`` to the list ``c`` of the document at ``key``; False if present."""
    doc = state.get(key) or {"c": []}
    if member in doc["c"]:
        return False
    doc["c"].append(member)
    doc["c"].sort()
    state.put(key, doc)
    return True


def lines_in_sale_order(
    state: KeyValueState, claim_id: str, version: int
) -> list[tuple[str, int, str]]:
    """``(txn_id, line_no, published exception kind)`` of each line of a version, in sale
    order (day, transaction, line): what an 849 answers line by line."""
    doc = state.get(version_key(claim_id, version)) or new_version_doc()
    lines = []
    for bucket in read_buckets(state, claim_id, version, doc).values():
        for entry in bucket.values():
            lines.append((entry["d"], entry["t"], entry["l"], entry["x"]))
    return [(t, n, kind) for _, t, n, kind in sorted(lines)]
