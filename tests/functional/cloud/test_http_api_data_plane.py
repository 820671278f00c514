"""Functional tests of the HTTP API data plane: a boto3-made HTTP API in front of real Lambda code."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from selfheal.cloud import LocalCloud

AwsFactory = Callable[[str], Any]
FunctionFactory = Callable[..., str]

ECHO = """
import json

def handler(event, context):
    if event.get("rawPath", "").endswith("/boom"):
        raise RuntimeError("boom")
    if event.get("rawPath", "").endswith("/plain"):
        return {"plain": True}
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json", "x-echo": "yes"},
        "cookies": ["session=abc; Path=/", "theme=dark"],
        "body": json.dumps(event),
    }
"""


def _integration_uri(region: str, function_arn: str) -> str:
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


@pytest.fixture(scope="module")
def echo_api(cloud: LocalCloud, aws: AwsFactory, make_function: FunctionFactory) -> dict[str, str]:
    """An HTTP API with `$default` and a named `prod` stage routing to an echoing function."""
    make_function("http-api-echo", ECHO)
    arn = aws("lambda").get_function(FunctionName="http-api-echo")["Configuration"]["FunctionArn"]
    apigw = aws("apigatewayv2")
    api = apigw.create_api(Name="echo-api", ProtocolType="HTTP")
    integration = apigw.create_integration(
        ApiId=api["ApiId"],
        IntegrationType="AWS_PROXY",
        IntegrationUri=_integration_uri(cloud.region, arn),
        PayloadFormatVersion="2.0",
    )
    target = f"integrations/{integration['IntegrationId']}"
    for key in ("GET /items/{id}", "ANY /{proxy+}", "POST /items"):
        apigw.create_route(ApiId=api["ApiId"], RouteKey=key, Target=target)
    apigw.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    apigw.create_stage(
        ApiId=api["ApiId"], StageName="prod", AutoDeploy=True, StageVariables={"color": "blue"}
    )
    return {"api_id": api["ApiId"], "url": f"{cloud.endpoint}/_api/{api['ApiId']}"}


def test_api_endpoint_is_the_local_data_plane(
    cloud: LocalCloud, aws: AwsFactory, echo_api: dict[str, str]
) -> None:
    """GetApi reports the local data plane URL as the API's ApiEndpoint."""
    api = aws("apigatewayv2").get_api(ApiId=echo_api["api_id"])
    assert api["ApiEndpoint"] == f"{cloud.endpoint}/_api/{echo_api['api_id']}"
    assert api["ApiEndpoint"] == echo_api["url"]


def test_routed_request_round_trips_path_query_headers_and_body(echo_api: dict[str, str]) -> None:
    """A request reaches the function as a 2.0 event and its structured result comes back."""
    response = httpx.get(
        f"{echo_api['url']}/items/42?a=1&a=2&b=x",
        headers={"X-Custom": "v", "Cookie": "c1=1; c2=2", "User-Agent": "tester/1"},
        timeout=30,
    )
    assert response.status_code == 201
    assert response.headers["x-echo"] == "yes"
    assert response.headers.get_list("set-cookie") == ["session=abc; Path=/", "theme=dark"]
    assert response.headers["apigw-requestid"]
    event = response.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/42"
    assert event["rawQueryString"] == "a=1&a=2&b=x"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["pathParameters"] == {"id": "42"}
    assert event["headers"]["x-custom"] == "v"
    assert event["cookies"] == ["c1=1", "c2=2"]
    assert event["requestContext"]["http"]["method"] == "GET"
    assert event["requestContext"]["http"]["userAgent"] == "tester/1"
    assert event["requestContext"]["stage"] == "$default"
    assert event["requestContext"]["requestId"] == response.headers["apigw-requestid"]
    assert "stageVariables" not in event


def test_post_body_and_greedy_route(echo_api: dict[str, str]) -> None:
    """A text body passes unchanged (even invalid JSON); a binary body arrives base64-encoded."""
    text = httpx.post(
        f"{echo_api['url']}/items",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
        timeout=30,
    ).json()
    assert text["routeKey"] == "POST /items"
    assert text["body"] == "{not json" and text["isBase64Encoded"] is False
    raw = bytes(range(200))
    binary = httpx.put(
        f"{echo_api['url']}/files/a/b.bin",
        content=raw,
        headers={"Content-Type": "application/octet-stream"},
        timeout=30,
    ).json()
    assert binary["routeKey"] == "ANY /{proxy+}"
    assert binary["pathParameters"] == {"proxy": "files/a/b.bin"}
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == raw


