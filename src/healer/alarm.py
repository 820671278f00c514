"""One CloudWatch alarm state transition as a typed, frozen value, whatever delivered it; its failure modes.

AWS delivers a transition to Lambda in three shapes (SNS notification, alarm action, EventBridge event);
``healer.notification`` parses each into the same ``AlarmNotification``. What an alarm watches is its
``Trigger``: one metric (``metric``), metrics combined by expressions (``metric_math``), or the states of
other alarms (``composite``, which has no metrics and so no dimensions to route by).

The readers at the end (``field``, ``integer``, ``number``, …) take typed values out of decoded JSON and raise
one ``MalformedNotification`` subclass per failure mode. Nothing here talks to AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast, get_args

__all__ = [
    "AlarmKind",
    "AlarmNotification",
    "AlarmState",
    "Delivery",
    "Dimension",
    "InvalidFieldValue",
    "MalformedNotification",
    "MessageNotJson",
    "MessageTooLarge",
    "Metric",
    "MissingField",
    "NotAnSnsEvent",
    "NotAnSnsRecord",
    "Trigger",
    "WrongFieldType",
    "alarm_arn",
    "arn_part",
    "field_of",
    "integer",
    "non_empty",
    "number",
    "parse_timestamp",
    "state",
]

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
AlarmKind = Literal["metric", "metric_math", "composite"]
Delivery = Literal["sns", "alarm_action", "eventbridge"]
"""How the transition reached the healer: an SNS notification, a direct alarm action, an EventBridge event."""
_STATES: tuple[str, ...] = get_args(AlarmState)
_SHOWN = 200
"""Characters of an alarm rule or expression quoted in a reason."""


class MalformedNotification(ValueError):
    """Base class: an input that is not a usable alarm notification."""


class NotAnSnsEvent(MalformedNotification):
    """The Lambda event as a whole is none of the alarm deliveries the healer accepts.

    That is: not an SNS event (no ``Records`` list), nor a CloudWatch alarm action (``source``
    ``aws.cloudwatch`` with an ``alarmData`` object), nor an EventBridge "CloudWatch Alarm State Change"
    event with its ``detail`` object and ``resources`` list. The name predates the last two deliveries;
    the handler catches whole-event refusals by it.
    """


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
    """One dimension of a metric."""

    name: str
    value: str


@dataclass(frozen=True)
class Metric:
    """One metric an alarm watches; dimensions sorted by name, so every delivery gives the same value."""

    namespace: str
    name: str
    dimensions: tuple[Dimension, ...] = ()

    def dimension(self, name: str) -> str | None:
        """Return the value of dimension ``name``, or None."""
        return next((d.value for d in self.dimensions if d.name == name), None)


@dataclass(frozen=True)
class Trigger:
    """What the alarm watches: its ``kind``, its metrics, the math over them, or a composite's rule.

    ``metrics`` holds the one metric of a ``metric`` alarm, every metric of a ``metric_math`` alarm's
    expressions (none for an expression-only alarm), and nothing for a ``composite``. ``namespace``,
    ``dimensions`` and ``dimension()`` answer for all metrics at once: a value only when every metric
    agrees on it, so a target read from them is the same whichever metric is asked.

    The evaluation details (statistic, period, …) are what the delivery carries: an SNS notification has
    all of them, an alarm action or EventBridge event only the metric's period and statistic. They are left
    out of equality, so the three deliveries of one transition parse to equal values.
    """

    kind: AlarmKind
    metrics: tuple[Metric, ...] = ()
    expressions: tuple[str, ...] = ()
    alarm_rule: str | None = None
    statistic: str | None = field(default=None, compare=False)
    period: int | None = field(default=None, compare=False)
    evaluation_periods: int | None = field(default=None, compare=False)
    comparison_operator: str | None = field(default=None, compare=False)
    threshold: float | None = field(default=None, compare=False)

    @property
    def metric_name(self) -> str | None:
        """The metric's name for a single-metric alarm; None otherwise."""
        return self.metrics[0].name if self.kind == "metric" and len(self.metrics) == 1 else None

    @property
    def namespace(self) -> str | None:
        """The namespace every metric is in; None with no metrics or several namespaces."""
        spaces = {m.namespace for m in self.metrics}
        return spaces.pop() if len(spaces) == 1 else None

    @property
    def dimensions(self) -> tuple[Dimension, ...]:
        """The dimensions (name and value) that every metric has; () with no metrics."""
        if not self.metrics:
            return ()
        first, *others = self.metrics
        return tuple(d for d in first.dimensions if all(d in m.dimensions for m in others))

    def dimension(self, name: str) -> str | None:
        """The value of dimension ``name`` if every metric has it with that one value, else None."""
        values = {m.dimension(name) for m in self.metrics}
        return values.pop() if len(values) == 1 else None

    def no_target_reason(self, dimension: str = "FunctionName") -> str | None:
        """Why no target can be read from the metrics' ``dimension``; None when every metric names one."""
        if self.kind == "composite":
            return (
                f"composite alarm watches other alarms ({_shown(self.alarm_rule or '')}), not metrics: "
                f"it has no {dimension} dimension; route it by alarm name"
            )
        if not self.metrics:
            shown = _shown(", ".join(self.expressions))
            return f"metric-math alarm has expressions only ({shown}), no metric with a {dimension} dimension"
        if self.dimension(dimension) is not None:
            return None
        lacking = [m for m in self.metrics if m.dimension(dimension) is None]
        if lacking:
            return f"metric {lacking[0].namespace}/{lacking[0].name} has no {dimension} dimension"
        named = sorted({m.dimension(dimension) or "" for m in self.metrics})
        return f"the alarm's metrics name different {dimension}s: {_shown(', '.join(named))}"


