"""The three ways AWS delivers a CloudWatch alarm transition to Lambda, parsed into one typed value.

``parse_event`` accepts:

- an SNS event: ``Records[].Sns.Message`` is the alarm notification as a JSON string (``AlarmName``,
  ``NewStateValue``, …; a metric alarm's ``Trigger`` names its metric, a metric-math alarm's ``Trigger``
  has ``Metrics`` with ``Expression``/``MetricStat``, a composite alarm has no ``Trigger`` but an
  ``AlarmRule``);
- the payload of an alarm action that invokes Lambda directly (``source`` ``aws.cloudwatch``,
  ``alarmArn``, ``alarmData`` {``alarmName``, ``state``, ``previousState``, ``configuration``});
- an EventBridge "CloudWatch Alarm State Change" event (the ARN in ``resources``, ``detail`` shaped like
  ``alarmData``).

It returns one result per alarm transition (one per SNS record, one for the other two): an
``AlarmNotification`` (``healer.alarm``) or the ``MalformedNotification`` explaining why it was refused.
An event that is none of the three raises ``NotAnSnsEvent``. Nothing here talks to AWS. Of ``healer.alarm``
it re-exports only what ``parse_event`` returns and raises; the rest of the types live there alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from healer.alarm import (
    AlarmNotification,
    AlarmState,
    Delivery,
    Dimension,
    InvalidFieldValue,
    MalformedNotification,
    MessageNotJson,
    MessageTooLarge,
    Metric,
    MissingField,
    NotAnSnsEvent,
    NotAnSnsRecord,
    Trigger,
    WrongFieldType,
    alarm_arn,
    arn_part,
    field_of,
    integer,
    non_empty,
    number,
    parse_timestamp,
    state,
)

__all__ = [
    "ALARM_STATE_CHANGE",
    "MAX_MESSAGE_BYTES",
    "AlarmNotification",
    "AlarmState",
    "MalformedNotification",
    "NotAnSnsEvent",
    "parse_event",
    "parse_message",
]

MAX_MESSAGE_BYTES = 256 * 1024
ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"
"""The ``detail-type`` of the EventBridge event CloudWatch sends for every alarm transition."""
_SOURCE = "aws.cloudwatch"

Result = AlarmNotification | MalformedNotification


class _Query(NamedTuple):
    """One entry of an alarm's metrics list: a metric, an expression, or (against AWS's rules) both."""

    metric: Metric | None
    expression: str | None
    stat: str | None
    period: int | None


def _sorted(dims: list[Dimension]) -> tuple[Dimension, ...]:
    return tuple(sorted(dims, key=lambda d: (d.name, d.value)))


def _dimension_list(obj: Mapping[str, Any], where: str) -> tuple[Dimension, ...]:
    """SNS's ``Dimensions``: a list of ``{"value", "name"}`` objects."""
    raw = field_of(obj, "Dimensions", list, where, required=False) or []
    dims: list[Dimension] = []
    for index, item in enumerate(raw):
        at = f"{where}Dimensions[{index}]"
        if not isinstance(item, dict):
            raise WrongFieldType(f"{at} must be an object, got {type(item).__name__}")
        dims.append(
            Dimension(
                name=field_of(item, "name", str, at + "."), value=field_of(item, "value", str, at + ".")
            )
        )
    return _sorted(dims)


def _dimension_map(obj: Mapping[str, Any], where: str) -> tuple[Dimension, ...]:
    """An alarm action's or EventBridge event's ``dimensions``: an object of name → value."""
    raw: dict[str, Any] = field_of(obj, "dimensions", dict, where, required=False) or {}
    dims: list[Dimension] = []
    for name, value in raw.items():
        if not isinstance(value, str):
            raise WrongFieldType(f"{where}dimensions.{name[:40]} must be str, got {type(value).__name__}")
        dims.append(Dimension(name=name, value=value))
    return _sorted(dims)


class _Keys(NamedTuple):
    """How one delivery shape spells the keys of a metrics-list item, and how it lists dimensions."""

    expression: str
    metric_stat: str
    metric: str
    namespace: str
    name: str
    stat: str
    period: str
    dimensions: Callable[[Mapping[str, Any], str], tuple[Dimension, ...]]


