"""Bucket policies in the local cloud: a Deny for everyone is enforced with its conditions evaluated.

moto checks a bucket's policy on object requests but ignores ``Condition`` blocks, so the most common
bucket policy — deny every request without TLS (``"Bool": {"aws:SecureTransport": "false"}``) — refused
every object request. While started, this component replaces ``FakeBucket.get_permission`` (through a
:class:`~selfheal.cloud.moto_patches.MotoPatches` registry) with the cloud's own policy evaluation
(:func:`~selfheal.cloud.iam_policy.evaluate`), in a request context where ``aws:SecureTransport`` is
``true`` (the loopback endpoint stands in for S3's TLS endpoint). Only statements for every principal
(``"*"`` or ``{"AWS": "*"}``) are evaluated: the caller is not known at that point, and the cloud
authorises principals by their IAM policies. A condition the evaluator cannot decide makes a Deny apply.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from .iam_policy import evaluate
from .moto_patches import MotoPatches, parameters
from .protocol import Cloud

__all__ = ["S3BucketPolicies", "bucket_policy_decision"]

#: What the request context of an S3 object request says, as far as the local cloud knows it.
CONTEXT = {"aws:SecureTransport": ("true",)}


def _for_everyone(statement: Any) -> bool:
    if not isinstance(statement, Mapping):
        return False
    principal = statement.get("Principal")
    if isinstance(principal, Mapping):
        principal = principal.get("AWS")
    return principal == "*" or (isinstance(principal, list) and "*" in principal)


def bucket_policy_decision(policy: str | bytes, action: str, resource: str) -> str:
    """``allow``, ``explicit_deny`` or ``implicit_deny``: the bucket ``policy``'s statements for every
    principal, for ``action`` on ``resource``."""
    document = json.loads(policy)
    statements = document.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    everyone = {**document, "Statement": [s for s in statements if _for_everyone(s)]}
    return evaluate([everyone], action, resource, CONTEXT)


class S3BucketPolicies:
    """Evaluate bucket policies' conditions on object requests; a LocalCloud component."""

    def __init__(self) -> None:
        self._patches = MotoPatches()

    def start(self, cloud: Cloud) -> None:
        """Replace moto's condition-blind bucket policy check."""
        from moto.iam.access_control import PermissionResult
        from moto.s3.models import FakeBucket

        if self._patches.installed:
            raise RuntimeError("S3 bucket policies are already started")

        def evaluating(original: Callable[..., Any]) -> Callable[..., Any]:
            def get_permission(bucket: Any, action: str, resource: str) -> Any:
                if bucket.policy is None:
                    return PermissionResult.NEUTRAL
                decision = bucket_policy_decision(bucket.policy, action, resource)
                if decision == "explicit_deny":
                    return PermissionResult.DENIED
                return PermissionResult.PERMITTED if decision == "allow" else PermissionResult.NEUTRAL

            return get_permission

        patches = MotoPatches()
        patches.replace(
            FakeBucket,
            "get_permission",
            evaluating,
            reason="evaluate bucket policies' conditions (moto ignores them: a TLS-only Deny refused all)",
            expect=parameters("action", "resource"),
        )
        patches.install()
        self._patches = patches

    def stop(self) -> None:
        """Restore moto's check."""
        self._patches.restore()
