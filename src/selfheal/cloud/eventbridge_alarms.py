"""What CloudWatch sends for an alarm transition besides SNS: the EventBridge event and the Lambda payload.

- :func:`state_change_event`: the "CloudWatch Alarm State Change" event (``source`` ``aws.cloudwatch``)
  CloudWatch puts on the default event bus for every transition, ``detail`` = the alarm's data;
- :func:`lambda_action_payload`: what an alarm action naming a Lambda function ARN invokes it with
  (``source``, ``alarmArn``, ``accountId``, ``time``, ``region``, ``alarmData``).

Both carry the same alarm data (CloudWatch user guide, "Alarm events and EventBridge" and "Lambda alarm
actions"): ``alarmName``, ``state`` and ``previousState`` (``value``, ``reason``, ``reasonData`` when
there is some, ``timestamp``) and ``configuration`` (``description``; ``metrics`` — a metric alarm's one
``metricStat``, or a metric-math alarm's queries — or a composite alarm's ``alarmRule``). Pure.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from .alarm_moto import AlarmState3, epoch
from .alarm_notification import cloudwatch_timestamp
from .alarm_transitions import StateChange

__all__ = ["ALARM_STATE_CHANGE", "alarm_data", "event_time", "lambda_action_payload", "state_change_event"]

ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"


def event_time(epoch_seconds: float) -> str:
    """An EventBridge event's ``time``: ``2026-11-23T20:00:00Z``."""
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _state(value: str, reason: str, reason_data: str | None, timestamp: float) -> dict[str, Any]:
    state: dict[str, Any] = {"value": value, "reason": reason}
    if reason_data:
        state["reasonData"] = reason_data
    state["timestamp"] = cloudwatch_timestamp(timestamp)
    return state


def _metric(namespace: str, name: str, dimensions: Any) -> dict[str, Any]:
    return {"namespace": namespace, "name": name, "dimensions": {d.name: d.value for d in dimensions or ()}}


def _metrics(alarm: Any) -> list[dict[str, Any]]:
    if alarm.metric_data_queries:
        out: list[dict[str, Any]] = []
        for query in alarm.metric_data_queries:
            item: dict[str, Any] = {"id": query.id}
            if query.expression:
                item["expression"] = query.expression
            if query.label:
                item["label"] = query.label
            stat = query.metric_stat
            if stat is not None:
                item["metricStat"] = {
                    "metric": _metric(stat.metric.namespace, stat.metric.metric_name, stat.metric.dimensions),
                    "period": int(stat.period),
                    "stat": stat.stat,
                }
            item["returnData"] = str(query.return_data).lower() != "false"
            out.append(item)
        return out
    metric_stat: dict[str, Any] = {
        "metric": _metric(alarm.namespace or "", alarm.metric_name or "", alarm.dimensions),
        "period": int(alarm.period or 0),
        "stat": alarm.statistic or alarm.extended_statistic or "",
    }
    if alarm.unit:
        metric_stat["unit"] = alarm.unit
    # CloudWatch names the single query with a UUID; one derived from the ARN keeps it stable per alarm.
    query_id = str(uuid.uuid5(uuid.NAMESPACE_URL, alarm.alarm_arn))
    return [{"id": query_id, "metricStat": metric_stat, "returnData": True}]


def alarm_data(alarm: Any, old: AlarmState3, old_timestamp: float | None, timestamp: float) -> dict[str, Any]:
    """``alarmData``/``detail`` of moto's ``alarm`` after a transition from ``old`` (value, reason, data)."""
    configuration: dict[str, Any] = {"description": alarm.description or ""}
    if alarm.rule is not None:
        configuration["alarmRule"] = alarm.rule
    else:
        configuration["metrics"] = _metrics(alarm)
    if old_timestamp is None:
        old_timestamp = epoch(alarm.configuration_updated_timestamp)
    return {
        "alarmName": alarm.name,
        "state": _state(alarm.state_value, alarm.state_reason, alarm.state_reason_data, timestamp),
        "previousState": _state(old[0], old[1], old[2], old_timestamp),
        "configuration": configuration,
    }


def state_change_event(change: StateChange) -> dict[str, Any]:
    """The "CloudWatch Alarm State Change" event of ``change``, ready for the default bus (without ``id``)."""
    return {
        "version": "0",
        "detail-type": ALARM_STATE_CHANGE,
        "source": "aws.cloudwatch",
        "account": change.account_id,
        "time": event_time(change.timestamp),
        "region": change.region,
        "resources": [change.alarm.alarm_arn],
        "detail": alarm_data(change.alarm, change.old, change.old_timestamp, change.timestamp),
    }


def lambda_action_payload(change: StateChange) -> dict[str, Any]:
    """What an alarm action invokes a Lambda function with (asynchronously) for ``change``."""
    return {
        "source": "aws.cloudwatch",
        "alarmArn": change.alarm.alarm_arn,
        "accountId": change.account_id,
        "time": cloudwatch_timestamp(change.timestamp),
        "region": change.region,
        "alarmData": alarm_data(change.alarm, change.old, change.old_timestamp, change.timestamp),
    }
