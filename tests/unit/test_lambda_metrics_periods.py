"""The local cloud's AWS/Lambda metrics: each count is stamped in the period it happened in."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from selfheal.clock import Clock
from selfheal.cloud.metrics import MetricsPublisher

PERIOD = 60
T0 = 1_800_000_000.0  # a period boundary


class Backend:
    """Stands in for moto's CloudWatch backend: keeps the Invocations datums put."""

    def __init__(self) -> None:
        self.invocations: list[tuple[float, float]] = []

    def put_metric_data(self, namespace: str, datums: list[dict[str, Any]]) -> None:
        for datum in datums:
            if datum["MetricName"] == "Invocations":
                stamp = datum["Timestamp"].replace(tzinfo=UTC).timestamp()
                self.invocations.append((stamp, datum["Value"]))


def test_a_late_flush_does_not_move_counts_into_another_period() -> None:
    """One invocation per cloud second is 60 per period, however irregularly the flusher runs (here late
    every other time: 15 and 105 cloud seconds apart, as a busy cloud's flusher thread can be)."""
    now = [T0]
    clock = Clock(20.0, origin=T0, real_time=lambda: now[0])
    backend = Backend()
    publisher = MetricsPublisher(clock, lambda: backend)
    flushes = {T0 + 45 + 120 * n + offset for n in range(10) for offset in (15, 120)}
    for second in range(45, 45 + 1200):
        now[0] = clock.to_real(T0 + second)
        if T0 + second in flushes:
            publisher.flush()
        publisher.record_invocation("fragile", 10.0, error=False)
    publisher.flush()
    per_period: dict[int, float] = {}
    for stamp, value in backend.invocations:
        per_period[int((stamp - T0) // PERIOD)] = per_period.get(int((stamp - T0) // PERIOD), 0) + value
    whole = [per_period[p] for p in sorted(per_period)][1:-1]  # the first and last periods are partial
    assert whole == [60.0] * len(whole), whole
