"""Lambda versions (``publish = true``) and aliases of the local AWS provider through real Terraform,
against a LocalCloud."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from selfheal.cloud import LocalCloud
from selfheal.cloud.testing import LAMBDA_TRUST_POLICY
from selfheal.terraform.testing import lambda_role_tf, terraform_fixture

pytestmark = pytest.mark.timeout(300)

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:orders"

MAIN_TF = (
    """
variable "memory_size" {
  type    = number
  default = 128
}

variable "weights" {
  type    = map(number)
  default = {}
}

variable "alias_name" {
  type    = string
  default = "live"
}

variable "tags" {
  type    = map(string)
  default = {}
}

"""
    + lambda_role_tf("orders-role")
    + """

resource "aws_lambda_function" "fn" {
  function_name    = "orders"
  role             = aws_iam_role.fn.arn
  runtime          = "python3.11"
  handler          = "app.handler"
  filename         = data.archive_file.code.output_path
  source_code_hash = data.archive_file.code.output_base64sha256
  memory_size      = var.memory_size
  publish          = true
  tags             = var.tags
}

resource "aws_lambda_alias" "live" {
  name             = var.alias_name
  description      = "where the traffic goes"
  function_name    = aws_lambda_function.fn.function_name
  function_version = aws_lambda_function.fn.version

  routing_config {
    additional_version_weights = var.weights
  }
}

