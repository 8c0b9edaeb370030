"""The business rules, pure: records, the accrual, matching and three-way engines, their
plain reference computations, and the key-value state protocol they run on. Nothing here
imports Kafka or Faust (docs/domain.md holds the rules; tests/unit/test_layers.py the contract)."""
