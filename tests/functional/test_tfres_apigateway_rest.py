"""REST API (API Gateway v1) types of the local AWS provider through real Terraform against a LocalCloud:
a Lambda proxy API with ``{proxy+}`` and ``ANY`` served through the stage's ``invoke_url``; read back,
drift, update, replace, import, plan-time refusals and a clean destroy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from selfheal.cloud import LocalCloud
from selfheal.terraform.testing import lambda_role_tf, terraform_fixture

pytestmark = pytest.mark.timeout(600)

MAIN_TF = (
    """
variable "color" {
  type    = string
  default = "blue"
}

variable "part" {
  type    = string
  default = "{proxy+}"
}

variable "timeout" {
  type    = number
  default = 29000
}

"""
    + lambda_role_tf("rest-fn-role")
    + """

resource "aws_lambda_function" "fn" {
  function_name    = "rest-fn"
  role             = aws_iam_role.fn.arn
  runtime          = "python3.11"
  handler          = "app.handler"
  filename         = data.archive_file.code.output_path
  source_code_hash = data.archive_file.code.output_base64sha256
}

resource "aws_api_gateway_rest_api" "api" {
  name               = "shop"
  description        = "the shop"
  binary_media_types = ["image/png"]
}

resource "aws_api_gateway_resource" "proxy" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  parent_id   = aws_api_gateway_rest_api.api.root_resource_id
  path_part   = var.part
}

resource "aws_api_gateway_method" "any" {
  rest_api_id   = aws_api_gateway_rest_api.api.id
  resource_id   = aws_api_gateway_resource.proxy.id
  http_method   = "ANY"
  authorization = "NONE"
}

resource "aws_api_gateway_integration" "lambda" {
  rest_api_id             = aws_api_gateway_rest_api.api.id
  resource_id             = aws_api_gateway_resource.proxy.id
  http_method             = aws_api_gateway_method.any.http_method
  integration_http_method = "POST"
  type                    = "AWS_PROXY"
  uri                     = aws_lambda_function.fn.invoke_arn
  timeout_milliseconds    = var.timeout
}

resource "aws_api_gateway_deployment" "live" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  triggers = {
    redeploy = sha1(jsonencode([aws_api_gateway_resource.proxy.id, aws_api_gateway_integration.lambda.id]))
  }
  depends_on = [aws_api_gateway_integration.lambda]
}

resource "aws_api_gateway_stage" "prod" {
  rest_api_id   = aws_api_gateway_rest_api.api.id
  deployment_id = aws_api_gateway_deployment.live.id
  stage_name    = "prod"
  variables     = { color = var.color }
  tags          = { team = "shop" }
}

resource "aws_lambda_permission" "apigw" {
  statement_id  = "AllowAPIGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.api.execution_arn}/*/*"
}

output "url" {
  value = aws_api_gateway_stage.prod.invoke_url
}
"""
)

APP = """
import json

def handler(event, context):
    body = {"path": event["path"], "resource": event["resource"], "proxy": event["pathParameters"],
            "color": (event["stageVariables"] or {}).get("color")}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
