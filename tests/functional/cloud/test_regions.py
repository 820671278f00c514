"""Functional tests of a stack outside the cloud's default region (issue #12): every region is served."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import boto3
import httpx
import pytest
from api_helpers import proxy_http_api

from polling import eventually
from selfheal.cloud import LocalCloud

CLOUD_TIME_SCALE = 60.0
REGION = "eu-north-1"
WAIT = 30.0

Regional = Callable[[str, str], Any]
Create = Callable[..., str]

HANDLER = """
import json, os

def handler(event, context):
    print("event", json.dumps(event))
    if isinstance(event, dict) and event.get("fail"):
        raise RuntimeError("asked to fail")
    return {
        "region": os.environ["AWS_REGION"],
        "default_region": os.environ["AWS_DEFAULT_REGION"],
        "arn": context.invoked_function_arn,
        "who": os.environ.get("WHO", ""),
    }
"""


@pytest.fixture(scope="module")
def client(cloud: LocalCloud) -> Regional:
    """A factory of boto3 clients of the cloud in a given region, signed with the operator key."""

    def make(service: str, region: str) -> Any:
        return boto3.client(  # type: ignore[call-overload]
            service, endpoint_url=cloud.endpoint, region_name=region, **cloud.operator_key.boto3_arguments()
        )

    return make


@pytest.fixture(scope="module")
def create(client: Regional, lambda_role: str, lambda_zip: Callable[..., bytes]) -> Create:
    """Create the test function ``name`` in ``region`` (``who`` in its WHO variable), wait until it is
    Active and return its ARN."""

    def make(region: str, name: str, who: str = "") -> str:
        lam = client("lambda", region)
        arn = lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=lambda_role,
            Handler="app.handler",
            Code={"ZipFile": lambda_zip(files={"app.py": HANDLER})},
            Timeout=30,
            Environment={"Variables": {"WHO": who}},
        )["FunctionArn"]
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05})
        return str(arn)

    return make


def _invoke(client: Regional, region: str, name: str, event: dict[str, Any] | None = None) -> Any:
    answer = client("lambda", region).invoke(FunctionName=name, Payload=json.dumps(event or {}).encode())
    return answer, json.loads(answer["Payload"].read())


def _until(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    return eventually(check, timeout, what)


def _log_messages(client: Regional, region: str, name: str) -> list[str]:
    logs = client("logs", region)
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [str(event["message"]) for event in events]


def test_function_runs_in_its_region_with_its_region_in_the_environment(
    client: Regional, create: Create
) -> None:
    """A function of a non-default region runs its code, with AWS_REGION and ARNs of that region."""
    arn = create(REGION, "north-only")
    answer, body = _invoke(client, REGION, "north-only")
    assert arn.startswith(f"arn:aws:lambda:{REGION}:")
    assert "FunctionError" not in answer
    assert body == {"region": REGION, "default_region": REGION, "arn": arn, "who": ""}


def test_same_function_name_in_two_regions_does_not_mix(
    cloud: LocalCloud, client: Regional, create: Create
) -> None:
    """One name in two regions is two functions: each runs its own code, metrics and logs in its region."""
    east = create(cloud.region, "twin", who="east")
    north = create(REGION, "twin", who="north")
    for _ in range(2):
        assert _invoke(client, cloud.region, "twin")[1]["who"] == "east"
        assert _invoke(client, REGION, "twin")[1]["who"] == "north"
    assert _invoke(client, REGION, "twin")[1]["arn"] == north
    assert _invoke(client, cloud.region, "twin")[1]["arn"] == east

    def invocations(region: str) -> float:
        stats = client("cloudwatch", region).get_metric_statistics(
            Namespace="AWS/Lambda",
            MetricName="Invocations",
            Dimensions=[{"Name": "FunctionName", "Value": "twin"}],
            StartTime=time.time() - 7200,
            EndTime=time.time() + 7200,
            Period=60,
            Statistics=["Sum"],
        )
        return float(sum(point["Sum"] for point in stats["Datapoints"]))

    _until(
        lambda: invocations(REGION) == 3 and invocations(cloud.region) == 3, "3 invocations in each region"
    )
    north_lines = _until(lambda: _log_messages(client, REGION, "twin"), "the north twin's logs")
    east_lines = _until(lambda: _log_messages(client, cloud.region, "twin"), "the east twin's logs")
    assert sum(line.startswith("START") for line in north_lines) >= 1
    assert sum(line.startswith("START") for line in east_lines) >= 1


def test_alarm_over_errors_evaluates_in_its_region_and_notifies(client: Regional, create: Create) -> None:
    """An alarm over a function's Errors in a non-default region goes to ALARM, publishes to its topic and
    puts its state change event on that region's default bus."""
    create(REGION, "north-flaky")
    sns, sqs, cloudwatch = client("sns", REGION), client("sqs", REGION), client("cloudwatch", REGION)
    topic = sns.create_topic(Name="north-alarms")["TopicArn"]
    queue = sqs.create_queue(QueueName="north-alarms")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    events_queue = sqs.create_queue(QueueName="north-alarm-events")["QueueUrl"]
    events_arn = sqs.get_queue_attributes(QueueUrl=events_queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events = client("events", REGION)
    events.put_rule(Name="north-alarm-changes", EventPattern=json.dumps({"source": ["aws.cloudwatch"]}))
    events.put_targets(Rule="north-alarm-changes", Targets=[{"Id": "queue", "Arn": events_arn}])
    cloudwatch.put_metric_alarm(
        AlarmName="north-flaky-errors",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": "north-flaky"}],
        Statistic="Sum",
        Period=60,  # Lambda metrics are one-minute (standard resolution)
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic],
    )
    for _ in range(3):
        answer, _ = _invoke(client, REGION, "north-flaky", {"fail": True})
        assert answer["FunctionError"] == "Unhandled"

    def state() -> bool:
        alarm = cloudwatch.describe_alarms(AlarmNames=["north-flaky-errors"])["MetricAlarms"][0]
        return alarm["StateValue"] == "ALARM"

    _until(state, "the alarm in ALARM")
    messages = _until(
        lambda: sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages"), "the notification"
    )
    notification = json.loads(json.loads(messages[0]["Body"])["Message"])
    assert notification["NewStateValue"] == "ALARM"
    assert notification["AlarmArn"] == f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:north-flaky-errors"
    assert notification["Region"] == "EU (Stockholm)"

    def alarm_event() -> dict[str, Any] | None:
        for message in sqs.receive_message(QueueUrl=events_queue, WaitTimeSeconds=1).get("Messages", []):
            event: dict[str, Any] = json.loads(message["Body"])
            if event["detail"]["state"]["value"] == "ALARM":
                return event
        return None

    change = _until(alarm_event, "the ALARM state change event")
    assert change["region"] == REGION
    assert change["resources"] == [notification["AlarmArn"]]