@dataclass(frozen=True)
class AlarmNotification:
    """One alarm state transition, as any of the three deliveries carries it.

    ``region`` is the region code in the alarm's ARN (SNS writes a display name instead); ``message_id``
    (the SNS message or EventBridge event id; none for an alarm action) and ``delivery`` say how this copy
    arrived and are left out of equality.
    """

    alarm_name: str
    alarm_arn: str
    new_state: AlarmState
    old_state: AlarmState
    reason: str
    state_change_time: datetime
    region: str
    account_id: str
    trigger: Trigger
    message_id: str = field(default="", compare=False)
    delivery: Delivery = field(default="sns", compare=False)

    @property
    def kind(self) -> AlarmKind:
        """What kind of alarm changed state: ``metric``, ``metric_math`` or ``composite``."""
        return self.trigger.kind

    @property
    def transition_key(self) -> str:
        """What makes this transition unique: the alarm ARN and the time of the change."""
        return f"{self.alarm_arn}|{self.state_change_time.isoformat()}"


def _shown(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


_T = TypeVar("_T")


def field_of(obj: Mapping[str, Any], name: str, kind: type[_T], where: str, *, required: bool = True) -> Any:
    """``obj[name]`` checked to be a ``kind``; None (or ``MissingField`` if required) when absent or null."""
    if name not in obj or obj[name] is None:
        if required:
            raise MissingField(f"{where}{name} is missing")
        return None
    value = obj[name]
    # bool is an int in Python, but never a valid number in these messages.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise WrongFieldType(f"{where}{name} must be {kind.__name__}, got {type(value).__name__}")
    return value


def number(obj: Mapping[str, Any], name: str, where: str) -> float | None:
    """An optional JSON number (not a boolean) as a float."""
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WrongFieldType(f"{where}{name} must be a number, got {type(value).__name__}")
    return float(value)


def integer(obj: Mapping[str, Any], name: str, where: str) -> int | None:
    """An optional JSON integer (not a boolean)."""
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise WrongFieldType(f"{where}{name} must be an integer, got {type(value).__name__}")
    return value


def non_empty(obj: Mapping[str, Any], name: str, where: str) -> str:
    """A required string that is not empty."""
    value: str = field_of(obj, name, str, where)
    if not value:
        raise InvalidFieldValue(f"{where}{name} is empty")
    return value


def alarm_arn(obj: Mapping[str, Any], name: str, where: str) -> str:
    """A required CloudWatch alarm ARN (``arn:…:alarm:…``)."""
    arn: str = field_of(obj, name, str, where)
    if not arn.startswith("arn:") or ":alarm:" not in arn:
        raise InvalidFieldValue(f"{where}{name} is not a CloudWatch alarm ARN: {arn[:80]!r}")
    return arn


def arn_part(arn: str, index: int) -> str:
    """Part ``index`` of an ARN (3: region, 4: account), or "" when it has fewer parts."""
    parts = arn.split(":")
    return parts[index] if len(parts) > index else ""


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


def state(obj: Mapping[str, Any], name: str, where: str) -> AlarmState:
    """A required alarm state: ``OK``, ``ALARM`` or ``INSUFFICIENT_DATA``."""
    value = field_of(obj, name, str, where)
    if value not in _STATES:
        raise InvalidFieldValue(f"{where}{name} must be one of {', '.join(_STATES)}, got {value[:32]!r}")
    return cast(AlarmState, value)
