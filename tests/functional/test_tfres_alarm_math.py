"""Metric-math and percentile alarms of the local AWS provider through real Terraform, against a
LocalCloud (provisioning only: evaluating them is the alarm scheduler's business)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from selfheal.cloud import LocalCloud
from selfheal.terraform.testing import terraform_fixture

pytestmark = pytest.mark.timeout(300)

MAIN_TF = """
variable "threshold" {
  type    = number
  default = 5
}

variable "expression" {
  type    = string
  default = "100*m1/m2"
}

resource "aws_sns_topic" "alarms" {
  name = "alarms"
}

resource "aws_cloudwatch_metric_alarm" "error_rate" {
  alarm_name          = "orders-error-rate"
  alarm_description   = "share of failed invocations, in percent"
  comparison_operator = "GreaterThanOrEqualToThreshold"
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = var.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
  ok_actions          = [aws_sns_topic.alarms.arn]

  metric_query {
    id = "m1"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      period      = 60
      stat        = "Sum"
      dimensions  = { FunctionName = "orders" }
    }
  }

  metric_query {
    id = "m2"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Invocations"
      period      = 60
      stat        = "Sum"
      unit        = "Count"
      dimensions  = { FunctionName = "orders" }
    }
  }

  metric_query {
    id          = "e1"
    expression  = var.expression
    label       = "Error rate (%)"
    return_data = true
  }
}

