"""EventBridge in a running LocalCloud (time scale 60): rules deliver events once to Lambda, schedules fire
in cloud time, alarm transitions become events, and Lambda alarm actions get CloudWatch's payload."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from healer.notification import parse_event
from polling import receive_messages
from selfheal.cloud import LocalCloud
from selfheal.cloud.alarm_scheduler import AlarmScheduler
from selfheal.cloud.eventbridge import EventBridge

CLOUD_TIME_SCALE = 60.0
WAIT = 20.0

AwsFactory = Callable[..., Any]
FunctionFactory = Callable[..., str]
Forwarder = Callable[[str], tuple[str, str]]

FORWARDER = """
import json
import os

import boto3


def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["OUT_QUEUE"], MessageBody=json.dumps(event))
    return {"ok": True}
"""


def _receive(aws: AwsFactory, url: str, count: int, timeout: float = WAIT) -> list[Any]:
    """Receive ``count`` JSON bodies within ``timeout`` real seconds (fewer if they never come)."""
    return [json.loads(m["Body"]) for m in receive_messages(aws("sqs"), url, count, timeout)]


@pytest.fixture(scope="module")
def forwarder(aws: AwsFactory, make_function: FunctionFactory) -> Forwarder:
    """A factory of functions copying every event they get into their own queue: (function ARN, queue URL)."""

    def create(name: str) -> tuple[str, str]:
        url = aws("sqs").create_queue(QueueName=f"{name}-out")["QueueUrl"]
        make_function(name, FORWARDER, variables={"OUT_QUEUE": url}, timeout=10)
        arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        return arn, url

    return create


def _rule(aws: AwsFactory, name: str, target: dict[str, Any], **rule: Any) -> str:
    events = aws("events")
    arn = events.put_rule(Name=name, **rule)["RuleArn"]
    bus = {"EventBusName": rule["EventBusName"]} if "EventBusName" in rule else {}
    events.put_targets(Rule=name, Targets=[{"Id": "t1", **target}], **bus)
    return str(arn)


def test_put_events_invokes_the_lambda_target_once(
    aws: AwsFactory, cloud: LocalCloud, forwarder: Forwarder
) -> None:
    """A matching PutEvents entry reaches the Lambda target once, in EventBridge's event shape."""
    function_arn, out = forwarder("eb-once")
    rule_arn = _rule(
        aws,
        "orders",
        {"Arn": function_arn},
        EventPattern=json.dumps({"source": ["my.shop"], "detail": {"total": [{"numeric": [">", 10]}]}}),
    )
    entries = [
        {
            "Source": "my.shop",
            "DetailType": "Order Placed",
            "Detail": json.dumps({"total": 25}),
            "Resources": ["r1"],
        },
        {"Source": "my.shop", "DetailType": "Order Placed", "Detail": json.dumps({"total": 5})},
        {"Source": "other", "DetailType": "Order Placed", "Detail": json.dumps({"total": 50})},
    ]
    before = cloud.clock.now()
    result = aws("events").put_events(Entries=entries)
    assert result["FailedEntryCount"] == 0

    bodies = _receive(aws, out, 2, timeout=5.0)
    assert len(bodies) == 1
    event = bodies[0]
    assert event["id"] == result["Entries"][0]["EventId"]
    assert list(event) == [
        "version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail",
    ]  # fmt: skip
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "my.shop",
        "Order Placed",
        {"total": 25},
    )
    assert (event["account"], event["region"], event["resources"]) == (cloud.account_id, cloud.region, ["r1"])
    stamp = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    assert before - 1 <= stamp <= cloud.clock.now()  # cloud time, not the real clock
    delivered = EventBridge.of(cloud).delivered(function_arn)
    assert [(d.rule_arn, d.error) for d in delivered] == [(rule_arn, None)]


def test_input_path_and_input(aws: AwsFactory, forwarder: Forwarder) -> None:
    """InputPath hands the target part of the event; Input hands it fixed JSON."""
    function_arn, out = forwarder("eb-input")
    pattern = json.dumps({"source": ["my.input"]})
    _rule(aws, "by-path", {"Arn": function_arn, "InputPath": "$.detail"}, EventPattern=pattern)
    _rule(aws, "fixed", {"Arn": function_arn, "Input": '{"fixed": 1}'}, EventPattern=pattern)
    aws("events").put_events(Entries=[{"Source": "my.input", "DetailType": "x", "Detail": '{"a": [1, 2]}'}])
    bodies = _receive(aws, out, 2)
    assert sorted(bodies, key=json.dumps) == [{"a": [1, 2]}, {"fixed": 1}]


