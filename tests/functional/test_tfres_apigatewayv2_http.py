"""HTTP API settings of the local AWS provider through real Terraform against a moto server: an integration's
payload_format_version (default 1.0), an API's cors_configuration and a stage's access_log_settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from test_tfres_messaging import moto_client

from selfheal.terraform.testing import moto_endpoint, terraform_fixture

pytestmark = pytest.mark.timeout(300)

MAIN_TF = """
variable "cors" {
  type    = bool
  default = true
}

variable "origins" {
  type    = list(string)
  default = ["https://b.example.com", "https://a.example.com"]
}

variable "max_age" {
  type    = number
  default = 300
}

variable "payload" {
  type    = string
  default = null
}

variable "log_format" {
  type    = string
  default = "$context.requestId $context.status"
}

variable "access_logs" {
  type    = bool
  default = true
}

resource "aws_cloudwatch_log_group" "access" {
  name = "/apigw/http/access"
}

resource "aws_apigatewayv2_api" "http" {
  name          = "cors-api"
  protocol_type = "HTTP"

  dynamic "cors_configuration" {
    for_each = var.cors ? [1] : []
    content {
      allow_origins     = var.origins
      allow_methods     = ["POST", "GET"]
      allow_headers     = ["content-type", "authorization"]
      expose_headers    = ["x-request-id"]
      max_age           = var.max_age
      allow_credentials = true
    }
  }
}

resource "aws_apigatewayv2_integration" "fn" {
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_uri        = "arn:aws:lambda:us-east-1:123456789012:function:fn"
  payload_format_version = var.payload
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.http.id
  name        = "$default"
  auto_deploy = true

  dynamic "access_log_settings" {
    for_each = var.access_logs ? [1] : []
    content {
      destination_arn = aws_cloudwatch_log_group.access.arn
      format          = var.log_format
    }
  }
}
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A moto server for this module."""
    with moto_endpoint() as url:
        yield url


def test_http_api_settings_lifecycle(tmp_path: Path, endpoint: str) -> None:
    """Create, read back, re-plan empty, update, remove the settings, re-plan empty after each apply."""
    ag = moto_client("apigatewayv2", endpoint)
    tf = terraform_fixture(tmp_path, MAIN_TF, endpoint)
    tf.init()
    tf.apply()
    state = tf.resources()
    api_id = state["aws_apigatewayv2_api.http"]["id"]

    cors = ag.get_api(ApiId=api_id)["CorsConfiguration"]
    assert sorted(cors["AllowOrigins"]) == ["https://a.example.com", "https://b.example.com"]
    assert sorted(cors["AllowMethods"]) == ["GET", "POST"]
    assert (cors["MaxAge"], cors["AllowCredentials"]) == (300, True)
    (block,) = state["aws_apigatewayv2_api.http"]["cors_configuration"]
    assert sorted(block["allow_headers"]) == ["authorization", "content-type"]
    assert block["expose_headers"] == ["x-request-id"]

    integration = state["aws_apigatewayv2_integration.fn"]
    assert integration["payload_format_version"] == "1.0"
    got = ag.get_integration(ApiId=api_id, IntegrationId=integration["id"])
    assert got["PayloadFormatVersion"] == "1.0"

    group_arn = state["aws_cloudwatch_log_group.access"]["arn"]
    stage = ag.get_stage(ApiId=api_id, StageName="$default")
    assert stage["AccessLogSettings"] == {
        "DestinationArn": group_arn,
        "Format": "$context.requestId $context.status",
    }
    assert state["aws_apigatewayv2_stage.default"]["access_log_settings"] == [
        {"destination_arn": group_arn, "format": "$context.requestId $context.status"}
    ]
    assert tf.plan().rc == 0

    changed = {
        "origins": ["https://c.example.com"],
        "max_age": 60,
        "payload": "2.0",
        "log_format": '{"id":"$context.requestId","route":"$context.routeKey"}',
    }
    plan = tf.plan(changed)
    assert {(c.address, c.action) for c in plan.changes} == {
        ("aws_apigatewayv2_api.http", "update"),
        ("aws_apigatewayv2_integration.fn", "update"),
        ("aws_apigatewayv2_stage.default", "update"),
    }
    tf.apply(changed)
    cors = ag.get_api(ApiId=api_id)["CorsConfiguration"]
    assert (cors["AllowOrigins"], cors["MaxAge"]) == (["https://c.example.com"], 60)
    assert ag.get_integration(ApiId=api_id, IntegrationId=integration["id"])["PayloadFormatVersion"] == "2.0"
    stage = ag.get_stage(ApiId=api_id, StageName="$default")
    assert stage["AccessLogSettings"]["Format"] == changed["log_format"]
    assert tf.plan(changed).rc == 0

    removed = {**changed, "cors": False, "access_logs": False}
    tf.apply(removed)
    assert not ag.get_api(ApiId=api_id).get("CorsConfiguration")
    assert "AccessLogSettings" not in ag.get_stage(ApiId=api_id, StageName="$default")
    state = tf.resources()
    assert state["aws_apigatewayv2_api.http"]["cors_configuration"] == []
    assert state["aws_apigatewayv2_stage.default"]["access_log_settings"] == []
    assert tf.plan(removed).rc == 0

    tf.destroy(removed)
    assert ag.get_apis()["Items"] == []


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            'destination_arn = "arn:aws:logs:us-east-1:123456789012:log-group:/g"\n'
            '    format = "$context.status"',
            "$context.requestId or $context.extendedRequestId",
        ),
        (
            'destination_arn = "arn:aws:s3:::bucket"\n    format = "$context.requestId"',
            "log group ARN",
        ),
    ],
)
def test_invalid_access_log_settings_fail_the_plan(
    tmp_path: Path, endpoint: str, block: str, message: str
) -> None:
    """A format without a request id, or a destination that is not a log group, fails naming the problem."""
    ag = moto_client("apigatewayv2", endpoint)
    before = ag.get_apis()["Items"]
    tf = terraform_fixture(
        tmp_path,
        'resource "aws_apigatewayv2_stage" "s" {\n  api_id = "abc"\n  name = "$default"\n'
        f"  access_log_settings {{\n    {block}\n  }}\n}}\n",
        endpoint,
    )
    tf.init()
    res = tf.plan(check=False)
    assert res.rc == 1
    assert message in " ".join(res.stderr.split())
    assert ag.get_apis()["Items"] == before


def test_invalid_cors_max_age_fails_the_plan(tmp_path: Path, endpoint: str) -> None:
    """A max_age outside -1..86400 fails the plan, as the real provider validates it."""
    tf = terraform_fixture(
        tmp_path,
        'resource "aws_apigatewayv2_api" "a" {\n  name = "a"\n  protocol_type = "HTTP"\n'
        "  cors_configuration {\n    max_age = 86401\n  }\n}\n",
        endpoint,
    )
    tf.init()
    res = tf.plan(check=False)
    assert res.rc == 1
    assert "max_age" in res.stderr
