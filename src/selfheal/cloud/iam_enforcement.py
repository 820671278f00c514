"""IAM enforced locally: requests signed by IAM principals' credentials are authorised by their policies.

moto can check IAM itself (``settings.INITIAL_NO_AUTH_ACTION_COUNT`` and
``ActionAuthenticatorMixin._authenticate_and_authorize_normal_action``, called by every
``BaseResponse.call_action``), but only all-or-nothing for the whole process, rejecting the operator's
default credentials (moto knows no root keys), and with ``"*"`` as the resource of almost every action, so
a policy scoped to an ARN never allows anything. While a LocalCloud runs with ``enforce_iam``, this module
replaces that hook with one that:

* lets a request pass untouched when it is unsigned or signed by a key moto does not know: the operator's
  and tests' credentials (``testing``) act as the root of account 123456789012, as on AWS;
* for a key of an STS session (Lambda execution roles, see ``credentials.py``, or any ``AssumeRole``) or of
  an IAM user, checks the SigV4 signature and the session token, works out the IAM actions and resource ARNs
  the request needs (:func:`required_permissions`; e.g. DynamoDB's ``TransactWriteItems`` needs
  ``dynamodb:UpdateItem``/``PutItem``/``ConditionCheckItem`` on each table) and evaluates the principal's
  identity-based policies (inline and attached) with :func:`evaluate`: an explicit deny wins, else an allow
  is needed. A refusal is the service's own error (``AccessDeniedException`` for JSON services, SNS's
  ``AuthorizationError``, ``AccessDenied`` for query services) with AWS's message wording.

What is not evaluated (see the README's "IAM enforced locally" section): conditions, policy variables,
resource-based policies, permission boundaries, session policies, SCPs, S3, presigned URLs.
"""

from __future__ import annotations

import fnmatch
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlparse

from .gateway import RAW_BODY_KEY
from .moto_patches import MotoPatches, parameters
from .sigv4 import parse_authorization, signature_matches

__all__ = [
    "Decision",
    "IamEnforcement",
    "Permission",
    "access_key_id",
    "evaluate",
    "required_permissions",
]

Decision = Literal["allow", "explicit_deny", "implicit_deny"]

# SigV4 signing names whose IAM action prefix differs.
_IAM_PREFIX = {"monitoring": "cloudwatch", "email": "ses", "execute-api": "execute-api"}
# API operation names whose IAM action differs.
_IAM_ACTION = {("lambda", "Invoke"): "InvokeFunction"}
_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
_JSON_ERROR_CODES = {"sqs": "AccessDenied", "cloudwatch": "AccessDenied"}
_XML_ERROR_CODES = {"sns": "AuthorizationError"}


@dataclass(frozen=True)
class Permission:
    """One IAM action on one resource ARN (``"*"`` when the action has no resource-level permissions)."""

    action: str
    resource: str


def access_key_id(authorization: str | None) -> str | None:
    """The access key id in a SigV4 ``Authorization`` header, or None when there is none."""
    if not authorization or "Credential=" not in authorization:
        return None
    key = authorization.partition("Credential=")[2].partition("/")[0].strip()
    return key or None


def _scope(authorization: str) -> tuple[str, str]:
    """(region, signing service) of a SigV4 ``Authorization`` header."""
    parts = authorization.partition("Credential=")[2].partition(",")[0].split("/")
    if len(parts) < 5:
        return "", ""
    return parts[2], parts[3]


# ----- which permissions a request needs ---------------------------------------------------------------


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
    function = params.get("FunctionName")
    if not function:
        return [(operation, "*")]
    qualifier = params.get("Qualifier")
    return [(operation, _lambda_function_arn(str(function), qualifier and str(qualifier), region, account))]


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


_RESOLVERS: dict[str, Callable[[str, Mapping[str, Any], str, str], list[tuple[str, str]]]] = {
    "lambda": _lambda,
    "dynamodb": _dynamodb,
    "sns": _sns,
    "cloudwatch": _cloudwatch,
    "logs": _logs,
}


def required_permissions(
    prefix: str,
    operation: str,
    params: Mapping[str, Any],
    region: str,
    account: str,
    moto_resource: str = "*",
) -> list[Permission]:
    """The IAM permissions a request of ``operation`` on service ``prefix`` needs.

    Services without a resolver here use the resource moto determined (SQS queues, IAM/STS roles), else
    ``"*"`` — which only a policy with ``"Resource": "*"`` allows: stricter than AWS for actions that
    support resource-level permissions.
    """
    resolver = _RESOLVERS.get(prefix)
    if resolver is None:
        needed = [(operation, moto_resource or "*")]
    else:
        needed = resolver(operation, params, region, account)
    return [
        Permission(f"{prefix}:{_IAM_ACTION.get((prefix, action), action)}", resource)
        for action, resource in needed
    ]


