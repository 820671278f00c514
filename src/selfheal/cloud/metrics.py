"""Lambda's ``AWS/Lambda`` metrics for the local cloud: recorded per invocation, written once per second.

The Lambda service records each invocation, throttle and concurrency level here. A flusher thread writes,
every real second, one ``put_metric_data`` per function (Invocations, Errors, Duration as a statistic set,
Throttles, ConcurrentExecutions as Maximum) straight into moto's CloudWatch backend, stamped in *cloud* time
so that alarm periods pass ``clock.scale`` times faster. Counts are kept per bucket of cloud time (1 s, or
5 s above time scale 5: both divide every alarm period) and stamped at the bucket's start, so however late
a flush runs, a count stays in the period it happened in.

An invocation through a version or an alias is also counted under AWS's extra dimension sets (AWS Lambda
Developer Guide, "Viewing metrics for Lambda functions": by ``FunctionName``, by ``Resource`` — a version or
alias —, by ``ExecutedVersion`` — "a combination of alias and version"): ``FunctionName`` + ``Resource``
(``name:alias`` or ``name:version``) and, through an alias, ``FunctionName`` + ``Resource`` +
``ExecutedVersion`` (the version that ran; the set AWS's metric metadata lists, see
:func:`dimension_sets`). Invocations, Errors, Throttles and Duration are published per set;
ConcurrentExecutions only per ``FunctionName``. All of a function's sets go in its one put.

Duration's statistic set also carries the durations themselves, as at most :data:`MAX_DURATION_VALUES`
(value, count) pairs under :data:`VALUES_KEY` (moto ignores the key; the alarm scheduler's datum index
attaches the pairs to the stored datum), so that percentile alarms (``p99``) can be evaluated: exact while a
window holds few distinct durations, else rounded up to buckets 1 % wide (a percentile is then at most 1 %
high), so memory stays bounded whatever the invocation rate.

The HTTP API data plane records each request it attributes to an API stage
(:meth:`MetricsPublisher.record_api_request`); the same flush writes API Gateway's HTTP API metrics into
``AWS/ApiGateway``, per ``ApiId`` and per ``ApiId`` + ``Stage`` (the dimension sets HTTP APIs publish without
detailed metrics):
``Count``, ``4xx`` and ``5xx`` as statistic sets of one 0/1 sample per request (Sum counts, Average is the
rate, as on AWS), ``Latency`` and ``IntegrationLatency`` in milliseconds with their values for percentiles.
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
from selfheal.cloud.lambda_functions import backend_in_region

__all__ = [
    "API_NAMESPACE",
    "MAX_DURATION_VALUES",
    "NAMESPACE",
    "VALUES_KEY",
    "ApiStages",
    "ApiWindow",
    "Dimensions",
    "FunctionTotals",
    "MetricsPublisher",
    "dimension_sets",
    "value_counts",
]

NAMESPACE = "AWS/Lambda"
API_NAMESPACE = "AWS/ApiGateway"
VALUES_KEY = "SelfhealValues"
MAX_DURATION_VALUES = 150  # as many distinct values as PutMetricData's Values takes
_BUCKET = math.log(1.01)

#: One dimension set, as (name, value) pairs in the order they are published.
Dimensions = tuple[tuple[str, str], ...]


def dimension_sets(
    function_name: str, resource: str | None = None, executed_version: str | None = None
) -> list[Dimensions]:
    """The dimension sets Lambda counts one invocation under.

    Always ``FunctionName`` (every version and alias together); invoked through a version or an alias
    (``resource``: ``name:qualifier``), also ``FunctionName`` + ``Resource``; through an alias
    (``executed_version``: the version that ran), also ``FunctionName`` + ``Resource`` +
    ``ExecutedVersion``, the set AWS's metric metadata gives ``ExecutedVersion`` (e.g. ``Invocations``:
    {FunctionName}, {FunctionName, Resource}, {ExecutedVersion, FunctionName, Resource}).
    """
    base: Dimensions = (("FunctionName", function_name),)
    if not resource:
        return [base]
    qualified = (*base, ("Resource", resource))
    if not executed_version:
        return [base, qualified]
    return [base, qualified, (*qualified, ("ExecutedVersion", executed_version))]


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


class _Totals:
    """The running :class:`FunctionTotals` of one function, updated in place (one per record is dearer)."""

    __slots__ = (
        "concurrent_executions",
        "duration_ms_max",
        "duration_ms_sum",
        "errors",
        "invocations",
        "throttles",
    )

    def __init__(self) -> None:
        self.invocations = 0
        self.errors = 0
        self.throttles = 0
        self.duration_ms_sum = 0.0
        self.duration_ms_max = 0.0
        self.concurrent_executions = 0

    def frozen(self) -> FunctionTotals:
        return FunctionTotals(**{name: getattr(self, name) for name in self.__slots__})


class _Series:
    """What happened under one dimension set of one function since the last flush."""

    def __init__(self) -> None:
        self.invocations = 0
        self.errors = 0
        self.throttles = 0
        self.durations: list[float] = []

    def datums(self, dimensions: Dimensions, timestamp: datetime) -> list[dict[str, Any]]:
        listed = [{"Name": name, "Value": value} for name, value in dimensions]

        def datum(name: str, unit: str, **value: Any) -> dict[str, Any]:
            return {
                "MetricName": name,
                "Dimensions": listed,
                "Timestamp": timestamp,
                "Unit": unit,
                **value,
            }

        out = [
            datum("Invocations", "Count", Value=float(self.invocations)),
            datum("Errors", "Count", Value=float(self.errors)),
            datum("Throttles", "Count", Value=float(self.throttles)),
        ]
        if self.durations:
            out.append(
                datum(
                    "Duration",
                    "Milliseconds",
                    StatisticValues=_statistic_set(self.durations),
                    **{VALUES_KEY: value_counts(self.durations)},
                )
            )
        return out


class _Window:
    """What happened to one function since the last flush: one series per dimension set."""

    def __init__(self, function_name: str) -> None:
        self.series: dict[Dimensions, _Series] = {(("FunctionName", function_name),): _Series()}
        self.max_concurrency = 0
        self.started = 0.0  # cloud time of the window's first record

    def counted(self, sets: list[Dimensions]) -> list[_Series]:
        """The series of ``sets``, created when new."""
        return [self.series.get(key) or self.series.setdefault(key, _Series()) for key in sets]

    def datums(self, timestamp: datetime) -> list[dict[str, Any]]:
        (function_set, whole), *qualified = self.series.items()  # the FunctionName set comes first
        out = whole.datums(function_set, timestamp)
        out.insert(
            3,  # after Invocations, Errors, Throttles, as before there were other sets
            {
                "MetricName": "ConcurrentExecutions",
                "Dimensions": [{"Name": name, "Value": value} for name, value in function_set],
                "Timestamp": timestamp,
                "Unit": "Count",
                "Value": float(self.max_concurrency),
            },
        )
        for dimensions, series in qualified:
            out += series.datums(dimensions, timestamp)
        return out


def _statistic_set(values: list[float]) -> dict[str, float]:
    return {
        "SampleCount": float(len(values)),
        "Sum": float(sum(values)),
        "Minimum": float(min(values)),
        "Maximum": float(max(values)),
    }


class ApiWindow:
    """What one API stage served since the last flush (HTTP APIs here; REST APIs: .rest_api_metrics)."""

    def __init__(self, started: float) -> None:
        self.count = 0
        self.client_errors = 0
        self.server_errors = 0
        self.latencies: list[float] = []
        self.integration_latencies: list[float] = []
        self.started = started  # cloud time of the window's first request

    def record(self, status: int, latency_ms: float, integration_latency_ms: float | None) -> None:
        """Count one request answered with ``status`` (``integration_latency_ms`` None: no integration)."""
        self.count += 1
        if 400 <= status < 500:
            self.client_errors += 1
        elif status >= 500:
            self.server_errors += 1
        self.latencies.append(latency_ms)
        if integration_latency_ms is not None:
            self.integration_latencies.append(integration_latency_ms)

    def add(self, other: ApiWindow) -> None:
        self.count += other.count
        self.client_errors += other.client_errors
        self.server_errors += other.server_errors
        self.latencies += other.latencies
        self.integration_latencies += other.integration_latencies
        self.started = min(self.started, other.started)

    def datums(
        self, dimensions: list[dict[str, str]], timestamp: datetime, errors: tuple[str, str] = ("4xx", "5xx")
    ) -> list[dict[str, Any]]:
        """The window's datums; ``errors``: the names of the 4xx and 5xx counts (REST APIs: 4XXError…)."""

        def counted(name: str, hits: int) -> dict[str, Any]:
            # One 0/1 sample per request, as API Gateway records them: Sum counts, Average is the rate.
            stats = {
                "SampleCount": float(self.count),
                "Sum": float(hits),
                "Minimum": 0.0 if hits < self.count else 1.0,
                "Maximum": 1.0 if hits else 0.0,
            }
            return {
                "MetricName": name,
                "Dimensions": dimensions,
                "Timestamp": timestamp,
                "Unit": "Count",
                "StatisticValues": stats,
            }

        out = [counted("Count", self.count), counted(errors[0], self.client_errors)]
        out.append(counted(errors[1], self.server_errors))
        for name, values in (("Latency", self.latencies), ("IntegrationLatency", self.integration_latencies)):
            if values:
                out.append(
                    {
                        "MetricName": name,
                        "Dimensions": dimensions,
                        "Timestamp": timestamp,
                        "Unit": "Milliseconds",
                        "StatisticValues": _statistic_set(values),
                        VALUES_KEY: value_counts(values),
                    }
                )
        return out


