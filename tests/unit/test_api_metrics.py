"""The metrics publisher's AWS/ApiGateway datums, written to a recording backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from selfheal.clock import Clock
from selfheal.cloud.metrics import API_NAMESPACE, VALUES_KEY, MetricsPublisher


class RecordingBackend:
    """Stands in for moto's CloudWatch backend: keeps every put."""

    def __init__(self) -> None:
        self.puts: list[tuple[str, list[dict[str, Any]]]] = []

    def put_metric_data(self, namespace: str, data: list[dict[str, Any]]) -> None:
        self.puts.append((namespace, data))


def _publisher(now: float = 1_800_000_000.0) -> tuple[MetricsPublisher, RecordingBackend]:
    backend = RecordingBackend()
    clock = Clock(1.0, origin=now, real_time=lambda: now)
    return MetricsPublisher(clock, lambda: backend), backend


def _by_dimensions(data: list[dict[str, Any]]) -> dict[tuple[tuple[str, str], ...], dict[str, Any]]:
    out: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
    for datum in data:
        key = tuple((d["Name"], d["Value"]) for d in datum["Dimensions"])
        out.setdefault(key, {})[datum["MetricName"]] = datum
    return out


def test_requests_become_count_4xx_5xx_and_latency_sets_per_api_and_stage() -> None:
    """One put per API: per ApiId+Stage and per ApiId, 0/1 samples per request and latency sets."""
    publisher, backend = _publisher()
    publisher.record_api_request("a1", "$default", 200, 12.0, 10.0)
    publisher.record_api_request("a1", "$default", 404, 3.0, None)
    publisher.record_api_request("a1", "$default", 502, 40.0, 38.0)
    publisher.record_api_request("a1", "prod", 200, 5.0, 4.0)
    assert publisher.flush() == 1

    ((namespace, data),) = backend.puts
    assert namespace == API_NAMESPACE
    metrics = _by_dimensions(data)
    default = metrics[(("ApiId", "a1"), ("Stage", "$default"))]
    whole = metrics[(("ApiId", "a1"),)]
    assert set(metrics) == {
        (("ApiId", "a1"), ("Stage", "$default")),
        (("ApiId", "a1"), ("Stage", "prod")),
        (("ApiId", "a1"),),
    }
    assert default["Count"]["StatisticValues"] == {"SampleCount": 3, "Sum": 3, "Minimum": 1, "Maximum": 1}
    assert default["4xx"]["StatisticValues"] == {"SampleCount": 3, "Sum": 1, "Minimum": 0, "Maximum": 1}
    assert default["5xx"]["StatisticValues"]["Sum"] == 1
    assert default["Latency"]["StatisticValues"] == {"SampleCount": 3, "Sum": 55, "Minimum": 3, "Maximum": 40}
    assert default["Latency"]["Unit"] == "Milliseconds" and default["Count"]["Unit"] == "Count"
    assert default["Latency"][VALUES_KEY] == [(3.0, 1.0), (12.0, 1.0), (40.0, 1.0)]
    # IntegrationLatency only for requests that reached the integration.
    assert default["IntegrationLatency"]["StatisticValues"]["SampleCount"] == 2
    assert whole["Count"]["StatisticValues"]["Sum"] == 4
    assert whole["5xx"]["StatisticValues"] == {"SampleCount": 4, "Sum": 1, "Minimum": 0, "Maximum": 1}
    assert default["Count"]["Timestamp"] == datetime.fromtimestamp(1_800_000_000.0, UTC).replace(tzinfo=None)


def test_quiet_window_writes_nothing_and_lambda_metrics_are_unchanged() -> None:
    """No request, no API datum; Lambda's own put is still one per function."""
    publisher, backend = _publisher()
    assert publisher.flush() == 0
    publisher.record_invocation("fn", 5.0, error=False)
    assert publisher.flush() == 1
    assert [namespace for namespace, _ in backend.puts] == ["AWS/Lambda"]


def test_no_errors_give_zero_sums_with_samples() -> None:
    """A period of successes still has 4xx/5xx samples (Sum 0), so Average is a 0 % rate."""
    publisher, backend = _publisher()
    publisher.record_api_request("a2", "$default", 204, 1.0, 1.0)
    publisher.flush()
    metrics = _by_dimensions(backend.puts[0][1])
    five = metrics[(("ApiId", "a2"),)]["5xx"]["StatisticValues"]
    assert five == {"SampleCount": 1, "Sum": 0, "Minimum": 0, "Maximum": 0}
