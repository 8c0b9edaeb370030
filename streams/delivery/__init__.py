"""Delivery of the ledger (and, to PostgreSQL, the match and exception events) to downstream
targets (`recon deliver TARGET`, docs/delivery.md).

Same layer as the runtime, without Faust: a confluent-kafka consumer per target polls a
batch, the target takes it, DLQ records are flushed, then the offsets are committed.
"""