resource "aws_cloudwatch_metric_alarm" "duration_p99" {
  alarm_name                            = "orders-duration-p99"
  namespace                             = "AWS/Lambda"
  metric_name                           = "Duration"
  extended_statistic                    = "p99"
  unit                                  = "Milliseconds"
  dimensions                            = { FunctionName = "orders" }
  period                                = 60
  evaluation_periods                    = 3
  threshold                             = 1000
  comparison_operator                   = "GreaterThanThreshold"
  evaluate_low_sample_count_percentiles = "ignore"
  alarm_actions                         = [aws_sns_topic.alarms.arn]
}
"""


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(port=0) as running:
        yield running


def _alarm(cloud: LocalCloud, name: str) -> dict[str, Any]:
    [alarm] = cloud.client("cloudwatch").describe_alarms(AlarmNames=[name])["MetricAlarms"]
    return dict(alarm)


def _queries(alarm: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {q["Id"]: q for q in alarm["Metrics"]}


def test_metric_math_and_percentile_alarms(tmp_path: Path, cloud: LocalCloud) -> None:
    """An error-rate alarm (m1/m2 sums, e1 = 100*m1/m2 returned) and a p99 Duration alarm apply, read
    back and plan empty; changes update in place; drift of the expression is reverted; destroy deletes."""
    tf = terraform_fixture(tmp_path, MAIN_TF, cloud.endpoint, credentials=cloud.operator_key.environment())
    tf.init()
    tf.apply()

    rate = _alarm(cloud, "orders-error-rate")
    queries = _queries(rate)
    assert "MetricName" not in rate and rate["Threshold"] == 5.0 and rate["DatapointsToAlarm"] == 2
    assert queries["e1"] == {
        "Id": "e1",
        "Expression": "100*m1/m2",
        "Label": "Error rate (%)",
        "ReturnData": True,
    }
    assert queries["m1"]["ReturnData"] is False
    assert queries["m2"]["MetricStat"] == {
        "Metric": {
            "Namespace": "AWS/Lambda",
            "MetricName": "Invocations",
            "Dimensions": [{"Name": "FunctionName", "Value": "orders"}],
        },
        "Period": 60,
        "Stat": "Sum",
        "Unit": "Count",
    }
    p99 = _alarm(cloud, "orders-duration-p99")
    assert (p99["ExtendedStatistic"], p99["EvaluateLowSampleCountPercentile"]) == ("p99", "ignore")
    assert "Statistic" not in p99 and p99["Unit"] == "Milliseconds"
    # A new alarm starts INSUFFICIENT_DATA, as on AWS; with no traffic and notBreaching the scheduler may
    # already have evaluated it to OK if the apply straddled a period boundary.
    assert {rate["StateValue"], p99["StateValue"]} <= {"INSUFFICIENT_DATA", "OK"}
    assert "ALARM" not in (rate["StateValue"], p99["StateValue"])

    state = tf.resources()
    by_id = {q["id"]: q for q in state["aws_cloudwatch_metric_alarm.error_rate"]["metric_query"]}
    assert (by_id["m1"]["return_data"], by_id["e1"]["return_data"]) == (False, True)
    assert by_id["m1"]["metric"][0]["dimensions"] == {"FunctionName": "orders"}
    assert state["aws_cloudwatch_metric_alarm.error_rate"]["metric_name"] is None
    assert state["aws_cloudwatch_metric_alarm.duration_p99"]["statistic"] is None
    assert tf.plan().rc == 0, "plan after apply must be empty"

    changed = {"threshold": 10, "expression": "100*(m1/m2)"}
    update = tf.plan(changed)
    assert [(c.address, c.action) for c in update.changes] == [
        ("aws_cloudwatch_metric_alarm.error_rate", "update")
    ]
    tf.apply(changed)
    rate = _alarm(cloud, "orders-error-rate")
    assert (rate["Threshold"], _queries(rate)["e1"]["Expression"]) == (10.0, "100*(m1/m2)")
    assert tf.plan(changed).rc == 0

    # Someone edits the alarm's expression by hand: the plan puts it back.
    args = {
        "AlarmName": "orders-error-rate",
        "ComparisonOperator": rate["ComparisonOperator"],
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "Threshold": 10.0,
        "TreatMissingData": "notBreaching",
        "AlarmActions": rate["AlarmActions"],
        "OKActions": rate["OKActions"],
        "AlarmDescription": rate["AlarmDescription"],
        "Metrics": [{**q, "Expression": "m1"} if q["Id"] == "e1" else q for q in rate["Metrics"]],
    }
    cloud.client("cloudwatch").put_metric_alarm(**args)
    [drift] = tf.plan(changed).changes
    assert (drift.address, drift.action) == ("aws_cloudwatch_metric_alarm.error_rate", "update")
    tf.apply(changed)
    assert _queries(_alarm(cloud, "orders-error-rate"))["e1"]["Expression"] == "100*(m1/m2)"

    tf.destroy(changed)
    assert cloud.client("cloudwatch").describe_alarms()["MetricAlarms"] == []


def test_metric_math_alarm_import_and_errors(tmp_path: Path, cloud: LocalCloud) -> None:
    """A metric-math alarm made outside Terraform imports to an empty plan; contradictory arguments fail
    at plan with the real provider's messages."""
    cloud.client("cloudwatch").put_metric_alarm(
        AlarmName="imported-rate",
        ComparisonOperator="GreaterThanThreshold",
        EvaluationPeriods=1,
        Threshold=1.0,
        Metrics=[
            {
                "Id": "m1",
                "ReturnData": False,
                "MetricStat": {
                    "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"},
                    "Period": 60,
                    "Stat": "Sum",
                },
            },
            {"Id": "e1", "Expression": "m1*2", "ReturnData": True},
        ],
    )
    config = """
        resource "aws_cloudwatch_metric_alarm" "imported" {
          alarm_name          = "imported-rate"
          comparison_operator = "GreaterThanThreshold"
          evaluation_periods  = 1
          threshold           = 1
          metric_query {
            id = "m1"
            metric {
              namespace   = "AWS/Lambda"
              metric_name = "Errors"
              period      = 60
              stat        = "Sum"
            }
          }
          metric_query {
            id          = "e1"
            expression  = "m1*2"
            return_data = true
          }
        }
    """
    credentials = cloud.operator_key.environment()
    tf = terraform_fixture(tmp_path / "import", config, cloud.endpoint, credentials=credentials)
    tf.init()
    assert tf.import_("aws_cloudwatch_metric_alarm.imported", "imported-rate").rc == 0
    assert tf.plan().rc == 0
    tf.destroy()

    bad = """
        resource "aws_cloudwatch_metric_alarm" "both" {
          alarm_name          = "both"
          comparison_operator = "GreaterThanThreshold"
          evaluation_periods  = 1
          threshold           = 1
          metric_query {
            id         = "e1"
            expression = "m1"
            metric {
              metric_name = "Errors"
              period      = 60
              stat        = "Sum"
            }
          }
        }
        resource "aws_cloudwatch_metric_alarm" "percentile" {
          alarm_name          = "percentile"
          comparison_operator = "GreaterThanThreshold"
          evaluation_periods  = 1
          threshold           = 1
          namespace           = "AWS/Lambda"
          metric_name         = "Duration"
          period              = 60
          extended_statistic  = "p999x"
        }
        resource "aws_cloudwatch_metric_alarm" "mixed" {
          alarm_name          = "mixed"
          comparison_operator = "GreaterThanThreshold"
          evaluation_periods  = 1
          threshold           = 1
          period              = 60
          metric_query {
            id          = "e1"
            expression  = "SELECT 1"
            return_data = true
          }
        }
    """
    tf = terraform_fixture(tmp_path / "bad", bad, cloud.endpoint, credentials=credentials)
    tf.init()
    plan = tf.plan(check=False)
    assert plan.rc == 1
    assert "No metric_query may have both `expression` and a `metric` specified" in plan.stderr
    assert "invalid statistic" in plan.stderr
    assert '"period": conflicts with metric_query' in plan.stderr
    assert "Traceback" not in plan.stderr
    assert cloud.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
