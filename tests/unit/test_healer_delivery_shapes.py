"""Unit tests of the three alarm deliveries (SNS, alarm action, EventBridge) parsed into one typed value."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzzing
from fuzzing import failing_clients, mutated
from healer.alarm import Dimension, InvalidFieldValue, Metric, MissingField, Trigger, WrongFieldType
from healer.clock import ManualClock
from healer.config import HealerConfig
from healer.healing import Healer
from healer.notification import (
    AlarmNotification,
    MalformedNotification,
    NotAnSnsEvent,
    parse_event,
    parse_message,
)

EVENTS = Path(__file__).resolve().parents[1] / "events"
TARGET = "selfheal-fragile"
ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"
SHAPES = ("sns", "direct", "eventbridge")
DELIVERY = {"sns": "sns", "direct": "alarm_action", "eventbridge": "eventbridge"}
KINDS = ("fragile", "metric_math", "composite")
NEW_FIXTURES = [
    f"{shape}_alarm_{kind}.json" for shape in SHAPES for kind in KINDS if (shape, kind) != ("sns", "fragile")
]
MESSAGE_IDS = {
    ("sns", "fragile"): "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
    ("sns", "metric_math"): "0e6f3a7c-51d2-5b8e-a4f9-6c2d1b0e9a37",
    ("sns", "composite"): "3c8b1d2e-9f04-5a6b-b7c8-d9e0f1a2b3c4",
    ("eventbridge", "fragile"): "c0a6f1b2-3d4e-4f5a-8b9c-0d1e2f3a4b5c",
    ("eventbridge", "metric_math"): "5b9e2c4d-6f70-4a18-9c2b-3d4e5f60718a",
    ("eventbridge", "composite"): "e7d1c2b3-a495-4867-b8c9-da0e1f2a3b4c",
}
ON_TARGET = (Dimension("FunctionName", TARGET),)
RULE = 'ALARM("selfheal-fragile-errors") OR ALARM("selfheal-fragile-error-rate")'
EXPECTED = {
    "fragile": AlarmNotification(
        alarm_name="selfheal-fragile-errors",
        alarm_arn=ARN + "selfheal-fragile-errors",
        new_state="ALARM",
        old_state="OK",
        reason="Threshold Crossed: 1 out of the last 1 datapoints [5.0 (23/11/26 19:59:00)] was greater than "
        "or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM transition).",
        state_change_time=datetime(2026, 11, 23, 20, 0, tzinfo=UTC),
        region="us-east-1",
        account_id="123456789012",
        trigger=Trigger(kind="metric", metrics=(Metric("AWS/Lambda", "Errors", ON_TARGET),)),
    ),
    "metric_math": AlarmNotification(
        alarm_name="selfheal-fragile-error-rate",
        alarm_arn=ARN + "selfheal-fragile-error-rate",
        new_state="ALARM",
        old_state="OK",
        reason="Threshold Crossed: 1 out of the last 1 datapoints [41.66666666666667 (23/11/26 20:00:00)] "
        "was greater than or equal to the threshold (10.0) (minimum 1 datapoint for OK -> ALARM transition).",
        state_change_time=datetime(2026, 11, 23, 20, 1, 0, 250000, tzinfo=UTC),
        region="us-east-1",
        account_id="123456789012",
        trigger=Trigger(
            kind="metric_math",
            metrics=(
                Metric("AWS/Lambda", "Errors", ON_TARGET),
                Metric("AWS/Lambda", "Invocations", ON_TARGET),
            ),
            expressions=("100 * errors / invocations",),
        ),
    ),
    "composite": AlarmNotification(
        alarm_name="selfheal-fragile-unhealthy",
        alarm_arn=ARN + "selfheal-fragile-unhealthy",
        new_state="ALARM",
        old_state="OK",
        reason=f"{ARN}selfheal-fragile-errors transitioned to ALARM at Monday 23 November, 2026 20:00:00 UTC",
        state_change_time=datetime(2026, 11, 23, 20, 0, 0, 412000, tzinfo=UTC),
        region="us-east-1",
        account_id="123456789012",
        trigger=Trigger(kind="composite", alarm_rule=RULE),
    ),
}
CONFIG = HealerConfig(
    registry_path="/selfheal/selfheal",
    ledger_table_name="selfheal-ledger",
    escalation_topic_arn="arn:aws:sns:us-east-1:123456789012:selfheal-escalations",
)
DELETE = object()


def load(name: str) -> Any:
    """Load a JSON fixture from tests/events."""
    return json.loads((EVENTS / name).read_text())


def only(event: Any) -> AlarmNotification | MalformedNotification:
    """The single result of parsing ``event``."""
    [result] = parse_event(event)
    return result


def changed(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    """A copy of ``document`` with the value at ``path`` replaced, or removed when ``value`` is DELETE."""
    doc = copy.deepcopy(document)
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return doc


def sns_changed(fixture: str, path: tuple[Any, ...], value: Any) -> Any:
    """An SNS fixture whose alarm message (the JSON string) has the value at ``path`` changed."""
    event = load(fixture)
    sns = event["Records"][0]["Sns"]
    sns["Message"] = json.dumps(changed(json.loads(sns["Message"]), path, value))
    return event


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", SHAPES)
def test_each_delivery_parses_into_the_expected_value(shape: str, kind: str) -> None:
    """Each fixture parses into the expected alarm, kind, metrics and rule, marked with how it came."""
    parsed = only(load(f"{shape}_alarm_{kind}.json"))
    assert isinstance(parsed, AlarmNotification)
    expected = EXPECTED[kind]
    assert parsed == expected
    assert (parsed.alarm_name, parsed.alarm_arn, parsed.region, parsed.account_id) == (
        expected.alarm_name,
        expected.alarm_arn,
        "us-east-1",
        "123456789012",
    )
    assert (parsed.old_state, parsed.new_state, parsed.reason) == ("OK", "ALARM", expected.reason)
    assert parsed.state_change_time == expected.state_change_time
    assert parsed.kind == expected.trigger.kind
    assert parsed.trigger.metrics == expected.trigger.metrics
    assert parsed.trigger.alarm_rule == expected.trigger.alarm_rule
    assert parsed.delivery == DELIVERY[shape]
    assert parsed.message_id == MESSAGE_IDS.get((shape, kind), "")


@pytest.mark.parametrize("kind", KINDS)
def test_three_deliveries_of_one_transition_are_equal(kind: str) -> None:
    """The SNS, alarm-action and EventBridge copies of one transition are equal and share a transition key."""
    sns, direct, eventbridge = (only(load(f"{shape}_alarm_{kind}.json")) for shape in SHAPES)
    assert isinstance(sns, AlarmNotification) and isinstance(direct, AlarmNotification)
    assert isinstance(eventbridge, AlarmNotification)
    assert sns == direct == eventbridge
    assert hash(sns) == hash(direct) == hash(eventbridge)
    assert sns.transition_key == direct.transition_key == eventbridge.transition_key
    assert {sns.delivery, direct.delivery, eventbridge.delivery} == {"sns", "alarm_action", "eventbridge"}


def test_sns_keeps_the_evaluation_details_the_others_lack() -> None:
    """Only SNS carries threshold and comparison; the alarm action gives the metric's period and stat."""
    sns = only(load("sns_alarm_fragile.json"))
    direct = only(load("direct_alarm_fragile.json"))
    assert isinstance(sns, AlarmNotification) and isinstance(direct, AlarmNotification)
    assert (sns.trigger.threshold, sns.trigger.comparison_operator) == (1.0, "GreaterThanOrEqualToThreshold")
    assert (direct.trigger.threshold, direct.trigger.comparison_operator) == (None, None)
    assert (direct.trigger.period, direct.trigger.statistic) == (60, "Sum")
    assert sns.trigger.metric_name == direct.trigger.metric_name == "Errors"


