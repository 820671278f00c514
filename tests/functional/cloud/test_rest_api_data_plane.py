"""Functional tests of the REST API (v1) data plane: a boto3-made REST API in front of real Lambda code."""

from __future__ import annotations

import time
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
    if event["path"].endswith("/boom"):
        raise RuntimeError("boom")
    if event["path"].endswith("/plain"):
        return {"plain": True}
    return {
        "statusCode": 201,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {"x-echo": ["a", "b"]},
        "body": json.dumps(event),
    }
"""


def _uri(region: str, function_arn: str) -> str:
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def _method(apigw: Any, api_id: str, resource_id: str, verb: str, integration: dict[str, Any]) -> None:
    apigw.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=verb, authorizationType="NONE")
    apigw.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=verb, **integration)


@pytest.fixture(scope="module")
def rest_api(cloud: LocalCloud, aws: AwsFactory, make_function: FunctionFactory) -> dict[str, str]:
    """A REST API: ANY /{proxy+}, GET /items/{id}, GET / and a MOCK method, deployed to ``prod``."""
    make_function("rest-api-echo", ECHO)
    arn = aws("lambda").get_function(FunctionName="rest-api-echo")["Configuration"]["FunctionArn"]
    proxy = {"type": "AWS_PROXY", "integrationHttpMethod": "POST", "uri": _uri(cloud.region, arn)}
    apigw = aws("apigateway")
    api = apigw.create_rest_api(name="echo-rest")
    api_id, root = api["id"], api["rootResourceId"]
    # moto's CreateRestApi drops binaryMediaTypes; UpdateRestApi's add keeps the value.
    binary = {"op": "add", "path": "/binaryMediaTypes/image~1png", "value": "image/png"}
    apigw.update_rest_api(restApiId=api_id, patchOperations=[binary])
    greedy = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="{proxy+}")["id"]
    items = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="items")["id"]
    item = apigw.create_resource(restApiId=api_id, parentId=items, pathPart="{id}")["id"]
    mock = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="mock")["id"]
    _method(apigw, api_id, greedy, "ANY", proxy)
    _method(apigw, api_id, item, "GET", proxy)
    _method(apigw, api_id, root, "GET", proxy)
    _method(apigw, api_id, mock, "GET", {"type": "MOCK"})
    apigw.create_deployment(restApiId=api_id, stageName="prod", variables={"color": "blue"})
    aws("lambda").add_permission(
        FunctionName="rest-api-echo",
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{cloud.region}:{cloud.account_id}:{api_id}/prod/*",
    )
    return {"api_id": api_id, "url": f"{cloud.endpoint}/_restapi/{api_id}/prod", "item": item}


def test_proxy_event_and_response_round_trip(rest_api: dict[str, str]) -> None:
    """A GET reaches the function as the REST proxy event; its status, headers and body come back."""
    response = httpx.get(
        f"{rest_api['url']}/items/42?a=1&a=2&b=x", headers={"X-Custom": "v", "User-Agent": "t/1"}, timeout=30
    )
    assert response.status_code == 201
    assert response.headers.get_list("x-echo") == ["a", "b"]
    assert response.headers["x-amzn-RequestId"]
    event = response.json()
    assert "version" not in event
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/items/{id}", "/items/42", "GET")
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"a": "2", "b": "x"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert event["headers"]["x-custom"] == "v"
    assert event["stageVariables"] == {"color": "blue"}
    context = event["requestContext"]
    assert (context["stage"], context["resourcePath"], context["path"]) == (
        "prod",
        "/items/{id}",
        "/prod/items/42",
    )
    assert context["resourceId"] == rest_api["item"]
    assert context["requestId"] == response.headers["x-amzn-RequestId"]
    assert context["identity"]["userAgent"] == "t/1"
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_greedy_any_and_root(rest_api: dict[str, str]) -> None:
    """{proxy+} with ANY takes every other path and method (bodies as text unless of a binary media type);
    the root resource answers only its own GET."""
    response = httpx.post(f"{rest_api['url']}/a/b/c", content=b'{"k": 1}', timeout=30)
    assert response.status_code == 201
    event = response.json()
    assert (event["resource"], event["httpMethod"]) == ("/{proxy+}", "POST")
    assert event["pathParameters"] == {"proxy": "a/b/c"}
    assert (event["body"], event["isBase64Encoded"]) == ('{"k": 1}', False)
    png = httpx.put(
        f"{rest_api['url']}/img", content=b"\x89PNG", headers={"Content-Type": "image/png"}, timeout=30
    )
    assert (png.json()["body"], png.json()["isBase64Encoded"]) == ("iVBORw==", True)
    root = httpx.get(rest_api["url"], timeout=30)
    assert root.status_code == 201 and root.json()["resource"] == "/"
    assert httpx.get(f"{rest_api['url']}/", timeout=30).json()["resource"] == "/"


def test_api_gateway_errors(cloud: LocalCloud, rest_api: dict[str, str]) -> None:
    """No method: 403 Missing Authentication Token; unknown stage: 403 Forbidden; a function error or a
    result that is not a proxy response: 502; a MOCK integration (unsupported here): 500."""
    missing = httpx.delete(rest_api["url"], timeout=30)
    assert (missing.status_code, missing.json()) == (403, {"message": "Missing Authentication Token"})
    stage = httpx.get(f"{cloud.endpoint}/_restapi/{rest_api['api_id']}/nostage/x", timeout=30)
    assert (stage.status_code, stage.json()) == (403, {"message": "Forbidden"})
    for path in ("boom", "plain"):
        bad = httpx.get(f"{rest_api['url']}/{path}", timeout=30)
        assert (bad.status_code, bad.json()) == (502, {"message": "Internal server error"})
    mock = httpx.get(f"{rest_api['url']}/mock", timeout=30)
    assert (mock.status_code, mock.json()) == (500, {"message": "Internal server error"})


def test_invoking_needs_the_functions_permission(
    cloud: LocalCloud, aws: AwsFactory, rest_api: dict[str, str]
) -> None:
    """A stage the function's policy does not name for apigateway.amazonaws.com answers 500, as on AWS."""
    apigw = aws("apigateway")
    api_id = rest_api["api_id"]
    deployment = apigw.get_stage(restApiId=api_id, stageName="prod")["deploymentId"]
    apigw.create_stage(restApiId=api_id, stageName="beta", deploymentId=deployment)
    denied = httpx.get(f"{cloud.endpoint}/_restapi/{api_id}/beta/items/1", timeout=30)
    assert (denied.status_code, denied.json()) == (500, {"message": "Internal server error"})
    assert httpx.get(f"{rest_api['url']}/items/1", timeout=30).status_code == 201


