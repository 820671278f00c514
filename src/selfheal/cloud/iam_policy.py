"""IAM policy evaluation for the local cloud: identity-based policy documents against one permission.

:func:`evaluate` decides ``allow``, ``explicit_deny`` or ``implicit_deny`` for an action on a resource: an
applicable Deny wins, else an applicable Allow is needed. ``Action``/``NotAction`` match case-insensitively
and ``Resource``/``NotResource`` case-sensitively, with IAM's ``*`` and ``?`` wildcards.

``Condition`` blocks are evaluated against a request context (:data:`Context`: the condition keys the
permission resolver knows for the request) with the ``String*`` (also ``…IgnoreCase``), ``Arn*``, ``Bool``
and ``Null`` operators, each with the ``IfExists`` suffix and the ``ForAnyValue:``/``ForAllValues:``
qualifiers (not on ``Null``), as AWS documents them: keys are case-insensitive; several operators, or
several keys under one, must all hold; several values of one key are ORed (NORed by the negated
operators); a key absent from the request fails a positive operator and satisfies a negated one, unless
``IfExists`` (holds) or ``Null`` (tests exactly that). A condition on a key the context does not know, with
another operator, or with a policy variable (``${…}``) in its values cannot be evaluated: it makes an
Allow grant nothing and a Deny apply (unless another of the statement's conditions is known to fail, which
makes the statement not apply either way).
:func:`policy_document` reads a document from what moto's ``collect_policies`` returns.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

__all__ = ["Context", "Decision", "evaluate", "policy_document"]

Decision = Literal["allow", "explicit_deny", "implicit_deny"]

Context = Mapping[str, Sequence[str]]
"""A request's condition keys: key → its values, ``()`` when the request is known not to carry the key.
A key that is not listed is unknown: a condition on it cannot be evaluated."""


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _condition_values(value: Any) -> list[str]:
    # JSON true/false are the strings "true"/"false" to IAM.
    items = value if isinstance(value, list) else [value]
    return ["true" if v is True else "false" if v is False else str(v) for v in items]


def _glob(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    # IAM wildcards: '*' any run of characters, '?' one character; nothing else is special.
    regex = fnmatch.translate(pattern.replace("[", "[[]"))
    return re.match(regex, value, 0 if case_sensitive else re.IGNORECASE) is not None


def _arn_like(pattern: str, value: str) -> bool:
    # Each of the six colon-delimited components is matched on its own (a wildcard never spans the
    # colons between them); the last one, the resource, may itself hold colons.
    patterns, values = pattern.split(":", 5), value.split(":", 5)
    if len(patterns) != 6:
        return _glob(pattern, value, case_sensitive=True)
    return len(values) == 6 and all(
        _glob(p, v, case_sensitive=True) for p, v in zip(patterns, values, strict=True)
    )


_Match = Callable[[str, str], bool]  # (policy value, request value) → whether they match

# Condition operators: name (lower case) → (match, negated).
_OPERATORS: dict[str, tuple[_Match, bool]] = {
    "stringequals": (lambda p, v: p == v, False),
    "stringnotequals": (lambda p, v: p == v, True),
    "stringequalsignorecase": (lambda p, v: p.casefold() == v.casefold(), False),
    "stringnotequalsignorecase": (lambda p, v: p.casefold() == v.casefold(), True),
    "stringlike": (lambda p, v: _glob(p, v, case_sensitive=True), False),
    "stringnotlike": (lambda p, v: _glob(p, v, case_sensitive=True), True),
    "arnequals": (_arn_like, False),
    "arnlike": (_arn_like, False),
    "arnnotequals": (_arn_like, True),
    "arnnotlike": (_arn_like, True),
    "bool": (lambda p, v: p.lower() == v.lower(), False),
}


def _condition_holds(
    operator: str, key: str, policy_values: Any, context: Mapping[str, Sequence[str]]
) -> bool | None:
    """Whether one ``operator: {key: values}`` condition holds; None when it cannot be evaluated."""
    qualifier, _, name = operator.lower().rpartition(":")
    if qualifier not in ("", "foranyvalue", "forallvalues"):
        return None
    if_exists = name.endswith("ifexists") and name != "ifexists"
    name = name.removesuffix("ifexists") if if_exists else name
    values = context.get(key.lower())
    if values is None:
        return None  # a key the request context does not know
    wanted = _condition_values(policy_values)
    if any("${" in w for w in wanted):
        return None  # policy variables are not substituted
    if name == "null":
        if qualifier or if_exists or any(w.lower() not in ("true", "false") for w in wanted):
            return None
        return any((w.lower() == "true") == (not values) for w in wanted)
    if name not in _OPERATORS:
        return None
    match, negated = _OPERATORS[name]

    def one(value: str) -> bool:
        matched = any(match(w, value) for w in wanted)
        return not matched if negated else matched

    if not values:  # the request does not carry the key
        if if_exists:
            return True
        if qualifier == "forallvalues":
            return True
        if qualifier == "foranyvalue":
            return False
        return negated
    if qualifier == "forallvalues":
        return all(one(value) for value in values)
    if qualifier == "foranyvalue" or not negated:
        return any(one(value) for value in values)
    return all(one(value) for value in values)  # negated: no value of the key may match


def _conditions_hold(condition: Any, context: Mapping[str, Sequence[str]]) -> bool | None:
    """Whether a statement's ``Condition`` block holds: True, False, or None when it cannot be told."""
    if not condition:
        return True
    if not isinstance(condition, Mapping):
        return None
    unknown = False
    for operator, keys in condition.items():
        if not isinstance(keys, Mapping) or not keys:
            unknown = True
            continue
        for key, values in keys.items():
            holds = _condition_holds(str(operator), str(key), values, context)
            if holds is False:
                return False  # one failing condition fails the block, whatever the unknown ones say
            unknown = unknown or holds is None
    return None if unknown else True


