"""Composite alarms in the local cloud: ``PutCompositeAlarm`` (moto lacks it) and their evaluation.

- :func:`put_composite_alarm` is the moto response method the scheduler adds: it checks the rule
  (:mod:`.composite_rules`) and that the alarms it names exist (AWS's refusal otherwise), then stores the
  alarm through the backend's ``put_metric_alarm`` with ``rule`` set (how moto keeps composite alarms:
  ``DescribeAlarms`` lists them under ``CompositeAlarms``), so it starts ``INSUFFICIENT_DATA`` like any alarm.
- :func:`composite_evaluation` decides a composite alarm's state from its children's: ``ALARM`` while the
  rule holds, else ``OK``, with AWS's reason (``arn:…:alarm:child transitioned to ALARM at Monday 23
  November, 2026 20:00:00 UTC``) and reason data (``{"triggeringAlarms": [{"arn", "state": {"value",
  "timestamp"}}]}``), the most recently changed triggering child first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .alarm_evaluation import AlarmState
from .composite_rules import InvalidAlarmRule, Logical, Not, RuleNode, StateIs, children, holds, parse

__all__ = ["CompositeEvaluation", "composite_evaluation", "put_composite_alarm", "triggering_children"]


@dataclass(frozen=True)
class CompositeEvaluation:
    """A composite alarm's state, reason and reason data (JSON text)."""

    state: AlarmState
    reason: str
    reason_data: str


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _long_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%A %d %B, %Y %H:%M:%S UTC")


def _changed_at(alarm: Any) -> float:
    moment = getattr(alarm, "state_transitioned_timestamp", None) or alarm.state_updated_timestamp
    return _epoch(moment)


def _true_atoms(node: RuleNode, states: Mapping[str, str], negated: bool = False) -> set[str]:
    """Children whose state atoms agree with the rule's outcome (the ones that "trigger" it)."""
    if isinstance(node, StateIs):
        return {node.alarm} if (states.get(node.alarm) == node.state) != negated else set()
    if isinstance(node, Not):
        return _true_atoms(node.operand, states, not negated)
    if isinstance(node, Logical):
        return _true_atoms(node.left, states, negated) | _true_atoms(node.right, states, negated)
    return set()


def composite_evaluation(alarm: Any, alarms: Mapping[str, Any]) -> CompositeEvaluation:
    """The state ``alarm`` (a moto composite alarm) should be in, given every alarm by name."""
    node = parse(alarm.rule)
    states = {name: alarms[name].state_value for name in children(node) if name in alarms}
    fired = holds(node, states)
    state: AlarmState = "ALARM" if fired else "OK"
    triggering = _true_atoms(node, states) if fired else set(states)
    ranked = sorted(
        (alarms[name] for name in triggering if name in alarms),
        key=lambda child: (-_changed_at(child), child.name),
    )
    data = {
        "triggeringAlarms": [
            {
                "arn": child.alarm_arn,
                "state": {"value": child.state_value, "timestamp": _iso(_changed_at(child))},
            }
            for child in ranked
        ]
    }
    if ranked:
        first = ranked[0]
        reason = f"{first.alarm_arn} transitioned to {first.state_value} at {_long_time(_changed_at(first))}"
    else:
        reason = f"The alarm rule {'holds' if fired else 'does not hold'} ({alarm.rule})"
    return CompositeEvaluation(state, reason, json.dumps(data, separators=(",", ":")))


def triggering_children(reason_data: str | None) -> tuple[tuple[str, str, str], ...]:
    """(ARN, state, timestamp) of each triggering child named in a composite alarm's reason data."""
    try:
        data = json.loads(reason_data or "{}")
    except ValueError:
        return ()
    out: list[tuple[str, str, str]] = []
    for item in data.get("triggeringAlarms", []) if isinstance(data, dict) else []:
        if isinstance(item, dict) and isinstance(item.get("state"), dict):
            out.append(
                (
                    str(item.get("arn", "")),
                    str(item["state"].get("value", "")),
                    str(item["state"].get("timestamp", "")),
                )
            )
    return tuple(out)


def put_composite_alarm(response: Any) -> Any:
    """moto response method: PutCompositeAlarm, stored as a moto alarm with ``rule`` set."""
    from moto.cloudwatch.exceptions import ValidationError
    from moto.core.responses import EmptyResult

    backend = response.cloudwatch_backend
    name = response._get_param("AlarmName")
    rule = response._get_param("AlarmRule")
    if not name:
        raise ValidationError("The parameter AlarmName is required.")
    try:
        node = parse(rule or "")
    except InvalidAlarmRule as exc:
        raise ValidationError(f"Invalid alarm rule: {exc}") from None
    missing = sorted(child for child in children(node) if child not in backend.alarms)
    if missing:
        raise ValidationError(
            f"Could not save the composite alarm as alarms [{', '.join(missing)}] "
            "in the alarm rule do not exist"
        )
    if name in children(node):
        raise ValidationError("The alarm rule of a composite alarm cannot refer to the alarm itself")
    actions_enabled = response._get_param("ActionsEnabled")
    alarm = backend.put_metric_alarm(
        name=name,
        namespace=None,
        metric_name=None,
        comparison_operator=None,
        evaluation_periods=None,
        period=None,
        threshold=None,
        statistic=None,
        description=response._get_param("AlarmDescription"),
        dimensions=[],
        alarm_actions=response._get_param("AlarmActions", []),
        ok_actions=response._get_param("OKActions", []),
        insufficient_data_actions=response._get_param("InsufficientDataActions", []),
        actions_enabled=True if actions_enabled is None else actions_enabled in (True, "true", "True"),
        rule=rule,
        tags=response._get_param("Tags", []),
    )
    # Kept so that DescribeAlarms reads them back; the local cloud does not suppress actions.
    alarm.actions_suppressor = response._get_param("ActionsSuppressor")
    alarm.actions_suppressor_wait_period = response._get_int_param("ActionsSuppressorWaitPeriod")
    alarm.actions_suppressor_extension_period = response._get_int_param("ActionsSuppressorExtensionPeriod")
    return EmptyResult()
