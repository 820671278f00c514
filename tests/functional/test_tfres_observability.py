"""CloudWatch, Logs, API Gateway v2 and DynamoDB resources of the local AWS provider, applied by real
Terraform against a moto server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_tfres_messaging import moto_client

from selfheal.terraform.testing import moto_endpoint, terraform_fixture

pytestmark = pytest.mark.timeout(300)

MAIN_TF = """
variable "threshold" {
  type    = number
  default = 1
}

variable "alarm_name" {
  type    = string
  default = "fragile-errors"
}

variable "burst" {
  type    = number
  default = 10
}

variable "table_name" {
  type    = string
  default = "ledger"
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/api/access"
  retention_in_days = 7
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = var.alarm_name
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  statistic           = "Sum"
  dimensions          = { FunctionName = "fragile" }
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = var.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  alarm_actions       = ["arn:aws:sns:us-east-1:123456789012:alarms"]
  ok_actions          = ["arn:aws:sns:us-east-1:123456789012:alarms"]
}

resource "aws_cloudwatch_dashboard" "loop" {
  dashboard_name = "loop"
  dashboard_body = jsonencode({
    widgets = [{
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = { title = "Errors <sum>", metrics = [["AWS/Lambda", "Errors"]], period = 60 }
    }]
  })
}

resource "aws_apigatewayv2_api" "http" {
  name          = "api"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "fragile" {
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = "arn:aws:lambda:us-east-1:123456789012:function:fragile"
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "default" {
  api_id    = aws_apigatewayv2_api.http.id
  route_key = "$default"
  target    = "integrations/${aws_apigatewayv2_integration.fragile.id}"
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.burst
    throttling_rate_limit  = 5
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format          = jsonencode({ requestId = "$context.requestId" })
  }
}

resource "aws_dynamodb_table" "ledger" {
  name         = var.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled = true
  }
}
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_endpoint() as url:
        yield url


