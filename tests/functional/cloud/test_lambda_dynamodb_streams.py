"""DynamoDB-stream event source mappings in a LocalCloud: records in order with their images, retries and
on-failure records, bisecting, partial batch responses, record age, disabling, and Lambda's refusals."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from polling import eventually
from selfheal.cloud import LocalCloud
from selfheal.cloud.lambda_event_sources import EventSourceMappings

AwsFactory = Callable[..., Any]
FunctionFactory = Callable[..., str]
pytestmark = pytest.mark.timeout(180)

CLOUD_TIME_SCALE = 30.0  # a 60 s record age is two real seconds
_REFUSED = itertools.count()

# Forwards each batch it got to OUT_URL; fails on records whose new image has bad=true (raising, or
# listing them as batchItemFailures when PARTIAL is set).
RECORDER = """
import json, os
import boto3

sqs = boto3.client("sqs")


def handler(event, context):
    records = event["Records"]
    sqs.send_message(QueueUrl=os.environ["OUT_URL"], MessageBody=json.dumps(records))
    bad = [
        r["dynamodb"]["SequenceNumber"]
        for r in records
        if r["dynamodb"].get("NewImage", {}).get("bad", {}).get("BOOL")
    ]
    if bad and os.environ.get("PARTIAL"):
        return {"batchItemFailures": [{"itemIdentifier": s} for s in bad]}
    if bad:
        raise RuntimeError("bad record")
    return {"ok": len(records)}
