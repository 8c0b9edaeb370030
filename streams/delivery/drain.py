"""Delivery as a batch run: the loop until the target's group has committed the end of
every partition of its topics (`recon deliver TARGET --drain`, the demo, the benchmark)."""

from __future__ import annotations

import threading
import time

from confluent_kafka import KafkaException

from streams.delivery.breaker import Breaker
from streams.delivery.loop import DeliveryLoop, delivery_group
from streams.delivery.target import Target
from streams.errors import DeliveryError, ReconError
from streams.kafka.read import LagProbe
from streams.observability.metrics import Metrics
from streams.settings import Settings

POLL_SECONDS = 0.5


def caught_up(probe: LagProbe, topics: list[str]) -> bool:
    """The group committed every partition's end; False while the cluster cannot say (a
    group coordinator loading or moving, a topic not visible yet)."""
    try:
        lags = probe.lag(topics)
    except (KafkaException, ReconError):
        return False
    return all(lag.behind == 0 for lag in lags)


def deliver_until_caught_up(
    settings: Settings,
    target: Target,
    breaker: Breaker,
    metrics: Metrics,
    timeout: float | None = None,
) -> None:
    """Run the delivery loop in a thread of this process until the target's group has
    caught up; raise what stopped the loop, or DeliveryError after ``timeout`` seconds
    (default RECON_DRAIN_TIMEOUT_SECONDS)."""
    loop = DeliveryLoop(settings, target, breaker, metrics)
    topics = sorted(loop.schemas)
    stop, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            loop.run(stop.is_set, lambda: None)
        except BaseException as exc:
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=run, name=f"deliver-{target.name}", daemon=True)
    # One connection asked again and again: a new client per question costs more.
    probe = LagProbe(settings, delivery_group(settings, target.name))
    deadline = time.monotonic() + (timeout or settings.drain_timeout_seconds)
    thread.start()
    try:
        while not done.is_set() and not caught_up(probe, topics):
            if time.monotonic() > deadline:
                raise DeliveryError(
                    f"delivery to {target.name} not caught up after "
                    f"{timeout or settings.drain_timeout_seconds:.0f} s"
                )
            time.sleep(POLL_SECONDS)
    finally:
        stop.set()
        thread.join()
        probe.close()
    if errors:
        raise errors[0]
