"""``aws_cloudwatch_composite_alarm`` of the local AWS provider through real Terraform, against a LocalCloud:
create, read back, drift, update, replace, import, delete, and an empty plan after each apply."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from selfheal.cloud import LocalCloud
from selfheal.terraform.testing import terraform_fixture

pytestmark = pytest.mark.timeout(300)

MAIN_TF = """
variable "name" {
  type    = string
  default = "orders-unhealthy"
}

variable "operator" {
  type    = string
  default = "OR"
}

resource "aws_sns_topic" "alarms" {
  name = "composite-alarms"
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "orders-errors"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  dimensions          = { FunctionName = "orders" }
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  alarm_name          = "orders-throttles"
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  dimensions          = { FunctionName = "orders" }
}

locals {
  errors    = "ALARM(${aws_cloudwatch_metric_alarm.errors.alarm_name})"
  throttles = "ALARM(${aws_cloudwatch_metric_alarm.throttles.alarm_name})"
}

resource "aws_cloudwatch_composite_alarm" "unhealthy" {
  alarm_name        = var.name
  alarm_description = "errors or throttles"
  alarm_rule        = "${local.errors} ${var.operator} ${local.throttles}"
  alarm_actions     = [aws_sns_topic.alarms.arn]
  ok_actions        = [aws_sns_topic.alarms.arn]
  tags              = { team = "orders" }
}
"""


def _composite(cloud: LocalCloud, name: str) -> dict[str, Any] | None:
    found = cloud.client("cloudwatch").describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])
    alarms = found["CompositeAlarms"]
    return dict(alarms[0]) if alarms else None


def test_composite_alarm_lifecycle(tmp_path: Path, cloud: LocalCloud) -> None:
    """Create, read back, update in place, revert drift, replace on rename, import, destroy."""
    credentials = cloud.operator_key.environment()
    tf = terraform_fixture(tmp_path, MAIN_TF, cloud.endpoint, credentials=credentials)
    tf.init()
    tf.apply()

    alarm = _composite(cloud, "orders-unhealthy")
    assert alarm is not None
    assert alarm["AlarmRule"] == "ALARM(orders-errors) OR ALARM(orders-throttles)"
    assert alarm["AlarmDescription"] == "errors or throttles" and alarm["ActionsEnabled"] is True
    assert alarm["StateValue"] in ("OK", "INSUFFICIENT_DATA")
    tags = cloud.client("cloudwatch").list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
    assert tags == [{"Key": "team", "Value": "orders"}]
    state = tf.resources()["aws_cloudwatch_composite_alarm.unhealthy"]
    assert state["arn"] == alarm["AlarmArn"] and state["tags_all"] == {"team": "orders"}
    assert tf.plan().rc == 0, "plan after apply must be empty"

    changed = {"operator": "AND"}
    update = tf.plan(changed)
    assert [(c.address, c.action) for c in update.changes] == [
        ("aws_cloudwatch_composite_alarm.unhealthy", "update")
    ]
    tf.apply(changed)
    alarm = _composite(cloud, "orders-unhealthy")
    assert alarm is not None and " AND " in alarm["AlarmRule"]
    assert tf.plan(changed).rc == 0

    # Someone edits the rule by hand: the plan puts it back.
    cloud.client("cloudwatch").put_composite_alarm(
        AlarmName="orders-unhealthy",
        AlarmRule="ALARM(orders-errors)",
        AlarmDescription="errors or throttles",
        AlarmActions=alarm["AlarmActions"],
        OKActions=alarm["OKActions"],
    )
    [drift] = tf.plan(changed).changes
    assert (drift.address, drift.action) == ("aws_cloudwatch_composite_alarm.unhealthy", "update")
    tf.apply(changed)
    alarm = _composite(cloud, "orders-unhealthy")
    assert alarm is not None and alarm["AlarmRule"] == "ALARM(orders-errors) AND ALARM(orders-throttles)"

    renamed = {**changed, "name": "orders-unhealthy-2"}
    [replace] = tf.plan(renamed).changes
    assert replace.action == "replace"
    tf.apply(renamed)
    assert _composite(cloud, "orders-unhealthy") is None
    assert _composite(cloud, "orders-unhealthy-2") is not None
    assert tf.plan(renamed).rc == 0

    tf.destroy(renamed)
    found = cloud.client("cloudwatch").describe_alarms()
    assert found["CompositeAlarms"] == [] and found["MetricAlarms"] == []


def test_composite_alarm_import_and_errors(tmp_path: Path, cloud: LocalCloud) -> None:
    """A composite alarm made outside Terraform imports to an empty plan; a rule naming a missing alarm
    fails at apply with the cloud's refusal, never a traceback."""
    cloudwatch = cloud.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName="child",
        Namespace="Test",
        MetricName="Failures",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloudwatch.put_composite_alarm(AlarmName="imported", AlarmRule="ALARM(child) OR FALSE")
    config = """
        resource "aws_cloudwatch_composite_alarm" "imported" {
          alarm_name = "imported"
          alarm_rule = "ALARM(child) OR FALSE"
        }
    """
    credentials = cloud.operator_key.environment()
    tf = terraform_fixture(tmp_path / "import", config, cloud.endpoint, credentials=credentials)
    tf.init()
    assert tf.import_("aws_cloudwatch_composite_alarm.imported", "imported").rc == 0
    assert tf.plan().rc == 0
    tf.destroy()
    assert _composite(cloud, "imported") is None

    bad = """
        resource "aws_cloudwatch_composite_alarm" "orphan" {
          alarm_name = "orphan"
          alarm_rule = "ALARM(no-such-alarm)"
        }
    """
    tf = terraform_fixture(tmp_path / "bad", bad, cloud.endpoint, credentials=credentials)
    tf.init()
    applied = tf.apply(check=False)
    assert applied.rc == 1
    assert "do not exist" in applied.stderr and "Traceback" not in applied.stderr
    assert _composite(cloud, "orphan") is None
    cloudwatch.delete_alarms(AlarmNames=["child"])
