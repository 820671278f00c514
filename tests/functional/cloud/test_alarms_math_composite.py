"""Metric-math, percentile and composite alarms evaluated in a running LocalCloud (time scale 60)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from healer.notification import AlarmNotification, parse_event
from selfheal.cloud import LocalCloud
from selfheal.cloud.alarm_scheduler import AlarmScheduler

CLOUD_TIME_SCALE = 60.0
WAIT = 20.0

pytestmark = pytest.mark.timeout(240)

AwsFactory = Callable[..., Any]

SOURCE = """
import time

def handler(event, context):
    time.sleep(event.get("sleep_ms", 0) / 1000.0)
    if event.get("fail"):
        raise RuntimeError("injected failure")
    return {"ok": True}
"""


@pytest.fixture(scope="module")
def topic_queue(aws: AwsFactory) -> tuple[str, str]:
    """An SNS topic and the SQS queue subscribed to it."""
    sns, sqs = aws("sns"), aws("sqs")
    topic = sns.create_topic(Name="math-alarm-topic")["TopicArn"]
    queue = sqs.create_queue(QueueName="math-alarm-queue")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, queue


def _invoke(aws: AwsFactory, name: str, **event: Any) -> None:
    aws("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())


def _drive(
    cloud: LocalCloud, aws: AwsFactory, alarm: str, state: str, name: str, events: list[dict[str, Any]]
) -> Any:
    """Invoke ``name`` with ``events`` in turn until ``alarm`` transitions into ``state``; return it."""
    scheduler = AlarmScheduler.of(cloud)
    after = len(scheduler.transitions)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for event in events:
            _invoke(aws, name, **event)
        transition = scheduler.wait_for(alarm, state, 0.05, after=after)
        if transition is not None:
            return transition
    return None


def _messages(aws: AwsFactory, queue: str, alarm_name: str) -> list[dict[str, Any]]:
    """Drain the queue; the SNS envelopes about ``alarm_name``."""
    sqs = aws("sqs")
    found: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return found
        for message in batch:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            envelope = json.loads(message["Body"])
            if json.loads(envelope["Message"])["AlarmName"] == alarm_name:
                found.append(envelope)


def _metric(query_id: str, name: str, function: str, stat: str = "Sum") -> dict[str, Any]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/Lambda",
                "MetricName": name,
                "Dimensions": [{"Name": "FunctionName", "Value": function}],
            },
            "Period": 60,
            "Stat": stat,
        },
        "ReturnData": False,
    }


def test_error_rate_alarm_goes_to_alarm_and_back_ok(
    cloud: LocalCloud, aws: AwsFactory, make_function: Callable[..., str], topic_queue: tuple[str, str]
) -> None:
    """100*m1/m2 over Errors/Invocations (as deploy/modules/protect makes it) follows real invocations."""
    topic, queue = topic_queue
    name = make_function("rate-fn", SOURCE)
    aws("cloudwatch").put_metric_alarm(
        AlarmName="rate-fn-error-rate",
        Metrics=[
            _metric("m1", "Errors", name),
            _metric("m2", "Invocations", name),
            {"Id": "e1", "Expression": "100 * m1 / m2", "Label": "Error rate (%)", "ReturnData": True},
        ],
        EvaluationPeriods=1,
        Threshold=50.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
        AlarmActions=[topic],
        OKActions=[topic],
    )
    fired = _drive(cloud, aws, "rate-fn-error-rate", "ALARM", name, [{"fail": True}, {}])
    assert fired is not None, "the error-rate alarm never went to ALARM"
    alarm = aws("cloudwatch").describe_alarms(AlarmNames=["rate-fn-error-rate"])["MetricAlarms"][0]
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 datapoint [")
    assert "statistic" not in json.loads(alarm["StateReasonData"])

    recovered = _drive(cloud, aws, "rate-fn-error-rate", "OK", name, [{}, {}])
    assert recovered is not None, "the error-rate alarm never went back to OK"

    envelopes = _messages(aws, queue, "rate-fn-error-rate")
    states = [json.loads(e["Message"])["NewStateValue"] for e in envelopes]
    # Without data at its first boundary the alarm may have gone OK (notBreaching) before firing.
    fired_at = states.index("ALARM")
    assert "OK" in states[fired_at + 1 :]
    message = json.loads(envelopes[fired_at]["Message"])
    assert [m["Id"] for m in message["Trigger"]["Metrics"]] == ["m1", "m2", "e1"]
    [parsed] = parse_event({"Records": [{"EventSource": "aws:sns", "Sns": envelopes[fired_at]}]})
    assert isinstance(parsed, AlarmNotification) and parsed.kind == "metric_math"


def test_p99_duration_alarm_goes_to_alarm(
    cloud: LocalCloud, aws: AwsFactory, make_function: Callable[..., str]
) -> None:
    """ExtendedStatistic p99 on Lambda Duration is computed from the invocations' durations."""
    name = make_function("slow-fn", SOURCE)
    aws("cloudwatch").put_metric_alarm(
        AlarmName="slow-fn-p99",
        Namespace="AWS/Lambda",
        MetricName="Duration",
        Dimensions=[{"Name": "FunctionName", "Value": name}],
        ExtendedStatistic="p99",
        Period=60,
        EvaluationPeriods=1,
        Threshold=150.0,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )
    fired = _drive(cloud, aws, "slow-fn-p99", "ALARM", name, [{}, {"sleep_ms": 250}])
    assert fired is not None, "the p99 alarm never went to ALARM"
    alarm = aws("cloudwatch").describe_alarms(AlarmNames=["slow-fn-p99"])["MetricAlarms"][0]
    data = json.loads(alarm["StateReasonData"])
    assert data["statistic"] == "p99" and max(data["recentDatapoints"]) > 150

    now = cloud.clock.now()
    stats = aws("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Duration",
        Dimensions=[{"Name": "FunctionName", "Value": name}],
        StartTime=datetime.fromtimestamp(now - 3600, UTC),
        EndTime=datetime.fromtimestamp(now + 60, UTC),
        Period=60,
        ExtendedStatistics=["p99", "p50"],
    )
    percentiles = [p["ExtendedStatistics"] for p in stats["Datapoints"]]
    assert percentiles and all(set(p) == {"p99", "p50"} for p in percentiles)
    assert max(p["p99"] for p in percentiles) > 150


