"""Tests of the HTTP API component with a stand-in cloud: ApiEndpoint patching, refusals, integration URIs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.apigatewayv2.models import ApiGatewayV2Backend
from moto_http_api import FUNCTION_ARN, moto_http_api
from werkzeug.test import Client

from selfheal.clock import Clock
from selfheal.cloud.http_api import MAX_BODY_BYTES, HttpApiDataPlane, function_from_integration_uri
from selfheal.cloud.lambda_service import InvokeResult


class FakeLambdas:
    """Records invocations and answers with a fixed result."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def invoke(self, function: str, payload: bytes, *, json_payload: bool = False) -> InvokeResult:
        self.events.append(json.loads(payload))
        return InvokeResult(200, b'{"statusCode": 204}', None, "$LATEST", None)


class FakeCloud:
    """The parts of the ``Cloud`` protocol (selfheal.cloud.protocol) the component uses."""

    def __init__(self, backend: ApiGatewayV2Backend) -> None:
        self.endpoint = "http://127.0.0.1:4599"
        self.region = "us-east-1"
        self.account_id = "123456789012"
        self.clock = Clock()
        self.lambdas = FakeLambdas()
        self.mounted: dict[str, Any] = {}
        self._backend = backend

    def mount(self, prefix: str, app: Any) -> None:
        self.mounted[prefix] = app

    def backend(self, service: str) -> ApiGatewayV2Backend:
        assert service == "apigatewayv2"
        return self._backend


@pytest.fixture
def running() -> Any:
    """A started component over a fresh moto backend holding one API; stopped afterwards."""
    backend = ApiGatewayV2Backend("us-east-1", "123456789012")
    api_id = moto_http_api(backend)
    cloud = FakeCloud(backend)
    component = HttpApiDataPlane()
    component.start(cloud)  # type: ignore[arg-type]
    try:
        yield component, cloud, backend, api_id
    finally:
        component.stop()


def test_api_endpoint_is_local_while_running_and_restored_after(running: Any) -> None:
    """moto reports the data plane URL while the component runs and its own URL after stop."""
    component, cloud, backend, api_id = running
    assert backend.get_api(api_id).to_json()["apiEndpoint"] == f"http://127.0.0.1:4599/_api/{api_id}"
    assert cloud.mounted["/_api/"] is component
    component.stop()
    assert backend.get_api(api_id).to_json()["apiEndpoint"].endswith(".amazonaws.com")


def test_request_reaches_the_integration(running: Any) -> None:
    """A request is invoked with a 2.0 event and the result mapped back."""
    component, cloud, _, api_id = running
    response = Client(component).get(f"/_api/{api_id}/hello?x=1")
    assert response.status_code == 204
    assert response.headers["apigw-requestid"]
    (event,) = cloud.lambdas.events
    assert event["rawPath"] == "/hello" and event["queryStringParameters"] == {"x": "1"}


def test_refusals_never_invoke(running: Any) -> None:
    """Oversized or malformed bodies and unknown APIs are answered without invoking anything."""
    component, cloud, _, api_id = running
    client = Client(component)
    too_big = client.post(f"/_api/{api_id}/x", environ_overrides={"CONTENT_LENGTH": str(MAX_BODY_BYTES + 1)})
    assert too_big.status_code == 413
    bad_length = client.post(f"/_api/{api_id}/x", environ_overrides={"CONTENT_LENGTH": "abc"})
    assert bad_length.status_code == 400
    assert client.get("/_api/unknown/x").status_code == 404
    assert cloud.lambdas.events == []


def test_stopped_component_answers_503(running: Any) -> None:
    """After stop the mounted app answers 503 instead of failing."""
    component, _, _, api_id = running
    component.stop()
    assert Client(component).get(f"/_api/{api_id}/x").status_code == 503


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        (FUNCTION_ARN, FUNCTION_ARN),
        (
            f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION_ARN}/invocations",
            FUNCTION_ARN,
        ),
        (f"{FUNCTION_ARN}:live", f"{FUNCTION_ARN}:live"),
        ("https://example.com/", None),
        ("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/x", None),
        ("", None),
    ],
)
def test_integration_uri_forms(uri: str, expected: str | None) -> None:
    """Both ARN forms of a Lambda integration URI resolve to the function; others do not."""
    assert function_from_integration_uri(uri) == expected
