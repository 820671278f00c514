"""What EventBridge Scheduler's CreateSchedule and UpdateSchedule refuse, and which targets the local cloud
runs. Pure.

The constraints are the API reference's (CreateSchedule, Target, RetryPolicy, FlexibleTimeWindow), worded as
AWS words a model constraint (``1 validation error detected: Value 'x' at 'target.roleArn' failed to satisfy
constraint: ...``). moto checks none of them. Targets: a Lambda function (Invoke, asynchronously), an SQS
queue (SendMessage) or an SNS topic (Publish), the templated targets the local cloud runs; every other
templated target and every universal target (``arn:aws:scheduler:::aws-sdk:...``) is refused at create with a
message naming what is supported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Literal

from .scheduler_expressions import At, InvalidExpression, parse_expression

__all__ = ["InvalidRequest", "TargetKind", "target_kind", "validate_group_name", "validate_schedule"]

TargetKind = Literal["lambda", "sqs", "sns"]

_NAME = re.compile(r"^[0-9a-zA-Z\-_.]{1,64}$")
_ROLE = re.compile(r"^arn:aws(-[a-z]+)?:iam::\d{12}:role\/[\w+=,.@\/-]+$")
_DLQ = re.compile(r"^arn:aws(-[a-z]+)?:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+$")
_LAMBDA = re.compile(
    r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9\-_]+(:[A-Za-z0-9$\-_]+)?$"
)
_SQS = re.compile(r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9\-_]+(\.fifo)?$")
_SNS = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9\-_]+(\.fifo)?$")
_UNSUPPORTED_PARAMETERS = (
    "EcsParameters", "EventBridgeParameters", "KinesisParameters", "SageMakerPipelineParameters",
)  # fmt: skip
_START_DATE_SLACK = 300.0  # seconds a recurring schedule's StartDate may lie in the past
SUPPORTED = "a Lambda function ARN (Invoke), an SQS queue ARN (SendMessage) or an SNS topic ARN (Publish)"


class InvalidRequest(ValueError):
    """A request EventBridge Scheduler refuses with ``ValidationException`` (the message is AWS's)."""


def _constraint(value: Any, where: str, constraint: str) -> InvalidRequest:
    return InvalidRequest(
        f"1 validation error detected: Value '{value}' at '{where}' "
        f"failed to satisfy constraint: {constraint}"
    )


def _check_between(value: Any, where: str, low: int, high: int) -> None:
    """Refuse an optional integer member outside ``low`` to ``high`` (None: not given, accepted)."""
    if value is not None and not (isinstance(value, int) and low <= value <= high):
        raise _constraint(value, where, f"Member must have value between {low} and {high}")


def validate_group_name(name: Any, where: str = "name") -> None:
    """Refuse a schedule group name outside ``[0-9a-zA-Z-_.]{1,64}``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise _constraint(
            name, where, "Member must satisfy regular expression pattern: [0-9a-zA-Z-_.]+ (length 1 to 64)"
        )


def target_kind(arn: str) -> TargetKind | None:
    """Which templated target ``arn`` names, or None if the local cloud cannot run it."""
    if _LAMBDA.match(arn):
        return "lambda"
    if _SQS.match(arn):
        return "sqs"
    if _SNS.match(arn):
        return "sns"
    return None


def validate_schedule(args: Mapping[str, Any], now: float) -> None:
    """Refuse a CreateSchedule/UpdateSchedule request (moto's keyword arguments) AWS would refuse at cloud
    time ``now``, or whose target the local cloud cannot run."""
    validate_group_name(args.get("name"))
    if args.get("group_name") is not None:
        validate_group_name(args.get("group_name"), "groupName")
    description = args.get("description")
    if isinstance(description, str) and len(description) > 512:
        raise _constraint(description, "description", "Member must have length less than or equal to 512")
    expression = args.get("schedule_expression")
    if not isinstance(expression, str) or not expression:
        raise _constraint(expression, "scheduleExpression", "Member must not be null")
    try:
        parsed = parse_expression(expression, args.get("schedule_expression_timezone"))
    except InvalidExpression as exc:
        raise InvalidRequest(str(exc)) from None
    state = args.get("state")
    if state is not None and state not in ("ENABLED", "DISABLED"):
        raise _constraint(state, "state", "Member must satisfy enum value set: [ENABLED, DISABLED]")
    action = args.get("action_after_completion")
    if action is not None and action not in ("NONE", "DELETE"):
        raise _constraint(
            action, "actionAfterCompletion", "Member must satisfy enum value set: [NONE, DELETE]"
        )
    start, end = args.get("start_date"), args.get("end_date")
    if not isinstance(parsed, At):  # AWS ignores both dates for one-time schedules
        if isinstance(start, int | float) and start < now - _START_DATE_SLACK:
            raise InvalidRequest("The StartDate you specify cannot be earlier than 5 minutes ago.")
        if isinstance(start, int | float) and isinstance(end, int | float) and end <= start:
            raise InvalidRequest("The EndDate you specify must be after the StartDate.")
    _validate_window(args.get("flexible_time_window"))
    _validate_target(args.get("target"))


def _validate_window(window: Any) -> None:
    if not isinstance(window, Mapping):
        raise _constraint(window, "flexibleTimeWindow", "Member must not be null")
    mode = window.get("Mode")
    if mode not in ("OFF", "FLEXIBLE"):
        raise _constraint(
            mode, "flexibleTimeWindow.mode", "Member must satisfy enum value set: [OFF, FLEXIBLE]"
        )
    minutes = window.get("MaximumWindowInMinutes")
    _check_between(minutes, "flexibleTimeWindow.maximumWindowInMinutes", 1, 1440)
    if mode == "FLEXIBLE" and minutes is None:
        raise InvalidRequest(
            "MaximumWindowInMinutes must be provided when the FlexibleTimeWindow Mode is FLEXIBLE."
        )
    if mode == "OFF" and minutes is not None:
        raise InvalidRequest(
            "MaximumWindowInMinutes must not be provided when the FlexibleTimeWindow Mode is OFF."
        )


def _validate_target(target: Any) -> None:
    if not isinstance(target, Mapping):
        raise _constraint(target, "target", "Member must not be null")
    role = target.get("RoleArn")
    if not isinstance(role, str) or not _ROLE.match(role):
        raise _constraint(
            role,
            "target.roleArn",
            f"Member must satisfy regular expression pattern: {_ROLE.pattern[1:-1]}",
        )
    arn = target.get("Arn")
    if not isinstance(arn, str) or not arn:
        raise _constraint(arn, "target.arn", "Member must not be null")
    given = [key for key in _UNSUPPORTED_PARAMETERS if target.get(key)]
    kind = target_kind(arn)
    if given or kind is None:
        what = given[0] if given else f"target {arn}"
        raise InvalidRequest(
            f"{what} is not supported by the selfheal local cloud: a target must be {SUPPORTED}."
        )
    if target.get("SqsParameters") and kind != "sqs":
        raise InvalidRequest("SqsParameters is only valid for an Amazon SQS queue target.")
    text = target.get("Input")
    if text is not None and kind == "lambda":
        try:
            json.loads(text)
        except ValueError:
            raise InvalidRequest("Input must be a well-formed JSON for an AWS Lambda target.") from None
    retry = target.get("RetryPolicy")
    if isinstance(retry, Mapping):
        _check_between(
            retry.get("MaximumEventAgeInSeconds"), "target.retryPolicy.maximumEventAgeInSeconds", 60, 86400
        )
        _check_between(retry.get("MaximumRetryAttempts"), "target.retryPolicy.maximumRetryAttempts", 0, 185)
    dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
    if dlq is not None and not (isinstance(dlq, str) and _DLQ.match(dlq)):
        raise _constraint(
            dlq,
            "target.deadLetterConfig.arn",
            f"Member must satisfy regular expression pattern: {_DLQ.pattern[1:-1]}",
        )
