"""Tests of payload format 1.0: the event built for a request and the response read from a result."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from selfheal.cloud.http_api_event import ApiRequest, RequestContext
from selfheal.cloud.http_api_v1_payload import build_v1_event, map_v1_result

EVENTS = Path(__file__).resolve().parents[1] / "events"
EPOCH = 1795774530.0  # 27 Nov 2026 10:15:30 UTC
INTERNAL_ERROR = b'{"message":"Internal Server Error"}'


def _event(request: ApiRequest, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "route_key": "GET /items/{id}",
        "route_path": request.raw_path,
        "path_parameters": {"id": "7"},
        "api_id": "abcdef1234",
        "account_id": "123456789012",
        "stage": "prod",
        "stage_variables": {"color": "blue"},
        "domain_name": "abcdef1234.execute-api.us-east-1.amazonaws.com",
        "request_id": "JtB7bX2aoAMEV2B=",
        "epoch_seconds": EPOCH,
    }
    arguments.update(overrides)
    return build_v1_event(request, RequestContext(**arguments))


def test_event_matches_the_fixture() -> None:
    """A GET with repeated headers and query parameters gives the documented 1.0 event, field by field."""
    request = ApiRequest(
        method="GET",
        raw_path="/prod/items/7",
        raw_query="a=1&a=2&b=x%20y",
        headers=[
            ("Host", "abcdef1234.execute-api.us-east-1.amazonaws.com"),
            ("User-Agent", "curl/8.5.0"),
            ("Accept", "*/*"),
            ("X-Multi", "one"),
            ("x-multi", "two"),
            ("X-Amzn-Trace-Id", "Root=1-6746f1c2-0a1b2c3d4e5f60718293a4b5"),
            ("Cookie", "c1=1; c2=2"),
        ],
        source_ip="203.0.113.10",
        port=443,
    )
    expected = json.loads((EVENTS / "http_api_v1_get_item.json").read_text())
    assert _event(request) == expected


def test_default_route_and_empty_maps_are_null() -> None:
    """The $default route's resource is `$default`; absent query, parameters, variables, body are null."""
    event = _event(
        ApiRequest(method="DELETE", raw_path="/anything"),
        route_key="$default",
        path_parameters={},
        stage_variables={},
        stage="$default",
    )
    assert event["resource"] == "$default"
    assert event["requestContext"]["resourcePath"] == "$default"
    assert event["requestContext"]["resourceId"] == "$default"
    assert event["httpMethod"] == event["requestContext"]["httpMethod"] == "DELETE"
    for field in (
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "body",
    ):
        assert event[field] is None, field
    assert event["isBase64Encoded"] is False
    assert event["headers"]["x-amzn-trace-id"].startswith("Root=1-")


def test_bodies_text_and_binary() -> None:
    """A JSON body arrives as text; a binary one as base64 with isBase64Encoded."""
    text = _event(
        ApiRequest(
            method="POST",
            raw_path="/items",
            headers=[("Content-Type", "application/json")],
            body=b'{"n": 1}',
        )
    )
    assert text["body"] == '{"n": 1}' and text["isBase64Encoded"] is False
    assert text["headers"]["content-length"] == "8"
    binary = _event(
        ApiRequest(
            method="POST",
            raw_path="/items",
            headers=[("Content-Type", "application/octet-stream")],
            body=b"\x00\xff",
        )
    )
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x00\xff"


def test_forwarded_for_appends_the_caller() -> None:
    """X-Forwarded-For keeps the chain sent and appends the caller's address."""
    event = _event(
        ApiRequest(
            method="GET", raw_path="/", headers=[("X-Forwarded-For", "198.51.100.1")], source_ip="127.0.0.2"
        )
    )
    assert event["headers"]["x-forwarded-for"] == "198.51.100.1, 127.0.0.2"
    assert event["multiValueHeaders"]["x-forwarded-for"] == ["198.51.100.1, 127.0.0.2"]


def test_response_headers_multi_values_and_body() -> None:
    """statusCode, headers and multiValueHeaders (merged, a pair given twice sent once) and the body."""
    result = {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain", "X-One": "a", "X-Num": 5},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-One": ["a", "b"]},
        "body": "created",
    }
    response = map_v1_result(json.dumps(result).encode(), None)
    assert response.status == 201
    assert response.body == b"created"
    assert response.error == ""
    assert sorted(response.headers) == sorted(
        [
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("X-One", "a"),
            ("X-One", "b"),
            ("Content-Type", "text/plain"),
            ("X-Num", "5"),
        ]
    )


def test_response_base64_body() -> None:
    """isBase64Encoded bodies are decoded for the client."""
    result = {"statusCode": 200, "body": base64.b64encode(b"\x01\x02").decode(), "isBase64Encoded": True}
    response = map_v1_result(json.dumps(result).encode(), None)
    assert (response.status, response.body) == (200, b"\x01\x02")


@pytest.mark.parametrize(
    "payload",
    [
        b'{"plain": true}',  # 2.0 would infer a 200; 1.0 needs a statusCode
        b'"just a string"',
        b"[1, 2]",
        b"",
        b"not json",
        b'{"statusCode": "abc"}',
        b'{"statusCode": 99}',
        b'{"statusCode": true}',
        b'{"statusCode": 200, "headers": ["x"]}',
        b'{"statusCode": 200, "multiValueHeaders": {"x": "not-a-list"}}',
        b'{"statusCode": 200, "headers": {"x": {"nested": 1}}}',
        b'{"statusCode": 200, "body": 5}',
        b'{"statusCode": 200, "body": "@@@", "isBase64Encoded": true}',
    ],
)
def test_malformed_response_is_internal_server_error(payload: bytes) -> None:
    """A result that is not a valid 1.0 response is API Gateway's 500 Internal Server Error."""
    response = map_v1_result(payload, None)
    assert response.status == 500
    assert response.body == INTERNAL_ERROR
    assert response.error == "Internal Server Error"


def test_function_error_is_internal_server_error() -> None:
    """A function error is a 500, whatever the payload holds."""
    response = map_v1_result(b'{"statusCode": 200}', "Unhandled")
    assert (response.status, response.body) == (500, INTERNAL_ERROR)