class MetricsPublisher(PeriodicFlusher):
    """Aggregate Lambda metrics per function and flush them to CloudWatch every ``interval`` real seconds.

    ``cloudwatch`` returns moto's CloudWatch backend (looked up at each flush, so a reset backend is seen).
    A function's metrics go to the CloudWatch of its own region (``region=``; None: ``cloudwatch``'s), as an
    API's do; functions and APIs are keyed by region and name, so one name in two regions is two series.
    """

    thread_name = "lambda-metrics"

    def __init__(
        self,
        clock: Clock,
        cloudwatch: Callable[[], Any],
        *,
        interval: float = 1.0,
        bucket_seconds: float | None = None,
    ) -> None:
        super().__init__(interval)
        self._clock = clock
        self._cloudwatch = cloudwatch
        # Counts go to the bucket of cloud time they happened in (1 s, 5 s above time scale 5: both divide
        # every alarm period), so a late flush never moves them into another period.
        self._bucket = bucket_seconds if bucket_seconds is not None else (1.0 if clock.scale <= 5 else 5.0)
        self._lock = threading.Lock()
        self._windows: dict[tuple[str | None, str, float], _Window] = {}
        self._totals: dict[str, _Totals] = {}
        self._concurrency: dict[tuple[str | None, str], int] = {}
        self._apis = ApiStages(clock)
        self.flushes = 0

    def _window(self, function_name: str, region: str | None) -> _Window:
        """The window of ``function_name`` in ``region`` for the cloud-time bucket happening now."""
        start = math.floor(self._clock.now() / self._bucket) * self._bucket
        window = self._windows.get((region, function_name, start))
        if window is None:
            window = self._windows[(region, function_name, start)] = _Window(function_name)
            window.started = start
            window.max_concurrency = self._concurrency.get((region, function_name), 0)
        return window

    def _running_totals(self, function_name: str) -> _Totals:
        totals = self._totals.get(function_name)
        if totals is None:
            totals = self._totals[function_name] = _Totals()
        return totals

    def record_invocation(
        self,
        function_name: str,
        duration_ms: float,
        error: bool,
        *,
        resource: str | None = None,
        executed_version: str | None = None,
        region: str | None = None,
    ) -> None:
        """Count one finished invocation (``error``: it ended in an unhandled error or timeout).

        ``resource``: ``name:qualifier`` when it was invoked through a version or an alias;
        ``executed_version``: the version that ran, when through an alias (see :func:`dimension_sets`).
        """
        with self._lock:
            window = self._window(function_name, region)
            for series in window.counted(dimension_sets(function_name, resource, executed_version)):
                series.invocations += 1
                series.errors += int(error)
                series.durations.append(float(duration_ms))
            totals = self._running_totals(function_name)
            totals.invocations += 1
            totals.errors += int(error)
            totals.duration_ms_sum += duration_ms
            totals.duration_ms_max = max(totals.duration_ms_max, duration_ms)

    def record_throttle(
        self,
        function_name: str,
        *,
        resource: str | None = None,
        executed_version: str | None = None,
        region: str | None = None,
    ) -> None:
        """Count one throttled invocation (``resource``, ``executed_version``, ``region``: as for
        :meth:`record_invocation`)."""
        with self._lock:
            window = self._window(function_name, region)
            for series in window.counted(dimension_sets(function_name, resource, executed_version)):
                series.throttles += 1
            self._running_totals(function_name).throttles += 1

    def record_concurrency(self, function_name: str, concurrent: int, *, region: str | None = None) -> None:
        """Note the function's current number of running invocations."""
        with self._lock:
            self._concurrency[(region, function_name)] = concurrent
            window = self._window(function_name, region)
            window.max_concurrency = max(window.max_concurrency, concurrent)
            self._running_totals(function_name).concurrent_executions = concurrent

    def record_api_request(
        self,
        api_id: str,
        stage: str,
        status: int,
        latency_ms: float,
        integration_latency_ms: float | None = None,
        *,
        region: str | None = None,
    ) -> None:
        """Count one request an HTTP API stage (of ``region``) answered with ``status``
        (``integration_latency_ms``: how long its integration took, None when none was called)."""
        self._apis.record((region, api_id, stage), status, latency_ms, integration_latency_ms)

    def flush(self) -> int:
        """Write the pending aggregates now, one put per function and per API; return how many puts."""
        with self._lock:
            windows, self._windows = self._windows, {}
        by_function: dict[tuple[str | None, str], list[dict[str, Any]]] = {}
        for (region, function_name, _), window in windows.items():
            # Stamped at the start of the bucket the events happened in, as Lambda stamps an invocation's
            # metrics with its own time: stamping at flush time (or at the first event before a late
            # flush) moved counts across alarm periods (15 then 105 requests at a steady rate). moto
            # stores naive UTC datetimes for API-written data; an aware one would not compare with them.
            timestamp = datetime.fromtimestamp(window.started, tz=UTC).replace(tzinfo=None)
            by_function.setdefault((region, function_name), []).extend(window.datums(timestamp))
        if by_function:
            backend = self._cloudwatch()
            for (region, _), datums in by_function.items():
                backend_in_region(backend, "cloudwatch", region).put_metric_data(NAMESPACE, datums)
        puts = len(by_function) + self._apis.flush(self._cloudwatch)
        self.flushes += puts
        return puts

    def snapshot(self) -> dict[str, FunctionTotals]:
        """Return cumulative totals per function name."""
        with self._lock:
            return {name: totals.frozen() for name, totals in self._totals.items()}


