"""`recon` with a poison pill planted: the rebate engine raises an unexpected error on any
sale whose txn_id starts with POISON (a stand-in for a bug that only some records hit).
Run as ``python -m tests.integration.poison_worker worker --drain`` from the repository
root; everything else is the real worker on the real broker."""

from __future__ import annotations

from streams.cli.main import main
from streams.domain.accrual.engine import RebateEngine, Result
from streams.domain.accrual.postings import RecordRef
from streams.domain.models.pos import SaleLine

_apply_sale = RebateEngine.apply_sale


def apply_sale(self: RebateEngine, sale: SaleLine, ref: RecordRef) -> Result:
    if sale.txn_id.startswith("POISON"):
        raise ZeroDivisionError(f"planted bug on {sale.txn_id}")
    return _apply_sale(self, sale, ref)


RebateEngine.apply_sale = apply_sale  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
