"""A REST API outside the cloud's default region: its AWS/ApiGateway metrics and alarms are in its region."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from polling import eventually
from selfheal.cloud import LocalCloud

CLOUD_TIME_SCALE = 60.0
REGION = "eu-west-1"
API_NAME = "west-shop"
WAIT = 30.0

AwsFactory = Callable[..., Any]

FLAKY = """
def handler(event, context):
    if event["path"].endswith("/boom"):
        raise RuntimeError("boom")
    return {"statusCode": 200, "body": "ok"}
"""


def _until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    return eventually(check, timeout, what, interval=0.2)


@pytest.fixture(scope="module")
def west_api(cloud: LocalCloud, aws: AwsFactory, lambda_role: str, lambda_zip: Callable[..., bytes]) -> str:
    """A REST API in eu-west-1 (ANY /{proxy+} → a function there that fails on /boom); its stage URL."""
    lam = aws("lambda", region_name=REGION)
    arn = lam.create_function(
        FunctionName="west-flaky",
        Runtime="python3.11",
        Role=lambda_role,
        Handler="app.handler",
        Code={"ZipFile": lambda_zip(files={"app.py": FLAKY})},
        Timeout=10,
    )["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName="west-flaky", WaiterConfig={"Delay": 0.05})
    apigw = aws("apigateway", region_name=REGION)
    api = apigw.create_rest_api(name=API_NAME)
    api_id = api["id"]
    proxy = apigw.create_resource(restApiId=api_id, parentId=api["rootResourceId"], pathPart="{proxy+}")["id"]
    apigw.put_method(restApiId=api_id, resourceId=proxy, httpMethod="ANY", authorizationType="NONE")
    apigw.put_integration(
        restApiId=api_id,
        resourceId=proxy,
        httpMethod="ANY",
        type="AWS_PROXY",
        integrationHttpMethod="POST",
        uri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations",
    )
    apigw.create_deployment(restApiId=api_id, stageName="prod")
    lam.add_permission(
        FunctionName="west-flaky",
        StatementId="apigw",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{cloud.account_id}:{api_id}/prod/*",
    )
    return f"{cloud.endpoint}/_restapi/{api_id}/prod"


def _sum(cloudwatch: Any, name: str) -> float:
    """The Sum of ``name`` for the API over every datapoint (cloud time runs ahead of real time)."""
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/ApiGateway",
        MetricName=name,
        Dimensions=[{"Name": "ApiName", "Value": API_NAME}, {"Name": "Stage", "Value": "prod"}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(days=2),
        Period=60,
        Statistics=["Sum"],
    )["Datapoints"]
    return float(sum(point["Sum"] for point in points))


def test_rest_api_metrics_and_alarm_are_in_the_apis_region(
    cloud: LocalCloud, aws: AwsFactory, west_api: str
) -> None:
    """Count and 5XXError of a REST API in eu-west-1 land in eu-west-1's CloudWatch (not the default
    region's), and an alarm there on 5XXError goes to ALARM."""
    cloudwatch = aws("cloudwatch", region_name=REGION)
    cloudwatch.put_metric_alarm(
        AlarmName="west-shop-5xx",
        Namespace="AWS/ApiGateway",
        MetricName="5XXError",
        Dimensions=[{"Name": "ApiName", "Value": API_NAME}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    statuses = [
        httpx.get(f"{west_api}/{path}", timeout=30).status_code for path in ("a", "b", "boom", "boom")
    ]
    assert statuses == [200, 200, 502, 502]

    _until(lambda: _sum(cloudwatch, "Count") == 4, "Count 4 in eu-west-1")
    assert _sum(cloudwatch, "5XXError") == 2
    assert _sum(cloudwatch, "4XXError") == 0
    default = aws("cloudwatch")
    assert cloud.region != REGION
    assert default.list_metrics(Namespace="AWS/ApiGateway")["Metrics"] == []

    def alarm_state() -> bool:
        alarm = cloudwatch.describe_alarms(AlarmNames=["west-shop-5xx"])["MetricAlarms"][0]
        return bool(alarm["StateValue"] == "ALARM")

    _until(alarm_state, "the 5XXError alarm in ALARM")