def _child(aws: AwsFactory, name: str) -> None:
    aws("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace=f"Test/{name}",
        MetricName="Failures",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=3.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        TreatMissingData="notBreaching",
    )


def test_composite_alarm_follows_its_children_and_notifies(
    cloud: LocalCloud, aws: AwsFactory, topic_queue: tuple[str, str]
) -> None:
    """ALARM("a") OR ALARM("b"): a child's breach moves it to ALARM with AWS's composite notification."""
    topic, queue = topic_queue
    cloudwatch = aws("cloudwatch")
    _child(aws, "child-a")
    _child(aws, "child-b")
    rule = 'ALARM("child-a") OR ALARM(child-b)'
    cloudwatch.put_composite_alarm(
        AlarmName="unhealthy",
        AlarmRule=rule,
        AlarmDescription="a or b",
        AlarmActions=[topic],
        OKActions=[topic],
    )
    scheduler = AlarmScheduler.of(cloud)
    after = len(scheduler.transitions)
    described = cloudwatch.describe_alarms(AlarmNames=["unhealthy"], AlarmTypes=["CompositeAlarm"])
    assert described["CompositeAlarms"][0]["AlarmRule"] == rule

    cloudwatch.put_metric_data(
        Namespace="Test/child-a",
        MetricData=[
            {
                "MetricName": "Failures",
                "Value": 5.0,
                "Timestamp": datetime.fromtimestamp(cloud.clock.now(), UTC),
            }
        ],
    )
    fired = scheduler.wait_for("unhealthy", "ALARM", WAIT, after=after)
    assert fired is not None
    child = cloudwatch.describe_alarms(AlarmNames=["child-a"])["MetricAlarms"][0]
    composite = cloudwatch.describe_alarms(AlarmNames=["unhealthy"])["CompositeAlarms"][0]
    assert composite["StateValue"] == "ALARM"
    assert composite["StateReason"].startswith(f"{child['AlarmArn']} transitioned to ALARM at ")
    assert composite["StateReason"].endswith(" UTC")

    # SetAlarmState on a child is a change of state too: the composite follows at once.
    cloudwatch.set_alarm_state(AlarmName="child-a", StateValue="OK", StateReason="manual")
    assert scheduler.wait_for("unhealthy", "OK", WAIT, after=after) is not None

    envelopes = _messages(aws, queue, "unhealthy")
    messages = [json.loads(e["Message"]) for e in envelopes]
    assert [m["NewStateValue"] for m in messages][-2:] == ["ALARM", "OK"]
    alarm_message = next(m for m in messages if m["NewStateValue"] == "ALARM")
    assert "Trigger" not in alarm_message and alarm_message["AlarmRule"] == rule
    assert alarm_message["TriggeringChildren"][0]["Arn"] == child["AlarmArn"]
    assert alarm_message["TriggeringChildren"][0]["State"]["Value"] == "ALARM"
    envelope = envelopes[[m["NewStateValue"] for m in messages].index("ALARM")]
    assert envelope["Subject"] == 'ALARM: "unhealthy" in US East (N. Virginia)'
    [parsed] = parse_event({"Records": [{"EventSource": "aws:sns", "Sns": envelope}]})
    assert isinstance(parsed, AlarmNotification)
    assert parsed.kind == "composite" and parsed.trigger.alarm_rule == rule


def test_composite_alarm_with_a_missing_child_is_refused(aws: AwsFactory) -> None:
    """PutCompositeAlarm refuses a rule naming an alarm that does not exist, and a malformed rule."""
    cloudwatch = aws("cloudwatch")
    with pytest.raises(cloudwatch.exceptions.ClientError, match="do not exist"):
        cloudwatch.put_composite_alarm(AlarmName="orphan", AlarmRule="ALARM(nope)")
    with pytest.raises(cloudwatch.exceptions.ClientError, match="alarm rule"):
        cloudwatch.put_composite_alarm(AlarmName="orphan", AlarmRule="ALARM(")


def test_unsupported_expression_is_insufficient_data_with_a_reason(
    cloud: LocalCloud, aws: AwsFactory
) -> None:
    """An expression the local cloud cannot evaluate is never skipped silently: its reason names it."""
    aws("cloudwatch").put_metric_alarm(
        AlarmName="search-alarm",
        Metrics=[
            {
                "Id": "e1",
                "Expression": "SUM(SEARCH('{AWS/Lambda} Errors', 'Sum', 60))",
                "ReturnData": True,
                "Period": 60,
            }
        ],
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    deadline = time.monotonic() + WAIT
    alarm: dict[str, Any] = {}
    while time.monotonic() < deadline:
        alarm = aws("cloudwatch").describe_alarms(AlarmNames=["search-alarm"])["MetricAlarms"][0]
        if alarm["StateReason"].startswith("Unsupported"):
            break
        time.sleep(0.2)
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateReason"].startswith("Unsupported in the local cloud: ")
    assert "SUM()" in alarm["StateReason"]
