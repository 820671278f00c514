"""S3 keys outside the unreserved characters (space, ``+``, ``=``, non-ASCII) through the signed endpoint:
S3 signs its path URI-encoded once, and its events carry the key URL-encoded as S3 encodes it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

AwsFactory = Any

pytestmark = pytest.mark.timeout(120)

KEYS = ("a b/c.txt", "a+b=c.txt", "ü/x y")

FORWARDER = """
import json, os
import boto3

def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(event))
"""


def test_keys_round_trip(aws: AwsFactory) -> None:
    """PutObject, HeadObject, GetObject, ListObjectsV2 (with a prefix) and DeleteObject accept the keys."""
    s3 = aws("s3")
    s3.create_bucket(Bucket="odd-keys")
    for key in KEYS:
        s3.put_object(Bucket="odd-keys", Key=key, Body=key.encode())
    for key in KEYS:
        assert s3.get_object(Bucket="odd-keys", Key=key)["Body"].read() == key.encode()
        assert s3.head_object(Bucket="odd-keys", Key=key)["ContentLength"] == len(key.encode())
    listed = s3.list_objects_v2(Bucket="odd-keys")["Contents"]
    assert sorted(item["Key"] for item in listed) == sorted(KEYS)
    assert [i["Key"] for i in s3.list_objects_v2(Bucket="odd-keys", Prefix="ü/x ")["Contents"]] == ["ü/x y"]
    s3.delete_object(Bucket="odd-keys", Key="a+b=c.txt")
    assert sorted(i["Key"] for i in s3.list_objects_v2(Bucket="odd-keys")["Contents"]) == [
        "a b/c.txt",
        "ü/x y",
    ]


def test_event_keys_are_url_encoded(aws: AwsFactory, lambda_role: str, lambda_zip: Any) -> None:
    """An object event names the key as S3 does: URL-encoded, a space as ``+``."""
    s3, lam, sqs = aws("s3"), aws("lambda"), aws("sqs")
    url = sqs.create_queue(QueueName="odd-key-events")["QueueUrl"]
    arn = lam.create_function(
        FunctionName="odd-key-events",
        Runtime="python3.11",
        Role=lambda_role,
        Handler="app.handler",
        Code={"ZipFile": lambda_zip(files={"app.py": FORWARDER})},
        Environment={"Variables": {"QUEUE_URL": url}},
    )["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName="odd-key-events", WaiterConfig={"Delay": 0.05})
    lam.add_permission(
        FunctionName="odd-key-events",
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::odd-events",
    )
    s3.create_bucket(Bucket="odd-events")
    s3.put_bucket_notification_configuration(
        Bucket="odd-events",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    for key in KEYS:
        s3.put_object(Bucket="odd-events", Key=key, Body=b"1")
    keys: list[str] = []
    end = time.monotonic() + 30
    while len(keys) < len(KEYS) and time.monotonic() < end:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            keys.append(json.loads(message["Body"])["Records"][0]["s3"]["object"]["key"])
    assert sorted(keys) == ["%C3%BC/x+y", "a%2Bb%3Dc.txt", "a+b/c.txt"]
