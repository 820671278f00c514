"""SNS delivery in a running LocalCloud: Lambda gets AWS's event asynchronously, SQS once, others recorded."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from polling import receive_messages
from selfheal.cloud import LocalCloud
from selfheal.cloud.sns_delivery import SnsDelivery

AwsFactory = Callable[[str], Any]
FunctionFactory = Callable[..., str]
WAIT = 20.0

FORWARDER = """
import json
import os

import boto3


def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["OUT_QUEUE"], MessageBody=json.dumps(event))
    return {"ok": True}
"""


def _queue(aws: AwsFactory, name: str) -> tuple[str, str]:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _receive(aws: AwsFactory, url: str, count: int, timeout: float = WAIT) -> list[str]:
    """Receive ``count`` message bodies within ``timeout`` real seconds (fewer if they never come)."""
    return [m["Body"] for m in receive_messages(aws("sqs"), url, count, timeout)]


@pytest.fixture(scope="module")
def forwarder(aws: AwsFactory, make_function: FunctionFactory) -> tuple[str, str]:
    """A function that copies every event it gets into a queue; returns (function ARN, queue URL)."""
    url, _ = _queue(aws, "forwarded-events")
    name = make_function("sns-forwarder", FORWARDER, variables={"OUT_QUEUE": url}, timeout=10)
    arn = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    return arn, url


def test_lambda_subscriber_gets_the_sns_event(aws: AwsFactory, forwarder: tuple[str, str]) -> None:
    """A publish reaches a lambda subscriber as one Records[0].Sns event in AWS's shape."""
    function_arn, out = forwarder
    sns = aws("sns")
    topic = sns.create_topic(Name="to-lambda")["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)["SubscriptionArn"]
    message_id = sns.publish(TopicArn=topic, Message="hello", Subject="greeting")["MessageId"]

    bodies = _receive(aws, out, 1)
    assert len(bodies) == 1
    record = json.loads(bodies[0])["Records"][0]
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == subscription
    sns_part = record["Sns"]
    assert list(sns_part) == [
        "Type",
        "MessageId",
        "TopicArn",
        "Subject",
        "Message",
        "Timestamp",
        "SignatureVersion",
        "Signature",
        "SigningCertUrl",
        "UnsubscribeUrl",
        "MessageAttributes",
    ]
    assert (sns_part["Type"], sns_part["MessageId"], sns_part["TopicArn"]) == (
        "Notification",
        message_id,
        topic,
    )
    assert (sns_part["Subject"], sns_part["Message"]) == ("greeting", "hello")
    assert sns_part["SignatureVersion"] == "1"
    assert sns_part["Timestamp"].endswith("Z") and len(sns_part["Timestamp"]) == len(
        "2026-11-23T19:52:00.000Z"
    )
    assert sns_part["MessageAttributes"] == {}


def test_filter_policy_applies_to_lambda(aws: AwsFactory, forwarder: tuple[str, str]) -> None:
    """A lambda subscriber with a filter policy gets only the matching messages."""
    function_arn, out = forwarder
    sns = aws("sns")
    topic = sns.create_topic(Name="filtered")["TopicArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="lambda",
        Endpoint=function_arn,
        Attributes={"FilterPolicy": json.dumps({"kind": ["wanted"]})},
    )
    for kind in ("unwanted", "wanted"):
        sns.publish(
            TopicArn=topic,
            Message=kind,
            MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}},
        )
    bodies = _receive(aws, out, 2, timeout=3.0)
    messages = [json.loads(b)["Records"][0]["Sns"] for b in bodies]
    assert [m["Message"] for m in messages] == ["wanted"]
    assert messages[0]["MessageAttributes"] == {"kind": {"Type": "String", "Value": "wanted"}}


def test_sqs_subscriber_gets_one_copy(cloud: LocalCloud, aws: AwsFactory) -> None:
    """An sqs subscriber gets the message once, from moto, and is not recorded as another delivery."""
    url, arn = _queue(aws, "sns-copy")
    sns = aws("sns")
    topic = sns.create_topic(Name="to-sqs")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="once")
    bodies = _receive(aws, url, 2, timeout=1.0)
    assert [json.loads(b)["Message"] for b in bodies] == ["once"]
    assert not [d for d in SnsDelivery.of(cloud).delivered() if d.topic_arn == topic]


def test_other_protocols_are_recorded_not_sent(cloud: LocalCloud, aws: AwsFactory) -> None:
    """An https subscriber is recorded by the component; nothing leaves the machine."""
    sns = aws("sns")
    topic = sns.create_topic(Name="to-https")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="https", Endpoint="https://example.invalid/hook")
    message_id = sns.publish(TopicArn=topic, Message="recorded")["MessageId"]
    recorded = [d for d in SnsDelivery.of(cloud).delivered("https") if d.topic_arn == topic]
    assert [(d.endpoint, d.message_id, d.message) for d in recorded] == [
        ("https://example.invalid/hook", message_id, "recorded")
    ]
