"""Vendor rebate claims reconciled against accruals (docs/claims.md, docs/domain.md §10)."""
