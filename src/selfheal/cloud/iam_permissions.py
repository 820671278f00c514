"""Which IAM permissions a request needs: the actions and resource ARNs of one AWS API call.

:func:`required_permissions` maps a request (IAM service prefix, operation, parameters, region, account) to
:class:`Permission` items, with a resolver per service for the resource ARNs: Lambda (function ARN from a
name, partial ARN or ARN, plus qualifier; ``Invoke`` is ``lambda:InvokeFunction``; event source mappings
as the Service Authorization Reference has them, with the ``lambda:FunctionArn`` condition key), DynamoDB
(table or index; ``TransactWriteItems``/``TransactGetItems`` need the per-item action on each table, batch
calls each table), SNS (topic), CloudWatch (alarm ARNs; ``DescribeAlarms`` without names needs
``alarm:*``), Logs (log group or stream), SSM (parameter ARNs from names, paths or ARNs), EventBridge (rule
ARNs from rule names and buses, ``PutEvents`` each entry's bus), STS (``AssumeRole`` on the role it names;
the role's trust policy is :mod:`~selfheal.cloud.iam_trust`'s). Other services and operations use the
resource moto determined, else ``"*"``. A :class:`Permission` also carries the request's condition keys the
resolver knows (its ``context``, for :func:`~selfheal.cloud.iam_policy.evaluate`); any other key stays
unknown, so a condition on it is not evaluated. :func:`iam_prefix` maps a SigV4 signing name to its IAM
action prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

__all__ = ["Permission", "iam_prefix", "required_permissions"]

# SigV4 signing names whose IAM action prefix differs.
_IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "execute-api": "execute-api"}
# API operation names whose IAM action differs (SQS's batch calls: "Amazon SQS API permissions: Actions and
# resource reference" authorises each with the action of its single-message form).
_IAM_ACTION = {
    ("lambda", "Invoke"): "InvokeFunction",
    ("sqs", "SendMessageBatch"): "SendMessage",
    ("sqs", "DeleteMessageBatch"): "DeleteMessage",
    ("sqs", "ChangeMessageVisibilityBatch"): "ChangeMessageVisibility",
}
# Event source mapping actions (Service Authorization Reference for Lambda): these act on the mapping's ARN;
# CreateEventSourceMapping and ListEventSourceMappings support no resource ARN ("*").
_ESM_BY_UUID = ("GetEventSourceMapping", "UpdateEventSourceMapping", "DeleteEventSourceMapping")
_ESM_UNSCOPED = ("CreateEventSourceMapping", "ListEventSourceMappings")
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


@dataclass(frozen=True)
class Permission:
    """One IAM action on one resource ARN (``"*"`` when the action has no resource-level permissions), with
    the condition keys known for the request (``context``: key → values, ``()`` when known to be absent)."""

    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)


def iam_prefix(signing_name: str) -> str:
    """The IAM action prefix of a SigV4 signing name (``monitoring`` → ``cloudwatch``)."""
    return _IAM_PREFIX.get(signing_name, signing_name)


def _lambda_function_arn(reference: str, qualifier: str | None, region: str, account: str) -> str:
    name = unquote(reference)
    if name.startswith("arn:"):
        parts = name.split(":")
        region, account, name = parts[3], parts[4], parts[6]
        qualifier = qualifier or (parts[7] if len(parts) > 7 else None)
    elif ":function:" in name:  # partial ARN: 123456789012:function:name[:qualifier]
        parts = name.split(":")
        account, name = parts[0], parts[2]
        qualifier = qualifier or (parts[3] if len(parts) > 3 else None)
    elif ":" in name:  # name:qualifier
        name, _, suffix = name.partition(":")
        qualifier = qualifier or suffix
    arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def _lambda(operation: str, params: Mapping[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    if operation in _ESM_BY_UUID:
        uuid = params.get("UUID")
        return [
            (operation, f"arn:aws:lambda:{region}:{account}:event-source-mapping:{uuid}" if uuid else "*")
        ]
    if operation in _ESM_UNSCOPED:
        return [(operation, "*")]
    function = params.get("FunctionName")
    if not function:
        return [(operation, "*")]
    qualifier = params.get("Qualifier")
    return [(operation, _lambda_function_arn(str(function), qualifier and str(qualifier), region, account))]


def _lambda_context(
    operation: str, params: Mapping[str, Any], region: str, account: str
) -> dict[str, tuple[str, ...]]:
    # lambda:FunctionArn is the function a Create or Update names (FunctionName); a Get, a Delete or an
    # Update that names no function is taken to carry none (IfExists conditions hold, others fail).
    # ListEventSourceMappings supports no condition key: left unknown.
    if operation not in _ESM_BY_UUID and operation != "CreateEventSourceMapping":
        return {}
    function = params.get("FunctionName")
    if not function:
        return {"lambda:FunctionArn": ()}
    return {"lambda:FunctionArn": (_lambda_function_arn(str(function), None, region, account),)}


def _dynamodb(operation: str, params: Mapping[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    def table(name: Any, index: Any = None) -> str:
        arn = f"arn:aws:dynamodb:{region}:{account}:table/{name}"
        return f"{arn}/index/{index}" if index else arn

    if operation in ("TransactWriteItems", "TransactGetItems"):
        needed: list[tuple[str, str]] = []
        for item in params.get("TransactItems") or []:
            for kind, body in dict(item).items():
                action = _TRANSACT_ACTIONS.get(str(kind), str(kind))
                needed.append((action, table(dict(body).get("TableName"))))
        return needed or [(operation, "*")]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(operation, table(name)) for name in dict(params.get("RequestItems") or {})] or [
            (operation, "*")
        ]
    if params.get("TableName"):
        return [(operation, table(params["TableName"], params.get("IndexName")))]
    if params.get("ResourceArn"):
        return [(operation, str(params["ResourceArn"]))]
    return [(operation, "*")]


def _sns(operation: str, params: Mapping[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    for key in ("TopicArn", "TargetArn", "ResourceArn"):
        if params.get(key):
            return [(operation, str(params[key]))]
    if params.get("SubscriptionArn"):
        return [(operation, str(params["SubscriptionArn"]).rsplit(":", 1)[0])]
    if operation == "CreateTopic" and params.get("Name"):
        return [(operation, f"arn:aws:sns:{region}:{account}:{params['Name']}")]
    return [(operation, "*")]


def _cloudwatch(
    operation: str, params: Mapping[str, Any], region: str, account: str
) -> list[tuple[str, str]]:
    def alarm(name: Any) -> str:
        return f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"

    names = params.get("AlarmNames")
    if names:
        return [(operation, alarm(name)) for name in names]
    if params.get("AlarmName"):
        return [(operation, alarm(params["AlarmName"]))]
    if operation in ("DescribeAlarms", "DescribeAlarmHistory"):
        return [(operation, alarm("*"))]
    if params.get("DashboardName"):
        return [(operation, f"arn:aws:cloudwatch::{account}:dashboard/{params['DashboardName']}")]
    return [(operation, "*")]


def _logs(operation: str, params: Mapping[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    group = params.get("logGroupName")
    if not group:
        return [(operation, "*")]
    arn = f"arn:aws:logs:{region}:{account}:log-group:{group}"
    stream = params.get("logStreamName")
    return [(operation, f"{arn}:log-stream:{stream}" if stream else f"{arn}:*")]


def _ssm_parameter_arn(name: Any, region: str, account: str) -> str:
    """The ARN of a parameter (or path): ``/a/b`` → ``…:parameter/a/b``, ``a`` → ``…:parameter/a``; a
    ``:version``/``:label`` selector is not part of it; an ARN (shared parameters) stays as it is."""
    text = str(name)
    if text.startswith("arn:"):
        return text
    text = text.partition(":")[0]
    return f"arn:aws:ssm:{region}:{account}:parameter/{text.lstrip('/')}"


def _ssm(operation: str, params: Mapping[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    if operation in ("GetParameters", "DeleteParameters"):
        names = params.get("Names") or []
        return [(operation, _ssm_parameter_arn(n, region, account)) for n in names] or [(operation, "*")]
    if params.get("Name"):
        return [(operation, _ssm_parameter_arn(params["Name"], region, account))]
    # GetParametersByPath is authorised against the path asked for, not the parameters returned (AWS's
    # "How Parameter Store authorizes parameter retrieval").
    if operation == "GetParametersByPath" and params.get("Path"):
        return [(operation, _ssm_parameter_arn(params["Path"], region, account))]
    if params.get("ResourceType") == "Parameter" and params.get("ResourceId"):  # tagging
        return [(operation, _ssm_parameter_arn(params["ResourceId"], region, account))]
    return [(operation, "*")]  # DescribeParameters and the rest: no resource-level permissions here


def _events_bus_arn(bus: Any, region: str, account: str) -> str:
    name = str(bus or "default")
    return name if name.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{name}"


def _events(operation: str, params: Mapping[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    if operation == "PutEvents":
        buses = {_events_bus_arn(e.get("EventBusName"), region, account) for e in params.get("Entries") or []}
        return [(operation, bus) for bus in sorted(buses)] or [(operation, "*")]
    rule = params.get("Rule") if operation in ("PutTargets", "RemoveTargets", "ListTargetsByRule") else None
    if rule is None and operation.endswith("Rule"):
        rule = params.get("Name")
    if rule:
        bus = str(params.get("EventBusName") or "default").rsplit("/", 1)[-1]
        path = str(rule) if bus == "default" else f"{bus}/{rule}"
        return [(operation, f"arn:aws:events:{region}:{account}:rule/{path}")]
    if operation.endswith("EventBus") and params.get("Name"):
        return [(operation, _events_bus_arn(params["Name"], region, account))]
    if params.get("ResourceARN"):
        return [(operation, str(params["ResourceARN"]))]
    return [(operation, "*")]


def _sts(operation: str, params: Mapping[str, Any], region: str, account: str) -> list[tuple[str, str]]:
    # AssumeRole acts on the role it names (its trust policy is checked besides, see iam_trust.py); the
    # other operations keep the resource moto determined (an empty list).
    if operation == "AssumeRole":
        return [(operation, str(params.get("RoleArn") or "*"))]
    return []


# A resolver's (action, resource) pairs; an empty list means the resource moto determined.
_Resolver = Callable[[str, Mapping[str, Any], str, str], list[tuple[str, str]]]
_ContextResolver = Callable[[str, Mapping[str, Any], str, str], dict[str, tuple[str, ...]]]

_RESOLVERS: dict[str, _Resolver] = {
    "lambda": _lambda,
    "dynamodb": _dynamodb,
    "sns": _sns,
    "cloudwatch": _cloudwatch,
    "logs": _logs,
    "ssm": _ssm,
    "events": _events,
    "sts": _sts,
}
# Condition keys known per request, by service (the request's, so each of its permissions carries them).
_CONTEXTS: dict[str, _ContextResolver] = {"lambda": _lambda_context}


def required_permissions(
    prefix: str,
    operation: str,
    params: Mapping[str, Any],
    region: str,
    account: str,
    moto_resource: str = "*",
) -> list[Permission]:
    """The IAM permissions a request of ``operation`` on service ``prefix`` needs.

    Services without a resolver here, and STS operations other than ``AssumeRole``, use the resource moto
    determined (SQS queues, IAM roles), else ``"*"`` — which only a policy with ``"Resource": "*"``
    allows: stricter than AWS for actions that support resource-level permissions. Each permission carries
    the condition keys known for the request.
    """
    resolver = _RESOLVERS.get(prefix)
    needed = resolver(operation, params, region, account) if resolver is not None else []
    if not needed:
        needed = [(operation, moto_resource or "*")]
    contexts = _CONTEXTS.get(prefix)
    context = contexts(operation, params, region, account) if contexts is not None else {}
    return [
        Permission(f"{prefix}:{_IAM_ACTION.get((prefix, action), action)}", resource, context)
        for action, resource in needed
    ]