def _statement_applies(statement: Mapping[str, Any], action: str, resource: str) -> bool:
    if "NotAction" in statement:
        if any(_glob(p, action, case_sensitive=False) for p in _as_list(statement["NotAction"])):
            return False
    elif not any(_glob(p, action, case_sensitive=False) for p in _as_list(statement.get("Action"))):
        return False
    if "NotResource" in statement:
        return not any(_glob(p, resource, case_sensitive=True) for p in _as_list(statement["NotResource"]))
    return any(_glob(p, resource, case_sensitive=True) for p in _as_list(statement.get("Resource")))


def evaluate(
    documents: Iterable[Mapping[str, Any]], action: str, resource: str, context: Context | None = None
) -> Decision:
    """Evaluate identity-based policy ``documents`` for ``action`` on ``resource`` in ``context``.

    An applicable Deny wins over any Allow. A statement's conditions are evaluated against ``context``
    (condition key → values; keys case-insensitive); one that cannot be evaluated (an unknown key or
    operator) makes an Allow grant nothing and a Deny apply — both err on the side of refusing.
    """
    known = {str(key).lower(): tuple(values) for key, values in (context or {}).items()}
    allowed = False
    for document in documents:
        statements = document.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            if not isinstance(statement, Mapping) or not _statement_applies(statement, action, resource):
                continue
            holds = _conditions_hold(statement.get("Condition"), known)
            if statement.get("Effect") == "Deny" and holds is not False:
                return "explicit_deny"
            if statement.get("Effect") == "Allow" and holds is True:
                allowed = True
    return "allow" if allowed else "implicit_deny"


def policy_document(policy: Any) -> dict[str, Any]:
    """A policy document from what moto's ``collect_policies`` returns (JSON text, dict or Policy)."""
    if hasattr(policy, "versions"):
        policy = next(version.document for version in policy.versions if version.is_default)
    elif isinstance(policy, Mapping):
        policy = policy.get("policy_document", policy)
    if isinstance(policy, str):
        policy = json.loads(policy)
    return dict(policy) if isinstance(policy, Mapping) else {}
