"""Metrics recorded in a helper process and applied to the worker's registry, so that the
worker's ``/metrics`` shows them as if they had been recorded there.

The helper records through ``Metrics.child`` (its copy of the worker's ``Metrics``, forked
with it): a ``MetricRecorder`` replaces that method and keeps what would have been done
(increments summed, observations listed) until ``take``; the worker applies the batch with
``apply_ops``. Any other use of a metric in the helper (``labels``, ``inc``...) would
change only the helper's copy and never reach ``/metrics``, so it raises instead."""

from __future__ import annotations

from typing import Any

from prometheus_client.metrics import MetricWrapperBase

from streams.observability.metrics import Metrics

OpKey = tuple[str, tuple[str, ...], str]  # metric attribute, label values, "inc"/"observe"
Ops = dict[OpKey, list[float]]  # "inc": one running sum; "observe": every value


class _Recorded:
    def __init__(self, ops: Ops, name: str, labels: tuple[str, ...]) -> None:
        self._ops, self._name, self._labels = ops, name, labels

    def inc(self, amount: float = 1) -> None:
        total = self._ops.setdefault((self._name, self._labels, "inc"), [0.0])
        total[0] += amount

    def observe(self, amount: float) -> None:
        self._ops.setdefault((self._name, self._labels, "observe"), []).append(amount)


class HelperMetricMisused(RuntimeError):
    """A helper process used a metric other than through ``Metrics.child``."""


class _Guard:
    """Stands in for a metric in the helper: only ``Metrics.child`` may take it."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __getattr__(self, attr: str) -> Any:
        raise HelperMetricMisused(
            f"metrics.{self.name}.{attr} in a helper process would change only the helper's "
            f"copy of the metric: record through metrics.child(metrics.{self.name}, ...)"
        )


class MetricRecorder:
    """Installed on a ``Metrics`` in the helper process (see the module)."""

    def __init__(self, metrics: Metrics) -> None:
        self._ops: Ops = {}
        for name, value in list(vars(metrics).items()):
            if isinstance(value, MetricWrapperBase):
                setattr(metrics, name, _Guard(name))
        # An instance attribute shadows the method: every ``metrics.child`` call made by
        # code holding this Metrics (the relay and its handlers) is recorded from now on.
        setattr(metrics, "child", self.child)  # noqa: B010

    def child(self, metric: Any, *labels: str) -> Any:
        if not isinstance(metric, _Guard):
            raise HelperMetricMisused(f"{metric!r} is not one of the helper's metrics")
        return _Recorded(self._ops, metric.name, labels)

    def take(self) -> Ops:
        ops, self._ops = self._ops, {}
        return ops


def apply_ops(metrics: Metrics, ops: Ops) -> None:
    for (name, labels, op), values in ops.items():
        child = metrics.child(getattr(metrics, name), *labels)
        if op == "inc":
            child.inc(values[0])
        else:
            for value in values:
                child.observe(value)