def test_metrics_per_api_name_and_stage(cloud: LocalCloud, aws: AwsFactory, rest_api: dict[str, str]) -> None:
    """Requests are counted in AWS/ApiGateway by ApiName and Stage (Count, 4XXError, 5XXError)."""
    for _ in range(3):
        httpx.get(f"{rest_api['url']}/items/1", timeout=30)
    httpx.delete(rest_api["url"], timeout=30)
    dimensions = [{"Name": "ApiName", "Value": "echo-rest"}, {"Name": "Stage", "Value": "prod"}]
    cloudwatch = aws("cloudwatch")
    deadline = time.monotonic() + 30
    sums: dict[str, float] = {}
    while time.monotonic() < deadline:
        now = cloud.clock.now()
        for name in ("Count", "4XXError", "IntegrationLatency"):
            points = cloudwatch.get_metric_statistics(
                Namespace="AWS/ApiGateway",
                MetricName=name,
                Dimensions=dimensions,
                StartTime=now - 3600,
                EndTime=now + 60,
                Period=60,
                Statistics=["Sum", "SampleCount"],
            )["Datapoints"]
            sums[name] = sum(
                point["Sum" if name != "IntegrationLatency" else "SampleCount"] for point in points
            )
        if sums["Count"] >= 4 and sums["4XXError"] >= 1 and sums["IntegrationLatency"] >= 3:
            break
        time.sleep(0.2)
    assert sums["Count"] >= 4
    assert sums["4XXError"] >= 1
    assert sums["IntegrationLatency"] >= 3