resource "aws_lambda_alias" "first" {
  name             = "first"
  function_name    = aws_lambda_function.fn.arn
  function_version = "1"
}
"""
)


@pytest.fixture(scope="module")
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(port=0) as running:
        yield running


def _write_code(directory: Path, answer: int) -> None:
    (directory / "src").mkdir(exist_ok=True)
    (directory / "src" / "app.py").write_text(f"def handler(event, context):\n    return {answer}\n")


def _versions(lam: Any) -> list[str]:
    return [v["Version"] for v in lam.list_versions_by_function(FunctionName="orders")["Versions"]]


def test_published_versions_and_aliases(tmp_path: Path, cloud: LocalCloud) -> None:
    """publish creates version 1 and one more per code or configuration change (not per tag change); the
    alias follows the function's version, shifts weights, reverts drift, replaces on rename, and all of
    it plans empty after each apply."""
    lam = cloud.client("lambda")
    _write_code(tmp_path, 1)
    tf = terraform_fixture(tmp_path, MAIN_TF, cloud.endpoint, credentials=cloud.operator_key.environment())
    tf.init()
    tf.apply()
    state = tf.resources()
    fn, live = state["aws_lambda_function.fn"], state["aws_lambda_alias.live"]
    assert (fn["version"], fn["qualified_arn"]) == ("1", f"{FUNCTION_ARN}:1")
    assert fn["qualified_invoke_arn"].endswith(f"functions/{FUNCTION_ARN}:1/invocations")
    assert _versions(lam) == ["$LATEST", "1"]
    assert (live["id"], live["arn"], live["function_version"]) == (f"{FUNCTION_ARN}:live",) * 2 + ("1",)
    assert live["invoke_arn"] == (
        f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FUNCTION_ARN}:live/invocations"
    )
    assert live["routing_config"] == [{"additional_version_weights": {}}]
    assert live["description"] == "where the traffic goes"
    assert state["aws_lambda_alias.first"]["function_name"] == FUNCTION_ARN  # kept as configured
    assert tf.plan().rc == 0, "plan after apply must be empty"

    # A configuration change publishes version 2 and moves the alias to it.
    change = tf.plan({"memory_size": 256})
    assert {(c.address, c.action) for c in change.changes} == {
        ("aws_lambda_function.fn", "update"),
        ("aws_lambda_alias.live", "update"),
    }
    tf.apply({"memory_size": 256})
    assert _versions(lam) == ["$LATEST", "1", "2"]
    assert lam.get_function_configuration(FunctionName="orders", Qualifier="2")["MemorySize"] == 256
    assert lam.get_alias(FunctionName="orders", Name="live")["FunctionVersion"] == "2"

    # New code publishes version 3; a canary weight on version 2 is set on the alias.
    _write_code(tmp_path, 3)
    variables: dict[str, Any] = {"memory_size": 256, "weights": {"2": 0.25}}
    tf.apply(variables)
    assert _versions(lam) == ["$LATEST", "1", "2", "3"]
    alias = lam.get_alias(FunctionName="orders", Name="live")
    assert (alias["FunctionVersion"], alias["RoutingConfig"]) == (
        "3",
        {"AdditionalVersionWeights": {"2": 0.25}},
    )
    assert tf.resources()["aws_lambda_alias.live"]["routing_config"] == [
        {"additional_version_weights": {"2": 0.25}}
    ]
    assert tf.plan(variables).rc == 0

    # Tags alone publish nothing: the planned version stays known.
    tagged = {**variables, "tags": {"team": "orders"}}
    [tag_change] = tf.plan(tagged).changes
    assert (tag_change.address, tag_change.after["version"]) == ("aws_lambda_function.fn", "3")
    tf.apply(tagged)
    assert _versions(lam) == ["$LATEST", "1", "2", "3"]

    # Someone points the alias elsewhere and drops the weights: the plan puts both back.
    lam.update_alias(FunctionName="orders", Name="live", FunctionVersion="1", RoutingConfig={})
    [drift] = tf.plan(tagged).changes
    assert (drift.address, drift.action) == ("aws_lambda_alias.live", "update")
    assert (drift.before["function_version"], drift.after["function_version"]) == ("1", "3")
    tf.apply(tagged)
    alias = lam.get_alias(FunctionName="orders", Name="live")
    assert (alias["FunctionVersion"], alias["RoutingConfig"]["AdditionalVersionWeights"]) == (
        "3",
        {"2": 0.25},
    )

    renamed = {**tagged, "alias_name": "prod"}
    [rename] = tf.plan(renamed).changes
    assert (rename.address, rename.action) == ("aws_lambda_alias.live", "replace")
    tf.apply(renamed)
    assert sorted(a["Name"] for a in lam.list_aliases(FunctionName="orders")["Aliases"]) == ["first", "prod"]

    tf.destroy(renamed)
    assert lam.list_functions()["Functions"] == []


def test_alias_import(tmp_path: Path, cloud: LocalCloud) -> None:
    """An alias made outside Terraform imports by FUNCTION/ALIAS (or ARN) and then plans empty."""
    lam, iam = cloud.client("lambda"), cloud.client("iam")
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
        Publish=True,
    )
    lam.create_alias(FunctionName="imported", Name="live", FunctionVersion="1")
    lam.create_alias(FunctionName="imported", Name="old", FunctionVersion="1", Description="kept")
    config = """
        resource "aws_lambda_alias" "live" {
          name             = "live"
          function_name    = "imported"
          function_version = "1"
        }
        resource "aws_lambda_alias" "old" {
          name             = "old"
          function_name    = "imported"
          function_version = "1"
          description      = "kept"
        }
    """
    tf = terraform_fixture(tmp_path, config, cloud.endpoint, credentials=cloud.operator_key.environment())
    tf.init()
    assert tf.import_("aws_lambda_alias.live", "imported/live").rc == 0
    assert (
        tf.import_("aws_lambda_alias.old", "arn:aws:lambda:us-east-1:123456789012:function:imported:old").rc
        == 0
    )
    state = tf.resources()
    assert state["aws_lambda_alias.live"]["arn"].endswith(":function:imported:live")
    assert state["aws_lambda_alias.old"]["function_name"] == "imported"
    assert tf.plan().rc == 0
    tf.destroy()
    assert lam.list_aliases(FunctionName="imported")["Aliases"] == []
    lam.delete_function(FunctionName="imported")
    iam.delete_role(RoleName="imported-role")
