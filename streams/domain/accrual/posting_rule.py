"""The posting rule (docs/domain.md §3.5): what a posting row's write posts.

Per (agreement, period) the row holds the measure X and the running total ``posted``; a
write posts ``T - posted`` with ``T = round_half_even(accrual(X), 2)`` (and first reverses
a total held in a former currency), so the entries always sum to T.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from streams.domain.accrual.postings import EntryKind, Posting, RecordRef, entry_id, posting_to_json
from streams.domain.models.promotion import Agreement
from streams.domain.models.tiers import ZERO, TierMethod, rate_at, target


def post(
    agr: Agreement,
    label: str,
    row: dict[str, Any],
    ref: RecordRef,
    trigger: str,
    measure_before: Decimal | None,
    first: RecordRef | None = None,
    records: int = 1,
) -> list[Posting]:
    """Update ``row`` to post ``T - posted``: its write sequence, currency, total and
    outbox (the entries of this write, which the ledger relay publishes from the
    changelog: one record, no cross-topic gap). ``ref`` is the last record the entries
    cover, ``first`` the first (``ref`` when None), ``records`` how many."""
    row["n"] = int(row.get("n", 0)) + 1  # write sequence: part of the entry ids
    postings: list[Posting] = []
    posted = Decimal(row["posted"])
    covers = (first or ref, records)
    if posted and row["cur"] != agr.currency:
        postings.append(
            _entry(
                agr, label, row, ref, trigger, EntryKind.RE_RATE, -posted, row["cur"], ZERO, covers
            )
        )
        posted = ZERO
    row["cur"] = agr.currency
    measure = Decimal(row["x"])
    goal = target(measure, agr.tiers, agr.tier_method)
    if goal != posted:
        kind = entry_kind(agr, goal - posted, measure_before, measure)
        postings.append(
            _entry(agr, label, row, ref, trigger, kind, goal - posted, agr.currency, goal, covers)
        )
    row["posted"] = str(goal)
    row["out"] = [posting_to_json(p) for p in postings]
    return postings


def entry_kind(
    agr: Agreement, amount: Decimal, before: Decimal | None, after: Decimal
) -> EntryKind:
    """``before`` None: an agreement re-rated the period."""
    if before is None:
        return EntryKind.RE_RATE
    if amount < 0:
        return EntryKind.REVERSAL
    if (
        agr.tier_method is TierMethod.RETROACTIVE
        and before > 0
        and (rate_at(before, agr.tiers) != rate_at(after, agr.tiers))
    ):
        return EntryKind.TRUE_UP
    return EntryKind.ACCRUAL


def _entry(
    agr: Agreement,
    label: str,
    row: dict[str, Any],
    ref: RecordRef,
    trigger: str,
    kind: EntryKind,
    amount: Decimal,
    currency: str,
    total: Decimal,
    covers: tuple[RecordRef, int],
) -> Posting:
    first, records = covers
    return Posting(
        entry_id=entry_id(trigger, agr.agreement_id, label, currency, int(row["n"])),
        agreement_id=agr.agreement_id,
        vendor_id=agr.vendor_id,
        period=label,
        kind=kind,
        amount=amount,
        currency=currency,
        measure=Decimal(row["x"]),
        posted_total=total,
        source_key=trigger,
        source_file=ref.source_file,
        source_line=ref.line,
        correlation_id=ref.record_id,
        traceparent=ref.traceparent,
        ingested_at=ref.ingested_at,
        records=records,
        source_topic=ref.topic,
        source_partition=ref.partition,
        first_offset=first.offset,
        last_offset=ref.offset,
    )
