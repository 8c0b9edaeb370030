"""The outbox relay: reads the state tables' changelogs and publishes what their rows carry
(ledger entries, match and exception events). confluent-kafka only, no Faust."""
