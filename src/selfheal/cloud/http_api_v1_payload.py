"""Lambda proxy payload format 1.0 in both directions, as API Gateway's HTTP APIs build and read it.

Terraform's default ``payload_format_version`` is ``"1.0"``: the REST-API-shaped event (``resource``,
``path``, ``httpMethod``, single- and multi-value headers and query parameters, ``requestContext`` with
``identity``), and a response the function must shape itself: unlike 2.0, nothing is inferred, so a result
without an integer ``statusCode`` is API Gateway's 500 ``{"message":"Internal Server Error"}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from .http_api_event import ApiRequest, ApiResponse, error_response, format_request_time, is_text_content

__all__ = ["build_v1_event", "map_v1_result"]

_IDENTITY_NULLS = (
    "accessKey",
    "accountId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "user",
    "userArn",
)


def _trace_header(epoch_seconds: float) -> str:
    return f"Root=1-{int(epoch_seconds):08x}-{secrets.token_hex(12)}"


def _headers(request: ApiRequest, epoch_seconds: float) -> dict[str, list[str]]:
    """Every header value by lower-case name, in order, with the ones API Gateway adds."""
    multi: dict[str, list[str]] = {}
    for name, value in request.headers:
        multi.setdefault(name.lower(), []).append(value)
    forwarded = multi.get("x-forwarded-for")
    chain = f"{forwarded[-1]}, {request.source_ip}" if forwarded else request.source_ip
    multi["x-forwarded-for"] = [chain]
    multi.setdefault("x-forwarded-port", [str(request.port)])
    multi.setdefault("x-forwarded-proto", ["http"])
    multi.setdefault("x-amzn-trace-id", [_trace_header(epoch_seconds)])
    multi.setdefault("content-length", [str(len(request.body))])
    return multi


def _query(raw_query: str) -> dict[str, list[str]]:
    multi: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        multi.setdefault(name, []).append(value)
    return multi


def _resource(route_key: str) -> str:
    """The route's path template (``/items/{id}``), or ``$default`` for the ``$default`` route."""
    _, sep, path = route_key.partition(" ")
    return path if sep else route_key


def build_v1_event(
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
    """Build the payload format 1.0 event for ``request`` routed to ``route_key``.

    Single-value maps hold the last value sent, multi-value maps all of them; maps that would be empty
    and an empty body are ``null``, as on AWS. ``route_path`` is the decoded path (with a named stage's
    prefix, as on AWS).
    """
    multi_headers = _headers(request, epoch_seconds)
    multi_query = _query(request.raw_query)
    resource = _resource(route_key)
    body: str | None = None
    encoded = False
    if request.body:
        content_type = (multi_headers.get("content-type") or [""])[-1]
        if is_text_content(content_type):
            try:
                body = request.body.decode("utf-8")
            except UnicodeDecodeError:
                body = None
        if body is None:
            body, encoded = base64.b64encode(request.body).decode("ascii"), True
    user_agent = (multi_headers.get("user-agent") or [""])[-1]
    identity: dict[str, Any] = dict.fromkeys(_IDENTITY_NULLS)
    identity["sourceIp"] = request.source_ip
    identity["userAgent"] = user_agent
    return {
        "version": "1.0",
        "resource": resource,
        "path": route_path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} if multi_query else None,
        "multiValueQueryStringParameters": multi_query or None,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "authorizer": {"claims": None, "scopes": None},
            "domainName": domain_name,
            "domainPrefix": domain_name.split(".", 1)[0],
            "extendedRequestId": request_id,
            "httpMethod": request.method,
            "identity": identity,
            "path": route_path,
            "protocol": request.protocol,
            "requestId": request_id,
            "requestTime": format_request_time(epoch_seconds),
            "requestTimeEpoch": int(epoch_seconds * 1000),
            "resourceId": route_key,
            "resourcePath": resource,
            "stage": stage,
        },
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": dict(stage_variables) or None,
        "body": body,
        "isBase64Encoded": encoded,
    }


class _Malformed(Exception):
    """The function's result is not a valid payload format 1.0 response."""


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise _Malformed(f"header value {value!r} is not a string")


def _response_headers(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``multiValueHeaders`` and ``headers`` merged: a name in both keeps every value of both."""
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        raise _Malformed("headers and multiValueHeaders must be objects")
    headers: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list):
            raise _Malformed(f"multiValueHeaders[{name!r}] must be a list")
        headers.extend((str(name), _text(value)) for value in values)
    # As API Gateway merges them: a pair given in both places is sent once.
    pairs = {(name.lower(), value) for name, value in headers}
    for name, value in single.items():
        text = _text(value)
        if (str(name).lower(), text) not in pairs:
            headers.append((str(name), text))
    return headers


def _status(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise _Malformed(f"statusCode {value!r} is not an HTTP status")
    return value


def _body(result: Mapping[str, Any]) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise _Malformed("body must be a string")
    if result.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise _Malformed("body is not valid base64") from None
    return body.encode("utf-8")


def map_v1_result(payload: bytes, function_error: str | None) -> ApiResponse:
    """Map a Lambda invocation's result to the client's response, as payload format 1.0 does.

    A function error, a result that is not a JSON object, or one without a valid ``statusCode`` is a 500
    ``Internal Server Error``: format 1.0 never infers a response from a bare value.
    """
    if function_error:
        return error_response(500, "Internal Server Error")
    try:
        result = json.loads(payload)
        if not isinstance(result, dict) or "statusCode" not in result:
            raise _Malformed("the result is not an object with a statusCode")
        return ApiResponse(_status(result["statusCode"]), _response_headers(result), _body(result))
    except (_Malformed, UnicodeDecodeError, ValueError):
        return error_response(500, "Internal Server Error")
