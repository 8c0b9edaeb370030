"""The rebate engine: applies validated sales and agreements to state, yields ledger postings.

Exactness (docs/domain.md §3.5, the rule in ``posting_rule.py``): per (agreement, period)
the state holds the net measure X and the running total ``posted``; the engine posts
``T - posted`` where ``T = round_half_even(accrual(X), 2)``, so the sum of postings always
equals T. Sales fold into X and leave their rows pending; ``settle`` posts each pending
row once, so a batch of sales gives one entry per (agreement, period) it touched, not one
per sale. The row (X and ``posted`` together) is written only when settled: a crash can
never leave X folded in without its posting. An agreement re-rates and posts its periods
at once. ``apply_sales`` takes many sales (a chunk's lines) and reads and writes each
state key they touch once.

Crash safety: every value is idempotent on its own key. Sale aggregates and posting rows
carry ``st``, the position (``RecordRef.position``: offset and index in the message) of
the last POS record folded in, so reprocessing a record after a crash, even from the
middle of a chunk, never adds it twice; an agreement carries the position of the version
in force, so a redelivered older version never rolls the terms back; dedupe marks name
the record that owns the key, so that record is recognised as the owner (applied), and
any other copy as a duplicate. A sale's mark records its day, so marks beyond the dedupe
horizon can be purged; a sale beyond the horizon without a mark is refused (horizon.py).
Posting rows carry the entries of their write (``out``): the outbox the relay publishes,
so the ledger never holds an entry the state does not.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from streams.domain.accrual import keys
from streams.domain.accrual.horizon import MARK_DAY, MARK_QTY, MARK_SKU, DedupeHorizon
from streams.domain.accrual.posting_rule import post
from streams.domain.accrual.postings import Posting, RecordRef
from streams.domain.models.outcome import Outcome
from streams.domain.models.periods import PeriodKind, period_bounds, period_of, periods_in_window
from streams.domain.models.pos import SaleFacts, SaleLine
from streams.domain.models.promotion import Agreement, Basis
from streams.domain.models.tiers import ZERO
from streams.domain.state import KeyValueState
from streams.errors import Category, RecordError, Stage


@dataclass
class Pending:
    """A posting row folded into by the sales of the batch, not yet settled. ``measure``
    is the row's X as folded so far (written to the row when it is settled)."""

    agreement_id: str
    label: str
    row: dict[str, Any]
    measure_before: Decimal
    measure: Decimal
    trigger: str  # idempotency key of the last sale folded in
    first: RecordRef | None = None
    last: RecordRef | None = None
    records: int = 1
    # Indexes into the sales of the ``apply_sales`` call in progress (refs resolved at its
    # end, for the rows it touched only): -1 when the row was not created by that call.
    first_at: int = -1
    last_at: int = -1


# A sale to apply: its facts, its record id (the owner of its dedupe mark), its position.
SaleIn = tuple[SaleFacts, str, int]
# The outcome of one sale of ``apply_sales``: applied or duplicate, or why it is refused.
SaleOutcome = Outcome | RecordError


@dataclass
class Result:
    outcome: Outcome
    idempotency_key: str
    postings: list[Posting] = field(default_factory=list)
    agreement: Agreement | None = None  # set when master data changed


@dataclass
class _Vendor:
    """A vendor's document, its SKUs and agreements, as one ``apply_sales`` call uses them."""

    doc: dict[str, Any]
    skus: set[str]
    agreements: list[Agreement]
    changed: bool = False