"""


def _wait(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    return eventually(predicate, timeout, what, interval=0.05)


class Harness:
    """Tables, queues and recorder functions of one test, and what the recorders saw."""

    def __init__(self, aws: AwsFactory, make_function: FunctionFactory) -> None:
        self.aws = aws
        self.sqs = aws("sqs")
        self.ddb = aws("dynamodb")
        self.lam = aws("lambda")
        self._make_function = make_function
        self._seen: dict[str, list[list[dict[str, Any]]]] = {}

    def queue(self, name: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, arn

    def table(self, name: str, view: str = "NEW_AND_OLD_IMAGES", ddb: Any = None) -> str:
        """Create a table keyed by ``id`` with a stream; its stream ARN."""
        got = (ddb or self.ddb).create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
        )
        return str(got["TableDescription"]["LatestStreamArn"])

    def function(self, name: str, **variables: str) -> str:
        out_url, _ = self.queue(f"{name}-out")
        self._make_function(name, RECORDER, variables={"OUT_URL": out_url, **variables})
        self._seen[name] = []
        return name

    def put(self, table: str, key: str, *, bad: bool = False, ddb: Any = None, **values: str) -> None:
        item: dict[str, Any] = {"id": {"S": key}, **{k: {"S": v} for k, v in values.items()}}
        if bad:
            item["bad"] = {"BOOL": True}
        got = (ddb or self.ddb).put_item(TableName=table, Item=item)
        assert got["ResponseMetadata"]["HTTPStatusCode"] == 200

    def batches(self, function: str) -> list[list[dict[str, Any]]]:
        """Every batch ``function`` has been invoked with so far, in order."""
        url = self.sqs.get_queue_url(QueueName=f"{function}-out")["QueueUrl"]
        while True:
            got = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                break
            for message in got:
                self._seen[function].append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return self._seen[function]

    def keys(self, function: str) -> list[list[str]]:
        return [[r["dynamodb"]["Keys"]["id"]["S"] for r in batch] for batch in self.batches(function)]

    def settled(self, uuid: str, state: str) -> None:
        _wait(
            lambda: self.lam.get_event_source_mapping(UUID=uuid)["State"] == state,
            what=f"mapping {uuid} {state}",
        )

    def messages(self, url: str, count: int) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []

        def more() -> bool:
            for message in self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                got.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return len(got) >= count

        _wait(more, what=f"{count} message(s) in {url}")
        return got


@pytest.fixture(scope="module")
def h(aws: AwsFactory, make_function: FunctionFactory) -> Harness:
    return Harness(aws, make_function)


def test_insert_modify_remove_reach_the_function_in_order_with_their_images(
    cloud: LocalCloud, h: Harness
) -> None:
    """Writes to a table with a NEW_AND_OLD_IMAGES stream reach the mapped function in order, in AWS's
    DynamoDB Streams event shape, and the writes themselves answer 200."""
    stream = h.table("ddbs-order")
    function = h.function("ddbs-order-fn")
    created = h.lam.create_event_source_mapping(
        EventSourceArn=stream, FunctionName=function, StartingPosition="TRIM_HORIZON", BatchSize=10
    )
    assert created["State"] == "Creating" and created["BatchSize"] == 10
    assert created["StartingPosition"] == "TRIM_HORIZON" and created["MaximumRetryAttempts"] == -1
    assert created["MaximumRecordAgeInSeconds"] == -1 and created["BisectBatchOnFunctionError"] is False
    h.settled(created["UUID"], "Enabled")

    h.put("ddbs-order", "a", colour="red")
    h.ddb.update_item(
        TableName="ddbs-order",
        Key={"id": {"S": "a"}},
        UpdateExpression="SET colour = :c",
        ExpressionAttributeValues={":c": {"S": "blue"}},
    )
    h.ddb.delete_item(TableName="ddbs-order", Key={"id": {"S": "a"}})

    _wait(lambda: sum(len(b) for b in h.batches(function)) >= 3, what="three stream records")
    records = [r for batch in h.batches(function) for r in batch]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    first = records[0]
    assert first["eventVersion"] == "1.1" and first["eventSource"] == "aws:dynamodb"
    assert first["awsRegion"] == cloud.region and first["eventSourceARN"] == stream
    assert first["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert first["dynamodb"]["Keys"] == {"id": {"S": "a"}}
    assert first["dynamodb"]["NewImage"]["colour"] == {"S": "red"} and "OldImage" not in first["dynamodb"]
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], float)
    modify, remove = records[1]["dynamodb"], records[2]["dynamodb"]
    assert modify["OldImage"]["colour"] == {"S": "red"} and modify["NewImage"]["colour"] == {"S": "blue"}
    assert remove["OldImage"]["colour"] == {"S": "blue"} and "NewImage" not in remove
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    assert EventSourceMappings.of(cloud).batches(created["UUID"]) >= 1


def test_latest_skips_what_was_written_before_and_keys_only_has_no_images(h: Harness) -> None:
    """StartingPosition LATEST delivers only records written after the mapping; KEYS_ONLY records carry
    the keys alone."""
    stream = h.table("ddbs-latest", view="KEYS_ONLY")
    function = h.function("ddbs-latest-fn")
    h.put("ddbs-latest", "before")
    created = h.lam.create_event_source_mapping(
        EventSourceArn=stream, FunctionName=function, StartingPosition="LATEST"
    )
    h.settled(created["UUID"], "Enabled")
    h.put("ddbs-latest", "after")
    _wait(lambda: h.keys(function), what="a batch")
    time.sleep(0.5)
    assert h.keys(function) == [["after"]]
    record = h.batches(function)[0][0]["dynamodb"]
    assert "NewImage" not in record and "OldImage" not in record and record["StreamViewType"] == "KEYS_ONLY"


def test_batch_size_caps_batches_and_the_window_gathers_records(h: Harness) -> None:
    """BatchSize caps each batch (in order); MaximumBatchingWindowInSeconds (cloud time) holds the first
    record until more arrive."""
    stream = h.table("ddbs-size")
    function = h.function("ddbs-size-fn")
    for i in range(5):
        h.put("ddbs-size", f"k{i}")
    h.lam.create_event_source_mapping(
        EventSourceArn=stream, FunctionName=function, StartingPosition="TRIM_HORIZON", BatchSize=2
    )
    _wait(lambda: sum(len(b) for b in h.keys(function)) >= 5, what="five records")
    assert h.keys(function) == [["k0", "k1"], ["k2", "k3"], ["k4"]]

    stream = h.table("ddbs-window")
    function = h.function("ddbs-window-fn")
    created = h.lam.create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=function,
        StartingPosition="LATEST",
        MaximumBatchingWindowInSeconds=60,
    )
    h.settled(created["UUID"], "Enabled")
    h.put("ddbs-window", "w1")
    time.sleep(0.5)  # 15 s of cloud time: inside the window
    h.put("ddbs-window", "w2")
    _wait(lambda: h.keys(function), what="the windowed batch")
    assert h.keys(function) == [["w1", "w2"]]


def test_a_failing_batch_blocks_the_shard_is_retried_then_goes_to_the_on_failure_queue(h: Harness) -> None:
    """A failing record is retried MaximumRetryAttempts times, blocking the records after it, then its
    metadata goes to the OnFailure queue in AWS's invocation record shape and the shard moves on."""
    stream = h.table("ddbs-retry")
    function = h.function("ddbs-retry-fn")
    dlq_url, dlq_arn = h.queue("ddbs-retry-dlq")
    h.put("ddbs-retry", "bad", bad=True)
    h.put("ddbs-retry", "good")
    created = h.lam.create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        BatchSize=1,
        MaximumRetryAttempts=2,
        DestinationConfig={"OnFailure": {"Destination": dlq_arn}},
    )
    assert created["DestinationConfig"] == {"OnFailure": {"Destination": dlq_arn}}
    _wait(lambda: ["good"] in h.keys(function), what="the good record")
    assert h.keys(function) == [["bad"], ["bad"], ["bad"], ["good"]]
    (record,) = h.messages(dlq_url, 1)
    assert record["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["functionArn"].endswith(f":function:{function}")
    assert record["responseContext"]["functionError"] == "Unhandled"
    info = record["DDBStreamBatchInfo"]
    bad_number = h.batches(function)[0][0]["dynamodb"]["SequenceNumber"]
    assert info["startSequenceNumber"] == info["endSequenceNumber"] == bad_number
    assert info["batchSize"] == 1 and info["streamArn"] == stream and info["shardId"].startswith("shardId-")
    assert info["approximateArrivalOfFirstRecord"].endswith("Z") and record["version"] == "1.0"


def test_bisect_splits_a_failing_batch_until_the_bad_record_is_alone(h: Harness) -> None:
    """BisectBatchOnFunctionError splits a failed batch in halves without using retries, so only the bad
    record is discarded and the others are delivered."""
    stream = h.table("ddbs-bisect")
    function = h.function("ddbs-bisect-fn")
    for key in ("g1", "g2"):
        h.put("ddbs-bisect", key)
    h.put("ddbs-bisect", "bad", bad=True)
    h.put("ddbs-bisect", "g3")
    h.lam.create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        BatchSize=4,
        BisectBatchOnFunctionError=True,
        MaximumRetryAttempts=0,
    )
    _wait(lambda: ["g3"] in h.keys(function), what="the last good record")
    assert h.keys(function) == [["g1", "g2", "bad", "g3"], ["g1", "g2"], ["bad", "g3"], ["bad"], ["g3"]]


