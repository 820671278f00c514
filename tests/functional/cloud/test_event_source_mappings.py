"""SQS event source mappings in a LocalCloud: batches delivered and deleted, failures redriven, partial
batch responses, disabling and enabling, and the healer's disable_event_source against them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from healer.actions.disable_event_source import DisableEventSource
from healer.actions.model import Target
from healer.clock import ScaledClock
from polling import eventually
from selfheal.cloud import LocalCloud
from selfheal.cloud.lambda_event_sources import EventSourceMappings
from selfheal.cloud.lambda_sqs_poller import failed_items

AwsFactory = Callable[..., Any]
FunctionFactory = Callable[..., str]
pytestmark = pytest.mark.timeout(180)

CLOUD_TIME_SCALE = 30.0  # a 30 s visibility timeout is one real second

# Forwards what it got to OUT_URL (one message per invocation); fails on bodies starting with "bad"
# (raising, or listing them as batchItemFailures when PARTIAL is set).
FORWARD = """
import json, os
import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    records = event["Records"]
    bad = [r["messageId"] for r in records if r["body"].startswith("bad")]
    sqs.send_message(QueueUrl=os.environ["OUT_URL"], MessageBody=json.dumps(records))
    if bad and os.environ.get("PARTIAL"):
        return {"batchItemFailures": [{"itemIdentifier": i} for i in bad]}
    if bad:
        raise RuntimeError("bad message")
    return {"ok": len(records)}
"""


def _wait(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    return eventually(predicate, timeout, what, interval=0.05)


class Queues:
    """Queues of one test: create them, count their messages, drain the output queue."""

    def __init__(self, aws: AwsFactory) -> None:
        self.sqs = aws("sqs")

    def create(self, name: str, **attributes: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, arn

    def counts(self, url: str) -> tuple[int, int]:
        got = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(got["ApproximateNumberOfMessages"]), int(got["ApproximateNumberOfMessagesNotVisible"])

    def drain(self, url: str) -> list[list[dict[str, Any]]]:
        """Every batch the forwarding function has sent so far, deleted from the output queue."""
        batches: list[list[dict[str, Any]]] = []
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                return batches
            for message in got:
                batches.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture(scope="module")
def queues(aws: AwsFactory) -> Queues:
    return Queues(aws)


def _function(make_function: FunctionFactory, queues: Queues, name: str, **variables: str) -> tuple[str, str]:
    out_url, _ = queues.create(f"{name}-out")
    make_function(name, FORWARD, variables={"OUT_URL": out_url, **variables})
    return name, out_url


def _state(aws: AwsFactory, uuid: str) -> str:
    return str(aws("lambda").get_event_source_mapping(UUID=uuid)["State"])


def _settled(aws: AwsFactory, uuid: str, state: str) -> None:
    _wait(lambda: _state(aws, uuid) == state, what=f"mapping {uuid} {state}")


def _bodies(batches: list[list[dict[str, Any]]]) -> list[str]:
    return sorted(record["body"] for batch in batches for record in batch)


def test_batches_are_delivered_in_aws_shape_and_deleted(
    cloud: LocalCloud, aws: AwsFactory, make_function: FunctionFactory, queues: Queues
) -> None:
    """SendMessage on a mapped queue answers 200; messages reach the function in batches of at most
    BatchSize, in SQS's event shape, once each, and leave the queue."""
    function, out_url = _function(make_function, queues, "esm-batches")
    url, arn = queues.create("esm-batches-in")
    lam = aws("lambda")
    created = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=function, BatchSize=5, MaximumBatchingWindowInSeconds=3
    )
    assert created["State"] == "Creating" and created["BatchSize"] == 5
    _settled(aws, created["UUID"], "Enabled")
    assert lam.get_event_source_mapping(UUID=created["UUID"])["StateTransitionReason"] == "USER_INITIATED"

    sqs = queues.sqs
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="m-0",
        MessageAttributes={"team": {"DataType": "String", "StringValue": "sre"}},
    )
    assert sent["ResponseMetadata"]["HTTPStatusCode"] == 200
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m-{i}"} for i in range(1, 11)]
    )
    for i in range(11, 13):
        sqs.send_message(QueueUrl=url, MessageBody=f"m-{i}")

    batches: list[list[dict[str, Any]]] = []

    def all_delivered() -> bool:
        batches.extend(queues.drain(out_url))
        return len(_bodies(batches)) >= 13

    _wait(all_delivered, what="13 messages delivered")
    _wait(lambda: queues.counts(url) == (0, 0), what="the queue emptied")
    time.sleep(0.3)
    batches.extend(queues.drain(out_url))
    assert _bodies(batches) == sorted(f"m-{i}" for i in range(13))  # each once
    assert all(1 <= len(batch) <= 5 for batch in batches)
    assert EventSourceMappings.of(cloud).batches(created["UUID"]) == len(batches)

    first = next(r for batch in batches for r in batch if r["body"] == "m-0")
    assert set(first) == {
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody",
        "eventSource", "eventSourceARN", "awsRegion",
    }  # fmt: skip
    assert (first["eventSource"], first["eventSourceARN"], first["awsRegion"]) == (
        "aws:sqs",
        arn,
        cloud.region,
    )
    assert first["messageId"] == sent["MessageId"] and first["md5OfBody"] == sent["MD5OfMessageBody"]
    assert first["attributes"]["ApproximateReceiveCount"] == "1"
    assert abs(int(first["attributes"]["SentTimestamp"]) / 1000 - cloud.clock.now()) < 600
    assert first["messageAttributes"] == {
        "team": {"stringValue": "sre", "stringListValues": [], "binaryListValues": [], "dataType": "String"}
    }
    lam.delete_event_source_mapping(UUID=created["UUID"])


