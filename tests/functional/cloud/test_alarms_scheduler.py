"""Alarm evaluation, actions and history in a running LocalCloud (time scale 60: a minute is a second)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from selfheal.cloud import LocalCloud
from selfheal.cloud.alarm_scheduler import AlarmScheduler

CLOUD_TIME_SCALE = 60.0
# Transitions are asserted within half a real second of their boundary: run alone (make test).
pytestmark = pytest.mark.serial
WAIT = 15.0

AwsFactory = Callable[[str], Any]


@pytest.fixture(scope="module")
def topic_queue(aws: AwsFactory) -> tuple[str, str]:
    """An SNS topic and the SQS queue subscribed to it."""
    sns, sqs = aws("sns"), aws("sqs")
    topic = sns.create_topic(Name="alarm-test-topic")["TopicArn"]
    queue = sqs.create_queue(QueueName="alarm-test-queue")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, queue


def _alarm(aws: AwsFactory, name: str, topic: str, **overrides: Any) -> None:
    params: dict[str, Any] = {
        "AlarmName": name,
        "Namespace": f"Test/{name}",
        "MetricName": "Failures",
        "Dimensions": [{"Name": "Service", "Value": name}],
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 1,
        "Threshold": 3.0,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "TreatMissingData": "notBreaching",
        "AlarmActions": [topic],
        "OKActions": [topic],
    }
    params.update(overrides)
    aws("cloudwatch").put_metric_alarm(**params)


def _put(aws: AwsFactory, cloud: LocalCloud, name: str, value: float) -> None:
    aws("cloudwatch").put_metric_data(
        Namespace=f"Test/{name}",
        MetricData=[
            {
                "MetricName": "Failures",
                "Dimensions": [{"Name": "Service", "Value": name}],
                "Value": value,
                "Timestamp": datetime.fromtimestamp(cloud.clock.now(), UTC),
            }
        ],
    )


def _state(aws: AwsFactory, name: str) -> dict[str, Any]:
    alarm: dict[str, Any] = aws("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    return alarm


def _messages(aws: AwsFactory, queue: str, alarm_name: str) -> list[dict[str, Any]]:
    """Drain the queue and return the alarm notifications (SNS envelopes) about ``alarm_name``."""
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


def test_new_alarm_starts_insufficient_data(aws: AwsFactory, topic_queue: tuple[str, str]) -> None:
    """A freshly created alarm is INSUFFICIENT_DATA, as on AWS (moto alone says OK)."""
    _alarm(aws, "fresh", topic_queue[0])
    alarm = _state(aws, "fresh")
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateReason"] == "Unchecked: Initial alarm creation"


def test_breach_goes_to_alarm_on_the_boundary_and_notifies(
    cloud: LocalCloud, aws: AwsFactory, topic_queue: tuple[str, str]
) -> None:
    """Breaching data moves the alarm to ALARM at the period boundary and publishes AWS's notification."""
    topic, queue = topic_queue
    scheduler = AlarmScheduler.of(cloud)
    _alarm(aws, "breach", topic)
    _put(aws, cloud, "breach", 5.0)
    transition = scheduler.wait_for("breach", "ALARM", WAIT)
    assert transition is not None and transition.boundary is not None
    assert transition.boundary % 60 == 0
    # Scheduled on the boundary, not polled: the lag is a grace of tens of milliseconds, not a period.
    assert transition.real_time - cloud.clock.to_real(transition.boundary) < 0.5

    alarm = _state(aws, "breach")
    assert alarm["StateValue"] == "ALARM"
    # No DatapointsToAlarm: AWS's short form ("1 datapoint [...] was ..."), not "1 out of the last 1".
    assert alarm["StateReason"].startswith("Threshold Crossed: 1 datapoint [5.0 (")
    assert alarm["StateReason"].endswith(")] was greater than or equal to the threshold (3.0).")
    assert json.loads(alarm["StateReasonData"])["recentDatapoints"] == [5.0]
    assert abs(alarm["StateUpdatedTimestamp"].timestamp() - transition.timestamp) < 0.01

    envelopes = _messages(aws, queue, "breach")
    assert [e["Subject"] for e in envelopes] == ['ALARM: "breach" in US East (N. Virginia)']
    message = json.loads(envelopes[0]["Message"])
    assert (message["OldStateValue"], message["NewStateValue"]) == ("INSUFFICIENT_DATA", "ALARM")
    assert message["Trigger"]["Dimensions"] == [{"value": "breach", "name": "Service"}]
    assert message["AlarmArn"] == alarm["AlarmArn"]


def test_set_alarm_state_runs_the_new_states_actions(
    cloud: LocalCloud, aws: AwsFactory, topic_queue: tuple[str, str]
) -> None:
    """SetAlarmState fires the actions of the new state, as on AWS."""
    topic, queue = topic_queue
    _alarm(aws, "manual", topic, Period=3600)
    aws("cloudwatch").set_alarm_state(AlarmName="manual", StateValue="ALARM", StateReason="testing actions")
    envelopes = _messages(aws, queue, "manual")
    assert len(envelopes) == 1
    message = json.loads(envelopes[0]["Message"])
    assert message["NewStateReason"] == "testing actions"
    assert message["NewStateValue"] == "ALARM"


def test_disabled_actions_do_not_publish(aws: AwsFactory, topic_queue: tuple[str, str]) -> None:
    """With ActionsEnabled false, a transition publishes nothing."""
    topic, queue = topic_queue
    _alarm(aws, "quiet", topic, Period=3600, ActionsEnabled=False)
    aws("cloudwatch").set_alarm_state(AlarmName="quiet", StateValue="ALARM", StateReason="quiet")
    assert _state(aws, "quiet")["StateValue"] == "ALARM"
    assert _messages(aws, queue, "quiet") == []


