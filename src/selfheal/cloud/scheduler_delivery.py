"""One EventBridge Scheduler invocation: the execution role, the target call, the dead-letter event.

Scheduler calls the target as the schedule's execution role (``Target.RoleArn``): the role must exist, its
trust policy must let ``scheduler.amazonaws.com`` assume it (:func:`~.iam_trust.trust_allows`, with the
request's ``aws:SourceAccount`` and ``aws:SourceArn`` — the schedule group's ARN, as AWS's confused-deputy
guidance for Scheduler names it), and its identity-based policies (local IAM
evaluation, :func:`~.iam_policy.evaluate`) must allow the target's action on the target's ARN —
``lambda:InvokeFunction`` on the function, ``sqs:SendMessage`` on the queue, ``sns:Publish`` on the topic.
A Lambda target is invoked asynchronously (``InvocationType`` Event) with the target's ``Input`` as the
payload, unchanged; AWS sends a "default notification" when there is none, whose shape it does not document:
the local cloud sends ``{}``. A dead-letter event is the input, sent to the ``DeadLetterConfig`` queue (if
the role may ``sqs:SendMessage`` to it) with the String attributes of AWS's dead-letter event:
``ERROR_CODE``, ``ERROR_MESSAGE``, ``EXECUTION_ID`` (one per firing, kept across its retries),
``EXHAUSTED_RETRY_CONDITION`` (``MaximumRetryAttempts`` or ``MaximumEventAgeInSeconds``),
``IS_PAYLOAD_TRUNCATED`` (``false``), ``RETRY_ATTEMPTS``, ``SCHEDULED_TIME`` (the firing's time, ``…Z``),
``SCHEDULE_ARN`` and ``TARGET_ARN``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .iam_policy import evaluate, policy_document
from .iam_trust import trust_allows
from .lambda_functions import backend_in_region
from .protocol import Cloud
from .scheduler_requests import target_kind

__all__ = ["DEFAULT_INPUT", "Invocation", "InvocationError", "dead_letter", "invoke_target"]

DEFAULT_INPUT = "{}"
_MAX_ERROR_MESSAGE = 1024  # characters of the error message kept in the dead-letter attribute
_SERVICE = "scheduler.amazonaws.com"
_ACTIONS = {"lambda": "lambda:InvokeFunction", "sqs": "sqs:SendMessage", "sns": "sns:Publish"}


@dataclass(frozen=True)
class Invocation:
    """One firing of a schedule as it is attempted: ``fired`` is the firing's cloud time, ``retries`` how
    many attempts came before this one, ``due`` when this one is due."""

    schedule_arn: str
    target: dict[str, Any]
    text: str
    fired: float
    execution_id: str
    retries: int
    due: float


@dataclass(frozen=True)
class InvocationError(Exception):
    """A failed invocation: AWS's error code and message."""

    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _group_arn(schedule_arn: str) -> str:
    """arn:aws:scheduler:R:A:schedule/GROUP/NAME → arn:aws:scheduler:R:A:schedule-group/GROUP."""
    prefix, _, rest = schedule_arn.partition(":schedule/")
    return f"{prefix}:schedule-group/{rest.split('/', 1)[0]}"


def _role_policies(account: str, role_arn: str, schedule_arn: str) -> list[dict[str, Any]]:
    """The identity-based policies of ``role_arn`` if Scheduler may assume it for ``schedule_arn``; else
    raise."""
    from moto.iam.models import iam_backends

    iam = iam_backends[account]["global"]
    try:
        role = iam.get_role_by_arn(role_arn)
    except Exception:
        raise InvocationError(
            "AccessDeniedException",
            f"EventBridge Scheduler cannot assume the role {role_arn}: it does not exist.",
        ) from None
    context = {"aws:SourceAccount": (account,), "aws:SourceArn": (_group_arn(schedule_arn),)}
    trust = policy_document(role.assume_role_policy_document)
    if trust_allows(trust, (), context, service=_SERVICE) != "allow":
        raise InvocationError(
            "AccessDeniedException",
            f"EventBridge Scheduler cannot assume the role {role_arn}: its trust policy does not allow "
            f"{_SERVICE} to assume it.",
        )
    documents = [policy_document(text) for text in role.policies.values()]
    documents += [policy_document(policy) for policy in role.managed_policies.values()]
    return documents


