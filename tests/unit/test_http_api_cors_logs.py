"""Tests of the HTTP API component with a stand-in cloud: payload 1.0, CORS, access logs."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from moto.apigatewayv2.models import ApiGatewayV2Backend
from moto.logs.models import LogsBackend
from moto_http_api import moto_http_api
from werkzeug.test import Client

from selfheal.clock import Clock
from selfheal.cloud.http_api import HttpApiDataPlane
from selfheal.cloud.http_api_access_log import compile_format, log_group_from_arn
from selfheal.cloud.lambda_logs import LogShipper
from selfheal.cloud.lambda_service import InvokeResult

LOG_GROUP_ARN = "arn:aws:logs:us-east-1:123456789012:log-group:/api/access"
ORIGIN = "https://app.example.com"


class FakeLambdas:
    """Records invocations and answers with the next queued result (or a 200 with a CORS header)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.results: list[bytes] = []

    def invoke(self, function: str, payload: bytes, *, json_payload: bool = False) -> InvokeResult:
        self.events.append(json.loads(payload))
        answer = self.results.pop(0) if self.results else None
        if answer is None:
            answer = json.dumps(
                {
                    "statusCode": 200,
                    "headers": {"Access-Control-Allow-Origin": "https://evil.example", "X-Kept": "1"},
                    "body": "ok",
                }
            ).encode()
        return InvokeResult(200, answer, None, "$LATEST", None, "lambda-request-1")


class FakeCloud:
    """The parts of the ``Cloud`` protocol the component uses, with a real log shipper over moto Logs."""

    def __init__(self, backend: ApiGatewayV2Backend) -> None:
        self.endpoint = "http://127.0.0.1:4599"
        self.region = "us-east-1"
        self.account_id = "123456789012"
        self.clock = Clock()
        self.lambdas = FakeLambdas()
        self.logs_backend = LogsBackend("us-east-1", "123456789012")
        self.logs = LogShipper(lambda: self.logs_backend, lambda: int(self.clock.now() * 1000))
        self._backend = backend

    def mount(self, prefix: str, app: Any) -> None:
        pass

    def backend(self, service: str) -> ApiGatewayV2Backend:
        assert service == "apigatewayv2"
        return self._backend


def _start(
    started: list[HttpApiDataPlane],
    cors: dict[str, Any] | None = None,
    version: str = "1.0",
    log_format: str = "",
) -> tuple[Client, FakeCloud, str]:
    backend = ApiGatewayV2Backend("us-east-1", "123456789012")
    stage: dict[str, Any] = {"stageName": "prod"}
    if log_format:
        stage["accessLogSettings"] = {"destinationArn": LOG_GROUP_ARN, "format": log_format}
    routes = ("GET /items/{id}", "OPTIONS /items/{id}")
    api_id = moto_http_api(backend, cors=cors, payload_version=version, routes=routes, stage=stage)
    cloud = FakeCloud(backend)
    component = HttpApiDataPlane()
    component.start(cloud)  # type: ignore[arg-type]
    started.append(component)
    return Client(component), cloud, api_id


@pytest.fixture
def stopper() -> Any:
    """Stops the components a test started."""
    started: list[HttpApiDataPlane] = []
    yield started
    for component in started:
        component.stop()


def _log_lines(cloud: FakeCloud) -> list[str]:
    cloud.logs.flush()
    group = cloud.logs_backend.groups["/api/access"]
    return [event.message for stream in group.streams.values() for event in stream.events]


CORS = {
    "allowOrigins": [ORIGIN],
    "allowMethods": ["GET", "POST"],
    "allowHeaders": ["authorization", "content-type"],
    "exposeHeaders": ["x-kept"],
    "maxAge": 300,
    "allowCredentials": True,
}


