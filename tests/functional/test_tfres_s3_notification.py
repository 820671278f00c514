"""``aws_s3_bucket_notification`` through real Terraform: object events reach the Lambda function only when
its policy lets S3 invoke it."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from selfheal.cloud import LocalCloud
from selfheal.cloud.s3_notifications import S3Notifications
from selfheal.terraform.driver import Terraform
from selfheal.terraform.testing import terraform_fixture

pytestmark = pytest.mark.timeout(300)

FORWARDER = """
import json, os
import boto3

def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["QUEUE_URL"], MessageBody=json.dumps(event))
"""

FUNCTION_TF = """
variable "suffix" {
  type    = string
  default = ".csv"
}

resource "aws_sqs_queue" "events" {
  name = "s3-events"
}

resource "aws_iam_role" "fn" {
  name = "s3-forwarder"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role_policy" "send" {
  role = aws_iam_role.fn.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sqs:SendMessage", Resource = aws_sqs_queue.events.arn }]
  })
}

resource "aws_lambda_function" "forwarder" {
  function_name = "s3-forwarder"
  role          = aws_iam_role.fn.arn
  runtime       = "python3.11"
  handler       = "app.handler"
  filename      = "${path.module}/forwarder.zip"
  environment {
    variables = { QUEUE_URL = aws_sqs_queue.events.url }
  }
}

resource "aws_s3_bucket" "uploads" {
  bucket        = "tf-uploads"
  force_destroy = true
}
"""

NOTIFIED_TF = (
    FUNCTION_TF
    + """
resource "aws_lambda_permission" "s3" {
  statement_id  = "AllowS3Invoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.forwarder.function_name
  principal     = "s3.amazonaws.com"
  source_arn    = aws_s3_bucket.uploads.arn
}

resource "aws_s3_bucket_notification" "uploads" {
  bucket = aws_s3_bucket.uploads.id

  lambda_function {
    lambda_function_arn = aws_lambda_function.forwarder.arn
    events              = ["s3:ObjectCreated:*"]
    filter_prefix       = "incoming/"
    filter_suffix       = var.suffix
  }

  # S3 validates the destination when the configuration is put: the permission must exist first.
  depends_on = [aws_lambda_permission.s3]
}
"""
)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(port=0) as running:
        yield running


def _terraform(cloud: LocalCloud, directory: Path, config: str) -> Terraform:
    """Terraform on ``config`` in ``directory`` (with the forwarder's zip), against ``cloud``."""
    directory.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", FORWARDER)
    (directory / "forwarder.zip").write_bytes(buffer.getvalue())
    return terraform_fixture(directory, config, cloud.endpoint, credentials=cloud.operator_key.environment())


def _keys(sqs: Any, url: str, count: int) -> list[str]:
    keys: list[str] = []
    end = time.monotonic() + 30
    while len(keys) < count and time.monotonic() < end:
        for message in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []):
            record = json.loads(message["Body"])["Records"][0]
            assert (record["eventSource"], record["eventName"]) == ("aws:s3", "ObjectCreated:Put")
            keys.append(record["s3"]["object"]["key"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return sorted(keys)


def test_notification_to_lambda(tmp_path: Path, cloud: LocalCloud) -> None:
    """Matching uploads invoke the function; the plan after apply is empty; a new filter updates in place;
    import reads the configuration back; destroy clears it."""
    s3, sqs = cloud.client("s3"), cloud.client("sqs")
    tf = _terraform(cloud, tmp_path / "ok", NOTIFIED_TF)
    tf.init()
    tf.apply()
    url = tf.resources()["aws_sqs_queue.events"]["url"]
    notification = tf.resources()["aws_s3_bucket_notification.uploads"]
    item = notification["lambda_function"][0]
    assert notification["id"] == "tf-uploads" and item["id"].startswith("tf-s3-lambda-")
    assert (item["filter_prefix"], item["filter_suffix"], item["events"]) == (
        "incoming/",
        ".csv",
        ["s3:ObjectCreated:*"],
    )
    assert tf.plan().rc == 0, "plan after apply must be empty"

    for key in ("incoming/a.csv", "incoming/b.txt", "other/c.csv"):
        s3.put_object(Bucket="tf-uploads", Key=key, Body=b"1")
    assert _keys(sqs, url, 1) == ["incoming/a.csv"]

    update = tf.plan({"suffix": ".txt"})
    assert [(c.address, c.action) for c in update.changes] == [
        ("aws_s3_bucket_notification.uploads", "update")
    ]
    tf.apply({"suffix": ".txt"})
    for key in ("incoming/d.csv", "incoming/e.txt"):
        s3.put_object(Bucket="tf-uploads", Key=key, Body=b"1")
    assert _keys(sqs, url, 1) == ["incoming/e.txt"]
    assert tf.plan({"suffix": ".txt"}).rc == 0

    imported = _terraform(cloud, tmp_path / "import", NOTIFIED_TF.replace("var.suffix", '".txt"'))
    imported.init()
    assert imported.import_("aws_s3_bucket_notification.uploads", "tf-uploads").rc == 0
    got = imported.resources()["aws_s3_bucket_notification.uploads"]["lambda_function"][0]
    assert (got["filter_suffix"], got["lambda_function_arn"]) == (".txt", item["lambda_function_arn"])

    tf.destroy({"suffix": ".txt"})
    assert "tf-uploads" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    delivered = S3Notifications.of(cloud).delivered()
    assert sorted(d.key for d in delivered) == ["incoming/a.csv", "incoming/e.txt"]


def test_notification_without_permission_is_refused(tmp_path: Path, cloud: LocalCloud) -> None:
    """Without an aws_lambda_permission for S3, apply fails with S3's InvalidArgument; queue destinations
    are refused at plan."""
    config = (
        FUNCTION_TF
        + """
resource "aws_s3_bucket_notification" "uploads" {
  bucket = aws_s3_bucket.uploads.id
  lambda_function {
    lambda_function_arn = aws_lambda_function.forwarder.arn
    events              = ["s3:ObjectCreated:Put"]
  }
}
"""
    )
    tf = _terraform(cloud, tmp_path / "refused", config)
    tf.init()
    applied = tf.apply(check=False)
    assert applied.rc == 1
    assert "InvalidArgument: Unable to validate the following destination configurations" in applied.stderr
    assert "Traceback" not in applied.stderr
    tf.destroy()

    queued = """
resource "aws_s3_bucket_notification" "q" {
  bucket = "some-bucket"
  queue {
    queue_arn = "arn:aws:sqs:us-east-1:123456789012:q"
    events    = ["s3:ObjectCreated:*"]
  }
}
"""
    tf = _terraform(cloud, tmp_path / "queue", queued)
    tf.init()
    plan = tf.plan(check=False)
    assert plan.rc == 1 and '"queue" notifications are not supported' in plan.stderr