_SNS_KEYS = _Keys(
    "Expression", "MetricStat", "Metric", "Namespace", "MetricName", "Stat", "Period", _dimension_list
)
"""SNS's ``Trigger.Metrics``."""
_CONFIG_KEYS = _Keys(
    "expression", "metricStat", "metric", "namespace", "name", "stat", "period", _dimension_map
)
"""An alarm action's or EventBridge event's ``configuration.metrics``."""


def _query(item: object, where: str, keys: _Keys) -> _Query:
    """A metrics-list item: an expression, or a metric stat {metric, period, stat}, as ``keys`` spell it."""
    if not isinstance(item, dict):
        raise WrongFieldType(f"{where[:-1]} must be an object, got {type(item).__name__}")
    expression = field_of(item, keys.expression, str, where, required=False)
    stat = field_of(item, keys.metric_stat, dict, where, required=False)
    if stat is None:
        if expression is None:
            raise MissingField(f"{where}{keys.expression} and {where}{keys.metric_stat} are missing")
        return _Query(None, expression, None, None)
    at = f"{where}{keys.metric_stat}."
    raw = field_of(stat, keys.metric, dict, at)
    at_metric = f"{at}{keys.metric}."
    metric = Metric(
        namespace=field_of(raw, keys.namespace, str, at_metric),
        name=field_of(raw, keys.name, str, at_metric),
        dimensions=keys.dimensions(raw, at_metric),
    )
    return _Query(
        metric, expression, field_of(stat, keys.stat, str, at, required=False), integer(stat, keys.period, at)
    )


def _math_or_metric(
    queries: list[_Query],
    where: str,
    *,
    period: int | None = None,
    evaluation_periods: int | None = None,
    comparison_operator: str | None = None,
    threshold: float | None = None,
) -> Trigger:
    """The trigger of a metrics list: one metric and no expression is a metric alarm, else metric math."""
    if not queries:
        raise InvalidFieldValue(f"{where} is empty")
    metrics = tuple(q.metric for q in queries if q.metric is not None)
    expressions = tuple(q.expression for q in queries if q.expression is not None)
    single = not expressions and len(metrics) == 1
    if single and period is None:
        period = queries[0].period
    return Trigger(
        kind="metric" if single else "metric_math",
        metrics=metrics,
        expressions=expressions,
        statistic=queries[0].stat if single else None,
        period=period,
        evaluation_periods=evaluation_periods,
        comparison_operator=comparison_operator,
        threshold=threshold,
    )


def _sns_trigger(obj: Mapping[str, Any]) -> Trigger:
    """``Trigger`` of a metric or metric-math alarm, or a composite alarm's ``AlarmRule``."""
    raw = field_of(obj, "Trigger", dict, "", required=False)
    if raw is None:
        rule = field_of(obj, "AlarmRule", str, "", required=False)
        if rule is None:
            raise MissingField("Trigger is missing, and so is AlarmRule (the rule of a composite alarm)")
        return Trigger(kind="composite", alarm_rule=rule)
    where = "Trigger."
    period = integer(raw, "Period", where)
    evaluation_periods = integer(raw, "EvaluationPeriods", where)
    comparison_operator = field_of(raw, "ComparisonOperator", str, where, required=False)
    threshold = number(raw, "Threshold", where)
    queries = field_of(raw, "Metrics", list, where, required=False)
    if queries is not None:
        return _math_or_metric(
            [_query(item, f"{where}Metrics[{index}].", _SNS_KEYS) for index, item in enumerate(queries)],
            f"{where}Metrics",
            period=period,
            evaluation_periods=evaluation_periods,
            comparison_operator=comparison_operator,
            threshold=threshold,
        )
    dimensions = _dimension_list(raw, where)
    metric = Metric(
        namespace=field_of(raw, "Namespace", str, where),
        name=field_of(raw, "MetricName", str, where),
        dimensions=dimensions,
    )
    return Trigger(
        kind="metric",
        metrics=(metric,),
        statistic=field_of(raw, "Statistic", str, where, required=False)
        or field_of(raw, "ExtendedStatistic", str, where, required=False),
        period=period,
        evaluation_periods=evaluation_periods,
        comparison_operator=comparison_operator,
        threshold=threshold,
    )