@pytest.mark.parametrize("shape", SHAPES)
def test_metric_math_alarm_names_its_function(shape: str) -> None:
    """A metric-math alarm whose metrics all name the target routes to it, as a metric alarm does."""
    parsed = only(load(f"{shape}_alarm_metric_math.json"))
    assert isinstance(parsed, AlarmNotification)
    trigger = parsed.trigger
    assert trigger.namespace == "AWS/Lambda" and trigger.metric_name is None
    assert trigger.dimension("FunctionName") == TARGET and trigger.dimensions == ON_TARGET
    assert trigger.no_target_reason() is None


@pytest.mark.parametrize(
    ("dimensions", "why"),
    [
        ({"FunctionName": "someone-else"}, "different FunctionNames: selfheal-fragile, someone"),
        ({}, "metric AWS/Lambda/Invocations has no FunctionName dimension"),
    ],
)
def test_metric_math_alarm_whose_metrics_disagree_has_no_target(dimensions: dict[str, str], why: str) -> None:
    """When the math's metrics do not all name one function, the trigger names none (and says why)."""
    path = ("alarmData", "configuration", "metrics", 2, "metricStat", "metric", "dimensions")
    parsed = only(changed(load("direct_alarm_metric_math.json"), path, dimensions))
    assert isinstance(parsed, AlarmNotification)
    assert parsed.trigger.dimension("FunctionName") is None and parsed.trigger.dimensions == ()
    assert why in (parsed.trigger.no_target_reason() or "")


