"""Reading the ledger topic: distinct entries and totals per (agreement, period)."""