def test_batch_item_failures_resume_from_the_first_failed_sequence_number(h: Harness) -> None:
    """With ReportBatchItemFailures the records before the first failed SequenceNumber are done and the
    retry starts at it."""
    stream = h.table("ddbs-partial")
    function = h.function("ddbs-partial-fn", PARTIAL="1")
    h.put("ddbs-partial", "g1")
    h.put("ddbs-partial", "bad", bad=True)
    h.put("ddbs-partial", "g2")
    h.lam.create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        BatchSize=3,
        MaximumRetryAttempts=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    _wait(lambda: len(h.keys(function)) >= 2, what="the retry")
    time.sleep(0.5)
    assert h.keys(function) == [["g1", "bad", "g2"], ["bad", "g2"]]
    h.put("ddbs-partial", "g3")
    _wait(lambda: ["g3"] in h.keys(function), what="the next record after the discarded ones")


def test_records_older_than_the_maximum_age_are_discarded_to_sns(h: Harness) -> None:
    """MaximumRecordAgeInSeconds (cloud time) ends the retries of a failing record: it is discarded with
    RecordAgeExceeded and the on-failure topic gets its record."""
    stream = h.table("ddbs-age")
    function = h.function("ddbs-age-fn")
    topic = h.aws("sns").create_topic(Name="ddbs-age-failures")["TopicArn"]
    url, queue_arn = h.queue("ddbs-age-sink")
    h.aws("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    h.put("ddbs-age", "bad", bad=True)
    h.lam.create_event_source_mapping(
        EventSourceArn=stream,
        FunctionName=function,
        StartingPosition="TRIM_HORIZON",
        MaximumRecordAgeInSeconds=60,
        DestinationConfig={"OnFailure": {"Destination": topic}},
    )
    (record,) = h.messages(url, 1)
    assert record["requestContext"]["condition"] == "RecordAgeExceeded"
    assert record["DDBStreamBatchInfo"]["batchSize"] == 1
    assert len(h.keys(function)) >= 2  # retried until the record was too old


def test_a_disabled_mapping_delivers_nothing_until_enabled(h: Harness) -> None:
    """Enabled=false: the mapping reports Disabled and the function gets nothing; enabling delivers what
    was written meanwhile."""
    stream = h.table("ddbs-off")
    function = h.function("ddbs-off-fn")
    created = h.lam.create_event_source_mapping(
        EventSourceArn=stream, FunctionName=function, StartingPosition="TRIM_HORIZON", Enabled=False
    )
    h.settled(created["UUID"], "Disabled")
    h.put("ddbs-off", "waiting")
    time.sleep(1.0)
    assert h.keys(function) == []
    updated = h.lam.update_event_source_mapping(UUID=created["UUID"], Enabled=True)
    assert updated["State"] == "Enabling"
    h.settled(created["UUID"], "Enabled")
    _wait(lambda: h.keys(function) == [["waiting"]], what="the record written while disabled")


def test_a_stream_in_another_region_is_polled_there(h: Harness) -> None:
    """A mapping of a stream in another region reads that region's table."""
    ddb = h.aws("dynamodb", region_name="eu-west-1")
    stream = h.table("ddbs-far", ddb=ddb)
    assert ":eu-west-1:" in stream
    function = h.function("ddbs-far-fn")
    h.lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, StartingPosition="LATEST")
    time.sleep(0.3)
    h.put("ddbs-far", "far", ddb=ddb)
    _wait(lambda: h.keys(function) == [["far"]], what="the other region's record")
    assert h.batches(function)[0][0]["awsRegion"] == "eu-west-1"


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        (
            {},
            "InvalidParameterValueException",
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: "
            "Member must not be null.",
        ),
        (
            {"StartingPosition": "TRIM_HORIZON", "BatchSize": 10001},
            "InvalidParameterValueException",
            "1 validation error detected: Value '10001' at 'batchSize' failed to satisfy constraint: "
            "Member must have value less than or equal to 10000",
        ),
        (
            {"StartingPosition": "LATEST", "ScalingConfig": {"MaximumConcurrency": 2}},
            "InvalidParameterValueException",
            "Unsupported ScalingConfig parameter for given event source mapping type.",
        ),
        (
            {"StartingPosition": "AT_TIMESTAMP", "StartingPositionTimestamp": 1},
            "InvalidParameterValueException",
            "Unsupported starting position for arn type: {stream}",
        ),
        (
            {"StartingPosition": "LATEST", "TumblingWindowInSeconds": 30},
            "InvalidParameterValueException",
            "TumblingWindowInSeconds is not supported by the selfheal local cloud",
        ),
    ],
)
def test_lambda_refuses_what_aws_refuses_for_streams(
    h: Harness, arguments: dict[str, Any], code: str, message: str
) -> None:
    """A refused stream mapping is answered with Lambda's error and text, and nothing is created."""
    n = next(_REFUSED)
    stream = h.table(f"ddbs-refused-{n}")
    function = h.function(f"ddbs-refused-fn-{n}")
    with pytest.raises(ClientError) as refused:
        h.lam.create_event_source_mapping(EventSourceArn=stream, FunctionName=function, **arguments)
    assert refused.value.response["Error"]["Code"] == code
    assert message.format(stream=stream) in refused.value.response["Error"]["Message"]
    assert h.lam.list_event_source_mappings(FunctionName=function)["EventSourceMappings"] == []