def test_metric_math_alarm_across_namespaces_has_no_namespace() -> None:
    """Metrics from two namespaces share no namespace."""
    path = ("detail", "configuration", "metrics", 1, "metricStat", "metric", "namespace")
    parsed = only(changed(load("eventbridge_alarm_metric_math.json"), path, "Custom/Fragile"))
    assert isinstance(parsed, AlarmNotification) and parsed.trigger.namespace is None


def test_expression_only_alarm_has_no_metric() -> None:
    """A metric-math alarm with expressions only has no metrics and says why there is no target."""
    parsed = parse_message(json.dumps(load("alarm_metric_math.json")))
    assert parsed.kind == "metric_math" and parsed.trigger.metrics == ()
    assert parsed.trigger.expressions == ("errors / invocations",)
    assert "expressions only (errors / invocations)" in (parsed.trigger.no_target_reason() or "")


@pytest.mark.parametrize("shape", SHAPES)
def test_composite_alarm_has_a_rule_and_no_target(shape: str) -> None:
    """A composite alarm parses with its rule and no metrics: only its name can route it."""
    parsed = only(load(f"{shape}_alarm_composite.json"))
    assert isinstance(parsed, AlarmNotification)
    trigger = parsed.trigger
    assert parsed.kind == "composite" and trigger.alarm_rule == RULE
    assert trigger.metrics == () and trigger.namespace is None and trigger.dimension("FunctionName") is None
    assert "route it by alarm name" in (trigger.no_target_reason() or "")


def _handle(event: Any) -> tuple[dict[str, Any], list[str]]:
    calls: list[str] = []
    return Healer(CONFIG, failing_clients(calls), ManualClock()).handle_event(event), calls


@pytest.mark.parametrize(
    "fixture",
    [
        f"{shape}_alarm_{kind}.json"
        for shape in ("direct", "eventbridge")
        for kind in ("composite", "metric_math")
    ],
)
def test_healer_routes_every_shape_by_its_registry_entry_first(fixture: str) -> None:
    """Composite and metric-math alarms of any shape go to the registry by name before anything else; with
    the registry unreadable the healer fails closed: no Lambda call, no ledger write, one escalation."""
    event = load(fixture)
    summary, calls = _handle(event)
    assert summary["rejected"] == []
    [result] = summary["results"]
    assert result["code"] == "registry_unavailable" and result["alarm"] == only(event).alarm_name  # type: ignore[union-attr]
    assert calls[0] == "ssm.get_parameter"
    assert not any(call.startswith(("lambda.", "dynamodb.")) for call in calls)
    assert calls[-1] == "sns.publish"


