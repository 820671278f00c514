"""Temporary credentials of Lambda execution roles, issued by STS AssumeRole in moto.

On AWS, Lambda assumes a function's execution role and hands the session's keys to every execution
environment as ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``. The local cloud does
the same through moto's STS backend, so the calls a handler makes are signed by its role's session and IAM
enforcement (``iam_enforcement.py``) can evaluate that role's policies. The issuer remembers every secret it
handed out, so logs can be checked (and redacted) for them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["CredentialIssuer", "RoleCredentials", "session_name"]

# Lambda's sessions last up to 12 hours before Lambda refreshes them.
SESSION_SECONDS = 43200


@dataclass(frozen=True)
class RoleCredentials:
    """One role session's keys; ``repr`` never shows the secret parts."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    role_arn: str

    def environment(self) -> dict[str, str]:
        """The variables Lambda sets in an execution environment for these credentials."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_SESSION_TOKEN": self.session_token,
        }

    def __repr__(self) -> str:
        return f"RoleCredentials(access_key_id={self.access_key_id!r}, role_arn={self.role_arn!r}, …)"


def session_name(function_name: str) -> str:
    """The role session name Lambda uses: the function's name (2 to 64 characters)."""
    allowed = "".join(c if c.isalnum() or c in "+=,.@_-" else "-" for c in function_name)
    return (allowed or "lambda").ljust(2, "-")[:64]


class CredentialIssuer:
    """Assume execution roles in moto's STS backend and remember what was issued.

    ``backend(service)`` returns moto's backend for the cloud's account and region.
    """

    def __init__(self, backend: Callable[[str], Any], region: str) -> None:
        self._backend = backend
        self.region = region
        self._lock = threading.Lock()
        self._issued: dict[str, RoleCredentials] = {}

    def issue(self, role_arn: str, function_name: str) -> RoleCredentials:
        """Assume ``role_arn`` for ``function_name`` and return the session's credentials."""
        assumed = self._backend("sts").assume_role(
            region_name=self.region,
            role_session_name=session_name(function_name),
            role_arn=role_arn,
            policy="",
            duration=SESSION_SECONDS,
            external_id="",
        )
        credentials = RoleCredentials(
            access_key_id=str(assumed.access_key_id),
            secret_access_key=str(assumed.secret_access_key),
            session_token=str(assumed.session_token),
            role_arn=role_arn,
        )
        with self._lock:
            self._issued[credentials.access_key_id] = credentials
        return credentials

    def issued(self, access_key_id: str) -> bool:
        """Whether ``access_key_id`` belongs to a session this issuer handed out."""
        with self._lock:
            return access_key_id in self._issued

    def secrets(self) -> list[str]:
        """Every secret access key and session token handed out so far (to check logs for them)."""
        with self._lock:
            return [
                secret
                for credentials in self._issued.values()
                for secret in (credentials.secret_access_key, credentials.session_token)
            ]
