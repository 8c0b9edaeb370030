"""The dedupe horizon on the engine: a sale inside it is applied, one beyond it without a
mark is refused (invalid_value naming the field and value), a mark still present decides."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from streams.domain.accrual import keys
from streams.domain.accrual.engine import RebateEngine
from streams.domain.accrual.horizon import (
    PURGE_MARGIN_DAYS,
    DedupeHorizon,
    expired_marks,
    horizon_of,
    mark_expired,
)
from streams.domain.accrual.postings import RecordRef
from streams.domain.models.outcome import Outcome
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.domain.state import DictState, encode
from streams.errors import Category, RecordError, Stage

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def clock() -> datetime:
    return NOW


def sale(sold_at: str, txn: str = "T1") -> SaleLine:
    return SaleLine(
        txn_id=txn,
        line_no=1,
        store_id="S1",
        sku="SKU1",
        vendor_id="V1",
        qty=10,
        unit_price=Decimal("2.00"),
        currency="USD",
        sold_at=datetime.fromisoformat(sold_at),
    )


def ref(record_id: str, offset: int) -> RecordRef:
    return RecordRef(record_id, offset, "pos.csv", offset + 2)


def engine(days: int = 30) -> RebateEngine:
    return RebateEngine(DictState(), DedupeHorizon(days, clock))


def test_oldest_day_and_purge_day_follow_the_clock() -> None:
    horizon = DedupeHorizon(30, clock)
    assert horizon.oldest_day() == date(2026, 10, 24)
    assert horizon.purge_before() == date(2026, 10, 24 - PURGE_MARGIN_DAYS)


def test_a_sale_on_the_oldest_day_is_applied_and_its_mark_records_the_day_sku_and_qty() -> None:
    eng = engine()
    line = sale("2026-10-24T00:00:00+00:00")
    assert eng.apply_sale(line, ref("r1", 0)).outcome is Outcome.APPLIED
    mark = eng.state.get(keys.dedupe_key(line.idempotency_key))
    assert mark == {"o": "r1", "day": "2026-10-24", "sku": line.sku, "qty": line.qty}


def test_a_sale_beyond_the_horizon_is_refused_naming_record_field_and_value() -> None:
    eng = engine()
    # 2026-10-24T01:00+02:00 is 2026-10-23 in UTC: the UTC day decides
    line = sale("2026-10-24T01:00:00+02:00", txn="T9")
    with pytest.raises(RecordError) as caught:
        eng.apply_sale(line, ref("r1", 5))
    err = caught.value
    assert (err.category, err.stage, err.field) == (
        Category.INVALID_VALUE,
        Stage.VALIDATE,
        "sold_at",
    )
    assert err.value == "2026-10-23T23:00:00+00:00"
    assert err.message.startswith("pos.csv line 7 (sale T9 line 1, vendor V1): field sold_at=")
    assert "'2026-10-23T23:00:00+00:00'" in err.message
    assert "older than the dedupe horizon of 30 days" in err.message
    assert "RECON_DEDUPE_HORIZON_DAYS" in err.message
    # nothing was written: no mark, no aggregate
    assert isinstance(eng.state, DictState) and eng.state.data == {}


def test_no_horizon_accepts_any_age() -> None:
    eng = RebateEngine(DictState())
    assert eng.apply_sale(sale("2001-01-01T00:00:00Z"), ref("r1", 0)).outcome is Outcome.APPLIED


def test_a_mark_still_present_decides_beyond_the_horizon() -> None:
    """Applied while inside the horizon, then the clock moves past it: the owner
    reprocessed after a crash stays applied, another copy is a duplicate."""
    now = [datetime(2026, 10, 1, tzinfo=UTC)]
    eng = RebateEngine(DictState(), DedupeHorizon(30, lambda: now[0]))
    line = sale("2026-09-20T12:00:00Z")
    assert eng.apply_sale(line, ref("r1", 0)).outcome is Outcome.APPLIED
    now[0] = NOW
    assert eng.apply_sale(line, ref("r1", 0)).outcome is Outcome.APPLIED
    assert eng.apply_sale(line, ref("replay:r1", 9)).outcome is Outcome.DUPLICATE
    # once its mark is purged, a copy is refused rather than applied a second time
    assert isinstance(eng.state, DictState)
    del eng.state.data[keys.dedupe_key(line.idempotency_key)]
    with pytest.raises(RecordError):
        eng.apply_sale(line, ref("replay2:r1", 10))


def test_agreements_are_not_subject_to_the_horizon_and_keep_undated_marks() -> None:
    eng = engine()
    agr = Agreement.model_validate(
        {
            "agreement_id": "A1",
            "vendor_id": "V1",
            "skus": "SKU1",
            "start_date": "2020-01-01",
            "end_date": "2020-12-31",
            "basis": "per_unit",
            "period": "month",
            "tier_method": "retroactive",
            "tiers": "0:0.10",
            "currency": "USD",
        }
    )
    assert eng.apply_agreement(agr, ref("a1", 0)).outcome is Outcome.APPLIED
    mark = eng.state.get(keys.dedupe_key(agr.idempotency_key))
    assert mark == {"o": "a1"}
    assert not mark_expired(encode(mark), date(2100, 1, 1))


def test_expired_marks_selects_exactly_the_dated_marks_before_the_day() -> None:
    before = date(2026, 10, 17)
    items = [
        (b"d:a", encode({"o": "r1", "day": "2026-10-16"})),  # beyond: purged
        (b"d:b", encode({"o": "r2", "day": "2026-10-17"})),  # on the day: kept
        (b"d:c", encode({"o": "r3", "day": "2026-11-20"})),
        (b"d:d", encode({"o": "r4"})),  # agreement / legacy mark: kept
        (b"g:x", encode({"day": "2001-01-01"})),  # not a mark
        (b"d:e", encode({"o": "r5", "day": "1999-12-31"})),
    ]
    assert list(expired_marks(items, before)) == [b"d:a", b"d:e"]


def test_horizon_of_zero_is_none_and_the_clock_must_be_aware() -> None:
    assert horizon_of(0) is None
    assert horizon_of(800) == DedupeHorizon(800)
    with pytest.raises(ValueError, match="> 0 days"):
        DedupeHorizon(-1)
    with pytest.raises(ValueError, match="naive"):
        DedupeHorizon(30, lambda: datetime(2026, 1, 1)).today()
