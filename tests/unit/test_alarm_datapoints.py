"""Per-period statistics read from moto's datum objects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum

from selfheal.cloud.alarm_datapoints import MetricSelector, period_datapoints

BOUNDARY = 1795463520.0  # a minute boundary
DIMS = [{"Name": "FunctionName", "Value": "f"}]
SELECTOR = MetricSelector("AWS/Lambda", "Errors", frozenset({("FunctionName", "f")}))


def _at(seconds_before: float) -> datetime:
    return datetime.fromtimestamp(BOUNDARY - seconds_before, UTC).replace(tzinfo=None)


def _datums() -> list[object]:
    return [
        MetricDatum("AWS/Lambda", "Errors", 2.0, DIMS, _at(30)),
        MetricDatum("AWS/Lambda", "Errors", 4.0, DIMS, _at(59)),
        MetricAggregatedDatum("AWS/Lambda", "Errors", 1.0, 3.0, 2.0, 4.0, DIMS, _at(1)),
        MetricDatum("AWS/Lambda", "Errors", 7.0, DIMS, _at(61)),
        MetricDatum("AWS/Lambda", "Errors", 100.0, DIMS, _at(0)),  # the next period: not yet
        MetricDatum("AWS/Lambda", "Errors", 100.0, [*DIMS, {"Name": "Resource", "Value": "f"}], _at(5)),
        MetricDatum("AWS/Lambda", "Invocations", 100.0, DIMS, _at(5)),
    ]


@pytest.mark.parametrize(
    ("statistic", "last"),
    [("Sum", 10.0), ("SampleCount", 4.0), ("Minimum", 1.0), ("Maximum", 4.0), ("Average", 2.5)],
)
def test_statistics_of_the_last_period(statistic: str, last: float) -> None:
    """Raw values and statistic sets of the exact metric combine into the period's statistic."""
    points = period_datapoints(_datums(), SELECTOR, statistic, 60, BOUNDARY, 3)  # type: ignore[arg-type]
    assert [p.timestamp for p in points] == [BOUNDARY - 180, BOUNDARY - 120, BOUNDARY - 60]
    assert points[0].value is None
    assert points[2].value == last


def test_previous_period_is_separate() -> None:
    """A datum just before the last period's start falls in the period before."""
    points = period_datapoints(_datums(), SELECTOR, "Sum", 60, BOUNDARY, 2)
    assert [p.value for p in points] == [7.0, 10.0]
