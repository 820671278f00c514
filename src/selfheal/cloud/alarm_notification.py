"""The message CloudWatch publishes to SNS when an alarm changes state, byte for byte in AWS's shape.

:func:`build_notification` returns the subject (``ALARM: "name" in US East (N. Virginia)``) and the JSON
message (key order as AWS writes it: AlarmName, AlarmDescription, AWSAccountId, …, Trigger). A metric
alarm's ``Trigger`` names its metric and ``Statistic`` (or ``ExtendedStatistic`` for ``p99``); a metric-math
alarm's ``Trigger`` has ``Metrics`` (``Expression``/``MetricStat`` items) instead of ``MetricName``/
``Namespace``/``Dimensions``; a composite alarm's message has no ``Trigger`` but ``AlarmRule`` and
``TriggeringChildren``. Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .alarm_evaluation import AlarmState

__all__ = [
    "MAX_SUBJECT_LENGTH",
    "REGION_NAMES",
    "AlarmSnapshot",
    "Notification",
    "build_notification",
    "cloudwatch_timestamp",
    "region_display_name",
]

# SNS refuses longer subjects; CloudWatch cuts a long alarm name's subject to fit.
MAX_SUBJECT_LENGTH = 100

REGION_NAMES: dict[str, str] = {
    "us-east-1": "US East (N. Virginia)",
    "us-east-2": "US East (Ohio)",
    "us-west-1": "US West (N. California)",
    "us-west-2": "US West (Oregon)",
    "af-south-1": "Africa (Cape Town)",
    "ap-east-1": "Asia Pacific (Hong Kong)",
    "ap-south-1": "Asia Pacific (Mumbai)",
    "ap-northeast-1": "Asia Pacific (Tokyo)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
    "ap-northeast-3": "Asia Pacific (Osaka)",
    "ap-southeast-1": "Asia Pacific (Singapore)",
    "ap-southeast-2": "Asia Pacific (Sydney)",
    "ca-central-1": "Canada (Central)",
    "eu-central-1": "EU (Frankfurt)",
    "eu-west-1": "EU (Ireland)",
    "eu-west-2": "EU (London)",
    "eu-west-3": "EU (Paris)",
    "eu-north-1": "EU (Stockholm)",
    "eu-south-1": "EU (Milan)",
    "me-south-1": "Middle East (Bahrain)",
    "sa-east-1": "South America (Sao Paulo)",
}


@dataclass(frozen=True)
class AlarmSnapshot:
    """The parts of a metric alarm's definition that its notification repeats."""

    name: str
    arn: str
    description: str | None
    configuration_updated: float
    namespace: str
    metric_name: str
    statistic: str
    unit: str | None
    dimensions: tuple[tuple[str, str], ...]
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int | None
    comparison_operator: str
    threshold: float
    treat_missing_data: str | None
    evaluate_low_sample_count_percentile: str | None
    ok_actions: tuple[str, ...]
    alarm_actions: tuple[str, ...]
    insufficient_data_actions: tuple[str, ...]
    extended_statistic: str | None = None
    #: A metric-math alarm's ``Metrics``, as the notification's ``Trigger.Metrics`` lists them.
    metrics: tuple[dict[str, Any], ...] = ()
    #: A composite alarm's rule, and the children that made it change: (ARN, state, timestamp text).
    alarm_rule: str | None = None
    triggering_children: tuple[tuple[str, str, str], ...] = ()

    def actions_for(self, state: AlarmState) -> tuple[str, ...]:
        """The actions CloudWatch runs on entering ``state``."""
        if state == "ALARM":
            return self.alarm_actions
        if state == "OK":
            return self.ok_actions
        return self.insufficient_data_actions


@dataclass(frozen=True)
class Notification:
    """What is published: SNS Subject and Message."""

    subject: str
    message: str


def cloudwatch_timestamp(epoch: float) -> str:
    """Format ``epoch`` as CloudWatch's notifications do: ``2026-11-23T19:53:00.123+0000``."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def region_display_name(region: str) -> str:
    """AWS's display name of ``region`` (the code itself when unknown)."""
    return REGION_NAMES.get(region, region)


def build_notification(
    alarm: AlarmSnapshot,
    *,
    old_state: AlarmState,
    new_state: AlarmState,
    reason: str,
    change_time: float,
    account_id: str,
    region: str,
) -> Notification:
    """Return what CloudWatch publishes for ``alarm`` moving from ``old_state`` to ``new_state``."""
    region_name = region_display_name(region)
    subject = f'{new_state}: "{alarm.name}" in {region_name}'
    message: dict[str, Any] = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description or None,
        "AWSAccountId": account_id,
    }
    if alarm.alarm_rule is None:  # a composite alarm's message does not say when it was configured
        message["AlarmConfigurationUpdatedTimestamp"] = cloudwatch_timestamp(alarm.configuration_updated)
    message |= {
        "NewStateValue": new_state,
        "NewStateReason": reason,
        "StateChangeTime": cloudwatch_timestamp(change_time),
        "Region": region_name,
        "AlarmArn": alarm.arn,
        "OldStateValue": old_state,
        "OKActions": list(alarm.ok_actions),
        "AlarmActions": list(alarm.alarm_actions),
        "InsufficientDataActions": list(alarm.insufficient_data_actions),
    }
    if alarm.alarm_rule is None:
        message["Trigger"] = _trigger(alarm)
    else:
        message["AlarmRule"] = alarm.alarm_rule
        message["TriggeringChildren"] = [
            {"Arn": arn, "State": {"Value": state, "Timestamp": stamp}}
            for arn, state, stamp in alarm.triggering_children
        ]
    return Notification(
        subject=subject[:MAX_SUBJECT_LENGTH], message=json.dumps(message, separators=(",", ":"))
    )


def _trigger(alarm: AlarmSnapshot) -> dict[str, Any]:
    """A metric alarm's Trigger: its metric and statistic, or its metric math ``Metrics``."""
    trigger: dict[str, Any] = {
        "MetricName": alarm.metric_name,
        "Namespace": alarm.namespace,
        "StatisticType": "Statistic",
        "Statistic": alarm.statistic.upper(),
        "Unit": alarm.unit,
        "Dimensions": [{"value": value, "name": name} for name, value in alarm.dimensions],
        "Period": alarm.period,
        "EvaluationPeriods": alarm.evaluation_periods,
        "DatapointsToAlarm": (
            alarm.evaluation_periods if alarm.datapoints_to_alarm is None else alarm.datapoints_to_alarm
        ),
        "ComparisonOperator": alarm.comparison_operator,
        "Threshold": float(alarm.threshold),
        "TreatMissingData": alarm.treat_missing_data or "",
        "EvaluateLowSampleCountPercentile": alarm.evaluate_low_sample_count_percentile or "",
    }
    if alarm.metrics:
        for key in ("MetricName", "Namespace", "StatisticType", "Statistic", "Unit", "Dimensions"):
            del trigger[key]
        trigger["Metrics"] = [dict(item) for item in alarm.metrics]
    elif alarm.extended_statistic:
        del trigger["Statistic"]
        trigger["StatisticType"] = "ExtendedStatistic"
        trigger["ExtendedStatistic"] = alarm.extended_statistic
    return trigger