"""


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    """One LocalCloud for the module."""
    with LocalCloud(port=0) as running:
        yield running


def test_rest_api_lifecycle(tmp_path: Path, cloud: LocalCloud) -> None:
    """Apply serves GET through invoke_url from the function and plans empty; drift is reverted; a variable
    change updates in place, a new path part replaces the resource; import reads the same state; destroy
    leaves no REST API."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(APP)
    tf = terraform_fixture(tmp_path, MAIN_TF, cloud.endpoint, credentials=cloud.operator_key.environment())
    tf.init()
    tf.apply()
    state = tf.resources()
    api, stage = state["aws_api_gateway_rest_api.api"], state["aws_api_gateway_stage.prod"]
    api_id = api["id"]
    assert stage["invoke_url"] == f"{cloud.endpoint}/_restapi/{api_id}/prod"
    assert stage["id"] == f"ags-{api_id}-prod"
    assert stage["execution_arn"] == f"arn:aws:execute-api:us-east-1:123456789012:{api_id}/prod"
    assert api["execution_arn"] == f"arn:aws:execute-api:us-east-1:123456789012:{api_id}"
    proxy_id = state["aws_api_gateway_resource.proxy"]["id"]
    assert state["aws_api_gateway_resource.proxy"]["path"] == "/{proxy+}"
    assert state["aws_api_gateway_method.any"]["id"] == f"agm-{api_id}-{proxy_id}-ANY"
    assert state["aws_api_gateway_integration.lambda"]["id"] == f"agi-{api_id}-{proxy_id}-ANY"
    apigw = cloud.client("apigateway")
    got = apigw.get_integration(restApiId=api_id, resourceId=proxy_id, httpMethod="ANY")
    assert (got["type"], got["uri"]) == ("AWS_PROXY", state["aws_lambda_function.fn"]["invoke_arn"])
    assert apigw.get_stage(restApiId=api_id, stageName="prod")["tags"] == {"team": "shop"}
    assert apigw.get_rest_api(restApiId=api_id)["binaryMediaTypes"] == ["image/png"]
    assert api["binary_media_types"] == ["image/png"]

    response = httpx.get(f"{tf.output()['url']}/cart/42", timeout=60)
    assert response.status_code == 200
    assert response.json() == {"path": "/cart/42", "resource": "/{proxy+}", "proxy": {"proxy": "cart/42"},
                               "color": "blue"}  # fmt: skip
    missing = httpx.get(stage["invoke_url"], timeout=60)  # the root resource has no method
    assert (missing.status_code, missing.json()) == (403, {"message": "Missing Authentication Token"})
    assert tf.plan().rc == 0

    # Drift: someone changes the stage's variable and the API's description by hand.
    apigw.update_stage(
        restApiId=api_id,
        stageName="prod",
        patchOperations=[{"op": "replace", "path": "/variables/color", "value": "x"}],
    )
    apigw.update_rest_api(
        restApiId=api_id, patchOperations=[{"op": "replace", "path": "/description", "value": "x"}]
    )
    drift = {change.address: change.action for change in tf.plan().changes}
    assert drift == {"aws_api_gateway_stage.prod": "update", "aws_api_gateway_rest_api.api": "update"}
    tf.apply(variables={"color": "green", "timeout": 5000})
    assert apigw.get_stage(restApiId=api_id, stageName="prod")["variables"] == {"color": "green"}
    assert apigw.get_rest_api(restApiId=api_id)["description"] == "the shop"
    got = apigw.get_integration(restApiId=api_id, resourceId=proxy_id, httpMethod="ANY")
    assert int(got["timeoutInMillis"]) == 5000
    assert httpx.get(f"{stage['invoke_url']}/a", timeout=60).json()["color"] == "green"
    assert tf.plan(variables={"color": "green", "timeout": 5000}).rc == 0

    # A new path part replaces the resource (and so its method and integration) and redeploys.
    replaced = tf.plan(variables={"color": "green", "timeout": 5000, "part": "items"})
    actions = {change.address: change.action for change in replaced.changes}
    assert actions["aws_api_gateway_resource.proxy"] == "replace"
    assert actions["aws_api_gateway_deployment.live"] == "replace"
    tf.apply(variables={"color": "green", "timeout": 5000, "part": "items"})
    assert httpx.get(f"{stage['invoke_url']}/items", timeout=60).json()["resource"] == "/items"
    assert httpx.get(f"{stage['invoke_url']}/cart/42", timeout=60).status_code == 403
    assert tf.plan(variables={"color": "green", "timeout": 5000, "part": "items"}).rc == 0

    # Import reads back the same state the apply wrote.
    before = tf.resources()
    new_proxy = before["aws_api_gateway_resource.proxy"]["id"]
    imports = {
        "aws_api_gateway_stage.prod": f"{api_id}/prod",
        "aws_api_gateway_method.any": f"{api_id}/{new_proxy}/ANY",
        "aws_api_gateway_integration.lambda": f"{api_id}/{new_proxy}/ANY",
        "aws_api_gateway_resource.proxy": f"{api_id}/{new_proxy}",
        "aws_api_gateway_rest_api.api": api_id,
    }
    for address, import_id in imports.items():
        assert tf.run("state", "rm", address).ok
        tf.import_(address, import_id, variables={"color": "green", "timeout": 5000, "part": "items"})
    after = tf.resources()
    for address in imports:
        assert after[address]["id"] == before[address]["id"], address
    final = tf.plan(variables={"color": "green", "timeout": 5000, "part": "items"})
    assert final.rc == 0, [
        (change.address, change.action, change.before, change.after) for change in final.changes
    ]

    tf.destroy(variables={"color": "green", "timeout": 5000, "part": "items"})
    assert apigw.get_rest_apis()["items"] == []


REFUSED_TF = """
variable "authorization" {
  type    = string
  default = "NONE"
}

variable "type" {
  type    = string
  default = "MOCK"
}

resource "aws_api_gateway_rest_api" "api" {
  name = "refused"
}

resource "aws_api_gateway_method" "get" {
  rest_api_id   = aws_api_gateway_rest_api.api.id
  resource_id   = aws_api_gateway_rest_api.api.root_resource_id
  http_method   = "GET"
  authorization = var.authorization
}

resource "aws_api_gateway_integration" "mock" {
  rest_api_id = aws_api_gateway_rest_api.api.id
  resource_id = aws_api_gateway_rest_api.api.root_resource_id
  http_method = aws_api_gateway_method.get.http_method
  type        = var.type
  uri = join("", [
    "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/",
    "arn:aws:lambda:us-east-1:123456789012:function:x/invocations",
  ])

  integration_http_method = "POST"
}
"""


def test_unsupported_integration_is_refused_at_plan(tmp_path: Path, cloud: LocalCloud) -> None:
    """A MOCK integration and an AWS_IAM method fail the plan, each named; nothing is created."""
    tf = terraform_fixture(tmp_path, REFUSED_TF, cloud.endpoint, credentials=cloud.operator_key.environment())
    tf.init()
    result = tf.plan(check=False)
    assert result.rc == 1
    assert 'integration type "MOCK" is not supported by the local cloud' in result.stderr + result.stdout
    iam = tf.plan(variables={"authorization": "AWS_IAM", "type": "AWS_PROXY"}, check=False)
    assert iam.rc == 1
    assert 'authorization "AWS_IAM" is not supported by the local cloud' in iam.stderr
    assert cloud.client("apigateway").get_rest_apis()["items"] == []