MALFORMED: list[tuple[str, tuple[Any, ...], Any, type[MalformedNotification]]] = [
    ("direct_alarm_fragile.json", ("alarmArn",), DELETE, MissingField),
    ("direct_alarm_fragile.json", ("alarmArn",), 42, WrongFieldType),
    (
        "direct_alarm_fragile.json",
        ("alarmArn",),
        "arn:aws:sns:us-east-1:123456789012:topic",
        InvalidFieldValue,
    ),
    ("direct_alarm_fragile.json", ("accountId",), 123456789012, WrongFieldType),
    ("direct_alarm_fragile.json", ("alarmData", "alarmName"), "", InvalidFieldValue),
    ("direct_alarm_fragile.json", ("alarmData", "state"), DELETE, MissingField),
    ("direct_alarm_fragile.json", ("alarmData", "state"), "ALARM", WrongFieldType),
    ("direct_alarm_fragile.json", ("alarmData", "state", "value"), "alarm", InvalidFieldValue),
    ("direct_alarm_fragile.json", ("alarmData", "state", "timestamp"), "yesterday", InvalidFieldValue),
    ("direct_alarm_fragile.json", ("alarmData", "previousState", "value"), DELETE, MissingField),
    ("direct_alarm_fragile.json", ("alarmData", "configuration"), DELETE, MissingField),
    ("direct_alarm_fragile.json", ("alarmData", "configuration", "metrics"), [], InvalidFieldValue),
    ("direct_alarm_fragile.json", ("alarmData", "configuration", "metrics", 0), "m1", WrongFieldType),
    (
        "direct_alarm_fragile.json",
        ("alarmData", "configuration", "metrics", 0, "metricStat"),
        DELETE,
        MissingField,
    ),
    (
        "direct_alarm_fragile.json",
        ("alarmData", "configuration", "metrics", 0, "metricStat", "metric", "namespace"),
        DELETE,
        MissingField,
    ),
    (
        "direct_alarm_fragile.json",
        ("alarmData", "configuration", "metrics", 0, "metricStat", "metric", "dimensions", "FunctionName"),
        7,
        WrongFieldType,
    ),
    (
        "direct_alarm_metric_math.json",
        ("alarmData", "configuration", "metrics", 0, "expression"),
        ["m"],
        WrongFieldType,
    ),
    ("direct_alarm_composite.json", ("alarmData", "configuration", "alarmRule"), True, WrongFieldType),
    ("direct_alarm_composite.json", ("alarmData", "configuration", "alarmRule"), DELETE, MissingField),
    ("eventbridge_alarm_fragile.json", ("resources", 0), 5, WrongFieldType),
    ("eventbridge_alarm_fragile.json", ("resources", 0), None, MissingField),
    ("eventbridge_alarm_fragile.json", ("id",), 5, WrongFieldType),
    ("eventbridge_alarm_fragile.json", ("detail", "alarmName"), DELETE, MissingField),
    ("eventbridge_alarm_fragile.json", ("detail", "state", "timestamp"), 1795463520, WrongFieldType),
    ("eventbridge_alarm_fragile.json", ("detail", "configuration", "metrics"), {}, WrongFieldType),
    (
        "eventbridge_alarm_metric_math.json",
        ("detail", "configuration", "metrics", 1, "metricStat", "metric"),
        "Errors",
        WrongFieldType,
    ),
    ("eventbridge_alarm_composite.json", ("detail", "previousState"), DELETE, MissingField),
]
SNS_MALFORMED: list[tuple[str, tuple[Any, ...], Any, type[MalformedNotification]]] = [
    ("sns_alarm_composite.json", ("AlarmRule",), DELETE, MissingField),
    ("sns_alarm_composite.json", ("AlarmRule",), ["ALARM(x)"], WrongFieldType),
    ("sns_alarm_metric_math.json", ("Trigger", "Metrics"), [], InvalidFieldValue),
    (
        "sns_alarm_metric_math.json",
        ("Trigger", "Metrics", 1, "MetricStat", "Metric", "MetricName"),
        DELETE,
        MissingField,
    ),
    (
        "sns_alarm_metric_math.json",
        ("Trigger", "Metrics", 1, "MetricStat", "Metric", "Dimensions", 0),
        "FunctionName",
        WrongFieldType,
    ),
    ("sns_alarm_metric_math.json", ("Trigger", "Metrics", 2, "MetricStat", "Period"), "60", WrongFieldType),
]


