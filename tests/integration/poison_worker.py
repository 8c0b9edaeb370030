"""`recon` with a poison pill planted: the rebate engine raises an unexpected error on any
sale whose txn_id starts with POISON (a stand-in for a bug that only some records hit).
Run as ``python -m tests.integration.poison_worker worker --drain`` from the repository
root; everything else is the real worker on the real broker."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from streams.cli.main import main
from streams.domain.accrual.engine import RebateEngine, Result, SaleIn, SaleOutcome
from streams.domain.accrual.postings import RecordRef
from streams.domain.models.pos import SaleLine

_apply_sale = RebateEngine.apply_sale
_apply_sales = RebateEngine.apply_sales


def apply_sale(self: RebateEngine, sale: SaleLine, ref: RecordRef) -> Result:
    if sale.txn_id.startswith("POISON"):
        raise ZeroDivisionError(f"planted bug on {sale.txn_id}")
    return _apply_sale(self, sale, ref)


def apply_sales(
    self: RebateEngine, sales: Sequence[SaleIn], ref_at: Callable[[int], RecordRef]
) -> list[SaleOutcome]:
    # In the middle of a chunk, after some of its sales were folded in.
    applied: list[SaleOutcome] = []
    for i, sale in enumerate(sales):
        if sale[0].txn_id.startswith("POISON"):
            raise ZeroDivisionError(f"planted bug on {sale[0].txn_id}")
        applied += _apply_sales(self, [sale], lambda _, i=i: ref_at(i))  # type: ignore[misc]
    return applied


RebateEngine.apply_sale = apply_sale  # type: ignore[method-assign]
RebateEngine.apply_sales = apply_sales  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
