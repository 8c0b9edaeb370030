"""Metrics, health endpoints, structured logs and trace context (issue 6)."""