def test_a_missing_stream_a_duplicate_and_a_bad_update_are_refused(h: Harness) -> None:
    """A stream that does not exist, a second mapping of one stream and function, and an update out of
    range are refused as Lambda refuses them; the mapping keeps its settings."""
    stream = h.table("ddbs-dup")
    function = h.function("ddbs-dup-fn")
    gone = stream.replace("table/ddbs-dup/", "table/ddbs-nope/")
    with pytest.raises(ClientError) as missing:
        h.lam.create_event_source_mapping(
            EventSourceArn=gone, FunctionName=function, StartingPosition="LATEST"
        )
    assert missing.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert missing.value.response["Error"]["Message"] == f"Stream not found: {gone}"
    created = h.lam.create_event_source_mapping(
        EventSourceArn=stream, FunctionName=function, StartingPosition="LATEST"
    )
    with pytest.raises(ClientError) as duplicate:
        h.lam.create_event_source_mapping(
            EventSourceArn=stream, FunctionName=function, StartingPosition="LATEST"
        )
    assert duplicate.value.response["Error"]["Code"] == "ResourceConflictException"
    assert created["UUID"] in duplicate.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as bad_update:
        h.lam.update_event_source_mapping(UUID=created["UUID"], MaximumRetryAttempts=10001)
    assert "'maximumRetryAttempts'" in bad_update.value.response["Error"]["Message"]
    assert h.lam.get_event_source_mapping(UUID=created["UUID"])["MaximumRetryAttempts"] == -1