def test_observability_lifecycle(tmp_path: Path, endpoint: str) -> None:
    """Apply creates alarm, dashboard, log group, HTTP API and table with the provider's defaults; re-plan
    is empty; drift shows; changes update or replace; import reads back; destroy leaves nothing."""
    cw, logs, ag, ddb = (moto_client(s, endpoint) for s in ("cloudwatch", "logs", "apigatewayv2", "dynamodb"))
    tf = terraform_fixture(tmp_path, MAIN_TF, endpoint)
    tf.init()
    tf.apply()
    state = tf.resources()

    alarm = cw.describe_alarms(AlarmNames=["fragile-errors"])["MetricAlarms"][0]
    assert alarm["Dimensions"] == [{"Name": "FunctionName", "Value": "fragile"}]
    assert (alarm["DatapointsToAlarm"], alarm["EvaluationPeriods"], alarm["Threshold"]) == (2, 3, 1.0)
    assert alarm["TreatMissingData"] == "missing" and alarm["ActionsEnabled"] is True
    alarm_state = state["aws_cloudwatch_metric_alarm.errors"]
    assert alarm_state["arn"] == alarm["AlarmArn"] and alarm_state["insufficient_data_actions"] is None

    group = state["aws_cloudwatch_log_group.access"]
    assert group["arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/api/access"
    assert (
        logs.describe_log_groups(logGroupNamePrefix="/aws/apigateway")["logGroups"][0]["retentionInDays"] == 7
    )

    body = json.loads(cw.get_dashboard(DashboardName="loop")["DashboardBody"])
    assert body["widgets"][0]["properties"]["title"] == "Errors <sum>"

    api = state["aws_apigatewayv2_api.http"]
    got_api = ag.get_api(ApiId=api["id"])
    assert api["api_endpoint"] == got_api["ApiEndpoint"]
    assert api["execution_arn"] == f"arn:aws:execute-api:us-east-1:123456789012:{api['id']}"
    stage = state["aws_apigatewayv2_stage.default"]
    assert stage["invoke_url"] == got_api["ApiEndpoint"].rstrip("/") + "/"
    got_stage = ag.get_stage(ApiId=api["id"], StageName="$default")
    assert got_stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 10
    assert got_stage["AccessLogSettings"]["DestinationArn"] == group["arn"]
    integration = state["aws_apigatewayv2_integration.fragile"]
    route = ag.get_route(ApiId=api["id"], RouteId=state["aws_apigatewayv2_route.default"]["id"])
    assert route["Target"] == f"integrations/{integration['id']}"

    table = ddb.describe_table(TableName="ledger")["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert (
        ddb.describe_time_to_live(TableName="ledger")["TimeToLiveDescription"]["AttributeName"]
        == "expires_at"
    )
    assert state["aws_dynamodb_table.ledger"]["server_side_encryption"][0]["kms_key_arn"].startswith(
        "arn:aws:kms:"
    )

    assert tf.plan().rc == 0

    logs.put_retention_policy(logGroupName="/aws/apigateway/api/access", retentionInDays=30)
    plan = tf.plan()
    assert [(c.address, c.action) for c in plan.changes] == [("aws_cloudwatch_log_group.access", "update")]

    variables = {"threshold": 3, "burst": 20}
    plan = tf.plan(variables)
    assert {(c.address, c.action) for c in plan.changes} == {
        ("aws_cloudwatch_log_group.access", "update"),
        ("aws_cloudwatch_metric_alarm.errors", "update"),
        ("aws_apigatewayv2_stage.default", "update"),
    }
    tf.apply(variables)
    assert cw.describe_alarms(AlarmNames=["fragile-errors"])["MetricAlarms"][0]["Threshold"] == 3.0
    assert (
        ag.get_stage(ApiId=api["id"], StageName="$default")["DefaultRouteSettings"]["ThrottlingBurstLimit"]
        == 20
    )
    assert tf.plan(variables).rc == 0

    for address, import_id in (
        ("aws_cloudwatch_metric_alarm.errors", "fragile-errors"),
        ("aws_cloudwatch_log_group.access", "/aws/apigateway/api/access"),
        ("aws_cloudwatch_dashboard.loop", "loop"),
        ("aws_apigatewayv2_api.http", api["id"]),
        ("aws_apigatewayv2_integration.fragile", f"{api['id']}/{integration['id']}"),
        ("aws_apigatewayv2_stage.default", f"{api['id']}/$default"),
        ("aws_dynamodb_table.ledger", "ledger"),
    ):
        assert tf.run("state", "rm", address).ok
        res = tf.import_(address, import_id, variables)
        assert res.ok, res.stderr
    plan = tf.plan(variables)
    assert plan.rc == 0, plan.stdout

    renamed = {**variables, "alarm_name": "fragile-errors-2", "table_name": "ledger-2"}
    plan = tf.plan(renamed)
    actions = {c.address: c.action for c in plan.changes}
    assert actions == {
        "aws_cloudwatch_metric_alarm.errors": "replace",
        "aws_dynamodb_table.ledger": "replace",
    }
    tf.apply(renamed)
    assert [a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"]] == ["fragile-errors-2"]
    assert ddb.list_tables()["TableNames"] == ["ledger-2"]

    tf.destroy(renamed)
    assert cw.describe_alarms()["MetricAlarms"] == []
    assert cw.list_dashboards()["DashboardEntries"] == []
    assert logs.describe_log_groups()["logGroups"] == []
    assert ag.get_apis()["Items"] == []
    assert ddb.list_tables()["TableNames"] == []


def test_invalid_alarm_period_is_refused(tmp_path: Path, endpoint: str) -> None:
    """A period CloudWatch would refuse fails the plan naming the argument, and no alarm is created."""
    cw = moto_client("cloudwatch", endpoint)
    before = cw.describe_alarms()["MetricAlarms"]
    tf = terraform_fixture(
        tmp_path,
        'resource "aws_cloudwatch_metric_alarm" "a" {\n  alarm_name = "bad"\n  metric_name = "Errors"\n'
        '  namespace = "AWS/Lambda"\n  statistic = "Sum"\n  period = 45\n  evaluation_periods = 1\n'
        '  threshold = 1\n  comparison_operator = "GreaterThanThreshold"\n}\n',
        endpoint,
    )
    tf.init()
    res = tf.apply(check=False)
    assert res.rc == 1
    assert "period" in res.stderr and "multiple of 60" in res.stderr
    assert cw.describe_alarms()["MetricAlarms"] == before