class ApiStages:
    """The open windows of API stages, keyed by (region, API, stage): filled under a lock, taken whole by a
    flush, and written one put per API into its region's CloudWatch: its stages' datums (API + Stage) and
    their sum (API). ``api_dimension`` and ``errors``: ``ApiId`` and 4xx/5xx for HTTP APIs, ``ApiName`` and
    4XXError/5XXError for REST APIs."""

    def __init__(self, clock: Clock, api_dimension: str = "ApiId", errors: tuple[str, str] = ("4xx", "5xx")):
        self._clock = clock
        self._api_dimension = api_dimension
        self._errors = errors
        self._lock = threading.Lock()
        self._windows: dict[tuple[str | None, str, str], ApiWindow] = {}

    def record(
        self, key: tuple[str | None, str, str], status: int, latency_ms: float, integration_ms: float | None
    ) -> None:
        """Count one request the stage ``key`` (region, API, stage) answered with ``status``."""
        with self._lock:
            window = self._windows.get(key)
            if window is None:
                window = self._windows[key] = ApiWindow(self._clock.now())
            window.record(status, latency_ms, integration_ms)

    def flush(self, cloudwatch: Callable[[], Any]) -> int:
        """Write what is pending to ``cloudwatch()`` (not called when nothing is); return how many puts."""
        with self._lock:
            windows, self._windows = self._windows, {}
        by_api: dict[tuple[str | None, str], list[tuple[str, ApiWindow]]] = {}
        for (region, api, stage), window in windows.items():
            by_api.setdefault((region, api), []).append((stage, window))
        backend = cloudwatch() if by_api else None
        for (region, api), stages in by_api.items():
            datums: list[dict[str, Any]] = []
            whole = ApiWindow(min(window.started for _, window in stages))
            for stage, window in stages:
                whole.add(window)
                timestamp = datetime.fromtimestamp(window.started, tz=UTC).replace(tzinfo=None)
                dimensions = [{"Name": self._api_dimension, "Value": api}, {"Name": "Stage", "Value": stage}]
                datums += window.datums(dimensions, timestamp, self._errors)
            timestamp = datetime.fromtimestamp(whole.started, tz=UTC).replace(tzinfo=None)
            datums += whole.datums([{"Name": self._api_dimension, "Value": api}], timestamp, self._errors)
            backend_in_region(backend, "cloudwatch", region).put_metric_data(API_NAMESPACE, datums)
        return len(by_api)