def test_custom_bus_and_disabled_rules(aws: AwsFactory, forwarder: Forwarder) -> None:
    """An event goes to the rules of its own bus only, and never to a disabled rule."""
    function_arn, out = forwarder("eb-bus")
    events = aws("events")
    bus_arn = events.create_event_bus(Name="team-bus")["EventBusArn"]
    pattern = json.dumps({"source": ["my.bus"]})
    _rule(
        aws,
        "on-team-bus",
        {"Arn": function_arn, "Input": '"team"'},
        EventPattern=pattern,
        EventBusName="team-bus",
    )
    _rule(aws, "on-default-bus", {"Arn": function_arn, "Input": '"default"'}, EventPattern=pattern)
    _rule(
        aws, "disabled", {"Arn": function_arn, "Input": '"disabled"'}, EventPattern=pattern, State="DISABLED"
    )
    events.put_events(
        Entries=[{"Source": "my.bus", "DetailType": "x", "Detail": "{}", "EventBusName": bus_arn}]
    )
    assert _receive(aws, out, 2, timeout=4.0) == ["team"]
    events.put_events(Entries=[{"Source": "my.bus", "DetailType": "x", "Detail": "{}"}])
    assert _receive(aws, out, 2, timeout=4.0) == ["default"]


def test_sqs_target_gets_the_event(aws: AwsFactory) -> None:
    """An SQS target gets the (transformed) event as the message body."""
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="eb-sqs-target")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    transformer = {
        "InputPathsMap": {"n": "$.detail.n"},
        "InputTemplate": '{"n": <n>, "rule": "<aws.events.rule-name>"}',
    }
    _rule(
        aws,
        "to-sqs",
        {"Arn": arn, "InputTransformer": transformer},
        EventPattern=json.dumps({"source": ["my.sqs"]}),
    )
    aws("events").put_events(Entries=[{"Source": "my.sqs", "DetailType": "x", "Detail": '{"n": 7}'}])
    assert _receive(aws, url, 1) == [{"n": 7, "rule": "to-sqs"}]


def test_sns_target_publishes_the_event(aws: AwsFactory) -> None:
    """An SNS target publishes the event to the topic, whose subscribers get it through SNS delivery."""
    sqs, sns = aws("sqs"), aws("sns")
    url = sqs.create_queue(QueueName="eb-sns-out")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="eb-topic")["TopicArn"]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    _rule(
        aws,
        "to-sns",
        {"Arn": topic, "InputPath": "$.detail"},
        EventPattern=json.dumps({"source": ["my.sns"]}),
    )
    aws("events").put_events(Entries=[{"Source": "my.sns", "DetailType": "x", "Detail": '{"via": "sns"}'}])
    assert _receive(aws, url, 1) == [{"via": "sns"}]


