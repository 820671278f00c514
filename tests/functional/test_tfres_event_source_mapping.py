"""``aws_lambda_event_source_mapping`` (SQS sources) of the local AWS provider through real Terraform,
against a LocalCloud that polls the queue."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from selfheal.cloud import LocalCloud
from selfheal.terraform.driver import Terraform
from selfheal.terraform.testing import lambda_role_tf, terraform_fixture

pytestmark = pytest.mark.timeout(300)

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:consumer"
QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:"

MAIN_TF = (
    """
variable "enabled" {
  type    = bool
  default = true
}

variable "queue" {
  type    = string
  default = "jobs"
}

variable "batch_size" {
  type    = number
  default = 5
}

"""
    + lambda_role_tf("consumer-role")
    + """

resource "aws_lambda_function" "fn" {
  function_name    = "consumer"
  role             = aws_iam_role.fn.arn
  runtime          = "python3.11"
  handler          = "app.handler"
  filename         = data.archive_file.code.output_path
  source_code_hash = data.archive_file.code.output_base64sha256
}

resource "aws_sqs_queue" "jobs" {
  name = "jobs"
}

resource "aws_sqs_queue" "other" {
  name = "other-jobs"
}

resource "aws_sqs_queue" "more" {
  name = "more-jobs"
}

locals {
  queues = { jobs = aws_sqs_queue.jobs.arn, more = aws_sqs_queue.more.arn }
}

resource "aws_lambda_event_source_mapping" "jobs" {
  event_source_arn                   = local.queues[var.queue]
  function_name                      = aws_lambda_function.fn.function_name
  enabled                            = var.enabled
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = 2
  function_response_types            = ["ReportBatchItemFailures"]
  tags                               = { team = "sre" }
}