def test_a_failing_function_s_messages_reappear_and_land_in_the_dead_letter_queue(
    aws: AwsFactory, make_function: FunctionFactory, queues: Queues
) -> None:
    """On a function error nothing is deleted: each message is received maxReceiveCount times, then
    redriven to the DLQ; none is lost."""
    function, out_url = _function(make_function, queues, "esm-failing")
    dlq_url, dlq_arn = queues.create("esm-failing-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url, arn = queues.create("esm-failing-in", VisibilityTimeout="30", RedrivePolicy=redrive)
    uuid = aws("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName=function, BatchSize=10)[
        "UUID"
    ]
    for i in range(3):
        queues.sqs.send_message(QueueUrl=url, MessageBody=f"bad-{i}")

    _wait(lambda: queues.counts(dlq_url)[0] == 3, what="3 messages in the DLQ")
    assert queues.counts(url) == (0, 0)
    delivered = _bodies(queues.drain(out_url))
    assert delivered.count("bad-0") == 2 and sorted(set(delivered)) == ["bad-0", "bad-1", "bad-2"]
    got = queues.sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == ["bad-0", "bad-1", "bad-2"]
    aws("lambda").delete_event_source_mapping(UUID=uuid)


def test_report_batch_item_failures_keeps_only_the_failed_messages(
    aws: AwsFactory, make_function: FunctionFactory, queues: Queues
) -> None:
    """With ReportBatchItemFailures the batch's successes are deleted and only the listed failures come
    back (and are redriven after maxReceiveCount)."""
    function, out_url = _function(make_function, queues, "esm-partial", PARTIAL="1")
    dlq_url, dlq_arn = queues.create("esm-partial-dlq")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url, arn = queues.create("esm-partial-in", RedrivePolicy=redrive)
    lam = aws("lambda")
    uuid = lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=function,
        BatchSize=10,
        MaximumBatchingWindowInSeconds=10,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )["UUID"]
    assert lam.get_event_source_mapping(UUID=uuid)["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queues.sqs.send_message_batch(
        QueueUrl=url,
        Entries=[{"Id": body, "MessageBody": body} for body in ("good-1", "bad-1", "good-2", "good-3")],
    )
    _wait(lambda: queues.counts(dlq_url)[0] == 1, what="the failed message in the DLQ")
    assert queues.counts(url) == (0, 0)
    delivered = _bodies(queues.drain(out_url))
    assert delivered == ["bad-1", "bad-1", "good-1", "good-2", "good-3"]
    lam.delete_event_source_mapping(UUID=uuid)


def test_disabling_stops_delivery_and_keeps_the_messages_enabling_resumes(
    aws: AwsFactory, make_function: FunctionFactory, queues: Queues
) -> None:
    """Enabled=false: Disabling, then Disabled; messages stay in the queue; Enabled=true delivers them."""
    function, out_url = _function(make_function, queues, "esm-toggle")
    url, arn = queues.create("esm-toggle-in")
    lam = aws("lambda")
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function)["UUID"]
    _settled(aws, uuid, "Enabled")
    assert lam.update_event_source_mapping(UUID=uuid, Enabled=False)["State"] == "Disabling"
    _settled(aws, uuid, "Disabled")
    for i in range(3):
        queues.sqs.send_message(QueueUrl=url, MessageBody=f"m-{i}")
    time.sleep(1.0)
    assert queues.counts(url) == (3, 0)
    assert queues.drain(out_url) == []

    assert lam.update_event_source_mapping(UUID=uuid, Enabled=True)["State"] == "Enabling"
    _settled(aws, uuid, "Enabled")
    _wait(lambda: queues.counts(url) == (0, 0), what="the queue drained")
    batches = _wait(lambda: queues.drain(out_url), what="the batch")
    assert _bodies(batches) == ["m-0", "m-1", "m-2"]

    updated = lam.update_event_source_mapping(UUID=uuid, BatchSize=2)
    assert (updated["State"], updated["BatchSize"]) == ("Updating", 2)
    _settled(aws, uuid, "Enabled")
    deleted = lam.delete_event_source_mapping(UUID=uuid)
    assert deleted["State"] == "Deleting"
    with pytest.raises(ClientError):
        lam.get_event_source_mapping(UUID=uuid)


