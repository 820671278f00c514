"""Lambda's ``AWS/Lambda`` metrics for the local cloud: recorded per invocation, written once per second.

The Lambda service records each invocation, throttle and concurrency level here. A flusher thread writes,
every real second, one ``put_metric_data`` per function (Invocations, Errors, Duration as a statistic set,
Throttles, ConcurrentExecutions as Maximum) straight into moto's CloudWatch backend, stamped in *cloud* time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from selfheal.clock import Clock

__all__ = ["FunctionTotals", "MetricsPublisher"]

NAMESPACE = "AWS/Lambda"


@dataclass(frozen=True)
class FunctionTotals:
    """Cumulative counts for one function since the cloud started (for dashboards)."""

    invocations: int
    errors: int
    throttles: int
    duration_ms_sum: float
    duration_ms_max: float
    concurrent_executions: int


class MetricsPublisher:
    """Aggregate Lambda metrics per function and flush them to CloudWatch every ``interval`` real seconds."""

    def __init__(
        self,
        clock: Clock,
        cloudwatch: Callable[[], Any],
        *,
        interval: float = 1.0,
    ) -> None:
        self._clock = clock
        self._cloudwatch = cloudwatch
        self._interval = interval
        self._lock = threading.Lock()

    def record_invocation(self, function_name: str, duration_ms: float, error: bool) -> None:
        """Count one finished invocation (``error``: it ended in an unhandled error or timeout)."""
        raise NotImplementedError

    def record_throttle(self, function_name: str) -> None:
        """Count one throttled invocation."""
        raise NotImplementedError

    def record_concurrency(self, function_name: str, concurrent: int) -> None:
        """Note the function's current number of running invocations."""
        raise NotImplementedError

    def flush(self) -> None:
        """Write the pending aggregates now: one put per function."""
        raise NotImplementedError

    def snapshot(self) -> dict[str, FunctionTotals]:
        """Return cumulative totals per function name."""
        raise NotImplementedError

    def start(self) -> None:
        """Start the once-per-interval flusher thread."""
        raise NotImplementedError

    def stop(self) -> None:
        """Flush what is pending and stop the flusher thread."""
        raise NotImplementedError
