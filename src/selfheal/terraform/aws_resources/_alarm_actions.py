"""The three action lists of a CloudWatch alarm, metric or composite: checked, sent and read back alike."""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_resources._regional import empty_as
from selfheal.terraform.resource import ResourceError, State, is_unknown

__all__ = ["actions_input", "actions_state", "check_action_arns"]

#: Terraform argument -> alarm field: the ARNs notified on entering ALARM, OK and INSUFFICIENT_DATA.
_ACTIONS = {
    "alarm_actions": "AlarmActions",
    "ok_actions": "OKActions",
    "insufficient_data_actions": "InsufficientDataActions",
}


def check_action_arns(config: State) -> None:
    """Refuse a known action that is not an ARN, as the real provider's validation does."""
    for name in _ACTIONS:
        for arn in config.get(name) or []:
            if isinstance(arn, str) and not is_unknown(arn) and not arn.startswith("arn:"):
                raise ResourceError(f'"{name}" ({arn}) is an invalid ARN', attribute=name)


def actions_input(planned: State) -> dict[str, list[str]]:
    """The action lists of a PutMetricAlarm or PutCompositeAlarm call (sorted: they are sets)."""
    return {aws_name: sorted(planned.get(tf_name) or []) for tf_name, aws_name in _ACTIONS.items()}


def actions_state(alarm: dict[str, Any], current: State) -> State:
    """The action lists of a described alarm as state (empty ones as the current state has them)."""
    return {
        tf_name: empty_as(sorted(alarm.get(aws_name) or []), current.get(tf_name))
        for tf_name, aws_name in _ACTIONS.items()
    }
