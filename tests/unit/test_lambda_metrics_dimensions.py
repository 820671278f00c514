"""The Lambda metrics' dimension sets: FunctionName, plus Resource and ExecutedVersion through a qualifier."""

from __future__ import annotations

from typing import Any

from selfheal.clock import Clock
from selfheal.cloud.metrics import MetricsPublisher, dimension_sets

T0 = 1_800_000_000.0


class Backend:
    """Stands in for moto's CloudWatch backend: keeps every put."""

    def __init__(self) -> None:
        self.puts: list[list[dict[str, Any]]] = []

    def put_metric_data(self, namespace: str, datums: list[dict[str, Any]]) -> None:
        assert namespace == "AWS/Lambda"
        self.puts.append(datums)


def _key(datum: dict[str, Any]) -> tuple[str, tuple[tuple[str, str], ...]]:
    return datum["MetricName"], tuple((d["Name"], d["Value"]) for d in datum["Dimensions"])


def test_dimension_sets_per_way_of_invoking() -> None:
    """Unqualified: FunctionName; a version: + Resource; an alias: + Resource + ExecutedVersion."""
    assert dimension_sets("f") == [(("FunctionName", "f"),)]
    assert dimension_sets("f", "f:3") == [
        (("FunctionName", "f"),),
        (("FunctionName", "f"), ("Resource", "f:3")),
    ]
    assert dimension_sets("f", "f:live", "2") == [
        (("FunctionName", "f"),),
        (("FunctionName", "f"), ("Resource", "f:live")),
        (("FunctionName", "f"), ("Resource", "f:live"), ("ExecutedVersion", "2")),
    ]


def test_one_put_per_function_with_every_set() -> None:
    """Invocations through an alias, a version and none: one put, each set counting its own."""
    now = [T0]
    backend = Backend()
    publisher = MetricsPublisher(Clock(1.0, origin=T0, real_time=lambda: now[0]), lambda: backend)
    publisher.record_concurrency("f", 1)
    publisher.record_invocation("f", 10.0, error=False, resource="f:live", executed_version="2")
    publisher.record_invocation("f", 30.0, error=True, resource="f:live", executed_version="1")
    publisher.record_invocation("f", 20.0, error=False, resource="f:1")
    publisher.record_invocation("f", 40.0, error=False)
    publisher.record_throttle("f", resource="f:live", executed_version="1")
    publisher.record_invocation("g", 5.0, error=False)
    assert publisher.flush() == 2
    (f_datums,) = [put for put in backend.puts if put[0]["Dimensions"][0]["Value"] == "f"]
    by_key = {_key(datum): datum for datum in f_datums}
    assert len(by_key) == len(f_datums)  # one datum per metric and set

    whole = (("FunctionName", "f"),)
    live = (*whole, ("Resource", "f:live"))
    expected = {
        whole: (4, 1, 1),
        live: (2, 1, 1),
        (*live, ("ExecutedVersion", "2")): (1, 0, 0),
        (*live, ("ExecutedVersion", "1")): (1, 1, 1),
        (*whole, ("Resource", "f:1")): (1, 0, 0),
    }
    for dimensions, (invocations, errors, throttles) in expected.items():
        assert by_key["Invocations", dimensions]["Value"] == invocations
        assert by_key["Errors", dimensions]["Value"] == errors
        assert by_key["Throttles", dimensions]["Value"] == throttles
    assert by_key["Duration", live]["StatisticValues"]["Sum"] == 40.0
    assert by_key["Duration", whole]["StatisticValues"]["SampleCount"] == 4
    # ConcurrentExecutions: the function's only, as before.
    concurrency = [key for key in by_key if key[0] == "ConcurrentExecutions"]
    assert concurrency == [("ConcurrentExecutions", whole)]
    assert [datum["MetricName"] for datum in f_datums[:5]] == [
        "Invocations",
        "Errors",
        "Throttles",
        "ConcurrentExecutions",
        "Duration",
    ]
    assert publisher.snapshot()["f"].invocations == 4
