"""Lambda proxy payload format 2.0 in both directions, as API Gateway's HTTP APIs build and read it.

:func:`build_event` turns an HTTP request into the event a Lambda integration receives;
:func:`map_result` turns what the function returned into the HTTP response the client gets.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

__all__ = [
    "ApiRequest",
    "ApiResponse",
    "build_event",
    "error_response",
    "format_request_time",
    "is_text_content",
    "map_result",
    "new_request_id",
]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TEXT_TYPES = frozenset({"application/json", "application/javascript", "application/xml"})


@dataclass(frozen=True)
class ApiRequest:
    """An HTTP request as it reached the API: ``raw_path`` still holds a named stage's prefix."""

    method: str
    raw_path: str
    raw_query: str = ""
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    port: int = 80


@dataclass(frozen=True)
class ApiResponse:
    """The HTTP response sent back to the client; ``headers`` may repeat a name (Set-Cookie).

    ``error``: API Gateway's own error message when it answered itself (``$context.error.message``).
    """

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: str = ""


def new_request_id() -> str:
    """Return a request id shaped like API Gateway's (16 characters, base64 alphabet)."""
    return base64.b64encode(secrets.token_bytes(10)).decode("ascii")


def format_request_time(epoch_seconds: float) -> str:
    """Format ``epoch_seconds`` as ``requestContext.time`` does: ``23/Nov/2026:19:52:00 +0000``."""
    moment = time.gmtime(epoch_seconds)
    month = _MONTHS[moment.tm_mon - 1]
    return f"{moment.tm_mday:02d}/{month}/{moment.tm_year}:{time.strftime('%H:%M:%S', moment)} +0000"


def is_text_content(content_type: str | None) -> bool:
    """True when a body of this media type reaches the function as text rather than base64."""
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return (
        media.startswith("text/") or media in _TEXT_TYPES or media.endswith("+json") or media.endswith("+xml")
    )


def _trace_id(epoch_seconds: float) -> str:
    return f"Root=1-{int(epoch_seconds):08x}-{secrets.token_hex(12)}"


def _merge_headers(request: ApiRequest, epoch_seconds: float) -> tuple[dict[str, str], list[str]]:
    """Lower-case names, join duplicates with commas, and take every Cookie header out as cookies."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            # Cookie values cannot hold ',' or ';' (RFC 6265), so both separate cookies here.
            cookies.extend(part.strip() for part in value.replace(",", ";").split(";") if part.strip())
            continue
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    headers.setdefault("x-forwarded-port", str(request.port))
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-amzn-trace-id", _trace_id(epoch_seconds))
    headers.setdefault("content-length", str(len(request.body)))
    return headers, cookies


def _query_parameters(raw_query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        params[name] = f"{params[name]},{value}" if name in params else value
    return params


def _body_field(body: bytes, content_type: str | None) -> tuple[str | None, bool]:
    """The event's ``body`` (None when empty) and ``isBase64Encoded``: text types as text, others base64."""
    if not body:
        return None, False
    if is_text_content(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def build_event(
    request: ApiRequest,
    *,
    route_key: str,
    route_path: str,
    path_parameters: Mapping[str, str],
    api_id: str,
    account_id: str,
    stage: str,
    stage_variables: Mapping[str, str],
    domain_name: str,
    request_id: str,
    epoch_seconds: float,
) -> dict[str, Any]:
    """Build the payload format 2.0 event for ``request`` routed to ``route_key``.

    ``route_path`` is the decoded path (with a named stage's prefix, as on AWS); fields that would be
    empty (cookies, query parameters, path parameters, stage variables, body) are left out, as on AWS.
    """
    headers, cookies = _merge_headers(request, epoch_seconds)
    domain_prefix = domain_name.split(".", 1)[0]
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = _query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain_name,
        "domainPrefix": domain_prefix,
        "http": {
            "method": request.method,
            "path": route_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": format_request_time(epoch_seconds),
        "timeEpoch": int(epoch_seconds * 1000),
    }
    body, encoded = _body_field(request.body, headers.get("content-type"))
    if body is not None:
        event["body"] = body
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    event["isBase64Encoded"] = encoded
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    return event


def error_response(status: int, message: str) -> ApiResponse:
    """API Gateway's own error response: ``{"message": ...}`` as JSON."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return ApiResponse(status, [("Content-Type", "application/json")], body, message)


def _internal_error() -> ApiResponse:
    return error_response(500, "Internal Server Error")


def _header_value(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _structured(result: Mapping[str, Any]) -> ApiResponse:
    status = result["statusCode"]
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return _internal_error()
    headers: list[tuple[str, str]] = []
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, Mapping):
        return _internal_error()
    for name, value in raw_headers.items():
        text = _header_value(value)
        if text is None:
            return _internal_error()
        headers.append((str(name), text))
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(cookie, str) for cookie in cookies):
        return _internal_error()
    headers.extend(("Set-Cookie", cookie) for cookie in cookies)
    body = result.get("body")
    if body is None:
        payload = b""
    elif not isinstance(body, str):
        return _internal_error()
    elif result.get("isBase64Encoded") is True:
        try:
            payload = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return _internal_error()
    else:
        payload = body.encode("utf-8")
    return ApiResponse(status, headers, payload)


def map_result(payload: bytes, function_error: str | None) -> ApiResponse:
    """Map a Lambda invocation's result to the client's response, as payload format 2.0 does.

    A function error is a 500; a JSON object with ``statusCode`` is read field by field (a malformed
    one is a 500); any other valid JSON is returned as a 200 ``application/json`` body unchanged.
    """
    if function_error:
        return _internal_error()
    try:
        result = json.loads(payload) if payload.strip() else None
    except (UnicodeDecodeError, ValueError):
        return _internal_error()
    if isinstance(result, dict) and "statusCode" in result:
        return _structured(result)
    return ApiResponse(200, [("Content-Type", "application/json")], payload)
