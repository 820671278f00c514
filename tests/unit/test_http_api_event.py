"""Tests of payload format 2.0: the event built for a request and the response mapped from a result."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from selfheal.cloud.http_api_event import (
    ApiRequest,
    RequestContext,
    build_event,
    format_request_time,
    is_text_content,
    map_result,
    new_request_id,
)

EPOCH = 1795463520.123  # 23 Nov 2026 19:52:00.123 UTC


def _event(request: ApiRequest, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "route_key": "GET /items/{id}",
        "route_path": request.raw_path,
        "path_parameters": {"id": "7"},
        "api_id": "abcdef12",
        "account_id": "123456789012",
        "stage": "$default",
        "stage_variables": {},
        "domain_name": "abcdef12.execute-api.us-east-1.amazonaws.com",
        "request_id": "JKJaXmPLvHcESHA=",
        "epoch_seconds": EPOCH,
    }
    arguments.update(overrides)
    return build_event(request, RequestContext(**arguments))


def test_request_time_format() -> None:
    """``requestContext.time`` uses API Gateway's ``dd/Mon/yyyy:HH:MM:SS +0000`` form."""
    assert format_request_time(EPOCH) == "23/Nov/2026:19:52:00 +0000"
    assert format_request_time(0) == "01/Jan/1970:00:00:00 +0000"


def test_event_fields() -> None:
    """The event carries the documented 2.0 fields with the request's values."""
    request = ApiRequest(
        method="GET",
        raw_path="/items/7",
        raw_query="a=1&a=2&b=x%20y",
        headers=[("User-Agent", "tester"), ("X-Multi", "one"), ("x-multi", "two")],
        source_ip="127.0.0.9",
    )
    event = _event(request, stage_variables={"color": "blue"})
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/7"
    assert event["rawQueryString"] == "a=1&a=2&b=x%20y"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x y"}
    assert event["pathParameters"] == {"id": "7"}
    assert event["stageVariables"] == {"color": "blue"}
    assert event["headers"]["x-multi"] == "one,two"
    assert event["headers"]["user-agent"] == "tester"
    assert event["headers"]["x-forwarded-for"] == "127.0.0.9"
    assert event["isBase64Encoded"] is False
    assert "body" not in event and "cookies" not in event
    context = event["requestContext"]
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == "abcdef12"
    assert context["domainName"] == "abcdef12.execute-api.us-east-1.amazonaws.com"
    assert context["domainPrefix"] == "abcdef12"
    assert context["http"] == {
        "method": "GET",
        "path": "/items/7",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.9",
        "userAgent": "tester",
    }
    assert context["requestId"] == "JKJaXmPLvHcESHA="
    assert context["routeKey"] == "GET /items/{id}"
    assert context["stage"] == "$default"
    assert context["time"] == "23/Nov/2026:19:52:00 +0000"
    assert context["timeEpoch"] == 1795463520123


def test_empty_optional_fields_are_left_out() -> None:
    """Without query, path parameters or stage variables those keys are absent, as on AWS."""
    event = _event(ApiRequest(method="GET", raw_path="/"), path_parameters={})
    for key in ("queryStringParameters", "pathParameters", "stageVariables", "cookies", "body"):
        assert key not in event


def test_cookies_move_out_of_headers() -> None:
    """Cookie headers become the ``cookies`` list and are not repeated in ``headers``."""
    request = ApiRequest(method="GET", raw_path="/", headers=[("Cookie", "a=1; b=2"), ("cookie", "c=3")])
    event = _event(request)
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert "cookie" not in event["headers"]


def test_text_body_is_passed_as_is_even_when_not_valid_json() -> None:
    """A JSON-typed body reaches the function unchanged, malformed or not."""
    request = ApiRequest(
        method="POST", raw_path="/", headers=[("Content-Type", "application/json")], body=b"{not json"
    )
    event = _event(request)
    assert event["body"] == "{not json"
    assert event["isBase64Encoded"] is False


def test_binary_body_is_base64_encoded() -> None:
    """A body of a non-text type arrives base64-encoded with ``isBase64Encoded`` set."""
    payload = bytes(range(256))
    request = ApiRequest(
        method="POST", raw_path="/", headers=[("Content-Type", "application/octet-stream")], body=payload
    )
    event = _event(request)
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


def test_existing_forwarded_for_is_appended_to() -> None:
    """API Gateway appends the caller's address to an existing X-Forwarded-For."""
    request = ApiRequest(
        method="GET", raw_path="/", headers=[("X-Forwarded-For", "10.0.0.1")], source_ip="127.0.0.1"
    )
    assert _event(request)["headers"]["x-forwarded-for"] == "10.0.0.1, 127.0.0.1"


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("text/plain; charset=utf-8", True),
        ("application/json", True),
        ("application/problem+json", True),
        ("image/svg+xml", True),
        ("application/octet-stream", False),
        ("image/png", False),
        (None, False),
    ],
)
def test_text_content_types(content_type: str | None, text: bool) -> None:
    """Text media types are passed as text, others as base64."""
    assert is_text_content(content_type) is text


def test_request_ids_look_like_api_gateways() -> None:
    """Request ids are 16 base64 characters and differ between requests."""
    first, second = new_request_id(), new_request_id()
    assert len(first) == 16 and first != second


def test_structured_result() -> None:
    """A result with statusCode maps status, headers, cookies and body."""
    result = {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain", "X-Count": 3},
        "cookies": ["a=1; Path=/", "b=2"],
        "body": "created",
    }
    response = map_result(json.dumps(result).encode(), None)
    assert response.status == 201
    assert ("Content-Type", "text/plain") in response.headers
    assert ("X-Count", "3") in response.headers
    assert [v for k, v in response.headers if k == "Set-Cookie"] == ["a=1; Path=/", "b=2"]
    assert response.body == b"created"


def test_base64_result_body_is_decoded() -> None:
    """``isBase64Encoded: true`` makes the body binary."""
    payload = bytes([0, 255, 10])
    result = {"statusCode": 200, "body": base64.b64encode(payload).decode(), "isBase64Encoded": True}
    assert map_result(json.dumps(result).encode(), None).body == payload


def test_result_without_status_code_is_json_200() -> None:
    """Valid JSON without statusCode is returned as a 200 application/json body."""
    for value in ({"hello": "world"}, ["a"], "text", 42, None):
        raw = json.dumps(value).encode()
        response = map_result(raw, None)
        assert response.status == 200
        assert response.body == raw
        assert ("Content-Type", "application/json") in response.headers


def test_function_error_is_internal_server_error() -> None:
    """An unhandled function error is API Gateway's 500 message."""
    response = map_result(b'{"errorMessage": "boom"}', "Unhandled")
    assert response.status == 500
    assert json.loads(response.body) == {"message": "Internal Server Error"}


@pytest.mark.parametrize(
    "result",
    [
        b"not json",
        b'{"statusCode": "abc"}',
        b'{"statusCode": 99}',
        b'{"statusCode": 200, "body": {"a": 1}}',
        b'{"statusCode": 200, "headers": ["x"]}',
        b'{"statusCode": 200, "cookies": "a=1"}',
        b'{"statusCode": 200, "body": "***", "isBase64Encoded": true}',
    ],
)
def test_malformed_results_are_internal_server_error(result: bytes) -> None:
    """A malformed proxy result is a 500, never an exception."""
    response = map_result(result, None)
    assert response.status == 500
    assert json.loads(response.body) == {"message": "Internal Server Error"}