def test_updating_an_alarm_keeps_its_state(aws: AwsFactory, topic_queue: tuple[str, str]) -> None:
    """PutMetricAlarm on an existing alarm changes its configuration, not its state."""
    topic, _ = topic_queue
    _alarm(aws, "updated", topic, Period=3600)
    aws("cloudwatch").set_alarm_state(AlarmName="updated", StateValue="OK", StateReason="set")
    _alarm(aws, "updated", topic, Period=3600, Threshold=10.0)
    alarm = _state(aws, "updated")
    assert (alarm["StateValue"], alarm["StateReason"], alarm["Threshold"]) == ("OK", "set", 10.0)


def test_alarm_history_is_served(aws: AwsFactory, topic_queue: tuple[str, str]) -> None:
    """DescribeAlarmHistory returns the creation, the state update and the action, newest first."""
    topic, _ = topic_queue
    _alarm(aws, "historic", topic, Period=3600)
    cloudwatch = aws("cloudwatch")
    cloudwatch.set_alarm_state(AlarmName="historic", StateValue="ALARM", StateReason="history")
    items = cloudwatch.describe_alarm_history(AlarmName="historic")["AlarmHistoryItems"]
    assert {i["HistoryItemType"] for i in items} == {"ConfigurationUpdate", "StateUpdate", "Action"}
    update = next(i for i in items if i["HistoryItemType"] == "StateUpdate")
    assert update["HistorySummary"] == "Alarm updated from INSUFFICIENT_DATA to ALARM"
    assert json.loads(update["HistoryData"])["newState"]["stateReason"] == "history"
    assert items[-1]["HistoryItemType"] == "ConfigurationUpdate"
    only_updates = cloudwatch.describe_alarm_history(AlarmName="historic", HistoryItemType="StateUpdate")
    assert [i["HistoryItemType"] for i in only_updates["AlarmHistoryItems"]] == ["StateUpdate"]


def test_missing_data_breaching_alarms_without_any_datapoint(
    cloud: LocalCloud, aws: AwsFactory, topic_queue: tuple[str, str]
) -> None:
    """With TreatMissingData=breaching and no data at all, the next evaluation goes to ALARM."""
    scheduler = AlarmScheduler.of(cloud)
    _alarm(aws, "silent", topic_queue[0], TreatMissingData="breaching")
    transition = scheduler.wait_for("silent", "ALARM", WAIT)
    assert transition is not None
    assert transition.reason == (
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was "
        "treated as [Breaching]."
    )


def test_datapoints_to_alarm_keeps_the_m_out_of_n_reason(
    cloud: LocalCloud, aws: AwsFactory, topic_queue: tuple[str, str]
) -> None:
    """With DatapointsToAlarm set, the reason is AWS's M out of N form."""
    scheduler = AlarmScheduler.of(cloud)
    _alarm(aws, "m-of-n", topic_queue[0], DatapointsToAlarm=1)
    _put(aws, cloud, "m-of-n", 5.0)
    transition = scheduler.wait_for("m-of-n", "ALARM", WAIT)
    assert transition is not None
    assert transition.reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints [5.0 (")
    assert transition.reason.endswith("(minimum 1 datapoint for OK -> ALARM transition).")


def test_state_transitioned_timestamp_moves_only_when_the_state_value_changes(
    cloud: LocalCloud, aws: AwsFactory, topic_queue: tuple[str, str]
) -> None:
    """DescribeAlarms gives StateTransitionedTimestamp: "the date and time that the alarm's StateValue most
    recently changed" (CloudWatch API reference, MetricAlarm); a new reason alone moves only
    StateUpdatedTimestamp."""
    cloudwatch = aws("cloudwatch")
    _alarm(aws, "transitioned", topic_queue[0], Period=3600, ActionsEnabled=False)
    created = _state(aws, "transitioned")
    assert created["StateTransitionedTimestamp"] == created["StateUpdatedTimestamp"]

    cloudwatch.set_alarm_state(AlarmName="transitioned", StateValue="ALARM", StateReason="first")
    first = _state(aws, "transitioned")
    assert first["StateTransitionedTimestamp"] == first["StateUpdatedTimestamp"]
    assert first["StateTransitionedTimestamp"] > created["StateTransitionedTimestamp"]

    _wait_cloud_seconds(cloud, 2.0)
    cloudwatch.set_alarm_state(AlarmName="transitioned", StateValue="ALARM", StateReason="same state")
    same = _state(aws, "transitioned")
    assert same["StateReason"] == "same state"
    assert same["StateUpdatedTimestamp"] > first["StateUpdatedTimestamp"]
    assert same["StateTransitionedTimestamp"] == first["StateTransitionedTimestamp"]

    _alarm(aws, "transitioned", topic_queue[0], Period=3600, ActionsEnabled=False, Threshold=9.0)
    assert _state(aws, "transitioned")["StateTransitionedTimestamp"] == first["StateTransitionedTimestamp"]

    _wait_cloud_seconds(cloud, 2.0)
    cloudwatch.set_alarm_state(AlarmName="transitioned", StateValue="OK", StateReason="back")
    back = _state(aws, "transitioned")
    assert back["StateTransitionedTimestamp"] == back["StateUpdatedTimestamp"]
    assert back["StateTransitionedTimestamp"] > first["StateTransitionedTimestamp"]


def _wait_cloud_seconds(cloud: LocalCloud, seconds: float) -> None:
    target = cloud.clock.now() + seconds
    while cloud.clock.now() < target:
        cloud.clock.sleep(0.5)
