"""Role trust policies for ``sts:AssumeRole``: whether a role's trust policy lets an IAM principal assume it.

A trust policy is a resource-based policy: its statements name who they apply to (``Principal``). Rather than
a second evaluator, :func:`trust_allows` keeps the statements whose principal matches the caller, turns them
into identity-style statements (``"Resource": "*"``) and hands them to
:func:`~selfheal.cloud.iam_policy.evaluate`, so action matching, conditions and "an explicit deny wins" are
the identity policies' own.

A statement's ``Principal`` matches an IAM principal (an STS session of a role, or an IAM user) when it is
``"*"`` or ``{"AWS": …}`` holding ``"*"``, one of the caller's ARNs (:func:`caller_names`: for a session its
role's ARN — with the role's path — and its session ARN
``arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION``; for a user its user ARN) or its account
(``arn:aws:iam::ACCOUNT:root`` or the bare 12-digit id). ``Service``, ``Federated`` and ``CanonicalUser``
principals never match an IAM principal; principal ARNs are compared exactly (IAM allows no wildcard in
them other than ``"*"``). An AWS service assuming a role (EventBridge Scheduler's execution roles) is the
caller ``service=…`` instead: it matches ``"*"`` and ``{"Service": …}`` naming it, never an ``AWS`` one.

``NotPrincipal`` is not evaluated, erring on the side of refusing: an Allow with it grants nothing, a Deny
with it applies to every caller (even one it exempts). A statement with neither element (not a valid trust
policy) is treated the same way.

The caller's identity-based policies must allow ``sts:AssumeRole`` on the role as well
(:mod:`~selfheal.cloud.iam_enforcement` checks both): stricter than AWS, which lets a same-account trust
policy that names the caller itself (its session ARN, and by its same-account rules its user or role ARN)
allow the call without an identity-based allow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .iam_policy import Context, Decision, evaluate

__all__ = [
    "ASSUME_ROLE",
    "assume_role_context",
    "caller_names",
    "condition_keys_beyond",
    "principal_matches",
    "trust_allows",
]

ASSUME_ROLE = "sts:AssumeRole"

# Elements an identity-style statement does not have (its resource becomes "*").
_DROPPED = ("Principal", "NotPrincipal", "Resource", "NotResource")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    listed = statements if isinstance(statements, list) else [statements]
    return [statement for statement in listed if isinstance(statement, Mapping)]


def caller_names(caller_arns: Iterable[str]) -> frozenset[str]:
    """Every principal name that denotes the caller: its ARNs, plus each ARN's account as
    ``arn:PARTITION:iam::ACCOUNT:root`` and as the bare account id."""
    names: set[str] = set()
    for arn in caller_arns:
        names.add(arn)
        parts = arn.split(":", 5)
        if len(parts) == 6 and parts[0] == "arn" and parts[4]:
            names.update((f"arn:{parts[1]}:iam::{parts[4]}:root", parts[4]))
    return frozenset(names)


def principal_matches(principal: Any, names: frozenset[str], service: str | None = None) -> bool:
    """Whether a statement's ``Principal`` covers an IAM principal known by ``names`` (:func:`caller_names`),
    or, with ``service``, that AWS service (``scheduler.amazonaws.com``).

    For an IAM principal only ``"*"`` and the ``AWS`` key can; ``Service``/``Federated``/``CanonicalUser``
    never do. For a service only ``"*"`` and the ``Service`` key can."""
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    if service is not None:
        return service in _as_list(principal.get("Service"))
    return any(name == "*" or name in names for name in _as_list(principal.get("AWS")))


def _identity_style(
    statement: Mapping[str, Any], names: frozenset[str], service: str | None
) -> dict[str, Any] | None:
    """The statement as an identity-based one (``"Resource": "*"``) if it applies to the caller, else None."""
    deny = statement.get("Effect") == "Deny"
    if "Principal" in statement and "NotPrincipal" not in statement:
        applies = principal_matches(statement["Principal"], names, service)
    else:
        applies = deny  # NotPrincipal (or no principal at all): an Allow grants nothing, a Deny applies
    if not applies:
        return None
    converted = {key: value for key, value in statement.items() if key not in _DROPPED}
    converted["Resource"] = "*"
    return converted


def trust_allows(
    trust_document: Mapping[str, Any],
    caller_arns: Iterable[str],
    context: Context | None = None,
    action: str = ASSUME_ROLE,
    *,
    service: str | None = None,
) -> Decision:
    """Whether the trust policy ``trust_document`` lets the caller (``caller_arns``, or the AWS ``service``)
    perform ``action``.

    The statements whose principal matches the caller are evaluated by
    :func:`~selfheal.cloud.iam_policy.evaluate` in ``context``: an explicit deny wins, else an allow is
    needed (no matching statement: ``implicit_deny``).
    """
    names = caller_names(caller_arns)
    statements = [
        converted
        for statement in _statements(trust_document)
        if (converted := _identity_style(statement, names, service)) is not None
    ]
    return evaluate([{"Version": "2012-10-17", "Statement": statements}], action, "*", context)


def condition_keys_beyond(
    trust_document: Mapping[str, Any],
    known: Iterable[str],
    caller_arns: Iterable[str] = (),
    *,
    service: str | None = None,
) -> list[str]:
    """The condition keys, other than ``known``, of the Allow statements that name the caller: the keys a
    refusal may be owed to because the local cloud cannot evaluate them (sorted, as written)."""
    names, known_keys = caller_names(caller_arns), {key.lower() for key in known}
    keys: set[str] = set()
    for statement in _statements(trust_document):
        if statement.get("Effect") != "Allow" or not principal_matches(
            statement.get("Principal"), names, service
        ):
            continue
        condition = statement.get("Condition")
        for operator in condition.values() if isinstance(condition, Mapping) else ():
            if isinstance(operator, Mapping):
                keys.update(str(key) for key in operator if str(key).lower() not in known_keys)
    return sorted(keys)


def assume_role_context(
    params: Mapping[str, Any], principal_arn: str, account: str
) -> dict[str, tuple[str, ...]]:
    """The condition keys an ``AssumeRole`` request is known to carry, for its trust policy's conditions.

    ``sts:ExternalId`` and ``sts:RoleSessionName`` (``()`` when the request has none), ``aws:PrincipalArn``
    (a session's role ARN, or the user's ARN) and ``aws:PrincipalAccount``; any other key stays unknown.
    """

    def present(name: str) -> tuple[str, ...]:
        value = params.get(name)
        return (str(value),) if value not in (None, "") else ()

    return {
        "sts:ExternalId": present("ExternalId"),
        "sts:RoleSessionName": present("RoleSessionName"),
        "aws:PrincipalArn": (principal_arn,),
        "aws:PrincipalAccount": (account,),
    }
