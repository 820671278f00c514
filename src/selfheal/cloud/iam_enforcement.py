"""IAM enforced locally: the moto hook that authorises requests signed by IAM principals' credentials.

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
  the request needs (:func:`~selfheal.cloud.iam_permissions.required_permissions`; e.g. DynamoDB's
  ``TransactWriteItems`` needs ``dynamodb:UpdateItem``/``PutItem``/``ConditionCheckItem`` on each table) and
  evaluates the principal's identity-based policies (inline and attached) with
  :func:`~selfheal.cloud.iam_policy.evaluate`: an explicit deny wins, else an allow is needed. A refusal is
  the service's own error (``AccessDeniedException`` for JSON services, SNS's ``AuthorizationError``,
  ``AccessDenied`` for query services) with AWS's message wording;
* for ``sts:AssumeRole`` also checks the resource side, as AWS does: the role named by ``RoleArn`` must exist
  (moto's own ``assume_role`` issues a session of any ARN, existing or not) and its trust policy must allow
  the caller (:func:`~selfheal.cloud.iam_trust.trust_allows`), else ``AccessDenied`` with AWS's wording
  (``User: … is not authorized to perform: sts:AssumeRole on resource: ROLE``), whatever the reason.

Conditions are evaluated only on the condition keys the resolver knows for a request (e.g. Lambda's
``lambda:FunctionArn`` for event source mappings) and with the operators ``iam_policy`` implements; any other
makes an Allow grant nothing and a Deny apply. What is not evaluated (see the README's "IAM enforced
locally" section): policy variables, resource-based policies other than the trust policies of
``AssumeRole`` (Lambda permissions, queue and topic policies, key policies), permission boundaries, session
policies, SCPs, S3, presigned URLs.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

from .gateway import RAW_BODY_KEY
from .iam_permissions import Permission, iam_prefix, required_permissions
from .iam_policy import Decision, evaluate, policy_document
from .iam_trust import ASSUME_ROLE, assume_role_context, trust_allows
from .moto_patches import MotoPatches, parameters
from .sigv4 import parse_authorization, signature_matches

# Permission, Decision, evaluate and required_permissions are re-exported for tests/security.
__all__ = [
    "Decision",
    "IamEnforcement",
    "Permission",
    "access_key_id",
    "evaluate",
    "required_permissions",
]

_JSON_ERROR_CODES = {"sqs": "AccessDenied", "cloudwatch": "AccessDenied"}
_XML_ERROR_CODES = {"sns": "AuthorizationError"}
# A role's ARN, with or without a path: arn:aws:iam::ACCOUNT:role/[PATH/]NAME.
_ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role/.+")


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
        self._patches = MotoPatches()
        self._lock = threading.Lock()
        self.refusals = 0

    @property
    def active(self) -> bool:
        """Whether the hook is installed."""
        return self._patches.installed

    def start(self) -> None:
        """Install the hook in place of moto's all-or-nothing IAM check."""
        from moto.core.authorization import ActionAuthenticatorMixin

        if self._patches.installed:
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
        self._patches.restore()

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
        prefix = iam_prefix(signing_name)
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
            documents = [policy_document(policy) for policy in principal.collect_policies()]
        except Exception:  # the role or user is gone: it holds no policies
            documents = []
        params = _params(response)
        for permission in required_permissions(prefix, operation, params, region, account, moto_resource):
            decision = evaluate(documents, permission.action, permission.resource, permission.context)
            if decision != "allow":
                self._count_refusal()
                raise _Refusal(403, "", _denied_message(principal.arn, permission, decision))
        if prefix == "sts" and operation == "AssumeRole":
            self._authorize_trust(principal, key, account, params)
        return True

    def _count_refusal(self) -> None:
        with self._lock:
            self.refusals += 1

    def _authorize_trust(self, principal: Any, key: str, account: str, params: Mapping[str, Any]) -> None:
        """Refuse an ``AssumeRole`` whose role does not exist or whose trust policy does not allow the caller.

        One message for both, as AWS (it does not tell a caller whether a role it may not assume exists).
        """
        role_arn = str(params.get("RoleArn") or "")
        trust = _trust_document(role_arn)
        callers = _caller_arns(principal, key, account)
        if trust is not None:
            context = assume_role_context(params, callers[0], account)
            if trust_allows(trust, callers, context) == "allow":
                return
        self._count_refusal()
        raise _Refusal(
            403,
            "AccessDenied",
            f"User: {principal.arn} is not authorized to perform: {ASSUME_ROLE} on resource: {role_arn}",
        )


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


def _trust_document(role_arn: str) -> dict[str, Any] | None:
    """The trust policy of the role ``role_arn`` names (looked up by its full ARN, path included, in the
    IAM backend of the ARN's account), or None when there is no such role."""
    from moto.iam.models import iam_backends

    match = _ROLE_ARN.fullmatch(role_arn)
    if match is None:
        return None
    try:
        role = iam_backends[match.group(1)]["aws"].get_role_by_arn(role_arn)
        return policy_document(role.assume_role_policy_document)
    except Exception:  # no such role (or a trust policy that is not JSON: nobody may assume it)
        return None


def _caller_arns(principal: Any, key: str, account: str) -> list[str]:
    """The ARNs a trust policy may name the caller by, the principal's own first (``aws:PrincipalArn``).

    A session: its role's ARN as IAM has it (moto's session ARN drops the role's path, and moto keeps the
    ARN the session was asked for, so the role is found by name, as moto finds its policies), then the
    session ARN. A user: its ARN as IAM has it (with its path).
    """
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    iam = iam_backends[account]["aws"]

    def as_iam_has_it(arn: str, lookup: Callable[[str], Any]) -> str:
        try:
            return str(lookup(arn.rsplit("/", 1)[-1]).arn)
        except Exception:  # the role or user is gone: the ARN moto has
            return arn

    session = sts_backends[account]["aws"].get_assumed_role_from_access_key(key)
    if session is not None:
        return [as_iam_has_it(str(session.role_arn), iam.get_role), str(principal.arn)]
    return [as_iam_has_it(str(principal.arn), iam.get_user)]


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
    prefix = iam_prefix(signing_name)
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
