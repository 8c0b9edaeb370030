"""Bilateral trade matching (domain.md §4): pure engines over KeyValueState, no Kafka."""
