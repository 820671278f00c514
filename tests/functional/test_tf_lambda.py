"""Lambda resources of the local AWS provider (with an archive_file zip), through real Terraform."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from selfheal.cloud.testing import LAMBDA_TRUST_POLICY
from selfheal.terraform.testing import moto_endpoint, terraform_fixture

pytestmark = pytest.mark.timeout(300)

LAMBDA_TF = """
variable "function_name" {
  type    = string
  default = "tf-fragile"
}

variable "failure_rate" {
  type    = string
  default = "0.5"
}

variable "memory_size" {
  type    = number
  default = 128
}

data "archive_file" "code" {
  type        = "zip"
  source_dir  = "${path.module}/src"
  output_path = "${path.module}/build/code.zip"
  excludes    = ["**/__pycache__/**"]
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "fn" {
  name               = "tf-fn-role"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_lambda_function" "fn" {
  function_name    = var.function_name
  role             = aws_iam_role.fn.arn
  runtime          = "python3.11"
  handler          = "app.handler"
  filename         = data.archive_file.code.output_path
  source_code_hash = data.archive_file.code.output_base64sha256
  memory_size      = var.memory_size
  # An AWS-managed layer (another account): kept in state, provided by the local runtime.
  layers = ["arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:7"]
  dead_letter_config {
    target_arn = "arn:aws:sqs:us-east-1:123456789012:tf-dlq"
  }
  tracing_config {
    mode = "Active"
  }
  environment {
    variables = {
      FAILURE_RATE = var.failure_rate
      FAILURE_MODE = "exception"
    }
  }
}

resource "aws_lambda_permission" "sns" {
  statement_id  = "AllowSNS"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.fn.function_name
  principal     = "sns.amazonaws.com"
  source_arn    = "arn:aws:sns:us-east-1:123456789012:alarms"
}

resource "aws_lambda_function_event_invoke_config" "fn" {
  function_name                = aws_lambda_function.fn.function_name
  maximum_event_age_in_seconds = 3600
}

output "function_arn" { value = aws_lambda_function.fn.arn }
output "invoke_arn" { value = aws_lambda_function.fn.invoke_arn }
output "code_hash" { value = data.archive_file.code.output_base64sha256 }
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with moto_endpoint() as url:
        yield url


def _client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def _env(lam: Any, name: str) -> dict[str, str]:
    cfg = lam.get_function_configuration(FunctionName=name)
    return dict(cfg["Environment"]["Variables"])


def test_lambda_lifecycle_drift_update_replace_destroy(tmp_path: Path, endpoint: str) -> None:
    """The function is created, runtime drift is planned and reverted, updates stay in place, a rename
    replaces, and destroy leaves the local cloud empty."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return event\n")
    tf = terraform_fixture(tmp_path, LAMBDA_TF, endpoint)
    tf.init()
    tf.apply()
    lam = _client("lambda", endpoint)
    cfg = lam.get_function_configuration(FunctionName="tf-fragile")
    assert cfg["MemorySize"] == 128 and cfg["Timeout"] == 3
    assert cfg["TracingConfig"]["Mode"] == "Active"
    assert _env(lam, "tf-fragile") == {"FAILURE_RATE": "0.5", "FAILURE_MODE": "exception"}
    outputs = tf.output()
    assert outputs["function_arn"] == cfg["FunctionArn"]
    assert outputs["code_hash"] == cfg["CodeSha256"]
    assert outputs["invoke_arn"].endswith(f"functions/{cfg['FunctionArn']}/invocations")
    assert lam.get_function_event_invoke_config(FunctionName="tf-fragile")["MaximumEventAgeInSeconds"] == 3600

    assert tf.plan().rc == 0, "plan after apply must be empty"

    # The healer's remediation: a runtime change of the function's environment.
    lam.update_function_configuration(
        FunctionName="tf-fragile",
        Environment={"Variables": {"FAILURE_RATE": "0", "FAILURE_MODE": "exception", "HEALED_BY": "healer"}},
    )
    drift = tf.plan()
    assert drift.rc == 2
    [change] = drift.changes
    assert (change.address, change.action) == ("aws_lambda_function.fn", "update")
    assert change.before["environment"][0]["variables"]["FAILURE_RATE"] == "0"
    assert change.after["environment"][0]["variables"] == {"FAILURE_RATE": "0.5", "FAILURE_MODE": "exception"}
    tf.apply()
    assert _env(lam, "tf-fragile") == {"FAILURE_RATE": "0.5", "FAILURE_MODE": "exception"}

    update = tf.plan({"memory_size": 256, "failure_rate": "0.9"})
    assert [(c.address, c.action) for c in update.changes] == [("aws_lambda_function.fn", "update")]
    tf.apply({"memory_size": 256, "failure_rate": "0.9"})
    assert lam.get_function_configuration(FunctionName="tf-fragile")["MemorySize"] == 256
    assert tf.plan({"memory_size": 256, "failure_rate": "0.9"}).rc == 0

    rename = {"memory_size": 256, "failure_rate": "0.9", "function_name": "tf-fragile-2"}
    replace = tf.plan(rename)
    actions = {c.address: c.action for c in replace.changes}
    assert actions["aws_lambda_function.fn"] == "replace"
    assert actions["aws_lambda_permission.sns"] == "replace"
    tf.apply(rename)
    names = [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    assert names == ["tf-fragile-2"]

    tf.destroy(rename)
    assert lam.list_functions()["Functions"] == []
    assert _client("iam", endpoint).list_roles()["Roles"] == []


def test_lambda_import(tmp_path: Path, endpoint: str) -> None:
    """A function created outside Terraform is imported and then matches its configuration."""
    lam = _client("lambda", endpoint)
    iam = _client("iam", endpoint)
    role = iam.create_role(RoleName="imported-role", AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY)["Role"][
        "Arn"
    ]
    (tmp_path / "code.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    lam.create_function(
        FunctionName="imported",
        Role=role,
        Runtime="python3.11",
        Handler="app.handler",
        Code={"ZipFile": (tmp_path / "code.zip").read_bytes()},
        Environment={"Variables": {"A": "1"}},
    )
    tf = terraform_fixture(
        tmp_path,
        f"""
        resource "aws_lambda_function" "fn" {{
          function_name = "imported"
          role          = "{role}"
          runtime       = "python3.11"
          handler       = "app.handler"
          filename      = "${{path.module}}/code.zip"
          environment {{
            variables = {{ A = "1" }}
          }}
        }}
        """,
        endpoint,
    )
    tf.init()
    assert tf.import_("aws_lambda_function.fn", "imported").rc == 0
    state = tf.resources()["aws_lambda_function.fn"]
    assert state["environment"] == [{"variables": {"A": "1"}}]
    assert state["memory_size"] == 128
    plan = tf.plan()
    assert all(c.action == "update" for c in plan.changes)  # filename is only known from config
    lam.delete_function(FunctionName="imported")
    iam.delete_role(RoleName="imported-role")


def test_errors_are_diagnostics_naming_resource_and_argument(tmp_path: Path, endpoint: str) -> None:
    """A bad value fails at plan naming the argument; a refused create names the resource, no traceback."""
    (tmp_path / "code.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)
    body = """
        resource "aws_lambda_function" "bad" {
          function_name = "bad"
          role          = "arn:aws:iam::123456789012:role/does-not-exist"
          handler       = "app.handler"
          runtime       = "python3.11"
          filename      = "${path.module}/code.zip"
          memory_size   = %s
        }
    """
    tf = terraform_fixture(tmp_path, body % "64", endpoint)
    tf.init()
    plan = tf.plan(check=False)
    assert plan.rc == 1
    assert "expected memory_size to be in the range (128 - 10240), got 64" in plan.stderr
    assert "aws_lambda_function.bad" in plan.stderr

    tf = terraform_fixture(tmp_path, body % "128", endpoint)
    apply = tf.apply(check=False)
    assert apply.rc == 1
    assert "aws_lambda_function: InvalidParameterValueException" in apply.stderr
    assert "with aws_lambda_function.bad" in apply.stderr
    assert "Traceback" not in apply.stderr + apply.stdout
    assert _client("lambda", endpoint).list_functions()["Functions"] == []
