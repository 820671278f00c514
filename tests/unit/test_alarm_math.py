"""Reading moto alarms into evaluation plans: metric math, percentiles, and what is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto.cloudwatch.models import (
    Alarm,
    Dimension,
    Metric,
    MetricAggregatedDatum,
    MetricDataQuery,
    MetricDatum,
    MetricStat,
)

from healer.notification import AlarmNotification, parse_event
from selfheal.cloud.alarm_datapoints import VALUES_ATTRIBUTE, MetricSelector, PeriodStats
from selfheal.cloud.alarm_evaluation import evaluate
from selfheal.cloud.alarm_math import alarm_period, alarm_plan
from selfheal.cloud.alarm_moto import alarm_snapshot
from selfheal.cloud.alarm_notification import build_notification
from selfheal.cloud.metric_math import UnsupportedExpression
from selfheal.cloud.metrics import value_counts

T0 = 1_700_000_000 - 1_700_000_000 % 60
FN = [{"Name": "FunctionName", "Value": "orders"}]


def _alarm(**overrides: Any) -> Alarm:
    params: dict[str, Any] = {
        "account_id": "123456789012",
        "region_name": "us-east-1",
        "name": "orders-error-rate",
        "namespace": None,
        "metric_name": None,
        "metric_data_queries": None,
        "comparison_operator": "GreaterThanOrEqualToThreshold",
        "evaluation_periods": 2,
        "datapoints_to_alarm": None,
        "period": None,
        "threshold": 10.0,
        "statistic": None,
        "extended_statistic": None,
        "description": "",
        "dimensions": [],
        "alarm_actions": [],
        "ok_actions": None,
        "insufficient_data_actions": None,
        "unit": None,
        "actions_enabled": True,
        "treat_missing_data": "missing",
        "evaluate_low_sample_count_percentile": None,
        "threshold_metric_id": None,
        "rule": None,
    }
    params.update(overrides)
    return Alarm(**params)


def _stat(query_id: str, name: str, stat: str = "Sum") -> MetricDataQuery:
    metric = Metric(name, "AWS/Lambda", [Dimension("FunctionName", "orders")])
    return MetricDataQuery(query_id, "", None, "false", metric_stat=MetricStat(metric, "60", stat, None))  # type: ignore[arg-type]


def _error_rate(expression: str = "100*m1/m2") -> Alarm:
    return _alarm(
        metric_data_queries=[
            _stat("m1", "Errors"),
            _stat("m2", "Invocations"),
            MetricDataQuery("e1", "Error rate", None, "true", expression=expression),  # type: ignore[arg-type]
        ]
    )


def _datum(name: str, value: float, minute: int) -> MetricDatum:
    stamp = datetime.fromtimestamp(T0 + 60 * minute + 5, UTC).replace(tzinfo=None)
    return MetricDatum("AWS/Lambda", name, value, FN, stamp, "Count")


def _window(datums: list[Any]) -> Any:
    def window(selector: MetricSelector, start: float, end: float) -> list[Any]:
        return [
            d
            for d in datums
            if selector.matches(d) and start <= d.timestamp.replace(tzinfo=UTC).timestamp() < end
        ]

    return window


def test_error_rate_plan_evaluates_per_period() -> None:
    """100*m1/m2 over Errors/Invocations gives the error rate of each period; a period without data none."""
    plan = alarm_plan(_error_rate())
    assert plan is not None and plan.returned == "e1" and plan.rule.period == 60
    datums = [
        _datum("Errors", 1, 0),
        _datum("Invocations", 4, 0),
        _datum("Errors", 3, 2),
        _datum("Invocations", 10, 2),
    ]
    points = plan.datapoints(_window(datums), T0 + 180, 3)
    assert [p.value for p in points] == [25.0, None, 30.0]
    result = evaluate(plan.rule, points, "INSUFFICIENT_DATA", T0 + 180)
    assert result.state == "ALARM"
    assert "statistic" not in result.reason_data


def test_unsupported_expression_names_the_part() -> None:
    """A function the local cloud lacks is refused, naming it and the query."""
    with pytest.raises(UnsupportedExpression, match=r"SEARCH.*e1|e1.*SEARCH"):
        alarm_plan(_error_rate("SEARCH('{AWS/Lambda} Errors', 'Sum', 60)"))
    with pytest.raises(UnsupportedExpression, match="ReturnData"):
        alarm_plan(_alarm(metric_data_queries=[_stat("m1", "Errors"), _stat("m2", "Invocations")]))


def test_expression_cycle_is_refused() -> None:
    """Expressions that read each other are refused."""
    alarm = _alarm(
        metric_data_queries=[
            _stat("m1", "Errors"),
            MetricDataQuery("e1", "", None, "true", expression="e2 + m1"),  # type: ignore[arg-type]
            MetricDataQuery("e2", "", None, "false", expression="e1 + 1"),  # type: ignore[arg-type]
        ]
    )
    with pytest.raises(UnsupportedExpression, match="cycle"):
        alarm_plan(alarm)
    assert alarm_period(alarm) == 60


def test_percentile_plan_from_raw_values_and_attached_pairs() -> None:
    """p90 is the nearest-rank percentile of raw values and of a statistic set's attached value pairs."""
    alarm = _alarm(
        namespace="AWS/Lambda",
        metric_name="Duration",
        dimensions=FN,
        period=60,
        extended_statistic="p90",
        evaluation_periods=1,
        threshold=500.0,
        comparison_operator="GreaterThanThreshold",
    )
    plan = alarm_plan(alarm)
    assert plan is not None and plan.rule.extended_statistic == "p90"
    raw = [_datum("Duration", float(v), 0) for v in range(1, 11)]
    stamp = datetime.fromtimestamp(T0 + 65, UTC).replace(tzinfo=None)
    summary = MetricAggregatedDatum("AWS/Lambda", "Duration", 10.0, 900.0, 10, 1000.0, FN, stamp, "Count")
    setattr(summary, VALUES_ATTRIBUTE, ((10.0, 9.0), (900.0, 1.0)))
    opaque = MetricAggregatedDatum("AWS/Lambda", "Duration", 1.0, 2.0, 2, 3.0, FN, stamp, "Count")
    points = plan.datapoints(_window([*raw, summary]), T0 + 120, 2)
    assert [p.value for p in points] == [9.0, 10.0]
    points = plan.datapoints(_window([summary, opaque]), T0 + 120, 1)
    assert points[0].value is None  # a statistic set without its values has no percentile
    result = evaluate(plan.rule, plan.datapoints(_window(raw), T0 + 60, 1), "OK", T0 + 60)
    assert result.reason_data["statistic"] == "p90"


