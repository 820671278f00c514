"""``aws_lambda_event_source_mapping`` of DynamoDB streams through real Terraform, against a LocalCloud that
polls the stream: create, read back and drift, in-place update, replace, import, delete, empty plan after
apply, and the plan-time refusals."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from selfheal.cloud import LocalCloud
from selfheal.terraform.driver import Terraform
from selfheal.terraform.testing import lambda_role_tf, terraform_fixture

pytestmark = pytest.mark.timeout(300)

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:stream-consumer"

# The consumer forwards every batch it gets to the "seen" queue.
APP = """
import json, os
import boto3


def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["SEEN_URL"], MessageBody=json.dumps(event))
    return {}
"""

MAIN_TF = (
    """
variable "enabled" {
  type    = bool
  default = true
}

variable "retries" {
  type    = number
  default = 2
}

variable "table" {
  type    = string
  default = "orders"
}

variable "position" {
  type    = string
  default = "TRIM_HORIZON"
}

"""
    + lambda_role_tf("stream-consumer-role")
    + """
data "aws_iam_policy_document" "send" {
  statement {
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.seen.arn]
  }
}


resource "aws_iam_role_policy" "send" {
  role   = aws_iam_role.fn.id
  policy = data.aws_iam_policy_document.send.json
}

resource "aws_sqs_queue" "seen" {
  name = "stream-seen"
}

resource "aws_sqs_queue" "failures" {
  name = "stream-failures"
}

resource "aws_lambda_function" "fn" {
  function_name    = "stream-consumer"
  role             = aws_iam_role.fn.arn
  runtime          = "python3.11"
  handler          = "app.handler"
  filename         = data.archive_file.code.output_path
  source_code_hash = data.archive_file.code.output_base64sha256
  environment {
    variables = { SEEN_URL = aws_sqs_queue.seen.url }
  }
}

resource "aws_dynamodb_table" "orders" {
  name             = "orders"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "id"
  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"
  attribute {
    name = "id"
    type = "S"
  }
}

resource "aws_dynamodb_table" "refunds" {
  name             = "refunds"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "id"
  stream_enabled   = true
  stream_view_type = "NEW_IMAGE"
  attribute {
    name = "id"
    type = "S"
  }
}

resource "aws_dynamodb_table" "returns" {
  name             = "returns"
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "id"
  stream_enabled   = true
  stream_view_type = "KEYS_ONLY"
  attribute {
    name = "id"
    type = "S"
  }
}

locals {
  streams = { orders = aws_dynamodb_table.orders.stream_arn, returns = aws_dynamodb_table.returns.stream_arn }
}

resource "aws_lambda_event_source_mapping" "orders" {
  event_source_arn               = local.streams[var.table]
  function_name                  = aws_lambda_function.fn.function_name
  starting_position              = var.position
  enabled                        = var.enabled
  maximum_retry_attempts         = var.retries
  maximum_record_age_in_seconds  = 3600
  bisect_batch_on_function_error = true
  parallelization_factor         = 2
  function_response_types        = ["ReportBatchItemFailures"]
  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.failures.arn
    }
  }
}

resource "aws_lambda_event_source_mapping" "plain" {
  event_source_arn  = aws_dynamodb_table.refunds.stream_arn
  function_name     = aws_lambda_function.fn.arn
  starting_position = "LATEST"
}
"""
)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(port=0, time_scale=10.0) as running:
        yield running


def _terraform(cloud: LocalCloud, directory: Path, config: str) -> Terraform:
    (directory / "src").mkdir(parents=True, exist_ok=True)
    (directory / "src" / "app.py").write_text(APP)
    return terraform_fixture(directory, config, cloud.endpoint, credentials=cloud.operator_key.environment())


def _seen(sqs: Any, url: str, key: str, timeout: float = 30.0) -> dict[str, Any]:
    """The first event the consumer forwarded that carries ``key``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            event = json.loads(message["Body"])
            if any(r["dynamodb"]["Keys"]["id"]["S"] == key for r in event["Records"]):
                return dict(event)
        time.sleep(0.1)
    raise AssertionError(f"the consumer never saw {key}")


