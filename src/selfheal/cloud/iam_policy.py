"""IAM policy evaluation for the local cloud: identity-based policy documents against one permission.

:func:`evaluate` decides ``allow``, ``explicit_deny`` or ``implicit_deny`` for an action on a resource: an
applicable Deny wins, else an applicable Allow is needed. ``Action``/``NotAction`` match case-insensitively
and ``Resource``/``NotResource`` case-sensitively, with IAM's ``*`` and ``?`` wildcards. Conditions are not
evaluated: an Allow with a ``Condition`` grants nothing, a Deny with one applies (both err on the side of
refusing). :func:`policy_document` reads a document from what moto's ``collect_policies`` returns.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

__all__ = ["Decision", "evaluate", "policy_document"]

Decision = Literal["allow", "explicit_deny", "implicit_deny"]


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


def policy_document(policy: Any) -> dict[str, Any]:
    """A policy document from what moto's ``collect_policies`` returns (JSON text, dict or Policy)."""
    if hasattr(policy, "versions"):
        policy = next(version.document for version in policy.versions if version.is_default)
    elif isinstance(policy, Mapping):
        policy = policy.get("policy_document", policy)
    if isinstance(policy, str):
        policy = json.loads(policy)
    return dict(policy) if isinstance(policy, Mapping) else {}