def test_a_stage_serves_its_deployment(cloud: LocalCloud, aws: AwsFactory, rest_api: dict[str, str]) -> None:
    """A method added after the deployment is served only once deployed again; a method without an
    integration makes CreateDeployment fail with AWS's NotFoundException."""
    apigw = aws("apigateway")
    api_id = rest_api["api_id"]
    root = apigw.get_rest_api(restApiId=api_id)["rootResourceId"]
    arn = aws("lambda").get_function(FunctionName="rest-api-echo")["Configuration"]["FunctionArn"]
    fresh = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="fresh")["id"]
    proxy = {"type": "AWS_PROXY", "integrationHttpMethod": "POST", "uri": _uri(cloud.region, arn)}
    _method(apigw, api_id, fresh, "GET", proxy)
    assert httpx.get(f"{rest_api['url']}/fresh", timeout=30).json()["resource"] == "/{proxy+}"
    bare = apigw.create_resource(restApiId=api_id, parentId=root, pathPart="bare")["id"]
    apigw.put_method(restApiId=api_id, resourceId=bare, httpMethod="GET", authorizationType="NONE")
    with pytest.raises(apigw.exceptions.NotFoundException, match="No integration defined for method"):
        apigw.create_deployment(restApiId=api_id, description="refused")
    apigw.delete_method(restApiId=api_id, resourceId=bare, httpMethod="GET")
    deployment = apigw.create_deployment(restApiId=api_id)["id"]
    patch = [{"op": "replace", "path": "/deploymentId", "value": deployment}]
    apigw.update_stage(restApiId=api_id, stageName="prod", patchOperations=patch)
    assert httpx.get(f"{rest_api['url']}/fresh", timeout=30).json()["resource"] == "/fresh"


def test_the_front_door_guards_the_data_plane(rest_api: dict[str, str]) -> None:
    """A foreign Origin or Host is refused before the data plane, which otherwise answers."""
    url = f"{rest_api['url']}/items/1"
    assert httpx.get(url, headers={"Origin": "https://evil.example"}, timeout=30).status_code == 403
    assert httpx.get(url, headers={"Host": "evil.example"}, timeout=30).status_code == 403
    assert httpx.get(url, timeout=30).status_code == 201


def test_a_rest_api_in_another_region_serves_its_function(
    cloud: LocalCloud, lambda_role: str, lambda_zip: Callable[..., bytes]
) -> None:
    """An API and its function in eu-north-1 answer through the data plane, with that region's source ARN."""
    import boto3

    region = "eu-north-1"

    def client(service: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service, endpoint_url=cloud.endpoint, region_name=region, **cloud.operator_key.boto3_arguments()
        )

    arn = client("lambda").create_function(
        FunctionName="rest-api-north",
        Runtime="python3.11",
        Role=lambda_role,
        Handler="app.handler",
        Code={"ZipFile": lambda_zip(files={"app.py": ECHO})},
    )["FunctionArn"]
    assert f":{region}:" in arn
    client("lambda").get_waiter("function_active_v2").wait(
        FunctionName="rest-api-north", WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    apigw = client("apigateway")
    api = apigw.create_rest_api(name="north-rest")
    api_id = api["id"]
    greedy = apigw.create_resource(restApiId=api_id, parentId=api["rootResourceId"], pathPart="{proxy+}")[
        "id"
    ]
    proxy = {"type": "AWS_PROXY", "integrationHttpMethod": "POST", "uri": _uri(region, arn)}
    _method(apigw, api_id, greedy, "ANY", proxy)
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    client("lambda").add_permission(
        FunctionName="rest-api-north",
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{region}:{cloud.account_id}:{api_id}/prod/*",
    )
    response = httpx.get(f"{cloud.endpoint}/_restapi/{api_id}/prod/north", timeout=60)
    assert response.status_code == 201, response.text
    event = response.json()
    assert event["requestContext"]["domainName"] == f"{api_id}.execute-api.{region}.amazonaws.com"