def test_stream_records_and_failure_records_take_aws_shapes_in_cloud_time() -> None:
    """A moto stream record becomes Lambda's event record (version 1.1, the stream's region and ARN, cloud
    epoch seconds); a discarded batch's failure record spans its first and last sequence numbers."""
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from selfheal.clock import Clock
    from selfheal.cloud.lambda_stream_poller import failure_record, stream_record

    clock = Clock(scale=10.0, origin=1_700_000_000.0, real_time=lambda: 1_700_000_100.0)
    moto_record = {
        "eventID": "e1",
        "eventName": "MODIFY",
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.0",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "StreamViewType": "NEW_IMAGE",
            "ApproximateCreationDateTime": datetime.fromtimestamp(1_700_000_010, UTC).replace(tzinfo=None),
            "SequenceNumber": "7",
            "SizeBytes": 12,
            "Keys": {"id": {"S": "a"}},
            "NewImage": {"id": {"S": "a"}},
        },
    }
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/t/stream/2026-01-01T00:00:00"
    record = stream_record(moto_record, arn, "eu-west-1", clock)
    assert (record["eventVersion"], record["awsRegion"], record["eventSourceARN"]) == (
        "1.1",
        "eu-west-1",
        arn,
    )
    assert record["dynamodb"]["ApproximateCreationDateTime"] == 1_700_000_100.0  # 10 real s = 100 cloud s
    assert moto_record["eventVersion"] == "1.0", "moto's record is left as it was"

    later = {**record, "dynamodb": {**record["dynamodb"], "SequenceNumber": "9"}}
    mapping = SimpleNamespace(
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:f", event_source_arn=arn
    )
    failure = failure_record(
        mapping=mapping,
        shard_id="shardId-1",
        batch=[record, later],
        condition="RetryAttemptsExhausted",
        attempts=3,
        function_error="Unhandled",
        clock=clock,
    )
    info = failure["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("7", "9", 2)
    assert info["approximateArrivalOfFirstRecord"] == "2023-11-14T22:15:00Z"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["responseContext"] == {
        "statusCode": 200,
        "executedVersion": "$LATEST",
        "functionError": "Unhandled",
    }
    aged = failure_record(
        mapping=mapping,
        shard_id="shardId-1",
        batch=[record],
        condition="RecordAgeExceeded",
        attempts=0,
        function_error=None,
        clock=clock,
    )
    assert "responseContext" not in aged and aged["requestContext"]["condition"] == "RecordAgeExceeded"
