"""Metrics, health endpoints, structured logs and trace context."""