def test_stream_mapping_lifecycle(tmp_path: Path, cloud: LocalCloud) -> None:
    """Stream mappings are created with the provider's defaults and read back, the stream reaches the
    function, the plan after apply is empty; drift is reverted, retries and enabled update in place, another
    stream or starting position replaces the mapping, destroy removes them."""
    lam, sqs, ddb = cloud.client("lambda"), cloud.client("sqs"), cloud.client("dynamodb")
    tf = _terraform(cloud, tmp_path, MAIN_TF)
    tf.init()
    tf.apply()
    state = tf.resources()
    orders, plain = (
        state["aws_lambda_event_source_mapping.orders"],
        state["aws_lambda_event_source_mapping.plain"],
    )
    stream = state["aws_dynamodb_table.orders"]["stream_arn"]
    assert (orders["state"], orders["event_source_arn"], orders["function_arn"]) == (
        "Enabled",
        stream,
        FUNCTION_ARN,
    )
    assert (orders["starting_position"], orders["batch_size"], orders["maximum_retry_attempts"]) == (
        "TRIM_HORIZON",
        100,
        2,
    )
    assert (orders["maximum_record_age_in_seconds"], orders["parallelization_factor"]) == (3600, 2)
    assert orders["bisect_batch_on_function_error"] is True
    failures = state["aws_sqs_queue.failures"]["arn"]
    assert orders["destination_config"] == [{"on_failure": [{"destination_arn": failures}]}]
    assert (plain["batch_size"], plain["maximum_retry_attempts"], plain["maximum_record_age_in_seconds"]) == (
        100,
        -1,
        -1,
    )
    assert (plain["parallelization_factor"], plain["bisect_batch_on_function_error"]) == (1, None)
    assert plain["destination_config"] == [] and plain["tumbling_window_in_seconds"] is None
    assert tf.plan().rc == 0, "plan after apply must be empty"

    seen = state["aws_sqs_queue.seen"]["url"]
    ddb.put_item(TableName="orders", Item={"id": {"S": "o-1"}, "total": {"N": "12"}})
    event = _seen(sqs, seen, "o-1")
    assert event["Records"][0]["eventName"] == "INSERT" and event["Records"][0]["eventSourceARN"] == stream

    # Drift (retries and bisect changed by hand) is planned back in place.
    lam.update_event_source_mapping(
        UUID=orders["uuid"], MaximumRetryAttempts=9, BisectBatchOnFunctionError=False
    )
    drift = tf.plan()
    assert [(c.address, c.action) for c in drift.changes] == [
        ("aws_lambda_event_source_mapping.orders", "update")
    ]
    tf.apply()
    got = lam.get_event_source_mapping(UUID=orders["uuid"])
    assert (got["MaximumRetryAttempts"], got["BisectBatchOnFunctionError"]) == (2, True)

    # Retries and enabled update in place; a disabled mapping delivers nothing.
    changed = {"retries": 5, "enabled": False}
    assert [c.action for c in tf.plan(changed).changes] == ["update"]
    tf.apply(changed)
    got = lam.get_event_source_mapping(UUID=orders["uuid"])
    assert (got["State"], got["MaximumRetryAttempts"]) == ("Disabled", 5)
    assert tf.plan(changed).rc == 0

    # Another starting position, or another stream, replaces the mapping.
    for variables in ({"position": "LATEST"}, {"table": "returns"}):
        replace = tf.plan(variables)
        assert [(c.address, c.action) for c in replace.changes] == [
            ("aws_lambda_event_source_mapping.orders", "replace")
        ]
    moved = {"table": "returns"}
    tf.apply(moved)
    moved_state = tf.resources()["aws_lambda_event_source_mapping.orders"]
    assert moved_state["uuid"] != orders["uuid"]
    assert moved_state["event_source_arn"] == state["aws_dynamodb_table.returns"]["stream_arn"]
    assert lam.list_event_source_mappings(EventSourceArn=stream)["EventSourceMappings"] == []
    assert tf.plan(moved).rc == 0

    tf.destroy(moved)
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []


def test_stream_mapping_import_and_refusals(tmp_path: Path, cloud: LocalCloud) -> None:
    """A stream mapping made outside Terraform imports to an empty plan; a missing starting position, a
    tumbling window, an SQS-only argument and a Kinesis source are refused at plan naming them."""
    lam, ddb = cloud.client("lambda"), cloud.client("dynamodb")
    base = _terraform(cloud, tmp_path / "base", MAIN_TF)
    base.init()
    base.apply()
    stream = ddb.create_table(
        TableName="by-hand",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )["TableDescription"]["LatestStreamArn"]
    uuid = lam.create_event_source_mapping(
        EventSourceArn=stream, FunctionName="stream-consumer", StartingPosition="LATEST", BatchSize=50
    )["UUID"]
    config = f"""
        resource "aws_lambda_event_source_mapping" "by_hand" {{
          event_source_arn  = "{stream}"
          function_name     = "stream-consumer"
          starting_position = "LATEST"
          batch_size        = 50
        }}
    """
    imported = _terraform(cloud, tmp_path / "import", config)
    imported.init()
    assert imported.import_("aws_lambda_event_source_mapping.by_hand", uuid).rc == 0
    got = imported.resources()["aws_lambda_event_source_mapping.by_hand"]
    assert (got["function_arn"], got["starting_position"], got["batch_size"]) == (FUNCTION_ARN, "LATEST", 50)
    assert imported.plan().rc == 0
    imported.destroy()
    assert lam.list_event_source_mappings(EventSourceArn=stream)["EventSourceMappings"] == []

    table = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026-01-01T00:00:00.000"
    cases = {
        f"""
        resource "aws_lambda_event_source_mapping" "m" {{
          event_source_arn = "{table}"
          function_name    = "stream-consumer"
        }}""": "starting_position is required for a DynamoDB stream source",
        f"""
        resource "aws_lambda_event_source_mapping" "m" {{
          event_source_arn           = "{table}"
          function_name              = "stream-consumer"
          starting_position          = "LATEST"
          tumbling_window_in_seconds = 60
        }}""": "tumbling_window_in_seconds = 60: tumbling windows are not supported",
        f"""
        resource "aws_lambda_event_source_mapping" "m" {{
          event_source_arn  = "{table}"
          function_name     = "stream-consumer"
          starting_position = "LATEST"
          scaling_config {{
            maximum_concurrency = 2
          }}
        }}""": "scaling_config: not taken by DynamoDB stream event source mappings",
        """
        resource "aws_lambda_event_source_mapping" "m" {
          event_source_arn  = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
          function_name     = "stream-consumer"
        }""": "is a Kinesis stream: the selfheal local provider maps SQS queues and DynamoDB streams only",
    }
    for i, (bad, message) in enumerate(cases.items()):
        refused = _terraform(cloud, tmp_path / f"bad-{i}", bad)
        refused.init()
        plan = refused.plan(check=False)
        assert plan.rc == 1 and message in plan.stderr, plan.stderr
        assert "Traceback" not in plan.stderr
    base.destroy()
