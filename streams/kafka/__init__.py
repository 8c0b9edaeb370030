"""Kafka plumbing shared by every client: topic names and creation, client configurations,
the read loop, the partitioner, and the confluent-kafka output the agents flush per batch."""