def test_named_stage_keeps_its_prefix_in_the_event(echo_api: dict[str, str]) -> None:
    """A named stage is selected by its path prefix, which stays in rawPath as on AWS."""
    event = httpx.get(f"{echo_api['url']}/prod/items/7", timeout=30).json()
    assert event["requestContext"]["stage"] == "prod"
    assert event["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/prod/items/7"
    assert event["stageVariables"] == {"color": "blue"}


def test_result_without_status_code_is_json_200(echo_api: dict[str, str]) -> None:
    """A result without statusCode becomes a 200 JSON response of the result."""
    response = httpx.get(f"{echo_api['url']}/plain", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"plain": True}


def test_unhandled_error_is_internal_server_error(echo_api: dict[str, str]) -> None:
    """An exception in the function becomes API Gateway's 500 body."""
    response = httpx.get(f"{echo_api['url']}/boom", timeout=30)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_unknown_route_and_missing_api_are_not_found(
    cloud: LocalCloud, aws: AwsFactory, echo_api: dict[str, str]
) -> None:
    """No matching route, an unknown API id and a bare prefix all answer 404 Not Found."""
    apigw = aws("apigatewayv2")
    bare = apigw.create_api(Name="no-default", ProtocolType="HTTP")
    apigw.create_stage(ApiId=bare["ApiId"], StageName="$default")
    for url in (
        f"{cloud.endpoint}/_api/{bare['ApiId']}/anything",
        f"{cloud.endpoint}/_api/doesnotexist/items/1",
        f"{cloud.endpoint}/_api/",
        f"{echo_api['url']}/",
    ):
        response = httpx.get(url, timeout=30)
        assert response.status_code == 404, url
        assert response.json() == {"message": "Not Found"}


def test_oversized_body_is_refused(echo_api: dict[str, str]) -> None:
    """A body above 10 MB is answered 413 and the server keeps serving."""
    response = httpx.post(f"{echo_api['url']}/items", content=b"x" * (10 * 1024 * 1024 + 1), timeout=60)
    assert response.status_code == 413
    assert httpx.get(f"{echo_api['url']}/items/1", timeout=30).status_code == 201


def test_odd_paths_do_not_crash_the_server(echo_api: dict[str, str]) -> None:
    """Encoded, doubled and dotted paths get an answer, never a dropped connection."""
    for suffix in ("/%00%ff", "//items//1", "/items/%2F..%2F", "/items/1?%zz=%"):
        response = httpx.get(f"{echo_api['url']}{suffix}", timeout=30)
        assert response.status_code in (200, 201, 404), suffix
    # The client collapses the dots: /etc/passwd is no HTTP API path but an unsigned AWS API call.
    escaped = httpx.get(f"{echo_api['url']}/../../etc/passwd", timeout=30)
    assert escaped.status_code == 403
    assert escaped.headers["x-amzn-ErrorType"] == "MissingAuthenticationToken"
    assert httpx.get(f"{echo_api['url']}/items/1", timeout=30).status_code == 201


def test_stage_throttling_answers_429(cloud: LocalCloud, aws: AwsFactory, echo_api: dict[str, str]) -> None:
    """With a burst of 2 and a negligible rate, the third request is throttled with 429."""
    apigw = aws("apigatewayv2")
    apigw.create_stage(
        ApiId=echo_api["api_id"],
        StageName="tight",
        DefaultRouteSettings={"ThrottlingBurstLimit": 2, "ThrottlingRateLimit": 0.001},
    )
    statuses = [httpx.get(f"{echo_api['url']}/tight/items/1", timeout=30).status_code for _ in range(3)]
    assert statuses[:2] == [201, 201]
    assert statuses[2] == 429
    throttled = httpx.get(f"{echo_api['url']}/tight/items/1", timeout=30)
    assert throttled.json() == {"message": "Too Many Requests"}
    assert httpx.get(f"{echo_api['url']}/items/1", timeout=30).status_code == 201


def test_event_json_is_exactly_what_the_function_received(echo_api: dict[str, str]) -> None:
    """The requestContext carries the account, API id, time fields and source address."""
    event = httpx.get(f"{echo_api['url']}/items/9", timeout=30).json()
    context = event["requestContext"]
    assert context["accountId"] == "123456789012"
    assert context["apiId"] == echo_api["api_id"]
    assert context["http"]["sourceIp"] == "127.0.0.1"
    assert isinstance(context["timeEpoch"], int)
    assert context["time"].endswith(" +0000")
    assert json.loads(json.dumps(event)) == event


def test_throttled_function_is_internal_server_error(
    cloud: LocalCloud, aws: AwsFactory, make_function: FunctionFactory
) -> None:
    """A function with reserved concurrency 0 is throttled by Lambda, which the API answers with a 500."""
    make_function("http-api-throttled", ECHO)
    lam = aws("lambda")
    lam.put_function_concurrency(FunctionName="http-api-throttled", ReservedConcurrentExecutions=0)
    arn = lam.get_function(FunctionName="http-api-throttled")["Configuration"]["FunctionArn"]
    apigw = aws("apigatewayv2")
    api = apigw.create_api(Name="throttled-api", ProtocolType="HTTP")
    integration = apigw.create_integration(
        ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
    )
    apigw.create_route(
        ApiId=api["ApiId"], RouteKey="$default", Target=f"integrations/{integration['IntegrationId']}"
    )
    apigw.create_stage(ApiId=api["ApiId"], StageName="$default")
    response = httpx.get(f"{cloud.endpoint}/_api/{api['ApiId']}/anything", timeout=30)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}