# ----- policy evaluation -------------------------------------------------------------------------------


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _glob(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    # IAM wildcards: '*' any run of characters, '?' one character; nothing else is special.
    regex = fnmatch.translate(pattern.replace("[", "[[]"))
    return re.match(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _statement_applies(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    if "NotAction" in statement:
        if any(_glob(p, action, case_sensitive=False) for p in _as_list(statement["NotAction"])):
            return False
    elif not any(_glob(p, action, case_sensitive=False) for p in _as_list(statement.get("Action"))):
        return False
    if "NotResource" in statement:
        return not any(_glob(p, resource, case_sensitive=True) for p in _as_list(statement["NotResource"]))
    return any(_glob(p, resource, case_sensitive=True) for p in _as_list(statement.get("Resource")))


def evaluate(documents: Iterable[Mapping[str, Any]], action: str, resource: str) -> Decision:
    """Evaluate identity-based policy ``documents`` for ``action`` on ``resource``.

    An applicable Deny wins over any Allow. Conditions cannot be evaluated here: an Allow with a
    ``Condition`` grants nothing, a Deny with one applies (both err on the side of refusing).
    """
    allowed = False
    for document in documents:
        statements = document.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if not isinstance(statement, Mapping) or not _statement_applies(statement, action, resource):
                continue
            if statement.get("Effect") == "Deny":
                return "explicit_deny"
            if statement.get("Effect") == "Allow" and not statement.get("Condition"):
                allowed = True
    return "allow" if allowed else "implicit_deny"


def _document(policy: Any) -> dict[str, Any]:
    """A policy document from what moto's ``collect_policies`` returns (JSON text, dict or Policy)."""
    if hasattr(policy, "versions"):
        policy = next(version.document for version in policy.versions if version.is_default)
    elif isinstance(policy, Mapping):
        policy = policy.get("policy_document", policy)
    if isinstance(policy, str):
        policy = json.loads(policy)
    return dict(policy) if isinstance(policy, Mapping) else {}


# ----- the hook ----------------------------------------------------------------------------------------


class _Refusal(Exception):
    """A request refused before it reached the service: (status, code, message)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _params(response: Any) -> dict[str, Any]:
    """The request's parameters as moto parsed them (falling back to the JSON body or the query)."""
    params: dict[str, Any] = {}
    parsed = getattr(response, "params", None)
    if isinstance(parsed, Mapping) and parsed:
        params.update(parsed)
    else:
        body = getattr(response, "raw_body", None) or getattr(response, "body", None)
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        if isinstance(body, str) and body.lstrip().startswith("{"):
            try:
                loaded = json.loads(body)
            except ValueError:
                loaded = None
            if isinstance(loaded, dict):
                params.update(loaded)
        for key, value in (getattr(response, "querystring", None) or {}).items():
            if isinstance(value, list) and value and value != [""]:
                params.setdefault(key, value[0])
    params.update(dict(getattr(response, "uri_match", None) or {}))
    return params


class IamEnforcement:
    """Authorise requests signed by IAM principals' credentials; install with ``start``, undo with ``stop``.

    Process-wide (it patches moto's ``ActionAuthenticatorMixin`` through a
    :class:`~selfheal.cloud.moto_patches.MotoPatches` registry), like the rest of the LocalCloud's moto
    hooks. ``refusals`` counts refused requests (for tests and status).
    """

    def __init__(self) -> None:
        self._patches: MotoPatches | None = None
        self._lock = threading.Lock()
        self.refusals = 0

    @property
    def active(self) -> bool:
        """Whether the hook is installed."""
        return self._patches is not None

    def start(self) -> None:
        """Install the hook in place of moto's all-or-nothing IAM check."""
        from moto.core.authorization import ActionAuthenticatorMixin

        if self._patches is not None:
            raise RuntimeError("IAM enforcement is already started")
        enforcement = self

        def enforcing(original: Callable[[Any, str], None]) -> Callable[[Any, str], None]:
            def authorize(response: Any, resource: str = "*") -> None:
                try:
                    handled = enforcement.authorize(response, resource)
                except _Refusal as refusal:
                    raise _rendered(refusal, response) from None
                if not handled:
                    original(response, resource)

            return authorize

        patches = MotoPatches()
        patches.replace(
            ActionAuthenticatorMixin,
            "_authenticate_and_authorize_normal_action",
            enforcing,
            reason="authorise requests signed by IAM principals' credentials by their policies",
            expect=parameters("resource"),
        )
        patches.install()
        self._patches = patches

    def stop(self) -> None:
        """Restore moto's own check (idempotent)."""
        if self._patches is not None:
            self._patches.restore()
            self._patches = None

    def authorize(self, response: Any, moto_resource: str = "*") -> bool:
        """Authorise the request ``response`` (a moto ``BaseResponse``) is about to serve.

        Returns False when its credentials are not an IAM principal's (root: moto's own check applies, which
        lets everything through by default); returns True when it is allowed; raises ``_Refusal`` otherwise.
        """
        headers = response.headers
        authorization = headers.get("Authorization")
        key = access_key_id(authorization)
        if key is None or authorization is None:
            return False
        account = str(response.current_account)
        principal = _principal(account, key, headers)
        if principal is None:
            return False
        region, signing_name = _scope(authorization)
        prefix = _IAM_PREFIX.get(signing_name, signing_name)
        if not _signature_matches(response, authorization, principal, region, signing_name):
            raise _Refusal(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        operation = response._get_action()
        if prefix == "sts" and operation == "GetCallerIdentity":
            return True  # always allowed, even under an explicit deny
        try:
            documents = [_document(policy) for policy in principal.collect_policies()]
        except Exception:  # the role or user is gone: it holds no policies
            documents = []
        params = _params(response)
        for permission in required_permissions(prefix, operation, params, region, account, moto_resource):
            decision = evaluate(documents, permission.action, permission.resource)
            if decision != "allow":
                with self._lock:
                    self.refusals += 1
                raise _Refusal(403, "", _denied_message(principal.arn, permission, decision))
        return True


def _principal(account: str, key: str, headers: Any) -> Any:
    """moto's access-key object for an STS session or IAM user key, or None for a key moto does not know."""
    from moto.iam.access_control import AssumedRoleAccessKey, CreateAccessKeyFailure, IAMUserAccessKey
    from moto.sts.models import sts_backends

    partition = "aws"
    try:
        if sts_backends[account][partition].get_assumed_role_from_access_key(key) is not None:
            if not headers.get("X-Amz-Security-Token"):
                raise _Refusal(
                    403,
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.",
                )
            plain = {"X-Amz-Security-Token": headers.get("X-Amz-Security-Token")}
            return AssumedRoleAccessKey(account, partition, key, plain)
        return IAMUserAccessKey(account, partition, key, {})
    except CreateAccessKeyFailure as failure:
        if failure.reason == "InvalidToken":
            raise _Refusal(
                403, "UnrecognizedClientException", "The security token included in the request is invalid."
            ) from None
        return None


def _signature_matches(response: Any, authorization: str, principal: Any, region: str, service: str) -> bool:
    """Recompute the request's SigV4 signature with the principal's secret, as AWS (and moto) do."""
    signed = parse_authorization(authorization)
    if signed is None or (signed.region, signed.service) != (region, service):
        return False
    credentials = principal.create_credentials()
    # The body as received: moto's ``raw_body`` is empty for form posts (werkzeug parsed them) and its
    # ``data`` of a GET may hold headers, neither of which was signed.
    environ = getattr(getattr(response, "normalized_request", None), "environ", None) or {}
    return signature_matches(
        signed,
        method=response.method,
        raw_path=response.raw_path,
        query=urlparse(response.uri).query,
        headers={str(name).lower(): str(value) for name, value in response.headers.items()},
        body=environ.get(RAW_BODY_KEY, response.raw_body or b""),
        secret_access_key=credentials.secret_key,
        session_token=credentials.token,
    )


def _denied_message(principal_arn: str, permission: Permission, decision: Decision) -> str:
    target = "" if permission.resource == "*" else f" on resource: {permission.resource}"
    if decision == "explicit_deny":
        why = "with an explicit deny in an identity-based policy"
    else:
        why = f"because no identity-based policy allows the {permission.action} action"
    return f"User: {principal_arn} is not authorized to perform: {permission.action}{target} {why}"


def _rendered(refusal: _Refusal, response: Any) -> Exception:
    """The refusal as the moto error that renders it in the service's protocol."""
    from moto.core.exceptions import JsonRESTError, _RESTError

    _, signing_name = _scope(response.headers.get("Authorization") or "")
    prefix = _IAM_PREFIX.get(signing_name, signing_name)
    content_type = str(response.headers.get("Content-Type") or "")
    json_protocol = "json" in content_type or prefix == "lambda"
    if json_protocol:
        code = refusal.code or _JSON_ERROR_CODES.get(prefix, "AccessDeniedException")
        error: Exception = JsonRESTError(code, refusal.message)
    else:
        code = refusal.code or _XML_ERROR_CODES.get(prefix, "AccessDenied")
        error = _RESTError(code, refusal.message)
    error.code = refusal.status  # type: ignore[attr-defined]
    return error