@pytest.mark.serial
def test_schedule_rule_fires_in_cloud_time(aws: AwsFactory, cloud: LocalCloud, forwarder: Forwarder) -> None:
    """rate(1 minute) fires a Scheduled Event every cloud minute (a real second at scale 60)."""
    function_arn, out = forwarder("eb-schedule")
    rule_arn = _rule(aws, "every-minute", {"Arn": function_arn}, ScheduleExpression="rate(1 minute)")
    started = time.monotonic()
    # A rule with only a schedule matches no event (moto's empty pattern would match them all).
    aws("events").put_events(Entries=[{"Source": "any", "DetailType": "x", "Detail": "{}"}])
    bodies = _receive(aws, out, 2, timeout=10.0)
    aws("events").disable_rule(Name="every-minute")
    assert len(bodies) == 2
    assert time.monotonic() - started < 8.0
    for event in bodies:
        assert (event["source"], event["detail-type"], event["detail"]) == (
            "aws.events",
            "Scheduled Event",
            {},
        )
        assert event["resources"] == [rule_arn]
    times = [datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%SZ").timestamp() for e in bodies]
    assert times[1] - times[0] == 60


def test_put_rule_refuses_what_eventbridge_refuses(aws: AwsFactory) -> None:
    """Bad patterns and schedule expressions are refused with EventBridge's errors, and no rule is made."""
    events = aws("events")
    with pytest.raises(ClientError) as pattern:
        events.put_rule(Name="bad-pattern", EventPattern=json.dumps({"source": [{"nonsense": 1}]}))
    assert pattern.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert "nonsense" in pattern.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as schedule:
        events.put_rule(Name="bad-schedule", ScheduleExpression="cron(0 10 * * * *)")
    assert schedule.value.response["Error"]["Code"] == "ValidationException"
    names = [r["Name"] for r in events.list_rules()["Rules"]]
    assert "bad-pattern" not in names and "bad-schedule" not in names


def _metric_alarm(aws: AwsFactory, name: str, **actions: Any) -> None:
    aws("cloudwatch").put_metric_alarm(
        AlarmName=name,
        AlarmDescription="Errors of a test function",
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": name}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        # No data arrives: "ignore" keeps the state the test sets, so a period boundary's evaluation
        # cannot slip an INSUFFICIENT_DATA transition between two SetAlarmState calls.
        TreatMissingData="ignore",
        **actions,
    )


def test_alarm_transition_becomes_a_state_change_event(aws: AwsFactory, forwarder: Forwarder) -> None:
    """An alarm transition puts CloudWatch's state-change event on the default bus; the healer parses it."""
    function_arn, out = forwarder("eb-alarm-events")
    pattern = {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "detail": {"alarmName": ["eb-watched"], "state": {"value": ["ALARM"]}},
    }
    _rule(aws, "alarm-changes", {"Arn": function_arn}, EventPattern=json.dumps(pattern))
    _metric_alarm(aws, "eb-watched")
    aws("cloudwatch").set_alarm_state(
        AlarmName="eb-watched", StateValue="ALARM", StateReason="testing events"
    )

    bodies = _receive(aws, out, 1)
    assert len(bodies) == 1
    event = bodies[0]
    alarm = aws("cloudwatch").describe_alarms(AlarmNames=["eb-watched"])["MetricAlarms"][0]
    assert event["resources"] == [alarm["AlarmArn"]]
    detail = event["detail"]
    assert detail["alarmName"] == "eb-watched"
    assert (detail["state"]["value"], detail["state"]["reason"]) == ("ALARM", "testing events")
    assert detail["previousState"]["value"] == "INSUFFICIENT_DATA"
    metric = detail["configuration"]["metrics"][0]["metricStat"]
    assert metric == {
        "metric": {"namespace": "AWS/Lambda", "name": "Errors", "dimensions": {"FunctionName": "eb-watched"}},
        "period": 60,
        "stat": "Sum",
    }
    (parsed,) = parse_event(event)
    assert not isinstance(parsed, Exception)
    assert (parsed.alarm_name, parsed.new_state, parsed.old_state) == (
        "eb-watched",
        "ALARM",
        "INSUFFICIENT_DATA",
    )
    assert parsed.delivery == "eventbridge"
    assert parsed.trigger.metrics[0].name == "Errors"


def test_lambda_alarm_action_gets_the_direct_payload(
    aws: AwsFactory, cloud: LocalCloud, forwarder: Forwarder
) -> None:
    """An alarm action naming a function invokes it with CloudWatch's payload, on ALARM and on OK."""
    function_arn, out = forwarder("eb-alarm-action")
    _metric_alarm(aws, "eb-direct", AlarmActions=[function_arn], OKActions=[function_arn])
    cloudwatch = aws("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName="eb-direct", StateValue="ALARM", StateReason="direct")
    first = _receive(aws, out, 1)
    cloudwatch.set_alarm_state(AlarmName="eb-direct", StateValue="OK", StateReason="recovered")
    second = _receive(aws, out, 1)
    assert len(first) == len(second) == 1

    payload = first[0]
    assert list(payload) == ["source", "alarmArn", "accountId", "time", "region", "alarmData"]
    assert (payload["source"], payload["accountId"], payload["region"]) == (
        "aws.cloudwatch",
        cloud.account_id,
        cloud.region,
    )
    assert payload["alarmData"]["state"]["value"] == "ALARM"
    previous = second[0]["alarmData"]["previousState"]
    assert {key: previous[key] for key in ("value", "reason", "timestamp")} == {
        key: payload["alarmData"]["state"][key] for key in ("value", "reason", "timestamp")
    }
    (parsed,) = parse_event(payload)
    assert not isinstance(parsed, Exception)
    assert (parsed.alarm_name, parsed.new_state, parsed.delivery) == ("eb-direct", "ALARM", "alarm_action")
    (recovered,) = parse_event(second[0])
    assert not isinstance(recovered, Exception)
    assert (recovered.new_state, recovered.old_state) == ("OK", "ALARM")

    actions = [
        i
        for i in AlarmScheduler.of(cloud).history.query(alarm_name="eb-direct")
        if i.history_item_type == "Action"
    ]
    assert actions and all("Successfully" in item.summary for item in actions)
