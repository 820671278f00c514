"""Who may call the local cloud's AWS APIs: requests SigV4-signed by a key this cloud issued.

moto accepts any access key and never checks a signature, so any program on the machine — a Lambda
function's code included — could act as the account's root by signing with a well-known key such as
``testing``. The local cloud instead accepts only:

* its **operator key** (``credentials.OperatorKey``): the CLI, Terraform, the aws CLI and tests;
* **STS session keys** it issued (Lambda execution roles, or any ``AssumeRole``), with their session token;
* **IAM user keys** created in it (``CreateAccessKey``), while active.

It checks the signature (``sigv4.py``) and the request time (15 minutes either way, as AWS). Anything else is
refused the way AWS refuses it (``refusal.py``). ``accept_any_key`` is the documented opt-out for throwaway
tests; the IAM policies of session and user keys are then still evaluated (``iam_enforcement.py``).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

from .credentials import OperatorKey
from .refusal import Refusal
from .sigv4 import parse_authorization, signature_matches, skew_problem

__all__ = ["Authenticator", "Caller", "request_headers"]

_INVALID_TOKEN = "The security token included in the request is invalid."
_BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
    "Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: its access key and what issued it."""

    access_key_id: str
    kind: Literal["operator", "session", "user", "anyone"]


@dataclass(frozen=True)
class _Secret:
    kind: Literal["operator", "session", "user"]
    secret_access_key: str
    session_token: str | None


def request_headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers from a WSGI environment, keyed by lower-case name."""
    headers = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def _raw_path(environ: dict[str, Any]) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw).partition("?")[0]
    return quote(str(environ.get("PATH_INFO") or "/"), safe="/~!$&'()*+,;=:@%")


class Authenticator:
    """Authenticate requests for one cloud; ``account_id`` is where its STS sessions and users live."""

    def __init__(
        self,
        operator_key: OperatorKey,
        account_id: str,
        *,
        accept_any_key: bool = False,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.operator_key = operator_key
        self.account_id = account_id
        self.accept_any_key = accept_any_key
        self._now = now

    def authenticate(self, environ: dict[str, Any], body: bytes) -> Caller:
        """The caller of the request in ``environ`` with ``body``; raises :class:`Refusal` otherwise."""
        headers = request_headers(environ)
        authorization = headers.get("authorization")
        if self.accept_any_key:
            signed = parse_authorization(authorization) if authorization else None
            return Caller(signed.access_key_id if signed else "", "anyone")
        if not authorization:
            if "X-Amz-Signature=" in str(environ.get("QUERY_STRING") or ""):
                raise Refusal(
                    "unsupported", "Presigned URLs (query-string SigV4) are not supported by the local cloud."
                )
            raise Refusal("missing_token", "Missing Authentication Token")
        signed = parse_authorization(authorization)
        if signed is None:
            raise Refusal(
                "incomplete_signature",
                "Authorization header requires AWS4-HMAC-SHA256 with Credential, SignedHeaders (including "
                "host) and Signature.",
            )
        secret = self._secret(signed.access_key_id)
        if secret is None:
            raise Refusal("invalid_token", _INVALID_TOKEN)
        token = headers.get("x-amz-security-token")
        if secret.session_token is None and token is not None:
            raise Refusal("invalid_token", _INVALID_TOKEN)
        if secret.session_token is not None and not hmac.compare_digest(
            (token or "").encode(), secret.session_token.encode()
        ):
            raise Refusal("invalid_token", _INVALID_TOKEN)
        problem = skew_problem(headers.get("x-amz-date", ""), self._now())
        if problem is not None:
            raise Refusal("bad_signature", problem)
        if not signature_matches(
            signed,
            method=str(environ.get("REQUEST_METHOD") or "GET"),
            raw_path=_raw_path(environ),
            query=str(environ.get("QUERY_STRING") or ""),
            headers=headers,
            body=body,
            secret_access_key=secret.secret_access_key,
            session_token=secret.session_token,
        ):
            raise Refusal("bad_signature", _BAD_SIGNATURE)
        return Caller(signed.access_key_id, secret.kind)

    def _secret(self, access_key_id: str) -> _Secret | None:
        if hmac.compare_digest(access_key_id.encode(), self.operator_key.access_key_id.encode()):
            return _Secret("operator", self.operator_key.secret_access_key, None)
        from moto.iam.models import iam_backends
        from moto.sts.models import sts_backends

        session = sts_backends[self.account_id]["aws"].get_assumed_role_from_access_key(access_key_id)
        if session is not None:
            return _Secret("session", str(session.secret_access_key), str(session.session_token))
        for user in iam_backends[self.account_id]["aws"].users.values():
            for key in user.access_keys:
                if key.access_key_id == access_key_id and key.status == "Active":
                    return _Secret("user", str(key.secret_access_key), None)
        return None