resource "aws_lambda_event_source_mapping" "plain" {
  event_source_arn = aws_sqs_queue.other.arn
  function_name    = aws_lambda_function.fn.arn
}
"""
)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(port=0, time_scale=10.0) as running:
        yield running


def _terraform(cloud: LocalCloud, directory: Path, config: str) -> Terraform:
    (directory / "src").mkdir(parents=True, exist_ok=True)
    (directory / "src" / "app.py").write_text("def handler(event, context):\n    return {}\n")
    return terraform_fixture(directory, config, cloud.endpoint, credentials=cloud.operator_key.environment())


def _count(sqs: Any, url: str) -> int:
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(got["Attributes"]["ApproximateNumberOfMessages"])


def _drained(sqs: Any, url: str, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _count(sqs, url) == 0:
            return True
        time.sleep(0.1)
    return False


def test_event_source_mapping_lifecycle(tmp_path: Path, cloud: LocalCloud) -> None:
    """Mappings are created with the provider's defaults and read back, the queue is consumed, the plan
    after apply is empty; drift is reverted, enabled = false disables in place (messages stay), a new queue
    replaces the mapping, an import plans empty, destroy removes them."""
    lam, sqs = cloud.client("lambda"), cloud.client("sqs")
    tf = _terraform(cloud, tmp_path, MAIN_TF)
    tf.init()
    tf.apply()
    state = tf.resources()
    jobs, plain = (
        state["aws_lambda_event_source_mapping.jobs"],
        state["aws_lambda_event_source_mapping.plain"],
    )
    assert (jobs["state"], jobs["enabled"], jobs["batch_size"]) == ("Enabled", True, 5)
    assert jobs["function_arn"] == FUNCTION_ARN and jobs["function_name"] == "consumer"
    assert jobs["event_source_arn"] == f"{QUEUE_ARN}jobs" and jobs["id"] == jobs["uuid"]
    assert jobs["function_response_types"] == ["ReportBatchItemFailures"]
    assert jobs["arn"].endswith(f":event-source-mapping:{jobs['uuid']}")
    assert (jobs["tags_all"], jobs["state_transition_reason"]) == ({"team": "sre"}, "USER_INITIATED")
    assert (plain["batch_size"], plain["maximum_batching_window_in_seconds"], plain["enabled"]) == (
        10,
        0,
        True,
    )
    assert plain["function_name"] == FUNCTION_ARN and plain["function_response_types"] is None
    assert tf.plan().rc == 0, "plan after apply must be empty"

    url = sqs.get_queue_url(QueueName="jobs")["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"job-{i}")
    assert _drained(sqs, url), "the mapping consumes the queue"

    # Drift (batch size changed by hand) is planned back.
    lam.update_event_source_mapping(UUID=jobs["uuid"], BatchSize=7)
    drift = tf.plan()
    assert [(c.address, c.action) for c in drift.changes] == [
        ("aws_lambda_event_source_mapping.jobs", "update")
    ]
    tf.apply()
    assert lam.get_event_source_mapping(UUID=jobs["uuid"])["BatchSize"] == 5

    # enabled = false updates in place; the mapping reads Disabled and the messages stay.
    disabled = {"enabled": False}
    assert [c.action for c in tf.plan(disabled).changes] == ["update"]
    tf.apply(disabled)
    assert lam.get_event_source_mapping(UUID=jobs["uuid"])["State"] == "Disabled"
    assert tf.resources()["aws_lambda_event_source_mapping.jobs"]["enabled"] is False
    sqs.send_message(QueueUrl=url, MessageBody="held")
    time.sleep(1.0)
    assert _count(sqs, url) == 1
    assert tf.plan(disabled).rc == 0
    tf.apply()
    assert _drained(sqs, url), "enabled again, the held message is consumed"

    # Another queue replaces the mapping.
    moved = {"queue": "more"}
    replace = tf.plan(moved)
    assert [(c.address, c.action) for c in replace.changes] == [
        ("aws_lambda_event_source_mapping.jobs", "replace")
    ]
    tf.apply(moved)
    moved_state = tf.resources()["aws_lambda_event_source_mapping.jobs"]
    assert moved_state["uuid"] != jobs["uuid"] and moved_state["event_source_arn"] == f"{QUEUE_ARN}more-jobs"
    assert lam.list_event_source_mappings(EventSourceArn=f"{QUEUE_ARN}jobs")["EventSourceMappings"] == []
    assert tf.plan(moved).rc == 0

    tf.destroy(moved)
    assert lam.list_event_source_mappings()["EventSourceMappings"] == []


def test_event_source_mapping_import_and_refusals(tmp_path: Path, cloud: LocalCloud) -> None:
    """A mapping made outside Terraform imports to an empty plan; a Kinesis source, and a DynamoDB stream
    source without its starting_position, are refused at plan naming what is wrong."""
    lam, sqs = cloud.client("lambda"), cloud.client("sqs")
    tf = _terraform(cloud, tmp_path / "base", MAIN_TF)
    tf.init()
    tf.apply()
    queue_arn = f"{QUEUE_ARN}by-hand"
    sqs.create_queue(QueueName="by-hand")
    uuid = lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="consumer", BatchSize=3)[
        "UUID"
    ]
    config = f"""
        resource "aws_lambda_event_source_mapping" "by_hand" {{
          event_source_arn = "{queue_arn}"
          function_name    = "consumer"
          batch_size       = 3
        }}
    """
    imported = _terraform(cloud, tmp_path / "import", config)
    imported.init()
    assert imported.import_("aws_lambda_event_source_mapping.by_hand", uuid).rc == 0
    assert imported.resources()["aws_lambda_event_source_mapping.by_hand"]["function_arn"] == FUNCTION_ARN
    assert imported.plan().rc == 0
    imported.destroy()
    assert [
        m["UUID"] for m in lam.list_event_source_mappings(EventSourceArn=queue_arn)["EventSourceMappings"]
    ] == []

    bad = """
        resource "aws_lambda_event_source_mapping" "stream" {
          event_source_arn  = "arn:aws:kinesis:us-east-1:123456789012:stream/clicks"
          function_name     = "consumer"
          starting_position = "LATEST"
        }
        resource "aws_lambda_event_source_mapping" "table" {
          event_source_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2026"
          function_name    = "consumer"
        }
    """
    refused = _terraform(cloud, tmp_path / "bad", bad)
    refused.init()
    plan = refused.plan(check=False)
    assert plan.rc == 1
    assert "starting_position: not taken by SQS event source mappings" in plan.stderr
    assert "starting_position is required for a DynamoDB stream source" in plan.stderr
    assert "Traceback" not in plan.stderr
    tf.destroy()
