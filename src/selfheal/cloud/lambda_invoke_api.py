"""Lambda ``Invoke`` answered by the local cloud itself, without moto's request machinery.

``POST /2015-03-31/functions/{FunctionName}/invocations`` (optionally ``?Qualifier=``) is the data plane's
hottest call; through moto it pays for Flask, moto's URL routing and response classes (about half of the
gateway's time per invoke, bench/README.md). :class:`InvokeApi` is a :class:`~.gateway.Gateway` shortcut:
the gateway runs it only after its Host/Origin checks, body bound and SigV4 authentication, and it serves
only the operator key's requests (the account's root, which IAM enforcement lets through to moto's own
check, itself open unless moto's ``INITIAL_NO_AUTH_ACTION_COUNT`` is set). Every other request — an STS
session, an IAM user, ``accept_any_key``, any other query string — returns None and goes to moto as before,
so IAM policies are evaluated exactly where they were.

The answer is the one moto's path gives (moto_state's ``Invoke`` hook): the same LambdaService call, the
same errors rendered as moto renders a ``JsonRESTError``, and the same headers (``x-amzn-RequestId``,
``X-Amz-Executed-Version``, ``X-Amz-Function-Error``, ``X-Amz-Log-Result``, ``x-amz-crc32``).
"""

from __future__ import annotations

import binascii
import json
import secrets
import string
import sys
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote

from .authentication import Caller
from .errors import CloudError
from .gateway import CALLER_KEY, RAW_BODY_KEY, StartResponse, WSGIEnvironment
from .lambda_functions import backend_in_region, refuse_pending
from .lambda_service import LambdaService, invoke_headers
from .moto_state import aws_error
from .sigv4 import parse_authorization

__all__ = ["INVOKE_PREFIX", "InvokeApi", "invoke_target"]