def _authorize(account: str, schedule_arn: str, role_arn: str, action: str, resource: str) -> None:
    decision = evaluate(_role_policies(account, role_arn, schedule_arn), action, resource)
    if decision != "allow":
        role_name = role_arn.rsplit("/", 1)[-1]
        why = (
            "with an explicit deny in an identity-based policy"
            if decision == "explicit_deny"
            else f"because no identity-based policy allows the {action} action"
        )
        raise InvocationError(
            "AccessDeniedException",
            f"User: arn:aws:sts::{account}:assumed-role/{role_name}/scheduler is not authorized to perform: "
            f"{action} on resource: {resource} {why}",
        )


def invoke_target(cloud: Cloud, schedule_arn: str, target: Mapping[str, Any], text: str) -> str | None:
    """Call ``target`` of ``schedule_arn`` with ``text`` as its execution role; return the Lambda request id
    (else None). Raise :class:`InvocationError` when it fails."""
    arn = str(target.get("Arn", ""))
    kind = target_kind(arn)
    if kind is None:  # refused at CreateSchedule; a schedule moto holds from before the cloud started
        raise InvocationError(
            "ValidationException", f"target {arn} is not supported by the selfheal local cloud"
        )
    _authorize(cloud.account_id, schedule_arn, str(target.get("RoleArn", "")), _ACTIONS[kind], arn)
    parts = arn.split(":")
    try:
        if kind == "lambda":
            return cloud.lambdas.invoke_async(arn, text.encode())
        if kind == "sqs":
            group = (target.get("SqsParameters") or {}).get("MessageGroupId")
            sqs = backend_in_region(cloud.backend("sqs"), "sqs", parts[3])
            sqs.send_message(queue_name=parts[5], message_body=text, group_id=group)
            return None
        backend_in_region(cloud.backend("sns"), "sns", parts[3]).publish(text, arn=arn)
        return None
    except InvocationError:
        raise
    except Exception as exc:
        code = str(getattr(exc, "error_type", "") or getattr(exc, "code", "") or type(exc).__name__)
        message = str(getattr(exc, "message", "") or exc) or type(exc).__name__
        raise InvocationError(code, message) from None


def dead_letter(cloud: Cloud, invocation: Invocation, error: InvocationError, condition: str) -> None:
    """Send the dead-letter event of a dropped ``invocation`` to its target's DLQ (if any); raise
    :class:`InvocationError` when the role may not or the queue does not exist."""
    target = invocation.target
    queue = (target.get("DeadLetterConfig") or {}).get("Arn")
    if not queue:
        return
    role_arn = str(target.get("RoleArn", ""))
    _authorize(cloud.account_id, invocation.schedule_arn, role_arn, "sqs:SendMessage", str(queue))
    parts = str(queue).split(":")
    scheduled = datetime.fromtimestamp(invocation.fired, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    values = {
        "ERROR_CODE": error.code,
        "ERROR_MESSAGE": error.message[:_MAX_ERROR_MESSAGE],
        "EXECUTION_ID": invocation.execution_id,
        "EXHAUSTED_RETRY_CONDITION": condition,
        "IS_PAYLOAD_TRUNCATED": "false",
        "RETRY_ATTEMPTS": str(invocation.retries),
        "SCHEDULED_TIME": scheduled,
        "SCHEDULE_ARN": invocation.schedule_arn,
        "TARGET_ARN": str(target.get("Arn", "")),
    }
    attributes = {name: {"DataType": "String", "StringValue": value} for name, value in values.items()}
    try:
        sqs = backend_in_region(cloud.backend("sqs"), "sqs", parts[3])
        sqs.send_message(parts[5], invocation.text, message_attributes=attributes)
    except Exception as exc:
        raise InvocationError(type(exc).__name__, str(exc)) from None