def _configuration_trigger(data: Mapping[str, Any], where: str) -> Trigger:
    """``configuration`` of an alarm action or EventBridge event: ``alarmRule`` or ``metrics``."""
    config = field_of(data, "configuration", dict, where)
    at = where + "configuration."
    rule = field_of(config, "alarmRule", str, at, required=False)
    if rule is not None:
        return Trigger(kind="composite", alarm_rule=rule)
    queries = field_of(config, "metrics", list, at, required=False)
    if queries is None:
        raise MissingField(f"{at}metrics is missing, and so is {at}alarmRule (the rule of a composite alarm)")
    return _math_or_metric(
        [_query(item, f"{at}metrics[{index}].", _CONFIG_KEYS) for index, item in enumerate(queries)],
        f"{at}metrics",
    )


def parse_message(message: str, message_id: str = "") -> AlarmNotification:
    """Parse the ``Sns.Message`` string of one record; raise a ``MalformedNotification`` subclass."""
    size = len(message.encode("utf-8", errors="surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise MessageTooLarge(f"message is {size} bytes, more than {MAX_MESSAGE_BYTES}")
    try:
        obj = json.loads(message)
    except (ValueError, RecursionError) as exc:
        raise MessageNotJson(f"message is not JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise MessageNotJson(f"message is JSON {type(obj).__name__}, not an object")
    arn = alarm_arn(obj, "AlarmArn", "")
    name = non_empty(obj, "AlarmName", "")
    new_state = state(obj, "NewStateValue", "")
    old_state = state(obj, "OldStateValue", "")
    reason = field_of(obj, "NewStateReason", str, "", required=False) or ""
    changed = parse_timestamp(field_of(obj, "StateChangeTime", str, ""))
    region = field_of(obj, "Region", str, "", required=False) or ""  # a display name: the ARN has the code
    account = field_of(obj, "AWSAccountId", str, "", required=False)
    return AlarmNotification(
        alarm_name=name,
        alarm_arn=arn,
        new_state=new_state,
        old_state=old_state,
        reason=reason,
        state_change_time=changed,
        region=arn_part(arn, 3) or region,
        account_id=account or arn_part(arn, 4),
        trigger=_sns_trigger(obj),
        message_id=message_id,
        delivery="sns",
    )


class _Envelope(NamedTuple):
    """Where an alarm action or an EventBridge event keeps the alarm's data and who sent it."""

    data: str
    account: str
    event_id: str | None
    delivery: Delivery


_ALARM_ACTION = _Envelope("alarmData", "accountId", None, "alarm_action")
_STATE_CHANGE = _Envelope("detail", "account", "id", "eventbridge")


def _alarm_data(event: Mapping[str, Any], arn: str, envelope: _Envelope) -> AlarmNotification:
    """An alarm action's ``alarmData`` or an EventBridge event's ``detail`` (one shape), and its envelope."""
    account = field_of(event, envelope.account, str, "", required=False)
    region = field_of(event, "region", str, "", required=False)
    event_id = field_of(event, envelope.event_id, str, "", required=False) if envelope.event_id else None
    data, where = event[envelope.data], f"{envelope.data}."
    name = non_empty(data, "alarmName", where)
    new = field_of(data, "state", dict, where)
    old = field_of(data, "previousState", dict, where)
    return AlarmNotification(
        alarm_name=name,
        alarm_arn=arn,
        new_state=state(new, "value", f"{where}state."),
        old_state=state(old, "value", f"{where}previousState."),
        reason=field_of(new, "reason", str, f"{where}state.", required=False) or "",
        state_change_time=parse_timestamp(field_of(new, "timestamp", str, f"{where}state.")),
        region=arn_part(arn, 3) or region or "",
        account_id=account or arn_part(arn, 4),
        trigger=_configuration_trigger(data, where),
        message_id=event_id or "",
        delivery=envelope.delivery,
    )


def _parse_alarm_action(event: Mapping[str, Any]) -> AlarmNotification:
    """The payload CloudWatch sends when an alarm action invokes the function directly."""
    return _alarm_data(event, alarm_arn(event, "alarmArn", ""), _ALARM_ACTION)


def _parse_state_change(event: Mapping[str, Any]) -> AlarmNotification:
    """An EventBridge "CloudWatch Alarm State Change" event; the alarm's ARN is its first resource."""
    return _alarm_data(
        event, alarm_arn({"resources[0]": event["resources"][0]}, "resources[0]", ""), _STATE_CHANGE
    )


def _parse_record(record: object) -> AlarmNotification:
    if not isinstance(record, dict):
        raise NotAnSnsRecord(f"record is {type(record).__name__}, not an object")
    source = record.get("EventSource") or record.get("eventSource")
    if source != "aws:sns":
        raise NotAnSnsRecord(f"record EventSource is {str(source)[:40]!r}, not 'aws:sns'")
    sns = record.get("Sns")
    if not isinstance(sns, dict):
        raise NotAnSnsRecord("record has no Sns object")
    message = sns.get("Message")
    if not isinstance(message, str):
        raise NotAnSnsRecord(f"Sns.Message is {type(message).__name__}, not a string")
    message_id = sns.get("MessageId")
    return parse_message(message, message_id if isinstance(message_id, str) else "")


def _each(records: list[Any]) -> list[Result]:
    results: list[Result] = []
    for record in records:
        try:
            results.append(_parse_record(record))
        except MalformedNotification as exc:
            results.append(exc)
    return results


def _single(event: Mapping[str, Any], delivery: Delivery) -> list[Result]:
    try:
        if delivery == "eventbridge":
            return [_parse_state_change(event)]
        return [_parse_alarm_action(event)]
    except MalformedNotification as exc:
        return [exc]


def _eventbridge_envelope(event: Mapping[str, Any]) -> None:
    """Refuse (``NotAnSnsEvent``) an EventBridge event that is not an alarm state change with its envelope."""
    kind = event.get("detail-type")
    if kind != ALARM_STATE_CHANGE:
        raise NotAnSnsEvent(
            f"EventBridge event of detail-type {str(kind)[:60]!r} is not {ALARM_STATE_CHANGE!r}"
        )
    if not isinstance(event.get("detail"), dict):
        raise NotAnSnsEvent("EventBridge alarm event has no detail object")
    resources = event.get("resources")
    if not isinstance(resources, list) or not resources:
        raise NotAnSnsEvent("EventBridge alarm event has no resources list naming the alarm")


def parse_event(event: object) -> list[Result]:
    """Parse an alarm delivery: an SNS event, an alarm action's payload or an EventBridge alarm event.

    One result per transition: an SNS event gives one per record (a bad record yields its error, the others
    still parse); an alarm action or EventBridge event gives one. Raise ``NotAnSnsEvent`` for an event
    that is none of the three (or whose envelope is broken: no ``Records`` list, no ``alarmData`` object,
    no EventBridge ``detail`` object or ``resources`` list).
    """
    if not isinstance(event, dict):
        raise NotAnSnsEvent(f"event is {type(event).__name__}, not an object; not an alarm delivery")
    if "Records" in event:
        records = event["Records"]
        if not isinstance(records, list):
            raise NotAnSnsEvent("event has no Records list; not an SNS event")
        if not records:
            raise NotAnSnsEvent("event has an empty Records list")
        return _each(records)
    if event.get("source") == _SOURCE and "detail-type" in event:
        _eventbridge_envelope(event)
        return _single(event, "eventbridge")
    if event.get("source") == _SOURCE and "alarmData" in event:
        if not isinstance(event["alarmData"], dict):
            raise NotAnSnsEvent("CloudWatch alarm action has no alarmData object")
        return _single(event, "alarm_action")
    raise NotAnSnsEvent(
        "event is not an SNS event (no Records list), a CloudWatch alarm action (alarmData) "
        f"or an EventBridge {ALARM_STATE_CHANGE!r} event"
    )
