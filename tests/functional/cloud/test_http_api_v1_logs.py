"""Functional tests of payload format 1.0 and access logs: a boto3-made HTTP API before real Lambda code."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from selfheal.cloud import LocalCloud

AwsFactory = Callable[[str], Any]
FunctionFactory = Callable[..., str]

ECHO_V1 = """
import json

def handler(event, context):
    if event["path"].endswith("/bare"):
        return {"bare": True}
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {"x-echo": ["a", "b"]},
        "body": json.dumps(event),
    }
"""

LOG_FORMAT = (
    '{"requestId":"$context.requestId","routeKey":"$context.routeKey","status":"$context.status",'
    '"path":"$context.path","integrationStatus":"$context.integrationStatus"}'
)


@pytest.fixture(scope="module")
def v1_api(cloud: LocalCloud, aws: AwsFactory, make_function: FunctionFactory) -> dict[str, str]:
    """An HTTP API whose integration uses payload format 1.0 (Terraform's default), with access logs."""
    make_function("http-api-echo-v1", ECHO_V1)
    arn = aws("lambda").get_function(FunctionName="http-api-echo-v1")["Configuration"]["FunctionArn"]
    aws("logs").create_log_group(logGroupName="/apigw/v1-access")
    apigw = aws("apigatewayv2")
    api = apigw.create_api(Name="echo-v1", ProtocolType="HTTP")
    integration = apigw.create_integration(
        ApiId=api["ApiId"],
        IntegrationType="AWS_PROXY",
        IntegrationUri=arn,
        PayloadFormatVersion="1.0",
    )
    apigw.create_route(
        ApiId=api["ApiId"], RouteKey="ANY /{proxy+}", Target=f"integrations/{integration['IntegrationId']}"
    )
    apigw.create_stage(
        ApiId=api["ApiId"],
        StageName="$default",
        AutoDeploy=True,
        AccessLogSettings={
            "DestinationArn": f"arn:aws:logs:{cloud.region}:{cloud.account_id}:log-group:/apigw/v1-access",
            "Format": LOG_FORMAT,
        },
    )
    return {"api_id": api["ApiId"], "url": f"{cloud.endpoint}/_api/{api['ApiId']}"}


def test_v1_event_and_response(v1_api: dict[str, str]) -> None:
    """The function gets a 1.0 event; its multi-value headers come back to the client."""
    response = httpx.get(f"{v1_api['url']}/orders/7?a=1&a=2", timeout=60)
    assert response.status_code == 200
    assert response.headers.get_list("x-echo") == ["a", "b"]
    event = response.json()
    assert event["version"] == "1.0"
    assert event["resource"] == "/{proxy+}"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"proxy": "orders/7"}
    assert event["queryStringParameters"] == {"a": "2"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["requestContext"]["requestId"] == response.headers["apigw-requestid"]


def test_v1_bare_result_is_internal_server_error(v1_api: dict[str, str]) -> None:
    """A 1.0 function returning no statusCode is a 500, as on AWS."""
    response = httpx.get(f"{v1_api['url']}/bare", timeout=60)
    assert response.status_code == 500
    assert response.json() == {"message": "Internal Server Error"}


def test_access_log_events_reach_the_log_group(aws: AwsFactory, v1_api: dict[str, str]) -> None:
    """Each request writes one access log event, in the stage's format, to the destination log group."""
    ids = [httpx.get(f"{v1_api['url']}/logged/{n}", timeout=60).headers["apigw-requestid"] for n in range(2)]
    logs = aws("logs")
    found: dict[str, dict[str, str]] = {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not set(ids) <= set(found):
        for event in logs.filter_log_events(logGroupName="/apigw/v1-access")["events"]:
            line = json.loads(event["message"])
            found[line["requestId"]] = line
        time.sleep(0.2)
    assert set(ids) <= set(found)
    line = found[ids[1]]
    assert line == {
        "requestId": ids[1],
        "routeKey": "ANY /{proxy+}",
        "status": "200",
        "path": "/logged/1",
        "integrationStatus": "200",
    }
