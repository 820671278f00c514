"""CloudWatch's EventBridge event and Lambda alarm-action payload of a moto alarm; the healer parses both."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from healer.notification import parse_event
from selfheal.cloud.alarm_transitions import StateChange
from selfheal.cloud.eventbridge_alarms import lambda_action_payload, state_change_event

EVENTS = Path(__file__).resolve().parents[1] / "events"
ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:selfheal-fragile-errors"
CHANGED = 1795464000.0  # 2026-11-23T20:00:00Z
BEFORE = 1795462860.0  # 2026-11-23T19:41:00Z
OLD = ("OK", "Threshold Crossed: back", '{"version":"1.0"}')


def _alarm(**overrides: Any) -> SimpleNamespace:
    values: dict[str, Any] = {
        "name": "selfheal-fragile-errors",
        "alarm_arn": ARN,
        "description": "Errors of the fragile function",
        "state_value": "ALARM",
        "state_reason": "Threshold Crossed: 1 out of the last 1 datapoints",
        "state_reason_data": '{"version":"1.0","statistic":"Sum"}',
        "configuration_updated_timestamp": datetime(2026, 11, 23, 19, 0),
        "rule": None,
        "metric_data_queries": [],
        "namespace": "AWS/Lambda",
        "metric_name": "Errors",
        "dimensions": [SimpleNamespace(name="FunctionName", value="selfheal-fragile")],
        "period": 60,
        "statistic": "Sum",
        "extended_statistic": None,
        "unit": None,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def _shape(value: Any) -> Any:
    """The keys of nested objects (their order included), with leaf values dropped."""
    if isinstance(value, dict):
        return [(key, _shape(item)) for key, item in value.items() if key not in ("id",)]
    if isinstance(value, list):
        return [_shape(item) for item in value[:1]]
    return None


@pytest.mark.parametrize(
    ("fixture", "build"),
    [
        ("eventbridge_alarm_fragile.json", state_change_event),
        ("direct_alarm_fragile.json", lambda_action_payload),
    ],
)
def test_payloads_have_the_fixtures_shape(fixture: str, build: Any) -> None:
    """Both payloads have AWS's keys, in AWS's order, as the recorded fixtures show them."""
    expected = json.loads((EVENTS / fixture).read_text())
    built = build(StateChange(_alarm(), OLD, BEFORE, CHANGED, "123456789012", "us-east-1"))
    assert _shape(built) == _shape(expected)
    data = built.get("detail") or built["alarmData"]
    wanted = expected.get("detail") or expected["alarmData"]
    assert (
        data["configuration"]["metrics"][0]["metricStat"]
        == wanted["configuration"]["metrics"][0]["metricStat"]
    )
    assert data["state"]["timestamp"] == "2026-11-23T20:00:00.000+0000"
    assert data["previousState"] == {
        "value": "OK",
        "reason": "Threshold Crossed: back",
        "reasonData": '{"version":"1.0"}',
        "timestamp": "2026-11-23T19:41:00.000+0000",
    }
    assert built["time"] == expected["time"]
    (parsed,) = parse_event({**built, "id": "e-1"} if "detail" in built else built)
    assert not isinstance(parsed, Exception)
    assert (parsed.alarm_arn, parsed.new_state, parsed.old_state) == (ARN, "ALARM", "OK")


def test_metric_math_and_composite_configurations() -> None:
    """Metric-math alarms list their queries, composite ones give their rule; the healer tells them apart."""
    stat = SimpleNamespace(
        metric=SimpleNamespace(namespace="AWS/Lambda", metric_name="Errors", dimensions=[]),
        period="60",
        stat="Sum",
    )
    queries = [
        SimpleNamespace(id="e", expression="m / 2", label="half", metric_stat=None, return_data="true"),
        SimpleNamespace(id="m", expression=None, label=None, metric_stat=stat, return_data="false"),
    ]
    math = lambda_action_payload(
        StateChange(
            _alarm(metric_data_queries=queries, metric_name=None, namespace=None, statistic=None),
            OLD,
            None,
            CHANGED,
            "123456789012",
            "us-east-1",
        )
    )
    metrics = math["alarmData"]["configuration"]["metrics"]
    assert [(m["id"], m.get("expression"), m["returnData"]) for m in metrics] == [
        ("e", "m / 2", True),
        ("m", None, False),
    ]
    assert math["alarmData"]["previousState"]["timestamp"] == "2026-11-23T19:00:00.000+0000"  # the creation
    (parsed,) = parse_event(math)
    assert not isinstance(parsed, Exception) and parsed.trigger.kind == "metric_math"

    composite = state_change_event(
        StateChange(
            _alarm(rule='ALARM("a") OR ALARM("b")'), OLD, BEFORE, CHANGED, "123456789012", "us-east-1"
        )
    )
    assert composite["detail"]["configuration"] == {
        "description": "Errors of the fragile function",
        "alarmRule": 'ALARM("a") OR ALARM("b")',
    }
    (parsed,) = parse_event({**composite, "id": "e-2"})
    assert not isinstance(parsed, Exception) and parsed.trigger.kind == "composite"
