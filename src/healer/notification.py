"""CloudWatch alarm notifications delivered by SNS: typed, frozen values and their parser.

``parse_event`` turns a Lambda SNS event into one result per record: an ``AlarmNotification`` or the
``MalformedNotification`` explaining why that record was refused. Nothing here talks to AWS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast, get_args

__all__ = [
    "MAX_MESSAGE_BYTES",
    "AlarmNotification",
    "AlarmState",
    "Dimension",
    "InvalidFieldValue",
    "MalformedNotification",
    "MessageNotJson",
    "MessageTooLarge",
    "MissingField",
    "NotAnSnsEvent",
    "NotAnSnsRecord",
    "Trigger",
    "WrongFieldType",
    "parse_event",
    "parse_message",
    "parse_timestamp",
]

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
_STATES: tuple[str, ...] = get_args(AlarmState)
MAX_MESSAGE_BYTES = 256 * 1024


class MalformedNotification(ValueError):
    """Base class: an input that is not a usable alarm notification."""


class NotAnSnsEvent(MalformedNotification):
    """The Lambda event is not an SNS event (no ``Records`` list)."""


class NotAnSnsRecord(MalformedNotification):
    """A record is not an SNS record (wrong ``EventSource`` or no ``Sns.Message``)."""


class MessageTooLarge(MalformedNotification):
    """The message is larger than SNS allows (256 KiB)."""


class MessageNotJson(MalformedNotification):
    """The message is not a JSON object."""


class MissingField(MalformedNotification):
    """A required field of the alarm notification is absent."""


class WrongFieldType(MalformedNotification):
    """A field of the alarm notification has the wrong JSON type."""


class InvalidFieldValue(MalformedNotification):
    """A field has the right type but a value that cannot be right (unknown state, bad timestamp)."""


@dataclass(frozen=True)
class Dimension:
    """One metric dimension of the alarm's trigger."""

    name: str
    value: str


@dataclass(frozen=True)
class Trigger:
    """What the alarm watches; metric-math alarms have no single metric, so those fields may be None."""

    metric_name: str | None
    namespace: str | None
    dimensions: tuple[Dimension, ...]
    statistic: str | None = None
    period: int | None = None
    evaluation_periods: int | None = None
    comparison_operator: str | None = None
    threshold: float | None = None

    def dimension(self, name: str) -> str | None:
        """Return the value of dimension ``name``, or None."""
        return next((d.value for d in self.dimensions if d.name == name), None)


@dataclass(frozen=True)
class AlarmNotification:
    """One alarm state transition as CloudWatch publishes it to SNS."""

    alarm_name: str
    alarm_arn: str
    new_state: AlarmState
    old_state: AlarmState
    reason: str
    state_change_time: datetime
    region: str
    account_id: str
    trigger: Trigger
    message_id: str = ""

    @property
    def transition_key(self) -> str:
        """What makes this transition unique: the alarm ARN and the time of the change."""
        return f"{self.alarm_arn}|{self.state_change_time.isoformat()}"


_T = TypeVar("_T")


def _field(obj: Mapping[str, Any], name: str, kind: type[_T], where: str, *, required: bool = True) -> Any:
    if name not in obj or obj[name] is None:
        if required:
            raise MissingField(f"{where}{name} is missing")
        return None
    value = obj[name]
    # bool is an int in Python, but never a valid number in these messages.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise WrongFieldType(f"{where}{name} must be {kind.__name__}, got {type(value).__name__}")
    return value


def _number(obj: Mapping[str, Any], name: str) -> float | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WrongFieldType(f"Trigger.{name} must be a number, got {type(value).__name__}")
    return float(value)


def _integer(obj: Mapping[str, Any], name: str) -> int | None:
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongFieldType(f"Trigger.{name} must be an integer, got {type(value).__name__}")
    return value


def parse_timestamp(text: str) -> datetime:
    """Parse a CloudWatch timestamp such as ``2026-11-23T19:57:41.123+0000`` into an aware UTC datetime."""
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return datetime.strptime(text, fmt).astimezone(UTC)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidFieldValue(f"not a timestamp: {text[:64]!r}") from None
    if parsed.tzinfo is None:
        raise InvalidFieldValue(f"timestamp has no time zone: {text[:64]!r}")
    return parsed.astimezone(UTC)


def _state(obj: Mapping[str, Any], name: str) -> AlarmState:
    value = _field(obj, name, str, "")
    if value not in _STATES:
        raise InvalidFieldValue(f"{name} must be one of {', '.join(_STATES)}, got {value[:32]!r}")
    return cast(AlarmState, value)


def _trigger(obj: Mapping[str, Any]) -> Trigger:
    raw = _field(obj, "Trigger", dict, "")
    dims_raw = _field(raw, "Dimensions", list, "Trigger.", required=False) or []
    dims: list[Dimension] = []
    for index, item in enumerate(dims_raw):
        where = f"Trigger.Dimensions[{index}]."
        if not isinstance(item, dict):
            raise WrongFieldType(f"Trigger.Dimensions[{index}] must be an object, got {type(item).__name__}")
        dims.append(Dimension(name=_field(item, "name", str, where), value=_field(item, "value", str, where)))
    return Trigger(
        metric_name=_field(raw, "MetricName", str, "Trigger.", required=False),
        namespace=_field(raw, "Namespace", str, "Trigger.", required=False),
        dimensions=tuple(dims),
        statistic=_field(raw, "Statistic", str, "Trigger.", required=False),
        period=_integer(raw, "Period"),
        evaluation_periods=_integer(raw, "EvaluationPeriods"),
        comparison_operator=_field(raw, "ComparisonOperator", str, "Trigger.", required=False),
        threshold=_number(raw, "Threshold"),
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
    arn = _field(obj, "AlarmArn", str, "")
    if not arn.startswith("arn:") or ":alarm:" not in arn:
        raise InvalidFieldValue(f"AlarmArn is not a CloudWatch alarm ARN: {arn[:80]!r}")
    name = _field(obj, "AlarmName", str, "")
    if not name:
        raise InvalidFieldValue("AlarmName is empty")
    return AlarmNotification(
        alarm_name=name,
        alarm_arn=arn,
        new_state=_state(obj, "NewStateValue"),
        old_state=_state(obj, "OldStateValue"),
        reason=_field(obj, "NewStateReason", str, "", required=False) or "",
        state_change_time=parse_timestamp(_field(obj, "StateChangeTime", str, "")),
        region=_field(obj, "Region", str, "", required=False) or "",
        account_id=_field(obj, "AWSAccountId", str, "", required=False) or "",
        trigger=_trigger(obj),
        message_id=message_id,
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


def parse_event(event: object) -> list[AlarmNotification | MalformedNotification]:
    """Parse every record of an SNS event; a bad record yields its error, the others still parse."""
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list):
        raise NotAnSnsEvent("event has no Records list; not an SNS event")
    records: list[Any] = event["Records"]
    if not records:
        raise NotAnSnsEvent("event has an empty Records list")
    results: list[AlarmNotification | MalformedNotification] = []
    for record in records:
        try:
            results.append(_parse_record(record))
        except MalformedNotification as exc:
            results.append(exc)
    return results
