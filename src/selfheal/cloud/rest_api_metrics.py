"""API Gateway's ``AWS/ApiGateway`` metrics of REST APIs, aggregated per stage and flushed periodically.

REST APIs publish per ``ApiName`` and per ``ApiName`` + ``Stage`` (not ``ApiId``, as HTTP APIs do), with
the metric names ``Count``, ``4XXError``, ``5XXError``, ``Latency`` and ``IntegrationLatency``. Counts are one
0/1 sample per request, as API Gateway records them: ``Sum`` counts, ``Average`` is the rate. An API's
metrics go to the CloudWatch of the API's own region; the windows and the put are HTTP APIs' own
(:class:`.metrics.ApiStages`), with REST's names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..clock import Clock
from .flusher import PeriodicFlusher
from .metrics import ApiStages

__all__ = ["REST_ERROR_METRICS", "RestApiMetrics"]

#: REST APIs' names of the 4xx and 5xx counts (HTTP APIs: ``4xx`` and ``5xx``).
REST_ERROR_METRICS = ("4XXError", "5XXError")


class RestApiMetrics(PeriodicFlusher):
    """Count REST API requests per (region, API name, stage); write them to CloudWatch every ``interval``
    seconds.

    ``cloudwatch`` returns moto's CloudWatch backend (looked up at each flush, so a reset backend is seen);
    an API of another region is written to that region's backend of the same account.
    """

    thread_name = "rest-api-metrics"

    def __init__(self, clock: Clock, cloudwatch: Callable[[], Any], *, interval: float = 1.0) -> None:
        super().__init__(interval)
        self._cloudwatch = cloudwatch
        self._stages = ApiStages(clock, "ApiName", REST_ERROR_METRICS)

    def record(
        self,
        api_name: str,
        stage: str,
        status: int,
        latency_ms: float,
        integration_ms: float | None,
        *,
        region: str | None = None,
    ) -> None:
        """Count one request a stage (of ``region``; None: ``cloudwatch``'s) answered with ``status``
        (``integration_ms``: None when no integration was called)."""
        self._stages.record((region, api_name, stage), status, latency_ms, integration_ms)

    def flush(self) -> int:
        """Write what is pending, one put per API; return how many puts."""
        return self._stages.flush(self._cloudwatch)
