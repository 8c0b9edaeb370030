"""Operator commands: audit, DLQ listing and redrive, replay, trace, consumer-group
resets, ledger and match reports."""