def test_sns_delivers_to_a_lambda_subscriber_in_its_region(client: Regional, create: Create) -> None:
    """Publishing to a topic of a non-default region invokes its Lambda subscriber there."""
    arn = create(REGION, "north-subscriber")
    sns = client("sns", REGION)
    topic = sns.create_topic(Name="north-topic")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="hello-north")
    lines = _until(
        lambda: [m for m in _log_messages(client, REGION, "north-subscriber") if "hello-north" in m],
        "the subscriber's log line",
    )
    assert f"arn:aws:sns:{REGION}:123456789012:north-topic" in lines[0]


def test_http_api_of_a_region_answers(cloud: LocalCloud, client: Regional, create: Create) -> None:
    """An HTTP API made in a non-default region is served and runs its region's function."""
    arn = create(REGION, "north-api")
    api_id = proxy_http_api(client("apigatewayv2", REGION), REGION, arn, "GET /hello")
    response = httpx.get(f"{cloud.endpoint}/_api/{api_id}/hello", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["region"] == REGION
    assert response.json()["arn"] == arn


def test_eventbridge_rule_of_a_region_invokes_its_target(client: Regional, create: Create) -> None:
    """PutEvents in a non-default region reaches a matching rule's Lambda target there."""
    arn = create(REGION, "north-rule-target")
    events = client("events", REGION)
    events.put_rule(Name="north-rule", EventPattern=json.dumps({"source": ["test.regions"]}))
    events.put_targets(Rule="north-rule", Targets=[{"Id": "fn", "Arn": arn}])
    events.put_events(
        Entries=[{"Source": "test.regions", "DetailType": "t", "Detail": json.dumps({"say": "hi-rule"})}]
    )
    lines = _until(
        lambda: [m for m in _log_messages(client, REGION, "north-rule-target") if "hi-rule" in m],
        "the rule target's log line",
    )
    assert f'"region": "{REGION}"' in lines[0]


def test_sqs_event_source_mapping_of_a_region_polls_its_queue(client: Regional, create: Create) -> None:
    """An SQS event source mapping in a non-default region hands its queue's messages to its function."""
    create(REGION, "north-consumer")
    sqs = client("sqs", REGION)
    queue = sqs.create_queue(QueueName="north-work")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    client("lambda", REGION).create_event_source_mapping(
        EventSourceArn=queue_arn, FunctionName="north-consumer", BatchSize=1
    )
    sqs.send_message(QueueUrl=queue, MessageBody="from-north-queue")
    lines = _until(
        lambda: [m for m in _log_messages(client, REGION, "north-consumer") if "from-north-queue" in m],
        "the consumer's log line",
    )
    assert f'"awsRegion": "{REGION}"' in lines[0]
    assert f'"eventSourceARN": "{queue_arn}"' in lines[0]


def test_the_clouds_client_takes_a_region(cloud: LocalCloud) -> None:
    """``LocalCloud.client(service, region_name=R)`` talks to region R (the default region otherwise)."""
    assert cloud.client("sts", region_name=REGION).meta.region_name == REGION
    assert cloud.client("sts").meta.region_name == cloud.region
