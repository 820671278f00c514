"""Lambda proxy payload format 2.0 in both directions, as API Gateway's HTTP APIs build and read it.

:func:`build_event` turns an HTTP request into the event a Lambda integration receives;
:func:`map_result` turns what the function returned into the HTTP response the client gets. What payload
format 1.0 (:mod:`.http_api_v1_payload`) and REST APIs share with it is here too: the request and its
:class:`RequestContext`, the headers API Gateway adds, and the reading of a result's status, headers and
body (:class:`MalformedResult` when one is not valid).
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

from . import json_codec

__all__ = [
    "ApiRequest",
    "ApiResponse",
    "MalformedResult",
    "RequestContext",
    "body_field",
    "build_event",
    "error_response",
    "format_request_time",
    "gateway_headers",
    "header_text",
    "is_text_content",
    "map_result",
    "new_request_id",
    "result_body",
    "result_status",
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
class RequestContext:
    """Where a request was routed, and when: what a Lambda proxy event holds beside the request itself.

    ``route_path`` is the decoded path (with a named stage's prefix for an HTTP API, as on AWS).
    """

    route_key: str
    route_path: str
    path_parameters: Mapping[str, str]
    api_id: str
    account_id: str
    stage: str
    stage_variables: Mapping[str, str]
    domain_name: str
    request_id: str
    epoch_seconds: float


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


def gateway_headers(request: ApiRequest, epoch_seconds: float, forwarded_for: str | None) -> dict[str, str]:
    """The headers API Gateway adds on the way to the function, by lower-case name: ``x-forwarded-for``
    (the client's chain ``forwarded_for`` extended by its address) replaces the client's; the others count
    only where the client sent none."""
    return {
        "x-forwarded-for": f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip,
        "x-forwarded-port": str(request.port),
        "x-forwarded-proto": "http",
        "x-amzn-trace-id": _trace_id(epoch_seconds),
        "content-length": str(len(request.body)),
    }


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
    for name, value in gateway_headers(request, epoch_seconds, headers.get("x-forwarded-for")).items():
        if name == "x-forwarded-for" or name not in headers:
            headers[name] = value
    return headers, cookies


def _query_parameters(raw_query: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        params[name] = f"{params[name]},{value}" if name in params else value
    return params


def body_field(body: bytes, content_type: str | None) -> tuple[str | None, bool]:
    """The event's ``body`` (None when empty) and ``isBase64Encoded``: text types as text, others base64."""
    if not body:
        return None, False
    if is_text_content(content_type):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def build_event(request: ApiRequest, context: RequestContext) -> dict[str, Any]:
    """Build the payload format 2.0 event for ``request`` routed as ``context`` says.

    Fields that would be empty (cookies, query parameters, path parameters, stage variables, body) are
    left out, as on AWS.
    """
    headers, cookies = _merge_headers(request, context.epoch_seconds)
    domain_prefix = context.domain_name.split(".", 1)[0]
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": context.route_key,
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
        "accountId": context.account_id,
        "apiId": context.api_id,
        "domainName": context.domain_name,
        "domainPrefix": domain_prefix,
        "http": {
            "method": request.method,
            "path": context.route_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": context.request_id,
        "routeKey": context.route_key,
        "stage": context.stage,
        "time": format_request_time(context.epoch_seconds),
        "timeEpoch": int(context.epoch_seconds * 1000),
    }
    body, encoded = body_field(request.body, headers.get("content-type"))
    if body is not None:
        event["body"] = body
    if context.path_parameters:
        event["pathParameters"] = dict(context.path_parameters)
    event["isBase64Encoded"] = encoded
    if context.stage_variables:
        event["stageVariables"] = dict(context.stage_variables)
    return event


def error_response(status: int, message: str) -> ApiResponse:
    """API Gateway's own error response: ``{"message": ...}`` as JSON."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return ApiResponse(status, [("Content-Type", "application/json")], body, message)


def _internal_error() -> ApiResponse:
    return error_response(500, "Internal Server Error")


class MalformedResult(Exception):
    """A function's result that is not a valid proxy response: API Gateway answers it with a 500."""


def header_text(value: Any) -> str:
    """A response header's value as sent: a string, number or boolean (``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise MalformedResult(f"header value {value!r} is not a string")


def result_status(value: Any) -> int:
    """A result's ``statusCode`` (an integer, or a string of digits) as an HTTP status."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise MalformedResult(f"statusCode {value!r} is not an HTTP status")
    return value


def result_body(result: Mapping[str, Any]) -> bytes:
    """A result's ``body`` as bytes: absent is empty, ``isBase64Encoded`` true is base64."""
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResult("body must be a string")
    if result.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedResult("body is not valid base64") from None
    return body.encode("utf-8")


def _structured(result: Mapping[str, Any]) -> ApiResponse:
    try:
        status = result_status(result["statusCode"])
        raw_headers = result.get("headers") or {}
        if not isinstance(raw_headers, dict):
            raise MalformedResult("headers must be an object")
        headers = [(str(name), header_text(value)) for name, value in raw_headers.items()]
        cookies = result.get("cookies") or []
        if not isinstance(cookies, list) or not all(isinstance(cookie, str) for cookie in cookies):
            raise MalformedResult("cookies must be a list of strings")
        headers.extend(("Set-Cookie", cookie) for cookie in cookies)
        return ApiResponse(status, headers, result_body(result))
    except MalformedResult:
        return _internal_error()


def map_result(payload: bytes, function_error: str | None) -> ApiResponse:
    """Map a Lambda invocation's result to the client's response, as payload format 2.0 does.

    A function error is a 500; a JSON object with ``statusCode`` is read field by field (a malformed
    one is a 500); any other valid JSON is returned as a 200 ``application/json`` body unchanged.
    """
    if function_error:
        return _internal_error()
    try:
        result = json_codec.loads(payload) if payload.strip() else None
    except (UnicodeDecodeError, ValueError):
        return _internal_error()
    if isinstance(result, dict) and "statusCode" in result:
        return _structured(result)
    return ApiResponse(200, [("Content-Type", "application/json")], payload)