class RebateEngine:
    def __init__(self, state: KeyValueState, horizon: DedupeHorizon | None = None) -> None:
        self.state = state
        self.horizon = horizon  # None: marks are kept forever, no sale is too old
        self._parsed: dict[str, tuple[str, Agreement]] = {}  # id -> (version key, terms)
        self._pending: dict[str, Pending] = {}  # posting key -> row awaiting ``settle``
        self._periods: dict[tuple[date, PeriodKind], str] = {}
        self._row_keys: dict[tuple[str, str], str] = {}  # (agreement, period) -> its key

    # -- dedupe ---------------------------------------------------------------------------

    def _claim(
        self, idem: str, record_id: str, day: str | None = None, sale: SaleFacts | None = None
    ) -> bool:
        """True if this record owns ``idem`` (first seen, or it is us being reprocessed).

        A mark that is still there decides, whatever the sale's age: the owner reprocessed
        after a crash stays applied and any other copy is a duplicate. A sale's mark
        records its ``day``, so it can be purged beyond the horizon (a sale with no mark
        is checked against the horizon before it is claimed). A sale's mark also holds its
        SKU and quantity: what a claim line is checked against (docs/claims.md)."""
        mark = self.state.get(keys.dedupe_key(idem))
        if mark is not None:
            return bool(mark["o"] == record_id)
        value: dict[str, Any] = {"o": record_id}
        if day is not None:
            value[MARK_DAY] = day
        if sale is not None:
            value[MARK_SKU] = sale.sku
            value[MARK_QTY] = sale.qty
        self.state.put(keys.dedupe_key(idem), value)
        return True

    def _marked(self, idem: str) -> bool:
        return self.state.get(keys.dedupe_key(idem)) is not None

    @staticmethod
    def _what(sale: SaleFacts, ref: RecordRef) -> str:
        where = f"{ref.source_file} line {ref.line}" if ref.source_file else ref.record_id
        return f"{where} (sale {sale.txn_id} line {sale.line_no}, vendor {sale.vendor_id})"

    # -- sales ----------------------------------------------------------------------------

    def apply_sale(self, sale: SaleLine, ref: RecordRef) -> Result:
        outcome = self.apply_sales([(sale.facts(), ref.record_id, ref.position)], lambda _: ref)[0]
        if isinstance(outcome, RecordError):
            raise outcome
        return Result(outcome, sale.idempotency_key)

    def apply_sales(
        self, sales: Sequence[SaleIn], ref_at: Callable[[int], RecordRef]
    ) -> list[SaleOutcome]:
        """Apply sales in order (the lines of a chunk, or one sale); ``ref_at(i)`` gives
        the full reference of ``sales[i]``, asked only for the sales that start or end a
        posting row's run and for refused ones.

        Each state key a call touches is read once and written once: the (sku, day)
        aggregates, vendors and posting rows are folded into in memory. A sale that is
        not new for a key (its position is not past the key's stamp) is already in it:
        reprocessing after a crash adds nothing twice."""
        oldest = self.horizon.oldest_day() if self.horizon is not None else None
        cells: dict[str, dict[str, Any]] = {}
        vendors: dict[str, _Vendor] = {}
        touched: list[Pending] = []
        outcomes: list[SaleOutcome] = []
        try:
            for i, (sale, record_id, pos) in enumerate(sales):
                outcome = self._apply_one(
                    sale, record_id, pos, i, oldest, ref_at, cells, vendors, touched
                )
                outcomes.append(outcome)
        finally:
            # Rows folded into stay pending even if a sale raised: they must know the
            # records they cover. The aggregates and vendors of an aborted call are not
            # written: a retry folds them again (the rows skip what they already hold).
            for p in touched:
                if p.first_at >= 0:
                    p.first = ref_at(p.first_at)
                if p.last_at >= 0:
                    p.last = ref_at(p.last_at)
                p.first_at = p.last_at = -1
        for key, cell in cells.items():
            cell["v"] = {cur: str(total) for cur, total in cell["v"].items()}
            self.state.put(key, cell)
        for vendor_id, vendor in vendors.items():
            if vendor.changed:
                self.state.put(
                    keys.vendor_key(vendor_id),
                    {**vendor.doc, "skus": sorted(vendor.skus)},
                )
        return outcomes

    def _apply_one(
        self,
        sale: SaleFacts,
        record_id: str,
        pos: int,
        at: int,
        oldest: date | None,
        ref_at: Callable[[int], RecordRef],
        cells: dict[str, dict[str, Any]],
        vendors: dict[str, _Vendor],
        touched: list[Pending],
    ) -> SaleOutcome:
        idem = sale.idempotency_key
        if oldest is not None and sale.day < oldest and not self._marked(idem):
            assert self.horizon is not None
            return self.horizon.refusal(sale.sold_at, self._what(sale, ref_at(at)))
        if not self._claim(idem, record_id, sale.day_text, sale):
            return Outcome.DUPLICATE
        self._fold_cell(cells, sale, pos)
        vendor = vendors.get(sale.vendor_id)
        if vendor is None:
            vendor = vendors[sale.vendor_id] = self._load_vendor(sale.vendor_id)
        if sale.sku not in vendor.skus:
            vendor.skus.add(sale.sku)
            vendor.changed = True
        for agr in vendor.agreements:
            if not agr.covers(sale.sku, sale.day):
                continue
            measure = self._measure_of(sale, agr)
            if measure is not None:
                label = self._period(sale.day, agr)
                self._fold_row(agr.agreement_id, label, measure, pos, at, idem, touched)
        return Outcome.APPLIED

    def _period(self, day: date, agr: Agreement) -> str:
        key = (day, agr.period)
        label = self._periods.get(key)
        if label is None:
            label = self._periods[key] = period_of(day, agr.period)
        return label

    def _fold_row(
        self,
        agreement_id: str,
        label: str,
        measure: Decimal,
        pos: int,
        at: int,
        idem: str,
        touched: list[Pending],
    ) -> None:
        key = self._row_keys.get((agreement_id, label))
        if key is None:
            key = self._row_keys[(agreement_id, label)] = keys.posting_key(agreement_id, label)
        pending = self._pending.get(key)
        if pending is None:
            row = self._posting_row(agreement_id, label)
            if pos <= row["st"]:
                return  # reprocessed after a crash: this row already holds it, and its posting
            before = Decimal(row["x"])
            pending = Pending(agreement_id, label, row, before, before + measure, idem)
            pending.first_at = at
            self._pending[key] = pending
            touched.append(pending)
        else:
            if pos <= pending.row["st"]:
                return
            pending.measure += measure
            pending.trigger = idem
            pending.records += 1
            if pending.last_at < 0:
                touched.append(pending)
        pending.row["st"] = pos
        pending.last_at = at

    def settle(self) -> list[Posting]:
        """Post every pending row once (``T - posted``) and write it; the entries of a row
        cover the sales folded into it since the last settle."""
        postings: list[Posting] = []
        pending, self._pending = self._pending, {}
        for p in pending.values():
            agr = self._agreement(p.agreement_id)
            if agr is None or p.last is None:  # cannot happen: folded only under its agreement
                continue
            p.row["x"] = str(p.measure)
            postings += self._post(agr, p.label, p.row, p.last, p.trigger, p.measure_before, p)
        return postings

    def _fold_cell(self, cells: dict[str, dict[str, Any]], sale: SaleFacts, pos: int) -> None:
        """Fold a sale into its (vendor, sku, day) aggregate, held decoded in ``cells``
        (sales values as Decimal) until the end of the call."""
        key = keys.cell_key(sale.vendor_id, sale.sku, sale.day_text)
        cell = cells.get(key)
        if cell is None:
            cell = self.state.get(key)
            if cell is None:
                cell = {"u": 0, "v": {}, "st": -1}
                self._add_day(sale.vendor_id, sale.sku, sale.day_text)
            else:
                cell["v"] = {cur: Decimal(total) for cur, total in cell["v"].items()}
            cells[key] = cell
        if pos <= cell["st"]:
            return
        cell["u"] += sale.qty
        values = cell["v"]
        values[sale.currency] = values.get(sale.currency, ZERO) + sale.value
        cell["st"] = pos

    def _add_day(self, vendor: str, sku: str, day: str) -> None:
        key = keys.days_key(vendor, sku, day[:7])
        days: list[str] = (self.state.get(key) or {"days": []})["days"]
        pos = bisect_left(days, day)
        if pos == len(days) or days[pos] != day:
            days.insert(pos, day)
            self.state.put(key, {"days": days})

    def _load_vendor(self, vendor_id: str) -> _Vendor:
        doc = self._vendor(vendor_id)
        agreements = [a for a in map(self._agreement, doc["agreements"]) if a is not None]
        return _Vendor(doc, set(doc["skus"]), agreements)

    @staticmethod
    def _measure_of(sale: SaleFacts, agr: Agreement) -> Decimal | None:
        if agr.basis is Basis.PER_UNIT:
            return Decimal(sale.qty)
        # Sales value in another currency cannot count towards a money threshold.
        return sale.value if sale.currency == agr.currency else None

    # -- agreements -----------------------------------------------------------------------

    def apply_agreement(self, agr: Agreement, ref: RecordRef) -> Result:
        idem = agr.idempotency_key
        known = self.state.get(keys.agreement_key(agr.agreement_id))
        if known is not None and known["vendor"] != agr.vendor_id:
            raise RecordError(
                Category.INVALID_VALUE,
                Stage.ENRICH,
                f"agreement {agr.agreement_id} belongs to vendor {known['vendor']}; "
                f"an amendment cannot move it to vendor {agr.vendor_id}",
                field="vendor_id",
                value=agr.vendor_id,
            )
        if not self._claim(idem, ref.record_id):
            return Result(Outcome.DUPLICATE, idem)
        if known is not None and known.get("st", -1) > ref.position:
            # Redelivered after a crash, and a later version is already in force: applying
            # it again would roll the terms back.
            return Result(Outcome.APPLIED, idem)
        old_periods: list[str] = known["periods"] if known else []
        new_periods = periods_in_window(agr.start_date, agr.end_date, agr.period)
        periods = sorted({*old_periods, *new_periods})
        self.state.put(
            keys.agreement_key(agr.agreement_id),
            {
                "vendor": agr.vendor_id,
                "key": idem,
                "terms": agr.model_dump(mode="json"),
                "periods": periods,
                "st": ref.position,
            },
        )
        self._parsed[agr.agreement_id] = (idem, agr)
        vendor = self._vendor(agr.vendor_id)
        if agr.agreement_id not in vendor["agreements"]:
            vendor["agreements"] = sorted({*vendor["agreements"], agr.agreement_id})
            self.state.put(keys.vendor_key(agr.vendor_id), vendor)
        postings: list[Posting] = []
        for label in periods:
            pending = self._pending.pop(keys.posting_key(agr.agreement_id, label), None)
            row = pending.row if pending else self._posting_row(agr.agreement_id, label)
            if label in new_periods:
                measure, stamp = self._measure_period(agr, label, vendor["skus"])
            else:  # the amended window no longer covers this period: reverse it
                measure, stamp = ZERO, row["st"]
            row["x"], row["st"] = str(measure), stamp
            postings += self._post(agr, label, row, ref, idem, None)
        return Result(Outcome.APPLIED, idem, postings, agreement=agr)

    def _measure_period(
        self, agr: Agreement, label: str, vendor_skus: list[str]
    ) -> tuple[Decimal, int]:
        """Re-rate: X of one period from the (sku, day) aggregates, and the newest stamp."""
        first, last = period_bounds(label, agr.start_date, agr.end_date)
        lo, hi = first.isoformat(), last.isoformat()
        total, stamp = ZERO, -1
        in_range = keys.months(lo, hi)
        for sku in agr.skus or vendor_skus:
            days = [
                day
                for month in in_range
                for day in (self.state.get(keys.days_key(agr.vendor_id, sku, month))
                            or {"days": []})["days"]
            ]  # fmt: skip
            for day in days[bisect_left(days, lo) : bisect_right(days, hi)]:
                cell = self.state.get(keys.cell_key(agr.vendor_id, sku, day))
                if cell is None:
                    continue
                stamp = max(stamp, cell["st"])
                if agr.basis is Basis.PER_UNIT:
                    total += cell["u"]
                else:
                    total += Decimal(cell["v"].get(agr.currency, "0"))
        return total, stamp

    # -- posting --------------------------------------------------------------------------

    def _post(
        self,
        agr: Agreement,
        label: str,
        row: dict[str, Any],
        ref: RecordRef,
        trigger: str,
        measure_before: Decimal | None,
        covers: Pending | None = None,
    ) -> list[Posting]:
        """Post the row (``posting_rule.post``) and write it with its outbox."""
        first, records = (covers.first, covers.records) if covers else (None, 1)
        postings = post(agr, label, row, ref, trigger, measure_before, first, records)
        self.state.put(keys.posting_key(agr.agreement_id, label), row)
        return postings

    # -- state access ---------------------------------------------------------------------

    def _vendor(self, vendor: str) -> dict[str, Any]:
        return self.state.get(keys.vendor_key(vendor)) or {"skus": [], "agreements": []}

    def _posting_row(self, agreement_id: str, label: str) -> dict[str, Any]:
        row = self.state.get(keys.posting_key(agreement_id, label))
        return row or {"x": "0", "posted": "0", "st": -1, "cur": "", "out": []}

    def _agreement(self, agreement_id: str) -> Agreement | None:
        doc = self.state.get(keys.agreement_key(agreement_id))
        if doc is None:
            return None
        cached = self._parsed.get(agreement_id)
        if cached is not None and cached[0] == doc["key"]:
            return cached[1]
        agr = Agreement.model_validate(doc["terms"])
        self._parsed[agreement_id] = (doc["key"], agr)
        return agr