def test_lambda_refuses_what_aws_refuses_for_sqs(
    aws: AwsFactory, make_function: FunctionFactory, queues: Queues
) -> None:
    """A second mapping of one queue and function, a big batch without a window, a visibility timeout
    shorter than the function's timeout, an unknown response type: refused with Lambda's errors."""
    function, _ = _function(make_function, queues, "esm-refused")
    _, arn = queues.create("esm-refused-in")
    _, short_arn = queues.create("esm-refused-short", VisibilityTimeout="2")
    lam = aws("lambda")
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function)["UUID"]
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"EventSourceArn": arn}, "ResourceConflictException", f"UUID {uuid}"),
        (
            {"EventSourceArn": short_arn, "BatchSize": 100},
            "InvalidParameterValueException",
            "Maximum batch window",
        ),
        (
            {"EventSourceArn": short_arn},
            "InvalidParameterValueException",
            "Queue visibility timeout: 2 seconds",
        ),
        (
            {"EventSourceArn": short_arn, "FunctionResponseTypes": ["Everything"]},
            "InvalidParameterValueException",
            "functionResponseTypes",
        ),
    ]
    for arguments, code, words in cases:
        with pytest.raises(ClientError) as refused:
            lam.create_event_source_mapping(FunctionName=function, **arguments)
        assert refused.value.response["Error"]["Code"] == code
        assert words in refused.value.response["Error"]["Message"]
    lam.delete_event_source_mapping(UUID=uuid)


def test_the_healer_s_disable_event_source_stops_the_feed_and_undo_resumes_it(
    cloud: LocalCloud, aws: AwsFactory, make_function: FunctionFactory, queues: Queues
) -> None:
    """disable_event_source plans the enabled mapping, applies UpdateEventSourceMapping(Enabled=False)
    until it reads Disabled; messages then stay queued; undo enables it and they are delivered."""
    function, out_url = _function(make_function, queues, "esm-healer")
    url, arn = queues.create("esm-healer-in")
    lam = aws("lambda")
    uuid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function)["UUID"]
    _settled(aws, uuid, "Enabled")
    clock = ScaledClock(cloud.clock.scale, cloud.clock.origin)
    action = DisableEventSource()
    plan = action.plan(lam, Target(function), "incident-1")
    assert [(c.resource, c.before, c.after) for c in plan.changes] == [
        (f"event-source-mapping:{uuid}", "Enabled", "Disabled")
    ]
    outcome = action.apply(lam, plan, clock=clock)
    assert outcome.status == "applied", outcome
    assert _state(aws, uuid) == "Disabled"
    queues.sqs.send_message(QueueUrl=url, MessageBody="held")
    time.sleep(0.5)
    assert queues.counts(url) == (1, 0)

    assert action.undo(lam, outcome.changes, clock=clock).status == "applied"
    assert _state(aws, uuid) == "Enabled"
    batches = _wait(lambda: queues.drain(out_url), what="the held message")
    assert _bodies(batches) == ["held"]
    lam.delete_event_source_mapping(UUID=uuid)


def test_fifo_batches_keep_group_order_and_carry_fifo_attributes(
    aws: AwsFactory, make_function: FunctionFactory, queues: Queues
) -> None:
    """A FIFO queue's messages arrive in order with MessageGroupId, MessageDeduplicationId and
    SequenceNumber."""
    function, out_url = _function(make_function, queues, "esm-fifo")
    url, arn = queues.create("esm-fifo-in.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    uuid = aws("lambda").create_event_source_mapping(EventSourceArn=arn, FunctionName=function)["UUID"]
    for i in range(5):
        queues.sqs.send_message(QueueUrl=url, MessageBody=f"step-{i}", MessageGroupId="g")
    records: list[dict[str, Any]] = []

    def all_delivered() -> bool:
        records.extend(r for batch in queues.drain(out_url) for r in batch)
        return len(records) >= 5

    _wait(all_delivered, what="5 FIFO messages")
    assert [r["body"] for r in records] == [f"step-{i}" for i in range(5)]
    assert {r["attributes"]["MessageGroupId"] for r in records} == {"g"}
    assert all(
        r["attributes"]["MessageDeduplicationId"] and r["attributes"]["SequenceNumber"] for r in records
    )
    _wait(lambda: queues.counts(url) == (0, 0), what="the FIFO queue emptied")
    aws("lambda").delete_event_source_mapping(UUID=uuid)


def test_partial_batch_answers_follow_lambda_s_rules() -> None:
    """Empty or null answers succeed; unknown, empty or missing identifiers fail the whole batch."""
    ids = {"a", "b"}
    assert failed_items(b"", ids) == set() and failed_items(b"null", ids) == set()
    assert failed_items(b'{"batchItemFailures": []}', ids) == set()
    assert failed_items(b'{"batchItemFailures": null}', ids) == set()
    assert failed_items(b'{"batchItemFailures": [{"itemIdentifier": "b"}]}', ids) == {"b"}
    for answer in (
        b'{"batchItemFailures": [{"itemIdentifier": "zz"}]}',
        b'{"batchItemFailures": [{"itemIdentifier": ""}]}',
        b'{"batchItemFailures": [{"itemIdentifier": null}]}',
        b'{"batchItemFailures": [{"id": "a"}]}',
        b"not json",
        b'"a string"',
    ):
        assert failed_items(answer, ids) is None, answer
