"""The embedded local Apache Kafka broker: single-node KRaft, run from Maven Central jars."""

from streams.broker.maven import fetch_broker_jars
from streams.broker.server import BrokerStatus, LocalBroker, check_cluster, ensure_broker

__all__ = ["BrokerStatus", "LocalBroker", "check_cluster", "ensure_broker", "fetch_broker_jars"]
