"""Lambda's ``AWS/Lambda`` metrics for the local cloud: recorded per invocation, written once per second.

The Lambda service records each invocation, throttle and concurrency level here. A flusher thread writes,
every real second, one ``put_metric_data`` per function (Invocations, Errors, Duration as a statistic set,
Throttles, ConcurrentExecutions as Maximum) straight into moto's CloudWatch backend, stamped in *cloud* time
so that alarm periods pass ``clock.scale`` times faster.

Duration's statistic set also carries the durations themselves, as at most :data:`MAX_DURATION_VALUES`
(value, count) pairs under :data:`VALUES_KEY` (moto ignores the key; the alarm scheduler's datum index
attaches the pairs to the stored datum), so that percentile alarms (``p99``) can be evaluated: exact while a
window holds few distinct durations, else rounded up to buckets 1 % wide (a percentile is then at most 1 %
high), so memory stays bounded whatever the invocation rate.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from selfheal.clock import Clock
from selfheal.cloud.flusher import PeriodicFlusher

__all__ = [
    "MAX_DURATION_VALUES",
    "NAMESPACE",
    "VALUES_KEY",
    "FunctionTotals",
    "MetricsPublisher",
    "value_counts",
]

NAMESPACE = "AWS/Lambda"
VALUES_KEY = "SelfhealValues"
MAX_DURATION_VALUES = 150  # as many distinct values as PutMetricData's Values takes
_BUCKET = math.log(1.01)


def value_counts(values: list[float], limit: int = MAX_DURATION_VALUES) -> list[tuple[float, float]]:
    """``values`` as (value, count) pairs, sorted: exact when at most ``limit`` are distinct, else bucketed.

    Buckets are 1 % wide on a log scale and represented by their upper bound, so no percentile comes out
    lower than the exact one; if even the buckets exceed ``limit``, neighbours are merged (upper bound kept).
    """
    counts = Counter(values)
    if len(counts) > limit:
        bucketed: Counter[float] = Counter()
        for value, count in counts.items():
            key = value if value <= 0 else math.exp(math.ceil(math.log(value) / _BUCKET) * _BUCKET)
            bucketed[max(value, key)] += count
        counts = bucketed
    pairs = sorted((float(v), float(c)) for v, c in counts.items())
    while len(pairs) > limit:
        merged: list[tuple[float, float]] = []
        for i in range(0, len(pairs), 2):
            group = pairs[i : i + 2]
            merged.append((group[-1][0], sum(c for _, c in group)))
        pairs = merged
    return pairs


@dataclass(frozen=True)
class FunctionTotals:
    """Cumulative counts for one function since the cloud started (for dashboards)."""

    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    duration_ms_sum: float = 0.0
    duration_ms_max: float = 0.0
    concurrent_executions: int = 0


class _Window:
    """What happened to one function since the last flush."""

    def __init__(self) -> None:
        self.invocations = 0
        self.errors = 0
        self.throttles = 0
        self.durations: list[float] = []
        self.max_concurrency = 0
        self.started = 0.0  # cloud time of the window's first record

    def datums(self, function_name: str, timestamp: datetime) -> list[dict[str, Any]]:
        dimensions = [{"Name": "FunctionName", "Value": function_name}]

        def datum(name: str, unit: str, **value: Any) -> dict[str, Any]:
            return {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": timestamp,
                "Unit": unit,
                **value,
            }

        out = [
            datum("Invocations", "Count", Value=float(self.invocations)),
            datum("Errors", "Count", Value=float(self.errors)),
            datum("Throttles", "Count", Value=float(self.throttles)),
            datum("ConcurrentExecutions", "Count", Value=float(self.max_concurrency)),
        ]
        if self.durations:
            stats = {
                "SampleCount": float(len(self.durations)),
                "Sum": sum(self.durations),
                "Minimum": min(self.durations),
                "Maximum": max(self.durations),
            }
            out.append(
                datum(
                    "Duration",
                    "Milliseconds",
                    StatisticValues=stats,
                    **{VALUES_KEY: value_counts(self.durations)},
                )
            )
        return out


class MetricsPublisher(PeriodicFlusher):
    """Aggregate Lambda metrics per function and flush them to CloudWatch every ``interval`` real seconds.

    ``cloudwatch`` returns moto's CloudWatch backend (looked up at each flush, so a reset backend is seen).
    """

    thread_name = "lambda-metrics"

    def __init__(self, clock: Clock, cloudwatch: Callable[[], Any], *, interval: float = 1.0) -> None:
        super().__init__(interval)
        self._clock = clock
        self._cloudwatch = cloudwatch
        self._lock = threading.Lock()
        self._windows: dict[str, _Window] = {}
        self._totals: dict[str, FunctionTotals] = {}
        self._concurrency: dict[str, int] = {}
        self.flushes = 0

    def _window(self, function_name: str) -> _Window:
        window = self._windows.get(function_name)
        if window is None:
            window = self._windows[function_name] = _Window()
            window.started = self._clock.now()
            window.max_concurrency = self._concurrency.get(function_name, 0)
        return window

    def _add(self, function_name: str, **changes: Any) -> None:
        current = self._totals.get(function_name, FunctionTotals())
        values = {name: getattr(current, name) for name in FunctionTotals.__dataclass_fields__}
        for name, change in changes.items():
            values[name] = change(values[name])
        self._totals[function_name] = FunctionTotals(**values)

    def record_invocation(self, function_name: str, duration_ms: float, error: bool) -> None:
        """Count one finished invocation (``error``: it ended in an unhandled error or timeout)."""
        with self._lock:
            window = self._window(function_name)
            window.invocations += 1
            window.errors += int(error)
            window.durations.append(float(duration_ms))
            self._add(
                function_name,
                invocations=lambda n: n + 1,
                errors=lambda n: n + int(error),
                duration_ms_sum=lambda s: s + duration_ms,
                duration_ms_max=lambda m: max(m, duration_ms),
            )

    def record_throttle(self, function_name: str) -> None:
        """Count one throttled invocation."""
        with self._lock:
            self._window(function_name).throttles += 1
            self._add(function_name, throttles=lambda n: n + 1)

    def record_concurrency(self, function_name: str, concurrent: int) -> None:
        """Note the function's current number of running invocations."""
        with self._lock:
            self._concurrency[function_name] = concurrent
            window = self._window(function_name)
            window.max_concurrency = max(window.max_concurrency, concurrent)
            self._add(function_name, concurrent_executions=lambda _: concurrent)

    def flush(self) -> int:
        """Write the pending aggregates now, one put per function; return how many puts were made."""
        with self._lock:
            windows, self._windows = self._windows, {}
        if not windows:
            return 0
        # moto stores naive UTC datetimes for API-written data; an aware one would not compare with them.
        backend = self._cloudwatch()
        for function_name, window in windows.items():
            # Stamped when the window's first event happened, as Lambda stamps an invocation's metrics
            # with its own time: stamping at flush time pushed the last events before an alarm boundary
            # into the next period.
            timestamp = datetime.fromtimestamp(window.started, tz=UTC).replace(tzinfo=None)
            backend.put_metric_data(NAMESPACE, window.datums(function_name, timestamp))
        self.flushes += len(windows)
        return len(windows)

    def snapshot(self) -> dict[str, FunctionTotals]:
        """Return cumulative totals per function name."""
        with self._lock:
            return dict(self._totals)
