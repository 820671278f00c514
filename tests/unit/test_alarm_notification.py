"""The alarm notification JSON and subject match what CloudWatch publishes to SNS."""

from __future__ import annotations

import json
from dataclasses import replace

from healer.notification import parse_message
from selfheal.cloud.alarm_notification import AlarmSnapshot, build_notification, cloudwatch_timestamp

ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:selfheal-fragile-errors"
TOPIC = "arn:aws:sns:us-east-1:123456789012:selfheal-alarms"
ALARM = AlarmSnapshot(
    name="selfheal-fragile-errors",
    arn=ARN,
    description="Errors of the fragile function",
    configuration_updated=1795463000.25,
    namespace="AWS/Lambda",
    metric_name="Errors",
    statistic="Sum",
    unit=None,
    dimensions=(("FunctionName", "selfheal-fragile"),),
    period=60,
    evaluation_periods=2,
    datapoints_to_alarm=None,
    comparison_operator="GreaterThanOrEqualToThreshold",
    threshold=3,
    treat_missing_data="notBreaching",
    evaluate_low_sample_count_percentile=None,
    ok_actions=(TOPIC,),
    alarm_actions=(TOPIC,),
    insufficient_data_actions=(),
)
REASON = "Threshold Crossed: test"


def _build(alarm: AlarmSnapshot = ALARM) -> tuple[str, dict[str, object]]:
    note = build_notification(
        alarm,
        old_state="OK",
        new_state="ALARM",
        reason=REASON,
        change_time=1795463520.0125,
        account_id="123456789012",
        region="us-east-1",
    )
    return note.subject, json.loads(note.message)


def test_message_has_aws_keys_in_aws_order() -> None:
    """The message's keys, their order and the trigger's fields are AWS's."""
    _, message = _build()
    assert list(message) == [
        "AlarmName",
        "AlarmDescription",
        "AWSAccountId",
        "AlarmConfigurationUpdatedTimestamp",
        "NewStateValue",
        "NewStateReason",
        "StateChangeTime",
        "Region",
        "AlarmArn",
        "OldStateValue",
        "OKActions",
        "AlarmActions",
        "InsufficientDataActions",
        "Trigger",
    ]
    assert message["Trigger"] == {
        "MetricName": "Errors",
        "Namespace": "AWS/Lambda",
        "StatisticType": "Statistic",
        "Statistic": "SUM",
        "Unit": None,
        "Dimensions": [{"value": "selfheal-fragile", "name": "FunctionName"}],
        "Period": 60,
        "EvaluationPeriods": 2,
        "DatapointsToAlarm": 2,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 3.0,
        "TreatMissingData": "notBreaching",
        "EvaluateLowSampleCountPercentile": "",
    }


def test_message_values() -> None:
    """States, times, region display name and actions carry the given values."""
    _, message = _build()
    assert message["Region"] == "US East (N. Virginia)"
    assert message["StateChangeTime"] == "2026-11-23T19:52:00.012+0000"
    assert message["AlarmConfigurationUpdatedTimestamp"] == "2026-11-23T19:43:20.250+0000"
    assert (message["OldStateValue"], message["NewStateValue"]) == ("OK", "ALARM")
    assert message["AlarmActions"] == [TOPIC]
    assert message["InsufficientDataActions"] == []


def test_subject() -> None:
    """The subject names the new state, the alarm and the region, within SNS's 100 characters."""
    subject, _ = _build()
    assert subject == 'ALARM: "selfheal-fragile-errors" in US East (N. Virginia)'
    long_subject, _ = _build(replace(ALARM, name="x" * 200))
    assert len(long_subject) == 100


def test_healer_parses_the_notification() -> None:
    """The healer's parser reads every field the local cloud writes."""
    note = build_notification(
        ALARM,
        old_state="OK",
        new_state="ALARM",
        reason=REASON,
        change_time=1795463520.0,
        account_id="123456789012",
        region="us-east-1",
    )
    parsed = parse_message(note.message)
    assert parsed.alarm_arn == ARN
    assert parsed.new_state == "ALARM"
    assert parsed.trigger.dimension("FunctionName") == "selfheal-fragile"
    assert parsed.trigger.period == 60
    assert parsed.state_change_time.timestamp() == 1795463520.0


def test_timestamp_format() -> None:
    """Timestamps have milliseconds and a +0000 offset."""
    assert cloudwatch_timestamp(0.5) == "1970-01-01T00:00:00.500+0000"
