"""Fuzzing the worker's per-record path with hostile records: bytes to model (to_model),
then the engine that decides it (rebates, trade matching), on in-memory state.

Property: each record either becomes a model whose engine returns an outcome, or raises a
RecordError with a category, a stage and a message (it is dead-lettered); nothing else
comes out, so no record is a poison pill by its bytes alone.
"""

from __future__ import annotations

import codecs
import csv
import io
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from streams.domain.accrual.engine import RebateEngine
from streams.domain.accrual.postings import RecordRef
from streams.domain.matching.records import RecordBook
from streams.domain.models.outcome import Outcome
from streams.domain.models.parsing import to_model
from streams.domain.models.pos import SaleLine
from streams.domain.models.promotion import Agreement
from streams.domain.models.trades import Confirmation, Trade
from streams.domain.state import DictState
from streams.errors import Category, RecordError, Stage
from tests.unit.hostile import ENCODINGS, FIELD_TEXT

pytestmark = pytest.mark.unit

# Values that reach the validators (numbers, dates, codes, tiers) and their near misses.
PLAUSIBLE = (
    "", " ", "0", "1", "-1", "2", "10.5", "1e9999", "-0", "NaN", "Infinity", "1.0000001",
    "9" * 40, "0.000000001", "2026-03-01T08:15:00Z", "2026-02-31T10:00:00Z",
    "2026-03-01T08:15:00", "2026-03-01T08:15:00+25:00", "9999-12-31T23:59:59-12:00",
    "0001-01-01T00:00:00+14:00", "2026-03-01", "2026-13-01", "USD", "usd", "EUR", "XXX",
    "*", "A|A", "0:0.10|1000:0.15", "0:1|0:2", ":", "0:", "1e5:0.1", "per_unit", "percent",
    "month", "quarter", "agreement", "retroactive", "incremental", "buy", "sell", "new",
    "amend", "cancel", "P1", "P2", "V1", "1.5", "\x00", "\ufeff1",
)
MODELS: tuple[type[BaseModel], ...] = (SaleLine, Agreement, Trade, Confirmation)
FUZZ = settings(max_examples=300, deadline=None)


@st.composite
def records(draw: st.DrawFn) -> tuple[type[BaseModel], list[str], bytes]:
    """A model, the columns of its file's header, and one raw record of that file."""
    model = draw(st.sampled_from(MODELS))
    columns = list(model.model_fields)
    if draw(st.integers(0, 9)) == 0:  # a header that is not quite the model's
        columns = draw(st.permutations(columns))[: draw(st.integers(0, len(columns)))]
        columns += draw(st.lists(st.sampled_from(("extra", "", "qty ")), max_size=2))
    if draw(st.integers(0, 9)) == 0:
        return model, columns, draw(st.binary(max_size=200))
    values = [draw(st.sampled_from(PLAUSIBLE) | FIELD_TEXT) for _ in columns]
    values += draw(st.lists(FIELD_TEXT, max_size=1))  # one field too many, sometimes
    buf = io.StringIO()
    quoting = draw(st.sampled_from((csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONE)))
    if quoting == csv.QUOTE_NONE:  # written by hand: quotes and separators left bare
        buf.write(",".join(values))
    else:
        csv.writer(buf, quoting=quoting, lineterminator="").writerow(values)
    raw = codecs.encode(buf.getvalue(), draw(st.sampled_from(ENCODINGS)), errors="replace")
    if draw(st.integers(0, 4)) == 0:
        raw = raw[: draw(st.integers(0, len(raw)))]  # truncated
    return model, columns, raw


def decide(model: BaseModel, n: int, sales: RebateEngine, book: RecordBook) -> Any:
    """What the worker's pipeline does with a valid record."""
    ref = RecordRef(record_id=f"r{n}", offset=n, line=n + 2)
    if isinstance(model, SaleLine):
        outcome = sales.apply_sale(model, ref).outcome
        sales.settle()
        return outcome
    if isinstance(model, Agreement):
        return sales.apply_agreement(model, ref).outcome
    assert isinstance(model, Trade | Confirmation)
    return book.apply(model, f"run:{n + 2}", at=1_000_000)


@FUZZ
@given(st.lists(records(), min_size=1, max_size=4))
# A time whose offset puts it past year 9999 in UTC: OverflowError out of the validator.
@example([(Trade, list(Trade.model_fields), b",,,,,,,,,9999-12-31T23:59:59-12:00,,")])
def test_a_record_is_decided_or_dead_lettered_never_a_poison_pill(
    batch: list[tuple[type[BaseModel], list[str], bytes]],
) -> None:
    sales, book = RebateEngine(DictState()), RecordBook(DictState())
    for n, (model_type, columns, raw) in enumerate(batch):
        what = f"fuzz.csv line {n + 2}"
        try:
            model = to_model(model_type, columns, raw, what)
            outcome = decide(model, n, sales, book)
        except RecordError as exc:
            assert isinstance(exc.category, Category) and isinstance(exc.stage, Stage)
            assert exc.message.startswith(what), exc.message
            continue
        assert isinstance(model, model_type) and isinstance(outcome, Outcome)