def _label(case: tuple[str, tuple[Any, ...], Any, type[MalformedNotification]]) -> str:
    fixture, path, value, _ = case
    return (
        f"{fixture.removesuffix('.json')}:{'.'.join(map(str, path))}={'del' if value is DELETE else value!r}"
    )


@pytest.mark.parametrize("case", MALFORMED, ids=_label)
def test_malformed_alarm_action_and_eventbridge_events_are_refused(
    case: tuple[str, tuple[Any, ...], Any, type[MalformedNotification]],
) -> None:
    """A broken field of an alarm action or EventBridge event yields its own error class, with a reason."""
    fixture, path, value, error = case
    result = only(changed(load(fixture), path, value))
    assert type(result) is error, result
    assert str(result)


@pytest.mark.parametrize("case", SNS_MALFORMED, ids=_label)
def test_malformed_composite_and_metric_math_notifications_are_refused(
    case: tuple[str, tuple[Any, ...], Any, type[MalformedNotification]],
) -> None:
    """A broken composite or metric-math SNS notification yields its own error class, with a reason."""
    fixture, path, value, error = case
    result = only(sns_changed(fixture, path, value))
    assert type(result) is error, result
    assert str(result)


@pytest.mark.parametrize(
    ("fixture", "path", "value"),
    [
        ("eventbridge_alarm_fragile.json", ("detail-type",), "CloudWatch Alarm Configuration Change"),
        ("eventbridge_alarm_fragile.json", ("detail",), DELETE),
        ("eventbridge_alarm_fragile.json", ("detail",), []),
        ("eventbridge_alarm_fragile.json", ("resources",), []),
        ("eventbridge_alarm_fragile.json", ("resources",), ARN + "selfheal-fragile-errors"),
        ("eventbridge_alarm_fragile.json", ("source",), "aws.events"),
        ("direct_alarm_fragile.json", ("alarmData",), None),
        ("direct_alarm_fragile.json", ("source",), "aws.lambda"),
    ],
)
def test_event_without_a_delivery_envelope_is_not_an_alarm_event(
    fixture: str, path: tuple[Any, ...], value: Any
) -> None:
    """An event whose envelope is not one of the three deliveries is refused as a whole."""
    with pytest.raises(NotAnSnsEvent):
        parse_event(changed(load(fixture), path, value))


json_values = fuzzing.json_values(text=30, items=4, keys=10, leaves=12)


@st.composite
def new_shape_events(draw: st.DrawFn) -> Any:
    """A new-shape fixture, mutated; an SNS one has its alarm message mutated and re-encoded."""
    event = load(draw(st.sampled_from(NEW_FIXTURES)))
    if "Records" in event:
        sns = event["Records"][0]["Sns"]
        sns["Message"] = json.dumps(draw(mutated(json.loads(sns["Message"]), json_values)))
        return event
    return draw(mutated(event, json_values))


@settings(max_examples=600, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(new_shape_events())
def test_mutated_deliveries_raise_only_the_parsers_errors(event: Any) -> None:
    """A mutated delivery parses, is reported malformed, or is refused as a whole; nothing else escapes."""
    try:
        results = parse_event(event)
    except NotAnSnsEvent:
        return
    assert len(results) == 1
    [result] = results
    assert isinstance(result, AlarmNotification | MalformedNotification)
    if isinstance(result, AlarmNotification):
        assert result.kind in ("metric", "metric_math", "composite")
        assert (result.trigger.alarm_rule is not None) == (result.kind == "composite")
        assert result.kind != "metric" or len(result.trigger.metrics) == 1
