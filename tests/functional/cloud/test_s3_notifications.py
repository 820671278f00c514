"""S3 in the local cloud: Lambda code from S3, object events delivered to Lambda, bucket policies."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from selfheal.cloud import LocalCloud
from selfheal.cloud.s3_notifications import S3Notifications

AwsFactory = Any

pytestmark = pytest.mark.timeout(120)

FORWARDER = """
import json, os
import boto3

def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(event))
    return "forwarded"
"""


def _messages(sqs: Any, url: str, count: int, deadline: float = 30.0) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    end = time.monotonic() + deadline
    while len(found) < count and time.monotonic() < end:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        found += [json.loads(m["Body"]) for m in got.get("Messages", [])]
    return found


def test_code_from_s3_and_object_events(
    cloud: LocalCloud, aws: AwsFactory, lambda_role: str, lambda_zip: Any
) -> None:
    """A function whose code is an S3 object runs; S3 refuses a destination that may not be invoked and
    then delivers matching PutObject events, in AWS's shape, to the function asynchronously."""
    s3, lam, sqs = aws("s3"), aws("lambda"), aws("sqs")
    url = sqs.create_queue(QueueName="s3-events")["QueueUrl"]
    s3.create_bucket(Bucket="code-bucket")
    s3.put_object(Bucket="code-bucket", Key="forwarder.zip", Body=lambda_zip(files={"app.py": FORWARDER}))
    arn = lam.create_function(
        FunctionName="on-upload",
        Runtime="python3.11",
        Role=lambda_role,
        Handler="app.handler",
        Code={"S3Bucket": "code-bucket", "S3Key": "forwarder.zip"},
        Environment={"Variables": {"QUEUE_URL": url}},
    )["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName="on-upload", WaiterConfig={"Delay": 0.05})
    result = lam.invoke(FunctionName="on-upload", Payload=b'{"direct": true}')
    assert "FunctionError" not in result and json.loads(result["Payload"].read()) == "forwarded"
    assert _messages(sqs, url, 1) == [{"direct": True}]

    s3.create_bucket(Bucket="uploads")
    config = {
        "LambdaFunctionConfigurations": [
            {
                "Id": "csv-uploads",
                "LambdaFunctionArn": arn,
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {
                    "Key": {
                        "FilterRules": [
                            {"Name": "prefix", "Value": "incoming/"},
                            {"Name": "suffix", "Value": ".csv"},
                        ]
                    }
                },
            }
        ]
    }
    with pytest.raises(ClientError) as refused:
        s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration=config)
    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidArgument"
    assert "Unable to validate the following destination configurations" in error["Message"]
    assert (
        s3.get_bucket_notification_configuration(Bucket="uploads").get("LambdaFunctionConfigurations") is None
    )

    lam.add_permission(
        FunctionName="on-upload",
        StatementId="s3-other-bucket",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::another-bucket",
    )
    with pytest.raises(ClientError):  # a permission for another bucket does not validate this one
        s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration=config)
    lam.add_permission(
        FunctionName="on-upload",
        StatementId="s3-uploads",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::uploads",
        SourceAccount=cloud.account_id,
    )
    s3.put_bucket_notification_configuration(Bucket="uploads", NotificationConfiguration=config)

    s3.put_object(Bucket="uploads", Key="incoming/report.csv", Body=b"a,b\n1,2\n")
    s3.put_object(Bucket="uploads", Key="incoming/report.txt", Body=b"no")  # suffix does not match
    s3.put_object(Bucket="uploads", Key="other/report.csv", Body=b"no")  # prefix does not match
    s3.put_object(Bucket="uploads", Key="incoming/second.csv", Body=b"x")
    events = _messages(sqs, url, 2)
    records = sorted((e["Records"][0] for e in events), key=lambda r: r["s3"]["object"]["key"])
    assert [r["s3"]["object"]["key"] for r in records] == ["incoming/report.csv", "incoming/second.csv"]
    first = records[0]
    assert (first["eventSource"], first["eventName"], first["eventVersion"]) == (
        "aws:s3",
        "ObjectCreated:Put",
        "2.1",
    )
    assert first["awsRegion"] == cloud.region
    assert first["s3"]["configurationId"] == "csv-uploads"
    assert first["s3"]["bucket"]["name"] == "uploads"
    assert first["s3"]["bucket"]["arn"] == "arn:aws:s3:::uploads"
    head = s3.head_object(Bucket="uploads", Key="incoming/report.csv")
    assert first["s3"]["object"]["size"] == 8
    assert first["s3"]["object"]["eTag"] == head["ETag"].strip('"')
    assert "versionId" not in first["s3"]["object"]  # an unversioned bucket
    assert first["s3"]["object"]["sequencer"] != records[1]["s3"]["object"]["sequencer"]
    deliveries = S3Notifications.of(cloud).delivered()
    assert sorted(d.key for d in deliveries) == ["incoming/report.csv", "incoming/second.csv"]
    assert all(d.request_id and d.error is None for d in deliveries)


def test_bucket_policy_conditions_are_evaluated(aws: AwsFactory) -> None:
    """A TLS-only Deny lets the loopback endpoint's requests through; an unconditional Deny refuses them."""
    s3 = aws("s3")
    s3.create_bucket(Bucket="guarded")

    def policy(condition: dict[str, Any] | None) -> str:
        statement: dict[str, Any] = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::guarded", "arn:aws:s3:::guarded/*"],
        }
        if condition:
            statement["Condition"] = condition
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    s3.put_bucket_policy(Bucket="guarded", Policy=policy({"Bool": {"aws:SecureTransport": "false"}}))
    s3.put_object(Bucket="guarded", Key="k", Body=b"v")
    assert s3.get_object(Bucket="guarded", Key="k")["Body"].read() == b"v"
    s3.put_bucket_policy(Bucket="guarded", Policy=policy(None))
    with pytest.raises(ClientError) as denied:
        s3.put_object(Bucket="guarded", Key="k", Body=b"w")
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    s3.delete_bucket_policy(Bucket="guarded")
    assert s3.get_object(Bucket="guarded", Key="k")["Body"].read() == b"v"