def test_payload_1_0_reaches_the_function_and_maps_back(stopper: Any) -> None:
    """A 1.0 integration gets a 1.0 event; its response's multi-value headers reach the client."""
    client, cloud, api_id = _start(stopper)
    cloud.lambdas.results.append(
        json.dumps({"statusCode": 202, "multiValueHeaders": {"X-M": ["1", "2"]}, "body": "hi"}).encode()
    )
    response = client.get(f"/_api/{api_id}/prod/items/9?q=a&q=b")
    assert response.status_code == 202
    assert response.headers.getlist("X-M") == ["1", "2"]
    (event,) = cloud.lambdas.events
    assert event["version"] == "1.0" and event["resource"] == "/items/{id}"
    assert event["path"] == "/prod/items/9"
    assert event["pathParameters"] == {"id": "9"}
    assert event["multiValueQueryStringParameters"] == {"q": ["a", "b"]}


def test_payload_1_0_bare_result_is_a_500(stopper: Any) -> None:
    """A 1.0 function returning no statusCode gets API Gateway's 500, not 2.0's inferred 200."""
    client, cloud, api_id = _start(stopper)
    cloud.lambdas.results.append(b'{"plain": true}')
    response = client.get(f"/_api/{api_id}/prod/items/9")
    assert response.status_code == 500
    assert response.get_json() == {"message": "Internal Server Error"}


