"""Producer retries from librdkafka's statistics callback (``stats_cb``).

librdkafka counts retried produce requests per broker (``txretries``, cumulative since the
client started); the counter is advanced by the growth between two statistics reports.
"""

from __future__ import annotations

import json
import logging

from streams.observability.metrics import Metrics

log = logging.getLogger(__name__)


class RetryCounter:
    def __init__(self, metrics: Metrics, client: str) -> None:
        self.metrics = metrics
        self.client = client
        self._seen = 0

    def __call__(self, stats_json: str) -> None:
        try:
            stats = json.loads(stats_json)
            total = sum(int(b.get("txretries", 0)) for b in stats.get("brokers", {}).values())
        except (ValueError, TypeError, AttributeError) as exc:
            log.debug("unreadable librdkafka statistics: %s", exc)
            return
        if total > self._seen:
            self.metrics.child(self.metrics.producer_retries, self.client).inc(total - self._seen)
        self._seen = max(self._seen, total)
