"""AWS/ApiGateway metrics of the HTTP API data plane, and an api_5xx-style alarm on them (scale 60)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from selfheal.cloud import LocalCloud
from selfheal.cloud.alarm_scheduler import AlarmScheduler

CLOUD_TIME_SCALE = 60.0
WAIT = 15.0

AwsFactory = Callable[[str], Any]
FunctionFactory = Callable[..., str]

SOURCE = """
def handler(event, context):
    path = event.get("rawPath", "")
    if path.endswith("/boom"):
        raise RuntimeError("boom")
    if path.endswith("/missing"):
        return {"statusCode": 404, "body": "no"}
    return {"statusCode": 200, "body": "ok"}
"""


def _api(cloud: LocalCloud, aws: AwsFactory, make_function: FunctionFactory, name: str) -> dict[str, str]:
    make_function(name, SOURCE)
    lam = aws("lambda")
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1})
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    apigw = aws("apigatewayv2")
    api = apigw.create_api(Name=name, ProtocolType="HTTP")
    uri = f"arn:aws:apigateway:{cloud.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
    integration = apigw.create_integration(
        ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=uri, PayloadFormatVersion="2.0"
    )
    apigw.create_route(
        ApiId=api["ApiId"], RouteKey="ANY /{proxy+}", Target=f"integrations/{integration['IntegrationId']}"
    )
    apigw.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    apigw.create_stage(ApiId=api["ApiId"], StageName="prod", AutoDeploy=True)
    return {"api_id": api["ApiId"], "url": f"{cloud.endpoint}/_api/{api['ApiId']}"}


@pytest.fixture(scope="module")
def metered(cloud: LocalCloud, aws: AwsFactory, make_function: FunctionFactory) -> dict[str, str]:
    """An HTTP API with `$default` and `prod` stages in front of a function that can fail."""
    return _api(cloud, aws, make_function, "api-metrics")


def _statistics(
    cloud: LocalCloud, aws: AwsFactory, metric: str, dimensions: dict[str, str], *statistics: str
) -> dict[str, float]:
    """The named statistics of ``metric`` over the last ten cloud minutes, merged over the periods."""
    now = cloud.clock.now()
    answer = aws("cloudwatch").get_metric_statistics(
        Namespace="AWS/ApiGateway",
        MetricName=metric,
        Dimensions=[{"Name": name, "Value": value} for name, value in dimensions.items()],
        StartTime=datetime.fromtimestamp(now - 600, UTC),
        EndTime=datetime.fromtimestamp(now + 60, UTC),
        Period=600,
        Statistics=list(statistics),
    )
    points = answer["Datapoints"]
    merged: dict[str, float] = {}
    for name in statistics:
        values = [float(point[name]) for point in points if name in point]
        if values:
            merged[name] = {"Maximum": max, "Minimum": min}.get(name, sum)(values)
    merged["points"] = float(len(points))
    return merged


def test_requests_publish_count_4xx_5xx_and_latencies(
    cloud: LocalCloud, aws: AwsFactory, metered: dict[str, str]
) -> None:
    """Each answered request counts once in Count, and in 4xx or 5xx by its status, per ApiId and stage."""
    url, api_id = metered["url"], metered["api_id"]
    with httpx.Client() as client:
        statuses = [client.get(f"{url}/{path}").status_code for path in ("a", "b", "missing", "boom", "boom")]
        prod = client.get(f"{url}/prod/fine").status_code
    assert statuses == [200, 200, 404, 500, 500] and prod == 200
    cloud.metrics.flush()

    default = {"ApiId": api_id, "Stage": "$default"}
    assert _statistics(cloud, aws, "Count", default, "Sum", "SampleCount") == {
        "Sum": 5,
        "SampleCount": 5,
        "points": 1,
    }
    assert _statistics(cloud, aws, "Count", {"ApiId": api_id, "Stage": "prod"}, "Sum")["Sum"] == 1
    assert _statistics(cloud, aws, "4xx", default, "Sum")["Sum"] == 1
    five = _statistics(cloud, aws, "5xx", default, "Sum", "SampleCount", "Maximum", "Average")
    assert five["Sum"] == 2 and five["SampleCount"] == 5 and five["Maximum"] == 1
    assert five["Average"] == pytest.approx(0.4)  # the rate, as API Gateway's Average

    latency = _statistics(cloud, aws, "Latency", default, "SampleCount", "Minimum", "Maximum")
    integration = _statistics(cloud, aws, "IntegrationLatency", default, "SampleCount", "Maximum")
    assert latency["SampleCount"] == 5 and integration["SampleCount"] == 5
    assert 0 < latency["Minimum"] <= latency["Maximum"] < 30_000
    assert integration["Maximum"] <= latency["Maximum"]

    # Per ApiId alone too (what api_5xx watches without api_stage): both stages' requests, once each.
    # (moto's GetMetricStatistics matches dimension *subsets*, so it would add the per-stage datums too;
    # the alarm scheduler's index matches the exact set, as CloudWatch does.)
    listed = aws("cloudwatch").list_metrics(Namespace="AWS/ApiGateway", MetricName="Count")["Metrics"]
    sets = {tuple(sorted(d["Name"] for d in m["Dimensions"])) for m in listed}
    assert {("ApiId",), ("ApiId", "Stage")} <= sets
    stored = [
        datum
        for datum in cloud.backend("cloudwatch").metric_data
        if datum.namespace == "AWS/ApiGateway"
        and datum.name == "Count"
        and [(d.name, d.value) for d in datum.dimensions] == [("ApiId", api_id)]
    ]
    assert sum(datum.sum for datum in stored) == 6


def test_unknown_stage_or_api_is_counted_nowhere(
    cloud: LocalCloud, aws: AwsFactory, metered: dict[str, str]
) -> None:
    """A request no API stage answered publishes nothing for any stage."""
    with httpx.Client() as client:
        assert client.get(f"{cloud.endpoint}/_api/nope/x").status_code == 404
    cloud.metrics.flush()
    listed = aws("cloudwatch").list_metrics(Namespace="AWS/ApiGateway")["Metrics"]
    api_ids = {d["Value"] for metric in listed for d in metric["Dimensions"] if d["Name"] == "ApiId"}
    assert "nope" not in api_ids


def test_api_5xx_alarm_goes_to_alarm(
    cloud: LocalCloud, aws: AwsFactory, make_function: FunctionFactory
) -> None:
    """An alarm on 5xx Sum per ApiId (deploy/modules/protect's api_5xx) goes ALARM when the API fails."""
    api = _api(cloud, aws, make_function, "api-5xx")
    aws("cloudwatch").put_metric_alarm(
        AlarmName="api-5xx",
        Namespace="AWS/ApiGateway",
        MetricName="5xx",
        Dimensions=[{"Name": "ApiId", "Value": api["api_id"]}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=2.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )
    with httpx.Client() as client:
        assert [client.get(f"{api['url']}/boom").status_code for _ in range(3)] == [500] * 3
    transition = AlarmScheduler.of(cloud).wait_for("api-5xx", "ALARM", WAIT)
    assert transition is not None
    alarm = aws("cloudwatch").describe_alarms(AlarmNames=["api-5xx"])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