def test_preflight_is_answered_without_the_function(stopper: Any) -> None:
    """With CORS configured, a preflight gets 204 and the configured headers; the OPTIONS route is not run."""
    client, cloud, api_id = _start(stopper, CORS)
    response = client.options(
        f"/_api/{api_id}/prod/items/9",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST"
    assert response.headers["Access-Control-Allow-Headers"] == "authorization,content-type"
    assert response.headers["Access-Control-Max-Age"] == "300"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert cloud.lambdas.events == []


def test_preflight_from_an_origin_not_allowed_gets_no_cors_headers(stopper: Any) -> None:
    """A preflight from another origin is answered, but without any Access-Control-* header."""
    client, cloud, api_id = _start(stopper, CORS)
    response = client.options(
        f"/_api/{api_id}/prod/items/9",
        headers={"Origin": "https://other.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 204
    assert not [name for name, _ in response.headers.items() if name.lower().startswith("access-control-")]
    assert cloud.lambdas.events == []


def test_without_cors_an_options_request_reaches_its_route(stopper: Any) -> None:
    """No CORS configuration: the OPTIONS route's function answers, and its headers pass unchanged."""
    client, cloud, api_id = _start(stopper, None)
    response = client.options(
        f"/_api/{api_id}/prod/items/9", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 200
    assert len(cloud.lambdas.events) == 1
    assert response.headers["Access-Control-Allow-Origin"] == "https://evil.example"


def test_actual_request_gets_configured_headers_instead_of_the_functions(stopper: Any) -> None:
    """An allowed origin's request gets the API's CORS headers; the function's own are dropped."""
    client, _, api_id = _start(stopper, CORS)
    response = client.get(f"/_api/{api_id}/prod/items/9", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert response.headers.getlist("Access-Control-Allow-Origin") == [ORIGIN]
    assert response.headers["Access-Control-Expose-Headers"] == "x-kept"
    assert response.headers["X-Kept"] == "1"
    other = client.get(f"/_api/{api_id}/prod/items/9", headers={"Origin": "https://other.example"})
    assert not [name for name, _ in other.headers.items() if name.lower().startswith("access-control-")]


@pytest.mark.parametrize(
    ("origins", "origin", "covered"),
    [
        # A wildcard covers pages served from this machine only: the cloud runs on a developer's laptop.
        (["*"], "https://anything.example", False),
        (["*"], "http://localhost:5173", True),
        (["https://*"], "https://anything.example", False),
        (["https://*"], "https://127.0.0.1:8443", True),
        (["https://*"], "http://localhost:5173", False),
        ([ORIGIN], ORIGIN + "/", True),
        ([ORIGIN], "https://app.example.com.evil", False),
    ],
)
def test_cors_covers_only_configured_origins(
    stopper: Any, origins: list[str], origin: str, covered: bool
) -> None:
    """`cors_covers` (the gateway's question) is true only for an origin the API's CORS allows."""
    client, _, api_id = _start(stopper, {"allowOrigins": origins})
    component = client.application
    assert isinstance(component, HttpApiDataPlane)
    environ = {"PATH_INFO": f"/_api/{api_id}/prod/items/9", "HTTP_ORIGIN": origin}
    assert component.cors_covers(environ) is covered
    assert component.cors_covers({"PATH_INFO": f"/_api/{api_id}/prod/items/9"}) is False


def test_cors_covers_nothing_without_a_configuration(stopper: Any) -> None:
    """An API without CORS covers no origin: the cloud's own browser checks stay in force."""
    client, _, api_id = _start(stopper, None)
    component = client.application
    assert isinstance(component, HttpApiDataPlane)
    assert component.cors_covers({"PATH_INFO": f"/_api/{api_id}/x", "HTTP_ORIGIN": ORIGIN}) is False


def test_access_log_writes_one_event_per_request(stopper: Any) -> None:
    """Each request to a stage with access logging writes its formatted line to the log group."""
    log_format = json.dumps(
        {
            "requestId": "$context.requestId",
            "route": "$context.routeKey",
            "status": "$context.status",
            "method": "$context.httpMethod",
            "path": "$context.path",
            "ip": "$context.identity.sourceIp",
            "len": "$context.responseLength",
            "integration": "$context.integration.status",
            "lambda": "$context.integrationStatus",
            "error": "$context.error.message",
        }
    )
    client, cloud, api_id = _start(stopper, log_format=log_format)
    ok = client.get(f"/_api/{api_id}/prod/items/3")
    missing = client.get(f"/_api/{api_id}/prod/nothing")
    lines = [json.loads(line) for line in _log_lines(cloud)]
    assert len(lines) == 2
    first, second = lines
    assert first["requestId"] == ok.headers["apigw-requestid"]
    assert (first["route"], first["status"], first["method"]) == ("GET /items/{id}", "200", "GET")
    assert first["path"] == "/prod/items/3" and first["ip"] == "127.0.0.1"
    assert (first["len"], first["integration"], first["lambda"], first["error"]) == ("2", "200", "200", "-")
    assert second["requestId"] == missing.headers["apigw-requestid"]
    assert (second["route"], second["status"], second["error"]) == ("-", "404", "Not Found")


def test_unsupported_variable_is_named_in_a_warning(stopper: Any, caplog: pytest.LogCaptureFixture) -> None:
    """A variable the local cloud cannot fill is written '-' and named once in a warning."""
    client, cloud, api_id = _start(stopper, log_format="$context.requestId $context.authorizer.claims.sub")
    with caplog.at_level(logging.WARNING, logger="selfheal.cloud.http_api_access_log"):
        client.get(f"/_api/{api_id}/prod/items/3")
        client.get(f"/_api/{api_id}/prod/items/3")
    warnings = [r.getMessage() for r in caplog.records if "$context.authorizer.claims.sub" in r.getMessage()]
    assert len(warnings) == 1
    assert all(line.endswith(" -") for line in _log_lines(cloud))


def test_format_compiles_literals_and_variables() -> None:
    """Text around variables is kept; a variable followed by a dot ends before it."""
    compiled = compile_format("[$context.requestId] $context.status.")
    assert compiled.literals == ("[", "] ", ".")
    assert compiled.unsupported == ()


@pytest.mark.parametrize(
    ("arn", "group"),
    [
        (LOG_GROUP_ARN, "/api/access"),
        (LOG_GROUP_ARN + ":*", "/api/access"),
        ("arn:aws:s3:::bucket", None),
        ("/api/access", None),
    ],
)
def test_destination_arn_names_a_log_group(arn: str, group: str | None) -> None:
    """Only a CloudWatch Logs log group ARN is a destination."""
    assert log_group_from_arn(arn) == group
