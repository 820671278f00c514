"""Temporary credentials of Lambda execution roles, issued by STS AssumeRole in moto.

On AWS, Lambda assumes a function's execution role and hands the session's keys to every execution
environment as ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``. The local cloud does
the same through moto's STS backend, so the calls a handler makes are signed by its role's session and IAM
enforcement (``iam_enforcement.py``) can evaluate that role's policies. The issuer remembers every secret it
handed out, so logs can be checked (and redacted) for them.

The operator (the CLI, Terraform, the aws CLI, tests) signs with an :class:`OperatorKey`: a random access
key pair made per cloud (or per work directory, kept in a file of mode 0600 by :func:`load_or_create`).
The local cloud accepts no other long-term key, so code that guesses a well-known key (``testing``) gets
``InvalidClientTokenId`` instead of root.
"""

from __future__ import annotations

import configparser
import os
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "OPERATOR_PROFILE",
    "CredentialIssuer",
    "OperatorKey",
    "RoleCredentials",
    "load_or_create",
    "read_key",
    "session_name",
]

#: The profile name in the credentials file :func:`load_or_create` writes (``AWS_PROFILE=selfheal``).
OPERATOR_PROFILE = "selfheal"
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"

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


@dataclass(frozen=True)
class OperatorKey:
    """The long-term access key that acts as the account's root in one local cloud."""

    access_key_id: str
    secret_access_key: str

    def __post_init__(self) -> None:
        if not (16 <= len(self.access_key_id) <= 128 and self.access_key_id.isalnum()):
            raise ValueError("an access key id must be 16 to 128 letters and digits")
        if len(self.secret_access_key) < 16:
            raise ValueError("a secret access key must be at least 16 characters")

    @classmethod
    def generate(cls) -> OperatorKey:
        """A fresh random key pair shaped like AWS's (``AKIA`` + 16 characters, 40-character secret)."""
        key = "AKIA" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
        secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
        return cls(key, secret)

    def environment(self) -> dict[str, str]:
        """``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` for a child process (never printed)."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}

    def boto3_arguments(self) -> dict[str, str]:
        """``aws_access_key_id``/``aws_secret_access_key`` keyword arguments for boto3."""
        return {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key}

    def __repr__(self) -> str:
        return f"OperatorKey(access_key_id={self.access_key_id!r}, …)"


def read_key(path: Path) -> OperatorKey:
    """The ``[selfheal]`` key of the shared-credentials file at ``path``; ValueError when unusable."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        mode = path.stat().st_mode & 0o777
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    if mode & 0o077:
        raise ValueError(f"{path} is readable by other users (mode {mode:04o}); run `chmod 600 {path}`")
    try:
        parser.read_string(text)
        section = parser[OPERATOR_PROFILE]
        return OperatorKey(section["aws_access_key_id"], section["aws_secret_access_key"])
    except (configparser.Error, KeyError, ValueError):
        # The parser's message may quote lines of the file, and so the secret: name nothing of its content.
        raise ValueError(
            f"{path} holds no usable [{OPERATOR_PROFILE}] key (aws_access_key_id and aws_secret_access_key); "
            "delete it and restart the cloud"
        ) from None


def load_or_create(path: Path) -> OperatorKey:
    """The operator key kept in ``path`` (an AWS shared-credentials file), made with mode 0600 if missing.

    The same work directory keeps its key across restarts, so exported ``AWS_PROFILE`` settings stay valid.
    Creation is exclusive: two processes racing here end up with the same key.
    """
    if path.exists():
        return read_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = OperatorKey.generate()
    text = (
        "# The local cloud's operator key (selfheal). Keep it private: it acts as the account's root.\n"
        f"[{OPERATOR_PROFILE}]\naws_access_key_id = {key.access_key_id}\n"
        f"aws_secret_access_key = {key.secret_access_key}\n"
    )
    # Written aside, then linked into place: a racing reader sees no file or a whole one, never half.
    partial = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.link(partial, path)
    except FileExistsError:
        return read_key(path)
    finally:
        partial.unlink(missing_ok=True)
    return key


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
