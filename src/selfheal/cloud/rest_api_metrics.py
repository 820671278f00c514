"""API Gateway's ``AWS/ApiGateway`` metrics of REST APIs, aggregated per stage and flushed periodically.

REST APIs publish per ``ApiName`` and per ``ApiName`` + ``Stage`` (not ``ApiId``, as HTTP APIs do), with
the metric names ``Count``, ``4XXError``, ``5XXError``, ``Latency`` and ``IntegrationLatency``. Counts are one
0/1 sample per request, as API Gateway records them: ``Sum`` counts, ``Average`` is the rate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..clock import Clock
from .flusher import PeriodicFlusher
from .metrics import API_NAMESPACE, VALUES_KEY, value_counts

__all__ = ["RestApiMetrics"]


@dataclass
class _Window:
    """What one REST API stage served since the last flush."""

    started: float
    count: int = 0
    client_errors: int = 0
    server_errors: int = 0
    latencies: list[float] = field(default_factory=list)
    integration_latencies: list[float] = field(default_factory=list)

    def add(self, other: _Window) -> None:
        self.started = min(self.started, other.started)
        self.count += other.count
        self.client_errors += other.client_errors
        self.server_errors += other.server_errors
        self.latencies += other.latencies
        self.integration_latencies += other.integration_latencies

    def datums(self, dimensions: list[dict[str, str]]) -> list[dict[str, Any]]:
        # moto stores naive UTC datetimes for API-written data; an aware one would not compare with them.
        timestamp = datetime.fromtimestamp(self.started, tz=UTC).replace(tzinfo=None)

        def counted(name: str, hits: int) -> dict[str, Any]:
            stats = {
                "SampleCount": float(self.count),
                "Sum": float(hits),
                "Minimum": 0.0 if hits < self.count else 1.0,
                "Maximum": 1.0 if hits else 0.0,
            }
            return {"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp, "Unit": "Count",
                    "StatisticValues": stats}  # fmt: skip

        out = [counted("Count", self.count), counted("4XXError", self.client_errors)]
        out.append(counted("5XXError", self.server_errors))
        for name, values in (("Latency", self.latencies), ("IntegrationLatency", self.integration_latencies)):
            if values:
                stats = {"SampleCount": float(len(values)), "Sum": float(sum(values)),
                         "Minimum": float(min(values)), "Maximum": float(max(values))}  # fmt: skip
                out.append({"MetricName": name, "Dimensions": dimensions, "Timestamp": timestamp,
                            "Unit": "Milliseconds", "StatisticValues": stats,
                            VALUES_KEY: value_counts(values)})  # fmt: skip
        return out


class RestApiMetrics(PeriodicFlusher):
    """Count REST API requests per (API name, stage); write them to CloudWatch every ``interval`` seconds.

    ``cloudwatch`` returns moto's CloudWatch backend (looked up at each flush, so a reset backend is seen).
    """

    thread_name = "rest-api-metrics"

    def __init__(self, clock: Clock, cloudwatch: Callable[[], Any], *, interval: float = 1.0) -> None:
        super().__init__(interval)
        self._clock = clock
        self._cloudwatch = cloudwatch
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], _Window] = {}

    def record(
        self, api_name: str, stage: str, status: int, latency_ms: float, integration_ms: float | None
    ) -> None:
        """Count one request a stage answered with ``status`` (``integration_ms``: None when no integration
        was called)."""
        with self._lock:
            window = self._windows.get((api_name, stage))
            if window is None:
                window = self._windows[(api_name, stage)] = _Window(self._clock.now())
            window.count += 1
            window.client_errors += int(400 <= status < 500)
            window.server_errors += int(status >= 500)
            window.latencies.append(latency_ms)
            if integration_ms is not None:
                window.integration_latencies.append(integration_ms)

    def flush(self) -> int:
        """Write what is pending, one put per API; return how many puts."""
        with self._lock:
            windows, self._windows = self._windows, {}
        by_api: dict[str, list[tuple[str, _Window]]] = {}
        for (api_name, stage), window in windows.items():
            by_api.setdefault(api_name, []).append((stage, window))
        if not by_api:
            return 0
        backend = self._cloudwatch()
        for api_name, stages in by_api.items():
            whole = _Window(min(window.started for _, window in stages))
            datums: list[dict[str, Any]] = []
            for stage, window in stages:
                whole.add(window)
                datums += window.datums(
                    [{"Name": "ApiName", "Value": api_name}, {"Name": "Stage", "Value": stage}]
                )
            datums += whole.datums([{"Name": "ApiName", "Value": api_name}])
            backend.put_metric_data(API_NAMESPACE, datums)
        return len(by_api)
