"""Rebate accrual arithmetic and the stateful rebate engine (no Kafka in here)."""
