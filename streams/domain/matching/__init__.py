"""Bilateral trade matching (docs/domain.md §4): pure engines over KeyValueState, no Kafka."""
