"""SNS, SQS and KMS resources of the local AWS provider, applied by real Terraform against a moto server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from selfheal.terraform.testing import moto_endpoint, terraform_fixture

pytestmark = pytest.mark.timeout(300)

MAIN_TF = """
variable "display_name" {
  type    = string
  default = "alarms"
}

variable "queue_name" {
  type    = string
  default = "healer-dlq"
}

variable "visibility" {
  type    = number
  default = 60
}

resource "aws_kms_key" "main" {
  description             = "selfheal test key"
  enable_key_rotation     = true
  deletion_window_in_days = 7
}

resource "aws_kms_alias" "main" {
  name          = "alias/selfheal-test"
  target_key_id = aws_kms_key.main.key_id
}

resource "aws_sns_topic" "alarms" {
  name              = "alarms"
  display_name      = var.display_name
  kms_master_key_id = aws_kms_key.main.arn
  tags              = { team = "sre" }
}

resource "aws_sns_topic_policy" "alarms" {
  arn = aws_sns_topic.alarms.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "CloudWatchPublishes"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.amazonaws.com" }
      Action    = "sns:Publish"
      Resource  = aws_sns_topic.alarms.arn
    }]
  })
}

resource "aws_sqs_queue" "dlq" {
  name                       = var.queue_name
  visibility_timeout_seconds = var.visibility
  kms_master_key_id          = aws_kms_key.main.arn
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = aws_sqs_queue.dlq.arn
    }]
  })
}

resource "aws_sns_topic_subscription" "dlq" {
  topic_arn            = aws_sns_topic.alarms.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.dlq.arn
  raw_message_delivery = true
}

output "queue_url" { value = aws_sqs_queue.dlq.url }
output "queue_id" { value = aws_sqs_queue.dlq.id }
output "topic_arn" { value = aws_sns_topic.alarms.arn }
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_endpoint() as url:
        yield url


def moto_client(service: str, endpoint: str) -> Any:
    """A boto3 client of ``service`` at the moto server ``endpoint``."""
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )


def test_messaging_lifecycle(tmp_path: Path, endpoint: str) -> None:
    """Apply creates topic, queue, policies, subscription and key; re-plan is empty; changes update or
    replace as the real provider does; import reads back everything; destroy leaves nothing behind."""
    sns, sqs, kms = (moto_client(s, endpoint) for s in ("sns", "sqs", "kms"))
    tf = terraform_fixture(tmp_path, MAIN_TF, endpoint)
    tf.init()
    tf.apply()
    out = tf.output()
    state = tf.resources()

    key = state["aws_kms_key.main"]
    assert kms.get_key_rotation_status(KeyId=key["key_id"])["KeyRotationEnabled"] is True
    assert key["arn"].endswith(f":key/{key['key_id']}") and key["id"] == key["key_id"]
    aliases = {a["AliasName"]: a for a in kms.list_aliases()["Aliases"]}
    assert aliases["alias/selfheal-test"]["TargetKeyId"] == key["key_id"]
    assert state["aws_kms_alias.main"]["target_key_arn"] == key["arn"]

    topic = sns.get_topic_attributes(TopicArn=out["topic_arn"])["Attributes"]
    assert topic["DisplayName"] == "alarms" and topic["KmsMasterKeyId"] == key["arn"]
    assert json.loads(topic["Policy"])["Statement"][0]["Sid"] == "CloudWatchPublishes"
    assert state["aws_sns_topic.alarms"]["tags_all"] == {"team": "sre"}

    assert out["queue_id"] == out["queue_url"]
    attrs = sqs.get_queue_attributes(QueueUrl=out["queue_url"], AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "60"
    assert attrs["MaximumMessageSize"] == "262144"  # the provider's default, not the endpoint's
    assert json.loads(attrs["Policy"])["Statement"][0]["Action"] == "sqs:SendMessage"
    queue_state = state["aws_sqs_queue.dlq"]
    assert (queue_state["message_retention_seconds"], queue_state["delay_seconds"]) == (345600, 0)

    subs = sns.list_subscriptions_by_topic(TopicArn=out["topic_arn"])["Subscriptions"]
    assert [(s["Protocol"], s["Endpoint"]) for s in subs] == [("sqs", attrs["QueueArn"])]
    sub = state["aws_sns_topic_subscription.dlq"]
    assert sub["arn"] == subs[0]["SubscriptionArn"] and sub["pending_confirmation"] is False

    assert tf.plan().rc == 0

    # Drift made behind Terraform's back shows in the plan.
    # (moto drops a queue policy that SetQueueAttributes does not repeat; AWS keeps it, so repeat it.)
    sqs.set_queue_attributes(
        QueueUrl=out["queue_url"], Attributes={"VisibilityTimeout": "5", "Policy": attrs["Policy"]}
    )
    plan = tf.plan()
    assert [(c.address, c.action) for c in plan.changes] == [("aws_sqs_queue.dlq", "update")]

    variables = {"display_name": "alarms v2", "visibility": 90}
    plan = tf.plan(variables)
    assert {(c.address, c.action) for c in plan.changes} == {
        ("aws_sns_topic.alarms", "update"),
        ("aws_sqs_queue.dlq", "update"),
    }
    tf.apply(variables)
    assert sns.get_topic_attributes(TopicArn=out["topic_arn"])["Attributes"]["DisplayName"] == "alarms v2"
    attrs = sqs.get_queue_attributes(QueueUrl=out["queue_url"], AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "90" and "Policy" in attrs
    assert tf.plan(variables).rc == 0

    # Import reads every attribute back: after state rm + import the plan is (almost) empty again.
    for address, import_id in (
        ("aws_sqs_queue.dlq", out["queue_url"]),
        ("aws_sns_topic.alarms", out["topic_arn"]),
        ("aws_kms_key.main", key["key_id"]),
        ("aws_kms_alias.main", "alias/selfheal-test"),
    ):
        assert tf.run("state", "rm", address).ok
        res = tf.import_(address, import_id, variables)
        assert res.ok, res.stderr
    plan = tf.plan(variables)
    # As with the real provider, a key's deletion window cannot be read from AWS: only it shows after import.
    [change] = plan.changes
    assert (change.address, change.action) == ("aws_kms_key.main", "update"), plan.stdout
    assert {k for k in change.after if change.before.get(k) != change.after[k]} == {"deletion_window_in_days"}

    renamed = {**variables, "queue_name": "healer-dlq-2"}
    plan = tf.plan(renamed)
    actions = {c.address: c.action for c in plan.changes}
    assert actions["aws_sqs_queue.dlq"] == "replace"
    assert actions["aws_sqs_queue_policy.dlq"] == "replace"
    assert actions["aws_sns_topic_subscription.dlq"] == "replace"
    tf.apply(renamed)
    urls = sqs.list_queues().get("QueueUrls", [])
    assert [u.rsplit("/", 1)[1] for u in urls] == ["healer-dlq-2"]

    tf.destroy(renamed)
    assert sns.list_topics()["Topics"] == []
    assert sns.list_subscriptions()["Subscriptions"] == []
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert "alias/selfheal-test" not in {a["AliasName"] for a in kms.list_aliases()["Aliases"]}
    assert kms.describe_key(KeyId=key["key_id"])["KeyMetadata"]["KeyState"] == "PendingDeletion"


def test_bad_arguments_fail_before_anything_is_created(tmp_path: Path, endpoint: str) -> None:
    """Out-of-range or malformed arguments fail the plan with the argument named, and nothing is created."""
    sqs = moto_client("sqs", endpoint)
    before = sqs.list_queues().get("QueueUrls", [])
    tf = terraform_fixture(
        tmp_path,
        'resource "aws_sqs_queue" "q" {\n  name = "bad"\n  visibility_timeout_seconds = 50000\n}\n'
        'resource "aws_kms_alias" "a" {\n  name = "selfheal"\n  target_key_id = "k"\n}\n',
        endpoint,
    )
    tf.init()
    res = tf.apply(check=False)
    assert res.rc == 1
    assert "visibility_timeout_seconds" in res.stderr and "43200" in res.stderr
    assert "must begin with 'alias/'" in res.stderr
    assert sqs.list_queues().get("QueueUrls", []) == before
