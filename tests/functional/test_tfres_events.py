"""EventBridge rules and targets of the local AWS provider through real Terraform, against a LocalCloud."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from polling import receive_messages
from selfheal.cloud import LocalCloud
from selfheal.terraform.driver import Terraform
from selfheal.terraform.testing import terraform_fixture

pytestmark = pytest.mark.timeout(300)

REGION, ACCOUNT = "us-east-1", "123456789012"

MAIN_TF = r"""
variable "rule_name" {
  type    = string
  default = "tf-orders"
}

variable "description" {
  type    = string
  default = "orders placed"
}

variable "tags" {
  type    = map(string)
  default = { team = "sre" }
}

resource "aws_sqs_queue" "out" {
  name = "tf-events-out"
}

resource "aws_cloudwatch_event_rule" "orders" {
  name          = var.rule_name
  description   = var.description
  event_pattern = jsonencode({ source = ["my.shop"], detail = { total = [{ numeric = [">", 10] }] } })
  tags          = var.tags
}

resource "aws_cloudwatch_event_target" "orders" {
  rule = aws_cloudwatch_event_rule.orders.name
  arn  = aws_sqs_queue.out.arn

  input_transformer {
    input_paths    = { total = "$.detail.total" }
    input_template = "{\"total\": <total>, \"rule\": \"<aws.events.rule-name>\"}"
  }
}

resource "aws_cloudwatch_event_rule" "tick" {
  name_prefix         = "tick-"
  schedule_expression = "rate(5 minutes)"
  is_enabled          = false
}

resource "aws_cloudwatch_event_rule" "custom" {
  name           = "on-custom-bus"
  event_bus_name = "tf-bus"
  event_pattern  = jsonencode({ source = ["my.custom"] })
  state          = "ENABLED"
}

