"""recon-streams: continuous reconciliation of money-moving feeds on Kafka."""

__version__ = "0.1.0"
