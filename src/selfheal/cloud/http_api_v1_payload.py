"""Lambda proxy payload format 1.0 in both directions, as API Gateway's HTTP APIs build and read it.

Terraform's default ``payload_format_version`` is ``"1.0"``: the REST-API-shaped event (``resource``,
``path``, ``httpMethod``, single- and multi-value headers and query parameters, ``requestContext`` with
``identity``), and a response the function must shape itself: unlike 2.0, nothing is inferred, so a result
without an integer ``statusCode`` is API Gateway's 500 ``{"message":"Internal Server Error"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from . import json_codec
from .http_api_event import (
    ApiRequest,
    ApiResponse,
    MalformedResult,
    RequestContext,
    body_field,
    error_response,
    format_request_time,
    gateway_headers,
    header_text,
    result_body,
    result_status,
)

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


def _headers(request: ApiRequest, epoch_seconds: float) -> dict[str, list[str]]:
    """Every header value by lower-case name, in order, with the ones API Gateway adds."""
    multi: dict[str, list[str]] = {}
    for name, value in request.headers:
        multi.setdefault(name.lower(), []).append(value)
    forwarded = multi.get("x-forwarded-for")
    for name, value in gateway_headers(request, epoch_seconds, forwarded[-1] if forwarded else None).items():
        if name == "x-forwarded-for" or name not in multi:
            multi[name] = [value]
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


def build_v1_event(request: ApiRequest, context: RequestContext) -> dict[str, Any]:
    """Build the payload format 1.0 event for ``request`` routed as ``context`` says.

    Single-value maps hold the last value sent, multi-value maps all of them; maps that would be empty
    and an empty body are ``null``, as on AWS.
    """
    multi_headers = _headers(request, context.epoch_seconds)
    multi_query = _query(request.raw_query)
    resource = _resource(context.route_key)
    body, encoded = body_field(request.body, (multi_headers.get("content-type") or [""])[-1])
    user_agent = (multi_headers.get("user-agent") or [""])[-1]
    identity: dict[str, Any] = dict.fromkeys(_IDENTITY_NULLS)
    identity["sourceIp"] = request.source_ip
    identity["userAgent"] = user_agent
    return {
        "version": "1.0",
        "resource": resource,
        "path": context.route_path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} if multi_query else None,
        "multiValueQueryStringParameters": multi_query or None,
        "requestContext": {
            "accountId": context.account_id,
            "apiId": context.api_id,
            "authorizer": {"claims": None, "scopes": None},
            "domainName": context.domain_name,
            "domainPrefix": context.domain_name.split(".", 1)[0],
            "extendedRequestId": context.request_id,
            "httpMethod": request.method,
            "identity": identity,
            "path": context.route_path,
            "protocol": request.protocol,
            "requestId": context.request_id,
            "requestTime": format_request_time(context.epoch_seconds),
            "requestTimeEpoch": int(context.epoch_seconds * 1000),
            "resourceId": context.route_key,
            "resourcePath": resource,
            "stage": context.stage,
        },
        "pathParameters": dict(context.path_parameters) or None,
        "stageVariables": dict(context.stage_variables) or None,
        "body": body,
        "isBase64Encoded": encoded,
    }


def _response_headers(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``multiValueHeaders`` and ``headers`` merged: a name in both keeps every value of both."""
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):  # JSON objects
        raise MalformedResult("headers and multiValueHeaders must be objects")
    headers: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResult(f"multiValueHeaders[{name!r}] must be a list")
        headers.extend((str(name), header_text(value)) for value in values)
    # As API Gateway merges them: a pair given in both places is sent once.
    pairs = {(name.lower(), value) for name, value in headers}
    for name, value in single.items():
        text = header_text(value)
        if (str(name).lower(), text) not in pairs:
            headers.append((str(name), text))
    return headers


def map_v1_result(payload: bytes, function_error: str | None) -> ApiResponse:
    """Map a Lambda invocation's result to the client's response, as payload format 1.0 does.

    A function error, a result that is not a JSON object, or one without a valid ``statusCode`` is a 500
    ``Internal Server Error``: format 1.0 never infers a response from a bare value.
    """
    if function_error:
        return error_response(500, "Internal Server Error")
    try:
        result = json_codec.loads(payload)
        if not isinstance(result, dict) or "statusCode" not in result:
            raise MalformedResult("the result is not an object with a statusCode")
        status = result_status(result["statusCode"])
        return ApiResponse(status, _response_headers(result), result_body(result))
    except (MalformedResult, UnicodeDecodeError, ValueError):
        return error_response(500, "Internal Server Error")