#: The Invoke operation's path, before the function name (Lambda API reference, Invoke).
INVOKE_PREFIX = "/2015-03-31/functions/"
_SUFFIX = "/invocations"
# moto's Invoke answers a payload larger than this (by sys.getsizeof) with Function.ResponseSizeTooLarge.
_MOTO_RESPONSE_LIMIT = 6_000_000
_TOO_LARGE = json.dumps(
    {
        "errorMessage": "Response payload size exceeded maximum allowed payload size (6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }
).encode()
_ID_ALPHABET = string.ascii_letters + string.digits


def invoke_target(environ: WSGIEnvironment) -> tuple[str, str | None] | None:
    """(function name, qualifier) of an Invoke request the shortcut serves, or None for any other request
    (another path or method, or a query string other than one non-empty ``Qualifier``)."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    path = str(environ.get("PATH_INFO") or "")
    if not path.startswith(INVOKE_PREFIX) or not path.endswith(_SUFFIX):
        return None
    name = unquote(path[len(INVOKE_PREFIX) : -len(_SUFFIX)])
    if not name or "/" in name:
        return None
    query = str(environ.get("QUERY_STRING") or "")
    if not query:
        return name, None
    parsed = parse_qs(query, keep_blank_values=True)
    qualifiers = parsed.get("Qualifier")
    if set(parsed) != {"Qualifier"} or qualifiers is None or len(qualifiers) != 1 or not qualifiers[0]:
        return None
    return name, qualifiers[0]


def _moto_request_id() -> str:
    # moto's gen_amzn_requestid_long: 52 letters and digits, for answers that carry no Lambda request id.
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(52))


def _moto_open() -> bool:
    """Whether moto's own IAM check lets the root through (it does unless INITIAL_NO_AUTH_ACTION_COUNT)."""
    from moto import settings

    return bool(float("inf") == settings.INITIAL_NO_AUTH_ACTION_COUNT)


class InvokeApi:
    """The gateway shortcut for Lambda ``Invoke`` by the operator key; None for requests it leaves to moto.

    ``lambdas()`` is the running LambdaService (None: not started, leave it to moto), ``backend(service)``
    moto's backend of the cloud's region, ``now()`` cloud time (a function is Pending for a moment after
    CreateFunction), ``region`` the cloud's default region.
    """

    def __init__(
        self,
        lambdas: Callable[[], LambdaService | None],
        backend: Callable[[str], Any],
        now: Callable[[], float],
        region: str,
        operator_key_id: str | None = None,
    ) -> None:
        self._operator_key_id = operator_key_id
        self._lambdas = lambdas
        self._backend = backend
        self._now = now
        self._region = region
        #: How many invocations the shortcut served (tests check the fast path was taken).
        self.served = 0
        self._lock = threading.Lock()

    def serves_on_loop(self, environ: WSGIEnvironment) -> bool:
        """Whether the request looks like an Invoke this shortcut answers (signed with the operator's key id;
        authentication still decides): the front may run it on its loop (see cooperative.py). An IAM
        user's goes through moto, in the pool."""
        if self._operator_key_id is None or invoke_target(environ) is None:
            return False
        signed = parse_authorization(str(environ.get("HTTP_AUTHORIZATION") or ""))
        return signed is not None and signed.access_key_id == self._operator_key_id

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes] | None:
        caller = environ.get(CALLER_KEY)
        if not isinstance(caller, Caller) or caller.kind != "operator":
            return None
        target = invoke_target(environ)
        lambdas = self._lambdas()
        if target is None or lambdas is None or not _moto_open():
            return None
        function, qualifier = target
        signed = parse_authorization(str(environ.get("HTTP_AUTHORIZATION") or ""))
        region = signed.region if signed is not None and signed.region else self._region
        body: bytes = environ.get(RAW_BODY_KEY, b"")
        with self._lock:
            self.served += 1
        try:
            checked = invoke_headers(
                environ.get("HTTP_X_AMZ_INVOCATION_TYPE"),
                environ.get("HTTP_X_AMZ_LOG_TYPE"),
                environ.get("HTTP_X_AMZ_CLIENT_CONTEXT"),
            )
            backend = backend_in_region(self._backend("lambda"), "lambda", region)
            refuse_pending(backend, function, qualifier, self._now())
            result = lambdas.invoke(
                function,
                body,
                checked.invocation_type,
                qualifier,
                log_type=checked.log_type,
                region=region,
                client_context=checked.client_context,
            )
        except CloudError as exc:
            return _error(start_response, aws_error(exc))
        except Exception as exc:
            if not _is_moto_error(exc):
                raise
            return _error(start_response, exc)  # e.g. from moto's alias lookup: moto would have rendered it
        payload, invocation_type = result.payload, checked.invocation_type
        headers = [("server", "amazon.com"), ("x-amzn-requestid", result.request_id or _moto_request_id())]
        headers.append(("x-amz-executed-version", result.executed_version))
        function_error = result.function_error
        if invocation_type == "RequestResponse" and sys.getsizeof(payload) > _MOTO_RESPONSE_LIMIT:
            payload, function_error = _TOO_LARGE, "Unhandled"
        if function_error:
            headers.append(("x-amz-function-error", function_error))
        if result.log_result is not None and checked.log_type == "Tail":
            headers.append(("x-amz-log-result", result.log_result))
        status = {"Event": 202, "DryRun": 204}.get(invocation_type, 200)
        if status != 204:
            headers.append(("Content-Length", str(len(payload))))
        headers.append(("content-type", "application/json"))
        if status != 200:
            headers.append(("status", str(status)))
        headers.append(("x-amz-crc32", str(binascii.crc32(payload))))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [payload] if status != 204 else []


def _is_moto_error(error: Exception) -> bool:
    from moto.core.exceptions import _RESTError

    return isinstance(error, _RESTError)


def _error(start_response: StartResponse, error: Any) -> list[bytes]:
    """``error`` (a moto ``JsonRESTError`` or ``RESTError``) as moto's server renders it."""
    body = str(error.get_body()).encode()
    headers = [("server", "amazon.com"), *error.get_headers()]
    headers += [("status", str(error.code)), ("x-amzn-requestid", _moto_request_id())]
    headers.append(("Content-Length", str(len(body))))
    start_response(f"{error.code} {HTTPStatus(error.code).phrase}", headers)
    return [body]