@given(st.lists(st.floats(min_value=1.0, max_value=4.0), min_size=1, max_size=400), st.integers(1, 100))
def test_value_counts_keep_percentiles_within_one_percent(durations: list[float], p: int) -> None:
    """Durations kept as at most 150 pairs; percentiles at most 1 % above the exact ones (≤ 150 buckets)."""
    pairs = value_counts(durations)
    assert len(pairs) <= 150 and sum(c for _, c in pairs) == len(durations)
    exact, approx = PeriodStats(), PeriodStats()
    for value in durations:
        exact.add_value(value)
    approx.add_set(float(len(durations)), sum(durations), min(durations), max(durations))
    approx.add_values(pairs)
    want, got = exact.value(f"p{p}"), approx.value(f"p{p}")
    assert want is not None and got is not None
    assert want <= got <= want * 1.0101


def test_math_alarm_notification_has_metrics_and_parses() -> None:
    """A metric-math alarm's Trigger lists Metrics and no MetricName; the healer reads it as metric math."""
    alarm = _error_rate()
    alarm.alarm_actions = ["arn:aws:sns:us-east-1:123456789012:t"]
    note = build_notification(
        alarm_snapshot(alarm),
        old_state="OK",
        new_state="ALARM",
        reason="r",
        change_time=T0,
        account_id="123456789012",
        region="us-east-1",
    )
    trigger = json.loads(note.message)["Trigger"]
    assert "MetricName" not in trigger and trigger["Period"] == 60
    assert trigger["Metrics"][2] == {
        "Expression": "100*m1/m2",
        "Id": "e1",
        "Label": "Error rate",
        "ReturnData": True,
    }
    assert trigger["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"] == [
        {"value": "orders", "name": "FunctionName"}
    ]
    [parsed] = parse_event({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": note.message}}]})
    assert isinstance(parsed, AlarmNotification) and parsed.kind == "metric_math"


def test_percentile_alarm_notification_names_the_extended_statistic() -> None:
    """A p99 alarm's Trigger has StatisticType ExtendedStatistic and ExtendedStatistic p99."""
    alarm = _alarm(
        namespace="AWS/Lambda", metric_name="Duration", dimensions=FN, period=60, extended_statistic="p99"
    )
    note = build_notification(
        alarm_snapshot(alarm),
        old_state="OK",
        new_state="ALARM",
        reason="r",
        change_time=T0,
        account_id="123456789012",
        region="us-east-1",
    )
    trigger = json.loads(note.message)["Trigger"]
    assert trigger["StatisticType"] == "ExtendedStatistic" and trigger["ExtendedStatistic"] == "p99"
    assert "Statistic" not in trigger


def test_index_keeps_the_publishers_values_on_the_stored_statistic_set() -> None:
    """The index's put wrapper attaches SelfhealValues to the right datum, after expanded Values members."""
    from moto.cloudwatch.models import CloudWatchBackend

    from selfheal.cloud.metric_index import MetricIndex

    backend = CloudWatchBackend("us-east-1", "123456789012")
    index = MetricIndex(backend)
    restore = index.hook()
    try:
        stamp = datetime.fromtimestamp(T0, UTC).replace(tzinfo=None)
        stats = {"SampleCount": 3.0, "Sum": 60.0, "Minimum": 10.0, "Maximum": 30.0}
        backend.put_metric_data(
            "AWS/Lambda",
            [
                {"MetricName": "Raw", "Values": [1.0, 2.0], "Counts": [2.0, 1.0], "Timestamp": stamp},
                {
                    "MetricName": "Duration",
                    "StatisticValues": stats,
                    "Timestamp": stamp,
                    "SelfhealValues": [(10.0, 2.0), (40.0, 1.0)],
                },
                {"MetricName": "Plain", "Value": 1.0, "Timestamp": stamp},
            ],
        )
    finally:
        restore()
    stored = {d.name: d for d in backend.metric_data}
    assert len(backend.metric_data) == 5
    assert getattr(stored["Duration"], VALUES_ATTRIBUTE) == ((10.0, 2.0), (40.0, 1.0))
    assert not hasattr(stored["Plain"], VALUES_ATTRIBUTE) and not hasattr(stored["Raw"], VALUES_ATTRIBUTE)