resource "aws_cloudwatch_event_target" "custom" {
  rule           = aws_cloudwatch_event_rule.custom.name
  event_bus_name = "tf-bus"
  target_id      = "queue"
  arn            = aws_sqs_queue.out.arn
  input_path     = "$.detail"

  retry_policy {
    maximum_retry_attempts       = 3
    maximum_event_age_in_seconds = 3600
  }
}
"""


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(port=0) as running:
        running.client("events").create_event_bus(Name="tf-bus")
        yield running


def _terraform(cloud: LocalCloud, directory: Path, config: str) -> Terraform:
    """Terraform on ``config`` in ``directory``, against ``cloud`` as its operator."""
    return terraform_fixture(directory, config, cloud.endpoint, credentials=cloud.operator_key.environment())


def _receive(cloud: LocalCloud, url: str, count: int, timeout: float = 10.0) -> list[Any]:
    return [json.loads(m["Body"]) for m in receive_messages(cloud.client("sqs"), url, count, timeout)]


def _rules(events: Any, bus: str = "default") -> list[str]:
    return sorted(r["Name"] for r in events.list_rules(EventBusName=bus)["Rules"])


def test_event_rule_and_target_lifecycle(tmp_path: Path, cloud: LocalCloud) -> None:
    """Rules and targets are created with the provider's defaults and deliver events; the plan after apply
    is empty; a disabled rule is drift that apply reverts; description and tags update in place; a rename
    replaces the rule and its target; destroy removes them."""
    events = cloud.client("events")
    tf = _terraform(cloud, tmp_path, MAIN_TF)
    tf.init()
    tf.apply()
    state = tf.resources()

    orders = state["aws_cloudwatch_event_rule.orders"]
    assert orders["id"] == "tf-orders"
    assert orders["arn"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/tf-orders"
    assert (orders["state"], orders["is_enabled"], orders["event_bus_name"]) == ("ENABLED", True, "default")
    assert orders["tags_all"] == {"team": "sre"}
    tick = state["aws_cloudwatch_event_rule.tick"]
    assert tick["name"].startswith("tick-") and (tick["state"], tick["is_enabled"]) == ("DISABLED", False)
    custom = state["aws_cloudwatch_event_rule.custom"]
    assert (custom["id"], custom["arn"]) == (
        "tf-bus/on-custom-bus",
        f"arn:aws:events:{REGION}:{ACCOUNT}:rule/tf-bus/on-custom-bus",
    )
    target = state["aws_cloudwatch_event_target.orders"]
    assert target["target_id"] and target["id"] == f"tf-orders/{target['target_id']}"
    custom_target = state["aws_cloudwatch_event_target.custom"]
    assert custom_target["id"] == "tf-bus/on-custom-bus/queue"
    assert custom_target["retry_policy"] == [
        {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600}
    ]
    listed = events.list_targets_by_rule(Rule="on-custom-bus", EventBusName="tf-bus")["Targets"]
    assert [(t["Id"], t["InputPath"]) for t in listed] == [("queue", "$.detail")]

    url = state["aws_sqs_queue.out"]["url"]
    events.put_events(
        Entries=[
            {"Source": "my.shop", "DetailType": "Order", "Detail": json.dumps({"total": 42})},
            {"Source": "my.shop", "DetailType": "Order", "Detail": json.dumps({"total": 2})},
            {
                "Source": "my.custom",
                "DetailType": "x",
                "Detail": json.dumps({"k": "v"}),
                "EventBusName": "tf-bus",
            },
        ]
    )
    bodies = _receive(cloud, url, 3, timeout=3.0)
    assert sorted(bodies, key=json.dumps) == [{"k": "v"}, {"rule": "tf-orders", "total": 42}]

    assert tf.plan().rc == 0, "plan after apply must be empty"

    events.disable_rule(Name="tf-orders")
    drift = tf.plan()
    assert {(c.address, c.action) for c in drift.changes} == {("aws_cloudwatch_event_rule.orders", "update")}
    tf.apply()
    assert events.describe_rule(Name="tf-orders")["State"] == "ENABLED"

    changed = {"description": "orders, updated", "tags": {"team": "platform"}}
    update = tf.plan(changed)
    assert {(c.address, c.action) for c in update.changes} == {("aws_cloudwatch_event_rule.orders", "update")}
    tf.apply(changed)
    rule = events.describe_rule(Name="tf-orders")
    assert rule["Description"] == "orders, updated"
    tags = events.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "platform"}]
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="tf-orders")["Targets"]] == [
        target["target_id"]
    ]
    assert tf.plan(changed).rc == 0

    renamed = {**changed, "rule_name": "tf-orders-2"}
    replace = tf.plan(renamed)
    assert {(c.address, c.action) for c in replace.changes} == {
        ("aws_cloudwatch_event_rule.orders", "replace"),
        ("aws_cloudwatch_event_target.orders", "replace"),
    }
    tf.apply(renamed)
    assert "tf-orders" not in _rules(events) and "tf-orders-2" in _rules(events)
    assert len(events.list_targets_by_rule(Rule="tf-orders-2")["Targets"]) == 1

    tf.destroy(renamed)
    assert [n for n in _rules(events) if n.startswith(("tf-", "tick-"))] == []
    assert _rules(events, "tf-bus") == []


def test_event_rule_import_and_errors(tmp_path: Path, cloud: LocalCloud) -> None:
    """A rule and target made outside Terraform import to an empty plan; bad arguments fail readably."""
    events = cloud.client("events")
    sqs = cloud.client("sqs")
    url = sqs.create_queue(QueueName="tf-import-out")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="by-hand", EventPattern='{"source":["by.hand"]}', Description="made by hand")
    events.put_targets(Rule="by-hand", Targets=[{"Id": "t1", "Arn": queue_arn, "Input": '{"x":1}'}])
    config = f"""
        resource "aws_cloudwatch_event_rule" "r" {{
          name          = "by-hand"
          description   = "made by hand"
          event_pattern = jsonencode({{ source = ["by.hand"] }})
        }}
        resource "aws_cloudwatch_event_target" "t" {{
          rule      = aws_cloudwatch_event_rule.r.name
          target_id = "t1"
          arn       = "{queue_arn}"
          input     = jsonencode({{ x = 1 }})
        }}
    """
    tf = _terraform(cloud, tmp_path / "import", config)
    tf.init()
    assert tf.import_("aws_cloudwatch_event_rule.r", "by-hand").rc == 0
    assert tf.import_("aws_cloudwatch_event_target.t", "by-hand/t1").rc == 0
    assert tf.plan().rc == 0
    tf.destroy()
    assert "by-hand" not in _rules(events)

    bad = """
        resource "aws_cloudwatch_event_rule" "neither" {
          name = "neither"
        }
        resource "aws_cloudwatch_event_rule" "state" {
          name          = "bad-state"
          state         = "ON"
          event_pattern = jsonencode({ source = ["x"] })
        }
    """
    tf = _terraform(cloud, tmp_path / "bad", bad)
    tf.init()
    plan = tf.plan(check=False)
    assert plan.rc == 1
    assert "one of `event_pattern,schedule_expression` must be specified" in plan.stderr
    assert "expected state to be one of" in plan.stderr
    assert "Traceback" not in plan.stderr

    refused = """
        resource "aws_cloudwatch_event_rule" "pattern" {
          name          = "bad-pattern"
          event_pattern = jsonencode({ source = [{ nonsense = 1 }] })
        }
    """
    tf = _terraform(cloud, tmp_path / "refused", refused)
    tf.init()
    result = tf.apply(check=False)
    assert result.rc == 1
    assert "InvalidEventPatternException" in result.stderr and "nonsense" in result.stderr
    assert "Traceback" not in result.stderr
    assert "bad-pattern" not in _rules(events)
